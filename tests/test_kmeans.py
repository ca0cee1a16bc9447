"""Tests of fastgmm's k-means: kernels, k-means++ and the KMeans estimator.

Tolerances (relative unless said otherwise):

- Kernels against ``reference_kmeans`` (dense float64 numpy): 1e-12 for
  float64 and float32 input alike. Both compute in float64 from the same
  values; only the summation order differs (per block, then over blocks).
- ``KMeans`` against ``sklearn.cluster.KMeans`` from the same initial
  centres: labels equal, inertia and centres to 1e-8 (float64).
  scikit-learn uses ||x||^2 - 2 x.c + ||c||^2 on centred data, fastgmm
  sum_j (x_j - c_j)^2; both are exact to ~1e-13 on these data. For float32
  scikit-learn computes in float32, fastgmm in float64: 1e-4, and labels
  equal up to a handful of near-ties (at most 0.2 % of points).
- k-means++: the same indices as scikit-learn, exactly.
- Seeding statistics: chi-square goodness of fit, rejected below p = 1e-4
  (seeded, so the outcome is fixed; the threshold says how surprising a
  failure would be for a correct sampler).
- Thread count: bit-identical results for 1 and 2 threads.
- Lloyd with Hamerly's bounds against the full passes: labels, centres and
  iterations bit for bit; the inertia (each squared distance summed row by
  row instead of two features at a time) to 1e-12.
"""

import warnings

import numba
import numpy as np
import pytest
from scipy import stats

import reference
import reference_kmeans as ref
from helpers import record_kernel_choices, record_max_abs_scans
from fastgmm import _config
from fastgmm._kernels import kmeans as kernels
from fastgmm.exceptions import ConvergenceWarning, NotFittedError
from fastgmm import kmeans as kmeans_module
from fastgmm.kmeans import (
    KMeans,
    _kmeans_single_lloyd,
    _feature_variances,
    _is_same_clustering,
    _lloyd_pass,
    _relocate_empty_clusters,
    _tolerance,
    kmeans_plusplus,
)

pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SKKMeans  # noqa: E402
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus  # noqa: E402

KERNEL_RTOL = reference.REORDER_RTOL
SKLEARN_RTOL = reference.SKLEARN_RTOL
DTYPES = [np.float64, np.float32]


def blobs(rng, n_samples=2000, n_features=3, n_centers=5, spread=6.0, scale=1.0):
    """Gaussian blobs around uniformly drawn centres."""
    centers = rng.uniform(-spread, spread, size=(n_centers, n_features)) * n_centers
    which = rng.integers(0, n_centers, n_samples)
    return centers[which] + scale * rng.normal(size=(n_samples, n_features))


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture
def restore_threads():
    previous = numba.get_num_threads()
    yield
    numba.set_num_threads(previous)


# --------------------------------------------------------------------------
# kernels against the numpy reference


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunk_size", [1, 7, 256])
def test_lloyd_pass_matches_reference(rng, dtype, chunk_size):
    X = blobs(rng, n_samples=1001, n_features=3).astype(dtype)
    w = rng.uniform(0.5, 2.0, X.shape[0]).astype(dtype)
    centers = X[rng.choice(X.shape[0], 6, replace=False)].astype(np.float64)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    sums, weights, inertia, n_changed = _lloyd_pass(X, w, centers, labels, chunk_size)
    r_labels, r_sums, r_weights, r_inertia = ref.lloyd_pass(X, w, centers)
    np.testing.assert_array_equal(labels, r_labels)
    np.testing.assert_allclose(sums, r_sums, rtol=KERNEL_RTOL, atol=reference.KMEANS_SUMS_ATOL)
    np.testing.assert_allclose(weights, r_weights, rtol=KERNEL_RTOL)
    np.testing.assert_allclose(inertia, r_inertia, rtol=KERNEL_RTOL)
    assert n_changed == X.shape[0]
    # A second pass with the same centres changes nothing.
    assert _lloyd_pass(X, w, centers, labels, chunk_size)[3] == 0


def test_lloyd_pass_segments(rng, monkeypatch):
    """Splitting the blocks into several kernel calls gives the same result."""
    X = blobs(rng, n_samples=3000, n_features=4)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    centers = X[:7].copy()
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    whole = _lloyd_pass(X, w, centers, labels, 64)
    monkeypatch.setattr(_config, "PART_BYTES", 5 * 8 * (7 * 5 + 2))  # 5 blocks a call
    labels2 = np.full(X.shape[0], -1, dtype=np.int32)
    split = _lloyd_pass(X, w, centers, labels2, 64)
    np.testing.assert_array_equal(labels, labels2)
    for a, b in zip(whole[:3], split[:3]):
        np.testing.assert_allclose(a, b, rtol=KERNEL_RTOL)
    assert whole[3] == split[3]


