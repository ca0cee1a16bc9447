"""Large full-covariance models: memory, the precision factors, the refusal.

Memory is measured with tracemalloc, which sees numpy's allocations (the
driver's arrays, the M-step, the start), not those Numba makes inside a
kernel (per-block scratch). The model's parameter size is
``P = 8 (K + K d + K d^2)`` bytes: weights, means and covariances in float64.
"""

import gc
import time
import tracemalloc
import warnings
import weakref

import numba
import numpy as np
import pytest
from scipy.linalg import solve_triangular
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import reference
from fastgmm import (GaussianMixture, _config, _covariance, _em, _memory, _stats, _threads,
                     model_selection, select_model)
from fastgmm._kernels.logprob import ROW_PAD
from helpers import traced_peak

# Precision factors from LAPACK's triangular inverse against a triangular
# solve of scipy: both backward stable, on covariances of condition number
# below ~1e3, agree to ~1e-15 relative to the largest entry.
FACTOR_RTOL = reference.FACTOR_RTOL


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # OpenBLAS's threaded Cholesky of a 300 x 300 matrix took 0.5 s instead
    # of 1 ms on a loaded 2-core machine (its threads spin); memory and
    # results do not depend on it.
    with threadpool_limits(1):
        yield


def _spd(rng, n_components, n_features):
    A = rng.normal(size=(n_components, n_features, 2 * n_features))
    return A @ np.swapaxes(A, 1, 2) / n_features + 0.1 * np.eye(n_features)


def _model_bytes(n_components, n_features):
    return 8 * (n_components + n_components * n_features
                + n_components * n_features * n_features)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("block_bytes", [2**20, 1])
def test_precision_cholesky_matches_triangular_solve(covariance_type, block_bytes,
                                                     monkeypatch):
    # Within MSTEP_BLOCK_BYTES the batch is solved whole by numpy; beyond it,
    # one component at a time by LAPACK's triangular inverse.
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(0)
    cov = _spd(rng, 3, 40)
    if covariance_type == "tied":
        cov = cov[0]
    prec_chol, failed = _covariance.get(covariance_type).precision_cholesky(cov)
    batch = cov if covariance_type == "full" else cov[None]
    expected = np.array([solve_triangular(np.linalg.cholesky(c), np.eye(c.shape[0]),
                                          lower=True).T for c in batch])
    got = prec_chol if covariance_type == "full" else prec_chol[None]
    assert not failed.any()
    assert got.flags.c_contiguous
    for g, e, c in zip(got, expected, batch):
        np.testing.assert_allclose(g, e, rtol=0, atol=FACTOR_RTOL * np.abs(e).max())
        assert np.all(np.tril(g, -1) == 0.0)
        np.testing.assert_allclose(g @ g.T, np.linalg.inv(c), rtol=0,
                                   atol=FACTOR_RTOL * np.abs(np.linalg.inv(c)).max())


@pytest.mark.parametrize("block_bytes", [2**20, 1])
def test_precision_cholesky_flags_the_failed_component_only(block_bytes, monkeypatch):
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(1)
    cov = _spd(rng, 3, 6)
    cov[1, 0, 0] = -1.0  # not positive definite
    prec_chol, failed = _covariance.get("full").precision_cholesky(cov)
    assert failed.tolist() == [False, True, False]
    assert np.all(np.isnan(prec_chol[1]))
    assert np.all(np.isfinite(prec_chol[[0, 2]]))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        _covariance.compute_precision_cholesky(cov, "full")


@pytest.mark.parametrize("block_bytes", [2**20, 1])
def test_precision_conversions_match_numpy(block_bytes, monkeypatch):
    monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(2)
    cov = _spd(rng, 3, 30)
    prec_chol = _covariance.compute_precision_cholesky(cov, "full")
    precisions = _covariance.get("full").precisions_from_cholesky(prec_chol)
    inv = np.linalg.inv(cov)
    np.testing.assert_allclose(precisions, inv, rtol=0, atol=FACTOR_RTOL * np.abs(inv).max())
    back = _covariance.get("full").precision_cholesky_from_precisions(precisions)
    np.testing.assert_allclose(back, prec_chol, rtol=0,
                               atol=FACTOR_RTOL * np.abs(prec_chol).max())


def test_precision_cholesky_allocates_only_its_result():
    # K x d x d arrays: the old solve against a broadcast identity held the
    # Cholesky factors, the identity and the solution (about 3 times the
    # result); one component at a time in place, only the result remains.
    cov = _spd(np.random.default_rng(3), 4, 200)
    _, peak = traced_peak(lambda: _covariance.get("full").precision_cholesky(cov))
    assert peak < 1.2 * cov.nbytes


