"""Numerics of the M-step: data far from the origin, and the scale of the weights.

The M-step must be translation-invariant (translating X translates the
means and leaves the covariances alone) and invariant to multiplying all
sample weights by a constant. scikit-learn's ``nk = sum r + 10 eps``,
``means = sum r x / nk`` is neither: it pulls the means toward the origin
by an absolute amount, ``10 eps |mu| / nk``, and its tied covariance gains
about ``n_components 10 eps |mu|^2 / n_samples``.

Tolerances (each test says which applies):

- float32 data at an offset ``o`` are quantised to the float32 spacing
  ``ulp(o)`` (1/1024 at 1e4, 1/128 at 1e5, 1 at 1e7). The references are
  computed on exactly those values, so quantisation of the data costs
  nothing. What remains is that a float32 E-step scores each row around
  its component's mean rounded to float32, off by up to ``ulp(o) / 2``; for
  clusters 20 standard deviations apart no responsibility depends on that
  (they are 0 or 1 to far below float64 rounding), so the fits agree to
  the float32 rounding of the stored results plus float32 sums within a
  block: ``FLOAT32_RTOL = 1e-5``. 'tied' sums the scatter of all rows around
  one centre (between the clusters) in float32 within a block, then takes
  away the between-cluster part, here 100 times the within-cluster one:
  ``TIED_FLOAT32_RTOL = 1e-4`` (measured: 2e-5). Means stored in float32 at
  ``o`` carry an absolute error of up to ``ulp(o) / 2``. The lower bound is
  scored around those rounded means: each row's log-density is off by
  ``(x - mu)^T P delta - delta^T P delta / 2`` with ``|delta| <= ulp(o) / 2``;
  the first term averages to 0 at an M-step's means, so the bound is off by
  at most ``lambda_max(P) (ulp(o) / 2)**2 / 2``.
- For the issue's overlapping clusters (0 and 6, unit variances, offset
  1e4) the scoring centres are off by up to 2**-11 = 4.9e-4 standard
  deviations; that changes the responsibilities of the rows between the
  clusters (a few percent of the rows) by up to 6 * 4.9e-4 = 3e-3
  relative, so the parameters by about 1e-4 at most (measured: 1.4e-6 on
  the covariances): ``OVERLAP_RTOL = 1e-4``.
- Scaling the weights by a power of two is exact (the weights are
  rescaled by a power of two so that the largest lies in [1, 2)): fits are
  bit-identical. Another constant changes the rescaled weights by one
  rounding (1e-16 relative); float64 fits then agree to
  ``reference.RTOL[np.float64]`` (1e-10), float32 fits to
  ``reference.SKLEARN_RTOL[np.float32]`` (1e-4: the k-means start takes
  the weights in float32, where the rescaled weights round differently,
  and float32 E-steps amplify that; measured: 2e-6).
"""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference as ref
from fastgmm import GaussianMixture
from helpers import fit_quietly

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]
FLOAT32_RTOL = ref.RTOL[np.float32]
TIED_FLOAT32_RTOL = ref.TIED_FLOAT32_RTOL
OVERLAP_RTOL = ref.OVERLAP_RTOL


