"""Fuzzing the API boundary: random malformed input must raise ValueError or
TypeError (NotFittedError is a ValueError), never anything else.

Each case draws, from a seeded generator, an X (random dtype, shape, NaN and
infinities, strings, None, nested and ragged lists, sparse and masked
arrays), sample weights, and constructor parameters (mostly invalid), and
calls fit, predict, score_samples and predict_proba on a fresh and on a
fitted estimator. Whatever succeeds must return finite numbers. The cases
are small, so a successful fit takes milliseconds.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastgmm import GaussianMixture

N_CASES = 60
DTYPES = ["f2", "f4", "f8", ">f8", "i1", "i8", "u1", "?", "c8", "c16", "O", "U3", "S3",
          "M8[s]", "m8[s]", "V8", "f16"]


def random_array(rng):
    """A small array of a random dtype and shape, some of it NaN or infinite."""
    ndim = int(rng.choice([0, 1, 2, 2, 2, 2, 3]))
    shape = tuple(int(s) for s in rng.integers(0, 7, size=ndim))
    values = np.asarray(rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4))
    if values.size and rng.random() < 0.4:
        spoiled = rng.random(shape) < 0.2
        values[spoiled] = rng.choice([np.nan, np.inf, -np.inf])
    dtype = str(rng.choice(DTYPES))
    try:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return values.astype(dtype)
    except (TypeError, ValueError):
        return values


def random_X(rng, n_features=3):
    kind = int(rng.integers(12))
    if kind == 0:
        return None
    if kind == 1:
        return [[1.0, 2.0], [3.0]]  # ragged
    if kind == 2:
        return [[float(v) for v in row] for row in rng.normal(size=(5, n_features))]
    if kind == 3:
        return [["a", "b", "c"]] * 4
    if kind == 4:
        return sp.random(6, n_features, density=0.5, random_state=int(rng.integers(100)),
                         format=str(rng.choice(["csr", "csc", "coo"])))
    if kind == 5:
        X = rng.normal(size=(6, n_features))
        return np.ma.masked_array(X, mask=rng.random(X.shape) < 0.3)
    if kind == 6:
        return rng.choice([3.0, "text", {"a": 1}, {1, 2}, object(), b"bytes"])
    if kind == 7:
        return rng.normal(size=(int(rng.integers(0, 8)), n_features))  # maybe valid
    if kind == 8:
        X = np.asfortranarray(rng.normal(size=(6, n_features)))
        return X[:, ::-1] if rng.random() < 0.5 else X
    return random_array(rng)


def random_weight(rng, n_samples):
    return [
        None, 2.0, -np.ones(n_samples), np.full(n_samples, np.nan), np.zeros(n_samples),
        np.ones(n_samples + 1), np.ones((n_samples, 1)), "heavy", [1] * n_samples,
        rng.random(n_samples), np.full(n_samples, np.inf), np.array([None] * n_samples),
    ][int(rng.integers(12))]


BAD_PARAMS = {
    "n_components": [-1, 0, 1.5, "2", None, True, 10**6, np.nan],
    "covariance_type": ["banana", None, 3, "FULL"],
    "tol": [-1.0, np.nan, "x", None],
    "reg_covar": [-1e-3, np.nan, np.inf, "small"],
    "max_iter": [-1, 2.5, None],
    "n_init": [0, -3, 1.5],
    "init_params": ["nope", None, 0],
    "random_state": ["seed", -1, 1.5, np.random.default_rng(0)],
    "on_degenerate": ["maybe", None, True],
    "n_threads": [0, -1, "all"],
    "verbose": [-1, "loud"],
    "callback": [3, "f"],
    "warm_start": ["yes", 2],
    "assignment": ["fuzzy", None],
}


def random_params(rng, n_features=3):
    params = {"n_components": 2, "max_iter": 3, "random_state": 0}
    for _ in range(int(rng.integers(0, 3))):
        name = str(rng.choice(list(BAD_PARAMS) + ["weights_init", "means_init",
                                                  "precisions_init"]))
        if name in BAD_PARAMS:
            values = BAD_PARAMS[name]
            params[name] = values[int(rng.integers(len(values)))]
        elif name == "weights_init":
            params[name] = random_array(rng) if rng.random() < 0.5 else rng.random(2)
        elif name == "means_init":
            params[name] = random_array(rng) if rng.random() < 0.5 else \
                rng.normal(size=(2, n_features))
        else:
            params[name] = random_array(rng) if rng.random() < 0.5 else \
                -np.ones((2, n_features, n_features))
    return params


def _n_rows(X):
    try:
        shape = X.shape if sp.issparse(X) else np.shape(X)
    except ValueError:  # ragged
        return 5
    return int(shape[0]) if len(shape) else 5


def call(model, method, X, what, **kw):
    """The method's result, or None when it raised ValueError or TypeError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(model, method)(X, **kw)
    except (ValueError, TypeError):
        return None
    except Exception as exc:  # noqa: BLE001 -- the point of the test
        pytest.fail(f"{method} raised {type(exc).__name__}: {exc} ({what})")


def assert_finite(result, what):
    if result is None:
        return
    if isinstance(result, GaussianMixture):
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert np.all(np.isfinite(getattr(result, name))), (what, name)
    else:
        values = np.asarray(result)
        assert not np.any(np.isnan(values)), what


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(40, 3))
    return GaussianMixture(2, random_state=0).fit(X)


@pytest.mark.parametrize("seed", range(8))
def test_random_malformed_input_raises_value_or_type_error(seed, fitted):
    rng = np.random.default_rng(seed)
    for case in range(N_CASES):
        X = random_X(rng)
        n_samples = _n_rows(X)
        params = random_params(rng)
        weight = random_weight(rng, n_samples)
        what = f"seed {seed} case {case}: X={X!r:.80} params={params!r:.200}"
        model = GaussianMixture()
        try:
            model.set_params(**params)
        except (ValueError, TypeError):
            continue
        assert_finite(call(model, "fit", X, what, sample_weight=weight), what)
        for method in ("predict", "score_samples", "predict_proba"):
            assert_finite(call(GaussianMixture(), method, X, what), what)
            assert_finite(call(fitted, method, X, what), what)
