"""The fused EM pass: log-likelihood and sufficient statistics in one read of X.

For each block of rows, one kernel computes the weighted log-densities of
all components (the helpers of ``logprob.py``), their log-sum-exp, the
responsibilities, and adds the responsibility-weighted sufficient
statistics of the block into that block's row of the ``*_part`` arrays.
The N x K responsibility matrix never exists: a block's responsibilities
live in a (n_components, chunk_size) scratch array. With ``hard`` set, the
responsibilities are 0/1 (each row to its most probable component: the
C-step of classification EM) and ``loglik_part`` sums the classification
log-likelihood ``max_k log(pi_k N(x | mu_k, Sigma_k))`` instead.

Statistics are taken around the current means (``D = x - mu_k``, which the
E-step computes anyway), so the M-step needs no ``E[xx^T] - mu mu^T``
cancellation:

- ``nk_part[c, k] = sum_b r_bk``
- ``sx_part[c, k, i] = sum_b r_bk D_bi``
- ``sxx_part[c, k, i, j] = sum_b r_bk D_bi D_bj`` (full, upper triangle
  j >= i only), ``sum_b r_bk D_bi^2`` (diag and spherical), or, for tied,
  ``sxx_part[c, i, j] = sum_b w_b (x_bi - shift_i)(x_bj - shift_j)``
- ``loglik_part[c] = sum_b w_b log p(x_b)``

where r_bk already includes the row's sample weight w_b.

Every kernel runs over the rows [row_start, row_stop) of X in blocks of
``chunk_size`` rows: block c reads rows [row_start + c * chunk_size, ...) and
writes only row c of each ``*_part`` array. Block boundaries never depend on
the thread count, and the driver sums the parts in a fixed order, so results
are bit-identical for any number of threads.

Which of these sums are float32 for float32 data (within a block) and which
float64 is the rule in the docstring of ``fastgmm._kernels``.
"""

import numpy as np
from numba import njit, prange

from .._config import (HOST_AVX512, ONE_SWEEP_STATS_MAX_FEATURES, ONE_SWEEP_TILE,
                       SCATTER_SWEEP_MAX_FEATURES)
from . import FAST_JIT, cached_factory, generated_function, kernel_variant, serial_twin
from ._inline import sum_of_logs
from .logprob import (
    block_log_prob_diag,
    block_log_prob_full,
    block_log_prob_full_2d,
    block_log_prob_full_one,
    block_log_prob_full_one_uncentred,
    block_log_prob_full_uncentred,
    block_hard_assign,
    block_log_prob_tied,
    block_normalize,
    ROW_PAD,
    WIDE_TILE_MIN_FEATURES,
    load_block,
    unrolled_log_prob_kernels,
)

_JIT = FAST_JIT


@njit(**_JIT)
def _block_weights(sample_weight, start, n_rows, w):
    """Sample weights of the block's rows into ``w`` (1 when none are given)."""
    if sample_weight.shape[0] == 0:
        for b in range(n_rows):
            w[b] = 1.0
    else:
        for b in range(n_rows):
            w[b] = sample_weight[start + b]


# The smallest normal float32. A float32 responsibility below it would be a
# subnormal number, and every product with a subnormal is slow.
FLOAT32_TINY = 1.1754943508222875e-38


@njit(inline="always", **_JIT)
def _stored_resp(value, out):
    """A (float64) responsibility as stored into ``out``: into float32, values
    below ``FLOAT32_TINY`` become 0 instead of subnormal numbers (the float64
    terms are flushed below exp(-690) already, see ``exp_nonpositive``)."""
    if out.itemsize == 4 and not value >= FLOAT32_TINY:
        return 0.0
    return value


@njit(**_JIT)
def _block_resp(logp, k, n_rows, inv_total, r):
    """Responsibilities of component k for the block, times the sample weights
    (``inv_total`` holds each row's weight over its total, see
    ``_block_loglik``; as ``_stored_resp`` stores them in ``r``'s dtype)."""
    for b in range(n_rows):
        r[b] = _stored_resp(logp[k, b] * inv_total[b], r)


@njit(**_JIT)
def _block_resp_kept(logp, k, n_rows, inv_total, r, rx):
    """``_block_resp`` into ``r`` (float64) and into ``rx`` (X's dtype, as
    ``_stored_resp`` stores them) in one sweep, where a sweep for each and
    one to count cost three; returns how many of ``rx`` are nonzero (the
    sparse moments' test of ``em_pass_diag``)."""
    n_kept = 0
    for b in range(n_rows):
        value = logp[k, b] * inv_total[b]
        r[b] = value
        stored = _stored_resp(value, rx)
        rx[b] = stored
        n_kept += stored != 0.0
    return n_kept


@njit(**_JIT)
def _block_loglik(n_rows, lse, w, total, unit_weights):
    """Weighted sum of the block's log-likelihoods ``lse + log(total)``; turns
    ``total`` into the row's weight over it (its inverse without weights), so
    that a responsibility times the row's weight is one product, ``e *
    total``, in every statistics loop.

    Without sample weights the logarithms of the totals are summed by
    ``sum_of_logs`` (exponents summed as integers, one scalar ``log`` per
    64 rows; each total is in [1, n_components], or 0 for a row whose
    terms are all 0, whose log-likelihood is then -inf).
    """
    loglik = 0.0
    if unit_weights:
        for b in range(n_rows):
            loglik += lse[b]
        loglik += sum_of_logs(total, n_rows)
    else:
        for b in range(n_rows):
            # A row of weight 0 adds nothing, even where its density is 0.
            if w[b] != 0.0:
                loglik += w[b] * (lse[b] + np.log(total[b]))
    if unit_weights:
        for b in range(n_rows):
            total[b] = 1.0 / total[b] if total[b] > 0.0 else 0.0
    else:
        for b in range(n_rows):
            total[b] = w[b] / total[b] if total[b] > 0.0 else 0.0
    return loglik