def two_clusters(gap, n_per_cluster=300, seed=0):
    """Unit-variance clusters around 0 and ``gap`` in 2-D, float64."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n_per_cluster, 2)),
                      rng.normal(size=(n_per_cluster, 2)) + gap])


def start_for(covariance_type, means, n_features=2):
    """Equal weights, the given means and unit precisions."""
    n_components = len(means)
    precisions = {
        "full": np.repeat(np.eye(n_features)[None], n_components, axis=0),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    return dict(weights_init=np.full(n_components, 1.0 / n_components),
                means_init=np.asarray(means, dtype=np.float64),
                precisions_init=precisions)


def reference_fit(X, covariance_type, start, n_iter, reg_covar=1e-6):
    """``n_iter`` EM steps of ``reference.em_step`` (dense, float64)."""
    weights = start["weights_init"]
    means = start["means_init"]
    covariances = ref.precisions(start["precisions_init"], covariance_type)
    for _ in range(n_iter):
        _, (weights, means, covariances) = ref.em_step(
            X, weights, means, covariances, covariance_type, reg_covar)
    return weights, means, covariances


def float32_rtol(covariance_type):
    return TIED_FLOAT32_RTOL if covariance_type == "tied" else FLOAT32_RTOL


def assert_matches_reference(model, expected, offset, rtol):
    """``model`` (fitted on data translated by ``offset``) against the
    reference on the untranslated data: means to half the float32 spacing at
    ``offset`` (their storage) plus ``rtol``, the rest to ``rtol``."""
    weights, means, covariances = expected
    half_ulp = float(np.spacing(np.float32(offset))) / 2 if offset else 0.0
    np.testing.assert_allclose(model.weights_, weights, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(np.asarray(model.means_, np.float64) - offset, means,
                               rtol=0, atol=half_ulp + rtol * np.max(np.abs(means)))
    np.testing.assert_allclose(model.covariances_, covariances, rtol=rtol,
                               atol=rtol * np.max(np.abs(covariances)))


# -- float32 data far from the origin (family 4) ----------------------------------

def test_issue_tied_float32_offset_1e4_matches_float64_reference():
    # The issue's case: clusters at 0 and 6, plus 1e4, 'tied', float32.
    offset, n_iter = 1e4, 20
    X = (two_clusters(6.0) + offset).astype(np.float32)
    X_ref = X.astype(np.float64) - offset  # the same values, exactly
    start = start_for("tied", [[0.5, -0.5], [5.0, 6.5]])
    expected = reference_fit(X_ref, "tied", start, n_iter)
    moved = {**start, "means_init": start["means_init"] + offset}
    model = fit_quietly(GaussianMixture(2, covariance_type="tied", max_iter=n_iter, tol=0,
                                        **moved), X)
    assert_matches_reference(model, expected, offset, OVERLAP_RTOL)


@pytest.mark.parametrize("offset", [1e4, 1e5, 1e7])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_far_from_origin_matches_float64_reference(covariance_type, offset):
    n_iter = 5
    X = (two_clusters(20.0, n_per_cluster=100) + offset).astype(np.float32)
    X_ref = X.astype(np.float64) - offset
    start = start_for(covariance_type, [[0.5, -0.5], [19.0, 20.5]])
    expected = reference_fit(X_ref, covariance_type, start, n_iter)
    moved = {**start, "means_init": start["means_init"] + offset}
    model = fit_quietly(GaussianMixture(2, covariance_type=covariance_type,
                                        max_iter=n_iter, tol=0, **moved), X)
    assert_matches_reference(model, expected, offset, float32_rtol(covariance_type))


@pytest.mark.parametrize("n_components", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_identical_float32_rows_at_1e8_have_variance_reg_covar(covariance_type,
                                                                n_components):
    X = np.full((50, 2), 1e8, dtype=np.float32)
    model = fit_quietly(GaussianMixture(n_components, covariance_type=covariance_type,
                                        reg_covar=1e-6, random_state=0), X)
    cov = ref.covariance_matrices(model.covariances_, covariance_type, n_components, 2)
    # float32 storage of 1e-6 is off by at most 3e-8 relative.
    np.testing.assert_allclose(cov, np.broadcast_to(1e-6 * np.eye(2), cov.shape),
                               rtol=ref.FLOAT32_STORAGE_RTOL, atol=0)
    np.testing.assert_array_equal(model.means_, X[:n_components])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_translation_by_1e7_translates_the_fit(covariance_type):
    # 20 rows per cluster: nk = 20, where the old pull toward the origin,
    # 10 eps32 * 1e7 / nk = 0.6, is 0.6 standard deviations.
    offset, n_iter = 1e7, 5
    X = (two_clusters(20.0, n_per_cluster=20, seed=3) + offset).astype(np.float32)
    X_back = (X.astype(np.float64) - offset).astype(np.float32)  # exact: integers
    start = start_for(covariance_type, [[0.5, -0.5], [19.0, 20.5]])
    moved = {**start, "means_init": start["means_init"] + offset}
    kw = dict(n_components=2, covariance_type=covariance_type, max_iter=n_iter, tol=0)
    far = fit_quietly(GaussianMixture(**kw, **moved), X)
    near = fit_quietly(GaussianMixture(**kw, **start), X_back)
    expected = (near.weights_, np.asarray(near.means_, np.float64), near.covariances_)
    assert_matches_reference(far, expected, offset, float32_rtol(covariance_type))
    largest_precision = np.linalg.eigvalsh(ref.covariance_matrices(
        near.precisions_, covariance_type, 2, 2)).max()
    half_ulp = float(np.spacing(np.float32(offset))) / 2
    np.testing.assert_allclose(far.lower_bound_, near.lower_bound_, rtol=FLOAT32_RTOL,
                               atol=largest_precision * half_ulp**2 / 2)


# -- the scale of the sample weights (family 5) -------------------------------------

def test_issue_float32_tiny_weights_keep_the_means():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0.0, 0.1, size=(300, 2)),
                   rng.normal(1.0, 0.1, size=(300, 2))]).astype(np.float32)
    kw = dict(n_components=2, random_state=0, max_iter=20, tol=0)
    unit = fit_quietly(GaussianMixture(**kw), X)
    order = np.argsort(unit.means_[:, 0])
    np.testing.assert_allclose(unit.means_[order], [[0, 0], [1, 1]],
                               atol=ref.CLUSTER_MEANS_ATOL)
    for w in (1e-8, 1e-12):
        tiny = fit_quietly(GaussianMixture(**kw), X, sample_weight=np.full(len(X), w))
        for name in FITTED:
            np.testing.assert_allclose(getattr(tiny, name), getattr(unit, name),
                                       rtol=ref.SKLEARN_RTOL[np.float32], atol=ref.FLOAT32_FIT_ATOL,
                                       err_msg=f"{name}, weights {w}")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float64_weights_1e_15_at_offset_1e3(covariance_type):
    X = two_clusters(6.0, n_per_cluster=100) + 1e3
    kw = dict(n_components=2, covariance_type=covariance_type, random_state=0,
              max_iter=10, tol=0)
    unit = fit_quietly(GaussianMixture(**kw), X)
    tiny = fit_quietly(GaussianMixture(**kw), X, sample_weight=np.full(len(X), 1e-15))
    for name in FITTED:
        np.testing.assert_allclose(getattr(tiny, name), getattr(unit, name),
                                   rtol=ref.RTOL[np.float64], err_msg=name)


@pytest.mark.parametrize("weight", [1e300, 1e-50, 2.0**-1000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_weights_fit_like_unit_weights(weight, dtype):
    X = two_clusters(6.0, n_per_cluster=100).astype(dtype)
    kw = dict(n_components=2, covariance_type="full", random_state=0, max_iter=10,
              tol=0)
    unit = fit_quietly(GaussianMixture(**kw), X, sample_weight=np.ones(len(X)))
    extreme = fit_quietly(GaussianMixture(**kw), X,
                          sample_weight=np.full(len(X), weight))
    for name in FITTED:
        np.testing.assert_allclose(getattr(extreme, name), getattr(unit, name),
                                   rtol=ref.RTOL[dtype], atol=0, err_msg=name)
    np.testing.assert_allclose(extreme.lower_bound_, unit.lower_bound_,
                               rtol=ref.RTOL[dtype])


def test_weights_spanning_more_than_float64_raise():
    X = two_clusters(6.0, n_per_cluster=50)
    weights = np.ones(len(X))
    weights[0], weights[1] = 1e300, 1e-50
    model = GaussianMixture(2, random_state=0)
    with pytest.raises(ValueError, match="sample_weight spans"):
        model.fit(X, sample_weight=weights)
    assert not hasattr(model, "means_")
    with pytest.raises(ValueError, match="sample_weight spans"):
        model.partial_fit(X, sample_weight=weights)


@pytest.mark.parametrize("mode", ["exact", "online"])
def test_partial_fit_with_huge_weights_equals_unit_weights(mode):
    X = two_clusters(6.0, n_per_cluster=150, seed=2)
    X = X[np.random.default_rng(0).permutation(len(X))]
    kw = dict(n_components=2, partial_fit_mode=mode, random_state=0)
    models = []
    for weight in (1.0, 1e300):
        model = GaussianMixture(**kw)
        for epoch in range(3):
            for batch in np.array_split(np.arange(len(X)), 3):
                model.partial_fit(X[batch], sample_weight=np.full(batch.size, weight),
                                  end_epoch=batch[-1] == len(X) - 1)
        models.append(model)
    for name in FITTED:
        np.testing.assert_allclose(getattr(models[1], name), getattr(models[0], name),
                                   rtol=ref.RTOL[np.float64], err_msg=name)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float64, np.float32]),
       covariance_type=st.sampled_from(COVARIANCE_TYPES),
       init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
       constant=st.one_of(st.floats(-15, 15).map(lambda e: 10.0**e),
                          st.integers(-50, 50).map(lambda k: 2.0**k)))
def test_scaling_all_weights_by_a_constant_changes_nothing(seed, dtype, covariance_type,
                                                           init_params, constant):
    rng = np.random.default_rng(seed)
    X, _ = ref.make_blobs(rng, 120, 2, 2, dtype=dtype)
    weights = rng.uniform(0.1, 3.0, size=len(X))
    kw = dict(n_components=2, covariance_type=covariance_type, init_params=init_params,
              random_state=0, max_iter=5, tol=0)
    base = fit_quietly(GaussianMixture(**kw), X, sample_weight=weights)
    scaled = fit_quietly(GaussianMixture(**kw), X, sample_weight=constant * weights)
    exact = np.frexp(constant)[0] == 0.5
    rtol = ref.RTOL[np.float64] if dtype == np.float64 else ref.SKLEARN_RTOL[np.float32]
    for name in FITTED + ["lower_bound_"]:
        a, b = getattr(scaled, name), getattr(base, name)
        if exact:
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)),
                                       err_msg=name)


@pytest.mark.parametrize("weight", [1e300, 1e-50])
def test_dask_weights_of_any_scale_fit_like_unit_weights(weight):
    da = pytest.importorskip("dask.array")
    X = two_clusters(6.0, n_per_cluster=100)
    kw = dict(n_components=2, random_state=0, max_iter=10, tol=0)
    unit = fit_quietly(GaussianMixture(**kw), X, sample_weight=np.ones(len(X)))
    for given in (np.full(len(X), weight), da.full(len(X), weight, chunks=50)):
        model = fit_quietly(GaussianMixture(**kw), da.from_array(X, chunks=(50, 2)),
                            sample_weight=given)
        for name in FITTED:
            np.testing.assert_allclose(getattr(model, name), getattr(unit, name),
                                       rtol=ref.RTOL[np.float64], err_msg=name)


@pytest.mark.parametrize("weight", [1e300, 1e-50])
def test_kmeans_float32_weights_of_any_scale(weight):
    from fastgmm import KMeans

    X = two_clusters(6.0, n_per_cluster=100).astype(np.float32)
    unit = KMeans(2, random_state=0).fit(X)
    model = KMeans(2, random_state=0).fit(X, sample_weight=np.full(len(X), weight))
    np.testing.assert_array_equal(model.labels_, unit.labels_)
    np.testing.assert_allclose(model.cluster_centers_, unit.cluster_centers_,
                               rtol=ref.RTOL[np.float32])
    # The inertia is in the units of the weights as given.
    np.testing.assert_allclose(model.inertia_, weight * unit.inertia_,
                               rtol=ref.RTOL[np.float32])
    np.testing.assert_allclose(model.score(X, sample_weight=np.full(len(X), weight)),
                               weight * unit.score(X), rtol=ref.RTOL[np.float32])


@pytest.mark.parametrize("n_features, tiles", [(3, False), (4, False), (7, False),
                                                (20, False), (12, True)])
def test_float64_log_densities_far_from_origin_lose_no_digits(n_features, tiles,
                                                              monkeypatch):
    """Full covariances score rows centred on each mean, ``(x - mu) U``, by
    the written-out product (up to ``_config.UNROLLED_MAX_FEATURES``, which
    on AVX-512 hosts includes widths from CENTRED_PRODUCT_MAX_FEATURES that
    the tiles score uncentred) and by the centred tiles below
    CENTRED_PRODUCT_MAX_FEATURES (``tiles``): at an offset of 1e6 the
    log-densities match the reference computed on the translated data to
    1e-13 relative (``x U - mu U`` is off by 4e-11 there, in numpy)."""
    from fastgmm import _em
    from fastgmm._kernels import logprob
    from fastgmm._stats import Params
    from fastgmm._covariance import compute_precision_cholesky

    if tiles:
        assert n_features < logprob.CENTRED_PRODUCT_MAX_FEATURES
        monkeypatch.setattr(logprob, "unrolled_product", lambda d, dtype: False)
    elif not logprob.unrolled_product(n_features, np.float64):
        pytest.skip("written out up to 8 features only on this host (no AVX-512)")
    rng = np.random.default_rng(11)
    offset = 1e6
    X_ref = rng.normal(size=(500, n_features))
    means_ref = rng.normal(size=(2, n_features))
    A = rng.normal(size=(2, n_features, n_features)) * 0.3
    covariances = A @ np.swapaxes(A, 1, 2) + np.eye(n_features)
    weights = np.array([0.4, 0.6])
    # Rows and means as stored at the offset; taking the offset away again
    # is exact (Sterbenz), so the reference scores the very same points.
    X, means = X_ref + offset, means_ref + offset
    params = Params(weights, means, covariances,
                    compute_precision_cholesky(covariances, "full"))
    log_prob = _em.weighted_log_prob(X, params, "full")
    expected = ref.weighted_log_prob(X - offset, weights, means - offset, covariances, "full")
    np.testing.assert_allclose(log_prob, expected, rtol=1e-13)
