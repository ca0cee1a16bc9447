"""The variational mixture: ``BayesianGaussianMixture.fit`` time and peak memory.

``FitBayesian`` times a fit of ``common.N_ITER`` iterations (``tol=0``) on
the profile's shapes, continuing (``warm_start``) from a fixed start made in
``setup`` (the 'random_from_data' start of seed 0), so the start is not
timed and the work does not depend on convergence; the default priors'
passes and the final E-step are included, as in scikit-learn's fit.
``PeakMemFitBayesian`` is the peak-memory figure of the issue (N=4,000,000,
d=2, K=32, full, float64), with ``peakmem_setup`` as its baseline, as
``bench_fit.PeakMemFit``.
"""

import warnings

import numpy as np

from . import common, datasets


def _fit_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


def _warm_model(X, n_components, covariance_type, n_iter):
    from fastgmm import BayesianGaussianMixture

    model = BayesianGaussianMixture(n_components=n_components,
                                    covariance_type=covariance_type,
                                    init_params="random_from_data", random_state=0,
                                    max_iter=0)
    _fit_quietly(model, X)
    return model.set_params(warm_start=True, max_iter=n_iter, tol=0.0)


class FitBayesian:
    """``BayesianGaussianMixture.fit``: fixed start, ``common.N_ITER`` iterations."""

    params = (list(common.SHAPE_KEYS), ["float64", "float32"])
    param_names = ["shape", "dtype"]
    timeout = 600

    def setup(self, key, dtype):
        spec = common.shape(key)
        n_samples, n_features = spec["n_samples"], spec["n_features"]
        n_components, covariance_type = spec["n_components"], spec["covariance_type"]
        common.check_budget(common.kernel_bytes(n_samples, n_features, n_components,
                                                covariance_type, dtype), f"shape {key}")
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        # Compiles (or loads from Numba's cache) outside the timed region.
        _fit_quietly(_warm_model(self.X[:max(2 * n_components, 1000)], n_components,
                                 covariance_type, 1), self.X[:max(2 * n_components, 1000)])
        self.model = _warm_model(self.X, n_components, covariance_type, common.N_ITER)
        self.start = dict(self.model.__dict__)

    def time_fit(self, key, dtype):
        self.model.__dict__.update(self.start)  # every repeat from the same start
        _fit_quietly(self.model, self.X)


class PeakMemFitBayesian:
    """Peak RSS of a variational fit of N=4,000,000, d=2, K=32, full, float64."""

    n_samples = 4_000_000
    n_features = 2
    n_components = 32
    n_iter = 3
    timeout = 600
    _path = "peakmem_fit_bayesian_X.npy"

    def setup_cache(self):
        from fastgmm.bench import make_data

        X = make_data(self.n_samples, self.n_features, self.n_components, seed=0)
        np.save(self._path, np.ascontiguousarray(X, dtype=np.float64))
        return self._path  # asv passes it to setup and the benchmarks

    def setup(self, path):
        from fastgmm import BayesianGaussianMixture

        self.X = np.load(path)
        self.model = BayesianGaussianMixture(
            n_components=self.n_components, init_params="random_from_data",
            random_state=0, tol=0.0, max_iter=self.n_iter)
        _fit_quietly(BayesianGaussianMixture(n_components=self.n_components, max_iter=1,
                                             init_params="random_from_data",
                                             random_state=0), self.X[:1000])

    def peakmem_fit(self, path):
        _fit_quietly(self.model, self.X)

    def peakmem_setup(self, path):
        pass
