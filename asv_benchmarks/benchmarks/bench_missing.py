"""Missing values (``nan_policy='marginalize'``): fits with NaN against complete data.

``MissingFit`` times ``common.N_ITER`` iterations from a fixed start
(``tol=0``) of full covariances, K=8, on the same blobs complete and with a
fraction of the values missing completely at random; the ratio of the two is
what ``asv_benchmarks/missing_values.py iteration`` reports side by side.
``MissingPatterns`` times the same on d=16 with the rows' patterns drawn from
pools of growing size (the cost of the per-(pattern, component) factors).
``Impute`` times ``GaussianMixture.impute``.
"""

import warnings

import numpy as np

from . import common, datasets

N_COMPONENTS = 8


def _n_samples(n_features):
    # The profile's rows for d=16 (10,000 small, 200,000 large), twice that at d=8.
    return common.n_samples_for(16) * (2 if n_features == 8 else 1)


def _fit_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


def _mcar(X, fraction, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random(X.shape) < fraction
    mask[mask.all(axis=1), 0] = False
    out = X.copy()
    out[mask] = np.nan
    return out


def _model(init, max_iter):
    from fastgmm import GaussianMixture

    return GaussianMixture(N_COMPONENTS, tol=0.0, max_iter=max_iter,
                           nan_policy="marginalize", **init)


class MissingFit:
    """Full, d=8, K=8: complete data and 10 % / 30 % MCAR."""

    params = ([0.0, 0.1, 0.3],)
    param_names = ["fraction_missing"]
    timeout = 600

    def setup(self, fraction):
        n_samples = _n_samples(8)
        X = datasets.blobs(n_samples, 8, N_COMPONENTS)
        self.init = datasets.start(n_samples, 8, N_COMPONENTS, "full")
        self.X = _mcar(X, fraction) if fraction else X
        _fit_quietly(_model(self.init, 1), self.X[:20000])

    def time_fit(self, fraction):
        _fit_quietly(_model(self.init, common.N_ITER), self.X)


class MissingPatterns:
    """Full, d=16, K=8, 30 % missing per pattern, patterns from pools of P."""

    params = ([1, 256, 4096],)
    param_names = ["pool"]
    timeout = 600

    def setup(self, pool):
        n_samples = _n_samples(16)
        X = datasets.blobs(n_samples, 16, N_COMPONENTS)
        self.init = datasets.start(n_samples, 16, N_COMPONENTS, "full")
        rng = np.random.default_rng(pool)
        masks = rng.random((pool, 16)) < 0.3
        masks[masks.all(axis=1), 0] = False
        self.X = X.copy()
        self.X[masks[rng.integers(pool, size=n_samples)]] = np.nan
        _fit_quietly(_model(self.init, 1), self.X[:20000])

    def time_fit(self, pool):
        _fit_quietly(_model(self.init, common.N_ITER), self.X)


class Impute:
    """``impute`` of d=8 data with 20 % MCAR under a fitted K=8 mixture."""

    timeout = 600

    def setup(self):
        n_samples = _n_samples(8)
        X = datasets.blobs(n_samples, 8, N_COMPONENTS)
        init = datasets.start(n_samples, 8, N_COMPONENTS, "full")
        self.X = _mcar(X, 0.2)
        self.model = _fit_quietly(_model(init, 2), self.X)
        self.model.impute(self.X[:20000])

    def time_impute(self):
        self.model.impute(self.X)
