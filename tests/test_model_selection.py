"""``fastgmm.select_model``, ``GaussianMixture.icl`` and ``n_parameters_``, ``fastgmm select``.

- BIC recovers the number of components and the covariance family of data
  drawn from known mixtures (3 seeds per scenario here; over seeds 0-9 it
  chose the true model 10 times out of 10 in every scenario below);
- every row is the model a separate ``GaussianMixture`` fit with the same
  seed gives, with the criteria of its ``bic``/``aic``/``icl``;
- parameter counts against hand counts, ICL >= BIC;
- Old Faithful agrees with R's mclust, whose numbers are recorded in
  ``docs/model_selection_mclust.rst`` (so R is not needed here).

Criteria are compared with rtol 1e-10: the sweep sums the log-likelihood
over rows where ``bic`` multiplies the mean by n, which differ by rounding
only.
"""

import math
import sys
import warnings

import numba
import numpy as np
import pytest

import reference
import fastgmm
from fastgmm import GaussianMixture, ModelSelection, select_model
from fastgmm import cli
from fastgmm.datasets import load_old_faithful
from fastgmm.exceptions import ConvergenceWarning, FitFailedWarning, InvalidParameterError

RTOL = reference.RTOL[np.float64]
TYPES = ("full", "tied", "diag", "spherical")


# ---------------------------------------------------------------------------
# Known mixtures


