"""The sums of a pass's partial statistics and the sweeps over X before a fit
(``_kernels/reduce.py``, ``_em.add_block_sums``, ``_em.reused_pass_parts``,
``_outofcore.max_abs`` / ``finite_largest``).

The sums are numpy's ``parts[:n].sum(axis=0)`` bit for bit (the same
additions in the same order), on one thread or several; the sweeps give
numpy's ``max(X.max(), -X.min())`` and ``np.isfinite(X).all()`` exactly.
"""

import numba
import numpy as np
import pytest

from fastgmm import GaussianMixture, _config, _em, _threads
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._outofcore import finite_largest, max_abs
from fastgmm._stats import Params
from fastgmm._validation import check_array
import reference as ref
from helpers import record_kernel_choices, record_max_abs_scans


def wide_range_parts(rng, shape):
    """Values over 40 orders of magnitude, both signs: any change of the
    order of the additions changes the last bits."""
    return rng.standard_normal(shape) * np.exp(rng.uniform(-46, 46, shape))


@pytest.mark.parametrize("shape", [(1, 5), (3, 7), (300, 700), (977, 8, 2, 2),
                                   (238, 16, 16, 16), (196, 32, 64)])
@pytest.mark.parametrize("parallel", [False, True])
def test_block_sums_equal_numpy_bit_for_bit(shape, parallel, monkeypatch):
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_ENTRIES", 0 if parallel else 2**62)
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_THREADS", 1)
    rng = np.random.default_rng(sum(shape))
    parts = wide_range_parts(rng, shape)
    for n_blocks in sorted({1, shape[0] // 2 + 1, shape[0]}):
        start = wide_range_parts(rng, shape[1:])
        got = start.copy()
        _em.add_block_sums(parts, n_blocks, got)
        expected = start.copy()
        expected += parts[:n_blocks].sum(axis=0)
        assert np.array_equal(got, expected)


def test_block_sums_do_not_depend_on_the_thread_count(monkeypatch):
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_THREADS", 1)
    parts = wide_range_parts(np.random.default_rng(3), (61, 3, 517))
    results = []
    before = numba.get_num_threads()
    try:
        for n_threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS),
                                 numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(n_threads)
            out = np.zeros((3, 517))
            _em.add_block_sums(parts, 61, out)
            results.append(out)
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(results[0], r) for r in results[1:])


def make_problem(covariance_type, dtype, n_components, seed=0):
    rng = np.random.default_rng(seed)
    X, _ = ref.make_blobs(rng, 5000, 6, n_components, dtype=dtype)
    weights, means, cov = ref.random_parameters(rng, X, n_components, covariance_type)
    return X, Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))


