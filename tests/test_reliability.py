"""Reliability: bad input, degenerate data, collapsing components, concurrency.

Every bad input must raise a ValueError or TypeError that names the problem
and leave the estimator exactly as it was (a fresh one unfitted, a fitted
one with its previous fit). Degenerate data either fit with finite
parameters or raise an error that says what to do. Exact comparisons
(``np.array_equal``) are used where the same arithmetic runs in the same
order (same seed, thread counts, layouts); the only tolerances are for
float32 variances against float64 ones (1e-4 relative: float32 rounding of
the stored result).
"""

import concurrent.futures
import copy
import tracemalloc
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import mixture as skm

import reference as ref
from fastgmm import GaussianMixture, NotFittedError, load
from fastgmm._validation import check_array
from helpers import fit_quietly

FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def blobs(seed=0, n_samples=60, n_features=3, n_components=2, dtype=np.float64):
    X, _ = ref.make_blobs(np.random.default_rng(seed), n_samples, n_features,
                          n_components, dtype=dtype)
    return X


def snapshot(model):
    return copy.deepcopy(vars(model))


def assert_state(model, state):
    """The estimator's attributes are exactly ``state`` (same names, values, dtypes)."""
    assert set(vars(model)) == set(state)
    for name, value in state.items():
        now = getattr(model, name)
        np.testing.assert_equal(now, value, err_msg=name)
        if isinstance(value, np.ndarray):
            assert now.dtype == value.dtype, name


def assert_finite_fit(model, X):
    for name in FITTED:
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.isfinite(model.lower_bound_)
    resp = model.predict_proba(X)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=ref.OUTPUT_RTOL[np.float32])
    assert np.all(np.isfinite(model.score_samples(X)))


def with_nan(X):
    X = X.copy()
    X[3, 1] = X[7, 1] = np.nan
    return X


def with_value(value):
    def make(X):
        X = X.copy()
        X[5, 2] = value
        return X
    return make


