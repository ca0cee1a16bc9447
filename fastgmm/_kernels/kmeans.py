"""k-means kernels: the fused Lloyd pass and the k-means++ seeding passes.

Every kernel runs over the rows [row_start, row_stop) of X in blocks of
``chunk_size`` rows: block c reads rows
[row_start + c * chunk_size, min(row_start + (c + 1) * chunk_size, row_stop))
and writes only those rows of per-row outputs (``labels``,
``closest_dist_sq``) and only row c of each ``*_part`` array. Block
boundaries never depend on the thread count and the driver
(``fastgmm.kmeans``) sums the parts in a fixed order, so results are
bit-identical for any number of threads.

The Lloyd pass copies a block, transposed and upcast, into a
(n_features, chunk_size) float64 scratch array so that its inner loops run
over the block's points and vectorise, whatever the (often small) number of
features; each pass over the block gives the distances to four centres (a
register tile of four centres by two features: X is loaded once per four
centres). ``lloyd_pass_bounded`` is the same pass with Hamerly's distance
bounds: only the rows whose nearest centre may have changed are compared
with every centre, with the same arithmetic, so with the same labels.
The k-means++ passes compare only a few centres with every row,
for which the transposed copy would cost more than the distances: they work
row by row, four centres at a time, the loop over the features vectorised;
with one or two features, whose loop is too short to vectorise, one
candidate at a time, the loop over the rows vectorised (unsigned row
indices: numba's wraparound of a signed index keeps such a loop scalar).
They are memory-bound, so unit weights are passed as an empty array and
not read. The k-means++ draw (``lower_and_search_cumsum``) is serial and
compiled without fastmath: its cumulative sum adds in order, as
``np.cumsum``, so that the draws land where scikit-learn's do.
Squared distances are taken as sum_j (x_j - c_j)^2, never as
||x||^2 - 2 x.c + ||c||^2, which cancels for points near a centre; no
N x K distance matrix is ever built. X is read in its own dtype (float32 or
float64); centres and all accumulators are float64.
"""

import numpy as np
from numba import njit, prange

from . import EXACT_JIT, FAST_JIT, kernel_variant, serial_twin
from ._inline import _bits_to_float64, float64_bits
from .logprob import ROW_PAD

_JIT = FAST_JIT

# From this many features on, a block is copied into its transposed scratch
# row by row (see ``_load_block``).
ROWWISE_LOAD_MIN_FEATURES = 8


@njit(**_JIT)
def _load_block(X, start, n_rows, xt):
    """Copy rows [start, start + n_rows) of X into the columns of ``xt``, upcast.

    Wide rows (more than ``ROWWISE_LOAD_MIN_FEATURES`` features) are copied
    row by row: each row of X is read once, contiguously, and the writes of
    a row go to one column of ``xt``, whose lines stay in cache for the next
    rows; copying feature by feature reads every line of the block once per
    feature (1e5 x 64 on one thread: 15 against 31 ms). Narrow rows are
    copied feature by feature, which vectorises the writes (1e6 x 2: a
    Lloyd pass 24 ms against 42 ms row by row).
    """
    n_features = X.shape[1]
    if n_features >= ROWWISE_LOAD_MIN_FEATURES:
        for b in range(n_rows):
            for j in range(n_features):
                xt[j, b] = X[start + b, j]
    else:
        for j in range(n_features):
            for b in range(n_rows):
                xt[j, b] = X[start + b, j]


# Centres per register tile of the distance helpers: each pass over a block
# updates the distances to this many centres from the same loads of X.
CENTER_TILE = 4


@njit(**_JIT)
def _block_sq_dist(xt, n_rows, center, dist):
    """Squared distances of the block's points to one centre, into ``dist[:n_rows]``.

    Features are taken two at a time (one load and one store of ``dist`` per
    pair of features); the sum still runs over the features in order.

    Parameters
    ----------
    xt : ndarray of shape (n_features, >= n_rows), float64
        The block, transposed; columns [0, n_rows) are used.
    n_rows : int
    center : ndarray of shape (n_features,), float64
    dist : ndarray of shape (chunk_size,), float64
        Output.
    """
    n_features = xt.shape[0]
    c0 = center[0]
    row = xt[0]
    if n_features == 1:
        for b in range(n_rows):
            t = row[b] - c0
            dist[b] = t * t
        return
    c1 = center[1]
    r1 = xt[1]
    for b in range(n_rows):
        t0 = row[b] - c0
        t1 = r1[b] - c1
        dist[b] = t0 * t0 + t1 * t1
    j = 2
    while j + 2 <= n_features:
        c0 = center[j]
        c1 = center[j + 1]
        r0 = xt[j]
        r1 = xt[j + 1]
        for b in range(n_rows):
            t0 = r0[b] - c0
            t1 = r1[b] - c1
            acc = dist[b] + t0 * t0
            dist[b] = acc + t1 * t1
        j += 2
    if j < n_features:
        c0 = center[j]
        row = xt[j]
        for b in range(n_rows):
            t = row[b] - c0
            dist[b] += t * t