@njit(**_JIT)
def _block_posterior(logp, n_rows, hard, w, unit_weights, lse, inv_total):
    """The block's (weighted) log-likelihood; ``logp`` becomes unnormalised
    responsibilities (0/1 with ``hard``) and ``inv_total`` each row's weight
    over their sum (its inverse without weights: ``_block_loglik``).

    The E-step's second half, after the log-densities: see
    ``block_normalize``, ``block_hard_assign`` and ``_block_loglik``.
    """
    if hard:
        block_hard_assign(logp, n_rows, lse, inv_total)
    else:
        block_normalize(logp, n_rows, lse, inv_total)
    return _block_loglik(n_rows, lse, w, inv_total, unit_weights)


@njit(**_JIT)
def _block_centred_sums(xt, n_rows, mean, r, sx):
    """nk and sx of one component, nothing stored per row (float64 sums):
    'tied''s per-component first moments."""
    n_features = xt.shape[0]
    nk = 0.0
    for b in range(n_rows):
        nk += r[b]
    for i in range(n_features):
        m = mean[i]
        s = 0.0
        for b in range(n_rows):
            s += r[b] * (xt[i, b] - m)
        sx[i] = s
    return nk


@njit(**_JIT)
def _block_first_moments(xt, n_rows, mean, r, dev, rdev, zero, sx):
    """nk and sx of one component; leaves D and r*D in ``dev``, ``rdev``.
    nk is a float64 sum, sx one in the type of ``zero`` (X's dtype: the
    rule of ``fastgmm._kernels``)."""
    n_features = xt.shape[0]
    nk = 0.0
    for b in range(n_rows):
        nk += r[b]
    for i in range(n_features):
        m = mean[i]
        s = zero
        for b in range(n_rows):
            t = xt[i, b] - m
            dev[i, b] = t
            rdev[i, b] = r[b] * t
            s += rdev[i, b]
        sx[i] = s
    return nk


@njit(**_JIT)
def _scatter_tiles2(n_rows, rdev, dev, out, zero, accumulate):
    """``_block_scatter`` in tiles of two rows by two columns."""
    n_features = dev.shape[0]
    for i in range(0, n_features, 2):
        i2 = min(i + 1, n_features - 1)
        for j in range(i, n_features, 2):
            j2 = min(j + 1, n_features - 1)
            s00 = zero
            s01 = zero
            s10 = zero
            s11 = zero
            for b in range(n_rows):
                ra = rdev[i, b]
                rb = rdev[i2, b]
                da = dev[j, b]
                db = dev[j2, b]
                s00 += ra * da
                s01 += ra * db
                s10 += rb * da
                s11 += rb * db
            if accumulate:
                out[i, j] += s00
                if j2 > j:
                    out[i, j2] += s01
                if i2 > i:
                    if j > i:
                        out[i2, j] += s10
                    if j2 > j:
                        out[i2, j2] += s11
            else:
                out[i, j] = s00
                if j2 > j:
                    out[i, j2] = s01
                if i2 > i:
                    if j > i:
                        out[i2, j] = s10
                    if j2 > j:
                        out[i2, j2] = s11


@njit(**_JIT)
def _store_tile(out, rows, cols, tile, rows_left, cols_left, accumulate):
    """The upper-triangle entries of a register tile into ``out``.

    ``rows``, ``cols``: the tile's (clamped) row and column indices;
    ``rows_left``, ``cols_left``: how many of them lie before the clamping.
    Written: every entry with fixed trip counts, so that the writes unroll
    (a clamped entry is written again with the same value); added, with
    ``accumulate``: only the entries before the clamping, each once.
    """
    if accumulate:
        for p in range(min(len(rows), rows_left)):
            for q in range(min(len(cols), cols_left)):
                if cols[q] >= rows[p]:
                    out[rows[p], cols[q]] += tile[p][q]
    else:
        for p in range(len(rows)):
            for q in range(len(cols)):
                if cols[q] >= rows[p]:
                    out[rows[p], cols[q]] = tile[p][q]


