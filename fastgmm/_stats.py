"""Sufficient statistics to parameters: the M-step, in numpy.

Nothing here touches the data: it turns the (small) sufficient statistics
of a pass into weights, means and covariances, adds ``reg_covar``, and
computes the precision Cholesky factors and log-determinants the kernels
consume. Formulas follow scikit-learn's ``GaussianMixture``, so that a step
from the same parameters gives the same numbers to rounding; the
statistics themselves are centred (see ``_kernels/em_pass.py``), so no
``E[xx^T] - mu mu^T`` cancellation occurs.

scikit-learn adds ``10 eps`` (of the data's dtype) to every component's
weight, ``nk = sum r + 10 eps``, and takes ``means = sum r x / nk``, which
pulls every mean toward the origin by ``10 eps |mu| / nk`` and adds about
``n_components 10 eps |mu|^2 / n_samples`` to a tied covariance: wrong for
data far from the origin, and for small sample weights. Here the
regulariser is relative to the weights, ``10 eps64`` times the mean sample
weight (:func:`nk_regularization`: scikit-learn's ``10 eps`` for unit
weights and float64 data), the means shrink toward the point the
statistics are centred on (the previous means), and every scatter is taken
around the new means exactly; the results are translation-invariant and
invariant to scaling the weights.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy.linalg import get_lapack_funcs

from . import _config

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)
_FLOAT32_HINT = (
    " The numerical accuracy can also be improved by passing float64"
    " data instead of float32."
)


class Stats(NamedTuple):
    """Sufficient statistics of one pass over the data, all float64.

    ``sx`` and ``sxx`` are taken around ``ref`` (per component), except
    ``sxx`` of 'tied': the pooled scatter ``sum_i w_i (x_i - shift)
    (x_i - shift)^T`` of the rows the responsibilities share out (all rows
    in a pass, where every row's responsibilities sum to its weight), plus
    the uncentred ``sum_i w_i x_i x_i^T`` of any row a start gives to no
    component (which scikit-learn's tied formula counts).
    """

    loglik: float
    sum_weights: float
    nk: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    ref: np.ndarray
    shift: np.ndarray


class Params(NamedTuple):
    """Mixture parameters in scikit-learn's layout, float64."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_chol: np.ndarray


def covariance_shape(covariance_type, n_components, n_features):
    """Shape of ``covariances_``, ``precisions_`` and ``precisions_cholesky_``
    of a mixture of ``n_components`` components over ``n_features`` features."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _symmetrize_upper(a):
    """Fill the strict lower triangle of the trailing two axes from the upper one."""
    upper = np.triu(a)
    return upper + np.swapaxes(np.triu(a, 1), -1, -2)


def nk_regularization(sum_weights, n_samples):
    """What the M-step adds to every component's weight: ``10 eps64`` times the
    mean sample weight.

    It keeps an empty component's parameters finite. Relative to the
    weights, it leaves the fit unchanged when all weights are multiplied by
    a constant; for unit weights it is scikit-learn's ``10 eps`` of float64
    (the M-step runs in float64 whatever the data's dtype).
    """
    return 10 * float(np.finfo(np.float64).eps) * float(sum_weights) / float(n_samples)


def _full_covariances(sxx, sx, delta, nk_raw, nk, reg_covar):
    """Full covariances from scatters around ``ref``, in blocks of rows.

    ``(S - sx delta^T - delta sx^T + nk_raw delta delta^T) / nk + reg_covar I``
    with S the symmetric matrix whose upper triangle is ``sxx[k]``: the
    arithmetic, and so the values, of the whole-array expression, written
    into the output a block of rows (of all the components' matrices, one
    after the other) at a time, so that no temporary exceeds a few
    ``_config.MSTEP_BLOCK_BYTES``. A K x d x d expression held four arrays
    the size of the covariances besides its result.

    Parameters
    ----------
    sxx : ndarray of shape (n_components, n_features, n_features), float64
        Upper triangles of the scatters (the strict lower ones are not read).
    sx : ndarray of shape (n_components, n_features)
    delta : ndarray of shape (n_components, n_features)
        New means minus ``ref``.
    nk_raw, nk : ndarray of shape (n_components,)
        Sums of the responsibilities, and the same plus ``10 * eps``.
    reg_covar : float

    Returns
    -------
    covariances : ndarray of shape (n_components, n_features, n_features), float64
    """
    n_components, n_features = sx.shape
    sxx = np.ascontiguousarray(sxx)
    out = np.empty((n_components, n_features, n_features))
    # Row r of the (K d, d) views is row i = r % d of component k = r // d.
    flat_out = out.reshape(-1, n_features)
    flat_sxx = sxx.reshape(-1, n_features)
    flat_sx = sx.reshape(-1)
    flat_delta = delta.reshape(-1)
    cols = np.arange(n_features)
    step = max(1, _config.MSTEP_BLOCK_BYTES // (8 * n_features))
    for start in range(0, n_components * n_features, step):
        stop = min(start + step, n_components * n_features)
        k, i = np.divmod(np.arange(start, stop), n_features)
        # S[i, j] is sxx[k, i, j] on and above the diagonal, sxx[k, j, i] below.
        block = np.where(cols < i[:, None], sxx[k, :, i], flat_sxx[start:stop])
        block -= flat_sx[start:stop, None] * delta[k]
        block -= flat_delta[start:stop, None] * sx[k]
        block += (nk_raw[k] * flat_delta[start:stop])[:, None] * delta[k]
        block /= nk[k][:, None]
        flat_out[start:stop] = block
    out[:, cols, cols] += reg_covar
    return out


def estimate_parameters(stats, covariance_type, reg_covar, nk_reg):
    """The M-step: weights (unnormalised), means and covariances from statistics.

    Parameters
    ----------
    stats : Stats
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    reg_covar : float
        Added to the diagonal of every covariance.
    nk_reg : float
        Added to each component's weight ``nk`` (see :func:`nk_regularization`),
        so that an empty component keeps finite parameters: its mean stays at
        ``stats.ref`` and its covariance is ``reg_covar``.

    Returns
    -------
    nk : ndarray of shape (n_components,)
        Component weights before normalisation.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray, shape depends on ``covariance_type``

    Notes
    -----
    ``means = ref + sx / nk`` is scikit-learn's ``sum r x / nk`` with the
    shrinkage toward ``ref`` (the point the statistics are centred on)
    instead of toward the origin; with ``delta = sx / nk`` the scatter of a
    component around its new mean is exactly
    ``sxx - sx delta^T - delta sx^T + nk_raw delta delta^T``, divided by ``nk``
    as scikit-learn does.
    """
    nk_raw = stats.nk
    nk = nk_raw + nk_reg
    ref = stats.ref
    delta = stats.sx / nk[:, None]
    means = ref + delta
    n_features = means.shape[1]
    if covariance_type == "full":
        covariances = _full_covariances(stats.sxx, stats.sx, delta, nk_raw, nk, reg_covar)
    elif covariance_type == "tied":
        # The within-component scatter sum_k sum_i r_ik (x_i - m_k)(x_i - m_k)^T
        # from the pooled scatter S around c = shift: with u_k = m_k - c and
        # a_k = sum_i r_ik (x_i - c) = sx_k + nk_raw_k (ref_k - c), it is
        # S - sum_k (u_k a_k^T + a_k u_k^T - nk_raw_k u_k u_k^T), and
        # a_k = nk_raw_k u_k + nk_reg delta_k (as nk_k delta_k = sx_k).
        # Only differences of nearby points enter: no |c|^2 term.
        centred = means - stats.shift
        between = (nk_raw[:, None] * centred).T @ centred
        cross = nk_reg * (centred.T @ delta)
        covariances = _symmetrize_upper(stats.sxx) - between - cross - cross.T
        covariances /= nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        var = (stats.sxx - 2 * stats.sx * delta + nk_raw[:, None] * delta**2)
        covariances = var / nk[:, None] + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk, means, covariances


def ill_defined_message(float32_data=False):
    """scikit-learn's message for a covariance that is not positive definite."""
    return _ILL_DEFINED + (_FLOAT32_HINT if float32_data else "")


def _lapack_dtype(a):
    """float32 stays float32 (as numpy.linalg does); anything else is float64."""
    return np.float32 if a.dtype == np.float32 else np.float64


def _all_finite(a):
    """Whether every value of ``a`` is finite, with no temporary of its size."""
    return bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def _cholesky_or_none(matrix):
    try:
        chol = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    return chol if np.all(np.isfinite(chol)) else None


def _precision_cholesky_batched(batch):
    """``precision_cholesky_checked`` for a batch of matrices that is small
    (within ``_config.MSTEP_BLOCK_BYTES``): numpy's batched factorisation and
    solve, whose temporaries are a few times the batch."""
    n_features = batch.shape[-1]
    cov_chol = _cholesky_or_none(batch)
    failed = np.zeros(batch.shape[0], dtype=bool)
    if cov_chol is None:
        # Rare: find the failing components one by one.
        cov_chol = np.empty_like(batch)
        for k, matrix in enumerate(batch):
            chol = _cholesky_or_none(matrix)
            failed[k] = chol is None
            cov_chol[k] = np.eye(n_features) if chol is None else chol
    eye = np.broadcast_to(np.eye(n_features), cov_chol.shape)
    prec_chol = np.ascontiguousarray(np.swapaxes(np.linalg.solve(cov_chol, eye), -1, -2))
    return prec_chol, failed


def _precision_cholesky_inplace(batch):
    """``precision_cholesky_checked`` one matrix at a time, in the result.

    LAPACK's ``potrf`` (Sigma = L L^T) and ``trtri`` (the triangular
    inverse) work in place on each component's slice of the output, read as
    a Fortran array, i.e. transposed: Sigma is symmetric, so the slice holds
    it either way; potrf leaves L in the Fortran lower triangle (zeroing the
    upper one), trtri L^-1, and the slice, read in C order, is L^-T = U.
    Nothing is allocated beyond the result; the work is d^3 / 3 flops for
    each step, where a general solve against the identity costs about 8/3 d^3.
    """
    prec_chol = np.empty(batch.shape, dtype=_lapack_dtype(batch))
    potrf, trtri = get_lapack_funcs(("potrf", "trtri"), (prec_chol,))
    failed = np.zeros(batch.shape[0], dtype=bool)
    for k in range(batch.shape[0]):
        out = prec_chol[k]
        np.copyto(out, batch[k])
        if not _all_finite(out):
            failed[k] = True
            continue
        chol, info = potrf(out.T, lower=1, clean=1, overwrite_a=1)
        if info == 0:
            _, info = trtri(chol, lower=1, overwrite_c=1)
        failed[k] = info != 0 or not _all_finite(out)
    return prec_chol, failed


def precision_cholesky_checked(covariances, covariance_type):
    """Upper-triangular U with precision = U U^T, and which components failed.

    A component fails when its covariance is not positive definite: the
    Cholesky factorisation fails (full, tied), a variance is not positive
    (diag, spherical), or a value is not finite. Nothing is raised.

    For 'full' and 'tied', covariances beyond ``_config.MSTEP_BLOCK_BYTES``
    are factorised and inverted one component at a time in place (see
    ``_precision_cholesky_inplace``): no temporary the size of all the
    covariances, and a triangular inverse rather than a general solve.

    Returns
    -------
    precisions_chol : ndarray, shape as ``covariances``, C-contiguous
        NaN for the failed components.
    failed : ndarray of bool, shape (n_components,), or (1,) for 'tied'
    """
    if covariance_type in ("full", "tied"):
        covariances = np.asarray(covariances)
        batch = covariances if covariance_type == "full" else covariances[None]
        if batch.nbytes <= _config.MSTEP_BLOCK_BYTES:
            prec_chol, failed = _precision_cholesky_batched(batch)
        else:
            prec_chol, failed = _precision_cholesky_inplace(batch)
        prec_chol[failed] = np.nan
        return (prec_chol if covariance_type == "full" else prec_chol[0]), failed
    cov = covariances if covariance_type == "spherical" else covariances.reshape(
        covariances.shape[0], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (cov > 0.0) & np.isfinite(cov)
        failed = ~ok if covariance_type == "spherical" else ~ok.all(axis=1)
        prec_chol = 1.0 / np.sqrt(np.where(ok, covariances, np.nan))
    return prec_chol, failed


def compute_precision_cholesky(covariances, covariance_type, float32_data=False):
    """Upper-triangular U with precision = U U^T, from covariances.

    Raises
    ------
    ValueError
        When a covariance is not positive definite, with scikit-learn's
        message (and its float32 hint when ``float32_data``).
    """
    prec_chol, failed = precision_cholesky_checked(covariances, covariance_type)
    if failed.any():
        raise ValueError(ill_defined_message(float32_data))
    return prec_chol


def precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper-triangular U with precision = U U^T, from precisions.

    The Cholesky factor of the row- and column-reversed precision, reversed
    back, is upper triangular (scikit-learn's construction); beyond
    ``_config.MSTEP_BLOCK_BYTES``, one component at a time.
    """
    if covariance_type in ("full", "tied"):
        if precisions.nbytes <= _config.MSTEP_BLOCK_BYTES:
            flipped = precisions[..., ::-1, ::-1]
            return np.linalg.cholesky(flipped)[..., ::-1, ::-1].copy()
        batch = precisions if precisions.ndim == 3 else precisions[None]
        out = np.empty(batch.shape, dtype=_lapack_dtype(batch))
        for k in range(batch.shape[0]):
            out[k] = np.linalg.cholesky(batch[k, ::-1, ::-1])[::-1, ::-1]
        return out if precisions.ndim == 3 else out[0]
    return np.sqrt(precisions)


def precisions_from_cholesky(precisions_chol, covariance_type):
    """Precisions U U^T from their Cholesky factors.

    Beyond ``_config.MSTEP_BLOCK_BYTES`` for 'full', one product per
    component into the result (as scikit-learn computes ``precisions_``),
    so that no temporary the size of all the factors is made. (LAPACK's
    ``lauum``, a sixth of the flops, and BLAS's ``syrk``, half of them,
    measured no faster than OpenBLAS's general product at d=2000.)
    """
    if covariance_type == "full" and precisions_chol.nbytes > _config.MSTEP_BLOCK_BYTES:
        precisions_chol = precisions_chol.astype(_lapack_dtype(precisions_chol), copy=False)
        out = np.empty(precisions_chol.shape, dtype=precisions_chol.dtype)
        for k, factor in enumerate(precisions_chol):
            np.dot(factor, factor.T, out=out[k])
        return out
    if covariance_type in ("full", "tied"):
        return precisions_chol @ np.swapaxes(precisions_chol, -1, -2)
    return precisions_chol**2


def log_det_cholesky(precisions_chol, covariance_type, n_features):
    """log det(U) per component (a scalar for 'tied')."""
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return float(np.log(np.diag(precisions_chol)).sum())
    if covariance_type == "diag":
        return np.log(precisions_chol).sum(axis=1)
    return n_features * np.log(precisions_chol)


def log_prob_constants(weights, precisions_chol, covariance_type, n_features):
    """``log pi_k + log det(U_k) - n_features / 2 log(2 pi)``, per component."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    log_det = log_det_cholesky(precisions_chol, covariance_type, n_features)
    return log_weights + log_det - 0.5 * n_features * math.log(2 * math.pi)


def n_parameters(covariance_type, n_components, n_features):
    """Number of free parameters of the mixture."""
    cov_params = {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
    return int(cov_params + n_features * n_components + n_components - 1)


def sum_stats(parts):
    """The statistics of the union of disjoint parts of the data, summed in order.

    Every part must come from the same parameters (the same ``ref`` and
    ``shift``): the pass statistics of row chunks, of batches of a stream,
    or of the blocks of a Dask array. The sum runs left to right, so a given
    list of parts always gives the same bits.
    """
    parts = list(parts)
    first = parts[0]
    loglik, sum_weights = first.loglik, first.sum_weights
    nk, sx, sxx = first.nk.copy(), first.sx.copy(), first.sxx.copy()
    for part in parts[1:]:
        loglik += part.loglik
        sum_weights += part.sum_weights
        nk += part.nk
        sx += part.sx
        sxx += part.sxx
    return Stats(float(loglik), float(sum_weights), nk, sx, sxx, first.ref, first.shift)