@njit(**_JIT)
def _block_sq_dist_tile(xt, n_rows, centers, k, dist):
    """Squared distances of the block's points to ``CENTER_TILE`` (4) centres.

    ``dist[q, b] = ||x_b - centers[k + q]||^2`` for q = 0..3: every pass over
    the block reads two features of each point once and updates the four
    distances (a 4 x 2 register tile), instead of one load of X per centre
    and feature. Each distance is still summed over the features in order,
    exactly as :func:`_block_sq_dist` does.

    Parameters
    ----------
    xt : ndarray of shape (n_features, >= n_rows), float64
        The block, transposed; columns [0, n_rows) are used.
    n_rows : int
    centers : ndarray of shape (n_centers, n_features), float64
        Rows k .. k + 3 are used.
    k : int
    dist : ndarray of shape (4, chunk_size), float64
        Output.
    """
    n_features = xt.shape[0]
    d0 = dist[0]
    d1 = dist[1]
    d2 = dist[2]
    d3 = dist[3]
    a0 = centers[k, 0]
    a1 = centers[k + 1, 0]
    a2 = centers[k + 2, 0]
    a3 = centers[k + 3, 0]
    row = xt[0]
    if n_features == 1:
        for b in range(n_rows):
            x = row[b]
            t0 = x - a0
            t1 = x - a1
            t2 = x - a2
            t3 = x - a3
            d0[b] = t0 * t0
            d1[b] = t1 * t1
            d2[b] = t2 * t2
            d3[b] = t3 * t3
        return
    e0 = centers[k, 1]
    e1 = centers[k + 1, 1]
    e2 = centers[k + 2, 1]
    e3 = centers[k + 3, 1]
    r1 = xt[1]
    for b in range(n_rows):
        x = row[b]
        y = r1[b]
        t0 = x - a0
        t1 = x - a1
        t2 = x - a2
        t3 = x - a3
        u0 = y - e0
        u1 = y - e1
        u2 = y - e2
        u3 = y - e3
        d0[b] = t0 * t0 + u0 * u0
        d1[b] = t1 * t1 + u1 * u1
        d2[b] = t2 * t2 + u2 * u2
        d3[b] = t3 * t3 + u3 * u3
    j = 2
    while j + 2 <= n_features:
        a0 = centers[k, j]
        a1 = centers[k + 1, j]
        a2 = centers[k + 2, j]
        a3 = centers[k + 3, j]
        e0 = centers[k, j + 1]
        e1 = centers[k + 1, j + 1]
        e2 = centers[k + 2, j + 1]
        e3 = centers[k + 3, j + 1]
        r0 = xt[j]
        r1 = xt[j + 1]
        for b in range(n_rows):
            x = r0[b]
            y = r1[b]
            t0 = x - a0
            t1 = x - a1
            t2 = x - a2
            t3 = x - a3
            u0 = y - e0
            u1 = y - e1
            u2 = y - e2
            u3 = y - e3
            s0 = d0[b] + t0 * t0
            s1 = d1[b] + t1 * t1
            s2 = d2[b] + t2 * t2
            s3 = d3[b] + t3 * t3
            d0[b] = s0 + u0 * u0
            d1[b] = s1 + u1 * u1
            d2[b] = s2 + u2 * u2
            d3[b] = s3 + u3 * u3
        j += 2
    if j < n_features:
        a0 = centers[k, j]
        a1 = centers[k + 1, j]
        a2 = centers[k + 2, j]
        a3 = centers[k + 3, j]
        row = xt[j]
        for b in range(n_rows):
            x = row[b]
            t0 = x - a0
            t1 = x - a1
            t2 = x - a2
            t3 = x - a3
            d0[b] += t0 * t0
            d1[b] += t1 * t1
            d2[b] += t2 * t2
            d3[b] += t3 * t3


@njit(**_JIT)
def _block_nearest(xt, n_rows, centers, dist, best, lab):
    """Nearest centre of each point of a block (the first one on ties, as argmin).

    Parameters
    ----------
    xt : ndarray of shape (n_features, >= n_rows), float64
        The block, transposed; columns [0, n_rows) are used.
    n_rows : int
    centers : ndarray of shape (n_clusters, n_features), float64
    dist : ndarray of shape (CENTER_TILE, chunk_size), float64
        Scratch.
    best : ndarray of shape (chunk_size,), float64
        Output: squared distance to the nearest centre.
    lab : ndarray of shape (chunk_size,), int32
        Output: index of the nearest centre.
    """
    n_clusters = centers.shape[0]
    for b in range(n_rows):
        best[b] = np.inf
        lab[b] = 0
    k = np.int64(0)  # not a literal 0: see logprob._tri_columns
    while k + CENTER_TILE <= n_clusters:
        _block_sq_dist_tile(xt, n_rows, centers, k, dist)
        d0 = dist[0]
        d1 = dist[1]
        d2 = dist[2]
        d3 = dist[3]
        k0 = np.int32(k)
        k1 = np.int32(k + 1)
        k2 = np.int32(k + 2)
        k3 = np.int32(k + 3)
        for b in range(n_rows):
            # Branch-free selects, in centre order, so that the loop
            # vectorises; strict < keeps the first of equidistant centres.
            v = best[b]
            lb = lab[b]
            c = d0[b] < v
            v = d0[b] if c else v
            lb = k0 if c else lb
            c = d1[b] < v
            v = d1[b] if c else v
            lb = k1 if c else lb
            c = d2[b] < v
            v = d2[b] if c else v
            lb = k2 if c else lb
            c = d3[b] < v
            v = d3[b] if c else v
            lb = k3 if c else lb
            best[b] = v
            lab[b] = lb
        k += CENTER_TILE
    d0 = dist[0]
    while k < n_clusters:
        _block_sq_dist(xt, n_rows, centers[k], d0)
        kk = np.int32(k)
        for b in range(n_rows):
            c = d0[b] < best[b]
            best[b] = d0[b] if c else best[b]
            lab[b] = kk if c else lab[b]
        k += 1


