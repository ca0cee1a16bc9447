"""Out-of-core and streaming fits: memory-mapped X, and ``partial_fit``.

Tolerances:

- A memory-mapped X is read by the same kernels over the same segments as
  the array in memory, so the fits are compared bit for bit.
- One 'exact' epoch of ``partial_fit`` sums the same per-row statistics as
  one iteration of ``fit``, in another order: float64 results agree to
  ``reference.RTOL`` (1e-10 relative).
- Online EM is a stochastic approximation: with ``gamma_t = t ** -0.6`` its
  estimate after T = 300 batches of 500 rows averages roughly the last
  2 / gamma_T ~ 60 batches (30,000 rows). The standard error of a mean of
  a component of weight 0.2 and unit variances is then about
  1 / sqrt(6000) = 0.013, of a covariance entry about sqrt(2 / 6000) =
  0.018 and of a weight sqrt(0.2 * 0.8 / 30000) = 0.0023: the tolerances
  0.06 (means), 0.1 (covariances) and 0.015 (weights) are 4-6 standard
  errors, for a fixed seed.
"""

import tracemalloc
import warnings

import numpy as np
import pytest

import reference as ref
from fastgmm import GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


def blobs(seed=0, n_samples=3000, n_features=3, n_components=3):
    X, _ = ref.make_blobs(np.random.default_rng(seed), n_samples, n_features,
                          n_components)
    return X


start = ref.random_start


def assert_same_fit(a, b, rtol=0.0):
    """Equal fits: bit for bit (``rtol=0``), or to ``rtol`` of each attribute's
    largest value where the two ran different compiled specialisations of
    the kernels (a memory map is typed as a read-only array): Numba may
    generate them with a different order of the vectorised sums, which
    changes the last bits; and the 'kmeans' start sums a memory map's rows in file order,
    an array's component by component. An entry near 0 (an off-diagonal
    covariance) carries the rounding of the attribute's scale."""
    for name in FITTED:
        want = getattr(b, name)
        np.testing.assert_allclose(getattr(a, name), want, rtol=rtol,
                                   atol=rtol * np.max(np.abs(want)), err_msg=name)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol, atol=0)
    assert a.n_iter_ == b.n_iter_


def assert_close_fit(a, b, rtol=ref.RTOL[np.float64]):
    for name in FITTED:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol,
                                   atol=ref.FIT_ATOL, err_msg=name)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=rtol)


# -- memory-mapped X ------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_memmap_fit_equals_in_memory_fit(tmp_path, covariance_type, dtype):
    X = blobs()
    X = (X * 100).astype(dtype) if dtype == np.int16 else X.astype(dtype)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = GaussianMixture(**params).fit(X, sample_weight=weights)
        from_file = GaussianMixture(**params).fit(mapped, sample_weight=weights)
    rtol = ref.SPECIALISATION_RTOL[in_memory.means_.dtype.type]
    assert_same_fit(in_memory, from_file, rtol=rtol)
    # Integers are converted one segment at a time: no float copy is kept.
    assert from_file.means_.dtype == (np.float32 if dtype == np.float32 else np.float64)
    np.testing.assert_array_equal(in_memory.predict(X), from_file.predict(mapped))
    np.testing.assert_allclose(in_memory.score_samples(X),
                               from_file.score_samples(mapped), rtol=rtol)


def test_memmap_fit_reads_in_segments(tmp_path):
    """An int16 file of 64 MB whose float64 copy would take 256 MB: the fit
    allocates about one 32 MiB segment (``_config.SEGMENT_BYTES``) at a time."""
    rng = np.random.default_rng(0)
    n_samples, n_features = 8_000_000, 4
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.int16,
                                  shape=(n_samples, n_features))
    for first in range(0, n_samples, 1_000_000):
        X[first:first + 1_000_000] = rng.integers(-100, 100, (1_000_000, n_features))
    X.flush()
    del X
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    init = dict(weights_init=[0.5, 0.5], means_init=[[-50.0] * 4, [50.0] * 4],
                precisions_init=np.full((2, 4), 1e-3))
    model = GaussianMixture(2, covariance_type="diag", max_iter=2, tol=0, **init)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(mapped)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, peak
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = GaussianMixture(2, covariance_type="diag", max_iter=2, tol=0,
                                    **init).fit(np.load(tmp_path / "X.npy"))
    assert_same_fit(model, in_memory)


def test_memmap_nonfinite_is_located(tmp_path):
    X = blobs()
    X[1234, 2] = np.nan
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"NaN: 1 value\(s\) in 1 row\(s\) \(rows 1234; "):
        GaussianMixture(3).fit(mapped)


