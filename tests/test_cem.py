"""Classification EM (``assignment='hard'``).

- With equal, fixed spherical variances and equal weights, a C-step picks
  the nearest mean, so CEM's steps are k-means's (Lloyd's): checked step by
  step against the numpy Lloyd reference and against ``fastgmm.KMeans``.
- CEM's classification log-likelihood never decreases.
- One CEM step equals the reference M-step on 0/1 responsibilities.
"""

import warnings

import numpy as np
import pytest

import reference as ref
import reference_kmeans as ref_km
from fastgmm import GaussianMixture, KMeans, _em
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._stats import Params


def blobs(seed, n_samples=1500, n_features=2, n_components=4):
    X, _ = ref.make_blobs(np.random.default_rng(seed), n_samples, n_features,
                          n_components)
    return X


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cem_with_fixed_equal_spherical_variances_is_kmeans(seed):
    X = blobs(seed)
    n_components = 4
    centres = X[np.random.default_rng(seed).choice(X.shape[0], n_components, replace=False)]
    variance = np.full(n_components, 2.0)
    weights = np.full(n_components, 1.0 / n_components)
    means = centres.copy()
    eps = float(np.finfo(np.float64).eps)
    ref_centres = centres.copy()
    labels = None
    for _ in range(100):
        params = Params(weights, means, variance,
                        compute_precision_cholesky(variance, "spherical"))
        previous = labels
        labels = _em.weighted_log_prob(X, params, "spherical").argmax(axis=1)
        if previous is not None and np.array_equal(labels, previous):
            break
        stats = _em.em_pass(X, np.empty(0), params, "spherical", hard=True)
        # Hold the variances and weights fixed; keep CEM's new means.
        means = _em.m_step(stats, "spherical", 0.0, eps, False).means
        ref_labels, sums, counts, _ = ref_km.lloyd_pass(X, np.ones(X.shape[0]), ref_centres)
        np.testing.assert_array_equal(labels, ref_labels)
        np.testing.assert_allclose(stats.nk, counts, rtol=ref.REORDER_RTOL)
        ref_centres = sums / counts[:, None]
        np.testing.assert_allclose(means, ref_centres, rtol=ref.RTOL[np.float64])
    else:
        pytest.fail("the partition did not settle in 100 steps")
    km = KMeans(n_components, init=centres, n_init=1, max_iter=300, tol=0.0).fit(X)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_allclose(means, km.cluster_centers_,
                               rtol=ref.SKLEARN_RTOL[np.float64])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_classification_log_likelihood_never_decreases(covariance_type):
    X = blobs(3, n_samples=2000, n_features=3, n_components=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(3, covariance_type=covariance_type, assignment="hard",
                             reg_covar=0.0, tol=0.0, max_iter=30, random_state=0).fit(X)
    lbs = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(lbs) >= -ref.LL_DECREASE_RTOL * np.abs(lbs[1:]))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_one_cem_step_matches_reference(covariance_type):
    X = blobs(4, n_features=3)
    rng = np.random.default_rng(4)
    weights, means, cov = ref.random_parameters(rng, X, 4, covariance_type)
    params = Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))
    stats = _em.em_pass(X, np.empty(0), params, covariance_type, hard=True)
    new = _em.m_step(stats, covariance_type, 1e-6, float(np.finfo(np.float64).eps), False)
    wlp = ref.weighted_log_prob(X, weights, means, cov, covariance_type)
    resp = np.zeros_like(wlp)
    resp[np.arange(X.shape[0]), wlp.argmax(axis=1)] = 1.0
    np.testing.assert_allclose(stats.loglik / X.shape[0], wlp.max(axis=1).mean(),
                               rtol=ref.RTOL[np.float64])
    exp_weights, exp_means, exp_cov = ref.m_step(X, resp, covariance_type, 1e-6)
    np.testing.assert_allclose(new.weights, exp_weights, rtol=ref.RTOL[np.float64])
    np.testing.assert_allclose(new.means, exp_means, rtol=ref.MSTEP_RTOL[np.float64],
                               atol=ref.MEANS_ATOL[np.float64])
    np.testing.assert_allclose(new.covariances, exp_cov, rtol=ref.MSTEP_RTOL[np.float64],
                               atol=ref.COV_ATOL[np.float64])


def test_cem_converges_fast_and_labels_are_consistent():
    X = blobs(5)
    gm = GaussianMixture(4, assignment="hard", random_state=0)
    labels = gm.fit_predict(X)
    assert gm.converged_ and gm.n_iter_ <= 10
    np.testing.assert_array_equal(labels, gm.predict(X))
    with pytest.raises(ValueError, match="assignment"):
        GaussianMixture(2, assignment="firm").fit(X)