def numpy_sums(parts, n_blocks, out):
    out += parts[:n_blocks].sum(axis=0)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pass_statistics_equal_numpy_sums_of_the_parts(covariance_type, dtype,
                                                       monkeypatch):
    # Small segments: several kernel calls per pass, the last one shorter.
    monkeypatch.setattr(_config, "PART_BYTES", 40_000)
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.setattr(_config, "REDUCE_PARALLEL_MIN_THREADS", 1)
    X, params = make_problem(covariance_type, dtype, 5)
    got = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=64)
    monkeypatch.setattr(_em, "add_block_sums", numpy_sums)
    expected = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=64)
    for name in ("loglik", "nk", "sx", "sxx"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    # The pass computes the statistics it is meant to: the dense reference.
    log_norm, resp = ref.responsibilities(X, params.weights, params.means,
                                          params.covariances, covariance_type)
    np.testing.assert_allclose(got.nk, resp.sum(axis=0), rtol=ref.RTOL[dtype])
    np.testing.assert_allclose(got.loglik, log_norm.sum(), rtol=ref.RTOL[dtype])


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_reused_parts_give_the_statistics_of_fresh_ones(covariance_type):
    X, params = make_problem(covariance_type, np.float64, 4, seed=1)
    X2, params2 = make_problem(covariance_type, np.float64, 7, seed=2)
    fresh = [_em.em_pass(x, np.empty(0), p, covariance_type)
             for x, p in ((X, params), (X2, params2), (X, params))]
    with _em.reused_pass_parts():
        # A pass, another of a different shape, the first again, and one
        # in a nested block: each as if its arrays were new.
        reused = [_em.em_pass(x, np.empty(0), p, covariance_type)
                  for x, p in ((X, params), (X2, params2), (X, params))]
        with _em.reused_pass_parts():
            reused.append(_em.em_pass(X, np.empty(0), params, covariance_type))
        assert _em._pass_parts.cache, "the outer block keeps its arrays"
    assert _em._pass_parts.cache is None, "the arrays are freed on leaving"
    for a, b in zip(fresh + fresh[:1], reused):
        for name in ("loglik", "nk", "sx", "sxx"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("value", [None, np.nan, np.inf, -np.inf, -1e30])
@pytest.mark.parametrize("segmented", [False, True])
def test_max_abs_and_finite_largest_match_numpy(dtype, layout, value, segmented, monkeypatch):
    # Small enough for the tests, large enough for the threaded kernel; with
    # ``segmented``, X is read in segments of rows (as a large X is).
    monkeypatch.setattr(_config, "PARALLEL_SCAN_MIN_VALUES", 2**10)
    if segmented:
        monkeypatch.setattr(_config, "SEGMENT_BYTES", 2**14)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6001, 7)).astype(dtype)
    if value is not None:
        X[4321, 6] = value
    X = {"C": X, "F": np.asfortranarray(X), "strided": X[::3]}[layout]
    expected = max(float(X.max()), -float(X.min()))
    got = max_abs(X)
    if segmented and value is np.nan:
        # Segments are combined by Python's max, which skips a NaN after
        # the first segment (the fit has refused NaN before this check).
        assert got == np.nanmax(np.abs(X)) or np.isnan(got)
    else:
        assert got == expected or (np.isnan(got) and np.isnan(expected))
    finite, largest = finite_largest(X)
    assert finite == bool(np.isfinite(X).all())
    # The threaded scan's max|X| (these X are all large enough for it).
    assert largest == expected or (np.isnan(largest) and np.isnan(expected))