# -- partial_fit, exact mode ------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_exact_epochs_equal_fit_iterations(covariance_type):
    X = blobs()
    weights = np.random.default_rng(2).uniform(0.0, 3.0, X.shape[0])
    init = start(X, covariance_type)
    batches = np.array_split(np.arange(X.shape[0]), 7)
    model = GaussianMixture(3, covariance_type=covariance_type, **init)
    for epoch in range(1, 4):
        for i, rows in enumerate(batches):
            model.partial_fit(X[rows], sample_weight=weights[rows],
                              end_epoch=i == len(batches) - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = GaussianMixture(3, covariance_type=covariance_type, max_iter=epoch,
                                     tol=0, **init).fit(X, sample_weight=weights)
        assert model.n_iter_ == epoch
        assert_close_fit(model, fitted)
        np.testing.assert_allclose(model.lower_bounds_, fitted.lower_bounds_,
                                   rtol=ref.RTOL[np.float64])


def test_exact_mode_waits_for_the_end_of_the_epoch():
    X = blobs()
    model = GaussianMixture(3, random_state=0)
    model.partial_fit(X[:1000])
    started = model.means_.copy()
    model.partial_fit(X[1000:2000])
    np.testing.assert_array_equal(model.means_, started)
    assert model.n_iter_ == 0
    model.partial_fit(X[2000:], end_epoch=True)
    assert model.n_iter_ == 1
    assert not np.array_equal(model.means_, started)


def test_partial_fit_continues_a_fit():
    X = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = GaussianMixture(3, random_state=0, max_iter=2, tol=0).fit(X)
        three = GaussianMixture(3, random_state=0, max_iter=3, tol=0).fit(X)
    fitted.partial_fit(X, end_epoch=True)
    assert fitted.n_iter_ == 3
    # The epoch starts from the stored (float64) parameters of the fit.
    assert_close_fit(fitted, three)


def test_partial_fit_first_batch_needs_n_components_rows():
    with pytest.raises(ValueError, match="at least n_components"):
        GaussianMixture(3).partial_fit(np.zeros((2, 2)))


# -- partial_fit, online mode ------------------------------------------------------

TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
TRUE_COVS = np.array([[[1.0, 0.5], [0.5, 1.0]],
                      [[1.0, -0.3], [-0.3, 0.5]],
                      [[0.6, 0.0], [0.0, 1.5]]])


def draw(rng, n_samples):
    labels = rng.choice(3, size=n_samples, p=TRUE_WEIGHTS)
    noise = rng.standard_normal((n_samples, 2))
    chol = np.linalg.cholesky(TRUE_COVS)
    return TRUE_MEANS[labels] + np.einsum("nij,nj->ni", chol[labels], noise)


def test_online_em_recovers_the_mixture():
    rng = np.random.default_rng(0)
    model = GaussianMixture(3, partial_fit_mode="online", random_state=0)
    for _ in range(300):
        model.partial_fit(draw(rng, 500))
    order = [int(np.argmin(np.linalg.norm(model.means_ - m, axis=1))) for m in TRUE_MEANS]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(model.means_[order], TRUE_MEANS,
                               atol=ref.ONLINE_RECOVERY_ATOL["means"])
    np.testing.assert_allclose(model.covariances_[order], TRUE_COVS,
                               atol=ref.ONLINE_RECOVERY_ATOL["covariances"])
    np.testing.assert_allclose(model.weights_[order], TRUE_WEIGHTS,
                               atol=ref.ONLINE_RECOVERY_ATOL["weights"])
    assert model.n_iter_ == 300 and not model.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_online_weights_equal_repeated_rows(covariance_type):
    """A row of weight 2 in a batch counts as the row twice."""
    rng = np.random.default_rng(3)
    batches = [draw(rng, 400) for _ in range(5)]
    repeats = [rng.integers(0, 3, 400) for _ in batches]
    init = start(batches[0], covariance_type)
    kw = dict(covariance_type=covariance_type, partial_fit_mode="online",
              online_t0=1.0, online_kappa=0.8, **init)
    weighted = GaussianMixture(3, **kw)
    repeated = GaussianMixture(3, **kw)
    for batch, count in zip(batches, repeats):
        weighted.partial_fit(batch, sample_weight=count)
        repeated.partial_fit(np.repeat(batch, count, axis=0))
    assert_close_fit(weighted, repeated, rtol=ref.ONLINE_REPEAT_RTOL)


def test_online_first_step_with_t0_zero_is_one_em_step():
    """gamma_1 = 1: the first batch's statistics replace the start's."""
    X = blobs()
    init = start(X, "full")
    online = GaussianMixture(3, partial_fit_mode="online", **init).partial_fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = GaussianMixture(3, max_iter=1, **init).fit(X)
    assert_close_fit(online, fitted)


def test_streaming_parameters_are_listed_and_validated():
    params = GaussianMixture().get_params()
    assert params["partial_fit_mode"] == "exact"
    assert params["online_t0"] == 0.0 and params["online_kappa"] == 0.6
    X = blobs()
    for bad in (dict(partial_fit_mode="sgd"), dict(online_kappa=0.5),
                dict(online_kappa=1.2), dict(online_t0=-1.0)):
        with pytest.raises(ValueError):
            GaussianMixture(3, **bad).partial_fit(X)
