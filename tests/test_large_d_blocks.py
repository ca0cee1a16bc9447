"""The large-d passes of 'tied', 'diag' and 'spherical' (BLAS-3 on blocks of
rows, ``fastgmm._blocked.em_pass_tied`` / ``em_pass_diag``).

They run from ``_config.BLAS_TIED_MIN_FEATURES`` features ('tied') and from
``_config.BLAS_DIAG_MIN_FEATURES`` features and
``_config.BLAS_DIAG_MIN_COMPONENTS`` components (and, on AVX-512 hosts,
``BLAS_DIAG_MIN_WORK`` components times features: 'diag'; 'spherical' from
``BLAS_SPHERICAL_MIN_FEATURES`` features and ``BLAS_SPHERICAL_MIN_WORK``
components times features); the
tests lower those
thresholds and the block sizes so that they stay small and fast, and check
the passes against the dense reference (the statistics the Numba passes
return, around the same centres), against the Numba passes, and for the same
bits on one and two threads.
"""

import numpy as np
import pytest

import reference
from fastgmm import GaussianMixture, _blocked, _config, _covariance, _em, _stats, _threads

pytestmark = pytest.mark.filterwarnings("ignore:Best performing initialization")

N_FEATURES = 12
N_COMPONENTS = 3
TYPES = ("tied", "diag", "spherical")


def _set_paths(monkeypatch, on):
    value = 1 if on else 10**9
    for name in ("BLAS_TIED_MIN_FEATURES", "BLAS_DIAG_MIN_FEATURES", "BLAS_DIAG_MIN_COMPONENTS",
                 "BLAS_DIAG_MIN_WORK", "BLAS_SPHERICAL_MIN_FEATURES", "BLAS_SPHERICAL_MIN_WORK",
                 "BLAS_SPHERICAL_WIDE_FEATURES", "BLAS_SPHERICAL_LARGE_WORK_MIN_FEATURES",
                 "BLAS_SPHERICAL_LARGE_WORK"):
        monkeypatch.setattr(_config, name, value)


@pytest.fixture
def blas_pass(monkeypatch):
    """The BLAS passes for every shape, on blocks of 128 rows (several blocks
    and a partial one for the data below)."""
    _set_paths(monkeypatch, True)
    monkeypatch.setattr(_config, "BLAS_PASS_CHUNK_SIZE", 128)
    monkeypatch.setattr(_config, "BLAS_TIED_CHUNK_SIZE", 128)


def _problem(covariance_type, dtype, seed=0, n_samples=700):
    rng = np.random.default_rng(seed)
    X, _ = reference.make_blobs(rng, n_samples, N_FEATURES, N_COMPONENTS, dtype=dtype,
                                spread=1.5)
    weights, means, cov = reference.random_parameters(rng, X, N_COMPONENTS,
                                                      covariance_type)
    params = _stats.Params(weights, means, cov,
                           _covariance.compute_precision_cholesky(cov, covariance_type))
    sample_weight = rng.uniform(0.0, 2.0, size=n_samples)
    sample_weight[::9] = 0.0
    return X, params, sample_weight


def _expected(X, params, covariance_type, stats, sample_weight, hard):
    """The pass's statistics from the dense reference, around the pass's
    centres (``stats.ref``) and, for 'tied', its shift."""
    X64 = np.asarray(X, dtype=np.float64)
    args = (X64, params.weights, params.means, params.covariances, covariance_type)
    wlp = reference.weighted_log_prob(*args)
    norm, resp = reference.responsibilities(*args)
    if hard:
        resp = np.eye(N_COMPONENTS)[wlp.argmax(axis=1)]
        norm = wlp.max(axis=1)
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    r = resp * w[:, None]
    nk = r.sum(axis=0)
    ref = stats.ref
    sx = np.array([r[:, k] @ (X64 - ref[k]) for k in range(N_COMPONENTS)])
    terms = np.array([r[:, k] @ np.abs(X64 - ref[k]) for k in range(N_COMPONENTS)])
    if covariance_type == "tied":
        D = X64 - stats.shift
        sxx = np.triu((w[:, None] * D).T @ D)
    else:
        sxx = np.array([r[:, k] @ (X64 - ref[k]) ** 2 for k in range(N_COMPONENTS)])
    return float(w @ norm), nk, sx, terms, sxx


