"""Spurious maxima: a component collapsed onto reg_covar is recorded, avoided and reported."""

import warnings

import numpy as np
import pytest

import fastgmm
import fastgmm._spurious
from fastgmm import GaussianMixture, _config, _threads, select_model
from fastgmm._spurious import feature_variances, spurious_components
from fastgmm._stats import Params
from fastgmm.datasets import load_old_faithful
from helpers import fit_quietly

# Old Faithful, diag, 5 components, run long (tol=1e-6, max_iter=1000):
# random_state=4 ends with component 0 on the 14 eruptions whose waiting time
# is exactly 83 min, its waiting variance exactly reg_covar (BIC 2220.66);
# random_state=0 with n_init=5 has that start among its five.
LONG = dict(tol=1e-6, max_iter=1000)


@pytest.fixture(scope="module")
def faithful():
    return load_old_faithful()


def _spurious(model):
    return [e for e in model.degenerate_events_ if e["kind"] == "spurious"]


@pytest.mark.parametrize("eigen_max_features", [256, 1])
def test_rule_on_crafted_parameters(eigen_max_features, monkeypatch):
    # 1: matrices tested by a Cholesky factorisation, as for many features.
    monkeypatch.setattr(fastgmm._spurious, "_EIGEN_MAX_FEATURES", eigen_max_features)
    variances = np.array([2.0, 50.0])
    means = np.zeros((3, 2))
    covs = np.array([[1.0, 3.0], [1e-6, 3.0], [1e-6 + 1e-7, 3.0]])  # diag layout
    params = Params(np.full(3, 1 / 3), means, covs, None)
    events = spurious_components(params, "diag", 1e-6, variances)
    # Component 1 sits on the floor; component 2 is 1e-7 (5e-8 of the smallest
    # feature variance) above it: more than SPURIOUS_FRACTION.
    assert [e["component"] for e in events] == [1]
    assert events[0]["action"] == "kept" and "reg_covar" in events[0]["reason"]
    # A full covariance whose smallest eigenvalue is on the floor, along a
    # direction that is no feature axis.
    rot = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    full = np.stack([rot @ np.diag([1e-6, 4.0]) @ rot.T, np.diag([1.0, 1.0])])
    events = spurious_components(Params(np.full(2, 0.5), np.zeros((2, 2)), full, None),
                                 "full", 1e-6, variances)
    assert [e["component"] for e in events] == [0]
    assert spurious_components(params, "diag", 1e-6, variances, fraction=0) == []
    # An empty component sits on the floor but adds nothing to the likelihood.
    empty = Params(np.array([0.5, 0.0, 0.5]), means, covs, None)
    assert spurious_components(empty, "diag", 1e-6, variances) == []


def test_matrices_clear_of_the_floor_take_no_eigendecomposition(monkeypatch):
    """A covariance matrix whose smallest eigenvalue is clear of the threshold
    is cleared by a Cholesky factorisation, without an eigenvalue; the others
    (below it or on it) take their smallest eigenvalue, within 1e-13 of the
    trace of numpy's ``eigvalsh``, and the decision is that eigenvalue's (d
    from 1 to the largest with a reported value, 256)."""
    rng = np.random.default_rng(0)
    threshold = 1e-2
    real = fastgmm._linalg.smallest_eigenvalue
    calls = []
    monkeypatch.setattr(fastgmm._linalg, "smallest_eigenvalue",
                        lambda a, lower: calls.append(a.shape) or real(a, lower))
    for n_features in (1, 3, 40, fastgmm._spurious._EIGEN_MAX_FEATURES):
        q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        for delta, clear in ((-1e-3, False), (-1e-12, False), (0.0, False), (1e-12, None),
                             (1e-3, True), (10.0, True)):
            values = rng.uniform(1.0, 5.0, n_features)
            values[0] = threshold * (1 + delta)
            cov = (q * values) @ q.T
            cov = (cov + cov.T) / 2
            del calls[:]
            value, below = fastgmm._spurious._smallest(cov, threshold)
            smallest = np.linalg.eigvalsh(cov)[0]
            if clear is not None:
                assert (calls == []) == clear, (n_features, delta)
            if calls == []:
                assert value is None and not below and smallest > threshold
            else:
                assert abs(value - smallest) <= 1e-13 * np.trace(cov), (n_features, delta)
                assert below == (value <= threshold), (n_features, delta)
            if abs(delta) >= 1e-3:
                assert below == (delta < 0), (n_features, delta)


