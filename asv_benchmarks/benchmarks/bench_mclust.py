"""mclust's 14 covariance models: their M-steps, passes and whole fits.

A model runs the fused pass of the scikit-learn model whose layout it
shares ('spherical', 'diag' or 'full'; 'EEE' is 'tied'), so ``time_em_pass``
measures that pass with the model's own parameter arguments;
``time_m_step`` is the model's M-step from one pass's statistics (the
iterative ones, VEI, VEE, VEV, EVE and VVE, included), and ``time_fit`` a
whole fit of the mclust comparison's size (N=20,000, d=4); ``MclustSweep`` the
14-model sweep from the shared 'hc' tree. (The tree itself: ``bench_fit``.)
Skipped on commits before the models existed.
"""

import warnings

import numpy as np

from . import datasets

MODELS = ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
          "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"]


class MclustModels:
    params = (MODELS, [4, 16], [5])
    param_names = ["model", "n_features", "n_components"]
    timeout = 300

    def setup(self, model, n_features, n_components):
        from fastgmm import _covariance, _em
        from fastgmm._stats import Params, nk_regularization

        if model not in _covariance.COVARIANCE_TYPES:
            raise NotImplementedError(f"no model {model!r} at this commit")
        self.em, self.model = _em, model
        n_samples = 20_000
        self.X = datasets.blobs(n_samples, n_features, n_components)
        rng = np.random.default_rng(0)
        means = self.X[rng.choice(n_samples, n_components, replace=False)]
        obj = _covariance.get(model)
        # Unit covariances in the model's layout.
        shape = obj.shape(n_components, n_features)
        if obj.matrix:
            cov = np.broadcast_to(np.eye(n_features), shape).copy()
        else:
            cov = np.ones(shape)
        chol = _covariance.compute_precision_cholesky(cov, obj)
        self.params = Params(np.full(n_components, 1.0 / n_components), means, cov, chol)
        self.sample_weight = np.empty(0)
        self.stats = _em.em_pass(self.X, self.sample_weight, self.params, model)
        self.nk_reg = nk_regularization(self.stats.sum_weights, n_samples)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.params, self.model)

    def time_m_step(self, *args):
        self.em.m_step(self.stats, self.model, 1e-6, self.nk_reg, False)

    def time_fit(self, model, n_features, n_components):
        from fastgmm import GaussianMixture

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(n_components, covariance_type=model, random_state=0).fit(self.X)


class MclustSweep:
    """``select_model(covariance_types='mclust', init_params='hc')``: the 14
    models x G = 1..3 from one shared hierarchical tree (2,000 rows), the
    sweep ``asv_benchmarks/mclust_compare.py timing`` times against mclustBIC
    on a smaller N."""

    timeout = 300

    def setup(self):
        from fastgmm import _covariance

        if "VVV" not in _covariance.COVARIANCE_TYPES:
            raise NotImplementedError("no mclust models at this commit")
        try:
            import fastgmm._hc  # noqa: F401
        except ImportError:
            raise NotImplementedError("no 'hc' start at this commit") from None
        self.X = datasets.blobs(5_000, 4, 4)

    def time_select_model_hc(self):
        from fastgmm import select_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            select_model(self.X, n_components=range(1, 4), covariance_types="mclust",
                         init_params="hc", random_state=0)
