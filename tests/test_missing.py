"""Missing values: nan_policy='marginalize' (EM for incomplete data), 'omit', impute().

Checked against the per-pattern dense reference of ``reference.py``
(``incomplete_*``), written from the formulas and independent of fastgmm.
"""

import warnings

import numpy as np
import pytest

import reference as ref
from fastgmm import GaussianMixture
from fastgmm._config import CHUNK_SIZE, PARALLEL_MIN_BLOCKS
from fastgmm.exceptions import InvalidParameterError
from helpers import fit_quietly

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _data(seed=0, n_samples=400, n_features=4, n_components=3, fraction=0.2,
          dtype=np.float64):
    rng = np.random.default_rng(seed)
    X, _ = ref.make_blobs(rng, n_samples, n_features, n_components, spread=4.0)
    return X, ref.mcar(rng, X, fraction).astype(dtype)


def _reference_fit(Xm, start, covariance_type, n_iter, reg_covar, sample_weight=None):
    weights = start["weights_init"]
    means = start["means_init"]
    prec = start["precisions_init"]
    cov = np.linalg.inv(prec) if covariance_type in ("full", "tied") else 1.0 / prec
    bounds = []
    for _ in range(n_iter):
        lb, (weights, means, cov) = ref.incomplete_em_step(
            Xm, weights, means, cov, covariance_type, reg_covar, sample_weight)
        bounds.append(lb)
    return weights, means, cov, np.array(bounds)


def _close(actual, expected, dtype):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=ref.MISSING_FIT_RTOL[dtype],
                               atol=ref.MISSING_FIT_ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_matches_reference(covariance_type, dtype):
    X, Xm = _data(dtype=dtype)
    start = ref.random_start(X, covariance_type, n_components=3, seed=1)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, max_iter=25,
                                     tol=0.0, nan_policy="marginalize", **start), Xm)
    weights, means, cov, bounds = _reference_fit(Xm, start, covariance_type, 25, 1e-6)
    assert gm.n_iter_ == 25 and gm.means_.dtype == dtype
    _close(gm.weights_, weights, dtype)
    _close(gm.means_, means, dtype)
    _close(gm.covariances_, cov, dtype)
    _close(gm.lower_bounds_, bounds, dtype)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_per_row_outputs_match_reference(covariance_type):
    X, Xm = _data(seed=2)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, max_iter=5,
                                     nan_policy="marginalize", random_state=0), Xm)
    args = (gm.weights_, gm.means_, gm.covariances_, covariance_type)
    norm, resp = ref.incomplete_responsibilities(Xm, *args)
    tol = dict(rtol=ref.MISSING_ROW_RTOL, atol=ref.MISSING_ROW_ATOL)
    np.testing.assert_allclose(gm.score_samples(Xm), norm, **tol)
    # score is the mean observed-data log-likelihood.
    np.testing.assert_allclose(gm.score(Xm), norm.mean(), **tol)
    np.testing.assert_allclose(gm.predict_proba(Xm), resp, rtol=ref.MISSING_ROW_RTOL,
                               atol=1e-10)
    np.testing.assert_array_equal(gm.predict(Xm), resp.argmax(axis=1))
    np.testing.assert_allclose(gm.impute(Xm), ref.incomplete_impute(Xm, *args), **tol)
    n = Xm.shape[0]
    np.testing.assert_allclose(gm.bic(Xm), -2 * norm.sum() + gm.n_parameters_ * np.log(n),
                               rtol=ref.MISSING_ROW_RTOL)
    assert np.isfinite(gm.icl(Xm)) and gm.icl(Xm) >= gm.bic(Xm) - 1e-9


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(covariance_type):
    X, Xm = _data(seed=3, fraction=0.3)
    start = ref.random_start(X, covariance_type, n_components=3, seed=4)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, max_iter=60,
                                     tol=0.0, reg_covar=0.0, nan_policy="marginalize",
                                     **start), Xm)
    lb = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(lb) >= -ref.LL_DECREASE_RTOL * np.abs(lb[1:]))
    assert lb[-1] > lb[0]