@njit(**_JIT)
def _scatter_tiles4(n_rows, rdev, dev, out, zero, accumulate):
    """``_block_scatter`` in tiles of four rows by four columns.

    Past the last feature, tile indices are clamped to it: a clamped row or
    column recomputes an entry of the tile: written again with the same
    value, or, with ``accumulate``, not added (each entry is added once).
    """
    last = dev.shape[0] - 1
    for i0 in range(0, last + 1, 4):
        i1 = min(i0 + 1, last)
        i2 = min(i0 + 2, last)
        i3 = min(i0 + 3, last)
        for j0 in range(i0, last + 1, 4):
            j1 = min(j0 + 1, last)
            j2 = min(j0 + 2, last)
            j3 = min(j0 + 3, last)
            s00 = s01 = s02 = s03 = zero
            s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = zero
            s30 = s31 = s32 = s33 = zero
            for b in range(n_rows):
                r0 = rdev[i0, b]
                r1 = rdev[i1, b]
                r2 = rdev[i2, b]
                r3 = rdev[i3, b]
                d0 = dev[j0, b]
                d1 = dev[j1, b]
                d2 = dev[j2, b]
                d3 = dev[j3, b]
                s00 += r0 * d0
                s01 += r0 * d1
                s02 += r0 * d2
                s03 += r0 * d3
                s10 += r1 * d0
                s11 += r1 * d1
                s12 += r1 * d2
                s13 += r1 * d3
                s20 += r2 * d0
                s21 += r2 * d1
                s22 += r2 * d2
                s23 += r2 * d3
                s30 += r3 * d0
                s31 += r3 * d1
                s32 += r3 * d2
                s33 += r3 * d3
            _store_tile(out, (i0, i1, i2, i3), (j0, j1, j2, j3),
                        ((s00, s01, s02, s03), (s10, s11, s12, s13),
                         (s20, s21, s22, s23), (s30, s31, s32, s33)),
                        last + 1 - i0, last + 1 - j0, accumulate)


@njit(**_JIT)
def _scatter_tiles24(n_rows, rdev, dev, out, zero, accumulate):
    """``_block_scatter`` in tiles of two rows by four columns, clamped as
    ``_scatter_tiles4``'s: eight accumulators and six loaded rows, which fit
    sixteen vector registers."""
    last = dev.shape[0] - 1
    for i0 in range(0, last + 1, 2):
        i1 = min(i0 + 1, last)
        for j0 in range(i0, last + 1, 4):
            j1 = min(j0 + 1, last)
            j2 = min(j0 + 2, last)
            j3 = min(j0 + 3, last)
            s00 = s01 = s02 = s03 = zero
            s10 = s11 = s12 = s13 = zero
            for b in range(n_rows):
                r0 = rdev[i0, b]
                r1 = rdev[i1, b]
                d0 = dev[j0, b]
                d1 = dev[j1, b]
                d2 = dev[j2, b]
                d3 = dev[j3, b]
                s00 += r0 * d0
                s01 += r0 * d1
                s02 += r0 * d2
                s03 += r0 * d3
                s10 += r1 * d0
                s11 += r1 * d1
                s12 += r1 * d2
                s13 += r1 * d3
            _store_tile(out, (i0, i1), (j0, j1, j2, j3),
                        ((s00, s01, s02, s03), (s10, s11, s12, s13)),
                        last + 1 - i0, last + 1 - j0, accumulate)


# The scatter's register tiles follow the target's vector registers. With
# AVX-512's 32, four-by-four tiles (16 accumulators, 8 loaded rows) were the
# fastest from WIDE_TILE_MIN_FEATURES features on. With AVX2's 16 they spill:
# on an AMD EPYC (Zen 3) two-by-four tiles ran 1.2-2x faster than four-by-four
# and 1.05-1.3x faster than two-by-two for every d from 3 to 64, float32 and
# float64 (one block of 256 rows, one thread, median of 5).
SCATTER_TILES_4X4 = HOST_AVX512


@njit(**_JIT)
def _block_scatter(n_rows, rdev, dev, out, zero, accumulate):
    """Upper triangle of ``rdev @ dev.T`` over the block's rows into ``out``
    (added to it with ``accumulate``).

    Entries are computed in register tiles, so that each loaded element
    serves several products: with 32 vector registers four by four from
    ``WIDE_TILE_MIN_FEATURES`` features on, else two by two; with 16, two
    rows by four columns from three features on (``SCATTER_TILES_4X4``).
    Tiles on the diagonal also compute lower entries, which are not
    written. The sums over the block's rows are taken in the type of
    ``zero`` (the dtype of ``dev``).
    """
    n_features = dev.shape[0]
    if SCATTER_TILES_4X4:
        if n_features >= WIDE_TILE_MIN_FEATURES:
            _scatter_tiles4(n_rows, rdev, dev, out, zero, accumulate)
        else:
            _scatter_tiles2(n_rows, rdev, dev, out, zero, accumulate)
    elif n_features >= 3:
        _scatter_tiles24(n_rows, rdev, dev, out, zero, accumulate)
    else:
        _scatter_tiles2(n_rows, rdev, dev, out, zero, accumulate)


@njit(**_JIT)
def _component_stats(xt, n_rows, means, means_x, logp, k, inv_total, r, dev, rdev, zero, sx,
                     sxx, accumulate):
    """Component k's statistics of the block, full covariances: returns nk,
    writes sx and the scatter into ``sxx`` (added with ``accumulate``), from
    the unnormalised responsibilities ``logp`` (see ``_block_posterior``).
    The responsibilities, D and r D are stored per row (``r``, ``dev``,
    ``rdev``: scratch), sx summed along them and the scatter in tiles, both
    in the dtype of ``dev``. The kernels of ``unrolled_full_kernels`` with a
    ``sweep`` call ``_component_stats_sweep`` ("float64") or
    ``_component_stats_scatter`` ("scatter") instead."""
    _block_resp(logp, k, n_rows, inv_total, r)
    nk = _block_first_moments(xt, n_rows, means_x[k], r, dev, rdev, zero, sx)
    _block_scatter(n_rows, rdev, dev, sxx, zero, accumulate)
    return nk


