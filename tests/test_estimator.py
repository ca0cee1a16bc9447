"""fastgmm.GaussianMixture against scikit-learn's, and the EM guarantees.

Started from the same weights, means and precisions (or the same random
start), a fit must give scikit-learn's lower_bound_, n_iter_ and parameters
to ``reference.SKLEARN_RTOL`` (1e-8 relative in float64, 1e-4 in float32).
"""

import pickle
import warnings

import numba
import numpy as np
import pytest
from sklearn import mixture as skm
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import reference as ref
from fastgmm import ConvergenceWarning, GaussianMixture, KMeans, NotFittedError
from helpers import fit_quietly

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def blobs(seed=0, n_samples=600, n_features=3, n_components=3, dtype=np.float64):
    X, _ = ref.make_blobs(np.random.default_rng(seed), n_samples, n_features,
                          n_components, dtype=dtype)
    return X


def start(X, covariance_type, n_components=3, seed=0):
    rng = np.random.default_rng(seed)
    weights, means, cov = ref.random_parameters(rng, X, n_components, covariance_type)
    # In X's dtype: scikit-learn's float32 path stays float32 only then.
    return dict(weights_init=weights.astype(X.dtype), means_init=means.astype(X.dtype),
                precisions_init=ref.precisions(cov, covariance_type).astype(X.dtype))


def assert_same_fit(ours, theirs, dtype, first_rtol=None):
    """``first_rtol``: tolerance for the first lower bound only (see callers)."""
    rtol = ref.SKLEARN_RTOL[dtype]
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    np.testing.assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], rtol=rtol)
    np.testing.assert_allclose(ours.lower_bounds_[0], theirs.lower_bounds_[0],
                               rtol=first_rtol or rtol)
    for name in FITTED:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        scale = np.max(np.abs(b))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_from_same_start_matches_sklearn(covariance_type, dtype):
    X = blobs(dtype=dtype)
    # float32 lower bounds carry ~1e-6 of rounding noise: a tol near that
    # would make the iteration count a coin toss for both libraries.
    tol = 1e-6 if dtype == np.float64 else 1e-3
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=50, tol=tol,
              **start(X, covariance_type))
    ours = fit_quietly(GaussianMixture(**kw), X)
    theirs = fit_quietly(skm.GaussianMixture(**kw), X)
    assert_same_fit(ours, theirs, dtype)
    rtol = ref.SKLEARN_RTOL[dtype]
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=rtol)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X),
                               atol=10 * rtol)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.bic(X), theirs.bic(X), rtol=rtol)
    np.testing.assert_allclose(ours.aic(X), theirs.aic(X), rtol=rtol)
    assert ours.predict_proba(X).dtype == theirs.predict_proba(X).dtype


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_step_matches_sklearn(covariance_type):
    X = blobs(1)
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=1,
              **start(X, covariance_type, seed=1))
    assert_same_fit(fit_quietly(GaussianMixture(**kw), X),
                    fit_quietly(skm.GaussianMixture(**kw), X), np.float64)


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_random_starts_match_sklearn(init_params, covariance_type):
    X = blobs(2, n_samples=400)
    kw = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
              random_state=7, n_init=2, max_iter=30)
    # A 'random_from_data' start has one point per component, variance
    # reg_covar = 1e-6, and a first lower bound near -2e7. scikit-learn's
    # diag/spherical variance sum(r x^2)/nk - mean^2 then loses ~|x|^2 * eps
    # to cancellation (1e-13 against 1e-6); fastgmm's centred one does not,
    # so only that first, degenerate lower bound differs, by ~1e-7.
    assert_same_fit(fit_quietly(GaussianMixture(**kw), X),
                    fit_quietly(skm.GaussianMixture(**kw), X), np.float64,
                    first_rtol=ref.FIRST_LB_RTOL)


def test_warm_start_matches_sklearn():
    X = blobs(3)
    kw = dict(n_components=3, warm_start=True, max_iter=2, init_params="random",
              random_state=0)
    ours, theirs = GaussianMixture(**kw), skm.GaussianMixture(**kw)
    for _ in range(3):
        fit_quietly(ours, X)
        fit_quietly(theirs, X)
        assert_same_fit(ours, theirs, np.float64)


