"""The large-d pass of full covariances (BLAS-3 on blocks of rows, ``fastgmm._blocked``).

The pass runs from ``_config.BLAS_PASS_MIN_FEATURES`` features on; the tests
lower that threshold (and the block size) so that they stay small and fast,
and check the pass against the dense reference, against the Numba kernels,
against scikit-learn, and for the same bits on one and two threads.
"""

import numpy as np
import pytest
from sklearn import mixture as skm

import reference
from fastgmm import GaussianMixture, _blocked, _config, _covariance, _em, _stats, _threads

pytestmark = pytest.mark.filterwarnings("ignore:Best performing initialization")

N_FEATURES = 12
N_COMPONENTS = 3


@pytest.fixture
def blas_pass(monkeypatch):
    """The BLAS pass for every d, on blocks of 128 rows (several blocks and a
    partial one for the data below)."""
    monkeypatch.setattr(_config, "BLAS_PASS_MIN_FEATURES", 1)
    monkeypatch.setattr(_config, "BLAS_PASS_CHUNK_SIZE", 128)


def _problem(dtype, seed=0, n_samples=700):
    rng = np.random.default_rng(seed)
    X, _ = reference.make_blobs(rng, n_samples, N_FEATURES, N_COMPONENTS, dtype=dtype,
                                spread=1.5)
    weights, means, cov = reference.random_parameters(rng, X, N_COMPONENTS, "full")
    params = _stats.Params(weights, means, cov,
                           _covariance.compute_precision_cholesky(cov, "full"))
    sample_weight = rng.uniform(0.0, 2.0, size=n_samples)
    sample_weight[::9] = 0.0
    return X, params, sample_weight


def _expected(X, params, ref, sample_weight, hard):
    """The pass's statistics from the dense reference, around ``ref``."""
    X64 = np.asarray(X, dtype=np.float64)
    wlp = reference.weighted_log_prob(X64, params.weights, params.means,
                                      params.covariances, "full")
    norm, resp = reference.responsibilities(X64, params.weights, params.means,
                                            params.covariances, "full")
    if hard:
        resp = np.eye(N_COMPONENTS)[wlp.argmax(axis=1)]
        norm = wlp.max(axis=1)
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    r = resp * w[:, None]
    nk = r.sum(axis=0)
    sx = np.array([r[:, k] @ (X64 - ref[k]) for k in range(N_COMPONENTS)])
    terms = np.array([r[:, k] @ np.abs(X64 - ref[k]) for k in range(N_COMPONENTS)])
    sxx = np.array([(r[:, k, None] * (X64 - ref[k])).T @ (X64 - ref[k])
                    for k in range(N_COMPONENTS)])
    return float(w @ norm), nk, sx, terms, sxx


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("hard", [False, True])
def test_blas_pass_matches_reference(blas_pass, dtype, weighted, hard):
    X, params, sample_weight = _problem(dtype)
    weights = sample_weight if weighted else np.empty(0)
    stats = _em.em_pass(X, weights, params, "full", None, hard)
    loglik, nk, sx, terms, sxx = _expected(X, params, stats.ref,
                                           sample_weight if weighted else None, hard)
    rtol = reference.RTOL[dtype]
    np.testing.assert_allclose(stats.loglik, loglik, rtol=rtol)
    np.testing.assert_allclose(stats.nk, nk, rtol=rtol, atol=rtol * nk.max())
    assert np.all(np.abs(stats.sx - sx)
                  <= reference.CENTRED_SUM_TERMS_RTOL[dtype] * terms + 1e-300)
    upper = np.triu(np.ones((N_FEATURES, N_FEATURES), dtype=bool))
    np.testing.assert_allclose(stats.sxx[:, upper], sxx[:, upper], rtol=rtol,
                               atol=rtol * np.abs(sxx).max())
    assert np.all(stats.sxx[:, ~upper] == 0.0)
    assert stats.sxx.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_pass_matches_numba_pass(dtype, monkeypatch):
    X, params, sample_weight = _problem(dtype, seed=1)
    runs = []
    for threshold in (10**9, 1):
        monkeypatch.setattr(_config, "BLAS_PASS_MIN_FEATURES", threshold)
        runs.append(_em.em_pass(X, sample_weight, params, "full"))
    numba_pass, blas = runs
    rtol = reference.RTOL[dtype]
    np.testing.assert_allclose(blas.loglik, numba_pass.loglik, rtol=rtol)
    np.testing.assert_allclose(blas.nk, numba_pass.nk, rtol=rtol)
    np.testing.assert_allclose(blas.sxx, numba_pass.sxx, rtol=rtol,
                               atol=rtol * np.abs(numba_pass.sxx).max())