# (id, estimator params, X from the good X, fit keywords, error class, message start)
FIT_CASES = [
    ("nan", {}, with_nan, {}, ValueError,
     r"Input X contains NaN: 2 value\(s\) in 2 row\(s\) \(rows 3, 7; columns 1\)"),
    ("inf", {}, with_value(np.inf), {}, ValueError,
     r"Input X contains infinity .*: 1 value\(s\) in 1 row\(s\) \(rows 5; columns 2\)"),
    ("-inf", {}, with_value(-np.inf), {}, ValueError, "Input X contains infinity"),
    ("empty", {}, lambda X: X[:0], {}, ValueError, r"Found array with 0 sample\(s\)"),
    ("no-features", {}, lambda X: X[:, :0], {}, ValueError, r"Found array with 0 feature"),
    ("1-d", {}, lambda X: X[:, 0], {}, ValueError, "Expected 2D array, got 1D array"),
    ("3-d", {}, lambda X: X[:, :, None], {}, ValueError, "Found array with dim 3"),
    ("none", {}, lambda X: None, {}, ValueError, "Expected 2D array, got scalar array"),
    ("scalar", {}, lambda X: 3.0, {}, ValueError, "Expected 2D array, got scalar array"),
    ("object", {}, lambda X: np.where(X > 0, X, "a").astype(object), {}, TypeError,
     "X must contain numbers only"),
    ("str", {}, lambda X: X.astype(str), {}, ValueError,
     "dtype='numeric' is not compatible with arrays of bytes/strings"),
    ("bytes", {}, lambda X: X.astype("S8"), {}, ValueError, "dtype='numeric'"),
    ("complex", {}, lambda X: X.astype(complex), {}, ValueError, "Complex data not supported"),
    ("datetime", {}, lambda X: X.astype("datetime64[s]"), {}, TypeError,
     "X has an unsupported dtype datetime64"),
    ("sparse-csr", {}, sp.csr_matrix, {}, TypeError,
     "GaussianMixture does not accept sparse input"),
    ("sparse-array", {}, sp.coo_array, {}, TypeError, "does not accept sparse input"),
    ("ragged", {}, lambda X: [[1.0, 2.0], [3.0]], {}, ValueError,
     "Could not convert X to a numeric array"),
    ("masked", {}, lambda X: np.ma.masked_greater(X, 0.0), {}, ValueError,
     r"X is a masked array with \d+ masked value"),
    ("too-few-rows", {"n_components": 5}, lambda X: X[:4], {}, ValueError,
     "Expected n_samples >= n_components"),
    ("one-row", {"n_components": 1}, lambda X: X[:1], {}, ValueError,
     r"Found array with 1 sample\(s\) .* minimum of 2"),
    ("too-large", {}, lambda X: X * 1e160, {}, ValueError,
     "X has values up to .* would overflow float64. Divide X"),
    ("sw-negative", {}, None, {"sample_weight": -np.ones(60)}, ValueError,
     "Negative values in data passed to sample_weight"),
    ("sw-nan", {}, None, {"sample_weight": np.full(60, np.nan)}, ValueError,
     "sample_weight contains NaN"),
    ("sw-zero", {}, None, {"sample_weight": np.zeros(60)}, ValueError,
     "sample_weight must have a positive sum"),
    ("sw-length", {}, None, {"sample_weight": np.ones(59)}, ValueError,
     r"sample_weight.shape == \(59,\), expected \(60,\)"),
    ("sw-2d", {}, None, {"sample_weight": np.ones((60, 1))}, ValueError,
     "Sample weights must be 1D"),
    ("sw-str", {}, None, {"sample_weight": "heavy"}, TypeError,
     "sample_weight must be an array of numbers"),
    ("n_components=0", {"n_components": 0}, None, {}, ValueError,
     "The 'n_components' parameter of GaussianMixture must be an int in the range"),
    ("n_components=1.5", {"n_components": 1.5}, None, {}, TypeError, "'n_components'"),
    ("covariance_type", {"covariance_type": "banana"}, None, {}, ValueError,
     "The 'covariance_type' parameter of GaussianMixture must be a str among"),
    ("init_params", {"init_params": "nope"}, None, {}, ValueError, "'init_params'"),
    ("tol<0", {"tol": -1.0}, None, {}, ValueError, "The 'tol' parameter"),
    ("tol=nan", {"tol": np.nan}, None, {}, ValueError, "The 'tol' parameter"),
    ("reg_covar<0", {"reg_covar": -1e-3}, None, {}, ValueError, "The 'reg_covar' parameter"),
    ("reg_covar=inf", {"reg_covar": np.inf}, None, {}, ValueError,
     "The 'reg_covar' parameter of GaussianMixture must be finite"),
    ("max_iter<0", {"max_iter": -1}, None, {}, ValueError, "The 'max_iter' parameter"),
    ("n_init=0", {"n_init": 0}, None, {}, ValueError, "The 'n_init' parameter"),
    ("random_state", {"random_state": "seed"}, None, {}, ValueError,
     "The 'random_state' parameter"),
    ("on_degenerate", {"on_degenerate": "maybe"}, None, {}, ValueError,
     "The 'on_degenerate' parameter of GaussianMixture must be a str among"),
    ("n_threads=0", {"n_threads": 0}, None, {}, ValueError, "The 'n_threads' parameter"),
    ("callback", {"callback": 3}, None, {}, TypeError, "The 'callback' parameter"),
    ("warm_start", {"warm_start": "yes"}, None, {}, TypeError, "The 'warm_start' parameter"),
    ("weights_init-shape", {"weights_init": [1.0]}, None, {}, ValueError,
     r"The parameter 'weights' should have the shape of \(2,\)"),
    ("weights_init-sum", {"weights_init": [0.3, 0.3]}, None, {}, ValueError,
     "The parameter 'weights' should be normalized"),
    ("weights_init-negative", {"weights_init": [1.5, -0.5]}, None, {}, ValueError,
     r"The parameter 'weights' should be in the range \[0, 1\]"),
    ("weights_init-nan", {"weights_init": [np.nan, 0.5]}, None, {}, ValueError,
     "The parameter 'weights' contains NaN"),
    ("means_init-shape", {"means_init": np.zeros((2, 4))}, None, {}, ValueError,
     r"The parameter 'means' should have the shape of \(2, 3\)"),
    ("means_init-inf", {"means_init": np.full((2, 3), np.inf)}, None, {}, ValueError,
     "The parameter 'means' contains NaN or infinity"),
    ("precisions_init-shape", {"precisions_init": np.ones((2, 3))}, None, {}, ValueError,
     r"The parameter 'full precision' should have the shape of \(2, 3, 3\)"),
    ("precisions_init-not-spd", {"precisions_init": np.stack([np.eye(3), -np.eye(3)])},
     None, {}, ValueError, "'full precision' should be symmetric, positive-definite"),
    ("precisions_init-asymmetric",
     {"precisions_init": np.stack([np.eye(3), np.triu(np.ones((3, 3)))])},
     None, {}, ValueError, "'full precision' should be symmetric, positive-definite"),
    ("precisions_init-diag", {"covariance_type": "diag",
                              "precisions_init": np.zeros((2, 3))},
     None, {}, ValueError, "'diag precision' should be positive"),
    ("precisions_init-tied", {"covariance_type": "tied", "precisions_init": np.eye(4)},
     None, {}, ValueError, r"'tied precision' should have the shape of \(3, 3\)"),
    ("precisions_init-spherical", {"covariance_type": "spherical",
                                   "precisions_init": [1.0, -1.0]},
     None, {}, ValueError, "'spherical precision' should be positive"),
]