@pytest.mark.parametrize("covariance_type", ["EII", "VEI", "EVE", "VEV"])
def test_mclust_models_take_the_expected_statistics(covariance_type):
    """mclust's models (closed form: EII; iterative: VEI, EVE, VEV) run EM
    for incomplete data through their own M-step: the observed-data
    log-likelihood never decreases (reg_covar=0), and the fit keeps the
    model's structure (EVE: one orientation for every component)."""
    X, Xm = _data(seed=3, fraction=0.3)
    gm = fit_quietly(GaussianMixture(2, covariance_type=covariance_type, max_iter=40,
                                     tol=0.0, reg_covar=0.0, nan_policy="marginalize",
                                     random_state=0), Xm)
    lb = np.asarray(gm.lower_bounds_)
    # The inner loops of the iterative M-steps stop at a relative parameter
    # change of sqrt(eps): their last digits carry that much.
    assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[1:]))
    assert lb[-1] > lb[0]
    if covariance_type == "EVE":
        vecs = [np.linalg.eigh(c)[1] for c in gm.covariances_]
        overlap = np.abs(vecs[0].T @ vecs[1])
        np.testing.assert_allclose(np.sort(overlap.max(axis=1)), 1.0, atol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_no_nan_is_bit_identical(covariance_type):
    X, _ = _data(seed=5)
    kw = dict(covariance_type=covariance_type, random_state=0, max_iter=20)
    a = fit_quietly(GaussianMixture(3, **kw), X)
    b = fit_quietly(GaussianMixture(3, nan_policy="marginalize", **kw), X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "lower_bounds_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    # impute on a complete X returns it unchanged.
    np.testing.assert_array_equal(b.impute(X), X)


def test_thread_count_bit_identical():
    n_samples = 2 * PARALLEL_MIN_BLOCKS * CHUNK_SIZE
    X, Xm = _data(seed=6, n_samples=n_samples, n_features=5)
    fits = [fit_quietly(GaussianMixture(3, max_iter=5, random_state=0, n_threads=t,
                                        nan_policy="marginalize"), Xm)
            for t in (1, 2)]
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    np.testing.assert_array_equal(fits[0].impute(Xm), fits[1].impute(Xm))


def test_sample_weight_matches_reference_and_repetition():
    X, Xm = _data(seed=7, n_samples=200)
    sw = np.random.default_rng(0).integers(1, 4, size=X.shape[0]).astype(float)
    start = ref.random_start(X, "full", n_components=3, seed=8)
    kw = dict(max_iter=10, tol=0.0, nan_policy="marginalize", **start)
    gm = fit_quietly(GaussianMixture(3, **kw), Xm, sample_weight=sw)
    weights, means, cov, _ = _reference_fit(Xm, start, "full", 10, 1e-6, sw)
    _close(gm.means_, means, np.float64)
    _close(gm.covariances_, cov, np.float64)
    repeated = fit_quietly(GaussianMixture(3, **kw), np.repeat(Xm, sw.astype(int), axis=0))
    np.testing.assert_allclose(gm.means_, repeated.means_, rtol=ref.WEIGHTED_FIT_RTOL,
                               atol=ref.WEIGHTED_FIT_ATOL)


def test_memmap_equals_in_memory(tmp_path):
    _, Xm = _data(seed=9)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=Xm.dtype,
                                   shape=Xm.shape)
    mm[:] = Xm
    mm.flush()
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    kw = dict(max_iter=10, random_state=0, nan_policy="marginalize")
    a = fit_quietly(GaussianMixture(3, **kw), Xm)
    b = fit_quietly(GaussianMixture(3, **kw), mapped)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.score_samples(Xm), b.score_samples(mapped))


