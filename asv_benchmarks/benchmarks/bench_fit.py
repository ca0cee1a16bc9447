"""Whole fits through the estimator: time, peak memory, results, cold start.

``Fit`` times ``GaussianMixture.fit`` on the README's shapes (rows from the
profile) from a fixed start for a fixed number of iterations (``tol=0``), so
the work per sample does not depend on convergence. ``PeakMemFit`` is the
peak-memory figure the README quotes (N=4,000,000, d=2, K=32, full, float64),
independent of the profile. ``Convergence`` tracks the iteration count and
lower bound of a default fit (k-means start, ``random_state=0``), so that
numerical drift between commits shows up in asv's graphs. ``ColdStart``
times importing fastgmm and fitting a small problem in a fresh interpreter,
with Numba's on-disk cache warm and cold.
"""

import os
import subprocess
import sys
import warnings

import numpy as np

from . import common, datasets


def _fit_quietly(model, X):
    # tol=0 never converges: silence the ConvergenceWarning of every fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


class Fit:
    """``GaussianMixture.fit``: fixed start, ``common.N_ITER`` iterations."""

    params = (list(common.SHAPE_KEYS), ["float64", "float32"])
    param_names = ["shape", "dtype"]
    timeout = 600

    def setup(self, key, dtype):
        from fastgmm import GaussianMixture

        spec = common.shape(key)
        n_samples, n_features = spec["n_samples"], spec["n_features"]
        n_components, covariance_type = spec["n_components"], spec["covariance_type"]
        common.check_budget(common.kernel_bytes(n_samples, n_features, n_components,
                                                covariance_type, dtype), f"shape {key}")
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        init = datasets.start(n_samples, n_features, n_components, covariance_type, dtype)
        self.model = GaussianMixture(n_components, covariance_type=covariance_type,
                                     tol=0.0, max_iter=common.N_ITER, **init)
        # Compile (or load from Numba's cache) outside the timed region.
        warm = GaussianMixture(n_components, covariance_type=covariance_type,
                               tol=0.0, max_iter=1, **init)
        _fit_quietly(warm, self.X[:max(2 * n_components, 1000)])

    def time_fit(self, key, dtype):
        _fit_quietly(self.model, self.X)


class PeakMemFit:
    """Peak RSS of a fit of N=4,000,000, d=2, K=32, full, float64 (the README figure).

    X alone is 4e6 * 2 * 8 B = 64 MB (61 MiB). asv's peak includes the
    interpreter, the imports, Numba's loaded kernels and ``setup``, so
    ``peakmem_setup`` (the same process without the fit) is the baseline:
    the fit's own memory is the difference. X is generated once in
    ``setup_cache`` and saved to a file, so the generator's temporaries
    (about 3x X) do not count in the peak.
    """

    n_samples = 4_000_000
    n_features = 2
    n_components = 32
    covariance_type = "full"
    n_iter = 3
    timeout = 600
    _path = "peakmem_fit_X.npy"

    def setup_cache(self):
        from fastgmm.bench import make_data, make_start

        X = make_data(self.n_samples, self.n_features, self.n_components, seed=0)
        X = np.ascontiguousarray(X, dtype=np.float64)
        # setup_cache runs in the directory the benchmarks of this class run in.
        np.save(self._path, X)
        return make_start(X, self.n_components, self.covariance_type, seed=0)

    def setup(self, init):
        from fastgmm import GaussianMixture

        self.X = np.load(self._path)
        self.model = GaussianMixture(self.n_components, covariance_type=self.covariance_type,
                                     tol=0.0, max_iter=self.n_iter, **init)
        warm = GaussianMixture(self.n_components, covariance_type=self.covariance_type,
                               tol=0.0, max_iter=1, **init)
        _fit_quietly(warm, self.X[:1000])

    def peakmem_fit(self, init):
        _fit_quietly(self.model, self.X)

    def peakmem_setup(self, init):
        pass

    def track_x_nbytes(self, init):
        return self.X.nbytes

    track_x_nbytes.unit = "bytes"