# (id, X from the good X, error class, message start) for predict & co.
PREDICT_CASES = [
    ("wrong-n_features", lambda X: X[:, :2], ValueError,
     "X has 2 features, but GaussianMixture is expecting 3 features as input"),
    ("nan", with_nan, ValueError, "Input X contains NaN"),
    ("inf", with_value(np.inf), ValueError, "Input X contains infinity"),
    ("empty", lambda X: X[:0], ValueError, r"Found array with 0 sample\(s\)"),
    ("1-d", lambda X: X[0], ValueError, "Expected 2D array, got 1D array"),
    ("sparse", sp.csr_matrix, TypeError, "does not accept sparse input"),
    ("complex", lambda X: X.astype(complex), ValueError, "Complex data not supported"),
    ("str", lambda X: X.astype(str), ValueError, "dtype='numeric'"),
]

METHODS = ["predict", "predict_proba", "score_samples", "score", "bic", "aic"]


@pytest.fixture(scope="module")
def fitted():
    return fit_quietly(GaussianMixture(2, random_state=0), blobs())


@pytest.mark.parametrize("case", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_bad_fit_input_raises_and_changes_nothing(case, fitted):
    _, params, make_X, fit_kw, error, message = case
    X = blobs() if make_X is None else make_X(blobs())
    for model in (GaussianMixture(2, random_state=0), copy.deepcopy(fitted)):
        model.set_params(**params)
        before = snapshot(model)
        with pytest.raises(error, match=message):
            model.fit(X, **fit_kw)
        assert_state(model, before)


@pytest.mark.parametrize("case", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
@pytest.mark.parametrize("method", METHODS)
def test_bad_predict_input_raises(case, method, fitted):
    _, make_X, error, message = case
    before = snapshot(fitted)
    with pytest.raises(error, match=message):
        getattr(fitted, method)(make_X(blobs()))
    assert_state(fitted, before)


@pytest.mark.parametrize("method", METHODS + ["sample"])
def test_methods_before_fit_raise_not_fitted(method):
    model = GaussianMixture(2)
    args = () if method == "sample" else (blobs(),)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(model, method)(*args)
    assert vars(model) == vars(GaussianMixture(2))


def test_failed_fit_during_em_leaves_previous_fit():
    X = np.vstack([np.zeros((30, 2)), blobs(n_features=2)])
    model = fit_quietly(GaussianMixture(3, random_state=0), X)
    before = snapshot(model)
    model.set_params(reg_covar=0.0, init_params="random_from_data")
    before["reg_covar"], before["init_params"] = 0.0, "random_from_data"
    with pytest.raises(ValueError, match="ill-defined empirical covariance.*increase "
                                         "reg_covar"):
        model.fit(X)
    assert_state(model, before)


@pytest.mark.parametrize("X", [
    np.round(blobs() * 10).astype(np.int32), blobs() > 0, blobs().astype(np.float16),
    blobs().astype(">f8"), blobs().tolist(),
], ids=["int32", "bool", "float16", "big-endian", "list"])
def test_convertible_input_accepted_as_float64(X):
    model = fit_quietly(GaussianMixture(2, random_state=0), X)
    assert model.means_.dtype == np.float64
    expected = fit_quietly(GaussianMixture(2, random_state=0),
                           np.asarray(X, dtype=np.float64))
    np.testing.assert_array_equal(model.means_, expected.means_)


# -- layouts -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_any_layout_is_used_in_place(dtype):
    X = blobs(1, n_samples=20, dtype=dtype)
    for view in (np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2], X[:, ::-1][:, ::-1],
                 np.repeat(X, 2, axis=1)[:, ::2]):
        checked = check_array(view, estimator_name="GaussianMixture")
        assert checked is view and checked.dtype == dtype


def _fit_peak(model, X):
    """Peak of the memory numpy allocates during ``model.fit(X)``, in bytes."""
    tracemalloc.start()
    try:
        fit_quietly(model, X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("covariance_type, layout", [("full", "F"), ("diag", "strided")])
def test_fortran_and_strided_fits_equal_c_order_without_a_copy(covariance_type, layout):
    X = blobs(2, n_samples=200_000, n_features=4, n_components=3)
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0,
              max_iter=3)
    expected = GaussianMixture(**kw)
    c_peak = _fit_peak(expected, X)
    # (One layout per covariance type: each compiles its own kernels.)
    for view in [np.asfortranarray(X) if layout == "F" else np.repeat(X, 2, axis=0)[::2]]:
        fit_quietly(GaussianMixture(**kw), view)  # compiles this layout
        model = GaussianMixture(**kw)
        # A copy of X would add X.nbytes; the start reads X in chunks of
        # 32768 rows, copied to C order one at a time (0.16 X.nbytes here).
        extra = (_fit_peak(model, view) - c_peak) / X.nbytes
        assert extra < 0.35, extra
        # Each layout runs its own compiled specialisation of the kernels,
        # whose vectorised sums may round differently in the last bits.
        for name in FITTED + ["lower_bounds_"]:
            np.testing.assert_allclose(getattr(model, name), getattr(expected, name),
                                       rtol=ref.SPECIALISATION_RTOL[np.float64], atol=0)
        np.testing.assert_allclose(model.predict_proba(view[:1000]),
                                   expected.predict_proba(X[:1000]),
                                   rtol=ref.SPECIALISATION_RTOL[np.float64],
                                   atol=ref.RESP_FLOOR_ATOL)


# -- degenerate data -----------------------------------------------------------

def _dup(X):
    return np.repeat(X[:1], 40, axis=0)


def _zero_variance(X):
    X = X.copy()
    X[:, 1] = 5.0
    return X


def _subspace(X):
    rng = np.random.default_rng(3)
    return rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5))