def test_max_iter_zero_keeps_the_start():
    X = blobs(4)
    kw = dict(n_components=3, max_iter=0, init_params="random_from_data", random_state=1,
              n_init=3)
    ours = GaussianMixture(**kw).fit(X)
    theirs = skm.GaussianMixture(**kw).fit(X)
    assert ours.n_iter_ == 0 and ours.lower_bound_ == -np.inf
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=ref.REORDER_RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(covariance_type):
    X = blobs(5, n_samples=800, n_components=3)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0,
                                     init_params="random", random_state=0, tol=0.0,
                                     max_iter=60), X)
    lbs = np.asarray(gm.lower_bounds_)
    assert lbs.size == 60
    assert np.all(np.diff(lbs) >= -ref.LL_DECREASE_RTOL * np.abs(lbs[1:]))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weight_equals_repeated_rows(covariance_type):
    X = blobs(6, n_samples=300)
    counts = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=20,
              **start(X, covariance_type, seed=2))
    weighted = fit_quietly(GaussianMixture(**kw), X, sample_weight=counts)
    repeated = fit_quietly(GaussianMixture(**kw), np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.lower_bound_, repeated.lower_bound_,
                               rtol=ref.RTOL[np.float64])
    for name in FITTED:
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name),
                                   rtol=ref.WEIGHTED_FIT_RTOL, atol=ref.WEIGHTED_FIT_ATOL)


def test_fit_predict_equals_fit_then_predict():
    X = blobs(7)
    gm = GaussianMixture(3, max_iter=3, tol=0.0, init_params="random", random_state=0)
    with pytest.warns(ConvergenceWarning):
        labels = gm.fit_predict(X)
    np.testing.assert_array_equal(labels, gm.predict(X))


def test_identical_for_one_and_two_threads():
    X = blobs(8, n_samples=5000)
    fits = [fit_quietly(GaussianMixture(3, init_params="random", random_state=0,
                                        n_threads=t), X) for t in (1, 2)]
    for name in FITTED:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    assert fits[0].lower_bound_ == fits[1].lower_bound_


def test_n_threads_is_restored():
    before = numba.get_num_threads()
    fit_quietly(GaussianMixture(2, n_threads=1, init_params="random"), blobs(9))
    assert numba.get_num_threads() == before


def test_callback_sees_every_iteration_and_can_stop():
    X = blobs(10)
    seen = []

    def callback(n_iter, lower_bound):
        seen.append((n_iter, lower_bound))
        return n_iter == 3

    gm = fit_quietly(GaussianMixture(3, tol=0.0, max_iter=50, init_params="random",
                                     random_state=0, callback=callback), X)
    assert [n for n, _ in seen] == [1, 2, 3]
    assert gm.n_iter_ == 3 and not gm.converged_
    np.testing.assert_allclose([lb for _, lb in seen], gm.lower_bounds_)


def test_verbose_output(capsys):
    fit_quietly(GaussianMixture(2, verbose=1, verbose_interval=2, max_iter=4, tol=0.0,
                                init_params="random"), blobs(11))
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 2" in out and "ll change" in out
    assert "Iteration 1\t" not in out and "Iteration 4" in out
    assert "lower bound" not in out.split("Initialization did not converge")[0]
    fit_quietly(GaussianMixture(2, verbose=2, verbose_interval=1, max_iter=2,
                                init_params="random"), blobs(11))
    out = capsys.readouterr().out
    assert "Iteration 1\t" in out and "lower bound" in out and "time lapse" in out


def test_sample_matches_sklearn():
    X = blobs(12)
    kw = dict(n_components=3, random_state=3, init_params="random_from_data")
    ours, theirs = fit_quietly(GaussianMixture(**kw), X), fit_quietly(
        skm.GaussianMixture(**kw), X)
    Xo, yo = ours.sample(50)
    Xt, yt = theirs.sample(50)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_allclose(Xo, Xt, rtol=ref.SAMPLE_TOL, atol=ref.SAMPLE_TOL)


