"""The 'diag' / 'spherical' kernels on K x d arrays (``_kernels/diag.py``)
against the numpy expressions they replace: the same bits where the
kernel's docstring says so, else a stated tolerance."""

import numpy as np
import pytest

from fastgmm import _covariance
from fastgmm._kernels import diag as kernels


def _positive(rng, shape, spread=3.0):
    return np.exp(rng.normal(scale=spread, size=shape))


@pytest.mark.parametrize("spread", [3.0, 0.03])
@pytest.mark.parametrize("n_values", [1, 7, 63, 64, 65, 200, 2048])
def test_log_sums_within_the_constant_they_enter(n_values, spread):
    """Against long double logarithms summed in long double: numpy's error
    plus at most 4e-15 per group of 64 values (the products' rounding; the
    docstring's figures are 1e-15), below the last bit of the
    ``d / 2 log(2 pi)`` of the constant it is added to; rows of fewer than
    64 values are numpy's sums to rounding (a few ulps of the sum of the
    logarithms' magnitudes, the scale of any sum's rounding: near 1 the
    sums cancel, and numpy's logarithms are more accurate with AVX-512
    than with AVX2). Spread 3: values over e**(+-9); 0.03: near 1, where
    the sums are small."""
    rng = np.random.default_rng(n_values)
    a = _positive(rng, (40, n_values), spread)
    out = np.empty(40)
    kernels.log_sums(a, out)
    exact = np.log(a.astype(np.longdouble)).sum(axis=1)
    numpy_error = np.abs(np.log(a).sum(axis=1) - exact)
    ours = np.abs(out - exact)
    n_groups = n_values // 64
    eps = np.finfo(float).eps
    magnitude = np.abs(np.log(a)).sum(axis=1)
    assert np.all(ours <= numpy_error + 4e-15 * n_groups + 4 * eps * magnitude + 1e-300)
    if n_groups:
        assert np.all(ours < np.spacing(n_values / 2 * np.log(2 * np.pi)))


def test_log_sums_of_unusual_values_are_numpys():
    """Rows holding 0, -0, a subnormal, a negative value, inf or NaN give
    np.log's sums; the other rows are unaffected."""
    rng = np.random.default_rng(0)
    a = _positive(rng, (8, 130))
    for row, value in enumerate([0.0, -0.0, 5e-320, -2.0, np.inf, np.nan]):
        a[row, 77] = value
    out = np.empty(8)
    kernels.log_sums(a, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.log(a).sum(axis=1)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(out[~finite & ~np.isnan(expected)],
                                  expected[~finite & ~np.isnan(expected)])
    np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-13)
    assert finite[2] and finite[6] and finite[7]


def test_diag_log_det_is_the_sum_of_logs():
    rng = np.random.default_rng(1)
    chol = _positive(rng, (5, 300), spread=1.0)
    got = _covariance.get("diag").log_det_cholesky(chol, 300)
    np.testing.assert_allclose(got, np.log(chol).sum(axis=1), rtol=1e-13)