@njit(**_JIT)
def _component_stats_sweep(xt, n_rows, means, means_x, logp, k, inv_total, r, dev, rdev,
                           zero, sx, sxx, accumulate):
    """``_component_stats`` in one sweep over the block's rows, everything in
    float64 and nothing stored per row (the scratch is not used): the
    written-out statistics of two features (``_block_stats_2d``, that is
    ``unrolled_block_stats(2)``), which the kernels of
    ``unrolled_full_kernels`` replace by those of their number of features."""
    return _block_stats_2d(xt, n_rows, means[k], logp[k], inv_total, sx, sxx, accumulate)


def _component_stats_scatter(xt, n_rows, means, means_x, logp, k, inv_total, r, dev, rdev,
                             zero, sx, sxx, accumulate):
    """``_component_stats`` with the responsibilities the only values stored
    per row: nk, sx and the scatter by ``tiled_block_stats`` of the width
    (``_tiled_stats``, which ``unrolled_full_kernels`` replaces: this
    function is only compiled through ``kernel_variant``), sx and the
    scatter summed in X's dtype."""
    _block_resp(logp, k, n_rows, inv_total, r)
    return _tiled_stats(xt, n_rows, means_x[k], r, zero, sx, sxx, accumulate)


# Stands for the tiled statistics of a width in _component_stats_scatter
# (see there); never called.
_tiled_stats = None


@njit(**_JIT)
def _block_full_stats(xt, n_rows, means, means_x, logp, inv_total, r, dev, rdev, zero,
                      nk, sx, sxx, accumulate):
    """The block's statistics of every component, full covariances: ``nk[k]``,
    ``sx[k]`` and the scatter into ``sxx[k]`` (``_component_stats``)."""
    for k in range(means.shape[0]):
        nk[k] = _component_stats(xt, n_rows, means, means_x, logp, k, inv_total, r, dev,
                                 rdev, zero, sx[k], sxx[k], accumulate)