def test_omit_drops_rows_with_a_warning():
    X, Xm = _data(seed=10)
    keep = ~np.isnan(Xm).any(axis=1)
    with pytest.warns(UserWarning, match=f"{(~keep).sum()} of {X.shape[0]} rows"):
        labels = GaussianMixture(3, random_state=0, nan_policy="omit").fit_predict(Xm)
    assert np.all(labels[~keep] == -1) and np.all(labels[keep] >= 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GaussianMixture(3, random_state=0, nan_policy="omit").fit(Xm)
    b = GaussianMixture(3, random_state=0).fit(Xm[keep])
    np.testing.assert_array_equal(a.means_, b.means_)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        a.predict(Xm)


def test_bad_input_messages():
    X, Xm = _data(seed=11, n_samples=60)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(Xm)
    with pytest.raises(InvalidParameterError, match="nan_policy"):
        GaussianMixture(2, nan_policy="propagate").fit(X)
    empty = Xm.copy()
    empty[[3, 7]] = np.nan
    with pytest.raises(ValueError, match=r"2 row\(s\) with no observed value.*3, 7"):
        GaussianMixture(2, nan_policy="marginalize").fit(empty)
    # A column with no observed value: named, not left to the start's k-means
    # (whose message named KMeans and came after numpy's warnings).
    no_column = Xm.copy()
    no_column[:, 1] = np.nan
    for init_params in ("kmeans", "k-means++", "random", "random_from_data", "hc"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError,
                               match=r"1 column\(s\) with no observed value.*1\."):
                GaussianMixture(2, nan_policy="marginalize",
                                init_params=init_params).fit(no_column)
    inf = Xm.copy()
    inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2, nan_policy="marginalize").fit(inf)
    with pytest.raises(ValueError, match="on_degenerate='reseed' is not available"):
        GaussianMixture(2, nan_policy="marginalize", on_degenerate="reseed").fit(Xm)
    with pytest.raises(ValueError, match="assignment='hard' is not available"):
        GaussianMixture(2, nan_policy="marginalize", assignment="hard").fit(Xm)
    gm = fit_quietly(GaussianMixture(2, nan_policy="marginalize", max_iter=3), Xm)
    with pytest.raises(ValueError, match="no observed value"):
        gm.impute(empty)
    with pytest.raises(ValueError, match="infinity"):
        gm.score_samples(inf)


def test_dask_with_nan_is_refused_without_nan_fitted():
    da = pytest.importorskip("dask.array")
    X, Xm = _data(seed=12, n_samples=60)
    with pytest.raises(ValueError, match="not available for Dask arrays with NaN"):
        GaussianMixture(2, nan_policy="marginalize").fit(da.from_array(Xm, chunks=30))
    kw = dict(max_iter=5, random_state=0)
    a = fit_quietly(GaussianMixture(2, nan_policy="marginalize", **kw),
                    da.from_array(X, chunks=30))
    b = fit_quietly(GaussianMixture(2, **kw), da.from_array(X, chunks=30))
    np.testing.assert_array_equal(a.means_, b.means_)


def test_fit_predict_and_warm_start():
    _, Xm = _data(seed=14)
    kw = dict(max_iter=30, random_state=0, nan_policy="marginalize")
    gm = GaussianMixture(3, **kw)
    labels = fit_quietly_predict(gm, Xm)
    np.testing.assert_array_equal(labels, gm.predict(Xm))
    warm = fit_quietly(GaussianMixture(3, warm_start=True, **dict(kw, max_iter=5)), Xm)
    first = warm.lower_bound_
    fit_quietly(warm, Xm)
    assert warm.lower_bound_ >= first - ref.LL_DECREASE_RTOL * abs(first)


def fit_quietly_predict(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit_predict(X)


def test_cli_fit_marginalize_on_csv_with_empty_fields(tmp_path, capsys):
    from fastgmm import load
    from fastgmm.cli import main

    _, Xm = _data(seed=13, n_samples=120, n_features=3)
    path = tmp_path / "data.csv"
    lines = ["a,b,c"] + [",".join("" if np.isnan(v) else repr(float(v)) for v in row)
                         for row in Xm]
    path.write_text("\n".join(lines) + "\n")
    model_path = tmp_path / "m.npz"
    assert main(["fit", str(path), "-k", "2", "--nan-policy", "marginalize",
                 "--random-state", "0", "-q", "-o", str(model_path)]) == 0
    model = load(model_path)
    expected = fit_quietly(GaussianMixture(2, nan_policy="marginalize", random_state=0), Xm)
    np.testing.assert_allclose(model.means_, expected.means_, rtol=1e-12)
    capsys.readouterr()
    assert main(["predict", str(model_path), str(path)]) == 0
    labels = capsys.readouterr().out.split()[1:]
    np.testing.assert_array_equal(np.array(labels, dtype=int), expected.predict(Xm))
