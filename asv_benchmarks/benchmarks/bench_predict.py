"""Latency of ``predict_proba`` on small batches (1 and 100 rows), K=8, d=16.

Small batches measure the fixed cost of a call (validation, parameter set-up,
kernel dispatch) rather than throughput; the model is fitted once in
``setup`` from a fixed start.
"""

import warnings

from . import datasets


class PredictProba:
    """``GaussianMixture.predict_proba`` on a batch of ``batch_size`` rows."""

    params = (["full", "tied", "diag", "spherical"], ["float64", "float32"], [1, 100])
    param_names = ["covariance_type", "dtype", "batch_size"]
    n_samples = 20_000
    n_features = 16
    n_components = 8

    def setup(self, covariance_type, dtype, batch_size):
        from fastgmm import GaussianMixture

        X = datasets.blobs(self.n_samples, self.n_features, self.n_components, dtype)
        init = datasets.start(self.n_samples, self.n_features, self.n_components,
                              covariance_type, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = GaussianMixture(self.n_components, covariance_type=covariance_type,
                                         tol=0.0, max_iter=5, **init).fit(X)
        # Rows from the end of X, copied: a C-contiguous batch of its own.
        self.batch = X[-batch_size:].copy()
        self.model.predict_proba(self.batch)

    def time_predict_proba(self, covariance_type, dtype, batch_size):
        self.model.predict_proba(self.batch)
