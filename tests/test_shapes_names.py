"""Fitted-parameter shapes, feature names and ``set_output``.

- Parameters handed to a kernel must agree with ``covariance_type``,
  ``n_components`` and the number of features: a warm start on data of
  another width, ``set_params`` after fit, inconsistent fitted attributes
  and wrong ``*_init`` arrays get a ``ValueError``. Before the check existed
  some of these aborted the interpreter (the kernels do not check bounds),
  so those run in a subprocess whose exit status is asserted.
- ``feature_names_in_`` follows scikit-learn: the messages and warnings are
  compared with scikit-learn's own estimators on the same data.
- ``KMeans.set_output`` / ``get_feature_names_out`` give scikit-learn's
  column names (compared with ``sklearn.cluster.KMeans``).
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import cluster as skc
from sklearn import mixture as skm

import reference
import fastgmm
from fastgmm import GaussianMixture, KMeans
from helpers import fit_quietly

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blobs(seed, n_samples=120, n_features=3):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * n_features, [6.0] * n_features])
    return np.vstack([rng.normal(size=(n_samples // 2, n_features)) + c for c in centres])


def run_isolated(code):
    """Run ``code`` in a fresh interpreter (this checkout's fastgmm); (returncode, output).

    A kernel writing past an array can abort the process (SIGABRT from the
    allocator), which must not take the test session down with it.
    """
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def outcomes(output):
    """``{case: "ExcType: message"}`` from the ``case|outcome`` lines of a script."""
    return dict(line.split("|", 1) for line in output.splitlines() if "|" in line)


_PRELUDE = """
import warnings
import numpy as np
from fastgmm import GaussianMixture

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X3 = np.vstack([rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 6])

def report(case, call):
    try:
        call()
        outcome = "no error"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}".replace("\\n", " ")
    print(f"{case}|{outcome}", flush=True)
"""


# ---------------------------------------------------------------------------
# Shapes of the parameters handed to the kernels


@pytest.fixture(scope="module")
def warm_start_run():
    return run_isolated(_PRELUDE + """
for ct in ("full", "tied", "diag", "spherical"):
    g = GaussianMixture(2, covariance_type=ct, warm_start=True, random_state=0).fit(X3)
    before = g.predict(X3)
    for d in (2, 4):
        report(f"{ct} {d}", lambda: g.fit(rng.normal(size=(120, d))))
    # The failed fits left the model as it was.
    report(f"{ct} unchanged", lambda: np.testing.assert_array_equal(g.predict(X3), before))
""")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_on_other_n_features_raises(warm_start_run, covariance_type):
    returncode, output = warm_start_run
    assert returncode == 0, output[-3000:]
    found = outcomes(output)
    for d in (2, 4):
        assert found[f"{covariance_type} {d}"] == (
            f"ValueError: X has {d} features, but GaussianMixture is expecting 3 "
            "features as input.")
    assert found[f"{covariance_type} unchanged"] == "no error"


METHODS = ("predict", "predict_proba", "score_samples", "score", "sample", "bic", "aic",
           "icl", "warm fit", "partial_fit", "stream partial_fit")


@pytest.fixture(scope="module")
def set_params_run():
    # n_components == n_features, so that 'diag' (K, d) and 'tied' (d, d)
    # parameters have the same shape: only the record of the fit tells them apart.
    return run_isolated(_PRELUDE + """
calls = {
    "predict": lambda g: g.predict(X3),
    "predict_proba": lambda g: g.predict_proba(X3),
    "score_samples": lambda g: g.score_samples(X3),
    "score": lambda g: g.score(X3),
    "sample": lambda g: g.sample(5),
    "bic": lambda g: g.bic(X3),
    "aic": lambda g: g.aic(X3),
    "icl": lambda g: g.icl(X3),
    "warm fit": lambda g: g.set_params(warm_start=True).fit(X3),
    "partial_fit": lambda g: g.partial_fit(X3),
}
for a in ("full", "tied", "diag", "spherical"):
    for b in ("full", "tied", "diag", "spherical"):
        if a == b:
            continue
        for method, call in calls.items():
            g = GaussianMixture(3, covariance_type=a, random_state=0).fit(X3)
            g.set_params(covariance_type=b)
            report(f"{a} {b} {method}", lambda: call(g))
        # A stream already running when covariance_type changes.
        g = GaussianMixture(3, covariance_type=a, random_state=0).partial_fit(X3)
        g.partial_fit(X3)
        g.set_params(covariance_type=b)
        report(f"{a} {b} stream partial_fit", lambda: g.partial_fit(X3))
