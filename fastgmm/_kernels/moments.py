"""Per-block weighted means and centred sums of squares of the features of X.

Block c reads rows [row_start + c * chunk_size, min(..., row_stop)) and
writes only row c of each ``*_part`` array; the driver combines the blocks
in a fixed order (Chan, Golub & LeVeque), so the result does not depend on
the thread count.
"""

import numpy as np
from numba import njit, prange

from .._config import FASTMATH, NUMBA_CACHE
from . import serial_twin
from .logprob import ROW_PAD, load_block

_JIT = dict(fastmath=FASTMATH, cache=NUMBA_CACHE, nogil=True)


@njit(parallel=True, **_JIT)
def block_moments(X, sample_weight, row_start, row_stop, chunk_size,
                  weight_part, mean_part, m2_part):
    """Each block's total weight, weighted feature means and centred sums of squares.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
        Empty: every row weighs 1.
    row_start, row_stop : int
    chunk_size : int
    weight_part : ndarray of shape (n_blocks,), float64
        Out: the block's total weight.
    mean_part, m2_part : ndarray of shape (n_blocks, n_features), float64
        Out: the block's weighted mean of each feature and
        ``sum_b w_b (x_bj - mean_j)^2`` (0 for a block of weight 0).

    Notes
    -----
    Block c reads rows [row_start + c * chunk_size, ...) of X and writes
    only element / row c of the three parts. Two sweeps over the block,
    which stays in cache: the mean, then the squares around it.
    """
    n_features = X.shape[1]
    n_blocks = weight_part.shape[0]
    weighted = sample_weight.shape[0] > 0
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        n_rows = min(chunk_size, row_stop - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD))
        load_block(X, start, n_rows, xt)
        w = np.ones(n_rows)
        if weighted:
            for b in range(n_rows):
                w[b] = sample_weight[start + b]
        total = 0.0
        for b in range(n_rows):
            total += w[b]
        weight_part[c] = total
        for j in range(n_features):
            row = xt[j]
            s1 = 0.0
            for b in range(n_rows):
                s1 += w[b] * row[b]
            mean = s1 / total if total > 0 else 0.0
            s2 = 0.0
            for b in range(n_rows):
                t = row[b] - mean
                s2 += w[b] * t * t
            mean_part[c, j] = mean
            m2_part[c, j] = s2


block_moments_serial = serial_twin(block_moments, **_JIT)
KERNELS = (block_moments, block_moments_serial)