# The 'diag' pass takes a block's statistics from its nonzero
# responsibilities alone when few are (_blocked._SPARSE_FRACTION): 0 forces
# that path, a huge value the GEMMs around the common centre.
STATS_PATHS = {"entries": 0, "gemm": 10**12}


@pytest.mark.parametrize("covariance_type,stats_path", [
    ("tied", "gemm"), ("diag", "gemm"), ("diag", "entries"), ("spherical", "gemm"),
    ("spherical", "entries")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("hard", [False, True])
def test_blas_pass_matches_reference(blas_pass, covariance_type, stats_path, dtype,
                                     weighted, hard, monkeypatch):
    monkeypatch.setattr(_blocked, "_SPARSE_FRACTION", STATS_PATHS[stats_path])
    X, params, sample_weight = _problem(covariance_type, dtype)
    weights = sample_weight if weighted else np.empty(0)
    stats = _em.em_pass(X, weights, params, covariance_type, None, hard)
    loglik, nk, sx, terms, sxx = _expected(X, params, covariance_type, stats,
                                           sample_weight if weighted else None, hard)
    rtol = reference.RTOL[dtype]
    np.testing.assert_allclose(stats.loglik, loglik, rtol=rtol)
    np.testing.assert_allclose(stats.nk, nk, rtol=rtol, atol=rtol * nk.max())
    # The sums around a common centre, turned into sums around the means,
    # cancel (see em_pass_diag): within RTOL of the terms' magnitude.
    assert np.all(np.abs(stats.sx - sx) <= rtol * terms + 1e-300)
    assert stats.sxx.dtype == np.float64
    assert stats.sxx.shape == sxx.shape
    if covariance_type == "spherical":
        sxx = _pooled(sxx)
        # Pooled: the same value in every feature of a component.
        np.testing.assert_array_equal(stats.sxx, stats.sxx[:, :1] + 0 * stats.sxx)
    np.testing.assert_allclose(stats.sxx, sxx, rtol=rtol, atol=rtol * np.abs(sxx).max())


def _pooled(sxx):
    """'spherical''s per-feature scatters as its BLAS pass returns them:
    each component's sum over the features, divided by their number, in
    every feature (its M-step reads only the sums)."""
    return np.repeat(sxx.mean(axis=1, keepdims=True), sxx.shape[1], axis=1)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows_first", [True, False])
def test_blas_pass_matches_numba_pass(covariance_type, dtype, rows_first, monkeypatch):
    # Both orientations of the log-densities' GEMM (_blocked._scores).
    monkeypatch.setattr(_config, "BLAS_SCORES_ROWS_FIRST_MAX_COMPONENTS",
                        N_COMPONENTS if rows_first else 0)
    X, params, sample_weight = _problem(covariance_type, dtype, seed=1)
    runs = []
    for on in (False, True):
        _set_paths(monkeypatch, on)
        runs.append(_em.em_pass(X, sample_weight, params, covariance_type))
    numba_pass, blas = runs
    rtol = reference.RTOL[dtype]
    np.testing.assert_allclose(blas.loglik, numba_pass.loglik, rtol=rtol)
    np.testing.assert_allclose(blas.nk, numba_pass.nk, rtol=rtol)
    np.testing.assert_array_equal(blas.ref, numba_pass.ref)
    np.testing.assert_array_equal(blas.shift, numba_pass.shift)
    expected = _pooled(numba_pass.sxx) if covariance_type == "spherical" else numba_pass.sxx
    np.testing.assert_allclose(blas.sxx, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("covariance_type", TYPES)
def test_dispatch_picks_both_paths(covariance_type, monkeypatch):
    """Below the thresholds the Numba kernels run, from them on the BLAS pass."""
    X, params, _ = _problem(covariance_type, np.float64)
    name = "em_pass_tied" if covariance_type == "tied" else "em_pass_diag"
    calls = []
    real = getattr(_blocked, name)

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(_blocked, name, spy)
    min_features = {"tied": "BLAS_TIED_MIN_FEATURES", "diag": "BLAS_DIAG_MIN_FEATURES",
                    "spherical": "BLAS_SPHERICAL_MIN_FEATURES"}[covariance_type]
    monkeypatch.setattr(_config, "BLAS_DIAG_MIN_COMPONENTS", N_COMPONENTS)
    monkeypatch.setattr(_config, "BLAS_DIAG_MIN_WORK", N_COMPONENTS * N_FEATURES)
    monkeypatch.setattr(_config, "BLAS_SPHERICAL_MIN_WORK", N_COMPONENTS * N_FEATURES)
    for threshold, expected in ((N_FEATURES + 1, 0), (N_FEATURES, 1)):
        monkeypatch.setattr(_config, min_features, threshold)
        _em.em_pass(X, np.empty(0), params, covariance_type)
        assert len(calls) == expected
    model = _covariance.get(covariance_type)
    if covariance_type == "diag":
        # diag needs enough components too.
        monkeypatch.setattr(_config, "BLAS_DIAG_MIN_COMPONENTS", N_COMPONENTS + 1)
        assert not model.blas_pass(N_FEATURES, N_COMPONENTS)
        assert model.blas_pass(N_FEATURES, N_COMPONENTS + 1)
        # From BLAS_DIAG_WIDE_FEATURES features on, half as many components.
        monkeypatch.setattr(_config, "BLAS_DIAG_MIN_COMPONENTS", 2 * N_COMPONENTS)
        monkeypatch.setattr(_config, "BLAS_DIAG_WIDE_FEATURES", N_FEATURES + 1)
        assert not model.blas_pass(N_FEATURES, N_COMPONENTS)
        assert model.blas_pass(N_FEATURES + 1, N_COMPONENTS)
        # And (AVX-512 hosts) enough components times features.
        monkeypatch.setattr(_config, "BLAS_DIAG_MIN_WORK", N_COMPONENTS * (N_FEATURES + 1) + 1)
        assert not model.blas_pass(N_FEATURES + 1, N_COMPONENTS)
        assert model.blas_pass(N_FEATURES + 1, N_COMPONENTS + 1)
    if covariance_type == "spherical":
        # spherical needs enough components times features too, below
        # BLAS_SPHERICAL_WIDE_FEATURES features.
        monkeypatch.setattr(_config, "BLAS_SPHERICAL_MIN_WORK", N_COMPONENTS * N_FEATURES + 1)
        monkeypatch.setattr(_config, "BLAS_SPHERICAL_WIDE_FEATURES", 10 * N_FEATURES)
        assert not model.blas_pass(N_FEATURES, N_COMPONENTS)
        assert model.blas_pass(N_FEATURES, N_COMPONENTS + 1)
        assert model.blas_pass(N_FEATURES + 1, N_COMPONENTS)
        # 'EII' (one variance for all) runs the same pass.
        assert _covariance.get("EII").blas_pass(N_FEATURES + 1, N_COMPONENTS)
        assert not _covariance.get("EII").blas_pass(N_FEATURES, N_COMPONENTS)
        monkeypatch.setattr(_config, "BLAS_SPHERICAL_WIDE_FEATURES", N_FEATURES)
        assert model.blas_pass(N_FEATURES, 1)
        assert not model.blas_pass(N_FEATURES - 1, 1)
        # (AVX-512 hosts) from fewer features where components times
        # features reach BLAS_SPHERICAL_LARGE_WORK.
        monkeypatch.setattr(_config, "BLAS_SPHERICAL_LARGE_WORK_MIN_FEATURES", N_FEATURES - 2)
        monkeypatch.setattr(_config, "BLAS_SPHERICAL_LARGE_WORK", (N_FEATURES - 2) * 8)
        assert model.blas_pass(N_FEATURES - 2, 8)
        assert not model.blas_pass(N_FEATURES - 2, 7)
        assert not model.blas_pass(N_FEATURES - 3, 100)
        if _config.HOST_AVX512:
            monkeypatch.undo()
            assert model.blas_pass(256, 256) and not model.blas_pass(256, 192)
            assert not model.blas_pass(384, 128) and model.blas_pass(384, 256)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_same_bits_on_one_and_two_threads(blas_pass, covariance_type, dtype,
                                              monkeypatch):
    # Blocks of both kinds of statistics (see STATS_PATHS) in one pass: at
    # most 8/9 of their responsibilities nonzero takes the sparse path,
    # which about a third of this data's blocks do (counted below).
    monkeypatch.setattr(_blocked, "_SPARSE_FRACTION", 1.125)
    kinds = []
    real_scores, real_sparse = _blocked._scores, _blocked._centred_moments

    def scores(*args):
        kinds.append("block")
        return real_scores(*args)

    def sparse(*args):
        kinds.append("sparse")
        return real_sparse(*args)

    monkeypatch.setattr(_blocked, "_scores", scores)
    monkeypatch.setattr(_blocked, "_centred_moments", sparse)
    X, _, sample_weight = _problem(covariance_type, dtype, seed=2)
    fits = [GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, max_iter=4,
                            tol=0.0, random_state=0, n_threads=n_threads)
            .fit(X, sample_weight=sample_weight) for n_threads in (1, 2)]
    if covariance_type != "tied":
        assert 0 < kinds.count("sparse") < kinds.count("block")
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
        assert getattr(fits[0], name).dtype == dtype
    assert fits[0].lower_bound_ == fits[1].lower_bound_
    passes = []
    for n_threads in (1, 2):
        with _threads.thread_limit(n_threads):
            passes.append(_em.em_pass(X, sample_weight, _stats.Params(
                fits[0].weights_, fits[0].means_, fits[0].covariances_,
                fits[0].precisions_cholesky_), covariance_type))
    for a, b in zip(passes[0][:5], passes[1][:5]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_matches_numba_fit(covariance_type, dtype, monkeypatch):
    """Whole fits by the two paths from the same start agree (a few EM steps)."""
    X, _, _ = _problem(covariance_type, dtype, seed=3)
    start = reference.random_start(X, covariance_type, N_COMPONENTS, seed=3)
    fits = []
    for on in (False, True):
        _set_paths(monkeypatch, on)
        fits.append(GaussianMixture(N_COMPONENTS, covariance_type=covariance_type,
                                    max_iter=3, tol=0.0, reg_covar=1e-3, **start).fit(X))
    _assert_fits_agree(*fits, reference.SKLEARN_RTOL[dtype])


def _assert_fits_agree(numba_fit, blas_fit, rtol):
    """Fits by the Numba and the BLAS passes agree within ``rtol`` (of the
    largest entry, for the arrays)."""
    for name in ("weights_", "means_", "covariances_"):
        a, b = getattr(blas_fit, name), getattr(numba_fit, name)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    np.testing.assert_allclose(blas_fit.lower_bound_, numba_fit.lower_bound_, rtol=rtol)


def test_blas_pass_of_integer_and_strided_data(blas_pass):
    """X that is not float (converted a block at a time) or not C-contiguous."""
    for covariance_type in TYPES:
        X, params, _ = _problem(covariance_type, np.float64, seed=4)
        Xi = np.round(X * 4).astype(np.int32)
        expected = _em.em_pass(np.asarray(Xi, dtype=np.float64), np.empty(0), params,
                               covariance_type)
        for data in (Xi, np.asfortranarray(Xi.astype(np.float64))):
            got = _em.em_pass(data, np.empty(0), params, covariance_type)
            assert got.loglik == expected.loglik
            np.testing.assert_array_equal(got.sx, expected.sx)
            np.testing.assert_array_equal(got.sxx, expected.sxx)


@pytest.mark.parametrize("estimator", ["EII", "bayesian"])
@pytest.mark.parametrize("stats_path", list(STATS_PATHS))
def test_pooled_spherical_scatters_serve_every_reader(estimator, stats_path, monkeypatch):
    """'spherical''s BLAS pass returns its scatters pooled over the features
    (em_pass_diag): 'EII' (one variance for all) and the variational fit read
    them too, and agree with the Numba pass's per-feature scatters."""
    from fastgmm import BayesianGaussianMixture

    monkeypatch.setattr(_config, "BLAS_PASS_CHUNK_SIZE", 128)
    monkeypatch.setattr(_blocked, "_SPARSE_FRACTION", STATS_PATHS[stats_path])
    X, _, _ = _problem("spherical", np.float64, seed=5)
    calls = []
    real = _blocked.em_pass_diag

    def spy(*args, **kwargs):
        calls.append(kwargs.get("spherical"))
        return real(*args, **kwargs)

    monkeypatch.setattr(_blocked, "em_pass_diag", spy)
    fits = []
    for on in (False, True):
        _set_paths(monkeypatch, on)
        if estimator == "EII":
            model = GaussianMixture(N_COMPONENTS, covariance_type="EII", max_iter=3, tol=0.0,
                                    random_state=0)
        else:
            model = BayesianGaussianMixture(n_components=N_COMPONENTS,
                                            covariance_type="spherical", max_iter=3, tol=0.0,
                                            random_state=0)
        fits.append(model.fit(X))
        # Only the second fit runs the BLAS pass, for 'spherical'.
        assert bool(calls) == on and all(calls)
    _assert_fits_agree(*fits, reference.SKLEARN_RTOL[np.float64])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_moment_kernels_against_numpy(dtype):
    """The statistics of a sparse block from its nonzero entries, per feature
    ('diag') and summed over the features ('spherical'), against dense numpy
    sums (float64 deviations of the rows from the float64 means)."""
    from fastgmm._kernels.moments import centred_moments, centred_moments_pooled

    rng = np.random.default_rng(6)
    n_rows, n_features, n_components = 40, 21, 5
    X = (rng.normal(size=(n_rows, n_features)) * 3 + 50).astype(dtype)
    means = rng.normal(size=(n_components, n_features)) + 50
    R = np.where(rng.random((n_components, n_rows)) < 0.3, rng.random((n_components, n_rows)),
                 0.0)
    comp, rows = np.nonzero(R)
    r = np.ascontiguousarray(R[comp, rows])
    D = X.astype(np.float64)[None] - means[:, None]  # (K, n, d)
    sx_ref = np.einsum("kb,kbi->ki", R, D)
    sxx_ref = np.einsum("kb,kbi->ki", R, D * D)
    sx, sxx = np.zeros((n_components, n_features)), np.zeros((n_components, n_features))
    centred_moments(X, means, r, comp, rows, sx, sxx)
    np.testing.assert_allclose(sx, sx_ref, rtol=1e-12, atol=1e-12 * np.abs(sx_ref).max())
    np.testing.assert_allclose(sxx, sxx_ref, rtol=1e-12)
    sx2, total = np.zeros((n_components, n_features)), np.zeros(n_components)
    centred_moments_pooled(X, means, r, comp, rows, sx2, total)
    np.testing.assert_allclose(sx2, sx_ref, rtol=1e-12, atol=1e-12 * np.abs(sx_ref).max())
    np.testing.assert_allclose(total, sxx_ref.sum(axis=1), rtol=1e-12)