@njit(parallel=True, **_JIT)
def lloyd_pass(X, sample_weight, centers, row_start, row_stop, chunk_size,
               labels, sums_part, weight_part, inertia_part, changed_part):
    """One fused Lloyd pass: assignment to the nearest centre and the M-step sums.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,), same dtype as X
    centers : ndarray of shape (n_clusters, n_features), float64, C-contiguous
        The current centres.
    row_start, row_stop : int
        The rows of X this call covers.
    chunk_size : int
        Rows per block.
    labels : ndarray of shape (n_samples,), int32
        In: the previous labels (any value, e.g. -1, before the first pass).
        Out: index of the nearest centre of every row in [row_start, row_stop).
    sums_part : ndarray of shape (n_blocks, n_clusters, n_features), float64
        Out: ``sums_part[c, k] = sum of w_i x_i`` over the rows of block c
        assigned to centre k.
    weight_part : ndarray of shape (n_blocks, n_clusters), float64
        Out: ``weight_part[c, k] = sum of w_i`` over the same rows.
    inertia_part : ndarray of shape (n_blocks,), float64
        Out: ``sum of w_i ||x_i - centers[labels_i]||^2`` over block c.
    changed_part : ndarray of shape (n_blocks,), int64
        Out: the number of rows of block c whose label changed.

    Notes
    -----
    ``n_blocks = ceil((row_stop - row_start) / chunk_size)`` must equal
    ``inertia_part.shape[0]``. Block c reads rows
    [row_start + c * chunk_size, ...) of X and ``sample_weight``, writes those
    rows of ``labels`` and only row c of ``sums_part``, ``weight_part``,
    ``inertia_part`` and ``changed_part``.
    """
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    n_blocks = inertia_part.shape[0]
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD))
        dist = np.empty((CENTER_TILE, chunk_size + ROW_PAD))
        best = np.empty(chunk_size)
        lab = np.empty(chunk_size, dtype=np.int32)
        _load_block(X, start, n_rows, xt)
        _block_nearest(xt, n_rows, centers, dist, best, lab)

        sums = np.zeros((n_clusters, n_features))
        weights = np.zeros(n_clusters)
        inertia = 0.0
        n_changed = 0
        for b in range(n_rows):
            k = lab[b]
            w = np.float64(sample_weight[start + b])
            weights[k] += w
            inertia += w * best[b]
            # One row of X at a time, into a column of xt.
            for j in range(n_features):
                sums[k, j] += w * X[start + b, j]
            if labels[start + b] != k:
                n_changed += 1
                labels[start + b] = k
        for k in range(n_clusters):
            weight_part[c, k] = weights[k]
            for j in range(n_features):
                sums_part[c, k, j] = sums[k, j]
        inertia_part[c] = inertia
        changed_part[c] = n_changed


# Relative safety margin of the distance bounds of ``lloyd_pass_bounded``:
# every upper bound is inflated, and every lower bound deflated, by this
# factor at each update, and a row is skipped only if its upper bound,
# inflated once more, is below its lower bound. It covers, many times over,
# the rounding of the squared distances (a relative error below
# (n_features + 3) * 2**-53 for a sum of squares), of their square roots and
# of the bound updates, so that a skipped row's label is the one the full
# comparison of rounded distances would give.
BOUND_MARGIN = 1e-9


@njit(**_JIT)
def _block_nearest_two(xt, n_rows, centers, dist, best, second, lab):
    """:func:`_block_nearest`, and the squared distance to the second nearest centre.

    ``best`` and ``lab`` are bit for bit those of :func:`_block_nearest`
    (same distances, same selects in centre order); ``second[b]`` is the
    smallest squared distance to a centre other than ``lab[b]`` (``inf``
    with one centre).
    """
    n_clusters = centers.shape[0]
    for b in range(n_rows):
        best[b] = np.inf
        second[b] = np.inf
        lab[b] = 0
    k = np.int64(0)
    while k + CENTER_TILE <= n_clusters:
        _block_sq_dist_tile(xt, n_rows, centers, k, dist)
        d0 = dist[0]
        d1 = dist[1]
        d2 = dist[2]
        d3 = dist[3]
        k0 = np.int32(k)
        k1 = np.int32(k + 1)
        k2 = np.int32(k + 2)
        k3 = np.int32(k + 3)
        for b in range(n_rows):
            # As _block_nearest; the old nearest becomes the second when a
            # centre is strictly nearer (s >= v throughout).
            v = best[b]
            s = second[b]
            lb = lab[b]
            x = d0[b]
            c = x < v
            s = v if c else min(s, x)
            v = x if c else v
            lb = k0 if c else lb
            x = d1[b]
            c = x < v
            s = v if c else min(s, x)
            v = x if c else v
            lb = k1 if c else lb
            x = d2[b]
            c = x < v
            s = v if c else min(s, x)
            v = x if c else v
            lb = k2 if c else lb
            x = d3[b]
            c = x < v
            s = v if c else min(s, x)
            v = x if c else v
            lb = k3 if c else lb
            best[b] = v
            second[b] = s
            lab[b] = lb
        k += CENTER_TILE
    d0 = dist[0]
    while k < n_clusters:
        _block_sq_dist(xt, n_rows, centers[k], d0)
        kk = np.int32(k)
        for b in range(n_rows):
            v = best[b]
            x = d0[b]
            c = x < v
            second[b] = v if c else min(second[b], x)
            best[b] = x if c else v
            lab[b] = kk if c else lab[b]
        k += 1


