"""The covariance models: one object per ``covariance_type``, owning all it implies.

A model object knows everything that differs between covariance types:

- shapes: of ``covariances_`` / ``precisions_`` / ``precisions_cholesky_``
  (:meth:`~CovarianceModel.shape`, which is also the layout of the model
  file), of a pass's scatter statistics (:meth:`~CovarianceModel.scatter_shape`),
  and the number of free parameters;
- validation of ``precisions_init`` (and of a loaded file's fitted arrays);
- conversions between covariances, precisions and their Cholesky factors,
  and the log-determinant of the factors;
- the M-step's covariances from the sufficient statistics of a pass or of
  a start, and the online-EM state of ``partial_fit``;
- which fused pass and which scoring kernel it runs (``em_kernels``,
  ``log_prob_kernels``: (parallel, serial) pairs, or others for some
  numbers of features: :meth:`~CovarianceModel.log_prob_kernel`,
  :meth:`~CovarianceModel.pass_kernel`) and the arguments that
  carry its parameters to them (:meth:`~CovarianceModel.pass_arguments`,
  :meth:`~CovarianceModel.score_arguments`);
- drawing samples, whitening a row for the nearest-component fallback,
  the covariance of all the data, and the per-component matrices shown by
  the command line.

Everything else (the driver ``_em``, the starts ``_init``, the statistics
``_stats``, streaming, memory estimates, the model file, the estimator)
asks :func:`get` for the model and calls it: no other module compares
``covariance_type`` with a name. "Adding a covariance model" in the user
guide walks through adding one.

Parameters reach the kernels by the rule written in ``_kernels/__init__.py``:
``pass_arguments`` and ``score_arguments`` prepare them in float64 (the
means rounded to float32 values for float32 data), with the precision
factors of 'full' in X's dtype; the kernels of the other models cast what
they score with to X's dtype themselves, into arrays of their own.
"""

import math

import numpy as np

from . import _blocked, _config, _linalg, _threads
from ._kernels import diag as _diag_kernels
from ._kernels import em_pass as _em_kernels
from ._kernels import logprob as _lp_kernels
from ._stats import (
    _full_covariances,
    _lapack_dtype,
    _precision_cholesky_batched,
    _precision_cholesky_inplace,
    _symmetrize_upper,
    cast_fitted,
    covariances_from_factors,
    fill_lower_from_upper,
    ill_defined_message,
    positive_definite,
    precisions_from_factors,
    reversed_cholesky,
)


