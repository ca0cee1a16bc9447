"""The sums of a pass's per-block partial statistics, in block order.

Every block of a fused pass writes its own row of partial statistics; the
driver adds the rows in block order (``fastgmm._em.em_pass``). Summed by
numpy (``parts.sum(axis=0)``), that is a serial sweep over all the parts
between two parallel passes (for N = 2e5, d = 16, K = 16 'full', 12 MB of
partial scatters a pass). ``add_block_sums`` makes the same additions in
the same order, ``parts[0] + parts[1] + ... + parts[n - 1]``, each entry
of the sum by one thread and the entries spread over the threads: numpy's
values bit for bit, whatever the thread count. No fast-math, so that
nothing is reordered. On a few threads numpy's sweep, row after row, is
the faster (a task's tile of each row is a short read, one row's length
apart); the driver calls this kernel from ``_config.REDUCE_PARALLEL_MIN_THREADS``
threads on.
"""

import numpy as np
from numba import njit, prange

from . import EXACT_JIT

_JIT = EXACT_JIT

# Entries of the sum per task: a tile of a row of parts, read contiguously
# block after block.
TILE = 256


@njit(parallel=True, **_JIT)
def add_block_sums(parts, n_blocks, out):
    """``out += parts[0] + parts[1] + ... + parts[n_blocks - 1]``, added in that order.

    Parameters
    ----------
    parts : ndarray of shape (>= n_blocks, n_entries), float64, C order
    n_blocks : int, >= 1
    out : ndarray of shape (n_entries,), float64
        Added into: each entry gets the sum of its column, taken first.
    """
    n_entries = out.shape[0]
    n_tiles = (n_entries + TILE - 1) // TILE
    for t in prange(n_tiles):
        lo = t * TILE
        hi = min(n_entries, lo + TILE)
        acc = parts[0, lo:hi].copy()
        for c in range(1, n_blocks):
            row = parts[c, lo:hi]
            for j in range(hi - lo):
                acc[j] += row[j]
        for j in range(hi - lo):
            out[lo + j] += acc[j]


@njit(parallel=True, **_JIT)
def block_max_abs(X, chunk_size, out_part):
    """The largest ``|x|`` of each block of rows of X; NaN where the block has one.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    chunk_size : int
    out_part : ndarray of shape (n_blocks,), float64
        Out: block c covers the rows [c * chunk_size, (c + 1) * chunk_size).
    """
    n_samples, n_features = X.shape
    for c in prange(out_part.shape[0]):
        start = c * chunk_size
        stop = min(n_samples, start + chunk_size)
        largest = 0.0
        has_nan = False
        for i in range(start, stop):
            for j in range(n_features):
                v = abs(np.float64(X[i, j]))
                has_nan |= v != v
                largest = max(largest, v)
        out_part[c] = np.nan if has_nan else largest
