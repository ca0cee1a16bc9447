"""The per-component arithmetic of 'diag' (and 'spherical') covariances: one
sweep over K x d values per step.

Each numpy expression these replace made a K x d temporary per operation,
and numpy's ``log`` is a scalar libm call per value on AVX2: at K = 256,
d = 2048 the M-step, the log-determinants and the large-d pass's set-up
and conclusion took about 30 ms of numpy an iteration, 3 ms as kernels
(``python asv_benchmarks/diag_kernels.py``), beside a pass of about 40 ms
over 953 rows.

Serial (the work is K x d values, not the data) and without fast-math:
``covariances``, ``precision_cholesky`` and ``centred_from_shifted``
round every operation as the numpy expressions in their docstrings do,
so their results are numpy's bit for bit; ``log_sums`` differs from
numpy's sum by less than the last bit of the constant it enters (see
there).
"""

import numpy as np
from numba import njit

from . import EXACT_JIT
from ._inline import sum_of_logs

# numpy's error model: x / 0 is inf or NaN as in numpy (Python's raises,
# and its check keeps the loops from vectorising).
_JIT = dict(EXACT_JIT, error_model="numpy")


@njit(**_JIT)
def log_sums(a, out):
    """``out[k] = sum_i log(a[k, i])``: log det of a diagonal factor per row.

    Each row by ``_inline.sum_of_logs`` (exponents summed as integers,
    mantissas multiplied in groups of 64: a row of d values takes d / 64
    logarithms instead of d; a row holding zero, a subnormal, a negative
    value, inf or NaN summed value by value, as ``np.log`` gives them). Its
    error is absolute, about 1e-15 per group of 64 (the products'
    rounding), where numpy's is that of the logs and their sum: against
    long double logarithms summed in long double, at d = 2048, 2.9e-14 here
    and 7.4e-14 for ``np.log(a).sum(axis=1)`` over values spread over
    e**(+-9), 6.5e-15 against 8.2e-16 over values near 1 (``1 / sqrt(U(0.9,
    1.1))``). Both are below the last bit of the ``d / 2 log(2 pi)`` (2.3e-13
    at d = 2048, 7.1e-15 at d = 64) that the log-determinant is added to in
    the log-densities' constants. 0.54 ms against numpy's 3.09 at K = 256,
    d = 2048 (``asv_benchmarks/diag_kernels.py``).

    Parameters
    ----------
    a : ndarray of shape (n_rows, n_values), float64, C order
    out : ndarray of shape (n_rows,), float64
        Output.
    """
    n_values = a.shape[1]
    for k in range(a.shape[0]):
        out[k] = sum_of_logs(a[k], n_values)


@njit(**_JIT)
def covariances(sxx, sx, delta, nk_raw, nk, reg_covar, out):
    """``(sxx - 2 * sx * delta + nk_raw[:, None] * delta**2) / nk[:, None]
    + reg_covar``, numpy's operations in numpy's order (``_covariance.Diag``'s
    M-step).

    Parameters
    ----------
    sxx, sx, delta : ndarray of shape (n_components, n_features), float64
    nk_raw, nk : ndarray of shape (n_components,), float64
    reg_covar : float
    out : ndarray of shape (n_components, n_features), float64
        Output.
    """
    for k in range(sx.shape[0]):
        nr = nk_raw[k]
        n = nk[k]
        for i in range(sx.shape[1]):
            d = delta[k, i]
            var = (sxx[k, i] - (2.0 * sx[k, i]) * d) + nr * (d * d)
            out[k, i] = var / n + reg_covar


@njit(**_JIT)
def precision_cholesky(cov, out, failed):
    """``1 / sqrt(cov)`` where ``cov`` is positive and finite, NaN elsewhere;
    ``failed[k]`` whether row k has such a value.

    Parameters
    ----------
    cov : ndarray of shape (n_components, n_values), float64
        Variances (one value per row for 'spherical').
    out : ndarray of shape (n_components, n_values), float64
    failed : ndarray of shape (n_components,), bool
        Outputs.
    """
    for k in range(cov.shape[0]):
        n_bad = 0
        for i in range(cov.shape[1]):
            c = cov[k, i]
            ok = (c > 0.0) & (c < np.inf)
            n_bad += not ok
            out[k, i] = 1.0 / np.sqrt(c) if ok else np.nan
        failed[k] = n_bad > 0