def test_covariances_are_numpys_bit_for_bit():
    rng = np.random.default_rng(2)
    n_components, n_features = 6, 33
    sxx = _positive(rng, (n_components, n_features))
    sx = rng.normal(size=(n_components, n_features))
    nk_raw = rng.uniform(0.5, 50.0, n_components)
    nk_raw[3] = 0.0  # an empty component: numpy's inf / NaN, no exception
    nk = nk_raw + np.where(np.arange(n_components) == 4, 1e-10, 0.0)
    delta = sx / np.where(nk > 0, nk, 1.0)[:, None]
    out = np.empty((n_components, n_features))
    kernels.covariances(sxx, sx, delta, nk_raw, nk, 1e-6, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (sxx - 2 * sx * delta + nk_raw[:, None] * delta**2) / nk[:, None] + 1e-6
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_precision_cholesky_is_numpys_bit_for_bit(covariance_type):
    rng = np.random.default_rng(3)
    shape = (7, 19) if covariance_type == "diag" else (7,)
    cov = _positive(rng, shape, spread=2.0)
    flat = cov.reshape(7, -1)
    flat[2, -1] = 0.0
    flat[4, 0] = -1.0
    flat[5, 0] = np.inf
    flat[6, 0] = np.nan
    prec_chol, failed = _covariance.get(covariance_type).precision_cholesky(cov)
    ok = (cov > 0) & np.isfinite(cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 1.0 / np.sqrt(np.where(ok, cov, np.nan))
    np.testing.assert_array_equal(prec_chol, expected)
    assert prec_chol.shape == shape
    np.testing.assert_array_equal(failed, ~ok.reshape(7, -1).all(axis=1))
    assert failed.tolist() == [False, False, True, False, True, True, True]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_coefficients_match_the_numpy_expressions(dtype):
    rng = np.random.default_rng(4)
    n_components, n_features = 5, 21
    means = rng.normal(size=(n_components, n_features)) * 10
    prec = _positive(rng, (n_components, n_features), spread=1.0)
    const = rng.normal(size=n_components)
    centre = means.mean(axis=0).astype(dtype)
    offsets = np.empty((n_components, n_features))
    coef = np.empty((n_components, 2 * n_features), dtype)
    const_c = np.empty(n_components)
    kernels.gemm_coefficients(means, prec, centre, const, offsets, coef, const_c)
    u = np.subtract(means, centre, dtype=np.float64)
    precisions = prec**2
    np.testing.assert_array_equal(offsets, u)
    np.testing.assert_array_equal(coef[:, :n_features], (precisions * u).astype(dtype))
    np.testing.assert_array_equal(coef[:, n_features:], (-0.5 * precisions).astype(dtype))
    np.testing.assert_allclose(
        const_c, const - 0.5 * np.einsum("kd,kd,kd->k", precisions, u, u), rtol=1e-13)


def test_centred_from_shifted_is_the_numpy_sequence_bit_for_bit():
    rng = np.random.default_rng(5)
    n_components, n_features = 4, 17
    moments = rng.normal(size=(n_components, 2 * n_features))
    nk = rng.uniform(1.0, 9.0, n_components)
    offsets = rng.normal(size=(n_components, n_features))
    sx0 = rng.normal(size=(n_components, n_features))
    sxx0 = _positive(rng, (n_components, n_features))
    sx, sxx = sx0.copy(), sxx0.copy()
    kernels.centred_from_shifted(moments, nk, offsets, sx, sxx)
    a, b = moments[:, :n_features].copy(), moments[:, n_features:].copy()
    esx, esxx = sx0.copy(), sxx0.copy()
    esxx += b
    nu = nk[:, None] * offsets
    esx += a
    esx -= nu
    esxx -= ((a - nu * 0.5) * offsets) * 2.0
    np.testing.assert_array_equal(sx, esx)
    np.testing.assert_array_equal(sxx, esxx)
    # The sums around the centre of a alone stand for b = 0 ('spherical').
    sx_a, sxx_a = sx0.copy(), sxx0.copy()
    kernels.centred_from_shifted(np.ascontiguousarray(a), nk, offsets, sx_a, sxx_a)
    zero_b = np.concatenate([a, np.zeros_like(b)], axis=1)
    sx_z, sxx_z = sx0.copy(), sxx0.copy()
    kernels.centred_from_shifted(zero_b, nk, offsets, sx_z, sxx_z)
    np.testing.assert_array_equal(sx_a, sx_z)
    np.testing.assert_array_equal(sxx_a, sxx_z)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 8, 13, 2048])
def test_shifted_rows_are_numpys_bit_for_bit(dtype, n_features):
    rng = np.random.default_rng(n_features)
    Xb = (rng.normal(size=(9, n_features)) * 30 + 100).astype(dtype)
    centre = (Xb.mean(axis=0) + 0.5).astype(dtype)
    Z = np.full((9, 2 * n_features), np.nan, dtype)
    kernels.shifted_rows(Xb, centre, Z)
    Y = Xb - centre
    np.testing.assert_array_equal(Z[:, :n_features], Y)
    np.testing.assert_array_equal(Z[:, n_features:], Y * Y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 7, 8, 13, 64, 2048])
def test_shifted_rows_norms_against_long_double(dtype, n_features):
    """``Y`` is numpy's subtraction bit for bit; the squares are float64 sums
    of the rows' squares, within 2e-15 relative of long double sums (the
    docstring's figure; a sum of positive terms has no cancellation)."""
    rng = np.random.default_rng(n_features + 1)
    Xb = (rng.normal(size=(11, n_features)) * 30 + 100).astype(dtype)
    centre = (Xb.mean(axis=0) + 0.5).astype(dtype)
    Y = np.full((11, n_features), np.nan, dtype)
    squares = np.full(11, np.nan)
    kernels.shifted_rows_norms(Xb, centre, Y, squares)
    np.testing.assert_array_equal(Y, Xb - centre)
    Yl = (Xb - centre).astype(np.longdouble)
    exact = (Yl * Yl).sum(axis=1)
    assert np.all(np.abs(squares - exact) <= 2e-15 * exact)
