"""The large-d start and M-step conversions of 'full' and 'tied' (``fastgmm._stats``).

Beyond ``_config.MSTEP_BLOCK_BYTES`` the precision factors of a start, its
covariances and the fitted ``precisions_`` are computed one component at a
time by LAPACK (potrf, potri, lauum); from
``_config.PRECISION_CHECK_CHOLESKY_MIN_FEATURES`` features a matrix
``precisions_init`` is checked by a Cholesky factorisation. The tests lower
both thresholds so that the problems stay small, and check the results
against numpy and scikit-learn, and for the same bits on one and two threads.
"""

import warnings

import numpy as np
import pytest
from sklearn import mixture as skm

import reference
from fastgmm import GaussianMixture, _config, _covariance, _stats

pytestmark = pytest.mark.filterwarnings("ignore:Best performing initialization")

N_FEATURES = 20


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", 1)
    monkeypatch.setattr(_config, "PRECISION_CHECK_CHOLESKY_MIN_FEATURES", 1)


def _precisions(rng, n_components, dtype, n_features=N_FEATURES):
    A = rng.normal(size=(n_components, n_features, 2 * n_features))
    return (A @ np.swapaxes(A, 1, 2) / (2 * n_features)
            + 0.1 * np.eye(n_features)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_check_precisions_by_cholesky(large, covariance_type, dtype):
    rng = np.random.default_rng(0)
    precisions = _precisions(rng, 3, dtype)
    if covariance_type == "tied":
        precisions = precisions[0]
    model = _covariance.get(covariance_type)
    model.check_precisions(precisions, 3, N_FEATURES)  # valid: nothing raised
    message = f"'{covariance_type} precision' should be symmetric, positive-definite"
    mats = precisions.reshape(-1, N_FEATURES, N_FEATURES)
    not_positive = precisions.copy()
    not_positive.reshape(mats.shape)[-1] -= 2 * np.eye(N_FEATURES, dtype=dtype) * np.abs(
        mats[-1]).max() * N_FEATURES
    not_symmetric = precisions.copy()
    not_symmetric.reshape(mats.shape)[-1, 0, 5] += 1.0
    not_finite = precisions.copy()
    not_finite.reshape(mats.shape)[-1, 3, 3] = np.inf
    for bad in (not_positive, not_symmetric, not_finite):
        with pytest.raises(ValueError, match=message):
            model.check_precisions(bad, 3, N_FEATURES)
    # The same answers as the eigenvalues (scikit-learn's check) away from 0.
    for mats_ in (precisions, not_positive, not_symmetric):
        expected = all(np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0)
                       for m in mats_.reshape(mats.shape))
        assert all(_stats.positive_definite(m) for m in mats_.reshape(mats.shape)) == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_start_conversions_match_numpy(large, dtype):
    rng = np.random.default_rng(1)
    precisions = _precisions(rng, 4, dtype).astype(np.float64)
    model = _covariance.get("full")
    factors = model.precision_cholesky_from_precisions(precisions)
    expected = np.linalg.cholesky(precisions[:, ::-1, ::-1])[:, ::-1, ::-1]
    np.testing.assert_allclose(factors, expected, rtol=0,
                               atol=reference.RTOL[np.float64] * np.abs(expected).max())
    np.testing.assert_array_equal(np.tril(factors, -1), 0.0)
    covariances = model.start_covariances(precisions, factors)
    inverse = np.linalg.inv(precisions)
    np.testing.assert_allclose(covariances, inverse, rtol=0,
                               atol=reference.INVERSE_RTOL[np.float64] * np.abs(inverse).max())
    np.testing.assert_array_equal(covariances, np.swapaxes(covariances, 1, 2))
    products = model.precisions_from_cholesky(factors)
    np.testing.assert_allclose(products, precisions, rtol=0,
                               atol=reference.RTOL[np.float64] * np.abs(precisions).max())
    np.testing.assert_array_equal(products, np.swapaxes(products, 1, 2))
    tied = _covariance.get("tied")
    np.testing.assert_allclose(tied.start_covariances(precisions[0], factors[0]), inverse[0],
                               rtol=0, atol=reference.INVERSE_RTOL[np.float64]
                               * np.abs(inverse[0]).max())
    np.testing.assert_allclose(tied.precisions_from_cholesky(factors[0]), precisions[0],
                               rtol=0, atol=reference.RTOL[np.float64]
                               * np.abs(precisions[0]).max())
    bad = precisions.copy()
    bad[2] = -bad[2]
    with pytest.raises(np.linalg.LinAlgError):
        model.precision_cholesky_from_precisions(bad)


