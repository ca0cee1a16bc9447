"""k-means (``fastgmm.kmeans``): one fused Lloyd pass and ``KMeans.fit``.

Both start from fixed centres (``datasets.centers_init``) and ``KMeans.fit``
runs a fixed number of iterations (``tol=0``; strict convergence can still
stop it early, which ``track_n_iter`` shows). Skipped (NotImplementedError
in ``setup``) on commits without ``fastgmm.kmeans``.
"""

import warnings

import numpy as np

from . import common, datasets

MAX_ITER = 10


def _import_kmeans():
    try:
        from fastgmm import kmeans
    except ImportError as exc:
        raise NotImplementedError(f"fastgmm.kmeans is not available: {exc}") from None
    if not hasattr(kmeans, "KMeans"):
        raise NotImplementedError("fastgmm.kmeans has no KMeans")
    return kmeans


class _KMeansBase:
    params = (["float64", "float32"], [2, 16, 64], [8, 32])
    param_names = ["dtype", "n_features", "n_clusters"]
    timeout = 300

    def setup(self, dtype, n_features, n_clusters):
        kmeans = _import_kmeans()
        n_samples = common.n_samples_for(n_features)
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, n_clusters, "diag", dtype),
            f"k-means N={n_samples} d={n_features} K={n_clusters} {dtype}")
        self.kmeans = kmeans
        self.X = datasets.blobs(n_samples, n_features, n_clusters, dtype)
        self.init = datasets.centers_init(n_samples, n_features, n_clusters, dtype)
        # Compile (or load from Numba's cache) outside the timed region.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmeans.KMeans(n_clusters, init=self.init, n_init=1, max_iter=1,
                          tol=0.0).fit(self.X[:max(1000, n_clusters)])


