"""Property-based tests (hypothesis) of the invariants of EM and of the passes.

Shapes, dtypes, sample weights and covariance types are drawn; the data and
parameters come from a drawn seed (``reference.make_blobs`` and
``reference.random_parameters``), so every example is reproducible.

Tolerances (the table in ``reference.py``):

- bit-identical (``assert_array_equal``) for the thread count, which by
  design does not change the order of any sum;
- ``DRAWN_STATS_RTOL`` (with an absolute floor of that times the largest
  entry) for the chunk size and the point order, which change the order of
  the float64 sums and, for float32 data, of the float32 sums within a block;
- ``OUTPUT_RTOL`` for per-row outputs stored in the data's dtype;
- ``DRAWN_LL_DECREASE_RTOL``: the log-likelihood may fall by rounding only.
"""

import warnings
from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import reference as ref
from fastgmm import GaussianMixture, _config, _em, _threads
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._stats import Params

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
STATS_RTOL = ref.DRAWN_STATS_RTOL[np.float64]
STATS_RTOL_FLOAT32 = ref.DRAWN_STATS_RTOL[np.float32]
# Derandomized: the same examples on every run, so CI cannot fail by chance.
SETTINGS = dict(max_examples=12, deadline=None, derandomize=True, database=None)


@st.composite
def problems(draw, min_samples=20, max_samples=300):
    """(X, sample_weight, params, covariance_type) drawn from a seed."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_samples = draw(st.integers(min_samples, max_samples))
    n_features = draw(st.integers(1, 4))
    n_components = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    covariance_type = draw(st.sampled_from(COVARIANCE_TYPES))
    weighting = draw(st.sampled_from(["none", "positive", "with-zeros"]))
    rng = np.random.default_rng(seed)
    X, _ = ref.make_blobs(rng, n_samples, n_features, n_components, dtype=dtype)
    if weighting == "none":
        sample_weight = np.empty(0)
    else:
        sample_weight = rng.uniform(0.1, 3.0, size=n_samples)
        if weighting == "with-zeros":
            sample_weight[rng.random(n_samples) < 0.3] = 0.0
            sample_weight[0] = 1.0
    return X, sample_weight, random_params(rng, X, n_components, covariance_type), \
        covariance_type


def random_params(rng, X, n_components, covariance_type):
    weights, means, cov = ref.random_parameters(rng, X, n_components, covariance_type)
    return Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))


def assert_stats_close(a, b, dtype):
    rtol = STATS_RTOL if dtype == np.float64 else STATS_RTOL_FLOAT32
    for name in a._fields:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        scale = max(1.0, float(np.max(np.abs(y))))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)


def permute_components(params, order, covariance_type):
    shared = covariance_type == "tied"
    return Params(params.weights[order], params.means[order],
                  params.covariances if shared else params.covariances[order],
                  params.precisions_chol if shared else params.precisions_chol[order])


@settings(**SETTINGS)
@given(problems())
def test_responsibilities_sum_to_one(problem):
    X, _, params, covariance_type = problem
    log_prob, log_resp = _em.log_resp(X, params, covariance_type)
    assert np.all(np.isfinite(log_prob)) and np.all(np.isfinite(log_resp))
    atol = ref.OUTPUT_RTOL[X.dtype.type]
    np.testing.assert_allclose(np.exp(log_resp.astype(np.float64)).sum(axis=1), 1.0,
                               atol=atol)


@settings(**SETTINGS)
@given(problems(), st.sampled_from([1, 7, 64, 100_000]))
def test_chunk_size_does_not_change_the_statistics(problem, chunk_size):
    X, sample_weight, params, covariance_type = problem
    assert_stats_close(_em.em_pass(X, sample_weight, params, covariance_type, chunk_size),
                       _em.em_pass(X, sample_weight, params, covariance_type, 256), X.dtype)
    np.testing.assert_allclose(
        _em.log_resp(X, params, covariance_type, chunk_size)[0],
        _em.log_resp(X, params, covariance_type, 256)[0], rtol=ref.REORDER_RTOL)


@settings(**SETTINGS)
@given(problems(), st.integers(0, 2**32 - 1))
def test_point_order_does_not_change_the_statistics(problem, seed):
    X, sample_weight, params, covariance_type = problem
    order = np.random.default_rng(seed).permutation(X.shape[0])
    shuffled_weight = sample_weight[order] if sample_weight.shape[0] else sample_weight
    assert_stats_close(
        _em.em_pass(np.ascontiguousarray(X[order]), shuffled_weight, params,
                    covariance_type, 16),
        _em.em_pass(X, sample_weight, params, covariance_type, 16), X.dtype)


# Rows per block of the thread-count test, and enough rows for at least
# PARALLEL_MIN_BLOCKS blocks: fewer run the serial twins, where the thread
# count has nothing to change.
THREAD_TEST_CHUNK = 16


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="Numba has one thread: there is no second thread count to compare")
@settings(**SETTINGS)
@given(problems(min_samples=THREAD_TEST_CHUNK * _config.PARALLEL_MIN_BLOCKS,
                max_samples=THREAD_TEST_CHUNK * _config.PARALLEL_MIN_BLOCKS + 200))
def test_thread_count_gives_bit_identical_results(problem):
    X, sample_weight, params, covariance_type = problem
    results = []
    pass_blocks = []

    def recording_pick_kernel(kernels, n_blocks):
        pass_blocks.append(n_blocks)
        return pick_kernel(kernels, n_blocks)

    pick_kernel = _threads.pick_kernel
    with mock.patch.object(_threads, "pick_kernel", recording_pick_kernel):
        for n_threads in (1, 2):
            with _threads.thread_limit(n_threads):
                stats = _em.em_pass(X, sample_weight, params, covariance_type,
                                    THREAD_TEST_CHUNK)
                log_prob = _em.log_resp(X, params, covariance_type, THREAD_TEST_CHUNK)[0]
            results.append((stats, log_prob))
    # Every kernel call was a parallel one.
    assert pass_blocks and min(pass_blocks) >= _config.PARALLEL_MIN_BLOCKS, pass_blocks
    (a, pa), (b, pb) = results
    for name in a._fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(pa, pb)


@settings(**SETTINGS)
@given(problems(), st.integers(0, 2**32 - 1))
def test_permuting_components_permutes_results(problem, seed):
    X, sample_weight, params, covariance_type = problem
    order = np.random.default_rng(seed).permutation(params.weights.shape[0])
    permuted = permute_components(params, order, covariance_type)
    rtol = ref.OUTPUT_RTOL[X.dtype.type]
    np.testing.assert_allclose(_em.weighted_log_prob(X, permuted, covariance_type),
                               _em.weighted_log_prob(X, params, covariance_type)[:, order],
                               rtol=rtol)
    a = _em.em_pass(X, sample_weight, permuted, covariance_type)
    b = _em.em_pass(X, sample_weight, params, covariance_type)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=STATS_RTOL)
    np.testing.assert_allclose(a.nk, b.nk[order], rtol=STATS_RTOL,
                               atol=STATS_RTOL * b.sum_weights)


@settings(**SETTINGS)
@given(problems(), st.floats(-1e3, 1e3))
def test_translating_the_data_translates_the_means(problem, shift):
    X, sample_weight, params, covariance_type = problem
    X = X.astype(np.float64)
    weight = sample_weight if sample_weight.shape[0] else None
    precisions = ref.precisions(params.covariances, covariance_type)
    kw = dict(n_components=params.weights.shape[0], covariance_type=covariance_type,
              weights_init=params.weights, precisions_init=precisions, max_iter=5,
              tol=0.0)
    base = GaussianMixture(means_init=params.means, **kw).fit(X, sample_weight=weight)
    moved = GaussianMixture(means_init=params.means + shift, **kw).fit(
        X + shift, sample_weight=weight)
    scale = 1.0 + abs(shift) + float(np.max(np.abs(X)))
    # Every component, an emptied one included: its mean stays where it was
    # (scikit-learn's sum(r x) / (sum(r) + 10 eps) would pull it to 0).
    np.testing.assert_allclose(moved.means_ - shift, base.means_, rtol=0,
                               atol=ref.TRANSLATION_ATOL * scale)
    np.testing.assert_allclose(moved.covariances_, base.covariances_,
                               rtol=ref.TRANSLATION_RTOL,
                               atol=ref.TRANSLATION_ATOL * scale)
    np.testing.assert_allclose(moved.weights_, base.weights_, rtol=ref.TRANSLATION_RTOL,
                               atol=ref.TRANSLATION_WEIGHTS_ATOL)


@settings(**SETTINGS)
@given(problems(min_samples=150), st.sampled_from(["random", "kmeans"]))
def test_log_likelihood_never_decreases_without_regularisation(problem, init_params):
    X, sample_weight, params, covariance_type = problem
    model = GaussianMixture(params.weights.shape[0], covariance_type=covariance_type,
                            reg_covar=0.0, tol=0.0, max_iter=15,
                            init_params=init_params, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, sample_weight=sample_weight if sample_weight.shape[0] else None)
    bounds = np.asarray(model.lower_bounds_, dtype=np.float64)
    assert np.all(np.isfinite(bounds))
    # The bounds are stored in X's dtype: float32 rounds them to ~1e-7.
    rtol = ref.DRAWN_LL_DECREASE_RTOL[X.dtype.type]
    assert np.all(np.diff(bounds) >= -rtol * np.maximum(1.0, np.abs(bounds[1:])))


@settings(**SETTINGS)
@given(problems())
def test_a_component_with_zero_weight_yields_no_nan(problem):
    X, sample_weight, params, covariance_type = problem
    assume(params.weights.shape[0] >= 2)
    weights = params.weights.copy()
    weights[0] = 0.0
    params = params._replace(weights=weights / weights.sum())
    weighted = _em.weighted_log_prob(X, params, covariance_type)
    assert np.all(weighted[:, 0] == -np.inf) and not np.any(np.isnan(weighted))
    log_prob, log_resp = _em.log_resp(X, params, covariance_type)
    assert np.all(np.isfinite(log_prob)) and not np.any(np.isnan(log_resp))
    stats = _em.em_pass(X, sample_weight, params, covariance_type)
    assert stats.nk[0] == 0.0
    for name in ("loglik", "nk", "sx", "sxx"):
        assert np.all(np.isfinite(getattr(stats, name))), name
    new = _em.m_step(stats, covariance_type, 1e-6, float(np.finfo(X.dtype).eps),
                     X.dtype == np.float32)
    for array in new:
        assert np.all(np.isfinite(array))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weight_start_fits_without_nan(covariance_type):
    X, _ = ref.make_blobs(np.random.default_rng(0), 200, 2, 2)
    model = GaussianMixture(2, covariance_type=covariance_type, weights_init=[0.0, 1.0],
                            random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.predict_proba(X)))