def _outlier(X):
    X = X.copy()
    X[0] = X[1:].mean(axis=0) + 1e6 * X[1:].std(axis=0)
    return X


# (id, data from the good X, params, None for success or (error, message start))
DEGENERATE_CASES = [
    ("duplicates", _dup, {}, None),
    ("duplicates-reg0", _dup, {"reg_covar": 0.0},
     (ValueError, "Fitting the mixture model failed because some components have "
                  "ill-defined empirical covariance.*increase reg_covar")),
    ("zero-variance-feature", _zero_variance, {}, None),
    ("zero-variance-feature-diag", _zero_variance, {"covariance_type": "diag"}, None),
    ("zero-variance-feature-reg0", _zero_variance, {"reg_covar": 0.0},
     (ValueError, "ill-defined empirical covariance")),
    ("zero-variance-feature-reg0-spherical", _zero_variance,
     {"reg_covar": 0.0, "covariance_type": "spherical"}, None),
    ("d>n", lambda X: np.random.default_rng(4).normal(size=(10, 30)), {}, None),
    ("d>n-reg0", lambda X: np.random.default_rng(4).normal(size=(10, 30)),
     {"reg_covar": 0.0}, (ValueError, "ill-defined empirical covariance")),
    ("d>n-tied", lambda X: np.random.default_rng(4).normal(size=(10, 30)),
     {"covariance_type": "tied"}, None),
    ("subspace", _subspace, {}, None),
    ("scale-1e-150", lambda X: X * 1e-150, {"reg_covar": 0.0}, None),
    ("scale-1e150", lambda X: X * 1e150, {}, None),
    ("scale-1e160", lambda X: X * 1e160, {},
     (ValueError, "X has values up to .* Divide X by a constant")),
    ("float32-scale-1e20", lambda X: (X * 1e20).astype(np.float32), {},
     (ValueError, "The fitted covariances do not fit in float32 .* Pass float64 data")),
    ("far-outlier", _outlier, {}, None),
    ("K=1", lambda X: X, {"n_components": 1}, None),
    ("d=1", lambda X: X[:, :1], {}, None),
    ("N=1,K=1", lambda X: X[:1], {"n_components": 1},
     (ValueError, r"Found array with 1 sample\(s\) .* minimum of 2")),
    ("N=2,K=2", lambda X: X[:2], {}, None),
]