@njit(**_JIT)
def _lloyd_block_bounded(X, sample_weight, centers, shift, half_sep, start, n_rows,
                         chunk_size, first, reuse_sums, with_inertia, max_shift,
                         max_center, max_shift2, labels, upper, lower, sums_out,
                         weight_out):
    """One block of :func:`lloyd_pass_bounded` (rows [start, start + n_rows)),
    a function of its own so that the parallel kernel and its serial twin
    share its compiled code; writes ``sums_out`` and ``weight_out`` (the
    block's rows of the parts) unless they are kept, and returns (inertia,
    n_changed)."""
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    grow = 1.0 + BOUND_MARGIN
    shrink = 1.0 - BOUND_MARGIN
    xt = np.empty((n_features, chunk_size + ROW_PAD))
    dist = np.empty((CENTER_TILE, chunk_size + ROW_PAD))
    lab = np.empty(chunk_size, dtype=np.int32)
    todo = np.empty(chunk_size, dtype=np.intp)
    todo_best = np.empty(chunk_size)
    todo_second = np.empty(chunk_size)
    todo_lab = np.empty(chunk_size, dtype=np.int32)
    if first:
        _load_block(X, start, n_rows, xt)
        for b in range(n_rows):
            todo[b] = b
        n_todo = n_rows
    else:
        # Move the bounds; a row they cannot settle has its upper bound
        # tightened, then, if still unsettled, is copied into column
        # n_todo of xt for the full comparison.
        n_todo = 0
        for b in range(n_rows):
            i = start + b
            a = labels[i]
            lab[b] = a
            u = (upper[i] + shift[a]) * grow
            low = lower[i] - (max_shift2 if a == max_center else max_shift)
            low = low * shrink if low > 0.0 else 0.0
            bound = max(low, half_sep[a])
            lower[i] = low
            if u * grow < bound:
                upper[i] = u
                continue
            u = np.sqrt(_row_sq_dist(X[i], centers[a])) * grow
            upper[i] = u
            if u * grow < bound:
                continue
            for j in range(n_features):
                xt[j, n_todo] = X[i, j]
            todo[n_todo] = b
            n_todo += 1
    _block_nearest_two(xt, n_todo, centers, dist, todo_best, todo_second, todo_lab)
    for r in range(n_todo):
        b = todo[r]
        i = start + b
        lab[b] = todo_lab[r]
        upper[i] = np.sqrt(todo_best[r]) * grow
        lower[i] = np.sqrt(todo_second[r]) * shrink

    n_changed = 0
    for b in range(n_rows):
        if labels[start + b] != lab[b]:
            n_changed += 1
            labels[start + b] = lab[b]
    if first or n_changed > 0 or not reuse_sums:
        # The loop of lloyd_pass, so the same sums bit for bit.
        sums = np.zeros((n_clusters, n_features))
        weights = np.zeros(n_clusters)
        for b in range(n_rows):
            k = lab[b]
            w = np.float64(sample_weight[start + b])
            weights[k] += w
            for j in range(n_features):
                sums[k, j] += w * X[start + b, j]
        for k in range(n_clusters):
            weight_out[k] = weights[k]
            for j in range(n_features):
                sums_out[k, j] = sums[k, j]
    inertia = np.nan
    if with_inertia:
        inertia = 0.0
        for b in range(n_rows):
            i = start + b
            inertia += (np.float64(sample_weight[i])
                        * _row_sq_dist(X[i], centers[lab[b]]))
    return inertia, n_changed


@njit(parallel=True, **_JIT)
def lloyd_pass_bounded(X, sample_weight, centers, shift, half_sep, row_start, row_stop,
                       chunk_size, reuse_sums, with_inertia, labels, upper, lower,
                       sums_part, weight_part, inertia_part, changed_part):
    """:func:`lloyd_pass` with Hamerly's bounds: rows whose nearest centre
    cannot have changed are not compared with every centre.

    Every row keeps an upper bound ``upper[i]`` on its distance (not
    squared) to its centre ``labels[i]`` and a lower bound ``lower[i]`` on its
    distance to every other centre. At the start of a pass they are moved by
    the centres' shifts since the previous pass (``upper += shift[label]``,
    ``lower -= the largest shift of another centre``); a row whose upper
    bound is below ``max(lower, half_sep[label])`` keeps its label. Otherwise
    its distance to its centre is computed and the upper bound tightened; if
    the test still fails, the row is compared with every centre exactly as
    in :func:`lloyd_pass` (the comparison also gives the second nearest, for
    the lower bound). Bounds are widened by ``BOUND_MARGIN`` at each step, so
    a skipped row keeps exactly the label the full comparison gives: labels,
    sums, weights and changes are bit for bit those of :func:`lloyd_pass`.
    With ``reuse_sums``, a block none of whose labels changed keeps its rows
    of ``sums_part`` and ``weight_part`` from the previous pass (the same
    labels, so the same sums, bit for bit): late passes, where few labels
    change, then read only the rows their bounds do not settle.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,), same dtype as X
    centers : ndarray of shape (n_clusters, n_features), float64, C-contiguous
        The current centres.
    shift : ndarray of shape (n_clusters,) or (0,), float64
        Upper bounds on the distance of each centre to its value in the
        previous pass. Empty: the first pass, every row is compared with
        every centre and ``labels``, ``upper`` and ``lower`` are only written.
    half_sep : ndarray of shape (n_clusters,), float64
        Lower bounds on half the distance of each centre to the nearest other
        one (``inf`` with one centre).
    row_start, row_stop, chunk_size : int
        As in :func:`lloyd_pass`.
    reuse_sums : bool
        Whether ``sums_part`` and ``weight_part`` hold, for every block, the
        previous pass's sums over the same rows (ignored in the first pass).
    with_inertia : bool
        Whether to compute the inertia (every row of X is then read).
    labels : ndarray of shape (n_samples,), int32
        In/out: the labels of the previous pass (ignored in the first pass).
    upper, lower : ndarray of shape (n_samples,), float64
        In/out: the bounds.
    sums_part, weight_part : ndarray of shape (n_blocks, n_clusters, n_features) and (n_blocks, n_clusters), float64
        Out (or left as they are, see ``reuse_sums``): as in :func:`lloyd_pass`.
    inertia_part : ndarray of shape (n_blocks,), float64
        Out: with ``with_inertia``, as in :func:`lloyd_pass` but each squared
        distance summed row by row (its features in any order), so equal to
        it up to rounding; NaN otherwise.
    changed_part : ndarray of shape (n_blocks,), int64
        Out: as in :func:`lloyd_pass`.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X and
    ``sample_weight``, reads and writes those rows of ``labels``, ``upper``
    and ``lower``, and writes only row c of ``sums_part``, ``weight_part``,
    ``inertia_part`` and ``changed_part``.
    """
    n_blocks = inertia_part.shape[0]
    first = shift.shape[0] == 0
    # The largest shift, its centre, and the second largest.
    max_shift = 0.0
    max_center = -1
    max_shift2 = 0.0
    for k in range(shift.shape[0]):
        if shift[k] > max_shift:
            max_shift2 = max_shift
            max_shift = shift[k]
            max_center = k
        elif shift[k] > max_shift2:
            max_shift2 = shift[k]
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        inertia, n_changed = _lloyd_block_bounded(
            X, sample_weight, centers, shift, half_sep, start, n_rows, chunk_size, first,
            reuse_sums, with_inertia, max_shift, max_center, max_shift2, labels, upper,
            lower, sums_part[c], weight_part[c])
        inertia_part[c] = inertia
        changed_part[c] = n_changed


