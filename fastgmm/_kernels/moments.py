"""Statistics of a block from its nonzero responsibilities (the large-d
'diag' / 'spherical' pass of ``fastgmm._blocked``).

At large d most rows belong wholly to one component (their log-densities
differ by hundreds, and the others' responsibilities underflow to exactly
0), so a block's statistics need only its nonzero responsibilities: about
one per row instead of ``n_components``.
"""

from numba import njit

from . import FAST_JIT


@njit(**FAST_JIT)
def centred_moments(X, means, r, comp, rows, sx, sxx):
    """Add ``r_j (x_b - mu_k)`` and ``r_j (x_b - mu_k)^2`` into ``sx[k]`` and
    ``sxx[k]`` for each entry ``j`` (``k = comp[j]``, ``b = rows[j]``).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32 or float64, C order
    means : ndarray of shape (n_components, n_features), float64
    r : ndarray of shape (n_entries,), float64
        The nonzero responsibilities (times the sample weights).
    comp, rows : ndarray of shape (n_entries,), int
    sx, sxx : ndarray of shape (n_components, n_features), float64
        Added into, in the order of the entries (a serial kernel: the sums
        do not depend on any thread count). The deviations are float64
        (exact for float32 data near the means).
    """
    n_features = X.shape[1]
    for j in range(comp.shape[0]):
        k = comp[j]
        b = rows[j]
        rj = r[j]
        for i in range(n_features):
            t = X[b, i] - means[k, i]
            rt = rj * t
            sx[k, i] += rt
            sxx[k, i] += rt * t


@njit(**FAST_JIT)
def centred_moments_pooled(X, means, r, comp, rows, sx, sxx_total):
    """``centred_moments`` for 'spherical', whose M-step reads only each
    component's second moments summed over the features: ``sx`` as there,
    and ``r_j |x_b - mu_k|^2`` added into ``sxx_total[k]``. One array of
    n_components x n_features is read and written per entry instead of
    two.

    Parameters
    ----------
    X, means, r, comp, rows, sx
        As ``centred_moments``.
    sxx_total : ndarray of shape (n_components,), float64
        Added into, in the order of the entries.
    """
    n_features = X.shape[1]
    for j in range(comp.shape[0]):
        k = comp[j]
        b = rows[j]
        rj = r[j]
        squares = 0.0
        for i in range(n_features):
            t = X[b, i] - means[k, i]
            sx[k, i] += rj * t
            squares += t * t
        sxx_total[k] += rj * squares