def test_short_segments_run_the_pass_kernel_of_the_whole_pass(rng, monkeypatch):
    """Parallel or serial is chosen by the pass's blocks, not by a segment's
    (as the EM passes: ``_outofcore.block_segments``)."""
    X = blobs(rng, n_samples=3000, n_features=4)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    centers = X[:7].copy()
    n_blocks = -(-X.shape[0] // 64)
    assert n_blocks >= 2 * _config.PARALLEL_MIN_BLOCKS
    monkeypatch.setattr(_config, "PART_BYTES", 5 * 8 * (7 * 5 + 2))  # 5 blocks a call
    seen = record_kernel_choices(monkeypatch, kmeans_module)
    _lloyd_pass(X, w, centers, np.full(X.shape[0], -1, dtype=np.int32), 64)
    assert len(seen) == 1 and set(seen) == {n_blocks}, seen


@pytest.mark.parametrize("dtype", DTYPES)
def test_seeding_kernels_match_reference(rng, dtype):
    X = blobs(rng, n_samples=777, n_features=5).astype(dtype)
    w = rng.uniform(0.0, 3.0, X.shape[0]).astype(dtype)
    n_blocks = -(-X.shape[0] // 100)
    chosen = X[[3, 50, 400]].astype(np.float64)
    closest = np.full(X.shape[0], np.inf)
    pot_part = np.empty(n_blocks)
    kernels.update_closest_sq_dist(X, w, chosen[:1], 0, X.shape[0], 100, closest,
                                   pot_part)
    np.testing.assert_allclose(closest, ref.closest_sq_dist(X, chosen[:1]),
                               rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)
    kernels.update_closest_sq_dist(X, w, chosen[1:], 0, X.shape[0], 100, closest,
                                   pot_part)
    expected = ref.closest_sq_dist(X, chosen)
    np.testing.assert_allclose(closest, expected, rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)
    np.testing.assert_allclose(pot_part.sum(), expected @ w.astype(np.float64),
                               rtol=KERNEL_RTOL)

    candidates = X[[7, 8, 9, 700]].astype(np.float64)
    pot_part = np.empty((n_blocks, 4))
    kernels.candidate_potentials(X, w, closest, candidates, 0, X.shape[0], 100,
                                 pot_part, np.empty((0, 0)))
    np.testing.assert_allclose(pot_part.sum(axis=0),
                               ref.candidate_potentials(X, w, closest, candidates),
                               rtol=KERNEL_RTOL)
    # Kept per candidate: each row is the closest distances once it is added.
    candidate_closest = np.empty((4, X.shape[0]))
    kernels.candidate_potentials(X, w, closest, candidates, 0, X.shape[0], 100,
                                 pot_part, candidate_closest)
    for t in range(4):
        np.testing.assert_allclose(
            candidate_closest[t], ref.closest_sq_dist(X, np.vstack([chosen, candidates[t]])),
            rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [2, 70])
def test_column_statistics_read_the_largest_value(dtype, n_features):
    """``column_statistics``: the variances of ``_feature_variances`` and
    max|X| from the same sweep (narrow rows through their transposed copy,
    wide rows row by row), against numpy; a NaN or an infinity leaves its
    column's variance NaN, finite values whose squares overflow leave it
    infinite (a fit's check of X relies on both)."""
    from fastgmm.kmeans import column_statistics

    rng = np.random.default_rng(14)
    X = (rng.standard_normal((1037, n_features)) * 3.0 - 1.0).astype(dtype)
    X[517, n_features - 1] = -40.0
    variances, largest = column_statistics(X, 256)
    np.testing.assert_array_equal(variances, _feature_variances(X, 256))
    np.testing.assert_allclose(variances, np.var(X.astype(np.float64), axis=0), rtol=1e-10)
    assert largest == 40.0 == float(np.abs(X).max())
    # In a middle block, in the one-row last block (1037 = 4 * 256 + 13: the
    # last block has 13 rows; 1024 starts it), in the last column (the
    # row-wise loop's leftover lanes at 70 features).
    last = n_features - 1
    for row, col in ((300, 1), (1024, 0), (1036, last), (5, last)):
        for bad in (np.nan, np.inf, -np.inf):
            Y = X.copy()
            Y[row, col] = bad
            with np.errstate(invalid="ignore"):
                variances, _ = column_statistics(Y, 256)
            assert np.isnan(variances[col]), (row, col, bad)
            assert np.isfinite(np.delete(variances, col)).all()
    # Both infinities in one column, and a column of infinities.
    Y = X.copy()
    Y[3, 0], Y[900, 0] = np.inf, -np.inf
    Y[:, last] = np.inf
    with np.errstate(invalid="ignore"):
        variances, _ = column_statistics(Y, 256)
    assert np.isnan(variances[0]) and np.isnan(variances[last])
    if dtype == np.float64:
        with np.errstate(over="ignore"):
            variances, largest = column_statistics(X * 1e160, 256)
        assert np.isinf(variances).all() and np.isfinite(largest)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [1e3, 1e7])
def test_feature_variances(rng, dtype, offset):
    # Far from the origin (offset): no cancellation; blocks of unequal size.
    X = (rng.normal(size=(5000, 3)) * [1.0, 10.0, 0.1] + [offset, 0.0, -5.0]).astype(dtype)
    # Narrow rows (a transposed copy per block) and wide ones (summed row by
    # row, from ROWWISE_LOAD_MIN_FEATURES on: the kernel's _rowwise variant).
    wide = np.hstack([X] + [X * (1 + j) for j in range(3)])
    for data in (X, wide):
        for chunk_size in (256, 7, 5000):
            np.testing.assert_allclose(_feature_variances(data, chunk_size),
                                       np.var(data.astype(np.float64), axis=0),
                                       rtol=reference.RTOL[np.float64])


def test_tolerance_matches_sklearn(rng):
    from sklearn.cluster._kmeans import _tolerance as sk_tolerance

    X = blobs(rng)
    np.testing.assert_allclose(_tolerance(X, 1e-4, 256), sk_tolerance(X, 1e-4),
                               rtol=reference.RTOL[np.float64])
    assert _tolerance(X, 0, 256) == 0


def test_is_same_clustering_matches_sklearn(rng):
    from sklearn.cluster._k_means_common import _is_same_clustering as sk_same

    for _ in range(50):
        a = rng.integers(0, 4, 30).astype(np.int32)
        perm = rng.permutation(4).astype(np.int32)
        b = perm[a]
        if rng.random() < 0.5:
            b = b.copy()
            b[rng.integers(0, 30)] = rng.integers(0, 4)
        assert _is_same_clustering(a, b) == sk_same(a, b, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relocate_empty_clusters_matches_sklearn(rng, dtype):
    from sklearn.cluster._k_means_common import _relocate_empty_clusters_dense

    X = rng.normal(size=(300, 3)).astype(dtype)
    w = rng.uniform(0.5, 2.0, 300).astype(dtype)
    centers_old = np.vstack([X[:3], np.full((2, 3), 50.0)]).astype(dtype)
    labels, sums, weights, _ = ref.lloyd_pass(X, w, centers_old)
    labels = labels.astype(np.int32)
    assert (weights[3:] == 0).all()

    sk_sums, sk_weights = sums.astype(dtype), weights.astype(dtype)
    _relocate_empty_clusters_dense(X, w, centers_old, sk_sums, sk_weights, labels)
    _relocate_empty_clusters(X, w, centers_old, sums, weights, labels)
    rtol = SKLEARN_RTOL[dtype]
    np.testing.assert_allclose(sums, sk_sums, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(weights, sk_weights, rtol=rtol)
    assert (weights > 0).all()


# --------------------------------------------------------------------------
# k-means++


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_plusplus_same_indices_as_sklearn(rng, dtype, weighted):
    X = blobs(rng, n_samples=1500, n_features=4, n_centers=6).astype(dtype)
    w = rng.uniform(0.1, 3.0, X.shape[0]) if weighted else None
    for seed in range(15):
        centers, indices = kmeans_plusplus(X, 9, sample_weight=w, random_state=seed)
        sk_centers, sk_indices = sk_kmeans_plusplus(X, 9, sample_weight=w,
                                                    random_state=seed)
        np.testing.assert_array_equal(indices, sk_indices)
        np.testing.assert_array_equal(centers, sk_centers)
        assert centers.dtype == dtype


def test_kmeans_plusplus_leaves_random_state_as_sklearn(rng):
    X = blobs(rng, n_samples=500)
    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    kmeans_plusplus(X, 5, random_state=ours, n_local_trials=4)
    sk_kmeans_plusplus(X, 5, random_state=theirs, n_local_trials=4)
    assert ours.uniform() == theirs.uniform()


def test_first_center_is_weighted_uniform():
    X = np.arange(6, dtype=np.float64)[:, None] ** 2
    for w in (np.ones(6), np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0])):
        n_draws = 3000
        first = [kmeans_plusplus(X, 1, sample_weight=w, random_state=s)[1][0]
                 for s in range(n_draws)]
        observed = np.bincount(first, minlength=6)
        expected = n_draws * ref.first_center_probabilities(w)
        assert stats.chisquare(observed, expected).pvalue > reference.CHI2_MIN_PVALUE


def test_second_center_proportional_to_d2():
    X = np.array([[0.0], [1.0], [2.0], [4.0], [7.0]])
    w = np.array([1.0, 3.0, 1.0, 2.0, 1.0])
    n_draws = 3000
    second = [kmeans_plusplus(X, 2, sample_weight=w, random_state=s,
                              n_local_trials=1)[1][1] for s in range(n_draws)]
    observed = np.bincount(second, minlength=5)
    expected = n_draws * ref.second_center_probabilities(X, w)
    assert stats.chisquare(observed, expected).pvalue > reference.CHI2_MIN_PVALUE


# --------------------------------------------------------------------------
# KMeans against scikit-learn


def _compare_with_sklearn(X, ours, theirs, dtype):
    rtol = SKLEARN_RTOL[dtype]
    if dtype == np.float64:
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.n_iter_ == theirs.n_iter_
    else:
        assert np.mean(ours.labels_ != theirs.labels_) <= reference.KMEANS_FLOAT32_LABEL_MISMATCH
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=rtol)
    scale = np.abs(X).max()
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_,
                               rtol=rtol, atol=rtol * scale)
    assert ours.cluster_centers_.dtype == theirs.cluster_centers_.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_same_init_matches_sklearn(rng, dtype, weighted):
    X = blobs(rng, n_samples=3000, n_features=3, n_centers=6, scale=4.0).astype(dtype)
    w = rng.uniform(0.2, 2.0, X.shape[0]) if weighted else None
    init = X[rng.choice(X.shape[0], 6, replace=False)]
    for max_iter, tol in ((300, 1e-4), (300, 0.0), (3, 0.0)):
        ours = KMeans(6, init=init, max_iter=max_iter, tol=tol).fit(X, sample_weight=w)
        theirs = SKKMeans(6, init=init, n_init=1, max_iter=max_iter,
                          tol=tol).fit(X, sample_weight=w)
        _compare_with_sklearn(X, ours, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_fit_matches_sklearn(rng, dtype):
    X = blobs(rng, n_samples=2000, n_features=2, n_centers=4).astype(dtype)
    for seed in range(3):
        ours = KMeans(4, random_state=seed).fit(X)
        theirs = SKKMeans(4, random_state=seed).fit(X)
        _compare_with_sklearn(X, ours, theirs, dtype)


def test_random_init_n_init_matches_sklearn(rng):
    X = blobs(rng, n_samples=1500, n_features=2, n_centers=5, scale=3.0)
    ours = KMeans(5, init="random", n_init=4, random_state=1).fit(X)
    theirs = SKKMeans(5, init="random", n_init=4, random_state=1).fit(X)
    _compare_with_sklearn(X, ours, theirs, np.float64)


def test_one_init_follows_sklearn_draws(rng):
    X = blobs(rng, n_samples=1200, n_features=3, n_centers=4, spread=10.0)
    for seed in range(3):
        ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
        labels = KMeans(4, n_init=1, random_state=ours).fit(X).labels_
        sk_labels = SKKMeans(n_clusters=4, n_init=1, random_state=theirs).fit(X).labels_
        np.testing.assert_array_equal(labels, sk_labels)
        # The generator is left where scikit-learn leaves it.
        assert ours.uniform() == theirs.uniform()


def test_empty_cluster_relocation_matches_sklearn(rng):
    X = blobs(rng, n_samples=1000, n_features=2, n_centers=3)
    init = np.vstack([X[:3], [[1e4, 1e4], [-1e4, 1e4]]])
    ours = KMeans(5, init=init).fit(X)
    theirs = SKKMeans(5, init=init, n_init=1).fit(X)
    _compare_with_sklearn(X, ours, theirs, np.float64)
    assert np.bincount(ours.labels_, minlength=5).min() > 0


def test_fewer_distinct_points_than_clusters():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(5, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    assert len(np.unique(km.labels_)) == 3
    assert km.inertia_ == pytest.approx(0.0, abs=reference.REORDER_ATOL)


# --------------------------------------------------------------------------
# invariances


def test_thread_count_bit_identical(rng, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    X = blobs(rng, n_samples=20_011, n_features=3, n_centers=6, scale=3.0)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    results = []
    for n_threads in (1, 2):
        numba.set_num_threads(n_threads)
        km = KMeans(6, random_state=0, tol=0).fit(X, sample_weight=w)
        pp = kmeans_plusplus(X, 6, sample_weight=w, random_state=5)[1]
        results.append((km.cluster_centers_.tobytes(), km.inertia_,
                        km.labels_.tobytes(), km.n_iter_, pp.tobytes()))
    # The n_threads parameter, around a different global setting.
    numba.set_num_threads(2)
    km = KMeans(6, random_state=0, tol=0, n_threads=1).fit(X, sample_weight=w)
    assert numba.get_num_threads() == 2
    results.append((km.cluster_centers_.tobytes(), km.inertia_, km.labels_.tobytes(),
                    km.n_iter_, results[0][4]))
    assert results[0] == results[1] == results[2]


def test_integer_weights_equal_repeated_rows(rng):
    X = blobs(rng, n_samples=400, n_features=3, n_centers=4, scale=3.0)
    w = rng.integers(0, 4, X.shape[0])
    init = X[w > 0][:4]
    # tol=0: the tolerance uses the unweighted variance, which differs.
    weighted = KMeans(4, init=init, tol=0).fit(X, sample_weight=w)
    repeated = KMeans(4, init=init, tol=0).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_,
                               rtol=reference.REORDER_RTOL, atol=reference.REORDER_ATOL)
    np.testing.assert_allclose(weighted.inertia_, repeated.inertia_, rtol=reference.REORDER_RTOL)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, w), repeated.labels_)
    assert weighted.n_iter_ == repeated.n_iter_