class Convergence:
    """Iterations and final lower bound of a default fit (k-means start, seed 0).

    Overlapping blobs (d=2, K=16) so that EM takes several iterations (7 at
    the time of writing) and a change in rounding can change the count.
    """

    params = (["full", "tied", "diag", "spherical"], ["float64", "float32"])
    param_names = ["covariance_type", "dtype"]
    n_samples = 20_000
    n_features = 2
    n_components = 16
    timeout = 300

    def setup(self, covariance_type, dtype):
        from fastgmm import GaussianMixture

        X = datasets.blobs(self.n_samples, self.n_features, self.n_components, dtype)
        self.model = _fit_quietly(
            GaussianMixture(self.n_components, covariance_type=covariance_type,
                            random_state=0), X)

    def track_n_iter(self, covariance_type, dtype):
        return int(self.model.n_iter_)

    track_n_iter.unit = "iterations"

    def track_lower_bound(self, covariance_type, dtype):
        return float(self.model.lower_bound_)

    track_lower_bound.unit = "nats per sample"


_COLD_SETUP = """
import numpy as np
rng = np.random.default_rng(0)
centres = rng.normal(scale=4.0, size=(3, 2))
X = centres[rng.integers(3, size=2000)] + rng.normal(size=(2000, 2))
"""

_COLD_FIT = """
from fastgmm import GaussianMixture
GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
"""

_FRESH_CACHE = """
import atexit, os, shutil, tempfile
_cache_dir = tempfile.mkdtemp(prefix="fastgmm-asv-numba-")
atexit.register(shutil.rmtree, _cache_dir, True)
os.environ["NUMBA_CACHE_DIR"] = _cache_dir
"""


class ColdStart:
    """``import fastgmm`` and a small fit (N=2000, d=2, K=3, full, k-means start)
    in a fresh interpreter. NumPy is imported and the data made untimed.

    ``timeraw_import_and_fit`` runs with Numba's on-disk cache populated
    (``setup`` runs the code once): the cost every process after the first
    pays. ``timeraw_import_and_fit_cold_cache`` points ``NUMBA_CACHE_DIR``
    at a new empty directory in every run: the compile a first process pays.
    """

    timeout = 600
    repeat = (1, 3, 30.0)
    number = 1

    def setup(self):
        subprocess.run([sys.executable, "-c", _COLD_SETUP + _COLD_FIT], check=True,
                       env=dict(os.environ))

    def timeraw_import_and_fit(self):
        return _COLD_FIT, _COLD_SETUP

    def timeraw_import_and_fit_cold_cache(self):
        return _COLD_FIT, _FRESH_CACHE + _COLD_SETUP


class HierarchicalStart:
    """The 'hc' start's tree (mclust's hc, VVV and EII criteria) on 2,000 rows,
    the most it is built on by default (``_config.HC_MAX_SAMPLES``); the
    peak memory of a fit with it is ``asv_benchmarks/hc_peak_rss.py``."""

    params = (["VVV", "EII"], [4, 10])
    param_names = ["model", "n_features"]
    timeout = 300

    def setup(self, model, n_features):
        from fastgmm import hierarchical_tree

        self.X = datasets.blobs(2000, n_features, 3, "float64")
        hierarchical_tree(self.X[:50], model=model)  # compile outside the timed region

    def time_tree(self, model, n_features):
        from fastgmm import hierarchical_tree

        hierarchical_tree(self.X, model=model)


class SpuriousTest:
    """The test for spurious components that ends every fit
    (``_spurious.spurious_components``), on 32 full covariances of 256
    features whose smallest eigenvalue is clear of the threshold, or on it
    (every component spurious, as in fits of a few rows per component)."""

    params = (["clear", "on the floor"],)
    param_names = ["covariances"]

    def setup(self, covariances):
        from fastgmm._stats import Params

        n_components, n_features, reg_covar = 32, 256, 1e-2
        rng = np.random.default_rng(0)
        mats = []
        for _ in range(n_components):
            q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
            values = rng.uniform(1.0, 5.0, n_features)
            if covariances == "on the floor":
                values[0] = reg_covar
            mats.append((q * values) @ q.T)
        self.mixture = Params(np.full(n_components, 1.0 / n_components),
                             np.zeros((n_components, n_features)), np.array(mats), None)
        self.variances = np.ones(n_features)
        self.reg_covar = reg_covar

    def time_spurious_components(self, covariances):
        from fastgmm._spurious import spurious_components

        spurious_components(self.mixture, "full", self.reg_covar, self.variances)
