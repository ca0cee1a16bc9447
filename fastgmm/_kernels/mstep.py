"""The M-step of small full / tied covariances, one kernel call per step.

For a few components of a few features, the numpy M-step is a few dozen
calls on arrays of a few dozen values: its cost is the calls' overhead
(about 0.2 ms for K = 8, d = 2 against a pass of 0.3 ms over 10^4 rows),
paid every iteration, serially, whatever the thread count. These kernels do
the same arithmetic in one call each: ``_stats`` takes the covariances by
``full_covariances`` for every d (one sweep per component, no temporaries;
the components over the threads where a matrix exceeds
``_config.MSTEP_BLOCK_BYTES``), the precision factors by
``precision_cholesky`` up to ``_config.MSTEP_KERNEL_MAX_FEATURES`` features
(LAPACK beyond).

Both are serial (a call's work is one batch or one component).
``full_covariances`` is compiled without fast-math, so each operation
rounds as numpy's does: numpy's values bit for bit. ``precision_cholesky``
gives LAPACK's Cholesky factor to rounding (its multiply-adds fused, as
LAPACK's are) and its inverse by a triangular solve, as scikit-learn does.
"""

import math

import numpy as np
from numba import njit

from . import EXACT_JIT


@njit(**EXACT_JIT)
def full_covariances(sxx, sx, delta, nk_raw, nk, reg_covar, out):
    """``_stats._full_covariances``: for each component,
    ``(S - sx delta^T - delta sx^T + nk_raw delta delta^T) / nk + reg_covar I``,
    S the symmetric matrix whose upper triangle is ``sxx[k]``, in numpy's
    order of operations.

    Parameters
    ----------
    sxx : ndarray of shape (n_components, n_features, n_features), float64
        Upper triangles (the strict lower ones are not read).
    sx, delta : ndarray of shape (n_components, n_features), float64
    nk_raw, nk : ndarray of shape (n_components,), float64
    reg_covar : float
    out : ndarray of shape (n_components, n_features, n_features), float64
        Output.
    """
    n_components, n_features = sx.shape
    for k in range(n_components):
        nr = nk_raw[k]
        n = nk[k]
        for i in range(n_features):
            a = nr * delta[k, i]
            for j in range(n_features):
                s = sxx[k, i, j] if j >= i else sxx[k, j, i]
                s -= sx[k, i] * delta[k, j]
                s -= delta[k, i] * sx[k, j]
                s += a * delta[k, j]
                out[k, i, j] = s / n
            out[k, i, i] += reg_covar


# Multiply-adds contracted to FMAs, as LAPACK's (OpenBLAS's) Cholesky does:
# the last pivot of a singular matrix (collinear points) then comes out
# <= 0 where LAPACK's does; rounded products could leave it a tiny
# positive number and pass a singular covariance as positive definite.
@njit(**dict(EXACT_JIT, fastmath={"contract"}))
def precision_cholesky(batch, out, failed):
    """Upper-triangular U with ``U U^T = inverse(batch[k])``, for each matrix.

    The Cholesky factor ``batch[k] = L L^T`` (lower triangle read), then
    ``U = L^-T`` by forward substitution against the identity (scikit-learn's
    ``solve_triangular(L, I, lower=True).T``).

    Parameters
    ----------
    batch : ndarray of shape (n_matrices, n_features, n_features), float64
    out : ndarray of shape (n_matrices, n_features, n_features), float64
        Output; the strict lower triangles are zero.
    failed : ndarray of shape (n_matrices,), bool
        Output: True where the matrix is not positive definite or the factor
        not finite (``out[k]`` is then the identity, for the caller to mark).
    """
    n_matrices, n_features = batch.shape[0], batch.shape[1]
    chol = np.empty((n_features, n_features))
    for m in range(n_matrices):
        a = batch[m]
        ok = True
        for j in range(n_features):
            s = a[j, j]
            for p in range(j):
                s -= chol[j, p] * chol[j, p]
            # potrf's test (not s > 0 catches NaN as well).
            if not s > 0.0 or not math.isfinite(s):
                ok = False
                break
            d = math.sqrt(s)
            chol[j, j] = d
            for i in range(j + 1, n_features):
                t = a[i, j]
                for p in range(j):
                    t -= chol[i, p] * chol[j, p]
                chol[i, j] = t / d
                if not math.isfinite(chol[i, j]):
                    ok = False
        u = out[m]
        failed[m] = not ok
        for i in range(n_features):
            for j in range(n_features):
                u[i, j] = 0.0
        if not ok:
            for i in range(n_features):
                u[i, i] = 1.0
            continue
        # Column c of L^-1 by forward substitution; U = L^-T holds it as row c.
        for c in range(n_features):
            u[c, c] = 1.0 / chol[c, c]
            for i in range(c + 1, n_features):
                t = 0.0
                for p in range(c, i):
                    t -= chol[i, p] * u[c, p]
                u[c, i] = t / chol[i, i]