# --------------------------------------------------------------------------
# estimator API


def test_estimator_api(rng):
    X = blobs(rng, n_samples=600, n_features=3, n_centers=3)
    km = KMeans(3, random_state=0)
    labels = km.fit_predict(X)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(km.predict(X), labels)
    assert labels.dtype == np.int32
    assert km.n_features_in_ == 3
    np.testing.assert_allclose(km.score(X), -km.inertia_, rtol=reference.REORDER_RTOL)
    expected = np.sqrt(ref.sq_distances(X, km.cluster_centers_))
    np.testing.assert_allclose(km.transform(X), expected, rtol=reference.REORDER_RTOL)
    np.testing.assert_allclose(km.fit_transform(X), expected,
                               rtol=reference.REORDER_RTOL)

    params = km.get_params()
    assert params["n_clusters"] == 3 and params["init"] == "k-means++"
    assert km.set_params(max_iter=5) is km and km.max_iter == 5
    text = repr(km)
    assert text.startswith("KMeans(") and "max_iter=5" in text
    assert "random_state=0" in text and "tol" not in text
    from sklearn.base import clone

    assert clone(km).get_params() == km.get_params()

    X32 = X.astype(np.float32)
    km32 = KMeans(3, random_state=0).fit(X32)
    assert km32.cluster_centers_.dtype == np.float32
    assert km32.transform(X32).dtype == np.float32
    np.testing.assert_array_equal(km32.predict(X), km32.labels_)