""")


@pytest.mark.parametrize("before, after", [(a, b) for a in COVARIANCE_TYPES
                                           for b in COVARIANCE_TYPES if a != b])
def test_set_params_covariance_type_after_fit_raises(set_params_run, before, after):
    returncode, output = set_params_run
    assert returncode == 0, output[-3000:]
    found = outcomes(output)
    for method in METHODS:
        outcome = found[f"{before} {after} {method}"]
        assert outcome.startswith("ValueError: The fitted parameters are for "
                                  f"covariance_type='{before}'"), (method, outcome)
        assert f"now '{after}'" in outcome and "refit" in outcome, (method, outcome)


@pytest.fixture(scope="module")
def hand_set_run():
    # Fitted attributes set by hand (as a damaged file, or user code, could):
    # the estimator's check is the last line of defence before the kernels.
    return run_isolated(_PRELUDE + """
full = GaussianMixture(2, random_state=0).fit(X3)
narrow = GaussianMixture(2, random_state=0).fit(X3[:, :2])
diag = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X3)
names = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
         "n_features_in_", "n_components_", "converged_")

def built(source, **replace):
    g = GaussianMixture(2, random_state=0)
    for name in names:
        setattr(g, name, getattr(source, name))
    for name, value in replace.items():
        setattr(g, name, value)
    return g

cases = {
    "narrow precisions": built(full, precisions_cholesky_=narrow.precisions_cholesky_,
                               covariances_=narrow.covariances_),
    "narrow means": built(full, means_=narrow.means_),
    "long weights": built(full, weights_=np.full(3, 1 / 3)),
    "n_components_": built(full, n_components_=3),
    "diag arrays": built(diag),
    "wide model": built(full, n_features_in_=2),
}
for case, g in cases.items():
    for method in ("predict", "score_samples", "sample"):
        X = X3[:, :2] if case == "wide model" else X3
        report(f"{case} {method}",
               lambda: g.sample(3) if method == "sample" else getattr(g, method)(X))

from fastgmm import KMeans

km = KMeans(2, random_state=0).fit(X3)
km.cluster_centers_ = km.cluster_centers_[:, :2].copy()
for method in ("predict", "score_sample", "transform"):
    report(f"kmeans centres {method}",
           lambda: getattr(km, "score" if method == "score_sample" else method)(X3))