# The two row distances below are inlined into the row loops that call them
# (Numba's inline="always"): as calls, every row paid a call with its arrays
# passed field by field and a view of the row built for it, which cost
# k-means++'s candidate pass a third of its time at d = 16.
@njit(inline="always", **_JIT)
def _row_sq_dist_tile(x, centers, k):
    """Squared distances of one row ``x`` to the ``CENTER_TILE`` (4) centres
    ``centers[k:k + 4]``, as a tuple.

    The loop runs over the features, four sums at once (it vectorises with
    four vector accumulators): each element of ``x`` is read once for the
    four centres.
    """
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    c0 = centers[k]
    c1 = centers[k + 1]
    c2 = centers[k + 2]
    c3 = centers[k + 3]
    for j in range(x.shape[0]):
        v = np.float64(x[j])
        t0 = v - c0[j]
        t1 = v - c1[j]
        t2 = v - c2[j]
        t3 = v - c3[j]
        a0 += t0 * t0
        a1 += t1 * t1
        a2 += t2 * t2
        a3 += t3 * t3
    return a0, a1, a2, a3


@njit(inline="always", **_JIT)
def _row_sq_dist(x, center):
    """Squared distance of one row ``x`` to ``center``."""
    a = 0.0
    for j in range(x.shape[0]):
        t = np.float64(x[j]) - center[j]
        a += t * t
    return a


@njit(parallel=True, **_JIT)
def update_closest_sq_dist(X, sample_weight, centers, row_start, row_stop,
                           chunk_size, closest_dist_sq, pot_part):
    """Lower ``closest_dist_sq`` to the squared distances to new centres.

    ``closest_dist_sq[i] = min(closest_dist_sq[i], min_k ||x_i - centers[k]||^2)``;
    started from ``inf`` it gives the squared distance of every point to its
    closest centre among ``centers``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), same dtype as X
        Empty: every weight is 1 (and is not read).
    centers : ndarray of shape (n_centers, n_features), float64, C-contiguous
    row_start, row_stop : int
    chunk_size : int
    closest_dist_sq : ndarray of shape (n_samples,), float64
        In/out.
    pot_part : ndarray of shape (n_blocks,), float64
        Out: ``sum of w_i closest_dist_sq[i]`` (after the update) over block c.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X, writes those rows
    of ``closest_dist_sq`` and only ``pot_part[c]``. The seeding passes
    compare a few centres with every row: they work row by row (no
    transposed copy of the block, which would cost more than the distances),
    four centres at a time.
    """
    n_blocks = pot_part.shape[0]
    n_centers = centers.shape[0]
    unit = sample_weight.shape[0] == 0
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        pot = 0.0
        for i in range(start, start + n_rows):
            x = X[i]
            best = closest_dist_sq[i]
            k = np.int64(0)
            while k + CENTER_TILE <= n_centers:
                d0, d1, d2, d3 = _row_sq_dist_tile(x, centers, k)
                best = min(min(min(min(best, d0), d1), d2), d3)
                k += CENTER_TILE
            while k < n_centers:
                best = min(best, _row_sq_dist(x, centers[k]))
                k += 1
            closest_dist_sq[i] = best
            pot += best if unit else np.float64(sample_weight[i]) * best
        pot_part[c] = pot