def _rot2(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def _orth(d, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _full(scales, rotations):
    return np.array([R @ np.diag(s) @ R.T for s, R in zip(scales, rotations)])


# name: (weights, means, covariance_type, covariances in scikit-learn's layout, n_samples)
SCENARIOS = {
    "separated-full": (
        [0.5, 0.3, 0.2], [[0, 0], [8, 0], [4, 7]], "full",
        _full([[2.0, 0.2], [1.0, 0.3], [1.5, 0.1]], [_rot2(0.3), _rot2(-0.9), _rot2(1.4)]),
        600),
    "separated-diag": (
        [0.25] * 4, [[0, 0, 0], [7, 0, 0], [0, 7, 0], [0, 0, 7]], "diag",
        np.array([[2.0, 0.3, 0.5], [0.4, 1.5, 0.3], [0.5, 0.3, 2.0], [1.2, 1.2, 0.2]]),
        800),
    "separated-spherical": (
        [0.3, 0.2, 0.2, 0.15, 0.15], [[0, 0], [8, 0], [0, 8], [8, 8], [16, 4]], "spherical",
        np.array([1.0, 0.5, 2.0, 0.8, 1.5]),
        1000),
    "overlapping-tied": (
        [0.4, 0.35, 0.25], [[0, 0], [3.5, 0.5], [1.0, 3.5]], "tied",
        _full([[1.5, 0.5]], [_rot2(0.6)])[0],
        1500),
    "overlapping-full": (
        [0.4, 0.35, 0.25], [[0, 0, 0], [3, 0, 0], [0, 3, 1]], "full",
        _full([[1.5, 0.4, 0.2], [0.3, 1.0, 0.6], [0.8, 0.8, 0.1]],
              [_orth(3, 1), _orth(3, 2), _orth(3, 3)]),
        1500),
    "overlapping-diag": (
        [0.3, 0.3, 0.2, 0.2], [[0, 0], [2.25, 0], [0, 2.25], [2.25, 2.25]], "diag",
        np.array([[0.6, 0.3], [0.3, 0.6], [0.5, 0.2], [0.25, 0.5]]),
        800),
}


def draw(name, seed):
    """Samples of scenario `name`: (X, true n_components, true covariance_type)."""
    weights, means, covariance_type, covariances, n_samples = SCENARIOS[name]
    rng = np.random.default_rng(seed)
    means = np.asarray(means, dtype=float)
    n_components, n_features = means.shape
    counts = rng.multinomial(n_samples, weights)
    parts = []
    for k in range(n_components):
        cov = {"full": lambda: covariances[k],
               "tied": lambda: covariances,
               "diag": lambda: np.diag(covariances[k]),
               "spherical": lambda: covariances[k] * np.eye(n_features)}[covariance_type]()
        parts.append(rng.multivariate_normal(means[k], cov, size=counts[k]))
    X = np.vstack(parts)
    return X[rng.permutation(n_samples)], n_components, covariance_type


@pytest.fixture(autouse=True)
def one_thread():
    """Run on one thread: the data here are small, and a parallel pass over a
    few blocks waits at its barrier for a descheduled thread when the machine
    is busy (results do not depend on the thread count)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@pytest.fixture(scope="module")
def small():
    """Three separated 2-D clusters, 300 rows."""
    return draw("separated-full", 0)[0][:300]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bic_recovers_the_true_model(name):
    # Seeds 0-9 gave 10/10 in each scenario; 3 seeds here, at least 2 right.
    hits = 0
    for seed in range(3):
        X, n_components, covariance_type = draw(name, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            selection = select_model(X, n_components=range(1, 8), random_state=seed)
        hits += selection.best_params_ == {"n_components": n_components,
                                           "covariance_type": covariance_type}
    assert hits >= 2


# ---------------------------------------------------------------------------
# Rows are separate fits


def test_parameter_counts_by_hand():
    X = np.random.default_rng(0).normal(size=(60, 3))
    expected = {"full": 19, "tied": 13, "diag": 13, "spherical": 9}  # d=3, K=2
    selection = select_model(X, n_components=[2], random_state=0)
    for row in selection.results_:
        t = str(row["covariance_type"])
        assert row["n_parameters"] == expected[t]
        gm = GaussianMixture(2, covariance_type=t, random_state=0).fit(X)
        assert gm.n_parameters_ == gm._n_parameters() == expected[t]
    # d=2, K=3: full 3*3 + 6 + 2, tied 3 + 6 + 2, diag 6 + 6 + 2, spherical 3 + 6 + 2.
    by_hand = {"full": 17, "tied": 11, "diag": 14, "spherical": 11}
    for t, count in by_hand.items():
        assert fastgmm._covariance.get(t).n_parameters(3, 2) == count


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_rows_equal_separate_fits(small, init_params):
    selection = select_model(small, n_components=[1, 2, 3], n_init=2, random_state=7,
                             init_params=init_params, max_iter=200, cross_model_start=False)
    assert selection.results_.shape == (12,)
    for row in selection.results_:
        gm = GaussianMixture(int(row["n_components"]), covariance_type=str(row["covariance_type"]),
                             n_init=2, random_state=int(row["random_state"]),
                             init_params=init_params, max_iter=200).fit(small)
        assert row["random_state"] == 7 and row["note"] == ""
        assert row["n_iter"] == gm.n_iter_ and row["converged"] == gm.converged_
        np.testing.assert_allclose(row["bic"], gm.bic(small), rtol=RTOL)
        np.testing.assert_allclose(row["aic"], gm.aic(small), rtol=RTOL)
        np.testing.assert_allclose(row["icl"], gm.icl(small), rtol=RTOL)
        np.testing.assert_allclose(row["log_likelihood"], gm.score(small) * small.shape[0],
                                   rtol=RTOL)
        assert row["fit_time"] > 0


def test_feature_variances_once_per_sweep(monkeypatch):
    # The spurious test's scale depends on the data only: a sweep computes it
    # once, and its rows (spurious ones included) are still the separate fits.
    from fastgmm import _mixture
    from fastgmm.datasets import load_old_faithful

    calls = []
    original = _mixture.feature_variances
    original_checked = _mixture.checked_variances

    def counting(X, sample_weight):
        calls.append(X.shape)
        return original(X, sample_weight)

    def counting_checked(X):
        # Unweighted fits read them with the check of X.
        calls.append(X.shape)
        return original_checked(X)

    monkeypatch.setattr(_mixture, "feature_variances", counting)
    monkeypatch.setattr(_mixture, "checked_variances", counting_checked)
    X = load_old_faithful()
    # diag, K=5 from this seed collapses onto the 14 eruptions of 83 min.
    params = dict(n_init=1, random_state=4, tol=1e-6, max_iter=1000)
    selection = select_model(X, n_components=[4, 5], covariance_types=["diag", "VVI"],
                             keep_spurious=True, cross_model_start=False, **params)
    assert len(calls) == 1
    assert selection.results_["spurious"].any()
    for row in selection.results_:
        calls.clear()
        gm = GaussianMixture(int(row["n_components"]), covariance_type=str(row["covariance_type"]),
                             **params).fit(X)
        assert len(calls) == 1
        spurious = any(e.get("kind") == "spurious" for e in gm.degenerate_events_)
        assert row["spurious"] == spurious
        assert row["n_iter"] == gm.n_iter_
        np.testing.assert_allclose(row["bic"], gm.bic(X), rtol=RTOL)


def test_best_is_the_lowest_criterion(small):
    for criterion in ("bic", "aic", "icl"):
        selection = select_model(small, n_components=range(1, 5), criterion=criterion,
                                 random_state=np.random.RandomState(0))
        r = selection.results_
        i = int(np.argmin(r[criterion]))
        assert selection.criterion == criterion
        assert selection.best_params_ == {"n_components": int(r["n_components"][i]),
                                          "covariance_type": str(r["covariance_type"][i])}
        best = selection.best_
        assert type(best) is GaussianMixture and "_next_start" not in vars(best)
        assert best.random_state == r["random_state"][i]
        assert getattr(best, criterion)(small) == pytest.approx(r[criterion][i], rel=RTOL)
    # A RandomState draws one seed per number of components.
    assert len(set(selection.results_["random_state"].tolist())) == 4


def test_icl_is_bic_plus_twice_the_entropy(small):
    selection = select_model(small, n_components=range(1, 5), random_state=0)
    r = selection.results_
    assert np.all(r["icl"] >= r["bic"])
    one = r["n_components"] == 1
    np.testing.assert_array_equal(r["icl"][one], r["bic"][one])
    gm = GaussianMixture(3, random_state=0).fit(small)
    resp = gm.predict_proba(small)
    entropy = -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)))
    assert gm.icl(small) == pytest.approx(gm.bic(small) + 2 * entropy, rel=RTOL)
    assert gm.icl(small) >= gm.bic(small)


def test_sample_weight_counts_rows(small):
    weights = np.random.default_rng(1).integers(1, 4, size=small.shape[0])
    selection = select_model(small, n_components=[2, 3], covariance_types="full",
                             sample_weight=weights, random_state=0)
    repeated = np.repeat(small, weights, axis=0)
    gm = selection.best_
    row = selection.results_[selection._ranked()[0]]
    for criterion in ("bic", "aic", "icl"):
        assert row[criterion] == pytest.approx(getattr(gm, criterion)(repeated), rel=RTOL)


def test_failed_fit_is_a_nan_row(small):
    # Four distinct points: K=4 puts each in its own component, whose
    # covariance is 0 with reg_covar=0 (and so is the pooled 'tied' one).
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.5]], 10, axis=0)
    with pytest.warns(FitFailedWarning,
                      match="n_components=4, covariance_type='(full|tied)'"):
        selection = select_model(X, n_components=[1, 4], covariance_types=["full", "tied"],
                                 reg_covar=0.0, random_state=0)
    r = selection.results_
    failed = r["n_components"] == 4
    assert np.isnan(r["bic"][failed]).all() and not r["converged"][failed].any()
    assert np.isfinite(r["bic"][~failed]).all()
    assert "failed" in repr(selection)
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="every fit failed"):
        select_model(X, n_components=[4], covariance_types="diag", reg_covar=0.0,
                     random_state=0)


def test_float32_stays_float32(small):
    selection = select_model(small.astype(np.float32), n_components=[2], random_state=0)
    assert selection.best_.means_.dtype == np.float32
    assert np.isfinite(selection.results_["bic"]).all()


def test_invalid_arguments(small):
    with pytest.raises(InvalidParameterError, match="criterion"):
        select_model(small, criterion="bic2")
    with pytest.raises(InvalidParameterError, match="covariance_types"):
        select_model(small, covariance_types=["full", "ful"])
    with pytest.raises(InvalidParameterError, match="positive ints"):
        select_model(small, n_components=[0, 1])
    with pytest.raises(ValueError, match="more than the 300 samples"):
        select_model(small, n_components=[301])
    with pytest.raises(InvalidParameterError, match="means_init"):
        select_model(small, n_components=[2], means_init=[[0, 0], [1, 1]])
    with pytest.raises(TypeError, match="covariance_types"):
        select_model(small, covariance_type="full")
    with pytest.raises(TypeError, match="unknown GaussianMixture parameter"):
        select_model(small, n_component=3)
    with pytest.raises(InvalidParameterError, match="tol"):
        select_model(small, tol=-1.0)


# ---------------------------------------------------------------------------
# The cross-model start

CROSS_MODELS = ["EEE", "VVV", "EVE", "VEI", "EEV"]


def _cross_pair(seed):
    X = load_old_faithful()
    params = dict(n_components=[1, 3, 4], covariance_types=CROSS_MODELS, random_state=seed,
                  n_init=1, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return (X, select_model(X, **params),
                select_model(X, cross_model_start=False, **params))


def test_cross_model_start_never_lowers_a_cell():
    """The partition of the best model at K is one more start of every other
    model at K, kept only where it ends higher: no cell's log-likelihood falls,
    the rows it raised say so, the others are the sweep without it."""
    X, cross, plain = _cross_pair(1)
    improved = cross.results_["note"] != ""
    assert improved.any()
    for a, b in zip(cross.results_, plain.results_):
        assert a["covariance_type"] == b["covariance_type"]
        if a["note"]:
            assert a["note"].startswith("cross-model start: ")
            assert a["n_components"] > 1
            assert a["log_likelihood"] > b["log_likelihood"]
            assert a["bic"] < b["bic"] and a["n_parameters"] == b["n_parameters"]
        else:
            assert a["log_likelihood"] == b["log_likelihood"] and a["bic"] == b["bic"]
    # K = 1 has one optimum: never restarted.
    assert not improved[cross.results_["n_components"] == 1].any()
    # The chosen model is the lowest criterion of the improved table, fitted.
    i = int(np.nanargmin(cross.results_["bic"]))
    assert cross.best_params_ == {"n_components": int(cross.results_["n_components"][i]),
                                  "covariance_type": str(cross.results_["covariance_type"][i])}
    assert cross.best_.bic(X) == pytest.approx(cross.results_["bic"][i], rel=RTOL)


def test_cross_model_start_is_deterministic():
    _, first, _ = _cross_pair(2)
    _, second, _ = _cross_pair(2)
    for field in first.results_.dtype.names:
        if field != "fit_time":
            np.testing.assert_array_equal(first.results_[field], second.results_[field])


def test_cross_model_start_default_is_off_for_hc(small):
    """With 'hc' every model already starts from the same partition (the
    tree's cut): the rows are the separate fits (mclust's table)."""
    selection = select_model(small, n_components=[2, 3], covariance_types=["VVV", "EEE"],
                             init_params="hc", random_state=0)
    assert (selection.results_["note"] == "").all()
    with pytest.raises(InvalidParameterError, match="cross_model_start"):
        select_model(small, n_components=[2], cross_model_start="yes")


# ---------------------------------------------------------------------------
# Output


def test_repr_table(small):
    selection = select_model(small, n_components=range(1, 4), covariance_types=("full", "diag"),
                             random_state=0)
    assert isinstance(selection, ModelSelection)
    text = repr(selection)
    lines = text.splitlines()
    assert lines[0].startswith("Model selection by BIC (lower is better): 300 samples, 2 features")
    assert lines[1].split() == ["K", "full", "diag"]
    assert [line.split()[0] for line in lines[2:5]] == ["1", "2", "3"]
    assert text.count("*") == 2  # the mark and its legend
    assert lines[-2].startswith("Top 3 by BIC: full K=3")


def test_repr_marks_fits_that_did_not_converge(small):
    with pytest.warns(ConvergenceWarning):
        selection = select_model(small, n_components=[2, 3], covariance_types="diag",
                                 max_iter=1, random_state=0)
    assert not selection.results_["converged"].any()
    text = repr(selection)
    assert text.count("!") == 3 and text.endswith("* best; ! did not converge within max_iter")


def test_to_pandas_without_pandas(small, monkeypatch):
    selection = select_model(small, n_components=[1, 2], random_state=0)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        selection.to_pandas()


def test_to_pandas(small):
    pd = pytest.importorskip("pandas")
    selection = select_model(small, n_components=[1, 2], random_state=0)
    frame = selection.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 8
    assert list(frame.columns) == list(selection.results_.dtype.names)


def test_plot(small):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    selection = select_model(small, n_components=range(1, 4), random_state=0, criterion="icl")
    ax = selection.plot()
    try:
        assert ax.get_xlabel() == "number of components K"
        assert ax.get_ylabel() == "ICL (lower is better)"
        assert "ICL" in ax.get_title()
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[:4] == list(TYPES) and labels[4].startswith("best: full, K=3")
        assert len(ax.lines) == 5
    finally:
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert selection.plot(ax=ax) is ax
    plt.close(fig)


def test_n_parameters_survives_save_and_load(small, tmp_path):
    gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(small)
    gm.save(tmp_path / "m.npz")
    assert fastgmm.load(tmp_path / "m.npz").n_parameters_ == gm.n_parameters_ == 9


# ---------------------------------------------------------------------------
# Old Faithful against R's mclust (docs/model_selection_mclust.rst)

# Mclust(faithful, G=1:9, modelNames=c("VVV","EEE","VVI","VII"))$BIC, R 4.2.2,
# mclust 6.0.0: rows K = 1..9, columns VVV (full), EEE (tied), VVI (diag),
# VII (spherical); mclust's sign (2 log L - p log n, higher is better).
MCLUST_BIC = np.array([
    [-2607.622500, -2607.622500, -3055.834862, -4024.721479],
    [-2322.191959, -2325.219937, -2346.064924, -3458.304986],
    [-2349.696256, -2314.316296, -2342.365809, -3336.597954],
    [-2351.493229, -2331.222561, -2343.486144, -3242.825967],
    [-2379.388089, -2360.659010, -2351.017241, -3129.079941],
    [-2387.015675, -2347.352407, -2373.469320, -3038.171130],
    [-2412.440263, -2369.329635, -2394.696083, -2973.374306],
    [-2442.017706, -2376.104302, -2413.705018, -2935.081649],
    [-2460.397717, -2389.609488, -2432.708413, -2919.414835],
])
MCLUST_BEST = {"n_components": 3, "covariance_type": "tied"}  # EEE,3


def test_old_faithful_agrees_with_mclust():
    X = load_old_faithful()
    selection = select_model(X, n_components=range(1, 10), n_init=10, random_state=0)
    assert selection.best_params_ == MCLUST_BEST
    ours = np.empty((9, 4))
    for row in selection.results_:
        ours[row["n_components"] - 1, TYPES.index(row["covariance_type"])] = row["bic"]
    # K=1 is closed-form and K=2 has one clear optimum: the same numbers.
    np.testing.assert_allclose(ours[:2], -MCLUST_BIC[:2], atol=reference.MCLUST_BIC_ATOL)
    # The two best models, in order, are mclust's two best.
    order = np.argsort(ours.ravel())[:2]
    assert order.tolist() == np.argsort(-MCLUST_BIC.ravel())[:2].tolist()
    # The best is mclust's optimum, EM stopped earlier by tol=1e-3.
    assert abs(ours[2, 1] + MCLUST_BIC[2, 1]) < 2.0


# ---------------------------------------------------------------------------
# The command line


def test_cli_select(capsys, tmp_path):
    path = tmp_path / "faithful.csv"
    np.savetxt(path, load_old_faithful(), delimiter=",", header="eruptions,waiting",
               comments="")
    out_model = tmp_path / "best.npz"
    status = cli.main(["select", str(path), "-k", "1..3", "--covariance-type", "full,tied",
                       "--criterion", "aic", "--random-state", "0", "--threads", "1",
                       "-o", str(out_model)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Model selection by AIC (lower is better): 272 samples, 2 features" in captured.out
    assert captured.out.count("\n  1 ") == 1
    chosen = [line for line in captured.out.splitlines() if line.startswith("chosen")]
    assert len(chosen) == 1 and "random_state 0" in chosen[0]
    model = fastgmm.load(out_model)
    assert f"{model.n_components} components, {model.covariance_type} covariance" in chosen[0]


@pytest.mark.parametrize("args, pattern", [
    (["-k", "0..3"], "argument -k/--n-components: expected positive K"),
    (["-k", "3..1"], "K1 <= K2"),
    (["-k", "two"], "expected K, K1..K2"),
    (["--covariance-type", "full,sphere"], "unknown covariance type 'sphere'"),
    (["--criterion", "bic2"], "invalid choice"),
    (["-k", "500"], "500 components for 272 samples"),
])
def test_cli_select_errors(capsys, tmp_path, args, pattern):
    path = tmp_path / "faithful.csv"
    np.savetxt(path, load_old_faithful(), delimiter=",")
    assert cli.main(["select", str(path), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastgmm: error: ") and pattern in lines[0]


def test_log_n_uses_total_weight(small):
    # The penalty of a weighted sweep uses n = sum of the weights.
    selection = select_model(small, n_components=[1], covariance_types="spherical",
                             sample_weight=np.full(small.shape[0], 2.0), random_state=0)
    row = selection.results_[0]
    assert row["bic"] - row["aic"] == pytest.approx(
        row["n_parameters"] * (math.log(2 * small.shape[0]) - 2), rel=RTOL)


# ---------------------------------------------------------------------------
# The criteria's kernel


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loglik_entropy_kernel_against_numpy(dtype):
    """``_kernels.score.loglik_entropy`` against a plain log-sum-exp and
    entropy, with weights and a row whose densities all underflow; its
    parallel and serial forms agree bit for bit (one part per block)."""
    from scipy.special import logsumexp

    from fastgmm._kernels import score

    rng = np.random.default_rng(3)
    weighted = (rng.normal(size=(1000, 4)) * 30).astype(dtype)
    weighted[7] = -np.inf
    weighted[8, 1] = -np.inf
    weight = rng.uniform(0, 2, size=1000)
    chunk_size = 64
    n_blocks = -(-1000 // chunk_size)
    values = np.asarray(weighted, dtype=np.float64)
    finite = np.isfinite(values).any(axis=1)
    log_p = logsumexp(values[finite], axis=1)
    log_r = values[finite] - log_p[:, None]
    r = np.exp(log_r)
    with np.errstate(invalid="ignore"):  # 0 * -inf, masked
        per_row = -np.sum(np.where(r > 0, r * log_r, 0.0), axis=1)
    for w in (np.empty(0), weight):
        ww = w[finite] if w.shape[0] else np.ones(finite.sum())
        outputs = []
        for kernel in (score.loglik_entropy, score.loglik_entropy_serial):
            parts = np.empty(n_blocks), np.empty(n_blocks)
            kernel(weighted, w, chunk_size, *parts)
            outputs.append(parts)
            assert parts[0].sum() == -np.inf
            finite_blocks = np.isfinite(parts[0])
            assert finite_blocks.sum() == n_blocks - 1
            np.testing.assert_allclose(parts[1].sum(), ww @ per_row, rtol=RTOL)
            # The log-likelihood of the blocks without the underflowing row.
            expected = 0.0
            for c in np.flatnonzero(finite_blocks):
                rows = np.arange(c * chunk_size, min((c + 1) * chunk_size, 1000))
                expected += sum(ww[np.searchsorted(np.flatnonzero(finite), i)]
                                * logsumexp(values[i]) for i in rows)
            np.testing.assert_allclose(parts[0][finite_blocks].sum(), expected, rtol=RTOL)
        for a, b in zip(*outputs):
            np.testing.assert_array_equal(a, b)


def test_loglik_entropy_zero_weight_row_adds_nothing():
    """A row of weight 0 adds nothing to the criteria's sums, even where all its
    densities are 0 (0 * -inf would be NaN), as in the fused pass."""
    from fastgmm._kernels import score

    weighted = np.array([[-1.0, -2.0], [-np.inf, -np.inf], [-0.5, -3.0]])
    weight = np.array([1.0, 0.0, 2.0])
    for kernel in (score.loglik_entropy, score.loglik_entropy_serial):
        parts = np.empty(1), np.empty(1)
        kernel(weighted, weight, 8, *parts)
        kept = np.array([0, 2])
        parts_kept = np.empty(1), np.empty(1)
        kernel(weighted[kept], weight[kept], 8, *parts_kept)
        assert np.isfinite(parts[0][0]) and np.isfinite(parts[1][0])
        assert parts[0][0] == parts_kept[0][0]
        assert parts[1][0] == parts_kept[1][0]