""")


HAND_SET = {
    "narrow precisions": r"ValueError: The fitted attribute 'precisions_cholesky_' has "
                         r"shape \(2, 2, 2\); a 'full' mixture of 2 components and 3 "
                         r"features has \(2, 3, 3\)",
    "narrow means": r"ValueError: The fitted attribute 'means_' has shape \(2, 2\); a "
                    r"'full' mixture of 2 components and 3 features has \(2, 3\)",
    "long weights": r"ValueError: The fitted attribute 'weights_' has shape \(3,\); a "
                    r"'full' mixture of 2 components and 3 features has \(2,\)",
    "n_components_": r"ValueError: The fitted attribute 'n_components_' is 3, but the "
                     r"fitted means_ hold 2 components",
    "diag arrays": r"ValueError: The fitted parameters are for covariance_type='diag', "
                   r"but the estimator's covariance_type is now 'full'",
    "wide model": r"ValueError: The fitted attribute 'means_' has shape \(2, 3\); a "
                  r"'full' mixture of 2 components and 2 features has \(2, 2\)",
    "kmeans centres": r"ValueError: The fitted attribute 'cluster_centers_' has shape "
                      r"\(2, 2\); a KMeans fitted on 3 features has \(n_clusters, 3\)",
}


@pytest.mark.parametrize("case", sorted(HAND_SET))
def test_inconsistent_fitted_attributes_raise(hand_set_run, case):
    import re

    returncode, output = hand_set_run
    assert returncode == 0, output[-3000:]
    found = outcomes(output)
    methods = [key[len(case) + 1:] for key in found if key.startswith(case + " ")]
    assert len(methods) == 3
    for method in methods:
        assert re.match(HAND_SET[case], found[f"{case} {method}"]), (
            method, found[f"{case} {method}"])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_after_fit_on_other_n_features_raises(covariance_type):
    X = blobs(1)
    g = fit_quietly(GaussianMixture(2, covariance_type=covariance_type, random_state=0), X)
    for d in (2, 4):
        with pytest.raises(ValueError, match=(f"^X has {d} features, but GaussianMixture "
                                              "is expecting 3 features as input.$")):
            g.partial_fit(blobs(2, n_features=d))


def test_set_params_n_components_after_fit():
    """Predictions use the fitted components, as scikit-learn's do; a fit
    that goes on from them (warm start, partial_fit) refuses the change."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X = blobs(3)
    g = fit_quietly(GaussianMixture(2, random_state=0), X)
    sk = fit_quietly(SkGaussianMixture(2, random_state=0), X)
    labels, score, bic = g.predict(X), g.score(X), g.bic(X)
    g.set_params(n_components=3)
    sk.set_params(n_components=3)
    np.testing.assert_array_equal(g.predict(X), labels)
    np.testing.assert_array_equal(g.predict(X), sk.predict(X))
    assert g.score(X) == score and g.bic(X) == bic
    assert g.sample(4)[0].shape == (4, X.shape[1])
    calls = {
        "partial_fit": lambda: g.partial_fit(X),
        "warm fit": lambda: g.set_params(warm_start=True).fit(X),
    }
    for method, call in calls.items():
        with pytest.raises(ValueError, match=(
                r"^The fitted parameters are for n_components=2, but the estimator's "
                r"n_components is now 3.*refit")):
            call()
    # Nothing was lost: with n_components back, the model predicts as before.
    g.set_params(n_components=2, warm_start=False)
    np.testing.assert_array_equal(g.predict(X), labels)


def _dropped_model():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 6])
    means_init = np.array([[0.0, 0.0], [6.0, 6.0], [1e3, 1e3]])
    model = fit_quietly(GaussianMixture(3, means_init=means_init, on_degenerate="drop",
                                        random_state=0), X)
    assert model.n_components_ == 2  # the setting of the test, not the result checked
    return model, X


def test_dropped_component_is_not_a_changed_n_components(tmp_path):
    model, X = _dropped_model()
    labels = model.predict(X)
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(fastgmm.load(tmp_path / "m.npz").predict(X), labels)
    # A component dropped by the fit is not a change of n_components, even
    # when on_degenerate changes afterwards.
    model.set_params(on_degenerate="raise")
    np.testing.assert_array_equal(model.predict(X), labels)
    n_iter = model.n_iter_
    model.partial_fit(X, end_epoch=True)
    assert model.n_components_ == 2 and model.n_iter_ == n_iter + 1