@njit(parallel=True, **_JIT)
def em_pass_full(X, sample_weight, means, precisions_chol, const, row_start, row_stop,
                 chunk_size, hard, accumulate, loglik_part, nk_part, sx_part, sxx_part):
    """One fused E-step and statistics pass, full covariances.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
        Empty for unit weights.
    means : ndarray of shape (n_components, n_features), float64
    precisions_chol : ndarray of shape (n_components, n_features, n_features), X's dtype
        Given in the dtype the log-densities are computed in, so that the
        kernel makes no copy of it.
    const : ndarray of shape (n_components,), float64
        log weight + log det(U) - n_features / 2 log(2 pi).
    row_start, row_stop, chunk_size : int
    hard : bool
        Classification EM: 0/1 responsibilities (see the module docstring).
    accumulate : bool
        Every block adds its scatter to ``sxx_part[0]`` instead of writing
        row c: for models whose scatters of one block exceed the driver's
        budget for partial statistics. Only for the serial twin: blocks
        then add in order, the sum the driver would make of their parts.
    loglik_part : ndarray of shape (n_blocks,), float64
    nk_part : ndarray of shape (n_blocks, n_components), float64
    sx_part : ndarray of shape (n_blocks, n_components, n_features), float64
    sxx_part : ndarray of shape (n_blocks, n_components, n_features, n_features), float64
        Only the upper triangle (j >= i) is written; shape (1, ...) with
        ``accumulate``.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) and writes only row c
    of each ``*_part`` array (with ``accumulate``, adds to row 0 of
    ``sxx_part``). Two features run its ``_2d`` variant (``em_pass_full_2d``).
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_blocks = loglik_part.shape[0]
    # Scored in X's dtype (see block_log_prob_full); for float32 data sx
    # and the scatter of a block are summed in float32, nk in float64, but
    # where _component_stats is the one sweep (the _2d and _sweep variants:
    # all float64; the rule: fastgmm._kernels).
    means_x = means.astype(X.dtype)
    for c in prange(n_blocks):
        # The row of sxx_part this block writes; ``c - c`` keeps the type of
        # the prange index (with a literal 0 it would unify to float64).
        c_sxx = c - c if accumulate else c
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        logp = np.empty((n_components, chunk_size + ROW_PAD))
        dev = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        rdev = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        lse = np.empty(chunk_size)
        w = np.empty(chunk_size)
        inv_total = np.empty(chunk_size)
        r = np.empty(chunk_size, X.dtype)
        zero = np.zeros(1, X.dtype)[0]
        mean_u = np.empty(n_features, X.dtype)
        y = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        sq = np.empty(chunk_size, X.dtype)
        load_block(X, start, n_rows, xt)
        _block_weights(sample_weight, start, n_rows, w)
        block_log_prob_full(xt, n_rows, means_x, precisions_chol, const, logp, mean_u, y, sq)
        loglik_part[c] = _block_posterior(logp, n_rows, hard, w, sample_weight.shape[0] == 0,
                                          lse, inv_total)
        _block_full_stats(xt, n_rows, means, means_x, logp, inv_total, r, dev, rdev, zero,
                          nk_part[c], sx_part[c], sxx_part[c_sxx], accumulate)


@njit(parallel=True, **_JIT)
def em_pass_full_components(X, sample_weight, means, precisions_chol, const, row_start,
                            row_stop, chunk_size, hard, loglik_part, nk_part, sx_part,
                            sxx):
    """``em_pass_full`` with ``accumulate``, its components in parallel.

    For models whose scatters of one block exceed the driver's budget for
    partial statistics, where blocks must add into the single total one
    after the other: the blocks run in order, and within a block the
    log-densities, then the statistics, of the components are spread over
    the threads. Component k's work is the serial kernel's, written to its
    own rows (``logp[k]``, ``nk_part[c, k]``, ``sx_part[c, k]``,
    ``sxx[0, k]``), each with its own scratch: the result is bit-identical
    to the serial twin of ``em_pass_full`` for any number of threads.

    Parameters
    ----------
    X, sample_weight, means, precisions_chol, const, row_start, row_stop, chunk_size, hard
        As ``em_pass_full``; more than two features (``em_pass_full``'s
        two-feature path is not repeated here).
    loglik_part : ndarray of shape (n_blocks,), float64
    nk_part : ndarray of shape (n_blocks, n_components), float64
    sx_part : ndarray of shape (n_blocks, n_components, n_features), float64
    sxx : ndarray of shape (1, n_components, n_features, n_features), float64
        Every block adds its scatters (upper triangles) to it.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) and writes row c of
    ``loglik_part``, ``nk_part`` and ``sx_part``; within it, component k
    writes only its own rows.
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_blocks = loglik_part.shape[0]
    means_x = means.astype(X.dtype)
    width = chunk_size + ROW_PAD
    xt = np.empty((n_features, width), X.dtype)
    logp = np.empty((n_components, width))
    lse = np.empty(chunk_size)
    w = np.empty(chunk_size)
    inv_total = np.empty(chunk_size)
    zero = np.zeros(1, X.dtype)[0]
    for c in range(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        load_block(X, start, n_rows, xt)
        _block_weights(sample_weight, start, n_rows, w)
        for k in prange(n_components):
            mean_u = np.empty(n_features, X.dtype)
            y = np.empty((n_features, width), X.dtype)
            sq = np.empty(chunk_size, X.dtype)
            block_log_prob_full_one(xt, n_rows, means_x, precisions_chol, const, k, logp,
                                    mean_u, y, sq)
        loglik_part[c] = _block_posterior(logp, n_rows, hard, w, sample_weight.shape[0] == 0,
                                          lse, inv_total)
        for k in prange(n_components):
            dev = np.empty((n_features, width), X.dtype)
            rdev = np.empty((n_features, width), X.dtype)
            r = np.empty(chunk_size, X.dtype)
            # np.bool_: a literal True would compile the scatter tiles again
            # for Literal[bool] (em_pass_full passes a runtime bool).
            nk_part[c, k] = _component_stats(xt, n_rows, means, means_x, logp, k,
                                             inv_total, r, dev, rdev, zero, sx_part[c, k],
                                             sxx[0, k], np.bool_(True))


@njit(parallel=True, **_JIT)
def em_pass_tied(X, sample_weight, means, means_u, precision_chol, const, shift,
                 row_start, row_stop, chunk_size, hard, loglik_part, nk_part, sx_part,
                 sxx_part):
    """One fused E-step and statistics pass, one covariance shared by all components.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    means : ndarray of shape (n_components, n_features), float64
    means_u : ndarray of shape (n_components, n_features), float64
        ``(means - shift) @ precision_chol``.
    precision_chol : ndarray of shape (n_features, n_features), float64
    const : ndarray of shape (n_components,), float64
    shift : ndarray of shape (n_features,), float64
        Centre of the rows for the E-step and of the pooled scatter (any
        point near the data).
    row_start, row_stop, chunk_size : int
    hard : bool
        Classification EM: 0/1 responsibilities (see the module docstring).
    loglik_part : ndarray of shape (n_blocks,), float64
    nk_part : ndarray of shape (n_blocks, n_components), float64
    sx_part : ndarray of shape (n_blocks, n_components, n_features), float64
    sxx_part : ndarray of shape (n_blocks, n_features, n_features), float64
        Weighted scatter of all rows around ``shift``; upper triangle only.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) and writes only row c
    of each ``*_part`` array.
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_blocks = loglik_part.shape[0]
    # In X's dtype: rows are centred on the shift first (exact in float32 for
    # rows near it), then scored, and their pooled scatter summed per block.
    means_u_x = means_u.astype(X.dtype)
    precision_chol_x = precision_chol.astype(X.dtype)
    shift_x = shift.astype(X.dtype)
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        logp = np.empty((n_components, chunk_size + ROW_PAD))
        dev = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        rdev = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        xu = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        sq = np.empty(chunk_size, X.dtype)
        lse = np.empty(chunk_size)
        w = np.empty(chunk_size)
        inv_total = np.empty(chunk_size)
        r = np.empty(chunk_size)
        pooled_sx = np.empty(n_features)
        zero = np.zeros(1, X.dtype)[0]
        load_block(X, start, n_rows, xt)
        _block_weights(sample_weight, start, n_rows, w)
        # dev = x - shift (and rdev = w dev) serve the E-step and the pooled scatter.
        _block_first_moments(xt, n_rows, shift_x, w, dev, rdev, zero, pooled_sx)
        block_log_prob_tied(dev, n_rows, means_u_x, precision_chol_x, const, logp, xu, sq)
        loglik_part[c] = _block_posterior(logp, n_rows, hard, w, sample_weight.shape[0] == 0,
                                          lse, inv_total)
        for k in range(n_components):
            _block_resp(logp, k, n_rows, inv_total, r)
            nk_part[c, k] = _block_centred_sums(xt, n_rows, means[k], r, sx_part[c, k])
        # The pooled scatter: sum_k r_bk = w_b, so one scatter of all rows
        # replaces n_components per-component ones.
        # np.bool_: see em_pass_full_components.
        _block_scatter(n_rows, rdev, dev, sxx_part[c], zero, np.bool_(False))


# A component's moments are summed over the rows of nonzero responsibility
# alone (``_diag_moments_sparse``) when they are at most 1 / SPARSE_ROWS_DIVISOR
# of the block. With well separated components most responsibilities are exactly 0
# (below exp(-690) of the row's largest term, or float32's smallest normal
# number): on N=1e5, d=64, K=32, 'diag' (``fastgmm.bench`` shape c), 95 % are.
SPARSE_ROWS_DIVISOR = 4


@njit(**_JIT)
def _diag_moments_sparse(X, start, xt, n_rows, mean, r, idx, s1, s2, sx, sxx):
    """``_diag_moments`` over the rows of nonzero ``r`` only, row by row.

    The rows are visited in order and each row's features in one vectorised
    sweep (read from X where its rows are contiguous, else from the block's
    columns ``xt``), summed feature by feature into ``s1``, ``s2`` (X's
    dtype); a row of responsibility 0 adds exactly 0 to either sum.
    """
    n_features = xt.shape[0]
    n_kept = 0
    for b in range(n_rows):
        # Branch-free: the index is written either way, kept only if counted.
        idx[n_kept] = b
        n_kept += r[b] != 0.0
    for i in range(n_features):
        s1[i] = 0.0
        s2[i] = 0.0
    row_major = X.strides[1] == X.itemsize
    for p in range(n_kept):
        b = idx[p]
        rb = r[b]
        if row_major:
            for i in range(n_features):
                t = X[start + b, i] - mean[i]
                rt = rb * t
                s1[i] += rt
                s2[i] += rt * t
        else:
            for i in range(n_features):
                t = xt[i, b] - mean[i]
                rt = rb * t
                s1[i] += rt
                s2[i] += rt * t
    for i in range(n_features):
        sx[i] = s1[i]
        sxx[i] = s2[i]


@njit(**_JIT)
def _diag_moments(xt, n_rows, mean, r, sx, sxx, zero):
    """``sum_b r_b (x_bi - mean_i)`` and ``sum_b r_b (x_bi - mean_i)^2`` of a
    block's rows into ``sx``, ``sxx``, in the type of ``zero`` (X's dtype;
    blocks are summed in float64), nothing stored. Two features per sweep
    over the rows: each load of ``r[b]`` serves two products, where one
    feature per sweep was bound by the loads. Each feature's two sums are
    accumulated as in a sweep of its own."""
    n_features = xt.shape[0]
    n_two = n_features - n_features % 2
    for i in range(0, n_two, 2):
        m0 = mean[i]
        m1 = mean[i + 1]
        s1_0 = zero
        s1_1 = zero
        s2_0 = zero
        s2_1 = zero
        for b in range(n_rows):
            rb = r[b]
            t0 = xt[i, b] - m0
            t1 = xt[i + 1, b] - m1
            rt0 = rb * t0
            rt1 = rb * t1
            s1_0 += rt0
            s1_1 += rt1
            s2_0 += rt0 * t0
            s2_1 += rt1 * t1
        sx[i] = s1_0
        sx[i + 1] = s1_1
        sxx[i] = s2_0
        sxx[i + 1] = s2_1
    for i in range(n_two, n_features):
        m = mean[i]
        s1 = zero
        s2 = zero
        for b in range(n_rows):
            t = xt[i, b] - m
            rt = r[b] * t
            s1 += rt
            s2 += rt * t
        sx[i] = s1
        sxx[i] = s2


@njit(parallel=True, **_JIT)
def em_pass_diag(X, sample_weight, means, precisions_chol, const, row_start, row_stop,
                 chunk_size, hard, loglik_part, nk_part, sx_part, sxx_part):
    """One fused E-step and statistics pass, diagonal (and spherical) covariances.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    means : ndarray of shape (n_components, n_features), float64
    precisions_chol : ndarray of shape (n_components, n_features), float64
    const : ndarray of shape (n_components,), float64
    row_start, row_stop, chunk_size : int
    hard : bool
        Classification EM: 0/1 responsibilities (see the module docstring).
    loglik_part : ndarray of shape (n_blocks,), float64
    nk_part : ndarray of shape (n_blocks, n_components), float64
    sx_part : ndarray of shape (n_blocks, n_components, n_features), float64
    sxx_part : ndarray of shape (n_blocks, n_components, n_features), float64
        ``sum_b r_bk D_bi^2``.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) and writes only row c
    of each ``*_part`` array.
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_blocks = loglik_part.shape[0]
    # Scored in X's dtype; for float32 data the moments of a block (sx and
    # sxx) are summed in float32, nk in float64 (the rule: fastgmm._kernels).
    means_x = means.astype(X.dtype)
    precisions_chol_x = precisions_chol.astype(X.dtype)
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        logp = np.empty((n_components, chunk_size + ROW_PAD))
        lse = np.empty(chunk_size)
        w = np.empty(chunk_size)
        inv_total = np.empty(chunk_size)
        r = np.empty(chunk_size)
        sq = np.empty(chunk_size, X.dtype)
        rx = np.empty(chunk_size, X.dtype)
        load_block(X, start, n_rows, xt)
        _block_weights(sample_weight, start, n_rows, w)
        block_log_prob_diag(xt, n_rows, means_x, precisions_chol_x, const, logp, sq)
        loglik_part[c] = _block_posterior(logp, n_rows, hard, w, sample_weight.shape[0] == 0,
                                          lse, inv_total)
        zero = np.zeros(1, X.dtype)[0]
        idx = np.empty(chunk_size, np.int64)
        s1 = np.empty(n_features, X.dtype)
        s2 = np.empty(n_features, X.dtype)
        for k in range(n_components):
            n_kept = _block_resp_kept(logp, k, n_rows, inv_total, r, rx)
            nk = 0.0
            for b in range(n_rows):
                nk += r[b]
            nk_part[c, k] = nk
            if SPARSE_ROWS_DIVISOR * n_kept <= n_rows:
                # Most rows have responsibility 0 (well separated components):
                # their terms are 0, so only the others are summed.
                _diag_moments_sparse(X, start, xt, n_rows, means_x[k], rx, idx, s1, s2,
                                     sx_part[c, k], sxx_part[c, k])
            else:
                _diag_moments(xt, n_rows, means_x[k], rx, sx_part[c, k], sxx_part[c, k], zero)