class CovarianceModel:
    """What a covariance model knows; the subclasses fill it in.

    Attributes
    ----------
    name : str
        The ``covariance_type`` value.
    shared : bool
        One covariance for all components ('tied').
    matrix : bool
        Covariances are d x d matrices ('full', 'tied'), not variances.
    em_kernels, log_prob_kernels : tuple of (parallel, serial) kernels
    can_accumulate : bool
        Whether its pass can add each block's scatter into the total, for
        models whose scatters of one block exceed ``_config.PART_BYTES``
        (see :meth:`pass_kernel`).
    variational : bool
        Whether it has the variational updates of ``BayesianGaussianMixture``
        (the ``variational_*`` methods): scikit-learn's four models.
    """

    name = None
    shared = False
    matrix = False
    em_kernels = None
    log_prob_kernels = None
    can_accumulate = False
    variational = False

    def __repr__(self):
        return f"<covariance model {self.name!r}>"

    # -- shapes and counts ------------------------------------------------

    def shape(self, n_components, n_features):
        """Shape of ``covariances_``, ``precisions_`` and ``precisions_cholesky_``
        (and of their entries in a model file)."""
        raise NotImplementedError

    def scatter_shape(self, n_components, n_features):
        """Shape of the second-moment statistics ``Stats.sxx`` of a pass."""
        return self.shape(n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        """Free parameters of the covariances."""
        raise NotImplementedError

    def n_parameters(self, n_components, n_features):
        """Free parameters of the mixture: covariances, means and weights."""
        return int(self.n_covariance_parameters(n_components, n_features)
                   + n_features * n_components + n_components - 1)

    def covariance_floats(self, n_components, n_features):
        """Floats in one array of the covariances' size."""
        return int(np.prod(self.shape(n_components, n_features)))

    def block_floats(self, n_components, n_features):
        """(small, scatter): the float64 values of one block's partial
        statistics of a pass, the log-likelihood, ``nk`` and ``sx`` apart
        from the scatters ``sxx``."""
        return (1 + n_components * (1 + n_features),
                int(np.prod(self.scatter_shape(n_components, n_features))))

    def accumulates(self, n_components, n_features):
        """Whether a pass adds every block's scatters into the total instead
        of keeping partial ones: where the scatters of a single block exceed
        ``_config.PART_BYTES`` (full covariances of K d^2 floats: 305 MiB at
        K=10, d=2000), for a model that can (see :meth:`pass_kernel`)."""
        return self.can_accumulate and 8 * sum(self.block_floats(
            n_components, n_features)) > _config.PART_BYTES

    # -- validation ------------------------------------------------------

    def check_precisions(self, precisions, n_components, n_features):
        """Raise scikit-learn's ValueError when ``precisions_init`` (of the
        right shape, float) is not a valid precision."""
        raise NotImplementedError

    def check_fitted(self, precisions_chol, precisions, covariances, rtol):
        """Raise ValueError unless the three arrays (float64) are factors,
        precisions and covariances that agree to ``rtol``: what a model file
        must hold (see ``_io``)."""
        raise NotImplementedError

    # -- conversions -------------------------------------------------------

    def precision_cholesky(self, covariances):
        """(U, failed): upper-triangular U with precision = U U^T, and which
        components are not positive definite (NaN in U); nothing raised."""
        raise NotImplementedError

    def precision_cholesky_from_precisions(self, precisions, dtype=None):
        """U with precision = U U^T, from precisions, computed in ``dtype``
        (default: float32 for float32 precisions, else float64)."""
        raise NotImplementedError

    def precisions_from_cholesky(self, precisions_chol, dtype=None):
        """Precisions U U^T from their Cholesky factors, in ``dtype`` (default:
        the factors' own)."""
        raise NotImplementedError

    def covariances_from_precisions(self, precisions):
        """Covariances, the inverses of ``precisions``."""
        raise NotImplementedError

    def start_covariances(self, precisions, precisions_chol):
        """The covariances of a start given by its ``precisions`` and their
        factors ``precisions_chol`` (:meth:`precision_cholesky_from_precisions`)."""
        return self.covariances_from_precisions(precisions)

    def covariances_of(self, params, precisions=None):
        """The covariances of ``params``, float64: its own, or, where it holds
        none (a start from ``precisions_init``, whose covariances the first
        M-step would replace unread), from its precision factors
        (:meth:`start_covariances`; ``precisions``, when given, are theirs)."""
        if params.covariances is not None:
            return np.asarray(params.covariances, dtype=np.float64)
        precisions_chol = np.asarray(params.precisions_chol, dtype=np.float64)
        if precisions is None:
            precisions = self.precisions_from_cholesky(precisions_chol)
        return self.start_covariances(precisions, precisions_chol)

    def log_det_cholesky(self, precisions_chol, n_features):
        """log det(U) per component (a scalar when shared)."""
        raise NotImplementedError

    def log_prob_constants(self, weights, precisions_chol, n_features):
        """``log pi_k + log det(U_k) - n_features / 2 log(2 pi)``, per component."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        log_det = self.log_det_cholesky(precisions_chol, n_features)
        return log_weights + log_det - 0.5 * n_features * math.log(2 * math.pi)

    def component_covariances(self, covariances, n_components, n_features):
        """The covariances as one (n_features, n_features) matrix per component."""
        raise NotImplementedError

    def component(self, covariances, k):
        """What component ``k``'s covariance is in the fitted array."""
        return covariances[k]

    def subset(self, covariances, keep):
        """The covariances (or factors) of the components ``keep``."""
        return covariances[keep]

    # -- the M-step ---------------------------------------------------------

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        """The M-step's covariances from a pass's statistics.

        ``means = stats.ref + delta``, ``delta = stats.sx / nk``,
        ``nk = stats.nk + nk_reg`` (see ``_stats.estimate_parameters``).
        """
        raise NotImplementedError

    def start_rows(self, sxx, Xc, resp, row_weights, shift):
        """Add what a chunk of a start's rows ``Xc`` (float64, with their
        responsibilities ``resp`` before the sample weights ``row_weights``,
        None for unit weights) give to ``sxx`` as a whole; per component,
        :meth:`start_scatter` adds the rest."""

    def start_scatter(self, sxx, D, rD, k):
        """Add component ``k``'s scatter of a chunk of a start (rows ``D``
        centred on the statistics' reference ``ref[k]``, its mean or its
        k-means centre; ``rD`` the same times the responsibilities) to
        ``sxx`` (of :meth:`scatter_shape`)."""

    def data_covariance(self, scatter_of_data, reg_covar):
        """The covariance of all the data plus ``reg_covar``, in the form one
        component's covariance takes, from the data's covariance matrix
        (:meth:`matrix`) or its variances."""
        raise NotImplementedError

    # -- the kernels ------------------------------------------------------

    def pass_arguments(self, params, means, shift, X_dtype):
        """The parameter arguments of the fused pass kernel, after ``X,
        sample_weight`` and before the rows: float64 unless the kernel
        scores in X's dtype with them. ``means`` are the pass's centres
        (float64, rounded to float32 for float32 X), ``shift`` that of
        :meth:`pass_shift`."""
        prec = np.ascontiguousarray(self.pass_precisions(params.precisions_chol,
                                                         means.shape[1]))
        const = np.ascontiguousarray(self.log_prob_constants(
            np.asarray(params.weights, dtype=np.float64),
            np.asarray(params.precisions_chol, dtype=np.float64), means.shape[1]))
        return (means, prec, const)

    def blas_pass(self, n_features, n_components=1):
        """Whether its pass over ``n_features`` with ``n_components`` runs by
        BLAS-3 on blocks of rows (``fastgmm._blocked``, :meth:`run_blas_pass`)
        instead of the Numba kernels."""
        return False

    def run_blas_pass(self, X, sample_weight, args, hard):
        """(loglik, nk, sx, sxx) of its BLAS pass (where :meth:`blas_pass`)
        over X, with the parameters ``args`` of :meth:`pass_arguments`."""
        raise NotImplementedError

    def pass_flops(self, n_features, n_components):
        """Floating-point operations of its pass per row (an FMA counts as 2;
        the exponentials and the M-step are not counted): what
        ``fastgmm bench --roofline`` divides by the time. See the models'
        own methods for the count."""
        raise NotImplementedError

    def pass_kernel(self, n_blocks, accumulate, n_features, dtype):
        """(kernel, flags): the pass kernel to call for ``n_blocks`` blocks of
        ``n_features`` features read as ``dtype``, and the arguments it takes
        between ``hard`` and the parts."""
        return _threads.pick_kernel(self.em_kernels, n_blocks), ()

    def log_prob_kernel(self, n_blocks, n_features, dtype):
        """The scoring kernel to call for ``n_blocks`` blocks of ``n_features``
        features scored in ``dtype`` (its arguments: :meth:`score_arguments`)."""
        return _threads.pick_kernel(self.log_prob_kernels, n_blocks)

    def pass_precisions(self, precisions_chol, n_features):
        """The precision factors as the pass kernel reads them, float64."""
        return np.asarray(precisions_chol, dtype=np.float64)

    def pass_shift(self, params, means, X_dtype):
        """The centre of the pooled scatter (shared models); zeros otherwise."""
        return np.zeros(means.shape[1])

    def score_arguments(self, params, dtype):
        """The parameter arguments of the scoring kernel, after ``X``: the
        parameters as stored (the kernel computes its constants itself, so a
        call on a few rows needs little Python work)."""
        weights = np.asarray(params.weights, dtype=np.float64)
        means = np.asarray(params.means, dtype=np.float64)
        prec = np.asarray(params.precisions_chol, dtype=np.float64)
        return (weights, means, prec)

    def whiten(self, diff, precisions_chol, k):
        """``(x - mu_k) U_k`` for rows ``diff = x - mu_k``."""
        raise NotImplementedError

    def sample(self, rng, mean, covariance, n_samples):
        """``n_samples`` draws from one component (``covariance`` from :meth:`component`)."""
        return rng.multivariate_normal(mean, covariance, int(n_samples))

    # -- online EM (``_streaming``) -------------------------------------------

    def state_scatter(self, weights, covariances, n_features):
        """The online state's scatter whose M-step gives ``covariances``."""
        raise NotImplementedError

    def stats_scatter(self, stats, means, safe_nk):
        """A batch's scatter around its means, from pass statistics."""
        raise NotImplementedError

    def combine_scatter(self, scatter, coef, delta):
        """``scatter`` plus the between-state term of the pairwise update."""
        raise NotImplementedError

    # -- the variational mixture (see _variational) ------------------------

    def variational_covariance_prior(self, covariance, variances):
        """scikit-learn's default ``covariance_prior`` from the data's
        covariance matrix (None unless ``matrix``) and variances (float64)."""
        raise NotImplementedError(f"{self!r} has no variational update")

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        """The Wishart part of the variational M-step, as scikit-learn's
        ``_estimate_wishart_*``: ``(degrees_of_freedom, covariances)`` from
        the Gaussian M-step's ``nk``, means ``xk`` and covariances ``sk``
        (with ``reg_covar``), the ``_variational.Priors`` and the posterior
        ``mean_precision``."""
        raise NotImplementedError(f"{self!r} has no variational update")

    def variational_log_wishart_norm(self, log_norms, n_components):
        """The lower bound's Wishart normaliser of the mixture from those of
        its covariances (``_variational._log_wishart_norm``): their sum; a
        shared covariance counts once per component, as in scikit-learn."""
        if not self.variational:
            raise NotImplementedError(f"{self!r} has no variational update")
        return np.sum(log_norms)

    def state_statistics(self, nk, means, scatter):
        """(sxx, shift) of the statistics whose M-step gives the parameters of
        an online state (the state's scatters around its means)."""
        return scatter, np.zeros(means.shape[1])


class _MatrixModel(CovarianceModel):
    """'full' and 'tied': covariances are matrices."""

    matrix = True

    def _matrices(self, a):
        return a.reshape((-1,) + a.shape[-2:])

    def variational_covariance_prior(self, covariance, variances):
        return np.atleast_2d(covariance)

    def check_precisions(self, precisions, n_components, n_features):
        mats = precisions.reshape((-1, n_features, n_features))
        if n_features >= _config.PRECISION_CHECK_CHOLESKY_MIN_FEATURES:
            # Cholesky instead of the eigenvalues (_stats.positive_definite),
            # LAPACK on one thread and the components spread over the threads.
            valid = _blocked.map_components_one_blas_thread(
                lambda k: positive_definite(mats[k]), mats.shape[0])
        else:
            # LAPACK on one thread (see _blocked.blas_single_thread).
            # One batched call of each (elementwise, as per matrix): a list
            # of calls cost 1 ms for K = 16, d = 16, before the first pass.
            with _blocked.blas_single_thread():
                valid = [np.allclose(mats, np.swapaxes(mats, 1, 2))
                         and np.all(np.linalg.eigvalsh(mats) > 0.0)]
        if not all(valid):
            raise ValueError(
                f"'{self.name} precision' should be symmetric, positive-definite"
            )

    def check_fitted(self, precisions_chol, precisions, covariances, rtol):
        n_features = precisions_chol.shape[-1]
        shape = (-1, n_features, n_features)
        chol, precisions, covariances = (a.reshape(shape) for a in (
            precisions_chol, precisions, covariances))
        # The products are checked on a few fixed random vectors V (Freivalds'
        # check): O(n_features^2) per component instead of O(n_features^3).
        vectors = np.random.default_rng(0).standard_normal((n_features, 3))
        abs_vectors = np.abs(vectors)
        batch = max(1, _CHECK_BATCH_ELEMENTS // n_features**2)
        for start in range(0, chol.shape[0], batch):
            u, p, s = (np.asarray(a[start:start + batch], dtype=np.float64)
                       for a in (chol, precisions, covariances))
            if np.any(np.diagonal(u, axis1=1, axis2=2) <= 0):
                raise ValueError("entry 'precisions_cholesky_' has a diagonal value that "
                                 "is not positive: not a Cholesky factor")
            abs_u = np.abs(u)
            if np.any(np.tril(abs_u, -1) > rtol * abs_u.max(axis=(1, 2), keepdims=True)):
                raise ValueError("entry 'precisions_cholesky_' is not upper triangular")
            u_t = np.swapaxes(u, 1, 2)
            # |P V - U (U^T V)| within rtol of |U| (|U^T| |V|), elementwise.
            if np.any(np.abs(p @ vectors - u @ (u_t @ vectors))
                      > rtol * (abs_u @ (np.abs(u_t) @ abs_vectors))):
                raise ValueError("entry 'precisions_' is not U U^T for "
                                 "U = 'precisions_cholesky_'")
            variances = np.diagonal(s, axis1=1, axis2=2)
            if np.any(variances <= 0):
                raise ValueError("entry 'covariances_' has a variance that is not positive")
            scale = np.sqrt(variances[:, :, None] * variances[:, None, :])
            if np.any(np.abs(s - np.swapaxes(s, 1, 2)) > rtol * scale):
                raise ValueError("entry 'covariances_' is not symmetric")
            # |S (P V) - V| within rtol of |S| (|P| |V|): S is the inverse of P.
            if np.any(np.abs(s @ (p @ vectors) - vectors)
                      > rtol * (np.abs(s) @ (np.abs(p) @ abs_vectors))):
                raise ValueError("entry 'covariances_' is not the inverse of 'precisions_'")

    def precision_cholesky(self, covariances):
        # For covariances beyond _config.MSTEP_BLOCK_BYTES, one component at
        # a time in place (see _stats._precision_cholesky_inplace): no
        # temporary the size of all of them, and a triangular inverse rather
        # than a general solve.
        covariances = np.asarray(covariances)
        batch = self._matrices(covariances)
        if batch.nbytes <= _config.MSTEP_BLOCK_BYTES:
            prec_chol, failed = _precision_cholesky_batched(batch)
        else:
            prec_chol, failed = _precision_cholesky_inplace(batch)
        prec_chol[failed] = np.nan
        return prec_chol.reshape(covariances.shape), failed

    def precision_cholesky_from_precisions(self, precisions, dtype=None):
        # The Cholesky factor of the row- and column-reversed precision,
        # reversed back, is upper triangular (scikit-learn's construction);
        # beyond _config.MSTEP_BLOCK_BYTES, one component at a time, each
        # converted to dtype as it is copied (no converted copy of them all).
        dtype = np.dtype(_lapack_dtype(precisions) if dtype is None else dtype)
        # The path by the size of the converted batch, as before the
        # conversion moved inside (the two factorisations differ in the
        # last bits).
        if precisions.size * dtype.itemsize <= _config.MSTEP_BLOCK_BYTES:
            flipped = precisions.astype(dtype, copy=False)[..., ::-1, ::-1]
            return np.linalg.cholesky(flipped)[..., ::-1, ::-1].copy()
        batch = self._matrices(precisions)
        out = np.empty(batch.shape, dtype=dtype)
        _blocked.map_components_one_blas_thread(
            reversed_cholesky(batch, out), batch.shape[0])
        return out.reshape(precisions.shape)

    def precisions_from_cholesky(self, precisions_chol, dtype=None):
        if precisions_chol.nbytes > _config.MSTEP_BLOCK_BYTES:
            # One product per component into the result (as scikit-learn
            # computes precisions_): no temporary the size of all the factors;
            # by LAPACK's lauum (_stats.precisions_from_factors: a sixth of
            # the flops of the general product, 2.5x faster on one core at
            # d = 2048). LAPACK on one thread, the components spread over the
            # threads (see _blocked.map_components); 'tied': a batch of one.
            # Another dtype (float32 precisions_ from float64 factors) is
            # written component by component, without a float64 array of
            # them all.
            factors = self._matrices(precisions_chol).astype(
                _lapack_dtype(precisions_chol), copy=False)
            out = np.empty(factors.shape, dtype=factors.dtype if dtype is None else dtype)
            _blocked.map_components_one_blas_thread(
                precisions_from_factors(factors, out), factors.shape[0])
            return out.reshape(precisions_chol.shape)
        precisions = precisions_chol @ np.swapaxes(precisions_chol, -1, -2)
        return precisions if dtype is None else cast_fitted(precisions, dtype)

    def covariances_from_precisions(self, precisions):
        if precisions.nbytes > _config.MSTEP_BLOCK_BYTES:
            # ('tied': a batch of one matrix.)
            return self._invert_each(self._matrices(precisions)).reshape(precisions.shape)
        return np.linalg.inv(precisions)

    def start_covariances(self, precisions, precisions_chol):
        if precisions.nbytes <= _config.MSTEP_BLOCK_BYTES:
            return self.covariances_from_precisions(precisions)
        # From the factors, one component at a time into the result
        # (_stats.covariances_from_factors: 2 d^3 / 3 flops where inverting
        # the precisions takes d^3), LAPACK on one thread and the components
        # spread over the threads.
        factors = self._matrices(precisions_chol)
        out = np.empty(factors.shape, dtype=np.result_type(factors.dtype, np.float32))
        _blocked.map_components_one_blas_thread(
            covariances_from_factors(factors, self._matrices(precisions), out),
            factors.shape[0])
        return out.reshape(precisions.shape)

    def _invert_each(self, precisions):
        """The inverses of a batch of precisions, one per component into the
        result, LAPACK on one thread and the components spread over the
        threads: Cholesky and its inverse (potrf, potri: d^3 flops where a
        general inverse takes 2 d^3); a matrix that is not positive definite
        gets numpy's general inverse."""
        out = np.empty(precisions.shape, dtype=np.result_type(precisions.dtype, np.float32))

        def invert(k):
            work = out[k]
            np.copyto(work, precisions[k])
            # The C-order slice read as Fortran is the (symmetric) matrix;
            # potri leaves the inverse in its Fortran lower = C upper triangle.
            info = _linalg.potrf(work.T, lower=True)
            if info == 0:
                info = _linalg.potri(work.T, lower=True)
            if info != 0:
                work[...] = np.linalg.inv(precisions[k])
                return
            fill_lower_from_upper(work)

        _blocked.map_components_one_blas_thread(invert, precisions.shape[0])
        return out

    def data_covariance(self, covariance, reg_covar):
        covariance = covariance.copy()
        covariance.flat[:: covariance.shape[0] + 1] += reg_covar
        return covariance

    def whiten(self, diff, precisions_chol, k):
        return diff @ self.component(precisions_chol, k)


class Full(_MatrixModel):
    """'full': each component has its own general covariance matrix."""

    name = "full"
    can_accumulate = True
    variational = True
    em_kernels = (_em_kernels.em_pass_full, _em_kernels.em_pass_full_serial)
    log_prob_kernels = (_lp_kernels.weighted_log_prob_full,
                        _lp_kernels.weighted_log_prob_full_serial)
    # Two features (one sweep per component, no triangular tiles), each
    # number of features up to _config.UNROLLED_MAX_FEATURES (the written-out
    # product, and statistics, of _kernels.em_pass.unrolled_full_kernels),
    # and above it float64 from CENTRED_PRODUCT_MAX_FEATURES features (the
    # uncentred product), have kernels of their own: a fit compiles only
    # those its data need (see _kernels.kernel_variant).
    em_kernels_2d = (_em_kernels.em_pass_full_2d, _em_kernels.em_pass_full_2d_serial)
    log_prob_kernels_2d = (_lp_kernels.weighted_log_prob_full_2d,
                           _lp_kernels.weighted_log_prob_full_2d_serial)
    em_kernels_uncentred = (_em_kernels.em_pass_full_uncentred,
                            _em_kernels.em_pass_full_uncentred_serial)
    log_prob_kernels_uncentred = (_lp_kernels.weighted_log_prob_full_uncentred,
                                  _lp_kernels.weighted_log_prob_full_uncentred_serial)

    def pass_flops(self, n_features, n_components):
        """Per component: the deviation ``D = x - mu_k`` (d), the triangular
        product ``D U_k`` (d(d+1)/2 FMAs), its squared norm (d FMAs), the
        first moments ``r D`` and their sum (2 d) and the upper triangle of
        the scatter ``r D D^T`` (d(d+1)/2 FMAs): ``2 d(d+1) + 5 d``."""
        d = n_features
        return n_components * (2 * d * (d + 1) + 5 * d)

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def log_det_cholesky(self, precisions_chol, n_features):
        return np.log(np.diagonal(precisions_chol, axis1=1, axis2=2)).sum(axis=1)

    def component_covariances(self, covariances, n_components, n_features):
        return covariances

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        return _full_covariances(stats.sxx, stats.sx, delta, stats.nk, nk, reg_covar)

    def start_scatter(self, sxx, D, rD, k):
        # sxx[k] += rD^T D by BLAS in place (sxx[k].T is its Fortran view),
        # with no d x d temporary.
        _linalg.gemm(D.T, rD.T, sxx[k].T, beta=1.0, trans_b=True)

    def pass_arguments(self, params, means, shift, X_dtype):
        means, prec, const = super().pass_arguments(params, means, shift, X_dtype)
        if X_dtype == np.float32:
            # The full kernel scores in X's dtype and takes U in it.
            prec = prec.astype(np.float32)
        return (means, prec, const)

    def blas_pass(self, n_features, n_components=1):
        return n_features >= _config.BLAS_PASS_MIN_FEATURES

    def run_blas_pass(self, X, sample_weight, args, hard):
        return _blocked.em_pass_full(X, sample_weight, *args, hard)

    def _kernels(self, n_features, dtype):
        """(pass pair, scoring pair, accumulating pass) for the data."""
        if n_features == 2:
            return self.em_kernels_2d, self.log_prob_kernels_2d, None
        if _lp_kernels.unrolled_product(n_features, dtype):
            em_pair, components = _em_kernels.unrolled_full_kernels(
                n_features, _em_kernels.stats_sweep(n_features, dtype))
            return em_pair, _lp_kernels.unrolled_log_prob_kernels(n_features)[2], components
        if _lp_kernels.centred_product(n_features, dtype):
            return (self.em_kernels, self.log_prob_kernels,
                    _em_kernels.em_pass_full_components)
        return (self.em_kernels_uncentred, self.log_prob_kernels_uncentred,
                _em_kernels.em_pass_full_components_uncentred)

    def pass_kernel(self, n_blocks, accumulate, n_features, dtype):
        # With accumulate (see accumulates), every block adds its scatter to
        # the total in block order: the blocks run one after the other, and
        # the components of each in parallel (two features: the serial pass).
        pair, _, components = self._kernels(n_features, dtype)
        if not accumulate:
            return _threads.pick_kernel(pair, n_blocks), (False,)
        if components is None:
            return pair[1], (True,)
        return _threads.thread_safe(components), ()

    def log_prob_kernel(self, n_blocks, n_features, dtype):
        return _threads.pick_kernel(self._kernels(n_features, dtype)[1], n_blocks)

    def score_arguments(self, params, dtype):
        weights, means, prec = super().score_arguments(params, dtype)
        # The full kernel also takes the parameters in the dtype it scores in.
        extra = ((means, prec) if dtype == np.float64 else
                 (means.astype(np.float32), prec.astype(np.float32)))
        return (weights, means, prec) + extra

    def state_scatter(self, weights, covariances, n_features):
        return weights[:, None, None] * covariances

    def stats_scatter(self, stats, means, safe_nk):
        return (_symmetrize_upper(stats.sxx)
                - stats.sx[:, :, None] * stats.sx[:, None, :] / safe_nk[:, None, None])

    def combine_scatter(self, scatter, coef, delta):
        return scatter + coef[:, None, None] * delta[:, :, None] * delta[:, None, :]

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        dof = priors.degrees_of_freedom_prior + nk
        diff = xk - priors.mean_prior
        coef = nk * priors.mean_precision_prior / mean_precision
        cov = (priors.covariance_prior + nk[:, None, None] * sk
               + coef[:, None, None] * diff[:, :, None] * diff[:, None, :])
        return dof, cov / dof[:, None, None]


class Tied(_MatrixModel):
    """'tied': one covariance matrix shared by all components.

    Its pass centres every row on a shift (the weighted mean of the means)
    and sums one pooled scatter of all rows around it, instead of one per
    component; its M-step subtracts the between-component part.
    """

    name = "tied"
    variational = True
    shared = True
    em_kernels = (_em_kernels.em_pass_tied, _em_kernels.em_pass_tied_serial)
    log_prob_kernels = (_lp_kernels.weighted_log_prob_tied,
                        _lp_kernels.weighted_log_prob_tied_serial)

    def pass_flops(self, n_features, n_components):
        """Per component, 'full''s count without the scatter
        (``d(d+1) + 5 d``); the pooled scatter once per row (``d(d+1)``)."""
        d = n_features
        return n_components * (d * (d + 1) + 5 * d) + d * (d + 1)

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def log_det_cholesky(self, precisions_chol, n_features):
        return float(np.log(np.diag(precisions_chol)).sum())

    def component_covariances(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features))

    def component(self, covariances, k):
        return covariances

    def subset(self, covariances, keep):
        return covariances

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        # The within-component scatter sum_k sum_i r_ik (x_i - m_k)(x_i - m_k)^T
        # from the pooled scatter S around c = shift: with u_k = m_k - c and
        # a_k = sum_i r_ik (x_i - c) = sx_k + nk_raw_k (ref_k - c), it is
        # S - sum_k (u_k a_k^T + a_k u_k^T - nk_raw_k u_k u_k^T), and
        # a_k = nk_raw_k u_k + nk_reg delta_k (as nk_k delta_k = sx_k).
        # Only differences of nearby points enter: no |c|^2 term.
        # The subtracted part is C^T N C + nk_reg (C^T D + D^T C) with C the
        # centred means, D the deltas and N = diag(nk_raw): one syr2k of C
        # and H = N C / 2 + nk_reg D (C^T H + H^T C), K d^2 flops, into the
        # upper triangle of a copy of the scatter (the C-order upper triangle
        # is the Fortran lower one), which is then scaled and mirrored: one
        # d x d array and no temporaries of its size (the product, the
        # symmetrised copy and the transposed subtraction took 0.14-0.2 s
        # at d = 2048).
        n_features = means.shape[1]
        centred = means - stats.shift
        half = 0.5 * stats.nk[:, None] * centred + nk_reg * delta
        covariances = np.array(stats.sxx, dtype=np.float64, order="C", copy=True)
        _linalg.syr2k(centred.T, half.T, covariances.T, lower=True, alpha=-1.0, beta=1.0)
        covariances /= nk.sum()
        fill_lower_from_upper(covariances)
        covariances.flat[:: n_features + 1] += reg_covar
        return covariances

    def pass_shift(self, params, means, X_dtype):
        shift = params.weights @ means
        if X_dtype == np.float32:
            shift = shift.astype(np.float32).astype(np.float64)
        return shift

    def start_rows(self, sxx, Xc, resp, row_weights, shift):
        # A start's rows either have responsibilities summing to 1 (they
        # enter the pooled scatter around ``shift``) or none at all (the
        # one-hot starts): those enter uncentred, w x x^T, as in
        # scikit-learn's tied formula, which counts every row.
        shared = resp.any(axis=1)
        row_w = np.ones(Xc.shape[0]) if row_weights is None else row_weights
        D0 = np.where(shared[:, None], Xc - shift, Xc)
        sxx += (row_w[:, None] * D0).T @ D0

    def pass_arguments(self, params, means, shift, X_dtype):
        # The kernel centres every row on the shift before the product with
        # U, so the components' offsets enter as (mu_k - shift) U.
        means, prec, const = super().pass_arguments(params, means, shift, X_dtype)
        means_u = np.ascontiguousarray((means - shift) @ prec)
        return (means, means_u, prec, const, shift)

    def blas_pass(self, n_features, n_components=1):
        return n_features >= _config.BLAS_TIED_MIN_FEATURES

    def run_blas_pass(self, X, sample_weight, args, hard):
        return _blocked.em_pass_tied(X, sample_weight, *args, hard)

    def state_scatter(self, weights, covariances, n_features):
        return weights.sum() * covariances

    def stats_scatter(self, stats, means, safe_nk):
        # Pooled scatter around ``shift`` minus the between-component part:
        # the responsibilities of every row sum to its weight.
        centred = means - stats.shift
        return _symmetrize_upper(stats.sxx) - (stats.nk[:, None] * centred).T @ centred

    def combine_scatter(self, scatter, coef, delta):
        return scatter + (coef[:, None] * delta).T @ delta

    def state_statistics(self, nk, means, scatter):
        # The tied M-step takes the scatter of all rows around one centre.
        centre = nk @ means / float(nk.sum())
        centred = means - centre
        return scatter + (nk[:, None] * centred).T @ centred, centre

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        n_components = nk.shape[0]
        dof = priors.degrees_of_freedom_prior + nk.sum() / n_components
        diff = xk - priors.mean_prior
        cov = (priors.covariance_prior + sk * nk.sum() / n_components
               + priors.mean_precision_prior / n_components
               * np.dot((nk / mean_precision) * diff.T, diff))
        return dof, cov / dof

    def variational_log_wishart_norm(self, log_norms, n_components):
        return n_components * float(np.sum(log_norms))


class Diag(CovarianceModel):
    """'diag': each component has its own diagonal covariance."""

    name = "diag"
    variational = True
    em_kernels = (_em_kernels.em_pass_diag, _em_kernels.em_pass_diag_serial)
    log_prob_kernels = (_lp_kernels.weighted_log_prob_diag,
                        _lp_kernels.weighted_log_prob_diag_serial)

    def pass_flops(self, n_features, n_components):
        """Per component: ``D`` (d), ``D * p`` (d), its squared norm (d
        FMAs), ``r D`` (d), its sum (d) and ``r D^2`` (d FMAs): ``8 d``
        ('spherical' runs the same pass)."""
        return n_components * 8 * n_features

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def check_precisions(self, precisions, n_components, n_features):
        if np.any(precisions <= 0.0):
            raise ValueError(f"'{self.name} precision' should be positive")

    def check_fitted(self, precisions_chol, precisions, covariances, rtol):
        chol, precisions, covariances = (np.asarray(a, dtype=np.float64) for a in (
            precisions_chol, precisions, covariances))
        if np.any(chol <= 0):
            raise ValueError("entry 'precisions_cholesky_' has values that are not positive")
        if np.any(np.abs(precisions - chol**2) > rtol * chol**2):
            raise ValueError("entry 'precisions_' is not the square of "
                             "'precisions_cholesky_'")
        if np.any(covariances <= 0) or np.any(np.abs(covariances * precisions - 1) > rtol):
            raise ValueError("entry 'covariances_' is not the inverse of 'precisions_'")

    def precision_cholesky(self, covariances):
        # One sweep (_kernels.diag): 1 / sqrt(var), NaN where var is not
        # positive and finite; 'spherical''s (K,) as a column.
        cov = np.ascontiguousarray(covariances, dtype=np.float64)
        prec_chol = np.empty(cov.shape)
        failed = np.empty(cov.shape[0], dtype=bool)
        _diag_kernels.precision_cholesky(cov.reshape(cov.shape[0], -1),
                                         prec_chol.reshape(cov.shape[0], -1), failed)
        return prec_chol, failed

    def precision_cholesky_from_precisions(self, precisions, dtype=None):
        return np.sqrt(precisions if dtype is None else precisions.astype(dtype, copy=False))

    def precisions_from_cholesky(self, precisions_chol, dtype=None):
        precisions = precisions_chol**2
        return precisions if dtype is None else cast_fitted(precisions, dtype)

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def log_det_cholesky(self, precisions_chol, n_features):
        # Sums of logarithms in d / 64 calls of log per row (_kernels.diag).
        chol = np.ascontiguousarray(precisions_chol, dtype=np.float64)
        log_det = np.empty(chol.shape[0])
        _diag_kernels.log_sums(chol, log_det)
        return log_det

    def component_covariances(self, covariances, n_components, n_features):
        return np.stack([np.diag(c) for c in covariances])

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        # (sxx - 2 sx delta + nk_raw delta^2) / nk + reg_covar in one sweep
        # (_kernels.diag), numpy's arithmetic.
        sxx, sx, delta, nk_raw, nk = (np.ascontiguousarray(a, dtype=np.float64)
                                      for a in (stats.sxx, stats.sx, delta, stats.nk, nk))
        out = np.empty(sx.shape)
        _diag_kernels.covariances(sxx, sx, delta, nk_raw, nk, float(reg_covar), out)
        return out

    def start_scatter(self, sxx, D, rD, k):
        sxx[k] += (rD * D).sum(axis=0)

    def data_covariance(self, variances, reg_covar):
        return variances + reg_covar

    def blas_pass(self, n_features, n_components=1):
        # GEMMs over the components pay from many of them ('spherical' runs
        # the same pass from thresholds of its own).
        min_components = _config.BLAS_DIAG_MIN_COMPONENTS
        if n_features >= _config.BLAS_DIAG_WIDE_FEATURES:
            min_components //= 2
        return (n_features >= _config.BLAS_DIAG_MIN_FEATURES
                and n_components >= min_components
                and n_components * n_features >= _config.BLAS_DIAG_MIN_WORK)

    def run_blas_pass(self, X, sample_weight, args, hard):
        return _blocked.em_pass_diag(X, sample_weight, *args, hard)

    def whiten(self, diff, precisions_chol, k):
        return diff * precisions_chol[k]

    def sample(self, rng, mean, covariance, n_samples):
        return mean + rng.standard_normal(size=(n_samples, mean.shape[0])) * np.sqrt(covariance)

    def state_scatter(self, weights, covariances, n_features):
        return weights[:, None] * covariances

    def stats_scatter(self, stats, means, safe_nk):
        return stats.sxx - stats.sx**2 / safe_nk[:, None]

    def combine_scatter(self, scatter, coef, delta):
        return scatter + coef[:, None] * delta**2

    def variational_covariance_prior(self, covariance, variances):
        return variances

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        dof = priors.degrees_of_freedom_prior + nk
        diff = xk - priors.mean_prior
        cov = priors.covariance_prior + nk[:, None] * (
            sk + (priors.mean_precision_prior / mean_precision)[:, None] * np.square(diff))
        return dof, cov / dof[:, None]


class Spherical(Diag):
    """'spherical': each component has a single variance.

    Its statistics, passes and online state are those of 'diag' (one
    variance per feature); its M-step averages them, and its factors are
    spread over the features for the kernels. Every use of its second
    moments (the M-step, the variational bound, 'EII') reads only their sum
    over the features: its BLAS pass, which gets those sums alone, returns
    them pooled (the sum divided by ``n_features``, in every feature).
    """

    name = "spherical"
    variational = True

    def blas_pass(self, n_features, n_components=1):
        work = n_components * n_features
        return ((n_features >= _config.BLAS_SPHERICAL_MIN_FEATURES
                 and (work >= _config.BLAS_SPHERICAL_MIN_WORK
                      or n_features >= _config.BLAS_SPHERICAL_WIDE_FEATURES))
                or (n_features >= _config.BLAS_SPHERICAL_LARGE_WORK_MIN_FEATURES
                    and work >= _config.BLAS_SPHERICAL_LARGE_WORK))

    def run_blas_pass(self, X, sample_weight, args, hard):
        # One precision per component: half the GEMMs of 'diag' (see there).
        return _blocked.em_pass_diag(X, sample_weight, *args, hard, spherical=True)

    def shape(self, n_components, n_features):
        return (n_components,)

    def scatter_shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def log_det_cholesky(self, precisions_chol, n_features):
        return n_features * np.log(precisions_chol)

    def component_covariances(self, covariances, n_components, n_features):
        return np.stack([np.eye(n_features) * c for c in covariances])

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        return super().covariances_from_stats(stats, means, delta, nk, reg_covar,
                                              nk_reg).mean(axis=1)

    def data_covariance(self, variances, reg_covar):
        return float((variances + reg_covar).mean())

    def pass_precisions(self, precisions_chol, n_features):
        # The 'diag' pass, with every feature of a component at its value.
        return np.repeat(np.asarray(precisions_chol, dtype=np.float64)[:, None],
                         n_features, axis=1)

    def score_arguments(self, params, dtype):
        weights, means, prec = super().score_arguments(params, dtype)
        # The 'diag' kernel reads a single column as every feature's value.
        return (weights, means, prec.reshape(-1, 1))

    def state_scatter(self, weights, covariances, n_features):
        return np.repeat((weights * covariances)[:, None], n_features, axis=1)

    def variational_covariance_prior(self, covariance, variances):
        return float(variances.mean())

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        dof = priors.degrees_of_freedom_prior + nk
        diff = xk - priors.mean_prior
        cov = priors.covariance_prior + nk * (
            sk + priors.mean_precision_prior / mean_precision * np.mean(np.square(diff), 1))
        return dof, cov / dof


# Elements of a batch of matrices checked at once when a model file is read.
_CHECK_BATCH_ELEMENTS = 2**19  # 4 MB per temporary

MODELS = {model.name: model for model in (Full(), Tied(), Diag(), Spherical())}
# scikit-learn's four names ('all' of select_model and of the command line).
SKLEARN_NAMES = tuple(MODELS)
# mclust's 14 models, in mclust's order ('VII', 'VVI', 'EEE' and 'VVV' are
# the objects of 'spherical', 'diag', 'tied' and 'full'; see _parsimonious).
MCLUST_NAMES = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
                "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
from ._parsimonious import mclust_models  # noqa: E402 (it subclasses the models above)

MODELS.update(mclust_models(MODELS))
COVARIANCE_TYPES = tuple(MODELS)


def variational_names():
    """The ``covariance_type`` values of ``BayesianGaussianMixture``: the
    models with a variational update (``variational``), by their own name
    (the mclust aliases of scikit-learn's four models are left out, as
    scikit-learn's estimator knows only these names)."""
    return tuple(name for name, model in MODELS.items()
                 if model.variational and model.name == name)


def get(covariance_type):
    """The model object of a ``covariance_type`` name (a model object is
    returned as it is)."""
    if isinstance(covariance_type, CovarianceModel):
        return covariance_type
    try:
        return MODELS[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown covariance_type {covariance_type!r}; expected one of "
            f"{', '.join(map(repr, COVARIANCE_TYPES))}."
        ) from None


def compute_precision_cholesky(covariances, covariance_type, float32_data=False):
    """Upper-triangular U with precision = U U^T, from covariances.

    Raises
    ------
    ValueError
        When a covariance is not positive definite, with scikit-learn's
        message (and its float32 hint when ``float32_data``).
    """
    prec_chol, failed = get(covariance_type).precision_cholesky(covariances)
    if failed.any():
        raise ValueError(ill_defined_message(float32_data))
    return prec_chol
