"""Spurious maxima: components whose covariance collapsed onto the regularisation floor.

The likelihood of a Gaussian mixture is unbounded: a component that sits on
a few rows sharing a value along some direction (tied, rounded or
duplicated measurements: the 14 eruptions of Old Faithful with a waiting
time of exactly 83 minutes) has a variance along it that EM drives to 0,
and only ``reg_covar`` keeps it positive. Such a fit has a high likelihood
and a low BIC without describing the data better: a spurious maximum. mclust
stops EM there (its covariance's reciprocal condition number falls below
``sqrt(.Machine$double.eps)``) and reports the model as missing.

With ``reg_covar > 0`` the covariance never becomes singular, so mclust's
test does not apply as it is (the reciprocal condition number of such a
component stays near ``sqrt(reg_covar) / (1 + sqrt(largest variance))``,
1e-3 on Old Faithful, far above 1.5e-8). The test here is on what is left
of the covariance once the floor is taken away: component k is spurious
when

    lambda_min(Sigma_k) - reg_covar <= SPURIOUS_FRACTION * min_j Var(X_j)

with ``lambda_min`` the smallest eigenvalue of its covariance (the smallest
variance for diagonal and spherical covariances) and ``Var(X_j)`` the
(sample-weighted) variance of feature j of the data. An empty component
(weight below ``_em.EMPTY_FRACTION``) is not tested: it adds nothing to the
likelihood. The measurements
that chose ``_config.SPURIOUS_FRACTION`` are in the user guide
(``docs/user_guide/hierarchical_start.rst``).
"""

import numpy as np

from . import _blocked, _config, _covariance, _linalg
from ._em import EMPTY_FRACTION
from ._outofcore import PageReleaser
from ._validation import is_plain_array
from .kmeans import _feature_variances as column_variances
from .kmeans import unchecked_column_statistics

# Up to this many features the smallest eigenvalue of a component that may be
# below the threshold is computed (and reported); above it, a Cholesky
# factorisation of Sigma_k - threshold I alone says whether it is below.
_EIGEN_MAX_FEATURES = 256


def checked_variances(X):
    """``(variances, max|X|)`` of an unweighted X that a fit has not checked
    yet, where one sweep over it shows every value finite; else None.

    For an in-memory float32/float64 X (``is_plain_array``): the sweep of
    :func:`feature_variances` also reads the largest value and shows every
    value finite (``kmeans.unchecked_column_statistics``), so that the fit's
    check of X (``check_array(..., largest=...)``), its magnitude check and
    the spurious test's scale take one read of X instead of two. None for
    anything else, and where the sweep cannot tell (a NaN, an infinity, or
    finite values whose squares overflow): the fit then checks X as usual,
    which names the problem.
    """
    if not is_plain_array(X, 2):
        return None
    # Overflowing squares mean only that X takes the usual check (which
    # then says so), not a warning here.
    with np.errstate(over="ignore", invalid="ignore"):
        variances, largest, finite = unchecked_column_statistics(X)
    return (variances, largest) if finite else None