class KMeansFit(_KMeansBase):
    """``KMeans.fit``: fixed centres, at most ``MAX_ITER`` Lloyd iterations."""

    def setup(self, dtype, n_features, n_clusters):
        super().setup(dtype, n_features, n_clusters)
        self.model = self.kmeans.KMeans(n_clusters, init=self.init, n_init=1,
                                        max_iter=MAX_ITER, tol=0.0)

    def time_fit(self, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(self.X)

    def track_n_iter(self, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return int(self.model.fit(self.X).n_iter_)

    track_n_iter.unit = "iterations"


class LloydPass(_KMeansBase):
    """One fused assignment + centre-sums pass (``fastgmm.kmeans._lloyd_pass``)."""

    def setup(self, dtype, n_features, n_clusters):
        super().setup(dtype, n_features, n_clusters)
        self.lloyd_pass = getattr(self.kmeans, "_lloyd_pass", None)
        if self.lloyd_pass is None:
            raise NotImplementedError("fastgmm.kmeans has no _lloyd_pass")
        from fastgmm import _config

        self.chunk_size = int(getattr(_config, "CHUNK_SIZE", 256))
        n_samples = self.X.shape[0]
        self.sample_weight = np.ones(n_samples, dtype=self.X.dtype)
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.lloyd_pass(self.X, self.sample_weight, self.init, self.labels, self.chunk_size)

    def time_lloyd_pass(self, *args):
        self.lloyd_pass(self.X, self.sample_weight, self.init, self.labels, self.chunk_size)


class BoundedLloyd(_KMeansBase):
    """Lloyd with Hamerly's bounds (``lloyd_pass_bounded``): the first pass
    (every row against every centre, keeping the second nearest), a late
    pass (centres unchanged: every row settled by its bounds, the blocks'
    sums kept), and one run of at most ``MAX_ITER`` iterations with and
    without the bounds (``_kmeans_single_lloyd``, tol=0)."""

    def setup(self, dtype, n_features, n_clusters):
        super().setup(dtype, n_features, n_clusters)
        if not hasattr(self.kmeans, "_lloyd_pass_bounded"):
            raise NotImplementedError("fastgmm.kmeans has no _lloyd_pass_bounded")
        from fastgmm import _config

        self.chunk_size = int(getattr(_config, "CHUNK_SIZE", 256))
        n_samples = self.X.shape[0]
        self.sample_weight = np.ones(n_samples, dtype=self.X.dtype)
        self.centers = np.ascontiguousarray(self.init, dtype=np.float64)
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.bounds = self._new_bounds()
        for _ in range(2):
            self.kmeans._lloyd_pass_bounded(self.X, self.sample_weight, self.centers,
                                            self.labels, self.bounds, self.chunk_size,
                                            False)
        # Compile (or load) both paths outside the timed region.
        self.time_run_bounded()
        self.time_run_full()

    def _new_bounds(self):
        return self.kmeans._Bounds(self.X.shape[0], self.centers.shape[0],
                                   self.X.shape[1], self.chunk_size)

    def time_first_pass(self, *args):
        self.kmeans._lloyd_pass_bounded(self.X, self.sample_weight, self.centers,
                                        self.labels.copy(), self._new_bounds(),
                                        self.chunk_size, False)

    def time_late_pass(self, *args):
        self.kmeans._lloyd_pass_bounded(self.X, self.sample_weight, self.centers,
                                        self.labels, self.bounds, self.chunk_size,
                                        False)

    def _run(self, bounded):
        self.kmeans._kmeans_single_lloyd(self.X, self.sample_weight, self.init, MAX_ITER,
                                         0, 0.0, self.chunk_size, bounded=bounded)

    def time_run_bounded(self, *args):
        self._run(True)

    def time_run_full(self, *args):
        self._run(False)


class SeedingPasses(_KMeansBase):
    """The k-means++ passes (row by row, four candidates at a time):
    ``candidate_potentials`` for ``2 + log(n_clusters)`` candidates and
    ``update_closest_sq_dist`` for one centre, and the whole seeding."""

    def setup(self, dtype, n_features, n_clusters):
        super().setup(dtype, n_features, n_clusters)
        from fastgmm import _config

        self.chunk_size = int(getattr(_config, "CHUNK_SIZE", 256))
        n_samples = self.X.shape[0]
        self.sample_weight = np.ones(n_samples, dtype=self.X.dtype)
        n_trials = 2 + int(np.log(n_clusters))
        self.candidates = self.X[:n_trials].astype(np.float64)
        self.closest = np.full(n_samples, np.inf)
        self.kmeans._update_closest(self.X, self.sample_weight, self.init[:1],
                                    self.closest, self.chunk_size)
        self.kmeans._candidate_potentials(self.X, self.sample_weight, self.closest,
                                          self.candidates, self.chunk_size)

    def time_candidate_potentials(self, *args):
        self.kmeans._candidate_potentials(self.X, self.sample_weight, self.closest,
                                          self.candidates, self.chunk_size)

    def time_update_closest(self, *args):
        closest = self.closest.copy()
        self.kmeans._update_closest(self.X, self.sample_weight, self.candidates[:1],
                                    closest, self.chunk_size)

    def time_kmeans_plusplus(self, dtype, n_features, n_clusters):
        self.kmeans.kmeans_plusplus(self.X, n_clusters, random_state=0)


class SeedingSweep(_KMeansBase):
    """The k-means++ paths of unit weights (an empty ``sample_weight``, not
    read): ``candidate_potentials`` (with one or two features,
    ``narrow_candidate_potentials``: one vectorised loop over the rows per
    candidate) and the draw's serial sweep
    ``lower_and_search_cumsum`` (cumulative sum and search, in order), alone
    and lowering the distances to a new centre in the same sweep."""

    def setup(self, dtype, n_features, n_clusters):
        super().setup(dtype, n_features, n_clusters)
        from fastgmm import _config
        from fastgmm._kernels import kmeans as kernels

        if not hasattr(kernels, "lower_and_search_cumsum"):
            raise NotImplementedError("fastgmm has no lower_and_search_cumsum")
        self.chunk_size = int(getattr(_config, "CHUNK_SIZE", 256))
        n_samples = self.X.shape[0]
        self.unit = np.empty(0, dtype=self.X.dtype)
        n_trials = 2 + int(np.log(n_clusters))
        self.candidates = self.X[:n_trials].astype(np.float64)
        self.closest = np.full(n_samples, np.inf)
        self.kmeans._update_closest(self.X, self.unit, self.init[:1], self.closest,
                                    self.chunk_size)
        # Draws spread over the whole sum, as k-means++'s uniform ones.
        self.values = np.linspace(0.2, 0.9, n_trials) * float(self.closest.sum())
        self.center = self.candidates[0]
        self.time_candidate_potentials_unit()
        self.time_sweep()

    def time_candidate_potentials_unit(self, *args):
        self.kmeans._candidate_potentials(self.X, self.unit, self.closest,
                                          self.candidates, self.chunk_size)

    def time_sweep(self, *args):
        self.kmeans._searchsorted_cumsum(self.unit, self.closest, self.values,
                                         self.X.dtype)

    def time_sweep_lowering(self, *args):
        closest = self.closest.copy()
        self.kmeans._searchsorted_cumsum(self.unit, closest, self.values, self.X.dtype,
                                         self.X, self.center)


class GaussianMixtureStart:
    """The default start of ``GaussianMixture`` (``init_params``): k-means++
    seeding, Lloyd to convergence, and the start's statistics (for 'kmeans',
    from each component's gathered rows); shapes a, b and c of the README
    (at the profile's size)."""

    params = (["a", "b", "c"], ["kmeans", "k-means++"])
    param_names = ["shape", "init_params"]
    timeout = 300

    def setup(self, shape, init_params):
        try:
            from fastgmm._init import initial_parameters
        except ImportError as exc:
            raise NotImplementedError(f"fastgmm._init is not available: {exc}") from None
        spec = common.shape(shape)
        self.initial_parameters = initial_parameters
        self.kw = dict(n_components=spec["n_components"],
                       covariance_type=spec["covariance_type"], init_params=init_params,
                       reg_covar=1e-6)
        self.X = datasets.blobs(common.n_samples_for(spec["n_features"]),
                                spec["n_features"], spec["n_components"], "float64")
        self.initial_parameters(self.X[:2000], np.empty(0),
                                random_state=np.random.RandomState(0), **self.kw)

    def time_start(self, shape, init_params):
        self.initial_parameters(self.X, np.empty(0), random_state=np.random.RandomState(0),
                                **self.kw)