def stats_sweep(n_features, dtype):
    """How the unrolled kernels of ``n_features`` features of ``dtype`` take
    each component's statistics of a block: ``"float64"``, in one sweep
    over its rows, every sum in float64, nothing stored per row
    (``unrolled_block_stats``); ``"scatter"``, the responsibilities
    stored, then one sweep per ``ONE_SWEEP_TILE`` x ``ONE_SWEEP_TILE``
    tile, D and r D formed in registers, sx and the scatter summed in X's
    dtype, nk in float64 (``tiled_block_stats``); None: the
    responsibilities, D and r D stored, then the scatter tiles
    (``_component_stats``). The thresholds:
    ``_config.ONE_SWEEP_STATS_MAX_FEATURES`` and
    ``_config.SCATTER_SWEEP_MAX_FEATURES``."""
    name = np.dtype(dtype).name
    if n_features <= ONE_SWEEP_STATS_MAX_FEATURES[name]:
        return "float64"
    if n_features <= SCATTER_SWEEP_MAX_FEATURES[name]:
        return "scatter"
    return None


def _sweep_source(n_features, stored):
    """The source of ``unrolled_block_stats(n_features)`` or, with
    ``stored``, of ``tiled_block_stats(n_features)``: one loop over the
    block's rows for ``unrolled_block_stats`` (a few features, see
    ``_config.ONE_SWEEP_STATS_MAX_FEATURES``), one per tile of
    ``ONE_SWEEP_TILE`` by ``ONE_SWEEP_TILE`` entries of the triangle for
    ``tiled_block_stats``; nk summed in the first tile and sx in the tiles
    on the diagonal. ``unrolled_block_stats`` forms each row's
    responsibility from ``e`` and ``inv_total`` and sums everything in
    float64; ``tiled_block_stats`` reads the stored responsibilities ``r``
    and sums sx and the scatter in the type of ``zero`` (nk in float64)."""
    d = n_features
    tile = ONE_SWEEP_TILE if stored else d
    groups = [list(range(start, min(start + tile, d))) for start in range(0, d, tile)]
    if stored:
        name = f"tiled_block_stats_{d}"
        lines = [f"def {name}(xt, n_rows, mean, r, zero, sx, sxx, accumulate):"]
    else:
        name = f"unrolled_block_stats_{d}"
        lines = [f"def {name}(xt, n_rows, mean, e, inv_total, sx, sxx, accumulate):"]
    start = "zero" if stored else "0.0"
    lines += [f"    m{i} = mean[{i}]" for i in range(d)]
    lines.append("    nk = 0.0")
    for g, rows in enumerate(groups):
        for h in range(g, len(groups)):
            cols = groups[h]
            first_moments = g == h
            pairs = [(i, j) for i in rows for j in cols if j >= i]
            if first_moments:
                lines += [f"    s{i} = {start}" for i in rows]
            lines += [f"    s{i}_{j} = {start}" for i, j in pairs]
            lines.append("    for b in range(n_rows):")
            lines.append("        rb = r[b]" if stored else "        rb = e[b] * inv_total[b]")
            if first_moments and g == 0:
                lines.append("        nk += rb")
            lines += [f"        t{i} = xt[{i}, b] - m{i}" for i in sorted(set(rows) | set(cols))]
            for i in rows:
                lines.append(f"        rt{i} = rb * t{i}")
                if first_moments:
                    lines.append(f"        s{i} += rt{i}")
            lines += [f"        s{i}_{j} += rt{i} * t{j}" for i, j in pairs]
            if first_moments:
                lines += [f"    sx[{i}] = s{i}" for i in rows]
            lines.append("    if accumulate:")
            lines += [f"        sxx[{i}, {j}] += s{i}_{j}" for i, j in pairs]
            lines.append("    else:")
            lines += [f"        sxx[{i}, {j}] = s{i}_{j}" for i, j in pairs]
    lines.append("    return nk")
    return name, "\n".join(lines) + "\n"


