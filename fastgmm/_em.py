"""The driver: runs the kernels over the data, and the EM loop around them.

It owns the split of a pass into blocks and segments, the fixed-order sum of
the per-block partial statistics, the per-point outputs, the EM iteration
with scikit-learn's convergence rule, and thread control. Validation and
the estimator's attributes live in ``gaussian_mixture.py``; the M-step
formulas in ``_stats.py``.
"""

import contextlib
import time

import numba
import numpy as np

from . import _config
from ._kernels import em_pass as _em_kernels
from ._kernels import logprob as _lp_kernels
from ._stats import (
    Params,
    Stats,
    compute_precision_cholesky,
    estimate_parameters,
    log_prob_constants,
)


@contextlib.contextmanager
def thread_limit(n_threads):
    """Run the kernels on ``n_threads`` threads inside the block (None: all)."""
    if n_threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# (parallel, serial) kernels per covariance type; 'spherical' runs as 'diag'.
_EM_KERNELS = {
    "full": (_em_kernels.em_pass_full, _em_kernels.em_pass_full_serial),
    "tied": (_em_kernels.em_pass_tied, _em_kernels.em_pass_tied_serial),
    "diag": (_em_kernels.em_pass_diag, _em_kernels.em_pass_diag_serial),
}
_EM_KERNELS["spherical"] = _EM_KERNELS["diag"]
_LOG_PROB_KERNELS = {
    "full": (_lp_kernels.weighted_log_prob_full, _lp_kernels.weighted_log_prob_full_serial),
    "tied": (_lp_kernels.weighted_log_prob_tied, _lp_kernels.weighted_log_prob_tied_serial),
    "diag": (_lp_kernels.weighted_log_prob_diag, _lp_kernels.weighted_log_prob_diag_serial),
}
_LOG_PROB_KERNELS["spherical"] = _LOG_PROB_KERNELS["diag"]


def _pick(kernels, n_blocks):
    """The serial twin for a single block, else the parallel kernel."""
    return kernels[1] if n_blocks <= 1 else kernels[0]


def _kernel_params(params, covariance_type, n_features):
    """Kernel-ready float64 arrays: (means, precision factor, constants, means @ U)."""
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    prec = np.asarray(params.precisions_chol, dtype=np.float64)
    const = log_prob_constants(np.asarray(params.weights, dtype=np.float64), prec,
                               covariance_type, n_features)
    if covariance_type == "spherical":
        prec = np.repeat(prec[:, None], n_features, axis=1)
    prec = np.ascontiguousarray(prec)
    means_u = np.ascontiguousarray(means @ prec) if covariance_type == "tied" else None
    return means, prec, np.ascontiguousarray(const), means_u


