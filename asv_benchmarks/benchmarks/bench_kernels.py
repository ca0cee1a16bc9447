"""The kernels on their own: the fused EM pass and per-point scoring.

``fastgmm._em.em_pass`` is one E-step fused with the sufficient statistics
(one read of X per EM iteration); ``fastgmm._em.weighted_log_prob`` writes
log pi_k + log N(x | mu_k, Sigma_k) for every row (the N x K output of
``predict_proba`` / ``score_samples``). Rows per n_features come from the
profile (``common.py``); combinations over its memory budget are skipped.
"""

import numpy as np

from . import common, datasets

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = ["float64", "float32"]
N_FEATURES = [2, 16, 64]
N_COMPONENTS = [8, 16, 32]


class Kernels:
    """Fused EM pass and per-point scoring, from a fixed start."""

    params = (COVARIANCE_TYPES, DTYPES, N_FEATURES, N_COMPONENTS)
    param_names = ["covariance_type", "dtype", "n_features", "n_components"]
    timeout = 300

    def setup(self, covariance_type, dtype, n_features, n_components):
        from fastgmm import _em

        n_samples = common.n_samples_for(n_features)
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, n_components, covariance_type, dtype),
            f"N={n_samples} d={n_features} K={n_components} {covariance_type} {dtype}")
        self.em = _em
        self.covariance_type = covariance_type
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        self.gmm_params = datasets.kernel_params(n_samples, n_features, n_components,
                                                 covariance_type, dtype)
        self.sample_weight = np.empty(0)
        # Compile (or load from Numba's cache) outside the timed region.
        head = self.X[:512]
        _em.em_pass(head, self.sample_weight, self.gmm_params, covariance_type)
        _em.weighted_log_prob(head, self.gmm_params, covariance_type)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, self.covariance_type)

    def time_weighted_log_prob(self, *args):
        self.em.weighted_log_prob(self.X, self.gmm_params, self.covariance_type)


class FullProductPaths:
    """The fused pass and scoring of full covariances at small and middle d by
    each path: the column tiles, the straight-line product
    (``logprob.unrolled_product``) with the statistics by stored rows and
    tiles, in one float64 sweep, and by the tiled statistics in X's dtype
    (``em_pass.stats_sweep``: None, ``"float64"``, ``"scatter"``), whatever
    the rules would choose for the shape. Commits without a path skip it
    (before ``stats_sweep``, ``em_pass.one_sweep_stats`` said True or False).
    The float64 sweep at d = 16 was one sweep per 4 x 4 tile until its
    threshold fell to 7 features; since then it is one sweep over the whole
    triangle (whose sums do not fit the registers), which no rule chooses:
    that cell's history changes kernel there.
    """

    params = (["tiles", "unrolled", "unrolled_sweep", "unrolled_scatter"], DTYPES, [4, 8, 16])
    param_names = ["path", "dtype", "n_features"]
    timeout = 300
    n_components = 16

    def setup(self, path, dtype, n_features):
        from fastgmm import _em
        from fastgmm._kernels import em_pass, logprob

        # asv runs teardown after a skip too.
        self.saved = []
        rules = []
        if path != "tiles":
            if not hasattr(logprob, "unrolled_product"):
                raise NotImplementedError(f"no {path} path at this commit")
            rules.append((logprob, "unrolled_product", True))
        else:
            rules.append((logprob, "unrolled_product", False))
        stats = {"tiles": None, "unrolled": None, "unrolled_sweep": "float64",
                 "unrolled_scatter": "scatter"}[path]
        if hasattr(em_pass, "stats_sweep"):
            rules.append((em_pass, "stats_sweep", stats))
        elif stats == "scatter":
            raise NotImplementedError(f"no {path} path at this commit")
        elif hasattr(em_pass, "one_sweep_stats"):
            rules.append((em_pass, "one_sweep_stats", stats == "float64"))
        elif stats is not None:
            raise NotImplementedError(f"no {path} path at this commit")
        self.saved = [(m, name, getattr(m, name)) for m, name, _ in rules if hasattr(m, name)]
        for m, name, value in rules:
            if hasattr(m, name):
                setattr(m, name, lambda d, dt, value=value: value)
        # The rows of the d = 16 kernel benchmarks, for every d here.
        n_samples = common.n_samples_for(16)
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, self.n_components, "full", dtype),
            f"N={n_samples} d={n_features} K={self.n_components} full {dtype}")
        self.em = _em
        self.X = datasets.blobs(n_samples, n_features, self.n_components, dtype)
        self.gmm_params = datasets.kernel_params(n_samples, n_features, self.n_components,
                                                 "full", dtype)
        self.sample_weight = np.empty(0)
        # Compile (or load from Numba's cache) outside the timed region, the
        # serial kernels and the parallel ones (several blocks).
        for rows in (512, 4096):
            _em.em_pass(self.X[:rows], self.sample_weight, self.gmm_params, "full")
            _em.weighted_log_prob(self.X[:rows], self.gmm_params, "full")

    def teardown(self, *args):
        for m, name, value in self.saved:
            setattr(m, name, value)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, "full")

    def time_weighted_log_prob(self, *args):
        self.em.weighted_log_prob(self.X, self.gmm_params, "full")