def _degenerate_params():
    """Each case in float64, and in float32 where its data fit float32's range
    (the float32-only case runs once, as it is)."""
    for case in DEGENERATE_CASES:
        X = case[1](blobs())
        largest = np.max(np.abs(X))
        dtypes = [X.dtype.type] if X.dtype == np.float32 else (
            [np.float64, np.float32] if 1e-30 < largest < 1e30 else [np.float64])
        for dtype in dtypes:
            yield pytest.param(case, dtype, id=f"{np.dtype(dtype).name}-{case[0]}")


@pytest.mark.parametrize("case, dtype", list(_degenerate_params()))
def test_degenerate_data(case, dtype):
    _, make_X, params, outcome = case
    X = make_X(blobs()).astype(dtype, copy=False)
    model = GaussianMixture(**{"n_components": 2, "random_state": 0, **params})
    if outcome is None:
        assert_finite_fit(fit_quietly(model, X), X)
    else:
        with pytest.raises(outcome[0], match=outcome[1]):
            fit_quietly(model, X)
        assert not hasattr(model, "means_")


def test_far_points_get_finite_results():
    X = blobs()
    model = fit_quietly(GaussianMixture(2, random_state=0), X)
    sd = X.std(axis=0)
    far = X.mean(axis=0) + np.array([1e6, -1e6, 3e6])[:, None] * sd
    assert np.all(np.isfinite(model.score_samples(far)))
    assert np.all(np.isfinite(model.predict_proba(far)))
    # Beyond the range of squared distances: density 0, never NaN.
    beyond = np.array([[1e200, 0.0, 0.0], [-1e300, 1e300, 1e300]])
    assert np.all(model.score_samples(beyond) == -np.inf)
    resp = model.predict_proba(beyond)
    np.testing.assert_array_equal(resp.sum(axis=1), 1.0)
    np.testing.assert_array_equal(resp.argmax(axis=1), model.predict(beyond))


def test_float32_variances_stay_positive_where_sklearn_cancels():
    # mean 3e3, sd 3e-2: E[x^2] - mu^2 in float32 loses every digit.
    rng = np.random.default_rng(5)
    X = (3e3 + 3e-2 * rng.standard_normal((2000, 2))).astype(np.float32)
    truth = X.astype(np.float64).var(axis=0)
    kw = dict(n_components=1, covariance_type="diag", reg_covar=0.0, random_state=0)
    try:
        theirs = skm.GaussianMixture(**kw).fit(X).covariances_[0]
        assert not np.allclose(theirs, truth, rtol=ref.SKLEARN_CANCELLED_RTOL)
    except ValueError:
        pass  # scikit-learn: negative variances, "ill-defined empirical covariance"
    for covariance_type in ("diag", "spherical"):
        ours = GaussianMixture(**{**kw, "covariance_type": covariance_type}).fit(X)
        assert ours.covariances_.dtype == np.float32 and np.all(ours.covariances_ > 0)
        expected = truth if covariance_type == "diag" else truth.mean()
        np.testing.assert_allclose(np.ravel(ours.covariances_), expected,
                                   rtol=ref.FLOAT32_FIT_RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_data_beyond_the_float32_pass_limit_fit_like_scaled_data(covariance_type):
    # Values of 1e19 would overflow float32 block sums of squared deviations;
    # such data are passed as float64 and the fit equals that of X / 1e19.
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(size=(200, 3)), rng.normal(size=(200, 3)) + 5])
    kw = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    big = GaussianMixture(**kw).fit((X * 1e19).astype(np.float32))
    small = GaussianMixture(**kw).fit(X.astype(np.float32))
    assert big.means_.dtype == np.float32
    assert np.all(np.isfinite(big.covariances_))
    np.testing.assert_allclose(big.means_ / np.float32(1e19), small.means_,
                               rtol=ref.FLOAT32_FIT_RTOL, atol=ref.FLOAT32_FIT_RTOL)
    np.testing.assert_allclose(np.asarray(big.covariances_, dtype=np.float64) / 1e38,
                               small.covariances_, rtol=ref.SCALED_COV_RTOL,
                               atol=ref.SCALED_COV_ATOL)


