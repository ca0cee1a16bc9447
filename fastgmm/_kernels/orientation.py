"""The common orientation of mclust's EVE and VVE models: one M-step's sweeps.

Serial (an M-step works on K d x d matrices, not on the data); driven by
``fastgmm._parsimonious._common_orientation``, which holds the model's
definition and the stopping rule.
"""

import numpy as np
from numba import njit

from . import EXACT_JIT

# No fastmath: the rotation angles come from differences of nearly equal
# sums, and the sweeps must lower -Q exactly as the algebra says.
_JIT = EXACT_JIT


@njit(**_JIT)
def eigenvalues(nk, orientation, product, equal_volume, eigen):
    """eigen[k, i] = d_i^T S_k d_i (VVE), or EVE's lambda A_k from it."""
    n_components, n_features = eigen.shape
    for k in range(n_components):
        for i in range(n_features):
            total = 0.0
            for r in range(n_features):
                total += orientation[r, i] * product[k, r, i]
            eigen[k, i] = total
    if equal_volume:
        volumes = np.empty(n_components)
        lam = 0.0
        for k in range(n_components):
            log_sum = 0.0
            for i in range(n_features):
                log_sum += np.log(eigen[k, i])
            volumes[k] = np.exp(log_sum / n_features)
            lam += nk[k] * volumes[k]
        lam /= nk.sum()
        for k in range(n_components):
            for i in range(n_features):
                eigen[k, i] *= lam / volumes[k]


@njit(**_JIT)
def orientation_sweep(nk, orientation, product, equal_volume, eigen):
    """One sweep: every pair of columns (i, j) of ``orientation`` (D, d x d)
    rotated in their plane by the angle that minimises
    f(D) = sum_k n_k tr(Lambda_k^-1 D^T S_k D) given ``eigen`` (Lambda_k,
    K x d), ``eigen`` recomputed from D after every rotation.

    Parameters
    ----------
    nk : ndarray of shape (n_components,), float64
    orientation : ndarray of shape (n_features, n_features), float64
        D, updated in place.
    product : ndarray of shape (n_components, n_features, n_features), float64
        S_k D, updated in place with D.
    equal_volume : bool
        EVE (one volume) rather than VVE.
    eigen : ndarray of shape (n_components, n_features), float64
        Lambda_k, updated in place.
    """
    n_components, n_features = eigen.shape
    for i in range(n_features):
        for j in range(i + 1, n_features):
            # f = cos_term cos 2t + sin_term sin 2t + const in the angle t.
            cos_term = 0.0
            sin_term = 0.0
            for k in range(n_components):
                a = 0.0
                b = 0.0
                c = 0.0
                for r in range(n_features):
                    a += orientation[r, i] * product[k, r, i]
                    b += orientation[r, j] * product[k, r, j]
                    c += orientation[r, i] * product[k, r, j]
                diff = nk[k] / eigen[k, i] - nk[k] / eigen[k, j]
                cos_term += 0.5 * diff * (a - b)
                sin_term += diff * c
            norm = np.hypot(cos_term, sin_term)
            if not norm > 0.0:
                continue
            cos2 = -cos_term / norm
            sin2 = -sin_term / norm
            cos1 = np.sqrt(0.5 * (1.0 + cos2))
            sin1 = sin2 / (2.0 * cos1) if cos1 > 0.0 else 1.0
            for r in range(n_features):
                col_i = orientation[r, i]
                col_j = orientation[r, j]
                orientation[r, i] = cos1 * col_i + sin1 * col_j
                orientation[r, j] = cos1 * col_j - sin1 * col_i
            for k in range(n_components):
                for r in range(n_features):
                    col_i = product[k, r, i]
                    col_j = product[k, r, j]
                    product[k, r, i] = cos1 * col_i + sin1 * col_j
                    product[k, r, j] = cos1 * col_j - sin1 * col_i
            eigenvalues(nk, orientation, product, equal_volume, eigen)