class LargeDPass:
    """The fused pass of full covariances at large d: the BLAS pass on blocks
    of rows (``fastgmm._blocked``, from ``_config.BLAS_PASS_MIN_FEATURES`` on)
    beside the Numba kernels it replaces there, from a fixed start.

    ``path='numba'`` raises the threshold above d for the call; commits
    without the BLAS pass skip ``path='blas'``.
    """

    params = (["blas", "numba"], DTYPES, [256, 512, 1024], [4, 10])
    param_names = ["path", "dtype", "n_features", "n_components"]
    timeout = 600
    n_samples = {"small": 2_000, "large": 8_000}

    def setup(self, path, dtype, n_features, n_components):
        self.threshold = None  # asv runs teardown after a skip too.
        from fastgmm import _config, _em

        if path == "blas" and not hasattr(_config, "BLAS_PASS_MIN_FEATURES"):
            raise NotImplementedError("no BLAS pass at this commit")
        n_samples = self.n_samples[common.profile()]
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, n_components, "full", dtype),
            f"N={n_samples} d={n_features} K={n_components} full {dtype}")
        self.em = _em
        self.config = _config
        self.threshold = getattr(_config, "BLAS_PASS_MIN_FEATURES", None)
        self.path_threshold = 1 if path == "blas" else n_features + 1
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        self.gmm_params = datasets.kernel_params(n_samples, n_features, n_components,
                                                 "full", dtype)
        self.sample_weight = np.empty(0)
        self._set_threshold(self.path_threshold)
        # Compile (or load from Numba's cache) outside the timed region.
        _em.em_pass(self.X[:512], self.sample_weight, self.gmm_params, "full")

    def _set_threshold(self, value):
        if self.threshold is not None:
            self.config.BLAS_PASS_MIN_FEATURES = value

    def teardown(self, *args):
        self._set_threshold(self.threshold)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, "full")

    def peakmem_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, "full")


class LargeDBlockPass:
    """The fused passes of 'tied', 'diag' and 'spherical' at large d: the BLAS
    passes on blocks of rows (``fastgmm._blocked.em_pass_tied`` /
    ``em_pass_diag``) beside the Numba kernels they replace there, from a
    fixed start.

    ``path='numba'`` raises the thresholds above the shape for the call;
    commits without these passes skip ``path='blas'``.
    """

    params = (["blas", "numba"], ["tied", "diag", "spherical"], DTYPES, [512, 2048],
              [16, 256])
    param_names = ["path", "covariance_type", "dtype", "n_features", "n_components"]
    timeout = 600
    n_samples = {"small": 1_000, "large": 4_000}
    names = ("BLAS_TIED_MIN_FEATURES", "BLAS_DIAG_MIN_FEATURES", "BLAS_DIAG_MIN_COMPONENTS",
             "BLAS_DIAG_MIN_WORK", "BLAS_DIAG_WIDE_FEATURES", "BLAS_SPHERICAL_MIN_FEATURES",
             "BLAS_SPHERICAL_MIN_WORK", "BLAS_SPHERICAL_WIDE_FEATURES")

    def setup(self, path, covariance_type, dtype, n_features, n_components):
        from fastgmm import _config, _em

        self.saved = {}  # asv runs teardown after a skip too.
        if path == "blas" and not hasattr(_config, "BLAS_DIAG_MIN_COMPONENTS"):
            raise NotImplementedError("no BLAS pass of these models at this commit")
        if covariance_type == "tied" and n_components > 16:
            raise NotImplementedError("tied: the pass does not grow with K; one K is enough")
        n_samples = self.n_samples[common.profile()]
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, n_components, covariance_type, dtype),
            f"N={n_samples} d={n_features} K={n_components} {covariance_type} {dtype}")
        self.em = _em
        self.config = _config
        self.covariance_type = covariance_type
        self.saved = {name: getattr(_config, name) for name in self.names
                      if hasattr(_config, name)}
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        self.gmm_params = datasets.kernel_params(n_samples, n_features, n_components,
                                                 covariance_type, dtype)
        self.sample_weight = np.empty(0)
        for name in self.saved:
            setattr(_config, name, 1 if path == "blas" else 10**12)
        # Compile (or load from Numba's cache) outside the timed region.
        _em.em_pass(self.X[:512], self.sample_weight, self.gmm_params, covariance_type)

    def teardown(self, *args):
        for name, value in self.saved.items():
            setattr(self.config, name, value)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, self.covariance_type)