# -- collapsing components -------------------------------------------------------

def _far_start(n_features=2):
    means = np.zeros((3, n_features))
    means[1] = 6.0
    means[2] = 1e3
    return means


def _two_blobs():
    rng = np.random.default_rng(6)
    return np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 6])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_component_raise_reseed_drop(covariance_type):
    X = _two_blobs()
    kw = dict(n_components=3, covariance_type=covariance_type, means_init=_far_start(),
              random_state=0)
    kept = fit_quietly(GaussianMixture(**kw), X)
    assert kept.n_components_ == 3 and kept.degenerate_events_ == []
    assert kept.weights_[2] < ref.EMPTIED_WEIGHT_MAX  # scikit-learn keeps an empty component

    reseeded = fit_quietly(GaussianMixture(on_degenerate="reseed", **kw), X)
    assert reseeded.n_components_ == 3
    assert reseeded.degenerate_events_[0] == {"iteration": 1, "component": 2,
                                              "kind": "empty", "action": "reseed"}
    assert reseeded.weights_[2] > ref.RESEEDED_WEIGHT_MIN
    assert_finite_fit(reseeded, X)
    assert np.all(np.isfinite(reseeded.lower_bounds_))

    dropped = fit_quietly(GaussianMixture(on_degenerate="drop", **kw), X)
    assert dropped.n_components_ == 2 and dropped.means_.shape == (2, 2)
    assert dropped.degenerate_events_ == [{"iteration": 1, "component": 2,
                                           "kind": "empty", "action": "drop"}]
    assert dropped.predict_proba(X).shape == (300, 2)
    assert dropped.n_parameters_ < kept.n_parameters_
    assert_finite_fit(dropped, X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_singular_component_reseed_and_drop(covariance_type):
    rng = np.random.default_rng(7)
    X = np.vstack([np.zeros((30, 2)), rng.normal(size=(100, 2)) + 3])
    kw = dict(n_components=3, covariance_type=covariance_type, reg_covar=0.0,
              init_params="random_from_data", random_state=0, max_iter=30)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(**kw).fit(X)
    for action in ("reseed", "drop"):
        model = GaussianMixture(on_degenerate=action, **kw)
        try:
            fit_quietly(model, X)
        except ValueError as exc:  # 'drop' may drop every component
            assert action == "drop" and "on_degenerate='reseed'" in str(exc)
            continue
        events = model.degenerate_events_
        assert events and {e["kind"] for e in events} <= {"singular", "empty"}
        assert all(e["action"] == action for e in events)
        assert np.all(np.isfinite(model.lower_bounds_))
        assert model.n_components_ == (3 if action == "reseed" else 3 - len(events))
        assert_finite_fit(model, X)


def test_tied_singular_covariance_cannot_be_repaired():
    X = np.repeat(blobs(n_features=2)[:3], 10, axis=0)
    X[:, 1] = 0.0
    with pytest.raises(ValueError, match="shared \\('tied'\\) covariance"):
        GaussianMixture(2, covariance_type="tied", reg_covar=0.0, on_degenerate="reseed",
                        random_state=0).fit(X)


def test_dropped_model_saves_and_loads(tmp_path):
    model = fit_quietly(GaussianMixture(3, means_init=_far_start(), on_degenerate="drop",
                                        random_state=0), _two_blobs())
    model.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.n_components_ == 2 and loaded.n_components == 3
    assert loaded.degenerate_events_ == model.degenerate_events_
    np.testing.assert_array_equal(loaded.predict_proba(_two_blobs()),
                                  model.predict_proba(_two_blobs()))


def test_n_components_and_events_always_set():
    model = fit_quietly(GaussianMixture(2, random_state=0), blobs())
    assert model.n_components_ == 2 and model.degenerate_events_ == []


# -- reproducibility and concurrency --------------------------------------------

def test_same_seed_and_any_thread_count_give_identical_fits():
    X = blobs(8, n_samples=3000, n_components=3)
    fits = [fit_quietly(GaussianMixture(3, random_state=4, n_threads=t), X)
            for t in (1, 2, 2)]
    for other in fits[1:]:
        for name in FITTED + ["lower_bounds_", "n_iter_"]:
            np.testing.assert_array_equal(getattr(other, name), getattr(fits[0], name))


def test_concurrent_predictions_equal_serial_ones():
    X = blobs(9, n_samples=50000, n_features=4, n_components=3)
    model = fit_quietly(GaussianMixture(3, random_state=0, max_iter=10), X)
    expected = {"predict": model.predict(X), "score_samples": model.score_samples(X),
                "predict_proba": model.predict_proba(X)}
    calls = [name for name in expected for _ in range(20)]

    def call(name):
        return name, getattr(model, name)(X)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for name, result in pool.map(call, calls):
            np.testing.assert_array_equal(result, expected[name])


@pytest.mark.parametrize("refit", [False, True])
def test_interrupted_fit_changes_nothing(refit):
    X = blobs(10, n_samples=600)
    model = GaussianMixture(2, random_state=0, tol=0.0, max_iter=20)
    if refit:
        fit_quietly(model, X)
    before = snapshot(model)
    threads = numba.get_num_threads()

    def interrupt(n_iter, lower_bound):
        if n_iter == 3:
            raise KeyboardInterrupt

    model.set_params(callback=interrupt, n_threads=1)
    before.update(callback=interrupt, n_threads=1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X + 1.0)
    assert_state(model, before)
    assert not refit or hasattr(model, "n_features_in_")
    assert refit or not hasattr(model, "n_features_in_")
    assert numba.get_num_threads() == threads


def test_masked_array_without_masked_values_is_used_as_data():
    X = blobs()
    model = fit_quietly(GaussianMixture(2, random_state=0), np.ma.array(X))
    expected = fit_quietly(GaussianMixture(2, random_state=0), X)
    np.testing.assert_array_equal(model.means_, expected.means_)
    np.testing.assert_array_equal(model.predict(np.ma.array(X)), expected.predict(X))


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_weighted_starts_ignore_rows_of_weight_zero(init_params):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(300, 2)), rng.normal(size=(40, 2)) + 100])
    w = np.r_[np.ones(300), np.zeros(40)]
    for seed in range(5):
        model = GaussianMixture(2, init_params=init_params, random_state=seed,
                                max_iter=0).fit(X, sample_weight=w)
        assert np.all(np.abs(model.means_) < 10), model.means_
    with pytest.raises(ValueError, match="at least n_components=3 rows of positive"):
        GaussianMixture(3, init_params="random_from_data").fit(
            X, sample_weight=np.r_[np.ones(2), np.zeros(338)])


