"""The criteria's pass: total log-likelihood and responsibility entropy, per block.

From the weighted log-probabilities ``log pi_k + log N(x_i | mu_k, Sigma_k)``
of a block of rows (``fastgmm._em.weighted_log_prob``), without turning
them into responsibilities in memory: ``select_model`` needs the two sums
only (BIC, AIC and ICL of every model of a sweep).
"""

import math

import numpy as np
from numba import njit, prange

from . import FAST_JIT, serial_twin

_JIT = FAST_JIT


@njit(parallel=True, **_JIT)
def loglik_entropy(weighted_log_prob, sample_weight, chunk_size, loglik_part,
                   entropy_part):
    """Per block of rows: ``sum_i w_i log p(x_i)`` and ``-sum_i w_i sum_k r_ik log r_ik``.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components), float32 or float64
        Read only.
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
        Empty: every row weighs 1.
    chunk_size : int
    loglik_part, entropy_part : ndarray of shape (n_blocks,), float64
        Outputs. A row whose densities are all 0 adds ``-inf`` to the
        log-likelihood and nothing to the entropy (its responsibilities are
        undefined; it is given wholly to its nearest component); a row of
        weight 0 adds nothing to either.

    Notes
    -----
    Block c reads rows [c * chunk_size, (c + 1) * chunk_size) and writes
    only element c of each ``*_part`` array; accumulated in float64.
    """
    n_samples, n_components = weighted_log_prob.shape
    weighted = sample_weight.shape[0] > 0
    for c in prange(loglik_part.shape[0]):
        start = c * chunk_size
        stop = min(start + chunk_size, n_samples)
        terms = np.empty(n_components)
        loglik = 0.0
        entropy = 0.0
        for i in range(start, stop):
            row = weighted_log_prob[i]
            w = sample_weight[i] if weighted else 1.0
            if w == 0.0:
                # A row of weight 0 adds nothing, even where its densities
                # are all 0 (0 * -inf would be NaN); as in the fused pass.
                continue
            top = -np.inf
            for k in range(n_components):
                top = max(top, np.float64(row[k]))
            if top == -np.inf:
                loglik += w * top
                continue
            # Each exponential once: r_ik = terms[k] / total.
            total = 0.0
            for k in range(n_components):
                terms[k] = math.exp(np.float64(row[k]) - top)
                total += terms[k]
            norm = top + math.log(total)
            loglik += w * norm
            row_entropy = 0.0
            for k in range(n_components):
                r = terms[k] / total
                if r > 0.0:
                    row_entropy -= r * (np.float64(row[k]) - norm)
            entropy += w * row_entropy
        loglik_part[c] = loglik
        entropy_part[c] = entropy


loglik_entropy_serial = serial_twin(loglik_entropy, **_JIT)
