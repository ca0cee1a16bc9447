"""The driver: runs the kernels over the data, and the EM loop around them.

It owns the split of a pass into blocks and segments, the fixed-order sum of
the per-block partial statistics, the per-point outputs, the EM iteration
with scikit-learn's convergence rule, the guards on the data's magnitude and the fallback of predictions for rows whose densities
underflow. Validation and the estimator's attributes live in
``_mixture.py`` and ``gaussian_mixture.py``; the M-step formulas in
``_stats.py``.
"""

import contextlib
import functools
import math
import threading
import time

import numba
import numpy as np

from . import _config
from . import _covariance, _threads
from ._outofcore import (
    PageReleaser,
    block_segments,
    float_dtype,
    float_rows,
    is_mapped,
    iter_segments,
    max_abs,
    segment_rows,
)
from ._kernels import logprob as _lp_kernels
from ._kernels import reduce as _reduce
from ._stats import (
    Params,
    Stats,
    estimate_parameters,
    ill_defined_message,
    nk_regularization,
)

ON_DEGENERATE = ("raise", "reseed", "drop")

# A component is 'empty' when its responsibilities sum to less than this
# fraction of the total sample weight (1e-10 * n_samples without weights).
EMPTY_FRACTION = 1e-10


def em_pass(X, sample_weight, params, covariance_type, chunk_size=None, hard=False):
    """One fused pass: the log-likelihood at ``params`` and the statistics for the M-step.

    The pass runs over segments of whole blocks, each reading at most
    about ``_config.SEGMENT_BYTES`` of X and at most ``_config.PART_BYTES``
    of partial statistics; the segment length depends only on the shape of
    the problem. Full covariances whose scatters of a single block exceed
    ``_config.PART_BYTES`` have no partial scatters: each block's are added
    into the total, in block order (the same sum), its components spread
    over the threads (``em_pass_full_components``), so a pass holds the
    precision factors and the scatters, nothing more of their size. Data that are not float32/float64 are converted to float64
    one segment at a time, and the pages of a memory-mapped X are handed
    back to the operating system after each segment (see ``_outofcore``),
    so the memory a pass needs does not grow with n_samples and a
    memory-mapped X gives the bit-identical result of the same array in
    memory.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Any layout, ``np.memmap`` included; float32 and float64 are read as
        they are, other real dtypes converted per segment.
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    params : Params
    covariance_type : str or CovarianceModel
    chunk_size : int, optional
        Rows per block (default ``_config.pass_chunk_size(n_features)``),
        capped at ``_config.MAX_CHUNK_SIZE``.
    hard : bool, default=False
        Classification EM: every row wholly to its most probable component;
        ``Stats.loglik`` is then the classification log-likelihood.

    Returns
    -------
    Stats
    """
    model = _covariance.get(covariance_type)
    n_samples, n_features = X.shape
    chunk_size = _config.block_rows(chunk_size, _config.pass_chunk_size(n_features))
    x_dtype = float_dtype(X)
    means = pass_means(params, X.dtype)
    shift = model.pass_shift(params, means, X.dtype)
    args = model.pass_arguments(params, means, shift, x_dtype)
    n_components = means.shape[0]
    sum_weights = float(n_samples if sample_weight.shape[0] == 0 else sample_weight.sum())
    if model.blas_pass(n_features, n_components):
        # Large d: BLAS-3 on blocks of rows (fastgmm._blocked).
        loglik, nk, sx, sxx = model.run_blas_pass(X, sample_weight, args, hard)
        return Stats(loglik, sum_weights, nk, sx, sxx, means, shift)
    n_blocks = -(-n_samples // chunk_size)
    sxx_shape, accumulate, seg_blocks = _pass_layout(
        model, n_components, n_features, n_blocks, chunk_size, x_dtype,
        _config.PART_BYTES, _config.SEGMENT_BYTES)
    loglik = 0.0
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    # zeros: the kernels write only the upper triangle of full/tied scatters.
    sxx = np.zeros(sxx_shape)
    loglik_part, nk_part, sx_part, sxx_part = _part_arrays(
        seg_blocks, n_components, n_features, () if accumulate else sxx_shape)
    if accumulate:
        sxx_part = sxx[None]
    convert = X.dtype not in (np.float32, np.float64)
    pager = PageReleaser(X)
    kernel, flags = model.pass_kernel(n_blocks, accumulate, n_features, x_dtype)
    for n_seg, row_start, row_stop in block_segments(n_blocks, seg_blocks, chunk_size,
                                                     n_samples):
        parts = (loglik_part[:n_seg], nk_part[:n_seg], sx_part[:n_seg],
                 sxx_part if accumulate else sxx_part[:n_seg])
        if convert:
            # The segment alone, in float64; its blocks are the same rows.
            seg_X = float_rows(X, row_start, row_stop)
            seg_w = (sample_weight[row_start:row_stop] if sample_weight.shape[0]
                     else sample_weight)
            rows = (0, row_stop - row_start)
        else:
            seg_X, seg_w, rows = X, sample_weight, (row_start, row_stop)
        kernel(seg_X, seg_w, *args, *rows, chunk_size, hard, *flags, *parts)
        pager.release(row_start, row_stop)
        loglik += parts[0].sum()
        nk += parts[1].sum(axis=0)
        add_block_sums(parts[2], n_seg, sx)
        if not accumulate:
            add_block_sums(parts[3], n_seg, sxx)
    return Stats(float(loglik), sum_weights, nk, sx, sxx, means, shift)


def add_block_sums(parts, n_blocks, out):
    """``out += parts[0] + ... + parts[n_blocks - 1]``, in that order: a pass's
    partial statistics summed in block order. numpy's
    ``parts[:n_blocks].sum(axis=0)`` makes these additions serially; from
    ``_config.REDUCE_PARALLEL_MIN_THREADS`` threads and
    ``_config.REDUCE_PARALLEL_MIN_ENTRIES`` values, ``_kernels.reduce``
    makes the same ones on the threads. The sums are the same bits either
    way.
    """
    if (n_blocks * out.size >= _config.REDUCE_PARALLEL_MIN_ENTRIES
            and numba.get_num_threads() >= _config.REDUCE_PARALLEL_MIN_THREADS):
        _threads.thread_safe(_reduce.add_block_sums)(
            parts.reshape(parts.shape[0], -1), n_blocks, out.reshape(-1))
    else:
        out += parts[0] if n_blocks == 1 else parts[:n_blocks].sum(axis=0)


# The partial-statistics arrays of the passes on this thread, while a
# ``reused_pass_parts`` block is open.
_pass_parts = threading.local()


@contextlib.contextmanager
def reused_pass_parts():
    """Within it, the passes run on this thread reuse one set of arrays for
    their partial statistics, kept from one pass to the next of the same
    shape (the EM loop), and freed on leaving.

    A pass's partial scatters take up to ``_config.PART_BYTES``; allocated
    anew for every pass, they came back as fresh pages from the operating
    system, and zeroing them cost a serial sweep (about 1 ms a pass for
    N = 2e5, d = 16, K = 16 'full') besides the page faults.
    """
    outer = getattr(_pass_parts, "cache", None)
    if outer is None:
        _pass_parts.cache = {}
    try:
        yield
    finally:
        if outer is None:
            _pass_parts.cache = None


def _part_arrays(seg_blocks, n_components, n_features, sxx_shape):
    """(loglik_part, nk_part, sx_part, sxx_part) for segments of ``seg_blocks``
    blocks, reused inside ``reused_pass_parts``. ``sxx_part`` is zeroed when
    made: the 'full' and 'tied' kernels write only the upper triangles of
    their scatters, and the rest must add 0 to the sums."""
    cache = getattr(_pass_parts, "cache", None)
    key = (seg_blocks, n_components, n_features, sxx_shape)
    if cache and key in cache:
        return cache[key]
    parts = (np.empty(seg_blocks), np.empty((seg_blocks, n_components)),
             np.empty((seg_blocks, n_components, n_features)),
             np.zeros((seg_blocks,) + sxx_shape))
    if cache is not None:
        cache.clear()
        cache[key] = parts
    return parts


@functools.lru_cache(maxsize=256)
def _pass_layout(model, n_components, n_features, n_blocks, chunk_size, x_dtype,
                 part_bytes, segment_bytes):
    """(scatter shape, accumulate, blocks per segment) of a pass: they depend
    on the problem's shape only, so an EM loop computes them once (they cost
    tens of microseconds a pass, a few per cent of a pass over 10^4 rows).

    With accumulate, every block's scatter is added to the total in block
    order, the sum the driver makes of parts, with no partial scatters at
    all; the blocks then run one after the other, and the components of each
    in parallel. Partial statistics take at most ``_config.PART_BYTES`` per
    kernel call; the segment length depends only on the problem's shape,
    never on the thread count. ``part_bytes`` and ``segment_bytes`` are
    ``_config``'s budgets, arguments so that a changed budget is a new key.
    """
    sxx_shape = model.scatter_shape(n_components, n_features)
    small_floats, scatter_floats = model.block_floats(n_components, n_features)
    accumulate = model.accumulates(n_components, n_features)
    seg_blocks = max(1, min(n_blocks,
                            part_bytes // (8 * (small_floats if accumulate
                                                else small_floats + scatter_floats)),
                            segment_rows(n_features, x_dtype) // chunk_size))
    return sxx_shape, accumulate, seg_blocks


def weighted_log_prob(X, params, covariance_type, chunk_size=None):
    """log pi_k + log N(x | mu_k, Sigma_k) for every row, in X's dtype (float64
    for data that are not float32/float64).

    The kernels take the parameters as stored and compute their constants
    themselves: little Python work per call, for pipelines scoring a few
    rows at a time.
    """
    return _per_point(X, params, covariance_type, chunk_size, normalize=False)[1]


def responsibilities(X, params, covariance_type, chunk_size=None):
    """(log p(x_i), responsibilities) for every row, in X's dtype.

    One kernel call: the log-sum-exp and the normalisation happen in the
    kernel, on each block while it is in cache. A row whose densities are
    all 0 gets log p = -inf and zero responsibilities.
    """
    return _per_point(X, params, covariance_type, chunk_size, normalize=True)


def _per_point(X, params, covariance_type, chunk_size, normalize):
    model = _covariance.get(covariance_type)
    chunk_size = _config.block_rows(chunk_size, _config.CHUNK_SIZE)
    out = np.empty((X.shape[0], params.means.shape[0]), dtype=float_dtype(X))
    log_norm = np.empty(X.shape[0] if normalize else 0, dtype=out.dtype)
    args = model.score_arguments(params, out.dtype)
    if X.dtype not in (np.float32, np.float64) or is_mapped(X):
        # Segment by segment (converted to float64 where X is not float; the
        # pages of a mapped X handed back after each): each row's values
        # depend on that row only.
        rows = segment_rows(X.shape[1], out.dtype, chunk_size)
        # One kernel for every segment, chosen by the whole X (as in memory).
        kernel = model.log_prob_kernel(-(-X.shape[0] // chunk_size), X.shape[1], out.dtype)
        for start, stop, seg in iter_segments(X, rows):
            kernel(seg, *args, chunk_size, out[start:stop],
                   log_norm[start:stop] if normalize else log_norm)
        return log_norm, out
    kernel = model.log_prob_kernel(-(-X.shape[0] // chunk_size), X.shape[1], out.dtype)
    kernel(X, *args, chunk_size, out, log_norm)
    return log_norm, out


def log_resp(X, params, covariance_type, chunk_size=None):
    """(log p(x_i), log responsibilities) for every row, in X's dtype."""
    chunk_size = _config.block_rows(chunk_size, _config.CHUNK_SIZE)
    out = weighted_log_prob(X, params, covariance_type, chunk_size)
    norm = np.empty(X.shape[0], dtype=out.dtype)
    kernel = _threads.pick_kernel((_lp_kernels.normalize_log_prob, _lp_kernels.normalize_log_prob_serial),
                   -(-X.shape[0] // chunk_size))
    kernel(out, chunk_size, norm)
    return norm, out


def row_log_likelihood(X, params, covariance_type, chunk_size=None, rows=1 << 16):
    """log p(x_i) of every row, float64, computed ``rows`` rows at a time so that
    no (n_samples, n_components) array exists."""
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], rows):
        stop = min(start + rows, X.shape[0])
        out[start:stop] = responsibilities(X[start:stop], params, covariance_type,
                                          chunk_size)[0]
    return out


def m_step(stats, covariance_type, reg_covar, nk_reg, float32_data, normalize="sum", *,
           on_degenerate="raise", X=None, sample_weight=None, iteration=0, events=None,
           chunk_size=None):
    """Parameters from statistics; weights over their sum (``normalize='sum'``,
    the M-step) or over the total sample weight (``'n_samples'``, the start).

    ``nk_reg`` is added to every component's weight
    (:func:`fastgmm._stats.nk_regularization`).

    With ``on_degenerate='raise'`` a covariance that is not positive definite
    raises scikit-learn's ValueError. With 'reseed' or 'drop', components
    whose covariance is singular, or that are empty (responsibilities
    summing to less than ``EMPTY_FRACTION`` of the total sample weight), are
    repaired by :func:`repair_components` (which needs ``X`` and
    ``sample_weight``), and one dict per component is appended to
    ``events``.
    """
    model = _covariance.get(covariance_type)
    nk, means, covariances = estimate_parameters(stats, model, reg_covar, nk_reg)
    weights = nk / (nk.sum() if normalize == "sum" else stats.sum_weights)
    if on_degenerate == "raise":
        precisions_chol = _covariance.compute_precision_cholesky(covariances, model,
                                                                 float32_data)
        return Params(weights, means, covariances, precisions_chol)
    precisions_chol, singular = model.precision_cholesky(covariances)
    if model.shared:
        if singular[0]:
            raise ValueError(
                ill_defined_message(float32_data) + f" The shared ({model.name!r}) "
                "covariance itself is singular, which on_degenerate cannot repair."
            )
        singular = np.zeros(means.shape[0], dtype=bool)
    empty = stats.nk < EMPTY_FRACTION * stats.sum_weights
    params = Params(weights, means, covariances, precisions_chol)
    if not (singular.any() or empty.any()):
        return params
    return repair_components(
        X, sample_weight, params, empty=empty, singular=singular,
        covariance_type=covariance_type, reg_covar=reg_covar, action=on_degenerate,
        iteration=iteration, events=events, float32_data=float32_data,
        chunk_size=chunk_size)


def _subset(params, keep, model):
    """The components ``keep`` of ``params``, weights renormalised to sum to 1."""
    weights = params.weights[keep]
    weights = weights / weights.sum()
    return Params(weights, params.means[keep], model.subset(params.covariances, keep),
                  model.subset(params.precisions_chol, keep))


def data_covariance(X, sample_weight, covariance_type, reg_covar):
    """The (sample-weighted) covariance of all of X plus ``reg_covar`` on its diagonal.

    Two passes over row chunks in float64 (mean, then the scatter around
    it): the matrix or the variances, as the model's ``data_covariance``
    turns them into one component's covariance.
    """
    model = _covariance.get(covariance_type)
    n_samples, n_features = X.shape
    step = 1 << 15
    weighted = sample_weight.shape[0] > 0
    total = float(sample_weight.sum()) if weighted else float(n_samples)
    mean = np.zeros(n_features)
    for start in range(0, n_samples, step):
        rows = np.asarray(X[start:start + step], dtype=np.float64)
        mean += (sample_weight[start:start + step] @ rows if weighted
                 else rows.sum(axis=0))
    mean /= total
    matrix = model.matrix
    scatter = np.zeros((n_features, n_features) if matrix else n_features)
    for start in range(0, n_samples, step):
        diff = np.asarray(X[start:start + step], dtype=np.float64) - mean
        wdiff = diff * sample_weight[start:start + step, None] if weighted else diff
        scatter += wdiff.T @ diff if matrix else (wdiff * diff).sum(axis=0)
    return model.data_covariance(scatter / total, reg_covar)


def repair_components(X, sample_weight, params, *, empty, singular, covariance_type,
                      reg_covar, action, iteration, events, float32_data,
                      chunk_size=None):
    """Reseed or drop the degenerate components of ``params`` (after an M-step).

    ``action='drop'`` removes them. ``action='reseed'`` restarts each at one
    of the worst-explained rows: the rows of lowest log-likelihood under the
    mixture of the healthy components (rows of zero weight excluded), one
    row per component, each component with the covariance of all the data
    (:func:`data_covariance`, which includes ``reg_covar``; for 'tied' the
    shared covariance is kept) and weight ``1 / n_components`` before the
    weights are renormalised. Appends ``{'iteration', 'component', 'kind',
    'action'}`` to ``events`` per component (kind 'empty' wins over
    'singular': an empty component's covariance is singular with
    ``reg_covar=0``). When no component is healthy (every component of a
    start a single row, with ``reg_covar=0``), 'reseed' keeps each mean and
    weight and only gives each the covariance of the data.

    Raises
    ------
    ValueError
        When every component is degenerate ('drop'), or the covariance of the
        data is itself singular ('reseed').
    """
    model = _covariance.get(covariance_type)
    bad = empty | singular
    for k in np.flatnonzero(bad):
        events.append({"iteration": int(iteration), "component": int(k),
                       "kind": "empty" if empty[k] else "singular", "action": action})
    keep = ~bad
    if not keep.any() and action == "drop":
        raise ValueError(
            ill_defined_message(float32_data) + f" All {bad.size} components became "
            f"degenerate at iteration {iteration}, so on_degenerate='drop' would leave "
            "none; try on_degenerate='reseed'."
        )
    if action == "drop":
        return _subset(params, keep, model)
    weights = params.weights.copy()
    means = params.means.copy()
    covariances = np.array(params.covariances, dtype=np.float64, copy=True)
    precisions_chol = np.array(params.precisions_chol, dtype=np.float64, copy=True)
    if keep.any():
        healthy = _subset(params, keep, model)
        log_prob = row_log_likelihood(X, healthy, covariance_type, chunk_size)
        log_prob[np.isnan(log_prob)] = -np.inf
        if sample_weight.shape[0]:
            log_prob[sample_weight == 0] = np.inf
        n_bad = int(bad.sum())
        worst = np.argpartition(log_prob, n_bad - 1)[:n_bad]
        worst = worst[np.lexsort((worst, log_prob[worst]))]
        weights[bad] = 1.0 / bad.size
        means[bad] = np.asarray(X[worst], dtype=np.float64)
    # else no component explains anything yet (say, every component of the
    # start is a single row and reg_covar=0): each keeps its mean and weight
    # and only takes the data's covariance.
    if not model.shared:
        cov = data_covariance(X, sample_weight, model, reg_covar)
        prec_chol, failed = model.precision_cholesky(np.asarray(cov, dtype=np.float64)[None])
        if failed[0]:
            raise ValueError(
                ill_defined_message(float32_data) + " on_degenerate='reseed' restarts "
                "a component with the covariance of the data, which is singular here "
                "too: increase reg_covar."
            )
        covariances[bad] = cov
        precisions_chol[bad] = prec_chol[0]
    return Params(weights / weights.sum(), means, covariances, precisions_chol)


def nearest_component(X, params, covariance_type):
    """The component of smallest Mahalanobis distance for each row of X.

    For rows whose densities underflow to 0 under every component (their
    log-densities are all -inf, their responsibilities 0/0): far enough out
    that the distances dwarf the weights and normalising constants, the
    most probable component is the nearest one. X and the means are scaled
    by a power of two and the distances compared as logarithms, so nothing
    overflows.
    """
    model = _covariance.get(covariance_type)
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    prec = np.asarray(params.precisions_chol, dtype=np.float64)
    largest = max(float(np.max(np.abs(X), initial=0.0)), float(np.max(np.abs(means))))
    scale = 2.0 ** np.ceil(np.log2(largest)) if largest > 0 else 1.0
    X, means = X / scale, means / scale
    log_dist = np.empty((X.shape[0], means.shape[0]))
    for k in range(means.shape[0]):
        t = model.whiten(X - means[k], prec, k)
        top = np.max(np.abs(t), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(top[:, None] > 0, t / top[:, None], 0.0)
            log_dist[:, k] = 2 * np.log(top) + np.log((ratio * ratio).sum(axis=1))
    log_dist[np.isnan(log_dist)] = np.inf
    return log_dist.argmin(axis=1)


def check_magnitude(X, largest=None):
    """Refuse data whose squared deviations overflow float64 in the passes.

    Sums of ``n_samples`` squared deviations of up to ``2 max|X|`` each (the
    scatter of EM, the inertia of k-means) must stay below the float64
    maximum. ``largest`` is ``max|X|`` where already known; otherwise it is
    read from X (in segments for a large or memory-mapped X).
    """
    largest = max_abs(X) if largest is None else largest
    if largest > 0 and (2 * math.log(2 * largest) + math.log(X.shape[0] * X.shape[1])
                        >= math.log(np.finfo(np.float64).max)):
        raise ValueError(
            f"X has values up to {largest:.3g} in absolute value: sums of squared "
            f"deviations over {X.shape[0]} rows and {X.shape[1]} features would "
            "overflow float64. Divide X by a constant (for instance its largest "
            "absolute value) or standardise it (sklearn.preprocessing.StandardScaler) "
            "before fitting."
        )
    return largest


def pass_data(X, largest):
    """X as the EM passes read it.

    float32 data are scored and summed in float32 within a block; squared
    deviations of values beyond ``_config.FLOAT32_PASS_MAX_ABS`` could
    overflow those sums, so such data are passed as float64 (the fitted
    parameters stay float32).
    """
    if X.dtype == np.float32 and largest > _config.FLOAT32_PASS_MAX_ABS:
        return X.astype(np.float64)
    return X


def most_probable_component(X, params, covariance_type):
    """The most probable component of each row of X.

    Rows whose densities all underflow (far from every component) go to the
    nearest component (:func:`nearest_component`).
    """
    weighted = weighted_log_prob(X, params, covariance_type)
    labels = weighted.argmax(axis=1)
    lost = ~np.isfinite(weighted[np.arange(X.shape[0]), labels])
    if lost.any():
        labels[lost] = nearest_component(X[lost], params, covariance_type)
    return labels


def posterior(X, params, covariance_type):
    """Responsibilities of each component for each row of X; each row sums to 1.

    For rows whose densities underflow under every component (0/0), the
    limit of the responsibilities far out: all on the nearest component.
    """
    log_prob, resp = responsibilities(X, params, covariance_type)
    return assign_lost_rows(X, params, covariance_type, log_prob, resp)


def assign_lost_rows(X, params, covariance_type, log_prob, resp):
    """``resp`` with the rows whose densities all underflow (log_prob not
    finite) wholly on their nearest component, in place."""
    if not math.isfinite(log_prob.sum()):
        lost = ~np.isfinite(log_prob)
        resp[lost] = 0.0
        resp[np.flatnonzero(lost), nearest_component(X[lost], params, covariance_type)] = 1.0
    return resp


def pass_means(params, dtype):
    """The centres of a pass over data of ``dtype``, float64.

    float32 data are scored and summed per block in float32 around these
    centres (the rule in fastgmm._kernels): rounded to float32, the
    statistics are taken around exactly the centres the kernels use.
    """
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    if dtype == np.float32:
        means = means.astype(np.float32).astype(np.float64)
    return means


class Handoff:
    """A start that :func:`run_em` takes ownership of.

    An argument stays referenced by the caller for the whole call, and a
    start of full covariances is two arrays of K d^2 floats. Wrapped in a
    Handoff, it is taken out by ``run_em``, which then drops its
    covariances before the first pass and its precision factors after it,
    so that the start does not outlive its use (``_fit`` hands its start
    over this way).
    """

    def __init__(self, params):
        self._params = params

    def take(self):
        """The wrapped Params, once; None afterwards."""
        params, self._params = self._params, None
        return params


def run_em(X, sample_weight, params, *, covariance_type, reg_covar, tol, max_iter,
           lower_bound=-np.inf, chunk_size=None, on_iteration=None, hard=False,
           on_degenerate="raise", events=None, stats_pass=None):
    """EM iterations from ``params`` until the lower bound changes by less than ``tol``.

    The lower bound of an iteration is the mean (sample-weighted)
    log-likelihood at the parameters *before* its M-step, as in
    scikit-learn: the fused pass yields it together with the statistics.
    With ``hard``, classification EM (C-step between E and M) and the mean
    classification log-likelihood, which never decreases either.

    Parameters
    ----------
    params : Params or Handoff
        The start; a :class:`Handoff` is taken over (see there).
    on_iteration : callable, optional
        ``on_iteration(n_iter, lower_bound, change, seconds)``; a true return
        value stops the iterations (reported as converged only if ``tol`` was
        met at that iteration).
    on_degenerate : {'raise', 'reseed', 'drop'}, default='raise'
        What the M-step does with a degenerate component (see :func:`m_step`).
        After a repair at iteration ``n`` the bound may fall, and convergence
        is not declared at iterations ``n`` and ``n + 1``.
    events : list, optional
        Receives one dict per repaired component.
    stats_pass : callable, optional
        Replaces :func:`em_pass` (same arguments, returns Stats): the Dask
        path passes its distributed pass here.

    Returns
    -------
    params : Params
    lower_bounds : list of float
    n_iter : int
    converged : bool

    Raises
    ------
    ValueError
        When a covariance is not positive definite (``on_degenerate='raise'``)
        or the log-likelihood is not finite.

    Notes
    -----
    Only one set of parameters is held at a time: the pass reads the
    weights, means and precision factors (not the covariances, dropped
    before it), the M-step needs the statistics alone (the parameters are
    dropped before it) and the statistics are dropped after it. A fit of
    full covariances thus holds at most three arrays of K d^2 floats (the
    scatters, the new covariances and their factors, during the M-step).
    """
    if isinstance(params, Handoff):
        params = params.take()
    stats_pass = em_pass if stats_pass is None else stats_pass
    events = [] if events is None else events
    float32_data = float_dtype(X) == np.float32
    lower_bounds = []
    converged = False
    n_iter = 0
    repaired_at = -2
    # One set of partial-statistics arrays for all the passes.
    with reused_pass_parts():
        for n_iter in range(1, max_iter + 1):
            tick = time.perf_counter()
            prev = lower_bound
            params = params._replace(covariances=None)
            stats = stats_pass(X, sample_weight, params, covariance_type, chunk_size, hard)
            params = None
            lower_bound = stats.loglik / stats.sum_weights
            if not np.isfinite(lower_bound):
                raise ValueError(
                    f"The log-likelihood is {lower_bound} at iteration {n_iter}: the data "
                    "are too large or too spread out for the arithmetic. Scale X (for "
                    "instance with sklearn.preprocessing.StandardScaler), pass float64 "
                    "data, or increase reg_covar."
                )
            n_events = len(events)
            nk_reg = nk_regularization(stats.sum_weights, X.shape[0])
            params = m_step(stats, covariance_type, reg_covar, nk_reg, float32_data,
                            on_degenerate=on_degenerate, X=X, sample_weight=sample_weight,
                            iteration=n_iter, events=events, chunk_size=chunk_size)
            stats = None
            if len(events) > n_events:
                repaired_at = n_iter
            lower_bounds.append(lower_bound)
            change = lower_bound - prev
            stop = bool(on_iteration(n_iter, lower_bound, change, time.perf_counter() - tick)) \
                if on_iteration is not None else False
            if abs(change) < tol and n_iter > repaired_at + 1:
                converged = True
                break
            if stop:
                break
    return params, lower_bounds, n_iter, converged