def test_icl_of_a_row_beyond_every_component_is_infinite_not_nan():
    X = blobs()
    model = fit_quietly(GaussianMixture(2, random_state=0), X)
    far = X.copy()
    far[0] = 1e200  # its squared distances overflow: density 0, log -inf
    assert model.bic(far) == np.inf and model.icl(far) == np.inf
    assert np.isfinite(model.icl(X)) and model.icl(X) >= model.bic(X)


def test_partial_fit_that_raises_leaves_the_estimator_unfitted():
    X = blobs()
    model = GaussianMixture(2, random_state=0, reg_covar=0.0, on_degenerate="raise")
    bad = np.repeat(X[:1], 10, axis=0)  # one point: singular covariances
    with pytest.raises(ValueError, match="ill-defined"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(bad, end_epoch=True)
    assert not hasattr(model, "means_") and not hasattr(model, "n_iter_")
    model.set_params(reg_covar=1e-6).partial_fit(X, end_epoch=True)
    before = model.means_.copy(), model.n_iter_, list(model.lower_bounds_)
    with pytest.raises(ValueError, match="X has 2 features"):
        model.partial_fit(X[:, :2], end_epoch=True)
    np.testing.assert_array_equal(model.means_, before[0])
    assert model.n_iter_ == before[1] and model.lower_bounds_ == before[2]