@njit(**_JIT)
def _narrow_potential(X, sample_weight, closest_dist_sq, candidate, start, n_rows):
    """``sum_b w_b min(closest_dist_sq[b], ||x_b - candidate||^2)`` over the
    ``n_rows`` rows of X from ``start``, X of one or two features.

    One loop over the rows per case, free of branches and of stores, so that
    it vectorises (a store to a scratch array of distances made it scalar:
    2.5x slower).
    """
    unit = sample_weight.shape[0] == 0
    # Unsigned row indices: a signed one from an argument keeps numba's
    # negative-index wraparound in the loop, which then does not vectorise
    # (1e6 x 2, four candidates: 11 against 6 ms).
    first = np.uint64(start)
    c0 = candidate[0]
    pot = 0.0
    if X.shape[1] == 2:
        c1 = candidate[1]
        if unit:
            for b in range(n_rows):
                i = first + np.uint64(b)
                u = np.float64(X[i, 0]) - c0
                v = np.float64(X[i, 1]) - c1
                d = u * u + v * v
                closest = closest_dist_sq[i]
                pot += d if d < closest else closest
        else:
            for b in range(n_rows):
                i = first + np.uint64(b)
                u = np.float64(X[i, 0]) - c0
                v = np.float64(X[i, 1]) - c1
                d = u * u + v * v
                closest = closest_dist_sq[i]
                pot += np.float64(sample_weight[i]) * (d if d < closest else closest)
    elif unit:
        for b in range(n_rows):
            i = first + np.uint64(b)
            u = np.float64(X[i, 0]) - c0
            d = u * u
            closest = closest_dist_sq[i]
            pot += d if d < closest else closest
    else:
        for b in range(n_rows):
            i = first + np.uint64(b)
            u = np.float64(X[i, 0]) - c0
            d = u * u
            closest = closest_dist_sq[i]
            pot += np.float64(sample_weight[i]) * (d if d < closest else closest)
    return pot


@njit(parallel=True, **_JIT)
def narrow_candidate_potentials(X, sample_weight, closest_dist_sq, candidates, row_start,
                                row_stop, chunk_size, pot_part):
    """:func:`candidate_potentials` (without ``candidate_closest``) for X of
    one or two features.

    Row by row, four candidates at a time, the loop over one or two
    features is too short to vectorise; here each candidate is one loop
    over the block's rows (:func:`_narrow_potential`), which vectorises. A
    kernel apart, so that only the path a shape takes is compiled.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 1 or 2), float32 or float64, any layout
    sample_weight, closest_dist_sq, candidates, row_start, row_stop, chunk_size, pot_part
        As :func:`candidate_potentials`.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X and writes only
    row c of ``pot_part``.
    """
    for c in prange(pot_part.shape[0]):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        for t in range(candidates.shape[0]):
            pot_part[c, t] = _narrow_potential(X, sample_weight, closest_dist_sq,
                                               candidates[t], start, n_rows)


@njit(parallel=True, **_JIT)
def candidate_potentials(X, sample_weight, closest_dist_sq, candidates, row_start,
                         row_stop, chunk_size, pot_part, candidate_closest):
    """Potential of each k-means++ candidate, in one pass over X.

    The potential of candidate t is
    ``sum_i w_i min(closest_dist_sq[i], ||x_i - candidates[t]||^2)``, the
    inertia after adding it to the centres chosen so far.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), same dtype as X
        Empty: every weight is 1 (and is not read).
    closest_dist_sq : ndarray of shape (n_samples,), float64
        Squared distance of every point to its closest chosen centre.
    candidates : ndarray of shape (n_candidates, n_features), float64, C-contiguous
    row_start, row_stop : int
    chunk_size : int
    pot_part : ndarray of shape (n_blocks, n_candidates), float64
        Out: the potentials restricted to the rows of block c.
    candidate_closest : ndarray of shape (n_candidates, n_samples) or (0, 0), float64
        Out when not empty: ``min(closest_dist_sq[i], ||x_i - candidates[t]||^2)``
        in row t, so that the chosen candidate's row is the next
        ``closest_dist_sq`` without another pass over X.

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X and writes only
    row c of ``pot_part`` and those columns of ``candidate_closest``. Row by
    row, four candidates at a time, as :func:`update_closest_sq_dist` (with
    one or two features and no ``candidate_closest``, the driver calls
    :func:`narrow_candidate_potentials`).
    """
    n_blocks = pot_part.shape[0]
    n_candidates = candidates.shape[0]
    store = candidate_closest.shape[0] > 0
    unit = sample_weight.shape[0] == 0
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        pot = np.zeros(n_candidates)
        for i in range(start, start + n_rows):
            x = X[i]
            w = 1.0 if unit else np.float64(sample_weight[i])
            closest = closest_dist_sq[i]
            t = np.int64(0)
            while t + CENTER_TILE <= n_candidates:
                d0, d1, d2, d3 = _row_sq_dist_tile(x, candidates, t)
                d0 = min(closest, d0)
                d1 = min(closest, d1)
                d2 = min(closest, d2)
                d3 = min(closest, d3)
                pot[t] += w * d0
                pot[t + 1] += w * d1
                pot[t + 2] += w * d2
                pot[t + 3] += w * d3
                if store:
                    candidate_closest[t, i] = d0
                    candidate_closest[t + 1, i] = d1
                    candidate_closest[t + 2, i] = d2
                    candidate_closest[t + 3, i] = d3
                t += CENTER_TILE
            while t < n_candidates:
                d0 = min(closest, _row_sq_dist(x, candidates[t]))
                pot[t] += w * d0
                if store:
                    candidate_closest[t, i] = d0
                t += 1
        for t in range(n_candidates):
            pot_part[c, t] = pot[t]