def em_pass(X, sample_weight, params, covariance_type, chunk_size=None, hard=False):
    """One fused pass: the log-likelihood at ``params`` and the statistics for the M-step.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    params : Params
    covariance_type : str
    chunk_size : int, optional
        Rows per block (default ``_config.CHUNK_SIZE``).
    hard : bool, default=False
        Classification EM: every row wholly to its most probable component;
        ``Stats.loglik`` is then the classification log-likelihood.

    Returns
    -------
    Stats
    """
    chunk_size = int(chunk_size or _config.CHUNK_SIZE)
    n_samples, n_features = X.shape
    means, prec, const, means_u = _kernel_params(params, covariance_type, n_features)
    n_components = means.shape[0]
    if covariance_type == "full":
        sxx_shape = (n_components, n_features, n_features)
    elif covariance_type == "tied":
        sxx_shape = (n_features, n_features)
    else:
        sxx_shape = (n_components, n_features)
    block_floats = 1 + n_components * (1 + n_features) + int(np.prod(sxx_shape))
    n_blocks = -(-n_samples // chunk_size)
    # Partial statistics for at most PART_BYTES per kernel call; the segment
    # length depends only on the problem's shape, never on the thread count.
    seg_blocks = max(1, min(n_blocks, _config.PART_BYTES // (8 * block_floats)))
    loglik_part = np.empty(seg_blocks)
    nk_part = np.empty((seg_blocks, n_components))
    sx_part = np.empty((seg_blocks, n_components, n_features))
    # zeros: the kernels write only the upper triangle of full/tied scatters.
    sxx_part = np.zeros((seg_blocks,) + sxx_shape)
    loglik = 0.0
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros(sxx_shape)
    if covariance_type == "tied":
        shift = params.weights @ means
    else:
        shift = np.zeros(n_features)
    for first in range(0, n_blocks, seg_blocks):
        n_seg = min(seg_blocks, n_blocks - first)
        row_start = first * chunk_size
        row_stop = min(n_samples, (first + n_seg) * chunk_size)
        parts = (loglik_part[:n_seg], nk_part[:n_seg], sx_part[:n_seg], sxx_part[:n_seg])
        kernel = _pick(_EM_KERNELS[covariance_type], n_seg)
        if covariance_type == "tied":
            kernel(X, sample_weight, means, means_u, prec, const, shift, row_start,
                   row_stop, chunk_size, hard, *parts)
        else:
            kernel(X, sample_weight, means, prec, const, row_start, row_stop, chunk_size,
                   hard, *parts)
        loglik += parts[0].sum()
        nk += parts[1].sum(axis=0)
        sx += parts[2].sum(axis=0)
        sxx += parts[3].sum(axis=0)
    sum_weights = float(n_samples if sample_weight.shape[0] == 0 else sample_weight.sum())
    pooled_sx = None
    if covariance_type == "tied":
        # Every row's responsibilities sum to its weight.
        pooled_sx = sx.sum(axis=0) + nk @ (means - shift)
    return Stats(float(loglik), sum_weights, nk, sx, sxx, means, shift, pooled_sx)


def weighted_log_prob(X, params, covariance_type, chunk_size=None):
    """log pi_k + log N(x | mu_k, Sigma_k) for every row, in X's dtype."""
    chunk_size = int(chunk_size or _config.CHUNK_SIZE)
    n_features = X.shape[1]
    means, prec, const, means_u = _kernel_params(params, covariance_type, n_features)
    out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
    kernel = _pick(_LOG_PROB_KERNELS[covariance_type], -(-X.shape[0] // chunk_size))
    kernel(X, means_u if covariance_type == "tied" else means, prec, const, chunk_size, out)
    return out


def log_resp(X, params, covariance_type, chunk_size=None):
    """(log p(x_i), log responsibilities) for every row, in X's dtype."""
    chunk_size = int(chunk_size or _config.CHUNK_SIZE)
    out = weighted_log_prob(X, params, covariance_type, chunk_size)
    norm = np.empty(X.shape[0], dtype=X.dtype)
    kernel = _pick((_lp_kernels.normalize_log_prob, _lp_kernels.normalize_log_prob_serial),
                   -(-X.shape[0] // chunk_size))
    kernel(out, chunk_size, norm)
    return norm, out


def m_step(stats, covariance_type, reg_covar, eps, float32_data, normalize="sum"):
    """Parameters from statistics; weights over their sum (``normalize='sum'``,
    the M-step) or over the total sample weight (``'n_samples'``, the start)."""
    nk, means, covariances = estimate_parameters(stats, covariance_type, reg_covar, eps)
    weights = nk / (nk.sum() if normalize == "sum" else stats.sum_weights)
    precisions_chol = compute_precision_cholesky(covariances, covariance_type,
                                                 float32_data)
    return Params(weights, means, covariances, precisions_chol)


def run_em(X, sample_weight, params, *, covariance_type, reg_covar, tol, max_iter,
           lower_bound=-np.inf, chunk_size=None, on_iteration=None, hard=False):
    """EM iterations from ``params`` until the lower bound changes by less than ``tol``.

    The lower bound of an iteration is the mean (sample-weighted)
    log-likelihood at the parameters *before* its M-step, as in
    scikit-learn: the fused pass yields it together with the statistics.
    With ``hard``, classification EM (C-step between E and M) and the mean
    classification log-likelihood, which never decreases either.

    Parameters
    ----------
    on_iteration : callable, optional
        ``on_iteration(n_iter, lower_bound, change, seconds)``; a true return
        value stops the iterations (reported as not converged).

    Returns
    -------
    params : Params
    lower_bounds : list of float
    n_iter : int
    converged : bool
    """
    eps = float(np.finfo(X.dtype).eps)
    float32_data = X.dtype == np.float32
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        tick = time.perf_counter()
        prev = lower_bound
        stats = em_pass(X, sample_weight, params, covariance_type, chunk_size, hard)
        params = m_step(stats, covariance_type, reg_covar, eps, float32_data)
        lower_bound = stats.loglik / stats.sum_weights
        lower_bounds.append(lower_bound)
        change = lower_bound - prev
        stop = bool(on_iteration(n_iter, lower_bound, change, time.perf_counter() - tick)) \
            if on_iteration is not None else False
        if abs(change) < tol:
            converged = True
            break
        if stop:
            break
    return params, lower_bounds, n_iter, converged