class FittedPass:
    """The fused EM pass at fitted parameters of well separated blobs.

    From a fixed start most responsibilities are nonzero; at parameters a
    few iterations into a fit of ``fastgmm.bench``'s blobs most are exactly
    0, and 'diag' and 'spherical' sum each component's moments over its
    rows of nonzero responsibility only (``em_pass.SPARSE_ROWS_DIVISOR``).
    'full' is the dense pass at the same kind of parameters.
    """

    params = (["full", "diag", "spherical"], DTYPES, [16, 64])
    param_names = ["covariance_type", "dtype", "n_features"]
    timeout = 300

    def setup(self, covariance_type, dtype, n_features):
        import warnings

        from fastgmm import GaussianMixture, _em
        from fastgmm._stats import Params

        n_components = 32
        n_samples = common.n_samples_for(n_features)
        common.check_budget(
            common.kernel_bytes(n_samples, n_features, n_components, covariance_type, dtype),
            f"N={n_samples} d={n_features} K={n_components} {covariance_type} {dtype}")
        self.em = _em
        self.covariance_type = covariance_type
        self.X = datasets.blobs(n_samples, n_features, n_components, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=3,
                                 random_state=0).fit(self.X[:20_000].astype(np.float64))
        self.gmm_params = Params(gm.weights_, gm.means_, gm.covariances_,
                                 gm.precisions_cholesky_)
        self.sample_weight = np.empty(0)
        _em.em_pass(self.X[:512], self.sample_weight, self.gmm_params, covariance_type)

    def time_em_pass(self, *args):
        self.em.em_pass(self.X, self.sample_weight, self.gmm_params, self.covariance_type)


class PartialSums:
    """The sums of a pass's partial statistics (``_em.add_block_sums``) and the
    sweep over X before a fit (``_outofcore.max_abs``, ``block_max_abs``)."""

    # (blocks, entries per block): shape b's partial scatters (a segment of
    # 391 blocks of K d^2 = 4096 floats), shape c's (196 x K d = 2048).
    params = ([(391, 4096), (196, 2048)],)
    param_names = ["parts"]

    def setup(self, parts):
        rng = np.random.default_rng(0)
        self.parts = rng.standard_normal(parts)
        self.out = np.zeros(parts[1])
        self.X = rng.standard_normal((200_000, 16))

    def time_add_block_sums(self, parts):
        from fastgmm import _em

        _em.add_block_sums(self.parts, self.parts.shape[0], self.out)

    def time_max_abs(self, parts):
        from fastgmm._outofcore import max_abs

        max_abs(self.X)


class LargeDMStep:
    """The M-step of full covariances at large d, on 1 and 2 threads: the
    covariances from the scatters (``_stats._full_covariances``, numpy per
    component) and their precision factors (``Full.precision_cholesky``:
    potrf and trtri per component through ``fastgmm._linalg``). The
    components are spread over the threads; before ``_linalg`` the LAPACK
    calls held the GIL and two threads ran as one."""

    params = ([512], [8, 64], [1, 2])
    param_names = ["n_features", "n_components", "n_threads"]
    timeout = 300

    def setup(self, n_features, n_components, n_threads):
        from fastgmm import _covariance

        common.check_budget(3 * 8 * n_components * n_features**2,
                            f"d={n_features} K={n_components} full M-step")
        rng = np.random.default_rng(0)
        A = rng.standard_normal((n_features, 2 * n_features))
        scatter = A @ A.T
        self.sxx = np.repeat(scatter[None], n_components, axis=0)
        self.sx = rng.standard_normal((n_components, n_features))
        self.delta = 1e-3 * rng.standard_normal((n_components, n_features))
        self.nk = np.full(n_components, 2.0 * n_features)
        self.covariances = self.sxx / self.nk[:, None, None]
        self.model = _covariance.get("full")

    def _threads(self, n_threads):
        from fastgmm._threads import thread_limit

        return thread_limit(n_threads)

    def time_covariances(self, n_features, n_components, n_threads):
        from fastgmm import _stats

        with self._threads(n_threads):
            _stats._full_covariances(self.sxx, self.sx, self.delta, self.nk, self.nk, 1e-6)

    def time_precision_cholesky(self, n_features, n_components, n_threads):
        with self._threads(n_threads):
            self.model.precision_cholesky(self.covariances)