@njit(**_JIT)
def _lower_closest_rows(X, center, closest_dist_sq, start, stop):
    """``closest_dist_sq[i] = min(closest_dist_sq[i], ||x_i - center||^2)`` for
    the rows [start, stop) (serial)."""
    if X.shape[1] <= 2:
        two = X.shape[1] == 2
        c0 = center[0]
        c1 = center[1] if two else 0.0
        first = np.uint64(start)
        for b in range(stop - start):
            # Unsigned, as in _narrow_potential.
            i = first + np.uint64(b)
            u = np.float64(X[i, 0]) - c0
            d = u * u
            if two:
                v = np.float64(X[i, 1]) - c1
                d = d + v * v
            closest = closest_dist_sq[i]
            closest_dist_sq[i] = d if d < closest else closest
        return
    for i in range(start, stop):
        d = _row_sq_dist(X[i], center)
        closest = closest_dist_sq[i]
        closest_dist_sq[i] = d if d < closest else closest


# Rows per block of the k-means++ draw's sweep (``lower_and_search_cumsum``).
SWEEP_BLOCK = 2048


# No fastmath: the cumulative sum must add in order, with every product
# rounded first, as np.cumsum(sample_weight * closest_dist_sq) does.
@njit(**EXACT_JIT)
def lower_and_search_cumsum(X, sample_weight, center, closest_dist_sq, values, cast,
                            ids):
    """Lower ``closest_dist_sq`` to a new centre, and search the values in the
    cumulative sum of ``w * closest_dist_sq`` (serial, in one sweep).

    ``ids`` receives ``np.searchsorted(np.cumsum(sample_weight *
    closest_dist_sq.astype(X.dtype)), values)``, the cumulative sum taken
    after the update: the products and the sum are in the dtype of X, added
    in order, so every sum is the one ``np.cumsum`` gives, and so is every
    index. The sweep stops summing once every value is found; the rows after
    it are only lowered. Rows are lowered ``SWEEP_BLOCK`` at a time, then
    summed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), same dtype as X
        Empty: every weight is 1 (and is not read).
    center : ndarray of shape (n_features,) or (0,), float64
        The new centre; empty: ``closest_dist_sq`` is only read.
    closest_dist_sq : ndarray of shape (n_samples,), float64
        In/out: lowered to the squared distances to ``center``.
    values : ndarray of shape (n_values,), float64
    cast : ndarray of shape (1,), same dtype as X
        Scratch (its dtype is the dtype of the sums).
    ids : ndarray of shape (n_values,), intp
        Out: for each value, the first index whose cumulative sum is >= it;
        ``n_samples`` if none is.
    """
    n_samples = closest_dist_sq.shape[0]
    unit = sample_weight.shape[0] == 0
    lower = center.shape[0] > 0
    n_values = values.shape[0]
    # The values in increasing order, by insertion (a few values; numba's
    # np.argsort took seconds to compile).
    order = np.empty(n_values, dtype=np.intp)
    for q in range(n_values):
        p = q
        while p > 0 and values[order[p - 1]] > values[q]:
            order[p] = order[p - 1]
            p -= 1
        order[p] = q
    for q in range(n_values):
        ids[q] = n_samples
    cast[0] = 0.0
    total = cast[0]
    q = 0
    i = np.int64(0)
    while i < n_samples and q < n_values:
        # The rows are lowered a sweep block at a time (a vectorised loop),
        # then summed while still in cache.
        stop = min(n_samples, i + SWEEP_BLOCK)
        if lower:
            _lower_closest_rows(X, center, closest_dist_sq, i, stop)
        for r in range(i, stop):
            cast[0] = closest_dist_sq[r]
            total = total + (cast[0] if unit else sample_weight[r] * cast[0])
            while q < n_values and total >= values[order[q]]:
                ids[order[q]] = r
                q += 1
            if q == n_values:
                break
        i = stop
    if lower:
        _lower_closest_rows(X, center, closest_dist_sq, i, n_samples)


@njit(inline="always", **_JIT)
def _larger_abs_bits(largest, v):
    """The larger of ``largest`` and the bits of ``|v|`` (as int64): the bits
    of non-negative float64 values order as the values do (a NaN's above
    infinity's), and an integer maximum vectorises where ``max`` of floats
    stayed a scalar loop (9x slower over 1024 values)."""
    bits = float64_bits(v) & 0x7FFFFFFFFFFFFFFF
    return bits if bits > largest else largest


@njit(**_JIT)
def _rowwise_column_moments(X, start, n_rows, mean, m2):
    """``column_moments`` of the rows [start, start + n_rows) of X, row by
    row; returns their largest ``|x|``."""
    n_features = X.shape[1]
    for j in range(n_features):
        mean[j] = 0.0
        m2[j] = 0.0
    # Each column's largest |x| (as bits, see _larger_abs_bits): element by
    # element, as the sums, so that the loop over the features vectorises.
    big = np.zeros(n_features, dtype=np.int64)
    for i in range(start, start + n_rows):
        for j in range(n_features):
            v = np.float64(X[i, j])
            mean[j] += v
            big[j] = _larger_abs_bits(big[j], v)
    largest = 0
    for j in range(n_features):
        largest = max(largest, big[j])
    for j in range(n_features):
        mean[j] /= n_rows
    # The deviations' sum (zero but for the rounding of the mean) corrects
    # the squares: the corrected two-pass formula.
    dev = np.zeros(n_features)
    for i in range(start, start + n_rows):
        for j in range(n_features):
            t = np.float64(X[i, j]) - mean[j]
            dev[j] += t
            m2[j] += t * t
    for j in range(n_features):
        m2[j] -= dev[j] * dev[j] / n_rows
        # The mean, corrected the same way: far from the origin, the
        # first sweep's sum rounds at the scale of the data.
        mean[j] += dev[j] / n_rows
    return _bits_to_float64(largest)