def test_explicit_init_with_n_init_warns(rng):
    X = blobs(rng, n_samples=100)
    with pytest.warns(RuntimeWarning, match="only one init"):
        KMeans(2, init=X[:2], n_init=3).fit(X)


def test_verbose_prints(rng, capsys):
    X = blobs(rng, n_samples=100)
    KMeans(2, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "Initialization complete" in out and "Converged at iteration" in out


# --------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(bad):
    X = np.ones((10, 2))
    X[3, 1] = bad
    # The shared validator's messages (scikit-learn's), with the position.
    match = r"contains NaN: .*rows 3" if np.isnan(bad) else r"contains infinity.*rows 3"
    with pytest.raises(ValueError, match=match):
        KMeans(2).fit(X)
    with pytest.raises(ValueError, match=match):
        kmeans_plusplus(X, 2)


@pytest.mark.parametrize("dtype, bad", [
    (dtype, bad) for dtype in (np.float32, np.float64) for bad in (np.nan, np.inf, -np.inf)
] + [(np.float64, 1e200)])  # 1e200: not a float32 value
def test_one_read_checks_values_and_gives_the_tolerance(monkeypatch, dtype, bad):
    """KMeans.fit reads a plain X once for the check of its values and the
    tolerance's variances (NaN or infinity make a column's variance NaN); a
    non-finite X still gets the validator's message, and a finite X whose
    squares overflow (the variance infinite) is checked and fitted as before."""
    scans = record_max_abs_scans(monkeypatch)
    monkeypatch.setattr(_config, "PARALLEL_SCAN_MIN_VALUES", 2**10)
    # Every read of X for column moments goes through column_statistics.
    variances = []
    column_statistics = kmeans_module.column_statistics
    monkeypatch.setattr(kmeans_module, "column_statistics",
                        lambda X, c: variances.append(X.shape) or column_statistics(X, c))
    X = np.random.default_rng(3).normal(size=(3000, 3))
    KMeans(2, n_init=1, random_state=0).fit(X.astype(dtype))
    assert scans == [] and variances == [X.shape]
    scans.clear()
    variances.clear()
    X[1234, 2] = bad
    if bad == 1e200:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow, as before
            KMeans(2, n_init=1, random_state=0).fit(X)
        # Checked (and passed), its variances kept for the tolerance.
        assert scans == [X.shape] and variances == [X.shape]
        return
    match = r"contains NaN: .*rows 1234" if np.isnan(bad) else r"contains infinity.*rows 1234"
    with pytest.raises(ValueError, match=match):
        KMeans(2, n_init=1, random_state=0).fit(X.astype(dtype))


def test_validation_errors(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="n_samples=20 should be >= n_clusters=21"):
        KMeans(21).fit(X)
    with pytest.raises(ValueError, match="n_samples=20 should be >= n_clusters=21"):
        kmeans_plusplus(X, 21)
    with pytest.raises(ValueError, match="2D array"):
        KMeans(2).fit(X[:, 0])
    with pytest.raises(ValueError, match="Complex data not supported"):
        KMeans(2).fit(X.astype(complex))
    with pytest.raises(TypeError, match="real numbers"):
        KMeans(2).fit(X.astype("m8[s]"))
    for bad_params in (dict(n_clusters=0), dict(init="kmeans"), dict(n_init=0),
                       dict(max_iter=0), dict(tol=-1.0), dict(algorithm="elkan"),
                       dict(tol="1e-4"), dict(tol=None), dict(tol=[1e-4]),
                       dict(tol=np.array([1e-4, 1e-4])), dict(tol=True),
                       dict(n_threads=0),
                       dict(n_threads=numba.config.NUMBA_NUM_THREADS + 1)):
        with pytest.raises(ValueError):
            KMeans(**{"n_clusters": 2, **bad_params}).fit(X)
    with pytest.raises(ValueError, match="shape of the initial centers"):
        KMeans(3, init=X[:2]).fit(X)
    with pytest.raises(ValueError, match="shape of the initial centers"):
        KMeans(2, init=np.ones((2, 3))).fit(X)
    with pytest.raises(ValueError, match="RandomState"):
        KMeans(2, random_state=np.random.default_rng(0)).fit(X)
    with pytest.raises(ValueError, match="n_local_trials"):
        kmeans_plusplus(X, 2, n_local_trials=0)
    with pytest.raises(ValueError, match="x_squared_norms"):
        kmeans_plusplus(X, 2, x_squared_norms=np.ones(3))


def test_bad_sample_weight(rng):
    X = rng.normal(size=(20, 2))
    for w, match in ((np.ones(19), "shape"), (-np.ones(20), "Negative values"),
                     (np.full(20, np.nan), "NaN"), (np.zeros(20), "positive sum"),
                     (np.ones((20, 1)), "shape")):
        with pytest.raises(ValueError, match=match):
            KMeans(2).fit(X, sample_weight=w)
        with pytest.raises(ValueError, match=match):
            kmeans_plusplus(X, 2, sample_weight=w)


def test_not_fitted_and_wrong_n_features(rng):
    X = rng.normal(size=(20, 2))
    km = KMeans(2)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(NotFittedError):
            method(X)
    km.fit(X)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match="3 features"):
            method(np.ones((4, 3)))