def test_check_array_names_nan_and_infinity_of_a_large_x(monkeypatch):
    monkeypatch.setattr(_config, "PARALLEL_SCAN_MIN_VALUES", 2**10)
    X = np.random.default_rng(5).standard_normal((5000, 3))
    assert check_array(X, estimator_name="GaussianMixture") is X
    X[17, 2] = np.nan
    with pytest.raises(ValueError, match="contains NaN"):
        check_array(X, estimator_name="GaussianMixture")
    X[17, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        check_array(X, estimator_name="GaussianMixture")


def test_check_array_returns_the_largest_value_it_read(monkeypatch):
    monkeypatch.setattr(_config, "PARALLEL_SCAN_MIN_VALUES", 2**10)
    X = np.random.default_rng(6).standard_normal((5000, 3))
    X[11, 1] = -7.5
    # Read by the threaded kernel: max|X| comes back with X.
    got, largest = check_array(X, estimator_name="GaussianMixture", return_largest=True)
    assert got is X and largest == 7.5
    # Summed (small X), or converted on the full path: not read, None.
    got, largest = check_array(X[:10], estimator_name="GaussianMixture",
                               return_largest=True)
    assert largest is None
    got, largest = check_array(X.astype(np.int64), estimator_name="GaussianMixture",
                               return_largest=True)
    assert largest is None and got.dtype == np.float64


def record_column_moment_sweeps(monkeypatch):
    """Record the name of each column-moments kernel k-means' module picks
    (one sweep over X each); returns the list."""
    import fastgmm.kmeans as kmeans_module

    sweeps = []
    pick = kmeans_module._kernel

    def counted(name, n_blocks):
        if name.startswith("column_moments"):
            sweeps.append(name)
        return pick(name, n_blocks)

    monkeypatch.setattr(kmeans_module, "_kernel", counted)
    return sweeps


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
def test_fit_reads_x_once_for_finiteness_and_magnitude(monkeypatch):
    """A fit reads X once before its start for the check of its values,
    max|X| (the magnitude check: sums of squared deviations must not
    overflow) and the spurious test's feature variances: without weights,
    the column moments' sweep (``_spurious.checked_variances``) does all
    three; with weights (weighted variances), the finiteness check's scan of
    a large X gives max|X|. An X whose squares overflow is still refused;
    the 'kmeans' start does not check X again."""
    monkeypatch.setattr(_config, "PARALLEL_SCAN_MIN_VALUES", 2**10)
    calls = record_max_abs_scans(monkeypatch)
    sweeps = record_column_moment_sweeps(monkeypatch)
    X = np.random.default_rng(7).standard_normal((3000, 2))
    w = np.random.default_rng(8).uniform(0.5, 2.0, X.shape[0])
    for init_params in ("random", "kmeans"):
        # The 'kmeans' start's k-means takes the checked X without a check.
        GaussianMixture(2, max_iter=2, random_state=0, init_params=init_params).fit(X)
        assert calls == [] and len(sweeps) == 1, init_params
        sweeps.clear()
        GaussianMixture(2, max_iter=2, random_state=0, init_params=init_params).fit(
            X, sample_weight=w)
        assert calls == [X.shape], init_params
        calls.clear()
        sweeps.clear()
    with pytest.raises(ValueError, match="would overflow float64"):
        GaussianMixture(2, max_iter=2, random_state=0).fit(X * 1e160)
    # The sweep's variances overflow: the check reads X as it would have.
    assert calls == [X.shape] and len(sweeps) == 1


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
@pytest.mark.parametrize("weighted", [False, True])
def test_feature_variances_read_once_per_fit(monkeypatch, weighted):
    """The spurious test's feature variances of an unweighted X are the ones
    each 'kmeans' start's k-means takes its tolerance from: one sweep of
    column moments per fit, not one more per start. With sample weights
    (weighted variances for the test, unweighted for k-means, as
    scikit-learn's) each start computes its own."""
    import fastgmm.kmeans as kmeans_module

    sweeps = record_column_moment_sweeps(monkeypatch)
    # The variances each start's k-means is handed.
    handed = []
    fit_checked = kmeans_module.KMeans._fit_checked

    def recorded(self, X, sample_weight=None, names=None, variances=None):
        handed.append(variances)
        return fit_checked(self, X, sample_weight, names, variances)

    monkeypatch.setattr(kmeans_module.KMeans, "_fit_checked", recorded)
    rng = np.random.default_rng(8)
    X = rng.standard_normal((2000, 3))
    X[:, 1] *= 3.0
    w = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    fitted = GaussianMixture(2, n_init=3, max_iter=3, random_state=0).fit(X, sample_weight=w)
    # Unweighted, the sweep also checked X (test_fit_reads_x_once_...).
    assert len(sweeps) == (3 if weighted else 1)
    assert len(handed) == 3
    for variances in handed:
        if weighted:
            assert variances is None
        else:
            np.testing.assert_array_equal(variances, kmeans_module._feature_variances(
                X, _config.CHUNK_SIZE))
    # The same fit as with the starts' own sweeps (no variances for the test).
    monkeypatch.undo()
    reference = GaussianMixture(2, n_init=3, max_iter=3, random_state=0)
    reference._finds_spurious = False
    reference.fit(X, sample_weight=w)
    assert fitted.lower_bound_ == reference.lower_bound_
    np.testing.assert_array_equal(fitted.means_, reference.means_)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_short_segments_of_a_long_pass_run_the_parallel_kernel(covariance_type,
                                                                monkeypatch):
    """Whether a pass runs on the threads depends on its blocks, not on how
    many fit in a segment: segments of a few large-scatter blocks each ran
    the serial twin (no scaling at all for N=5e4, d=64, K=32 'full' on 16
    cores)."""
    X, params = make_problem(covariance_type, np.float64, 5)
    n_blocks = -(-X.shape[0] // 64)
    assert n_blocks >= 2 * _config.PARALLEL_MIN_BLOCKS
    # Partial statistics of about three blocks a kernel call.
    model_floats = 1 + 5 * (1 + 6) + 5 * 6 * 6
    monkeypatch.setattr(_config, "PART_BYTES", 3 * 8 * model_floats)
    seen = record_kernel_choices(monkeypatch, _threads)
    got = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=64)
    assert seen and set(seen) == {n_blocks}, seen
    monkeypatch.undo()
    monkeypatch.setattr(_config, "PART_BYTES", 2**30)
    whole = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=64)
    np.testing.assert_allclose(got.sxx, whole.sxx, rtol=ref.RTOL[np.float64])
    np.testing.assert_allclose(got.nk, whole.nk, rtol=ref.RTOL[np.float64])