def feature_variances(X, sample_weight, step=None):
    """The (sample-weighted) variance of every feature of X, float64.

    Without weights: the kernel that gives k-means its tolerance (two passes,
    per-block sums in a fixed order), which a default fit compiles anyway; a
    kernel of its own cost the first fit of a process 15 s of compiling.
    With weights: one pass over row chunks, each chunk's mean and centred
    sum of squares combined as Chan, Golub & LeVeque (1979) do (no
    cancellation), the pages of a memory-mapped X handed back after each.
    """
    if sample_weight.shape[0] == 0:
        return column_variances(X, _config.CHUNK_SIZE)
    n_samples, n_features = X.shape
    if step is None:
        # Chunks of about 1 MiB in float64: the deviations of one chunk are
        # the only temporary, small beside any model.
        step = max(1, min(1 << 15, (1 << 17) // n_features))
    pager = PageReleaser(X)
    total = 0.0
    mean = np.zeros(n_features)
    m2 = np.zeros(n_features)
    for start in range(0, n_samples, step):
        rows = np.asarray(X[start:start + step], dtype=np.float64)
        stop = start + rows.shape[0]
        w = sample_weight[start:stop]
        w_c = float(w.sum())
        if w_c > 0:
            mean_c = w @ rows / w_c
            dev = rows - mean_c
            m2_c = np.einsum("i,ij,ij->j", w, dev, dev)
            delta = mean_c - mean
            both = total + w_c
            mean += delta * (w_c / both)
            m2 += m2_c + delta * delta * (total * w_c / both)
            total = both
        pager.release(start, stop)
    return m2 / total


def _factorises(cov, shift):
    """Whether ``cov - shift I`` (symmetric) has a Cholesky factor: one d x d
    temporary, the shifted copy, factorised in place (O(d^3 / 3))."""
    shifted = np.array(cov, dtype=np.float64, order="F", copy=True)
    shifted.flat[:: cov.shape[0] + 1] -= shift
    return _linalg.potrf(shifted, lower=True) == 0


def _smallest(cov, threshold):
    """(smallest eigenvalue or None, below threshold) of one component's covariance
    as the fitted array holds it: a matrix, variances or one variance.

    A matrix is first cleared by a Cholesky factorisation of ``cov - (threshold
    + margin) I`` (d^3 / 3 flops, fewer than an eigenvalue's reduction): the
    margin, ``4 d^2 eps (trace + |threshold|)``, is far above the rounding of
    the factorisation and of the eigenvalue (a small multiple of ``d eps
    |cov|`` in practice), so a matrix it clears is one whose computed smallest
    eigenvalue is above the threshold too. Only the others take their
    smallest eigenvalue (``_linalg.smallest_eigenvalue``, up to
    ``_EIGEN_MAX_FEATURES`` features; beyond, the factorisation of ``cov -
    threshold I`` decides and no value is given). Both LAPACK calls go
    through ``_linalg``, which releases the GIL: the components' tests run
    on the threads together."""
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim == 0:
        value = float(cov)
        return value, value <= threshold
    if cov.ndim == 1:
        value = float(cov.min())
        return value, value <= threshold
    n_features = cov.shape[0]
    if n_features > _EIGEN_MAX_FEATURES:
        return None, not _factorises(cov, threshold)
    eps = np.finfo(np.float64).eps
    margin = 4.0 * n_features**2 * eps * (float(np.abs(np.diagonal(cov)).sum())
                                          + abs(threshold))
    if _factorises(cov, threshold + margin):
        return None, False
    value, info = _linalg.smallest_eigenvalue(np.array(cov, order="F", copy=True), lower=True)
    if info != 0:  # pragma: no cover - NaN entries, or syevr did not converge
        value = float(np.linalg.eigvalsh(cov)[0])
    return value, value <= threshold


def spurious_components(params, covariance_type, reg_covar, variances, fraction=None):
    """The spurious components of ``params``, as degenerate events (without 'iteration').

    Parameters
    ----------
    params : Params
        A fitted mixture (float64 or float32 arrays).
    covariance_type : str or CovarianceModel
    reg_covar : float
    variances : ndarray of shape (n_features,)
        The data's feature variances (:func:`feature_variances`).
    fraction : float, optional
        ``_config.SPURIOUS_FRACTION`` when None; 0 or less disables the test.

    Returns
    -------
    events : list of dict
        ``{'component', 'kind': 'spurious', 'action': 'kept', 'reason'}``,
        one per spurious component, in component order.
    """
    fraction = _config.SPURIOUS_FRACTION if fraction is None else float(fraction)
    if fraction <= 0 or params.covariances is None:
        return []
    model = _covariance.get(covariance_type)
    floor = float(np.min(variances))
    threshold = float(reg_covar) + fraction * floor
    covariances = np.asarray(params.covariances)
    weights = np.asarray(params.weights, dtype=np.float64)
    # An empty component (kept by on_degenerate='raise', as scikit-learn
    # keeps it) sits on the floor too, but adds nothing to the likelihood:
    # not a spurious maximum.
    tested = [k for k in range(np.shape(params.means)[0]) if not weights[k] < EMPTY_FRACTION]
    if not tested:
        return []
    # A shared covariance is tested once.
    keys = tested[:1] if model.shared else tested

    def test(i):
        return _smallest(model.component(covariances, keys[i]), threshold)

    if np.ndim(model.component(covariances, keys[0])) == 2:
        # Matrices: one factorisation (and at most one eigendecomposition)
        # each, spread over the threads with LAPACK on one thread, as the
        # M-step's (_blocked.map_components_one_blas_thread).
        results = _blocked.map_components_one_blas_thread(test, len(keys))
    else:
        results = [test(i) for i in range(len(keys))]
    if model.shared:
        results = results * len(tested)
    events = []
    for k, (value, below) in zip(tested, results):
        if not below:
            continue
        shown = ("below" if value is None else f"{value:.6g}")
        events.append({
            "component": int(k), "kind": "spurious", "action": "kept",
            "reason": (
                f"the smallest variance of its covariance ({shown}) is within "
                f"{fraction:g} x {floor:.6g} (the data's smallest feature variance) of "
                f"reg_covar={float(reg_covar):g}: the covariance collapsed onto the "
                "regularisation floor (rows sharing a value along some direction)"
            ),
        })
    return events
