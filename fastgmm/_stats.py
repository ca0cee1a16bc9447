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

from typing import NamedTuple

import numpy as np

from . import _config, _linalg
from ._blocked import map_components, map_components_one_blas_thread
from ._kernels import mstep as _mstep_kernels

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
    component (which scikit-learn's tied formula counts). For 'spherical'
    (and models built on it), whose M-step reads only each component's
    second moments summed over the features, the large-d BLAS pass returns
    ``sxx`` pooled: that sum divided by ``n_features``, in every feature
    (``_blocked.em_pass_diag``); the Numba pass returns them per feature.
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


def _symmetrize_upper(a, block=256):
    """Fill the strict lower triangle of the trailing two axes from the upper one.

    A new array: the upper triangle copied, the strict lower one its
    transpose, a band of ``block`` rows at a time (``np.triu`` of a whole
    d x d matrix builds a mask and two temporaries of its size: 0.30 s
    against 0.03 s for this at d = 2048, a tied M-step's largest step);
    the values of ``triu(a) + triu(a, 1)^T``.
    """
    n = a.shape[-1]
    out = np.empty(a.shape, dtype=a.dtype)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        out[..., i0:i1, i1:] = a[..., i0:i1, i1:]
        out[..., i1:, i0:i1] = np.swapaxes(a[..., i0:i1, i1:], -1, -2)
        square = a[..., i0:i1, i0:i1]
        out[..., i0:i1, i0:i1] = np.triu(square) + np.swapaxes(np.triu(square, 1), -1, -2)
    return out


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
    """Full covariances from scatters around ``ref``.

    ``(S - sx delta^T - delta sx^T + nk_raw delta delta^T) / nk + reg_covar I``
    with S the symmetric matrix whose upper triangle is ``sxx[k]``: numpy's
    arithmetic of that expression, bit for bit, in one sweep per component
    written into the result (``_kernels.mstep.full_covariances``; a K x d x d
    expression held four arrays the size of the covariances besides its
    result). Components whose matrix exceeds ``_config.MSTEP_BLOCK_BYTES``
    are spread over the threads (the kernel releases the GIL; each
    component's arithmetic is the same on any thread).

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
    sxx, sx, delta, nk_raw, nk = _contiguous(sxx, sx, delta, nk_raw, nk)
    out = np.empty((n_components, n_features, n_features))
    reg_covar = float(reg_covar)
    if 8 * n_features * n_features <= _config.MSTEP_BLOCK_BYTES:
        _mstep_kernels.full_covariances(sxx, sx, delta, nk_raw, nk, reg_covar, out)
        return out

    def component(k):
        one = slice(k, k + 1)
        _mstep_kernels.full_covariances(sxx[one], sx[one], delta[one], nk_raw[one],
                                        nk[one], reg_covar, out[one])

    map_components(component, n_components)
    return out


def estimate_parameters(stats, model, reg_covar, nk_reg):
    """The M-step: weights (unnormalised), means and covariances from statistics.

    Parameters
    ----------
    stats : Stats
    model : CovarianceModel
        Its ``covariances_from_stats`` gives the covariances.
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
    covariances : ndarray of shape ``model.shape(n_components, n_features)``

    Notes
    -----
    ``means = ref + sx / nk`` is scikit-learn's ``sum r x / nk`` with the
    shrinkage toward ``ref`` (the point the statistics are centred on)
    instead of toward the origin; with ``delta = sx / nk`` the scatter of a
    component around its new mean is exactly
    ``sxx - sx delta^T - delta sx^T + nk_raw delta delta^T``, divided by ``nk``
    as scikit-learn does.
    """
    nk = stats.nk + nk_reg
    delta = stats.sx / nk[:, None]
    means = stats.ref + delta
    covariances = model.covariances_from_stats(stats, means, delta, nk, reg_covar, nk_reg)
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


def cast_fitted(a, dtype):
    """``a`` as a C-order array of ``dtype``, not copied where it is one (a
    fitted array in the data's dtype). Values beyond the dtype's range become
    inf without a warning: the estimators check the fitted values
    (:func:`_all_finite`) and say what to do."""
    with np.errstate(over="ignore"):
        return np.asarray(a).astype(dtype, order="C", copy=False)


def _contiguous(*arrays):
    """float64 C-contiguous arrays, as the M-step kernels take them."""
    return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in arrays)


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
    if n_features <= _config.MSTEP_KERNEL_MAX_FEATURES and batch.dtype == np.float64:
        prec_chol = np.empty(batch.shape)
        failed = np.empty(batch.shape[0], dtype=bool)
        _mstep_kernels.precision_cholesky(np.ascontiguousarray(batch), prec_chol, failed)
        return prec_chol, failed
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

    def factorise(k):
        out = prec_chol[k]
        np.copyto(out, batch[k])
        if not _all_finite(out):
            return True
        info = _linalg.potrf(out.T, lower=True, clean=True)
        if info == 0:
            info = _linalg.trtri(out.T, lower=True)
        return info != 0 or not _all_finite(out)

    # LAPACK on one thread, the components spread over the threads of the fit.
    failed = np.array(map_components_one_blas_thread(factorise, batch.shape[0]), dtype=bool)
    return prec_chol, failed


def fill_lower_from_upper(a, block=256):
    """Copy the strict upper triangle of the square C-order matrix ``a`` into
    its strict lower one, in place, a band of ``block`` columns at a time (an
    index array of the whole triangle cost tens of milliseconds at d = 2048);
    returns ``a``."""
    n = a.shape[0]
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        a[i1:, i0:i1] = a[i0:i1, i1:].T
        square = a[i0:i1, i0:i1]
        lower = np.tril_indices(i1 - i0, -1)
        square[lower] = square.T[lower]
    return a


def positive_definite(matrix):
    """Whether the square ``matrix`` is symmetric (``np.allclose(matrix,
    matrix.T)``) and positive definite: Cholesky (``potrf``) of a copy
    succeeds with a finite factor.

    The check of a large ``precisions_init``: d^3 / 3 flops where an
    eigendecomposition costs several times that at half the rate (1.1 s
    against 0.12 s at d = 2048 on one core, ``asv_benchmarks/large_d_stages.py``);
    the symmetry test runs on bands of rows (no temporaries of the matrix's
    size). Within rounding the same answer as all eigenvalues > 0: a matrix
    whose smallest eigenvalue is within rounding of 0 may go either way.
    """
    n = matrix.shape[0]
    step = max(1, _config.MSTEP_BLOCK_BYTES // (8 * n))
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows, cols = matrix[start:stop], matrix[:, start:stop].T
        # Exactly symmetric (the common case) in one comparison; else the
        # tolerance (np.allclose: several passes and temporaries, as long as
        # the factorisation at d = 512).
        if not (np.array_equal(rows, cols) or np.allclose(rows, cols)):
            return False
    work = np.array(matrix, dtype=_lapack_dtype(matrix), order="C")
    if not _all_finite(work):
        return False
    # Symmetric: the C-order copy read as Fortran is the matrix itself.
    info = _linalg.potrf(work.T, lower=True)
    return info == 0 and _all_finite(np.diagonal(work))


def precisions_from_factors(factors, out):
    """``out[k] = U_k U_k^T`` for the upper-triangular factors ``factors[k]``
    (C order), one component per call of ``fn(k)`` of the returned function.

    LAPACK's ``lauum`` on a copy of the factor: the C-order U read as a
    Fortran array is the lower triangle L = U^T, and ``lauum`` leaves
    L^T L = U U^T in its lower (Fortran) triangle, the C-order upper one;
    the other is filled from it (:func:`fill_lower_from_upper`). d^3 / 3
    flops where a general product takes 2 d^3 (measured 150-180 ms against
    410-440 ms at d = 2048 on one core). An ``out`` of another dtype (the
    float32 ``precisions_`` of float32 data) gets each product rounded once
    from a d x d copy in the factors' dtype: the bits of the whole product
    converted afterwards, with no temporary the size of all of them.
    """
    in_place = out.dtype == factors.dtype

    def product(k):
        work = out[k] if in_place else np.empty(factors.shape[1:], factors.dtype)
        np.copyto(work, factors[k])
        info = _linalg.lauum(work.T, lower=True)
        if info != 0:  # pragma: no cover - lauum fails only on bad arguments
            np.dot(factors[k], factors[k].T, out=work)
        else:
            fill_lower_from_upper(work)
        if not in_place:
            # Values beyond out's range become inf: the caller checks.
            with np.errstate(over="ignore"):
                out[k] = work

    return product


def reversed_cholesky(precisions, out):
    """``out[k] = U`` with ``precisions[k] = U U^T``, U upper triangular (the
    Cholesky factor of the row- and column-reversed matrix, reversed back:
    scikit-learn's construction), one component per call of ``fn(k)`` of the
    returned function; raises numpy's LinAlgError for a matrix that is not
    positive definite.

    LAPACK's ``potrf`` in place on the reversed copy in ``out[k]`` (read as a
    Fortran array, its upper triangle R with W = R^T R is the C-order lower
    L = R^T with W = L L^T), then reversed back: no temporaries beyond one
    matrix, where numpy's ``cholesky`` of the reversed view copied it twice
    (0.45 s against 0.13 s at d = 2048 on one core).
    """

    def factorise(k):
        work = out[k]
        np.copyto(work, precisions[k, ::-1, ::-1])
        info = _linalg.potrf(work.T, lower=False, clean=True)
        if info != 0 or not _all_finite(np.diagonal(work)):
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        work[...] = work[::-1, ::-1]

    return factorise


def covariances_from_factors(factors, precisions, out):
    """``out[k] = (U U^T)^-1`` for the upper-triangular factors
    ``U = factors[k]`` of ``precisions[k]`` (:func:`reversed_cholesky`), one
    component per call of ``fn(k)`` of the returned function.

    With J the reversal, ``J P J = L L^T`` for the lower-triangular
    ``L = J U J``, so LAPACK's ``potri`` of L (the inverse from a Cholesky
    factor, 2 d^3 / 3 flops) gives ``J P^-1 J``: the reversed factor is
    copied into ``out[k]``, whose Fortran view is the upper triangle
    ``L^T``; ``potri`` leaves ``J P^-1 J`` in it (the C-order lower
    triangle), which reversed is the upper triangle of ``P^-1``, mirrored
    (:func:`fill_lower_from_upper`). Inverting the precisions again would
    factorise them a second time (d^3 flops in all). A factor ``potri``
    refuses falls back to numpy's inverse of ``precisions[k]``.
    """

    def invert(k):
        work = out[k]
        np.copyto(work, factors[k, ::-1, ::-1])
        info = _linalg.potri(work.T, lower=False)
        if info != 0:
            work[...] = np.linalg.inv(precisions[k])
            return
        work[...] = work[::-1, ::-1]
        fill_lower_from_upper(work)

    return invert


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