@pytest.mark.parametrize("block_bytes", [1, None])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_precisions_in_another_dtype_are_the_float64_ones_rounded(block_bytes,
                                                                  covariance_type,
                                                                  monkeypatch):
    """``precisions_from_cholesky(factors, dtype=float32)``: the float64
    precisions rounded to float32, bit for bit, component by component beyond
    ``MSTEP_BLOCK_BYTES`` (1) and whole below it (the default); an overflow
    gives inf, without a warning (the estimator checks the values). And
    ``precision_cholesky_from_precisions(float32 precisions, dtype=float64)``
    gives the factors of the float64 conversion, bit for bit."""
    if block_bytes is not None:
        monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(2)
    model = _covariance.get(covariance_type)
    precisions = _precisions(rng, 3, np.float64)
    factors = {
        "full": lambda: model.precision_cholesky_from_precisions(precisions),
        "tied": lambda: model.precision_cholesky_from_precisions(precisions[0]),
        "diag": lambda: rng.uniform(0.5, 2.0, size=(3, N_FEATURES)),
        "spherical": lambda: rng.uniform(0.5, 2.0, size=3),
    }[covariance_type]()
    expected = model.precisions_from_cholesky(factors)
    got = model.precisions_from_cholesky(factors, dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = model.precisions_from_cholesky(factors * 1e30, dtype=np.float32)
    assert np.isinf(huge).any()
    # And back: the factors in float64 of float32 precisions, each matrix
    # converted as it is copied, are those of the converted precisions.
    precisions32 = expected.astype(np.float32)
    converted = precisions32.astype(np.float64)
    np.testing.assert_array_equal(
        model.precision_cholesky_from_precisions(precisions32, dtype=np.float64),
        model.precision_cholesky_from_precisions(converted))
    # The path is that of the converted batch's size: float32 within the
    # block, float64 beyond it.
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", precisions32.nbytes)
    np.testing.assert_array_equal(
        model.precision_cholesky_from_precisions(precisions32, dtype=np.float64),
        model.precision_cholesky_from_precisions(converted))


def test_tied_covariances_from_stats_with_nk_reg():
    """The tied M-step's one syr2k against the formula written out."""
    rng = np.random.default_rng(2)
    n_components, n_features = 3, 7
    D = rng.normal(size=(50, n_features))
    sxx = np.triu(D.T @ D)
    nk = rng.uniform(5, 20, size=n_components)
    sx = rng.normal(size=(n_components, n_features))
    ref = rng.normal(size=(n_components, n_features))
    shift = rng.normal(size=n_features)
    nk_reg = 0.25
    stats = _stats.Stats(0.0, 50.0, nk, sx, sxx, ref, shift)
    nk_total = nk + nk_reg
    delta = sx / nk_total[:, None]
    means = ref + delta
    got = _covariance.get("tied").covariances_from_stats(stats, means, delta, nk_total,
                                                        1e-3, nk_reg)
    centred = means - shift
    cross = nk_reg * centred.T @ delta
    expected = (sxx + np.triu(sxx, 1).T - (nk[:, None] * centred).T @ centred - cross
                - cross.T) / nk_total.sum() + 1e-3 * np.eye(n_features)
    np.testing.assert_allclose(got, expected, rtol=reference.RTOL[np.float64],
                               atol=reference.RTOL[np.float64] * np.abs(expected).max())
    np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_fit_from_precisions_init_same_bits_and_sklearn(large, covariance_type, dtype):
    rng = np.random.default_rng(3)
    X, _ = reference.make_blobs(rng, 400, N_FEATURES, 3, dtype=dtype, spread=1.5)
    precisions = _precisions(rng, 3, np.float64) * 0.05
    if covariance_type == "tied":
        precisions = precisions[0]
    kwargs = dict(covariance_type=covariance_type, max_iter=3, tol=0.0,
                  means_init=X[:3].astype(dtype), weights_init=np.full(3, 1 / 3),
                  precisions_init=precisions.astype(dtype), reg_covar=1e-3)
    fits = [GaussianMixture(3, n_threads=n_threads, **kwargs).fit(X) for n_threads in (1, 2)]
    names = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")
    for name in names:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
        assert getattr(fits[0], name).dtype == dtype
    assert fits[0].lower_bound_ == fits[1].lower_bound_
    theirs = skm.GaussianMixture(3, **kwargs).fit(X)
    rtol = reference.SKLEARN_RTOL[dtype]
    for name in names:
        a, b = getattr(fits[0], name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    # max_iter=0 keeps the start: its covariances from the factors.
    start = GaussianMixture(3, **{**kwargs, "max_iter": 0}).fit(X)
    inverse = np.linalg.inv(precisions.astype(dtype).astype(np.float64))
    np.testing.assert_allclose(start.covariances_, inverse, rtol=0,
                               atol=reference.INVERSE_RTOL[dtype] * np.abs(inverse).max())


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_fit_from_precisions_init_does_not_invert_them(monkeypatch, covariance_type):
    # The first M-step replaces the start's covariances before anything reads
    # them (the passes read the precision factors): only a fit without
    # iterations computes them, as its covariances_.
    model = type(_covariance.get(covariance_type))
    calls = []
    for name in ("start_covariances", "covariances_from_precisions"):
        def spy(self, *args, _original=getattr(model, name), _name=name):
            calls.append(_name)
            return _original(self, *args)
        monkeypatch.setattr(model, name, spy)
    rng = np.random.default_rng(4)
    X, _ = reference.make_blobs(rng, 300, 4, 2)
    precisions = {"full": np.stack([np.eye(4)] * 2), "tied": np.eye(4),
                  "diag": np.ones((2, 4)), "spherical": np.ones(2)}[covariance_type]
    kwargs = dict(covariance_type=covariance_type, means_init=X[:2],
                  weights_init=np.full(2, 0.5), precisions_init=precisions)
    GaussianMixture(2, max_iter=2, **kwargs).fit(X)
    assert calls == []
    start = GaussianMixture(2, max_iter=0, **kwargs).fit(X)
    assert calls
    np.testing.assert_allclose(start.covariances_, 1.0 / precisions
                               if covariance_type in ("diag", "spherical")
                               else np.linalg.inv(precisions), rtol=1e-12)