@pytest.mark.parametrize("params, X", [
    (dict(n_components=0), None),
    (dict(covariance_type="banana"), None),
    (dict(tol=-1.0), None),
    (dict(reg_covar=-1e-3), None),
    (dict(max_iter=-1), None),
    (dict(n_init=0), None),
    (dict(init_params="nope"), None),
    (dict(n_components=10), np.zeros((5, 2))),
    (dict(), np.zeros(5)),
    (dict(), np.zeros((2, 2, 2))),
    (dict(), np.array([[1.0, np.nan], [2.0, 3.0]])),
    (dict(), np.array([[1.0, np.inf], [2.0, 3.0]])),
    (dict(n_components=2, weights_init=[0.3, 0.3]), None),
    (dict(n_components=2, weights_init=[0.5, 0.3, 0.2]), None),
    (dict(n_components=2, means_init=np.zeros((3, 2))), None),
    (dict(n_components=2, covariance_type="diag", precisions_init=-np.ones((2, 2))), None),
    (dict(n_components=2, precisions_init=np.array([[[1, 2], [2, 1]]] * 2)), None),
])
def test_errors_match_sklearn(params, X):
    X = blobs(13, n_features=2) if X is None else X
    with pytest.raises(ValueError) as theirs:
        skm.GaussianMixture(**params).fit(X)
    with pytest.raises(ValueError) as ours:
        GaussianMixture(**params).fit(X)
    assert type(ours.value).__mro__[1:] and isinstance(ours.value, ValueError)
    first_words = str(theirs.value).split(":")[0].split(".")[0][:40]
    assert first_words in str(ours.value)


def test_predict_before_fit_and_wrong_features():
    gm = GaussianMixture(2)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        gm.predict(np.zeros((3, 2)))
    fit_quietly(gm.set_params(init_params="random"), blobs(14, n_features=2))
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is "
                                         "expecting 2 features"):
        gm.predict(np.zeros((3, 3)))


def test_clone_pipeline_gridsearch_and_pickle():
    X = blobs(15, n_features=2)
    gm = GaussianMixture(2, init_params="random", random_state=0, n_threads=1)
    assert clone(gm).get_params() == gm.get_params()
    pipe = fit_quietly(make_pipeline(StandardScaler(), clone(gm)), X)
    assert pipe.score(X) < 0
    search = fit_quietly(GridSearchCV(gm, {"n_components": [1, 2, 3]}, cv=2), X)
    assert search.best_params_["n_components"] in (1, 2, 3)
    fitted = fit_quietly(gm, X)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_integer_and_fortran_input_accepted():
    X = blobs(16)
    kw = dict(n_components=2, init_params="random", random_state=0)
    a = fit_quietly(GaussianMixture(**kw), np.round(X).astype(np.int64))
    b = fit_quietly(GaussianMixture(**kw), np.asfortranarray(np.round(X)))
    np.testing.assert_allclose(a.means_, b.means_, rtol=ref.REORDER_RTOL)
    assert a.means_.dtype == np.float64


# scikit-learn lists this check as an expected failure of its own KMeans
# (sklearn/utils/_test_common/instance_generator.py): with other points the
# same seed draws other centres, so the labels are permuted.
_EXPECTED_FAILURES = {
    KMeans: {"check_sample_weight_equivalence_on_dense_data":
             "sample_weight is not equivalent to removing/repeating samples."},
}


@pytest.mark.parametrize("estimator", [GaussianMixture, KMeans])
def test_passes_sklearn_check_estimator(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator(), expected_failed_checks=_EXPECTED_FAILURES.get(estimator))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_kmeans_starts_match_sklearn_for_same_seed(init_params, covariance_type):
    X = blobs(17, n_samples=2000, n_components=4)
    kw = dict(n_components=4, covariance_type=covariance_type, init_params=init_params,
              random_state=3)
    # 'k-means++' starts from single points, like 'random_from_data' (see
    # test_random_starts_match_sklearn for why the first bound differs).
    assert_same_fit(fit_quietly(GaussianMixture(**kw), X),
                    fit_quietly(skm.GaussianMixture(**kw), X), np.float64,
                    first_rtol=ref.FIRST_LB_RTOL if init_params == "k-means++" else None)