@cached_factory
def unrolled_block_stats(n_features):
    """One component's statistics of a block for ``n_features`` features,
    written out: ``unrolled_block_stats(n_features)(xt, n_rows, mean, e,
    inv_total, sx, sxx, accumulate)`` returns nk and writes sx and the
    scatter's upper triangle (added to ``sxx`` with ``accumulate``), with
    ``e`` the component's unnormalised responsibilities and ``inv_total``
    each row's weight over their sum (``_block_loglik``).

    nk, sx and the scatter's upper triangle of one component in one sweep
    over the block's rows (for the few features of
    ``_config.ONE_SWEEP_STATS_MAX_FEATURES``, whose sums fit the vector
    registers): the responsibility, the deviations and
    their products are formed in registers and every sum is a float64
    register, so nothing is stored per row. Generated per number of
    features (see ``generated_function``); two features use it too
    (``_block_stats_2d``).
    """
    name, source = _sweep_source(n_features, stored=False)
    return generated_function(
        source, name, __name__,
        f"One component's statistics of a block, {n_features} features (generated).",
        **_JIT)


@cached_factory
def tiled_block_stats(n_features):
    """One component's statistics of a block for ``n_features`` features
    from its stored responsibilities, written out:
    ``tiled_block_stats(n_features)(xt, n_rows, mean, r, zero, sx, sxx,
    accumulate)`` returns nk (a float64 sum), writes sx and the upper
    triangle of the scatter ``sum_b r_b D_b D_b^T`` (``D_b = x_b - mean``;
    added to ``sxx`` with ``accumulate``), both summed in the type of
    ``zero``, from the responsibilities ``r`` (times the sample weights, as
    ``_block_resp`` stores them).

    One sweep over the block's rows per ``ONE_SWEEP_TILE`` x
    ``ONE_SWEEP_TILE`` tile of the triangle: the deviations and their
    products with r are formed in registers, as in ``unrolled_block_stats``,
    but sx and the scatter are summed in X's dtype (float32 sums fill twice
    the lanes of float64 ones: the rule of ``fastgmm._kernels``) and a
    row's responsibility is read, not formed. Generated per number of
    features (see ``generated_function``).
    """
    name, source = _sweep_source(n_features, stored=True)
    return generated_function(
        source, name, __name__,
        f"One component's statistics of a block, {n_features} features, from its "
        "stored responsibilities (generated).",
        **_JIT)