def _error(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_init_arrays_of_wrong_shape_raise_as_sklearn(covariance_type):
    X = blobs(4)
    k, d = 2, X.shape[1]
    good_precisions = {"full": np.tile(np.eye(d), (k, 1, 1)), "tied": np.eye(d),
                       "diag": np.ones((k, d)), "spherical": np.ones(k)}[covariance_type]
    bad = {
        "weights_init": np.full(k + 1, 1 / (k + 1)),
        "means_init": np.zeros((k, d + 1)),
        "precisions_init": good_precisions[..., :-1] if covariance_type != "spherical"
        else np.ones(k + 1),
    }
    for name, value in bad.items():
        kw = dict(n_components=k, covariance_type=covariance_type, **{name: value})
        ours = _error(lambda: GaussianMixture(**kw).fit(X))
        theirs = _error(lambda: skm.GaussianMixture(**kw).fit(X))
        assert type(ours) is ValueError and str(ours) == str(theirs), name
        # The same check guards the first partial_fit and a warm start.
        assert str(_error(lambda: GaussianMixture(**kw).partial_fit(X))) == str(theirs)
        warm = fit_quietly(GaussianMixture(k, covariance_type=covariance_type,
                                           warm_start=True), X)
        assert str(_error(lambda: warm.set_params(**{name: value}).fit(X))) == str(theirs)


# ---------------------------------------------------------------------------
# Feature names


def frame(seed=5, columns=("a", "b", "c")):
    return pd.DataFrame(blobs(seed), columns=list(columns))


ESTIMATORS = {
    "GaussianMixture": (lambda: GaussianMixture(2, random_state=0),
                        lambda: skm.GaussianMixture(2, random_state=0)),
    "KMeans": (lambda: KMeans(2, random_state=0), lambda: skc.KMeans(2, random_state=0)),
}


def fitted_pair(name, X):
    ours, theirs = ESTIMATORS[name]
    return fit_quietly(ours(), X), fit_quietly(theirs(), X)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_dataframe_fit_sets_feature_names_in_as_sklearn(name):
    df = frame()
    ours, theirs = fitted_pair(name, df)
    assert ours.feature_names_in_.dtype == theirs.feature_names_in_.dtype == object
    np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    assert all(type(v) is str for v in ours.feature_names_in_)
    # The names come from the frame; the numbers are those of its values.
    twin = fit_quietly(ESTIMATORS[name][0](), df.to_numpy())
    np.testing.assert_array_equal(ours.predict(df), twin.predict(df.to_numpy()))
    # Fitting without names removes the names of an earlier fit.
    fit_quietly(ours, df.to_numpy())
    assert not hasattr(ours, "feature_names_in_")


OTHER_COLUMNS = {
    "reordered": lambda df: df[["c", "b", "a"]],
    "renamed": lambda df: df.set_axis(["a", "b", "z"], axis=1),
    "fewer": lambda df: df[["a", "b"]],
    "more": lambda df: df.assign(d=1.0),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("case", sorted(OTHER_COLUMNS))
def test_other_columns_raise_as_sklearn(name, case):
    df = frame()
    ours, theirs = fitted_pair(name, df)
    other = OTHER_COLUMNS[case](df)
    methods = ["predict", "score"] + (["transform"] if name == "KMeans" else
                                      ["predict_proba", "score_samples", "bic"])
    for method in methods:
        ours_exc = _error(lambda: getattr(ours, method)(other))
        theirs_exc = _error(lambda: getattr(theirs, method)(other))
        assert type(ours_exc) is ValueError and str(ours_exc) == str(theirs_exc), method


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_array_and_frame_mismatch_warns_as_sklearn(name):
    df = frame()

    def messages(model, X):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.predict(X)
        return [(w.category, str(w.message)) for w in caught]

    ours, theirs = fitted_pair(name, df)
    expected = messages(theirs, df.to_numpy())
    assert expected and messages(ours, df.to_numpy()) == expected
    ours, theirs = fitted_pair(name, df.to_numpy())
    expected = messages(theirs, df)
    assert expected and messages(ours, df) == expected
    assert messages(ours, df.to_numpy()) == []


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_non_string_column_names_as_sklearn(name):
    X = blobs(6)
    ints = pd.DataFrame(X, columns=[0, 1, 2])
    ours, theirs = fitted_pair(name, ints)
    assert not hasattr(ours, "feature_names_in_") and not hasattr(theirs, "feature_names_in_")
    mixed = pd.DataFrame(X, columns=["a", 1, "c"])
    ours_exc = _error(lambda: ESTIMATORS[name][0]().fit(mixed))
    theirs_exc = _error(lambda: ESTIMATORS[name][1]().fit(mixed))
    assert type(ours_exc) is TypeError and str(ours_exc) == str(theirs_exc)


def test_warm_start_and_partial_fit_check_names():
    df = frame()
    g = fit_quietly(GaussianMixture(2, warm_start=True, random_state=0), df)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        g.fit(df[["c", "b", "a"]])
    np.testing.assert_array_equal(g.feature_names_in_, ["a", "b", "c"])
    p = GaussianMixture(2, random_state=0).partial_fit(df)
    np.testing.assert_array_equal(p.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- z"):
        p.partial_fit(frame(columns="abz"))


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "boolean"])
def test_nullable_columns_with_na_get_the_nan_message(dtype):
    values = {"Int64": [1, 2, 3, 4], "Float64": [1.5, 2.5, 3.5, 4.5],
              "boolean": [True, False, True, False]}[dtype]
    df = pd.DataFrame({"a": pd.array(values, dtype=dtype),
                       "b": pd.array(values[::-1], dtype=dtype)})
    dense = df.to_numpy(dtype=np.float64)
    # Without missing values the nullable columns fit as their float64 values.
    for make in (lambda: GaussianMixture(2, random_state=0), lambda: KMeans(2, random_state=0)):
        a, b = fit_quietly(make(), df), fit_quietly(make(), dense)
        np.testing.assert_array_equal(a.predict(df), b.predict(dense))
    df.loc[2, "b"] = pd.NA
    for make in (lambda: GaussianMixture(2), lambda: KMeans(2)):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            make().fit(df)


def test_feature_names_round_trip_through_model_file(tmp_path):
    g = fit_quietly(GaussianMixture(2, random_state=0), frame())
    g.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    assert loaded.feature_names_in_.dtype == object
    np.testing.assert_array_equal(loaded.feature_names_in_, g.feature_names_in_)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        loaded.predict(frame()[["b", "a", "c"]])


# ---------------------------------------------------------------------------
# KMeans as a transformer


def test_kmeans_get_feature_names_out_as_sklearn():
    X = blobs(7)
    ours, theirs = fitted_pair("KMeans", X)
    assert ours.get_feature_names_out().dtype == object
    np.testing.assert_array_equal(ours.get_feature_names_out(),
                                  theirs.get_feature_names_out())
    df = frame()
    ours, theirs = fitted_pair("KMeans", df)
    np.testing.assert_array_equal(ours.get_feature_names_out(["a", "b", "c"]),
                                  theirs.get_feature_names_out(["a", "b", "c"]))
    for bad in (["a", "b"], ["c", "b", "a"]):
        assert (str(_error(lambda: ours.get_feature_names_out(bad)))
                == str(_error(lambda: theirs.get_feature_names_out(bad))))
    with pytest.raises(fastgmm.NotFittedError):
        KMeans(2).get_feature_names_out()


def test_kmeans_set_output_pandas():
    df = frame().set_axis([f"row{i}" for i in range(120)])
    model = KMeans(2, random_state=0)
    dense = fit_quietly(model, df).transform(df)
    assert model.set_output(transform="pandas") is model
    for out in (model.transform(df), model.fit_transform(df)):
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == ["kmeans0", "kmeans1"]
        assert list(out.index) == list(df.index)
        np.testing.assert_array_equal(out.to_numpy(), dense)
    assert isinstance(model.set_output(transform="default").transform(df), np.ndarray)
    with pytest.raises(ValueError, match="transform"):
        model.set_output(transform="arrow")


def test_pipeline_set_output_pandas_as_sklearn():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X = blobs(8)
    ours = Pipeline([("s", StandardScaler()), ("k", KMeans(3, random_state=0))])
    theirs = Pipeline([("s", StandardScaler()), ("k", skc.KMeans(3, random_state=0))])
    out = ours.set_output(transform="pandas").fit_transform(X)
    expected = theirs.set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(expected.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    # Same seeds, same draws: the same centres up to rounding (test_kmeans.py).
    np.testing.assert_allclose(out.to_numpy(), expected.to_numpy(),
                               rtol=reference.SKLEARN_RTOL[np.float64],
                               atol=reference.SKLEARN_RTOL[np.float64])
    np.testing.assert_array_equal(ours[-1].feature_names_in_, ["x0", "x1", "x2"])