@njit(**_JIT)
def _transposed_column_moments(X, start, n_rows, mean, m2):
    """``column_moments`` of the rows [start, start + n_rows) of X, from
    their transposed copy (narrow rows); returns their largest ``|x|``."""
    n_features = X.shape[1]
    xt = np.empty((n_features, n_rows + ROW_PAD))
    _load_block(X, start, n_rows, xt)
    largest = 0
    for j in range(n_features):
        row = xt[j]
        s1 = 0.0
        for b in range(n_rows):
            s1 += row[b]
        # A loop of its own: within the sum's, it changed how the sum is
        # vectorised, hence its rounding.
        for b in range(n_rows):
            largest = _larger_abs_bits(largest, row[b])
        block_mean = s1 / n_rows
        s1 = 0.0
        s2 = 0.0
        for b in range(n_rows):
            t = row[b] - block_mean
            s1 += t
            s2 += t * t
        # Corrected two-pass formula and mean, as row by row.
        mean[j] = block_mean + s1 / n_rows
        m2[j] = s2 - s1 * s1 / n_rows
    return _bits_to_float64(largest)


@njit(parallel=True, **_JIT)
def column_moments(X, row_start, row_stop, chunk_size, mean_part, m2_part, largest_part):
    """Per-block column means and sums of squared deviations from them.

    Each block is read from X once (into its transposed scratch), then
    summed twice in cache: the mean, then the squared deviations from it
    (the corrected two-pass formula within the block); the driver combines
    the blocks (``fastgmm.kmeans.column_statistics``), so the variances
    take one pass over X instead of two. From ``ROWWISE_LOAD_MIN_FEATURES``
    features on, ``column_moments_rowwise`` (the same kernel, compiled with
    ``_rowwise_column_moments``: both sweeps row by row, the loop over the
    features vectorising, with no transposed copy, which at 1e5 x 64 cost
    more than the sums).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    row_start, row_stop : int
    chunk_size : int
    mean_part, m2_part : ndarray of shape (n_blocks, n_features), float64
        Out: the mean of each column over the rows b of block c, and
        ``sum_b (x_bj - mean_part[c, j])^2``.
    largest_part : ndarray of shape (n_blocks,), float64
        Out: the largest ``|x|`` of block c, read in the same sweep (a fit's
        check of X takes it where every variance is finite: a NaN or an
        infinity makes its column's moments NaN; see
        ``fastgmm.kmeans.column_statistics``).

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X and writes only
    row c of ``mean_part``, ``m2_part`` and ``largest_part``.
    """
    n_blocks = mean_part.shape[0]
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        largest_part[c] = _transposed_column_moments(X, start, n_rows, mean_part[c],
                                                     m2_part[c])


@njit(**_JIT)
def partition_order(labels, bounds, order):
    """The rows grouped by label, each group in increasing row order (a
    counting sort: ``np.argsort(labels, kind="stable")``), serial.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,), integer
        Each in [0, n_clusters).
    bounds : ndarray of shape (n_clusters + 1,), intp
        Out: the rows labelled k are ``order[bounds[k]:bounds[k + 1]]``.
    order : ndarray of shape (n_samples,), intp
        Out.
    """
    n_clusters = bounds.shape[0] - 1
    for k in range(n_clusters + 1):
        bounds[k] = 0
    for i in range(labels.shape[0]):
        bounds[labels[i] + 1] += 1
    for k in range(n_clusters):
        bounds[k + 1] += bounds[k]
    fill = bounds[:n_clusters].copy()
    for i in range(labels.shape[0]):
        k = labels[i]
        order[fill[k]] = i
        fill[k] += 1


@njit(**_JIT)
def gather_rows(X, rows, sample_weight, shift, out, col_sum):
    """``out[i] = X[rows[i]] - shift``, upcast to float64, and their weighted
    column sums (serial).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    rows : ndarray of shape (n_rows,), intp
        Row indices of X, each in [0, n_samples).
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
        The weights of the rows of X; empty: every weight is 1.
    shift : ndarray of shape (n_features,), float64
    out : ndarray of shape (>= n_rows, n_features), float64
        Output: its first n_rows rows.
    col_sum : ndarray of shape (n_features,), float64
        Out: ``sum_i w_rows[i] * out[i]``, the rows added in order (numpy's
        column sums of a (n_rows, 2) array took 0.7 ms for 32768 rows, the
        gather 0.3 ms).
    """
    n_features = X.shape[1]
    unit = sample_weight.shape[0] == 0
    for j in range(n_features):
        col_sum[j] = 0.0
    for i in range(rows.shape[0]):
        r = rows[i]
        w = 1.0 if unit else sample_weight[r]
        for j in range(n_features):
            v = np.float64(X[r, j]) - shift[j]
            out[i, j] = v
            col_sum[j] += w * v


# Passes over a few blocks skip the thread pool; see ``serial_twin``.
lloyd_pass_serial = serial_twin(lloyd_pass, **_JIT)
lloyd_pass_bounded_serial = serial_twin(lloyd_pass_bounded, **_JIT)
update_closest_sq_dist_serial = serial_twin(update_closest_sq_dist, **_JIT)
candidate_potentials_serial = serial_twin(candidate_potentials, **_JIT)
narrow_candidate_potentials_serial = serial_twin(narrow_candidate_potentials, **_JIT)
column_moments_serial = serial_twin(column_moments, **_JIT)
# Wide rows (see column_moments): a variant, so that a fit compiles one.
column_moments_rowwise = kernel_variant(
    column_moments, "_rowwise", {"_transposed_column_moments": _rowwise_column_moments},
    parallel=True, **_JIT)
column_moments_rowwise_serial = serial_twin(column_moments_rowwise, **_JIT)