# Passes of a single block (small data) skip the thread pool; see ``serial_twin``.
em_pass_full_serial = serial_twin(em_pass_full, **_JIT)
em_pass_tied_serial = serial_twin(em_pass_tied, **_JIT)
em_pass_diag_serial = serial_twin(em_pass_diag, **_JIT)

# 'full' with the uncentred product (see logprob.centred_product): the same
# kernels, calling the uncentred log-densities (see kernel_variant).
em_pass_full_uncentred = kernel_variant(
    em_pass_full, "_uncentred", {"block_log_prob_full": block_log_prob_full_uncentred},
    parallel=True, **_JIT)
em_pass_full_uncentred_serial = serial_twin(em_pass_full_uncentred, **_JIT)
em_pass_full_components_uncentred = kernel_variant(
    em_pass_full_components, "_uncentred",
    {"block_log_prob_full_one": block_log_prob_full_one_uncentred}, parallel=True, **_JIT)
# Two features: one sweep per component for the log-densities and for the
# statistics (the written-out statistics of two features, which
# _component_stats_sweep calls), no triangular tiles (a fit on two features
# compiles only these).
_block_stats_2d = unrolled_block_stats(2)
_block_full_stats_2d = kernel_variant(_block_full_stats, "_2d",
                                      {"_component_stats": _component_stats_sweep}, **_JIT)
em_pass_full_2d = kernel_variant(
    em_pass_full, "_2d", {"block_log_prob_full": block_log_prob_full_2d,
                          "_block_full_stats": _block_full_stats_2d},
    parallel=True, **_JIT)
em_pass_full_2d_serial = serial_twin(em_pass_full_2d, **_JIT)


@cached_factory
def unrolled_full_kernels(n_features, sweep):
    """``((em_pass_full, its serial twin), em_pass_full_components)`` with the
    straight-line product of ``n_features`` features
    (``logprob.unrolled_squared_norm``; the rule: ``logprob.unrolled_product``)
    and each component's statistics as ``sweep`` says (a value of
    ``stats_sweep``, the rule): ``"float64"``, one sweep
    (``unrolled_block_stats``), ``"scatter"``, the tiled statistics
    (``tiled_block_stats``), None, the stored rows and tiles; in the
    accumulating pass as in the others."""
    suffix = f"_unrolled{n_features}"
    one, block, _ = unrolled_log_prob_kernels(n_features)
    em_replace = {"block_log_prob_full": block}
    components_replace = {"block_log_prob_full_one": one}
    if sweep is not None:
        if sweep == "float64":
            suffix_sweep = suffix + "_sweep"
            component = kernel_variant(
                _component_stats_sweep, suffix,
                {"_block_stats_2d": unrolled_block_stats(n_features)}, **_JIT)
        elif sweep == "scatter":
            suffix_sweep = suffix + "_scatter"
            component = kernel_variant(
                _component_stats_scatter, suffix,
                {"_tiled_stats": tiled_block_stats(n_features)}, **_JIT)
        else:
            raise ValueError(f"unknown statistics sweep {sweep!r}")
        em_replace["_block_full_stats"] = kernel_variant(
            _block_full_stats, suffix_sweep, {"_component_stats": component}, **_JIT)
        components_replace["_component_stats"] = component
        suffix = suffix_sweep
    em = kernel_variant(em_pass_full, suffix, em_replace, parallel=True, **_JIT)
    components = kernel_variant(em_pass_full_components, suffix, components_replace,
                                parallel=True, **_JIT)
    return (em, serial_twin(em, **_JIT)), components