@njit(**_JIT)
def gemm_coefficients(means, prec, centre, const, offsets, coef, const_c):
    """The large-d 'diag' pass's GEMM coefficients (``_blocked.em_pass_diag``).

    With ``u = means - centre`` and ``P = prec**2``: ``offsets = u``,
    ``coef = [P u | -P / 2]`` (in ``coef``'s dtype) and
    ``const_c = const - sum_i P u^2 / 2``.

    Parameters
    ----------
    means, prec : ndarray of shape (n_components, n_features), float64
    centre : ndarray of shape (n_features,), float32 or float64
    const : ndarray of shape (n_components,), float64
    offsets : ndarray of shape (n_components, n_features), float64
    coef : ndarray of shape (n_components, 2 * n_features), float32 or float64
    const_c : ndarray of shape (n_components,), float64
        Outputs.
    """
    n_components, n_features = means.shape
    for k in range(n_components):
        s = 0.0
        for i in range(n_features):
            u = means[k, i] - centre[i]
            p = prec[k, i] * prec[k, i]
            offsets[k, i] = u
            pu = p * u
            coef[k, i] = pu
            coef[k, n_features + i] = -0.5 * p
            s += pu * u
        const_c[k] = const[k] - 0.5 * s


@njit(**_JIT)
def centred_from_shifted(moments, nk_shifted, offsets, sx, sxx):
    """Add sums taken around a centre into sums around the means.

    With ``a, b = moments[:, :d], moments[:, d:]`` (``sum r y`` and
    ``sum r y^2``, ``y = x - centre``), ``u = offsets`` (``means - centre``)
    and ``n = nk_shifted``: ``sx += a - n u`` and
    ``sxx += b - 2 u (a - n u / 2)``, in the order of the numpy steps
    ``sxx += b; sx += a; sx -= n u; sxx -= ((a - (n u) * 0.5) * u) * 2``.
    ``moments`` of ``a`` alone stands for ``b = 0`` ('spherical', whose
    pass sums ``r |y|^2`` per component instead).

    Parameters
    ----------
    moments : ndarray of shape (n_components, 2 * n_features) or (n_components, n_features), float64
    nk_shifted : ndarray of shape (n_components,), float64
    offsets : ndarray of shape (n_components, n_features), float64
    sx, sxx : ndarray of shape (n_components, n_features), float64
        Added into.
    """
    n_components, n_features = offsets.shape
    with_b = moments.shape[1] > n_features
    for k in range(n_components):
        n = nk_shifted[k]
        for i in range(n_features):
            a = moments[k, i]
            u = offsets[k, i]
            nu = n * u
            b = moments[k, n_features + i] if with_b else 0.0
            sx[k, i] = (sx[k, i] + a) - nu
            sxx[k, i] = (sxx[k, i] + b) - ((a - nu * 0.5) * u) * 2.0


@njit(**_JIT)
def shifted_rows(Xb, centre, Z):
    """``Z = [Y | Y**2]`` with ``Y = Xb - centre``: a block of the large-d
    'diag' pass (``_blocked.em_pass_diag``) in one sweep, in X's dtype
    (numpy's ``np.subtract`` and ``np.multiply``, bit for bit). 512 x 2048
    float32 values: 0.64 ms against numpy's 0.74
    (``python asv_benchmarks/diag_kernels.py``).

    Parameters
    ----------
    Xb : ndarray of shape (n_rows, n_features), float32 or float64, C order
    centre : ndarray of shape (n_features,), Xb's dtype
    Z : ndarray of shape (n_rows, 2 * n_features), Xb's dtype
        Output.
    """
    n_rows, n_features = Xb.shape
    for b in range(n_rows):
        for i in range(n_features):
            y = Xb[b, i] - centre[i]
            Z[b, i] = y
            Z[b, n_features + i] = y * y


@njit(**_JIT)
def shifted_rows_norms(Xb, centre, Y, squares):
    """``Y = Xb - centre`` (in X's dtype, numpy's values bit for bit) and
    ``squares[b] = sum_i Y[b, i]**2`` in float64: a block of the large-d
    'spherical' pass (``_blocked.em_pass_diag``) in one sweep.

    The squares are summed in eight interleaved float64 sums (features
    i = j mod 8), added pairwise at the end, in a fixed order (the
    compiled loop is scalar; it wins over numpy by making one sweep where
    numpy makes two and a casting ``einsum``): the relative error of a sum
    is below 2e-15 at d = 2048 (float64 products of float32 or float64
    values; ``tests/test_diag_kernels.py``). 512 x 2048 float32 values:
    0.59 ms against 1.10 for numpy's subtraction and ``einsum``
    (``python asv_benchmarks/diag_kernels.py``).

    Parameters
    ----------
    Xb : ndarray of shape (n_rows, n_features), float32 or float64, C order
    centre : ndarray of shape (n_features,), Xb's dtype
    Y : ndarray of shape (n_rows, n_features), Xb's dtype
    squares : ndarray of shape (n_rows,), float64
        Outputs.
    """
    n_rows, n_features = Xb.shape
    n_eight = n_features - n_features % 8
    acc = np.empty(8)
    for b in range(n_rows):
        acc[:] = 0.0
        for g in range(0, n_eight, 8):
            for j in range(8):
                y = Xb[b, g + j] - centre[g + j]
                Y[b, g + j] = y
                acc[j] += np.float64(y) * np.float64(y)
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for i in range(n_eight, n_features):
            y = Xb[b, i] - centre[i]
            Y[b, i] = y
            total += np.float64(y) * np.float64(y)
        squares[b] = total