def test_n_threads_restored_after_error(rng, restore_threads):
    def failing_init(X, n_clusters, random_state):
        assert numba.get_num_threads() == 1
        raise RuntimeError("init failed")

    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    with pytest.raises(RuntimeError, match="init failed"):
        KMeans(2, n_threads=1, init=failing_init).fit(rng.normal(size=(9, 2)))
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_plusplus_draws_from_the_cumulative_sum(dtype):
    """The k-means++ draw's serial sweep lands every value on the index
    np.searchsorted(np.cumsum(w * d)) gives (the same sums: np.cumsum adds in
    order), values past the total included, with weights and with unit
    weights (an empty array)."""
    from fastgmm.kmeans import _searchsorted_cumsum

    rng = np.random.default_rng(1)
    for n_samples in (1, 1000, 70_001):
        w = rng.uniform(0, 2, n_samples).astype(dtype)
        d = rng.exponential(size=n_samples) * rng.choice([1e-3, 1.0, 1e3], n_samples)
        for weights, products in ((w, w * d.astype(dtype)), (w[:0], d.astype(dtype))):
            total = np.cumsum(products)
            values = rng.uniform(size=6) * total[-1]
            values = np.append(values, [0.0, total[-1], total[-1] * 1.001])
            expected = np.searchsorted(total, values)
            got = _searchsorted_cumsum(weights, d, values, np.dtype(dtype))
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_lower_and_search_cumsum(rng, dtype, n_features):
    """With a new centre, the sweep lowers every distance (also past the last
    value found) and searches the cumulative sum of the lowered ones."""
    from fastgmm.kmeans import _searchsorted_cumsum

    X = blobs(rng, n_samples=3001, n_features=n_features).astype(dtype)
    w = rng.uniform(0.0, 3.0, X.shape[0]).astype(dtype)
    closest = ref.closest_sq_dist(X, X[[5]].astype(np.float64))
    center = X[100].astype(np.float64)
    lowered = ref.closest_sq_dist(X, X[[5, 100]].astype(np.float64))
    for weights, wd in ((w, w), (w[:0], np.ones_like(w))):
        total = np.cumsum(wd * lowered.astype(dtype))
        # Small values: the sum stops early, the rows after it are only lowered.
        values = np.array([0.3, 0.01, 0.2]) * total[-1]
        d = closest.copy()
        got = _searchsorted_cumsum(weights, d, values, X.dtype, X, center)
        np.testing.assert_allclose(d, lowered, rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)
        np.testing.assert_array_equal(got, np.searchsorted(np.cumsum(wd * d.astype(dtype)),
                                                           values))
        assert np.all(d <= closest)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_candidate_potentials_unit_weights_and_narrow_rows(rng, dtype, n_features):
    """Unit weights given as an empty array equal weights of 1; the one- and
    two-feature path matches the reference."""
    X = blobs(rng, n_samples=1001, n_features=n_features).astype(dtype)
    closest = ref.closest_sq_dist(X, X[[3, 40]].astype(np.float64))
    candidates = X[[7, 8, 9, 700, 701]].astype(np.float64)
    n_blocks = -(-X.shape[0] // 100)
    expected = ref.candidate_potentials(X, np.ones(X.shape[0]), closest, candidates)
    for w in (np.ones(X.shape[0], dtype=dtype), np.empty(0, dtype=dtype)):
        pot_part = np.empty((n_blocks, 5))
        store = np.empty((5, X.shape[0]))
        kernels.candidate_potentials(X, w, closest, candidates, 0, X.shape[0], 100,
                                     pot_part, store)
        np.testing.assert_allclose(pot_part.sum(axis=0), expected, rtol=KERNEL_RTOL)
        for t in range(5):
            np.testing.assert_allclose(
                store[t], np.minimum(closest, ref.closest_sq_dist(X, candidates[t:t + 1])),
                rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)
        if n_features <= 2:
            for kernel in (kernels.narrow_candidate_potentials,
                           kernels.narrow_candidate_potentials_serial):
                kernel(X, w, closest, candidates, 0, X.shape[0], 100, pot_part)
                np.testing.assert_allclose(pot_part.sum(axis=0), expected,
                                           rtol=KERNEL_RTOL)


# --------------------------------------------------------------------------
# register tiles, row-wise copies and the k-means start (every code path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [1, 2, 3, 9, 17])
@pytest.mark.parametrize("n_clusters", [1, 3, 4, 9])
def test_tiled_kernels_match_reference(rng, dtype, n_features, n_clusters):
    """Four-centre tiles and their remainders, odd feature counts (the
    two-feature steps' remainder) and wide rows (copied row by row, from
    ``ROWWISE_LOAD_MIN_FEATURES`` on), against the dense reference."""
    X = blobs(rng, n_samples=613, n_features=n_features).astype(dtype)
    w = rng.uniform(0.5, 2.0, X.shape[0]).astype(dtype)
    centers = X[rng.choice(X.shape[0], n_clusters, replace=False)].astype(np.float64)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    sums, weights, inertia, _ = _lloyd_pass(X, w, centers, labels, 100)
    r_labels, r_sums, r_weights, r_inertia = ref.lloyd_pass(X, w, centers)
    np.testing.assert_array_equal(labels, r_labels)
    np.testing.assert_allclose(sums, r_sums, rtol=KERNEL_RTOL, atol=reference.KMEANS_SUMS_ATOL)
    np.testing.assert_allclose(weights, r_weights, rtol=KERNEL_RTOL)
    np.testing.assert_allclose(inertia, r_inertia, rtol=KERNEL_RTOL)

    n_blocks = -(-X.shape[0] // 100)
    closest = np.full(X.shape[0], np.inf)
    pot_part = np.empty(n_blocks)
    kernels.update_closest_sq_dist(X, w, centers, 0, X.shape[0], 100, closest, pot_part)
    np.testing.assert_allclose(closest, ref.closest_sq_dist(X, centers),
                               rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)
    candidates = X[[5, 6, 7, 8, 300]].astype(np.float64)  # a tile of 4, and 1
    pot_part = np.empty((n_blocks, 5))
    candidate_closest = np.empty((5, X.shape[0]))
    kernels.candidate_potentials(X, w, closest, candidates, 0, X.shape[0], 100,
                                 pot_part, candidate_closest)
    np.testing.assert_allclose(pot_part.sum(axis=0),
                               ref.candidate_potentials(X, w, closest, candidates),
                               rtol=KERNEL_RTOL)
    for t in range(5):
        np.testing.assert_allclose(
            candidate_closest[t], ref.closest_sq_dist(X, np.vstack([centers, candidates[t]])),
            rtol=KERNEL_RTOL, atol=reference.REORDER_ATOL)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [17, 40])
def test_wide_kmeans_matches_sklearn(rng, dtype, n_features):
    """Rows copied row by row and nine centres (two tiles and one more):
    the same seeds as scikit-learn's k-means++, and the same fit from them."""
    X = blobs(rng, n_samples=3000, n_features=n_features, n_centers=9,
              scale=4.0).astype(dtype)
    for seed in range(2):
        indices = kmeans_plusplus(X, 9, random_state=seed)[1]
        np.testing.assert_array_equal(indices,
                                      sk_kmeans_plusplus(X, 9, random_state=seed)[1])
        ours = KMeans(9, random_state=seed).fit(X)
        theirs = SKKMeans(9, random_state=seed).fit(X)
        _compare_with_sklearn(X, ours, theirs, dtype)


def test_wide_thread_count_bit_identical(rng, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    X = blobs(rng, n_samples=9_001, n_features=17, n_centers=9, scale=3.0)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    results = []
    for n_threads in (1, 2):
        numba.set_num_threads(n_threads)
        km = KMeans(9, random_state=0, tol=0).fit(X, sample_weight=w)
        pp = kmeans_plusplus(X, 9, sample_weight=w, random_state=5)[1]
        results.append((km.cluster_centers_.tobytes(), km.inertia_,
                        km.labels_.tobytes(), km.n_iter_, pp.tobytes()))
    assert results[0] == results[1]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("piece_rows", [None, 97])
def test_partition_stats_equal_one_hot_stats(rng, monkeypatch, weighted, piece_rows):
    """The k-means start's statistics from each component's gathered rows
    (taken around its k-means centre) give the parameters of the one-hot
    responsibilities (one M-step), for every covariance model (the pooled
    'tied' ones included), with an empty component (centred on its
    centre), one whose rows all have weight 0, a component whose centre is
    not its rows' mean (it took an emptied cluster's rows) and components
    larger than one gathered piece (``piece_rows``)."""
    from fastgmm import _covariance, _em, _init
    from fastgmm._stats import nk_regularization

    if piece_rows is not None:
        monkeypatch.setattr(_init, "_INIT_CHUNK", piece_rows)
    X = blobs(rng, n_samples=3000, n_features=5, n_centers=4)
    w = rng.uniform(0.1, 2.0, X.shape[0]) if weighted else np.empty(0)
    km = KMeans(6, random_state=0).fit(X)
    labels = km.labels_.copy()
    labels[labels == 5] = 4
    centres = km.cluster_centers_.copy()
    centres[5] = rng.normal(size=5)
    if weighted:
        # A component of rows all of weight 0 (empty for the statistics),
        # and rows of weight 0 among another's.
        w[labels == 3] = 0.0
        w[np.flatnonzero(labels == 0)[::7]] = 0.0
    step = _init._chunk_rows(5, 6)
    assert piece_rows is None or np.bincount(labels).max() > 3 * step
    for covariance_type in _covariance.MODELS:
        chunks = _init._one_hot_chunks(X.shape[0], 6, np.arange(X.shape[0]), labels, step)
        expected = _init._stats_from_resp(X, w, chunks, 6, covariance_type,
                                          empty_means=centres)
        got = _init._partition_stats(X, w, labels, 6, covariance_type, centres)
        np.testing.assert_allclose(got.nk, expected.nk, rtol=KERNEL_RTOL)
        assert got.sum_weights == pytest.approx(expected.sum_weights, rel=KERNEL_RTOL)
        nk_reg = nk_regularization(expected.sum_weights, X.shape[0])
        params = [_em.m_step(stats, covariance_type, 1e-6, nk_reg, False,
                             normalize="n_samples") for stats in (expected, got)]
        for name, a, b in zip(("weights", "means", "covariances"), *params):
            scale = max(1.0, float(np.max(np.abs(a))))
            np.testing.assert_allclose(b, a, rtol=KERNEL_RTOL, atol=KERNEL_RTOL * scale * 1e2,
                                       err_msg=f"{covariance_type} {name}")


@pytest.mark.parametrize("weighted", [False, True])
def test_partition_stats_far_from_the_origin(rng, monkeypatch, weighted):
    """Components of many pieces, far from the origin (1e6 with unit
    spread): the start's parameters against the reference M-step of the
    one-hot responsibilities (taken around the k-means centres, the
    covariances suffer no cancellation)."""
    from fastgmm import _em, _init
    from fastgmm._stats import nk_regularization

    monkeypatch.setattr(_init, "_INIT_CHUNK", 101)
    X = blobs(rng, n_samples=4000, n_features=3, n_centers=3) + 1e6
    w = rng.uniform(0.1, 2.0, X.shape[0]) if weighted else np.empty(0)
    km = KMeans(3, random_state=0).fit(X)
    labels = km.labels_
    resp = np.zeros((X.shape[0], 3))
    resp[np.arange(X.shape[0]), labels] = 1.0
    for covariance_type in ("full", "tied", "diag", "spherical"):
        stats = _init._partition_stats(X, w, labels, 3, covariance_type, km.cluster_centers_)
        got = _em.m_step(stats, covariance_type, 0.0,
                         nk_regularization(stats.sum_weights, X.shape[0]), False,
                         normalize="n_samples")
        weights, means, covariances = reference.m_step(
            X, resp, covariance_type, 0.0, sample_weight=w if weighted else None)
        np.testing.assert_allclose(got.weights, weights, rtol=1e-12)
        np.testing.assert_allclose(got.means, means, rtol=1e-13)
        # Within 1e-9 of the largest: the data's own precision at 1e6 is
        # 1e-10 of their spread ('tied''s small off-diagonal entries, pooled
        # around one shift, are that far from the reference's).
        np.testing.assert_allclose(got.covariances, covariances, rtol=1e-9,
                                   atol=1e-9 * float(np.max(np.abs(covariances))),
                                   err_msg=covariance_type)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_kmeans_start_matches_sklearn_initialize_parameters(rng, covariance_type):
    """fastgmm's default start (k-means labels, then one M-step) against
    scikit-learn's ``_initialize_parameters`` with the same RandomState."""
    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    from fastgmm._init import initial_parameters

    X = blobs(rng, n_samples=4000, n_features=17, n_centers=5, scale=3.0)
    params = initial_parameters(X, np.empty(0), n_components=5,
                                covariance_type=covariance_type, init_params="kmeans",
                                reg_covar=1e-6, random_state=np.random.RandomState(0))
    sk = SKGaussianMixture(5, covariance_type=covariance_type)
    sk._initialize_parameters(X, np.random.RandomState(0))
    rtol = SKLEARN_RTOL[np.float64]
    np.testing.assert_allclose(params.weights, sk.weights_, rtol=rtol)
    np.testing.assert_allclose(params.means, sk.means_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(params.covariances, sk.covariances_, rtol=rtol, atol=rtol)


def test_kmeans_start_thread_count_bit_identical(rng, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    from fastgmm._init import initial_parameters

    X = blobs(rng, n_samples=9_001, n_features=6, n_centers=5, scale=3.0)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    results = []
    for n_threads in (1, 2):
        numba.set_num_threads(n_threads)
        params = initial_parameters(X, w, n_components=5, covariance_type="full",
                                    init_params="kmeans", reg_covar=1e-6,
                                    random_state=np.random.RandomState(0))
        results.append(tuple(np.asarray(p).tobytes() for p in params))
    assert results[0] == results[1]


@pytest.mark.parametrize("n_clusters", [1, 3, 300])
def test_partition_order_is_stable_argsort(rng, n_clusters):
    """The counting sort of the labels gives np.argsort(kind='stable') and the
    groups' bounds, empty groups included."""
    labels = rng.integers(0, n_clusters, 5001).astype(np.int32)
    order = np.empty(labels.shape[0], dtype=np.intp)
    bounds = np.empty(n_clusters + 1, dtype=np.intp)
    kernels.partition_order(labels, bounds, order)
    expected = np.argsort(labels, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(bounds, np.searchsorted(labels[expected],
                                                          np.arange(n_clusters + 1)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_rows_and_their_weighted_sum(rng, dtype):
    X = rng.normal(size=(300, 5)).astype(dtype)
    rows = np.array([4, 7, 7, 100, 299], dtype=np.intp)
    shift = rng.normal(size=5)
    w = rng.uniform(0, 2, 300)
    out = np.empty((8, 5))
    col_sum = np.empty(5)
    expected = X[rows].astype(np.float64) - shift
    for weights, wr in ((w, w[rows]), (w[:0], np.ones(5))):
        kernels.gather_rows(X, rows, weights, shift, out, col_sum)
        np.testing.assert_array_equal(out[:5], expected)
        np.testing.assert_allclose(col_sum, wr @ expected, rtol=KERNEL_RTOL, atol=1e-14)


# --------------------------------------------------------------------------
# Lloyd with Hamerly's bounds (lloyd_pass_bounded)


def _both_lloyd_runs(X, w, init, chunk_size, tol=0.0, max_iter=300):
    """(full, bounded) results of ``_kmeans_single_lloyd``, the same run."""
    return [_kmeans_single_lloyd(X, w, init, max_iter, 0, tol, chunk_size,
                                 bounded=bounded) for bounded in (False, True)]


def _assert_same_run(full, bounded):
    labels, inertia, centers, n_iter = full
    np.testing.assert_array_equal(bounded[0], labels)
    assert bounded[2].tobytes() == centers.tobytes()
    assert bounded[3] == n_iter
    np.testing.assert_allclose(bounded[1], inertia, rtol=KERNEL_RTOL)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features, n_clusters", [(1, 3), (2, 9), (5, 4), (17, 9),
                                                    (40, 33)])
@pytest.mark.parametrize("chunk_size", [7, 256])
def test_bounded_lloyd_equals_full_passes(rng, dtype, n_features, n_clusters,
                                          chunk_size):
    """Skipped rows keep exactly the labels of the full comparison: the same
    labels, centres (bit for bit) and iterations, with and without
    weights, tolerance, or convergence within max_iter."""
    X = blobs(rng, n_samples=1500, n_features=n_features, n_centers=n_clusters,
              scale=3.0 * n_clusters).astype(dtype)
    init = X[rng.choice(X.shape[0], n_clusters, replace=False)]
    for w, tol, max_iter in ((np.ones(X.shape[0], dtype=dtype), 0.0, 300),
                             (rng.uniform(0.2, 2.0, X.shape[0]).astype(dtype), 1e-4, 300),
                             (np.ones(X.shape[0], dtype=dtype), 0.0, 2)):
        tol = _tolerance(X, tol, chunk_size)
        _assert_same_run(*_both_lloyd_runs(X, w, init, chunk_size, tol, max_iter))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bounded_lloyd_ties_duplicates_and_empty_clusters(rng, dtype):
    """Integer data (exact ties between centres, decided by the first
    index), duplicated centres and empty clusters relocated."""
    X = rng.integers(-3, 4, size=(2000, 6)).astype(dtype)
    w = np.ones(X.shape[0], dtype=dtype)
    for init in (X[:12], np.vstack([X[:10], X[:2]]),
                 np.vstack([X[:10], np.full((2, 6), 1e3, dtype=dtype)])):
        _assert_same_run(*_both_lloyd_runs(X, w, init, 64))


def test_bounded_lloyd_without_kept_sums(rng, monkeypatch):
    """Past ``KEPT_PART_BYTES`` every block's sums are recomputed, in
    segments of blocks: the same run."""
    X = blobs(rng, n_samples=3000, n_features=40, n_centers=30, scale=60.0)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    init = X[:30]
    monkeypatch.setattr(_config, "PART_BYTES", 5 * 8 * (30 * 41 + 2))  # 5 blocks a call
    # The full passes sum the same segments.
    full, kept = _both_lloyd_runs(X, w, init, 64)
    monkeypatch.setattr(kmeans_module, "KEPT_PART_BYTES", 0)
    segmented = _kmeans_single_lloyd(X, w, init, 300, 0, 0.0, 64, bounded=True)
    _assert_same_run(full, segmented)
    assert full[3] > 2


def test_bounded_kmeans_matches_sklearn(rng):
    """A shape that takes the bounded passes by default (n_clusters *
    n_features >= BOUNDED_MIN_WORK, n_samples >= BOUNDED_MIN_SAMPLES),
    against scikit-learn from the same centres."""
    X = blobs(rng, n_samples=4500, n_features=40, n_centers=30, scale=60.0)
    assert 30 * 40 >= kmeans_module.BOUNDED_MIN_WORK
    assert X.shape[0] >= kmeans_module.BOUNDED_MIN_SAMPLES
    init = X[rng.choice(X.shape[0], 30, replace=False)]
    for tol in (1e-4, 0.0):
        ours = KMeans(30, init=init, tol=tol).fit(X)
        theirs = SKKMeans(30, init=init, n_init=1, tol=tol).fit(X)
        _compare_with_sklearn(X, ours, theirs, np.float64)


def test_bounded_thread_count_bit_identical(rng, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    X = blobs(rng, n_samples=9_001, n_features=40, n_centers=30, scale=60.0)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    results = []
    for n_threads in (1, 2):
        numba.set_num_threads(n_threads)
        km = KMeans(30, random_state=0, tol=0).fit(X, sample_weight=w)
        results.append((km.cluster_centers_.tobytes(), km.inertia_,
                        km.labels_.tobytes(), km.n_iter_))
    assert results[0] == results[1]


def test_bounded_verbose_inertia(rng, capsys):
    """verbose asks every bounded pass for its inertia; the fit is unchanged."""
    X = blobs(rng, n_samples=4500, n_features=40, n_centers=30, scale=60.0)
    init = X[:30]
    quiet = KMeans(30, init=init).fit(X)
    loud = KMeans(30, init=init, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert out.count("inertia") == loud.n_iter_
    assert "nan" not in out
    assert loud.inertia_ == quiet.inertia_
    np.testing.assert_array_equal(loud.labels_, quiet.labels_)