class DiagMStep:
    """The per-component arithmetic of 'diag' on K x d values, each in one
    Numba sweep (``_kernels.diag``): the M-step's covariances and precision
    factors, the log-determinants of the pass's constants, and the large-d
    pass's GEMM coefficients and conclusion (sums around the centre into
    sums around the means)."""

    params = ([64, 2048], [32, 256])
    param_names = ["n_features", "n_components"]

    def setup(self, n_features, n_components):
        from fastgmm import _covariance
        from fastgmm._kernels import diag

        rng = np.random.default_rng(0)
        shape = (n_components, n_features)
        self.kernels = diag
        self.model = _covariance.get("diag")
        self.means = rng.standard_normal(shape)
        self.sx = rng.standard_normal(shape)
        self.sxx = 1.0 + rng.random(shape) * n_features
        self.nk = np.full(n_components, float(n_features))
        self.delta = self.sx / self.nk[:, None]
        self.covariances = self.sxx / self.nk[:, None]
        self.prec = 1.0 / np.sqrt(self.covariances)
        self.const = rng.standard_normal(n_components)
        self.centre = self.means.mean(axis=0)
        self.moments = rng.standard_normal((n_components, 2 * n_features))
        self.offsets = np.empty(shape)
        self.coef = np.empty((n_components, 2 * n_features))
        self.const_c = np.empty(n_components)
        self.out = np.empty(shape)
        self.out2 = np.empty(shape)

    def time_covariances(self, n_features, n_components):
        self.kernels.covariances(self.sxx, self.sx, self.delta, self.nk, self.nk, 1e-6,
                                 self.out)

    def time_precision_cholesky(self, n_features, n_components):
        self.model.precision_cholesky(self.covariances)

    def time_log_det(self, n_features, n_components):
        self.model.log_det_cholesky(self.prec, n_features)

    def time_gemm_coefficients(self, n_features, n_components):
        self.kernels.gemm_coefficients(self.means, self.prec, self.centre, self.const,
                                       self.offsets, self.coef, self.const_c)

    def time_centred_from_shifted(self, n_features, n_components):
        self.kernels.centred_from_shifted(self.moments, self.nk, self.offsets, self.out,
                                          self.out2)


class DiagPassBlock:
    """A block of the large-d 'diag' / 'spherical' pass made ready for its
    GEMMs in one Numba sweep (``_kernels.diag``): ``[Y | Y^2]`` with
    ``Y = X_b - c`` ('diag'), ``Y`` and the rows' ``|y|^2`` ('spherical').
    Commits without these kernels skip."""

    params = (DTYPES, [64, 2048])
    param_names = ["dtype", "n_features"]

    def setup(self, dtype, n_features):
        from fastgmm._kernels import diag

        if not hasattr(diag, "shifted_rows_norms"):
            raise NotImplementedError("no block kernels at this commit")
        self.kernels = diag
        rng = np.random.default_rng(0)
        self.Xb = rng.standard_normal((512, n_features)).astype(dtype)
        self.centre = self.Xb.mean(axis=0).astype(dtype)
        self.Z = np.empty((512, 2 * n_features), dtype)
        self.Y = np.empty((512, n_features), dtype)
        self.squares = np.empty(512)
        diag.shifted_rows(self.Xb, self.centre, self.Z)
        diag.shifted_rows_norms(self.Xb, self.centre, self.Y, self.squares)

    def time_shifted_rows(self, dtype, n_features):
        self.kernels.shifted_rows(self.Xb, self.centre, self.Z)

    def time_shifted_rows_norms(self, dtype, n_features):
        self.kernels.shifted_rows_norms(self.Xb, self.centre, self.Y, self.squares)


class Normalize:
    """The E-step's exponentials: ``logprob.block_normalize`` on one block
    (its log-sum-exp and unnormalised responsibilities, one
    ``exp_nonpositive`` per row and component), repeated 64 times per call
    so that the call's overhead does not weigh."""

    params = ([8, 32], [1024])
    param_names = ["n_components", "n_rows"]

    def setup(self, n_components, n_rows):
        from numba import njit

        from fastgmm._kernels.logprob import block_normalize

        @njit
        def repeat(logp0, logp, lse, total, times):
            for _ in range(times):
                logp[:, :] = logp0
                block_normalize(logp, logp.shape[1], lse, total)

        rng = np.random.default_rng(0)
        self.logp0 = -rng.exponential(20.0, size=(n_components, n_rows))
        self.logp = self.logp0.copy()
        self.lse = np.empty(n_rows)
        self.total = np.empty(n_rows)
        self.repeat = repeat
        repeat(self.logp0, self.logp, self.lse, self.total, 1)

    def time_block_normalize(self, *args):
        self.repeat(self.logp0, self.logp, self.lse, self.total, 64)