def test_full_covariances_match_whole_array_expression(monkeypatch):
    """The M-step of full covariances, row block by row block, gives the bits of the
    whole-array expression it replaces."""
    rng = np.random.default_rng(4)
    n_components, n_features = 3, 37
    sxx = np.triu(rng.normal(size=(n_components, n_features, n_features)))
    sx, delta = rng.normal(size=(2, n_components, n_features))
    nk_raw = rng.uniform(1.0, 5.0, n_components)
    nk = nk_raw + 1e-15
    upper = np.triu(sxx)
    scatter = upper + np.swapaxes(np.triu(sxx, 1), -1, -2)
    cross = sx[:, :, None] * delta[:, None, :]
    expected = (scatter - cross - np.swapaxes(cross, 1, 2)
                + nk_raw[:, None, None] * delta[:, :, None] * delta[:, None, :])
    expected = expected / nk[:, None, None]
    expected[:, np.arange(n_features), np.arange(n_features)] += 1e-6
    for block_bytes in (1, 8 * n_features * 5, 2**20):
        monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
        got = _stats._full_covariances(sxx, sx, delta, nk_raw, nk, 1e-6)
        np.testing.assert_array_equal(got, expected)


def _moderate_problem():
    rng = np.random.default_rng(5)
    n_components, n_features, n_samples = 4, 300, 2000
    centres = rng.normal(scale=3.0, size=(n_components, n_features))
    X = centres[rng.integers(n_components, size=n_samples)] + rng.normal(
        size=(n_samples, n_features))
    return X, n_components