def test_a_shared_covariance_is_tested_once(monkeypatch):
    """'tied': the one matrix takes one eigenvalue, and every component but
    the empty one gets its event."""
    real = fastgmm._linalg.smallest_eigenvalue
    calls = []
    monkeypatch.setattr(fastgmm._linalg, "smallest_eigenvalue",
                        lambda a, lower: calls.append(a.shape) or real(a, lower))
    rot = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    tied = rot @ np.diag([1e-6, 4.0]) @ rot.T
    params = Params(np.array([0.5, 0.0, 0.25, 0.25]), np.zeros((4, 2)), tied, None)
    events = spurious_components(params, "tied", 1e-6, np.array([2.0, 50.0]))
    assert [e["component"] for e in events] == [0, 2, 3]
    assert len(calls) == 1


def test_smallest_eigenvalue_of_an_empty_matrix_is_nan():
    # (LAPACK refuses il = 1 for n = 0: info < 0, and no eigenvalue.)
    value, info = fastgmm._linalg.smallest_eigenvalue(np.zeros((0, 0), order="F"), True)
    assert np.isnan(value)


@pytest.mark.parametrize("n_samples", [100, 3 * _config.PARALLEL_MIN_BLOCKS * _config.CHUNK_SIZE + 7])
def test_feature_variances_weighted(n_samples):
    """Against numpy's (weighted) variance (rtol 1e-12: chunks' centred sums
    combined exactly; the unweighted kernel's corrected two-pass formula),
    with features of very different offsets and scales; without weights,
    one thread and two give the same bits (the parallel kernel is reached:
    at least PARALLEL_MIN_BLOCKS blocks)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 3)) * [1.0, 1e3, 1e-3] + [1e4, 0.0, -5.0]
    w = rng.uniform(size=n_samples)
    w[:5] = 0.0
    expected = np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0, weights=w)
    np.testing.assert_allclose(feature_variances(X, w), expected, rtol=1e-12)
    np.testing.assert_allclose(feature_variances(X, w, step=7), expected, rtol=1e-12)
    got = feature_variances(X, np.empty(0))
    np.testing.assert_allclose(got, X.var(axis=0), rtol=1e-12)
    with _threads.thread_limit(1):
        assert np.array_equal(feature_variances(X, np.empty(0)), got)


def test_tied_values_give_a_spurious_event(faithful):
    gm = fit_quietly(GaussianMixture(5, covariance_type="diag", random_state=4, **LONG),
                     faithful)
    events = _spurious(gm)
    assert len(events) == 1
    k = events[0]["component"]
    assert gm.covariances_[k, 1] == pytest.approx(1e-6, rel=1e-9)
    assert events[0]["iteration"] == gm.n_iter_
    assert gm.bic(faithful) == pytest.approx(2220.658, abs=0.01)


def test_spurious_events_survive_save_and_load(faithful, tmp_path):
    gm = fit_quietly(GaussianMixture(5, covariance_type="diag", random_state=4, **LONG),
                     faithful)
    gm.save(tmp_path / "m.npz")
    assert fastgmm.load(tmp_path / "m.npz").degenerate_events_ == gm.degenerate_events_


def test_no_false_positive_on_separated_clusters():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(c, s, size=(150, 3))
                        for c, s in ((0, 1.0), (8, 0.5), (-8, 2.0))])
    for covariance_type in ("full", "tied", "diag", "spherical"):
        for k in (1, 3, 5):
            gm = fit_quietly(GaussianMixture(k, covariance_type=covariance_type, n_init=2,
                                             random_state=0, **LONG), X)
            assert _spurious(gm) == [], (covariance_type, k)


def test_n_init_prefers_a_start_without_spurious_component(faithful, monkeypatch):
    gm = fit_quietly(GaussianMixture(5, covariance_type="diag", n_init=5, random_state=0,
                                     **LONG), faithful)
    assert _spurious(gm) == []
    assert gm.bic(faithful) == pytest.approx(2346.10, abs=0.01)
    # With the test disabled the spurious start wins on likelihood.
    monkeypatch.setattr(_config, "SPURIOUS_FRACTION", 0.0)
    gm = fit_quietly(GaussianMixture(5, covariance_type="diag", n_init=5, random_state=0,
                                     **LONG), faithful)
    assert gm.bic(faithful) == pytest.approx(2220.658, abs=0.01)


def test_select_model_marks_an_all_spurious_cell(faithful):
    kw = dict(covariance_types="diag", random_state=4, **LONG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = select_model(faithful, n_components=[3, 5], **kw)
    r = sel.results_
    five = r[r["n_components"] == 5][0]
    assert np.isnan(five["bic"]) and np.isnan(five["aic"]) and np.isnan(five["icl"])
    assert five["spurious"] and "spurious" in five["note"]
    assert np.isfinite(five["log_likelihood"])
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "diag"}
    assert "spurious" in repr(sel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = select_model(faithful, n_components=[3, 5], keep_spurious=True, **kw)
    five = kept.results_[kept.results_["n_components"] == 5][0]
    assert five["spurious"] and five["bic"] == pytest.approx(2220.658, abs=0.01)
    assert kept.best_params_ == {"n_components": 5, "covariance_type": "diag"}
    with pytest.raises(Exception, match="keep_spurious must be a bool"):
        select_model(faithful, n_components=[2], keep_spurious="yes")


def test_wide_table_and_summary(faithful):
    pd = pytest.importorskip("pandas")
    sel = select_model(faithful, n_components=range(1, 4), random_state=0)
    values, ks, types = sel.table()
    assert ks == [1, 2, 3] and types == ["full", "tied", "diag", "spherical"]
    r = sel.results_
    i = np.flatnonzero((r["n_components"] == 2) & (r["covariance_type"] == "tied"))[0]
    assert values[1, 1] == r["bic"][i]
    mclust = sel.to_pandas("wide", sign="mclust")
    assert isinstance(mclust, pd.DataFrame) and mclust.attrs["sign"] == "mclust"
    assert mclust.loc[2, "tied"] == -r["bic"][i]
    t, k, v = sel.top(1)[0]
    assert v == np.nanmin(values) and (t, k) == (sel.best_params_["covariance_type"],
                                                 sel.best_params_["n_components"])
    text = sel.summary()
    assert "mclust's sign" in text and text.splitlines()[1].split()[0] == f"{t},{k}"
    assert f"{-v:.3f}" in text.splitlines()[2]


def test_mclust_selects_over_mclusts_fourteen_models(faithful):
    """covariance_types='mclust' is mclust's 14 models, in mclust's order."""
    sel = select_model(faithful, n_components=[1], covariance_types="mclust",
                       random_state=0)
    assert tuple(sel.results_["covariance_type"]) == (
        "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
        "EEV", "VEV", "EVV", "VVV")
    assert np.all(np.isfinite(sel.results_["bic"]))


def test_plot_in_mclusts_sign_leaves_a_gap_for_a_spurious_model(faithful):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = select_model(faithful, n_components=[3, 5], covariance_types="diag",
                           random_state=4, **LONG)
    ax = sel.plot(sign="mclust")
    try:
        assert ax.get_ylabel() == "BIC (higher is better, mclust's sign)"
        y = ax.lines[0].get_ydata()
        assert y[0] == -sel.results_["bic"][0] and np.isnan(y[1])
        assert ax.lines[1].get_ydata()[0] == -sel.results_["bic"][0]  # the star
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize("n_features", [3, 10])
def test_checked_variances_are_those_of_the_fit_or_none(n_features):
    """``checked_variances``: for an unweighted in-memory X with every value
    finite, the feature variances the spurious test takes and max|X|
    (float32 beyond the float32 pass's range too, whose fit takes the
    variances of X as float64); None where the fit must check X as usual (a
    NaN, an infinity, squares that overflow, or an X that is not a
    float32/float64 array); a fit of such an X raises what the check
    raises. Narrow rows (3 features) and wide ones (10) take the two
    kernels of the column moments."""
    from fastgmm._spurious import checked_variances
    from fastgmm._validation import check_array

    X = np.random.default_rng(15).standard_normal((500, n_features))
    variances, largest = checked_variances(X)
    np.testing.assert_array_equal(variances, feature_variances(X, np.empty(0)))
    assert largest == float(np.abs(X).max())
    np.testing.assert_array_equal(checked_variances(X.astype(np.float32))[0],
                                  feature_variances(X.astype(np.float32), np.empty(0)))
    wide = (X * 4 * _config.FLOAT32_PASS_MAX_ABS).astype(np.float32)
    np.testing.assert_array_equal(checked_variances(wide)[0],
                                  feature_variances(wide.astype(np.float64), np.empty(0)))
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[10, n_features - 1] = bad
        assert checked_variances(Y) is None
        with pytest.raises(ValueError) as expected:
            check_array(Y, estimator_name="GaussianMixture", ensure_min_samples=2)
        with pytest.raises(ValueError) as raised:
            GaussianMixture(2).fit(Y)
        assert str(raised.value) == str(expected.value)
    assert checked_variances(X * 1e160) is None
    assert checked_variances(X.tolist()) is None
    assert checked_variances(X.astype(np.int64)) is None
    assert checked_variances(X[:1]) is None