def test_dispatch_picks_both_paths(monkeypatch):
    """Below the threshold the Numba kernels run, from it on the BLAS pass."""
    X, params, _ = _problem(np.float64)
    calls = []
    real = _blocked.em_pass_full

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(_blocked, "em_pass_full", spy)
    for threshold, expected in ((N_FEATURES + 1, 0), (N_FEATURES, 1)):
        monkeypatch.setattr(_config, "BLAS_PASS_MIN_FEATURES", threshold)
        _em.em_pass(X, np.empty(0), params, "full")
        assert len(calls) == expected
    assert _covariance.get("full").blas_pass(_config.BLAS_PASS_MIN_FEATURES)
    assert not _covariance.get("full").blas_pass(_config.BLAS_PASS_MIN_FEATURES - 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_same_bits_on_one_and_two_threads(blas_pass, dtype, monkeypatch):
    # Beyond MSTEP_BLOCK_BYTES the precision factors are computed one
    # component per thread too.
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", 1)
    X, _, sample_weight = _problem(dtype, seed=2)
    fits = [GaussianMixture(N_COMPONENTS, covariance_type="full", max_iter=4, tol=0.0,
                            random_state=0, n_threads=n_threads).fit(X, sample_weight=sample_weight)
            for n_threads in (1, 2)]
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
        assert getattr(fits[0], name).dtype == dtype
    assert fits[0].lower_bound_ == fits[1].lower_bound_
    passes = []
    for n_threads in (1, 2):
        with _threads.thread_limit(n_threads):
            passes.append(_em.em_pass(X, np.empty(0), _stats.Params(
                fits[0].weights_, fits[0].means_, fits[0].covariances_,
                fits[0].precisions_cholesky_), "full"))
    for a, b in zip(passes[0][:5], passes[1][:5]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_at_threshold_matches_sklearn(dtype):
    """At the real threshold (no monkeypatch): the fit from a start matches
    scikit-learn's."""
    n_features = _config.BLAS_PASS_MIN_FEATURES
    rng = np.random.default_rng(3)
    X, _ = reference.make_blobs(rng, 600, n_features, N_COMPONENTS, dtype=dtype)
    start = reference.random_start(X, "full", N_COMPONENTS, seed=3)
    start = {key: np.asarray(value, dtype=dtype) for key, value in start.items()}
    kwargs = dict(covariance_type="full", max_iter=3, tol=0.0, reg_covar=1e-2, **start)
    ours = GaussianMixture(N_COMPONENTS, **kwargs).fit(X)
    theirs = skm.GaussianMixture(N_COMPONENTS, **kwargs).fit(X)
    rtol = reference.SKLEARN_RTOL[dtype]
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    assert ours.means_.dtype == dtype


def test_blas_pass_of_integer_and_strided_data(blas_pass):
    """X that is not float (converted a block at a time) or not C-contiguous."""
    X, params, _ = _problem(np.float64, seed=4)
    Xi = np.round(X * 4).astype(np.int32)
    expected = _em.em_pass(np.asarray(Xi, dtype=np.float64), np.empty(0), params, "full")
    for data in (Xi, np.asfortranarray(Xi.astype(np.float64))):
        got = _em.em_pass(data, np.empty(0), params, "full")
        assert got.loglik == expected.loglik
        np.testing.assert_array_equal(got.sxx, expected.sxx)


def test_map_components_order_and_threads():
    for n_threads in (1, 2, 5):
        assert _blocked.map_components(lambda k: k * k, 4, n_threads) == [0, 1, 4, 9]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conversions_one_component_per_thread(dtype, monkeypatch):
    """Beyond MSTEP_BLOCK_BYTES: covariances from precisions by Cholesky
    (numpy's inverse for a matrix that is not positive definite) and
    precisions from factors, against numpy."""
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", 1)
    rng = np.random.default_rng(5)
    A = rng.normal(size=(4, 30, 60))
    precisions = (A @ np.swapaxes(A, 1, 2) / 60 + 0.1 * np.eye(30)).astype(dtype)
    precisions[2] = -precisions[2]
    model = _covariance.get("full")
    got = model.covariances_from_precisions(precisions)
    expected = np.linalg.inv(precisions.astype(np.float64))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=reference.INVERSE_RTOL[dtype] * np.abs(expected).max())
    np.testing.assert_array_equal(got[[0, 1, 3]], np.swapaxes(got[[0, 1, 3]], 1, 2))
    # Upper-triangular factors, as precisions_cholesky_ (the product reads
    # their upper triangles only).
    factors = np.linalg.cholesky(precisions[[0, 1, 3], ::-1, ::-1])[:, ::-1, ::-1]
    # (LAPACK's lauum sums in another order than the product: entries that
    # cancel are compared to the largest.)
    products = factors @ np.swapaxes(factors, 1, 2)
    np.testing.assert_allclose(model.precisions_from_cholesky(factors), products,
                               rtol=reference.RTOL[dtype],
                               atol=reference.RTOL[dtype] * np.abs(products).max())