def _fit(X, n_components, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(n_components, covariance_type="full", tol=0.0, max_iter=2,
                               random_state=0, **kwargs).fit(X)


def _pass_scratch_bytes(n_samples, n_features, n_components):
    """What a pass of the components-parallel kernel allocates besides the
    statistics: a transposed block and the block's log-densities, two
    blocks of deviations per thread, and the per-block parts of nk, sx and
    the log-likelihood (``_kernels/em_pass.py``, ``_em.em_pass``)."""
    width = _config.pass_chunk_size(n_features) + ROW_PAD
    threads = numba.get_num_threads()
    n_blocks = -(-n_samples // _config.pass_chunk_size(n_features))
    return 8 * (width * (n_features + n_components + 2 * threads * n_features)
                + n_blocks * (1 + n_components * (1 + n_features)))


@pytest.mark.parametrize("init_params", ["random_from_data", "kmeans"])
def test_fit_peak_memory_within_three_model_sizes(init_params, monkeypatch):
    """A fit's traced peak beyond X: three arrays of the model's size at most.

    PART_BYTES is set below one block's scatters (K d^2 floats), the regime
    of large models, where the passes add into the statistics in place. The
    fitted model itself is 3 K d^2 floats (covariances, their factors and
    the precisions), and so is the M-step (scatters, covariances, factors):
    3.005 P measured. A pass holds two (the factors and the scatters) and
    the kernel's scratch, which depends on d and the threads, not on K or N
    (1.1 P at this small size, 0.05 P per thread at K=10, d=2000). The old
    code peaked at 9.9 P.
    """
    X, n_components = _moderate_problem()
    monkeypatch.setattr(_config, "PART_BYTES", 2**20)
    _fit(X[:300], n_components, init_params=init_params)  # compile outside the trace
    model, peak = traced_peak(lambda: _fit(X, n_components, init_params=init_params))
    size = _model_bytes(n_components, X.shape[1])
    scratch = _pass_scratch_bytes(*X.shape, n_components)
    assert model.n_iter_ == 2
    assert peak <= max(3.02 * size, 2.03 * size + scratch), (peak / size, scratch / size)
    # The estimate that check_fit_memory compares with the available memory
    # bounds what the fit allocates.
    assert peak <= _memory.fit_memory_bytes(*X.shape, n_components, "full",
                                            init_params=init_params)


def test_fit_peak_memory_with_default_part_budget():
    # With the default PART_BYTES (64 MiB, here more than one block's
    # scatters), the partial scatters add at most that much.
    X, n_components = _moderate_problem()
    _fit(X[:300], n_components, init_params="random_from_data")
    _, peak = traced_peak(lambda: _fit(X, n_components, init_params="random_from_data"))
    size = _model_bytes(n_components, X.shape[1])
    assert peak <= 3.1 * size + _config.PART_BYTES, peak / size


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accumulated_pass_equals_partial_sums(dtype, monkeypatch):
    """Blocks adding their scatters into the total (components in parallel) give
    the bits of the sum of one-block parts, for any number of threads."""
    rng = np.random.default_rng(6)
    n_components, n_features = 3, 13
    X = rng.normal(size=(1000, n_features)).astype(dtype)
    cov = _spd(rng, n_components, n_features)
    params = _stats.Params(np.full(n_components, 1 / n_components),
                           X[:n_components].astype(np.float64), cov,
                           _covariance.compute_precision_cholesky(cov, "full"))
    block_bytes = 8 * (1 + n_components * (1 + n_features) + cov.size)
    # One block per segment, its part added by the driver: the order of the sum.
    monkeypatch.setattr(_config, "PART_BYTES", block_bytes)
    parts = _em.em_pass(X, np.empty(0), params, "full", chunk_size=64)
    # Below one block's statistics: the scatters are added in place.
    monkeypatch.setattr(_config, "PART_BYTES", block_bytes - 1)
    runs = []
    for n_threads in (1, 2):
        with _threads.thread_limit(n_threads):
            runs.append(_em.em_pass(X, np.empty(0), params, "full", chunk_size=64))
    for accumulated in runs:
        np.testing.assert_array_equal(accumulated.sxx, parts.sxx)
        np.testing.assert_array_equal(accumulated.sx, runs[0].sx)
        np.testing.assert_array_equal(accumulated.nk, runs[0].nk)
        assert accumulated.loglik == runs[0].loglik
        np.testing.assert_allclose(accumulated.sx, parts.sx, rtol=reference.REORDER_RTOL,
                                   atol=reference.REORDER_ATOL)
        np.testing.assert_allclose(accumulated.loglik, parts.loglik,
                                   rtol=reference.POSITIVE_SUM_RTOL)


def test_large_model_refused_before_the_start(monkeypatch):
    # K=2000, d=500 full: one array of covariances is 3.73 GiB, and the fit
    # holds three. With 8 GiB available it must be refused at once, before
    # k-means or any K x d x d array.
    monkeypatch.delenv("FASTGMM_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(_memory, "available_memory", lambda: 8 * 2**30)
    X = np.random.default_rng(7).normal(size=(2000, 500))
    tick = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            GaussianMixture(2000, covariance_type="full").fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - tick < 5.0
    assert peak < 100 * 2**20
    message = str(info.value)
    array = 2000 * 500 * 500 * 8
    need = _memory.fit_memory_bytes(2000, 500, 2000, "full")
    assert 3 * array < need < 3.2 * array
    assert f"needs about {need / 2**30:.2f} GiB" in message
    assert "8.00 GiB is available" in message
    assert f"one array of the covariances is {array / 2**30:.2f} GiB" in message
    assert "covariance_type='diag'" in message
    assert "fewer components (n_components=" in message


def test_refusal_follows_the_limit(monkeypatch):
    X, n_components = _moderate_problem()
    X = np.ascontiguousarray(X[:500, :40])
    need = _memory.fit_memory_bytes(*X.shape, n_components, "full")
    monkeypatch.setenv("FASTGMM_MEMORY_LIMIT", str(need - 1))
    with pytest.raises(ValueError, match="needs about"):
        _fit(X, n_components)
    monkeypatch.setenv("FASTGMM_MEMORY_LIMIT", str(need))
    assert _fit(X, n_components).n_iter_ == 2
    monkeypatch.setenv("FASTGMM_MEMORY_LIMIT", "0")
    monkeypatch.setattr(_memory, "available_memory", lambda: 1)
    assert _fit(X, n_components).n_iter_ == 2


def test_moderate_model_not_refused_with_the_real_limit(monkeypatch):
    monkeypatch.delenv("FASTGMM_MEMORY_LIMIT", raising=False)
    X, n_components = _moderate_problem()
    assert _fit(X, n_components).n_iter_ == 2


def test_select_model_keeps_only_the_best_model(monkeypatch):
    """While the sweep runs, fitted models that are not the best so far (or the
    best of the current K, the cross-model start's source) are freed."""
    X = np.random.default_rng(8).normal(size=(300, 3))
    refs = []
    alive_before_fit = []
    fit = model_selection._fit_from_shared_starts

    def tracked(model, *args):
        gc.collect()
        alive_before_fit.append(sum(r() is not None for r in refs))
        refs.append(weakref.ref(model))
        return fit(model, *args)

    monkeypatch.setattr(model_selection, "_fit_from_shared_starts", tracked)
    selection = select_model(X, n_components=range(1, 3), random_state=0, max_iter=3)
    # 4 models x 2 K, and the cross-model start of the 3 others at K = 2.
    assert len(refs) == 11
    assert max(alive_before_fit) <= 2
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert alive == [selection.best_]
    best = int(np.nanargmin(selection.results_["bic"]))
    assert selection.best_params_ == {
        "n_components": int(selection.results_["n_components"][best]),
        "covariance_type": str(selection.results_["covariance_type"][best])}
