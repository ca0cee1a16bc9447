"""The estimator: ``fastgmm.GaussianMixture``, a drop-in for scikit-learn's.

This module validates input, keeps the fitted attributes and documents the
API; the EM loop is in ``_em.py``, the M-step in ``_stats.py``, the starts in
``_init.py`` and the per-row work in ``_kernels/``.
"""

import math
import numbers
import warnings
from time import perf_counter

import numpy as np

from . import _config, _covariance, _em
from ._base import _ParamsMixin
from ._init import initial_parameters
from ._memory import check_fit_memory
from ._outofcore import float_dtype, is_dask_array, max_abs
from ._covariance import COVARIANCE_TYPES
from ._stats import Params, nk_regularization
from ._validation import (
    check_array,
    check_feature_names,
    check_option,
    check_random_state,
    check_sample_weight,
    check_scalar,
    feature_names,
    rescale_sample_weight,
)
from .exceptions import ConvergenceWarning, InvalidParameterError, compatible

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def _check_shape(param, param_shape, name):
    if param.shape != param_shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {param_shape}, "
            f"but got {param.shape}"
        )


def _as_float_array(value, name):
    try:
        arr = np.asarray(value)
    except Exception:
        raise ValueError(f"The parameter '{name}' could not be converted to an array.") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"The parameter '{name}' must be numeric, got dtype {arr.dtype}.")
    arr = arr.astype(arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
    return arr


def _check_weights_init(weights, n_components):
    weights = _as_float_array(weights, "weights")
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{np.max(weights):.5f}, min value {np.min(weights):.5f}"
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(float(np.abs(1.0 - np.sum(weights))), 0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{np.sum(weights):.5f}"
        )
    return weights


# The fitted arrays shaped as the covariances.
_COVARIANCE_ATTRS = ("precisions_cholesky_", "covariances_", "precisions_")


def _changed_after_fit(param, fitted, current):
    return ValueError(
        f"The fitted parameters are for {param}={fitted!r}, but the estimator's "
        f"{param} is now {current!r}: refit the model (fit, with warm_start=False), "
        f"or set {param} back to {fitted!r}."
    )


def _check_precisions_init(precisions, covariance_type, n_components, n_features):
    model = _covariance.get(covariance_type)
    precisions = _as_float_array(precisions, f"{model.name} precision")
    shape = model.shape(n_components, n_features)
    _check_shape(precisions, shape, f"{model.name} precision")
    model.check_precisions(precisions, n_components, n_features)
    return precisions


def _check_magnitude(X, largest=None):
    """Refuse data whose squared deviations overflow float64 in the passes.

    Sums of ``n_samples`` squared deviations of up to ``2 max|X|`` each (the
    scatter of EM, the inertia of k-means) must stay below the float64
    maximum. ``largest`` is ``max|X|`` where already known; otherwise it is
    read from X (in segments for a large or memory-mapped X).
    """
    largest = max_abs(X) if largest is None else largest
    if largest > 0 and (2 * math.log(2 * largest) + math.log(X.shape[0] * X.shape[1])
                        >= math.log(np.finfo(np.float64).max)):
        raise ValueError(
            f"X has values up to {largest:.3g} in absolute value: sums of squared "
            f"deviations over {X.shape[0]} rows and {X.shape[1]} features would "
            "overflow float64. Divide X by a constant (for instance its largest "
            "absolute value) or standardise it (sklearn.preprocessing.StandardScaler) "
            "before fitting."
        )
    return largest


def _pass_data(X, largest):
    """X as the EM passes read it.

    float32 data are scored and summed in float32 within a block; squared
    deviations of values beyond ``_config.FLOAT32_PASS_MAX_ABS`` could
    overflow those sums, so such data are passed as float64 (the fitted
    parameters stay float32).
    """
    if X.dtype == np.float32 and largest > _config.FLOAT32_PASS_MAX_ABS:
        return X.astype(np.float64)
    return X


def _stream_weights(sample_weight, n_samples, exponent):
    """The weights of a ``partial_fit`` batch, rescaled as those of its stream.

    Every batch of a stream is multiplied by the same power of two,
    ``2**exponent``, chosen at its first batch (``exponent=None``) as
    :func:`fastgmm._validation.rescale_sample_weight` chooses it for a fit;
    rows of a batch without weights then weigh ``2**exponent``. Returns the
    weights and the exponent.

    Raises
    ------
    ValueError
        When the rescaled weights of a later batch overflow.
    """
    if exponent is None:
        return rescale_sample_weight(sample_weight)
    if exponent == 0:
        return sample_weight, 0
    if sample_weight.shape[0] == 0:
        sample_weight = np.ones(n_samples)
    scaled = np.ldexp(sample_weight, exponent)
    if not np.isfinite(scaled.max()):
        raise ValueError(
            f"sample_weight of this batch (up to {float(sample_weight.max()):.3g}) is "
            "too large next to that of the stream's first batch: float64 cannot hold "
            "both at one scale. Give all batches weights of one scale."
        )
    return scaled, exponent


def _resp_entropy(log_resp, sample_weight=None):
    """Entropy ``-sum_i w_i sum_k r_ik log r_ik`` of responsibilities, in float64.

    From log responsibilities, where a zero responsibility is -inf and adds
    nothing (``0 log 0 = 0``).
    """
    log_resp = np.asarray(log_resp, dtype=np.float64)
    # A row too far from every component has undefined (NaN) responsibilities;
    # it is given wholly to its nearest component, so it adds no entropy.
    log_resp = np.where(np.isnan(log_resp), -np.inf, log_resp)
    resp = np.exp(log_resp)
    per_row = -(resp * np.where(resp > 0.0, log_resp, 0.0)).sum(axis=1)
    if sample_weight is None:
        return float(per_row.sum())
    return float(np.asarray(sample_weight, dtype=np.float64) @ per_row)


class GaussianMixture(_ParamsMixin):
    """Gaussian mixture fitted by EM with fused, parallel Numba passes.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the
    same parameters, defaults, attributes, methods, convergence rule and
    numbers. Each EM iteration reads the data once, computing the
    log-likelihood and the responsibility-weighted sufficient statistics
    in one pass without building the (n_samples, n_components)
    responsibility matrix. float32 data stay float32: each block of rows is
    scored, and its second moments summed, in float32; sums over blocks and
    the M-step are float64 (see :ref:`float32-or-float64`).

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own general covariance matrix;
        'tied': all components share one general covariance matrix;
        'diag': each component has its own diagonal covariance matrix;
        'spherical': each component has its own single variance.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per sample changes by less
        than this.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of starts; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the responsibilities of a start are chosen: the labels of a
        k-means fit, the k-means++ seeds, uniform random responsibilities,
        or random data points.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (override the start's).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means (override the start's).
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), of shape (n_components,)
        for 'spherical', (n_features, n_features) for 'tied',
        (n_components, n_features) for 'diag' and
        (n_components, n_features, n_features) for 'full'.
    random_state : int, RandomState instance or None, default=None
        Seeds the start (and :meth:`sample`).
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution and
        ``n_init`` is ignored after the first call.
    verbose : int, default=0
        0: silent; 1: prints each start and, every ``verbose_interval``
        iterations, the time per iteration and the change of the lower bound
        (scikit-learn's ``verbose=2`` lines); 2 adds the lower bound itself
        and each start's total time.
    verbose_interval : int, default=10
        Iterations between two printed messages.
    n_threads : int, default=None
        Threads the kernels use during each call (None: all cores); the
        previous setting is restored afterwards.
    callback : callable, default=None
        Called after every EM iteration as ``callback(n_iter, lower_bound)``;
        if it returns True, the current start stops there.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM (the C-step of Celeux &
        Govaert): each row is given wholly to its most probable component
        before the M-step. It maximises the classification log-likelihood
        ``sum_i max_k log(pi_k N(x_i | mu_k, Sigma_k))`` (reported as the
        lower bound, per sample) and converges in few iterations; with
        equal, fixed spherical variances and equal weights its steps are
        those of k-means.
    on_degenerate : {'raise', 'reseed', 'drop'}, default='raise'
        What to do when a component degenerates during a fit: its covariance
        stops being positive definite (Cholesky fails, a variance is not
        positive) or it becomes empty (its responsibilities sum to less than
        1e-10 of the total sample weight). 'raise' is scikit-learn's
        behaviour: a ValueError for a singular covariance, and an empty
        component is kept. 'reseed' restarts each such component at one of
        the worst-explained rows (lowest log-likelihood under the other
        components), with the covariance of the whole data plus
        ``reg_covar`` and weight ``1 / n_components`` before renormalising
        (for 'tied', only empty components can be restarted; the shared
        covariance is kept). 'drop' removes the component, so that
        ``n_components_`` ends lower than ``n_components``. Either way the
        event is recorded in ``degenerate_events_``; the lower bound may
        fall at the iteration after one, and convergence is not declared
        there.
    partial_fit_mode : {'exact', 'online'}, default='exact'
        What :meth:`partial_fit` does with a batch. 'exact' adds the batch's
        statistics to those of the epoch and runs the M-step only when
        called with ``end_epoch=True``: one EM iteration per pass over the
        batches, the iterations of :meth:`fit` on data that do not fit in
        memory or arrive in pieces, for streams that can be replayed.
        'online' is the online EM of Cappe & Moulines (2009), for a stream
        seen once: after every batch the running statistics become
        ``s_t = (1 - gamma_t) s_{t-1} + gamma_t sbar(batch)`` and the
        parameters their M-step.
    online_t0 : float, default=0.0
        Non-negative offset of the online step size
        ``gamma_t = (t + online_t0) ** -online_kappa`` at the t-th batch
        (t = 1, 2, ...); 0 makes the first batch's statistics replace the
        start's, larger values make the first steps smaller.
    online_kappa : float, default=0.6
        Decay of the online step size, in (0.5, 1]: smaller values forget
        older batches faster (and follow a drifting stream), 1 weighs every
        batch about equally (the running average).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Shape as ``precisions_init``.
    precisions_ : ndarray
        Inverses of the covariances; shape as ``precisions_init``.
    precisions_cholesky_ : ndarray
        Upper-triangular U with precision = U U^T (square roots for 'diag'
        and 'spherical'); shape as ``precisions_init``.
    converged_ : bool
    n_iter_ : int
        EM iterations of the best start.
    lower_bound_ : float
        Mean log-likelihood per sample of the best start at its last
        iteration (before that iteration's M-step).
    lower_bounds_ : list of float
        The lower bound at every iteration of the best start.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,), dtype object
        Column names of X in fit, when X was a DataFrame whose column names
        are all strings; absent otherwise. Every later X is checked against
        them, as scikit-learn does: reordered or renamed columns raise a
        ValueError, and a DataFrame where an array was fitted (or the other
        way round) warns. Saved in the model file.
    n_components_ : int
        Components of the fitted model: ``n_components``, less those dropped
        with ``on_degenerate='drop'``.
    degenerate_events_ : list of dict
        One dict per degenerate component met by the best start, with keys
        'iteration' (0: the start itself), 'component' (its index at that
        iteration), 'kind' ('singular' or 'empty') and 'action' ('reseed'
        or 'drop'); empty when none occurred.
    n_parameters_ : int
        Number of free parameters of the fitted model (weights, means and
        covariances), the ``p`` of :meth:`bic`, :meth:`aic` and :meth:`icl`.

    See Also
    --------
    sklearn.mixture.GaussianMixture : the reference implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(gm.means_[np.argsort(gm.means_[:, 0])], 6)
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]]).tolist() == gm.predict([[1, 1], [11, 3]]).tolist()
    True
    """

    _estimator_type = "density_estimator"

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        callback=None,
        assignment="soft",
        on_degenerate="raise",
        partial_fit_mode="exact",
        online_t0=0.0,
        online_kappa=0.6,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.callback = callback
        self.assignment = assignment
        self.on_degenerate = on_degenerate
        self.partial_fit_mode = partial_fit_mode
        self.online_t0 = online_t0
        self.online_kappa = online_kappa

    # -- validation ---------------------------------------------------------

    def _validate_params(self):
        name = type(self).__name__
        check_scalar(self.n_components, "n_components", name, "int", low=1)
        check_option(self.covariance_type, "covariance_type", name, COVARIANCE_TYPES)
        check_scalar(self.tol, "tol", name, "real", low=0.0)
        check_scalar(self.reg_covar, "reg_covar", name, "real", low=0.0)
        check_scalar(self.max_iter, "max_iter", name, "int", low=0)
        check_scalar(self.n_init, "n_init", name, "int", low=1)
        check_option(self.init_params, "init_params", name, INIT_PARAMS)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'warm_start' parameter of {name} must be an instance of 'bool'. "
                f"Got {self.warm_start!r} instead."
            )
        check_scalar(self.verbose, "verbose", name, "int", low=0)
        check_scalar(self.verbose_interval, "verbose_interval", name, "int", low=1)
        if self.n_threads is not None:
            check_scalar(self.n_threads, "n_threads", name, "int", low=1)
        if self.callback is not None and not callable(self.callback):
            raise InvalidParameterError(
                f"The 'callback' parameter of {name} must be a callable or None. "
                f"Got {self.callback!r} instead."
            )
        check_option(self.assignment, "assignment", name, ("soft", "hard"))
        check_option(self.on_degenerate, "on_degenerate", name, _em.ON_DEGENERATE)
        check_option(self.partial_fit_mode, "partial_fit_mode", name, ("exact", "online"))
        check_scalar(self.online_t0, "online_t0", name, "real", low=0.0)
        check_scalar(self.online_kappa, "online_kappa", name, "real", low=0.5, high=1.0,
                     low_closed=False)
        if not math.isfinite(self.reg_covar):
            raise InvalidParameterError(
                f"The 'reg_covar' parameter of {name} must be finite. Got "
                f"{self.reg_covar!r} instead."
            )
        check_random_state(self.random_state)

    def _check_initial_parameters(self, n_features):
        """Validated copies of the *_init arrays (None where not given)."""
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _check_weights_init(self.weights_init, self.n_components)
        if self.means_init is not None:
            means = _as_float_array(self.means_init, "means")
            _check_shape(means, (self.n_components, n_features), "means")
        if self.precisions_init is not None:
            precisions = _check_precisions_init(self.precisions_init, self.covariance_type,
                                                self.n_components, n_features)
        return weights, means, precisions

    def _check_X(self, X, *, reset):
        if reset:
            return check_array(X, estimator_name=type(self).__name__, ensure_min_samples=2,
                               keep_mapped_dtype=True)
        self._check_is_fitted("precisions_cholesky_")
        check_feature_names(X, getattr(self, "feature_names_in_", None),
                            type(self).__name__)
        return check_array(X, estimator_name=type(self).__name__,
                           n_features=self.n_features_in_, keep_mapped_dtype=True)

    def _check_fitted_parameters(self, continuing=False):
        """Check that the fitted parameters are those of this estimator, before any use.

        The kernels index the parameter arrays without bounds checks, so
        every path that hands the fitted parameters to a kernel (predictions,
        scores, a warm start, ``partial_fit``, ``sample``) comes through
        here first. The covariance type the model was fitted with must
        still be the estimator's (``set_params`` may have changed it; it
        says how the arrays are read), and every fitted array must have the
        shape ``covariance_type``, ``n_components_`` and ``n_features_in_``
        give it (attributes set by hand, or read from a damaged file, may
        not). A changed ``n_components`` matters only when the fit goes on
        (``continuing``: a warm start or ``partial_fit``); predictions use
        the fitted components, as scikit-learn's do.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            When the fitted parameters do not fit the estimator.
        """
        self._check_is_fitted("precisions_cholesky_")
        name = type(self).__name__
        check_option(self.covariance_type, "covariance_type", name, COVARIANCE_TYPES)
        # What fit recorded; absent for a model assembled from a file or by
        # hand, whose shapes alone are checked below.
        fitted_for = self.__dict__.get("_fitted_for")
        if fitted_for is not None:
            checked = ("covariance_type", "n_components") if continuing else ("covariance_type",)
            for param, fitted in zip(checked, fitted_for):
                if getattr(self, param) != fitted:
                    raise _changed_after_fit(param, fitted, getattr(self, param))
        n_features = self.n_features_in_
        means_shape = np.shape(self.means_)
        n_components = (means_shape[0] if len(means_shape) == 2
                        else getattr(self, "n_components_", self.n_components))
        if getattr(self, "n_components_", n_components) != n_components:
            raise ValueError(
                f"The fitted attribute 'n_components_' is {self.n_components_}, but the "
                f"fitted means_ hold {n_components} components: the fitted attributes "
                "are inconsistent. Refit the model."
            )
        if continuing and fitted_for is None and not (
                n_components == self.n_components
                or (n_components < self.n_components and self.on_degenerate == "drop")):
            # on_degenerate='drop' may leave fewer components than asked for.
            raise _changed_after_fit("n_components", n_components, self.n_components)
        cov_shape = _covariance.get(self.covariance_type).shape(n_components, n_features)
        expected = {"weights_": (n_components,), "means_": (n_components, n_features)}
        expected.update((a, cov_shape) for a in _COVARIANCE_ATTRS if a in self.__dict__)
        shapes = {a: np.shape(getattr(self, a)) for a in expected}
        if shapes == expected:
            return
        # Name the problem: arrays of another covariance type, or one array.
        cov_shapes = [shapes[a] for a in _COVARIANCE_ATTRS if a in shapes]
        for other in COVARIANCE_TYPES:
            shape = _covariance.get(other).shape(n_components, n_features)
            if other != self.covariance_type and all(s == shape for s in cov_shapes):
                raise _changed_after_fit("covariance_type", other, self.covariance_type)
        attr, shape = next((a, e) for a, e in expected.items() if shapes[a] != e)
        raise ValueError(
            f"The fitted attribute {attr!r} has shape {shapes[attr]}; a "
            f"{self.covariance_type!r} mixture of {n_components} components and "
            f"{n_features} features has {shape}: the fitted attributes are "
            "inconsistent (set by hand, or read from a damaged file). Refit the model."
        )

    def _set_feature_names(self, names):
        """``feature_names_in_`` from a fit: set, or removed for data without names."""
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)

    # -- fitting ------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters with the EM algorithm.

        Fits ``n_init`` times (once with ``warm_start`` after the first
        call) and keeps the start with the largest lower bound. Each start
        iterates until the lower bound changes by less than ``tol`` or
        ``max_iter`` is reached; a :class:`~fastgmm.exceptions.ConvergenceWarning`
        says when the best start did not converge.

        X is never copied whole. An ``np.memmap`` (data bigger than memory)
        is read in segments of rows, converted per segment where it is not
        float32/float64, and the pages of each segment are handed back to
        the operating system after it, so memory use does not grow with
        n_samples; the result agrees with the fit of the same array in memory
        to rounding (another compiled specialisation of the kernels). The 'kmeans' and 'k-means++' starts read all of X through
        k-means (an integer memmap is converted whole there): for data
        bigger than memory, give ``weights_init``, ``means_init`` and
        ``precisions_init``, for instance from a fit on a sample.

        A ``dask.array.Array`` is fitted where it lives: each EM iteration
        is one distributed pass (every row chunk's statistics computed by
        the fused kernel on the worker holding it, one kernel thread per
        task unless ``n_threads`` is set, summed by a tree in chunk order;
        the M-step on the client), on the active scheduler, a
        ``dask.distributed`` cluster included; X is never gathered. The
        start (``init_params``) is drawn from a uniform sample of
        ``min(n_samples, 100_000)`` rows taken with ``random_state`` (all
        rows, and the in-memory fit's start, when there are at most
        100,000). The result equals the in-memory fit from the same start
        to about 1e-13 relative in float64, whatever the chunking.
        ``on_degenerate='reseed'`` is not available for Dask data.

        Parameters
        ----------
        X : array-like, np.memmap or dask.array.Array of shape (n_samples, n_features)
            Data; float32 stays float32, other numbers become float64.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; a weight of 2 equals the row
            repeated twice. A Dask array, or a numpy array (then sent to the
            workers once), for Dask X.

        Returns
        -------
        self : GaussianMixture
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and predict the most probable component of each row of X.

        Equal to ``fit(X).predict(X)``: a final E-step follows the fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        X = self._fit(X, sample_weight)
        if is_dask_array(X):
            return self.predict(X)
        with _em.thread_limit(self.n_threads):
            return self._labels(X)

    def partial_fit(self, X, y=None, sample_weight=None, end_epoch=False):
        """Update the model with one batch of rows, for data that arrive in pieces.

        The first call (on an unfitted model) starts from its batch as
        :meth:`fit` would (``init_params`` and the ``*_init`` arrays); a
        model fitted before continues from its parameters. What follows
        depends on ``partial_fit_mode``:

        'exact'
            The batch's sufficient statistics, under the parameters of the
            last M-step, are added to those of the epoch; with
            ``end_epoch=True`` the M-step runs on the sum. One epoch (every
            batch once, the last with ``end_epoch=True``) is one EM
            iteration of :meth:`fit` on all the rows: the same numbers up to
            the order of the sums. ``n_iter_`` counts the epochs,
            ``lower_bound_`` is the mean log-likelihood of the last epoch
            (before its M-step) and ``converged_`` says whether it changed
            by less than ``tol``. Use it to fit data bigger than memory
            that cannot be memory-mapped, or that arrive in pieces you can
            read again; an array or ``np.memmap`` can simply be passed to
            :meth:`fit`, which streams it.
        'online'
            Online EM (Cappe & Moulines, 2009): the running statistics take
            a step ``gamma_t = (t + online_t0) ** -online_kappa`` towards
            the batch's, and the parameters are updated after every batch;
            ``end_epoch`` is ignored. Use it for a stream seen once, or one
            that drifts. ``n_iter_`` counts the batches, ``lower_bound_`` is
            the last batch's mean log-likelihood before its update, and
            ``converged_`` stays False (a stream has no convergence test).
            Batches of a few hundred rows or more, in random order, give
            steady estimates.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
            One batch (an ``np.memmap`` is streamed as in :meth:`fit`); the
            first needs at least ``n_components`` rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_batch,), default=None
            Non-negative weight of each row of the batch.
        end_epoch : bool, default=False
            'exact' mode: this batch is the last of an epoch; run the M-step.

        Returns
        -------
        self : GaussianMixture
        """
        from . import _streaming
        from ._stats import sum_stats

        self._validate_params()
        if is_dask_array(X):
            raise TypeError(
                "partial_fit takes in-memory (or memory-mapped) batches; fit a Dask "
                "array with fit, which runs each EM iteration as one distributed pass."
            )
        fitted = hasattr(self, "precisions_cholesky_")
        name = type(self).__name__
        if fitted:
            check_feature_names(X, getattr(self, "feature_names_in_", None), name)
        else:
            names = feature_names(X)
        X = check_array(X, estimator_name=name,
                        n_features=self.n_features_in_ if fitted else None,
                        keep_mapped_dtype=True)
        largest = _check_magnitude(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        dtype = float_dtype(X)
        X = _pass_data(X, largest)
        hard = self.assignment == "hard"
        if fitted:
            # Before the stream's parameters (or the fitted ones) reach a kernel.
            self._check_fitted_parameters(continuing=True)
        stream = self.__dict__.get("_stream") if fitted else None
        if stream is not None and (stream["means_"] is not self.means_
                                   or stream["mode"] != self.partial_fit_mode):
            stream = None  # a new stream: after fit, set_params or a change of mode
        sample_weight, weight_exp = _stream_weights(
            sample_weight, X.shape[0],
            None if stream is None else stream.get("weight_exponent", 0))
        # Everything is computed into locals and stored only at the end, so a
        # batch that raises leaves the estimator (and the stream) as it was.
        with _em.thread_limit(self.n_threads):
            start = None
            if not fitted:
                if X.shape[0] < self.n_components:
                    raise ValueError(
                        f"The first batch has {X.shape[0]} rows; partial_fit starts "
                        f"from it and needs at least n_components = "
                        f"{self.n_components}."
                    )
                start_events = []
                self._start_events = start_events
                try:
                    start_params = self._initial_parameters(
                        X, sample_weight, check_random_state(self.random_state),
                        self._check_initial_parameters(X.shape[1]))
                finally:
                    self.__dict__.pop("_start_events", None)
                start = (start_params, start_events)
            if stream is None:
                stream = {
                    "mode": self.partial_fit_mode, "means_": None,
                    "params": start[0] if start else self._current_parameters(),
                    "stats": None, "t": 0, "online": None,
                    "weight_exponent": weight_exp,
                }
            state = dict(stream)
            params = state["params"]
            stats = _em.em_pass(X, sample_weight, params, self.covariance_type, hard=hard)
            if not np.isfinite(stats.loglik):
                raise ValueError(
                    f"The log-likelihood of the batch is {stats.loglik}: the data are "
                    "too large or too spread out for the arithmetic. Scale X, pass "
                    "float64 data, or increase reg_covar."
                )
            events = list(start[1] if start else self.degenerate_events_)
            n_events = len(events)
            n_iter_before = 0 if start else self.n_iter_
            lower_bounds_before = [] if start else self.lower_bounds_
            update = None
            if self.partial_fit_mode == "exact":
                total = stats if state["stats"] is None else sum_stats(
                    [state["stats"], stats])
                if not end_epoch:
                    state["stats"] = total
                else:
                    n_iter = n_iter_before + 1
                    lower_bound = total.loglik / total.sum_weights
                    params = _em.m_step(
                        total, self.covariance_type, self.reg_covar,
                        nk_regularization(stats.sum_weights, X.shape[0]),
                        dtype == np.float32, on_degenerate=self.on_degenerate, X=X,
                        sample_weight=sample_weight, iteration=n_iter, events=events)
                    converged = (abs(lower_bound - lower_bounds_before[-1]) < self.tol
                                 if lower_bounds_before else False)
                    state["stats"] = None
                    update = (params, n_iter, lower_bound, converged)
            else:
                t = state["t"] + 1
                gamma = _streaming.step_size(t, self.online_t0, self.online_kappa)
                old = state["online"]
                if old is None:
                    old = _streaming.state_from_params(params, self.covariance_type)
                online = _streaming.combine(
                    old, _streaming.state_from_stats(stats, self.covariance_type), gamma,
                    self.covariance_type)
                n_iter = n_iter_before + 1
                lower_bound = stats.loglik / stats.sum_weights
                # The state is per unit of weight: the batch's mean weight is
                # 1 / n_batch in its units.
                params = _em.m_step(
                    _streaming.stats_of_state(online, self.covariance_type),
                    self.covariance_type, self.reg_covar,
                    nk_regularization(1.0, X.shape[0]), dtype == np.float32,
                    on_degenerate=self.on_degenerate, X=X, sample_weight=sample_weight,
                    iteration=n_iter, events=events)
                # After a repair the running statistics restart from the
                # repaired parameters.
                state["t"] = t
                state["online"] = online if len(events) == n_events else None
                update = (params, n_iter, lower_bound, False)
            # Nothing raised: store the start, the update and the stream.
            if start is not None:
                self._set_stream_state(start[0], dtype, X.shape[1], events=events)
                self._set_feature_names(names)
            else:
                self.degenerate_events_ = events
            if update is not None:
                params, n_iter, lower_bound, converged = update
                self._set_stream_state(params, dtype, X.shape[1], n_iter=n_iter,
                                       lower_bound=lower_bound, converged=converged)
                state["params"] = params
            state["means_"] = self.means_
            self._stream = state
        return self

    def _set_stream_state(self, params, dtype, n_features, *, events=None, n_iter=0,
                          lower_bound=None, converged=False):
        """The fitted attributes after a start or an update of partial_fit."""
        fitted = self._fitted_arrays(params, dtype)
        n_components = params.means.shape[0]
        self.__dict__.update(fitted)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        if lower_bound is None:
            self.lower_bound_ = dtype.type(-np.inf)
            self.lower_bounds_ = []
        else:
            self.lower_bound_ = dtype.type(lower_bound)
            self.lower_bounds_ = self.lower_bounds_ + [dtype.type(lower_bound)]
        self.n_features_in_ = n_features
        self.n_components_ = int(n_components)
        if events is not None:
            self.degenerate_events_ = events
        self.n_parameters_ = _covariance.get(self.covariance_type).n_parameters(
            n_components, n_features)
        self._fitted_for = (self.covariance_type, self.n_components)

    def _fit(self, X, sample_weight):
        self._validate_params()
        # A warm start continues from the fitted parameters: X must have
        # their features (names included), and they must fit the estimator.
        warm = self.warm_start and hasattr(self, "converged_")
        if warm:
            check_feature_names(X, getattr(self, "feature_names_in_", None),
                                type(self).__name__)
        names = feature_names(X)
        dask_data = None
        if is_dask_array(X):
            from ._dask import DaskData

            dask_data = DaskData(self, X, sample_weight)
            X = dask_data.X
        else:
            X = self._check_X(X, reset=True)
        n_samples, n_features = X.shape
        if warm:
            if n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
            self._check_fitted_parameters(continuing=True)
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {n_samples}"
            )
        dtype = float_dtype(X)
        if dask_data is None:
            X = _pass_data(X, _check_magnitude(X))
            sample_weight = check_sample_weight(sample_weight, n_samples, rescale=True)
        else:
            _check_magnitude(X, dask_data.largest)
            sample_weight = dask_data.sample_weight
        init_arrays = self._check_initial_parameters(n_features)
        do_init = not warm
        n_init = self.n_init if do_init else 1
        check_fit_memory(n_samples, n_features, self.n_components, self.covariance_type,
                         dtype, n_init, self.init_params, self.n_threads)
        random_state = check_random_state(self.random_state)
        start_X, start_weight = X, sample_weight
        if dask_data is not None and do_init and any(a is None for a in init_arrays):
            # The start (init_params) from a sample of rows: see DaskData.start_sample.
            start_X, start_weight = dask_data.start_sample(random_state)

        # Nothing is set on self until every start has run: a fit that raises
        # (or is interrupted) leaves the estimator as it was.
        best = None
        try:
            with _em.thread_limit(self.n_threads):
                for init in range(n_init):
                    started = self._print_init_begin(init)
                    events = []
                    if do_init:
                        self._start_events = events
                        params = self._initial_parameters(start_X, start_weight,
                                                          random_state, init_arrays)
                        lower_bound = -np.inf
                    else:
                        params = self._current_parameters()
                        lower_bound = float(self.lower_bound_)
                    if self.max_iter == 0:
                        # scikit-learn keeps the last start when no iteration runs.
                        best = (lower_bound, params, [], 0, False, events)
                        continue
                    params, result = _em.Handoff(params), None  # run_em takes the start over
                    result = _em.run_em(
                        X, sample_weight, params,
                        covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                        tol=self.tol, max_iter=self.max_iter, lower_bound=lower_bound,
                        on_iteration=self._on_iteration, hard=self.assignment == "hard",
                        on_degenerate=self.on_degenerate, events=events,
                        stats_pass=None if dask_data is None else dask_data.stats_pass,
                    )
                    final_lb = result[1][-1]
                    self._print_init_end(final_lb, result[3], started)
                    if best is None or final_lb > best[0] or best[0] == -np.inf:
                        best = (final_lb,) + result + (events,)
        finally:
            self.__dict__.pop("_start_events", None)

        lower_bound, params, lower_bounds, n_iter, converged, events = best
        fitted = self._fitted_arrays(params, dtype)
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                compatible(ConvergenceWarning),
            )
        n_components = params.means.shape[0]
        self.__dict__.update(fitted)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = dtype.type(lower_bound)
        self.lower_bounds_ = [dtype.type(lb) for lb in lower_bounds]
        self.n_features_in_ = n_features
        self.n_components_ = int(n_components)
        self.degenerate_events_ = events
        self.n_parameters_ = _covariance.get(self.covariance_type).n_parameters(
            n_components, n_features)
        self._fitted_for = (self.covariance_type, self.n_components)
        self._set_feature_names(names)
        return X

    def _initial_parameters(self, X, sample_weight, random_state, init_arrays):
        weights_init, means_init, precisions_init = init_arrays
        if weights_init is None or means_init is None or precisions_init is None:
            params = initial_parameters(
                X, sample_weight, n_components=self.n_components,
                covariance_type=self.covariance_type, init_params=self.init_params,
                reg_covar=self.reg_covar, random_state=random_state,
                on_degenerate=self.on_degenerate,
                events=getattr(self, "_start_events", None),
                # Set by select_model for one fit: starts shared across covariance types.
                next_start=getattr(self, "_next_start", None),
            )
            if params.means.shape[0] < self.n_components and any(
                    a is not None for a in init_arrays):
                raise ValueError(
                    "A component of the start was degenerate and dropped "
                    "(on_degenerate='drop'), so the start no longer matches "
                    "weights_init/means_init/precisions_init. Use "
                    "on_degenerate='reseed', or give all three."
                )
        else:
            params = Params(None, None, None, None)
        weights = params.weights if weights_init is None else weights_init.astype(np.float64)
        means = params.means if means_init is None else means_init.astype(np.float64)
        if precisions_init is None:
            covariances, precisions_chol = params.covariances, params.precisions_chol
        else:
            precisions = precisions_init.astype(np.float64)
            model = _covariance.get(self.covariance_type)
            precisions_chol = model.precision_cholesky_from_precisions(precisions)
            covariances = model.covariances_from_precisions(precisions)
        return Params(np.asarray(weights), np.asarray(means), covariances,
                      precisions_chol)

    def _current_parameters(self):
        """The fitted parameters as the kernels take them (float64), once checked."""
        self._check_fitted_parameters()
        return Params(*(np.asarray(a, dtype=np.float64) for a in (
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)))

    def _fitted_arrays(self, params, dtype):
        """The fitted arrays in ``dtype``, by attribute name.

        Raises
        ------
        ValueError
            When a value does not fit in float32 (float32 data only).
        """
        fitted = {
            "weights_": params.weights,
            "means_": params.means,
            "covariances_": np.asarray(params.covariances),
            "precisions_cholesky_": np.asarray(params.precisions_chol),
            "precisions_": _covariance.get(self.covariance_type).precisions_from_cholesky(
                np.asarray(params.precisions_chol, dtype=np.float64)),
        }
        with np.errstate(over="ignore"):
            fitted = {name: np.asarray(a, dtype=np.float64).astype(  # no copy of K x d x d
                dtype, order="C", copy=name in ("weights_", "means_"))
                for name, a in fitted.items()}
        for name, a in fitted.items():
            if not (np.isfinite(a.min()) and np.isfinite(a.max())):  # no K x d x d temporary
                largest = float(np.max(np.abs(np.asarray(params.covariances))))
                raise ValueError(
                    f"The fitted {name.rstrip('_')} do not fit in {np.dtype(dtype).name} "
                    f"(variances reach {largest:.3g}). Pass float64 data "
                    "(X.astype(np.float64)) or scale X."
                )
        return fitted

    # -- progress -----------------------------------------------------------

    def _print_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        return perf_counter()

    def _on_iteration(self, n_iter, lower_bound, change, seconds):
        if self.verbose >= 1 and n_iter % self.verbose_interval == 0:
            line = (f"  Iteration {n_iter}\t time lapse {seconds:.5f}s\t "
                    f"ll change {change:.5f}")
            if self.verbose >= 2:
                line += f"\t lower bound {lower_bound:.8f}"
            print(line)
        if self.callback is not None:
            return bool(self.callback(n_iter, lower_bound))
        return False

    def _print_init_end(self, lower_bound, converged, started):
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            t = perf_counter() - started
            print(f"Initialization {msg}. time lapse {t:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")

    # -- per-point outputs -------------------------------------------------------

    def _weighted_log_prob(self, X):
        return _em.weighted_log_prob(X, self._current_parameters(), self.covariance_type)

    def _labels(self, X):
        """Most probable component per row; rows whose densities all underflow
        (far from every component) go to the nearest component."""
        weighted_log_prob = self._weighted_log_prob(X)
        labels = weighted_log_prob.argmax(axis=1)
        lost = ~np.isfinite(weighted_log_prob[np.arange(X.shape[0]), labels])
        if lost.any():
            labels[lost] = _em.nearest_component(X[lost], self._current_parameters(),
                                                 self.covariance_type)
        return labels

    def score_samples(self, X):
        """Log-likelihood of each row of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            A lazy Dask array for a Dask X.
        """
        if is_dask_array(X):
            from ._dask import per_row

            return per_row(self, "score_samples", X)
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            log_prob = _em.responsibilities(X, self._current_parameters(),
                                            self.covariance_type)[0]
        # A row so far out that its squared distances overflow has density 0.
        log_prob[np.isnan(log_prob)] = -np.inf
        return log_prob

    def score(self, X, y=None):
        """Mean log-likelihood per row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """Most probable component of each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
            A lazy Dask array for a Dask X.
        """
        if is_dask_array(X):
            from ._dask import per_row

            return per_row(self, "predict", X)
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            return self._labels(X)

    def predict_proba(self, X):
        """Posterior probability of each component for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities; each row sums to 1. A lazy Dask array for a
            Dask X.
        """
        if is_dask_array(X):
            from ._dask import per_row

            return per_row(self, "predict_proba", X)
        X = self._check_X(X, reset=False)
        params = self._current_parameters()
        with _em.thread_limit(self.n_threads):
            log_prob, resp = _em.responsibilities(X, params, self.covariance_type)
        if not math.isfinite(log_prob.sum()):
            lost = ~np.isfinite(log_prob)
            # Densities underflow under every component (0/0): the limit of
            # the responsibilities far out is all on the nearest component.
            resp[lost] = 0.0
            resp[np.flatnonzero(lost),
                 _em.nearest_component(X[lost], params, self.covariance_type)] = 1.0
        return resp

    def sample(self, n_samples=1):
        """Draw random samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float64
        y : ndarray of shape (n_samples,), int64
            The component each sample was drawn from.
        """
        self._check_fitted_parameters()
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r} . The sampling requires "
                "at least one sample."
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        means = np.asarray(self.means_, dtype=np.float64)
        covs = np.asarray(self.covariances_, dtype=np.float64)
        model = _covariance.get(self.covariance_type)
        X = np.vstack([model.sample(rng, m, model.component(covs, k), s)
                       for k, (m, s) in enumerate(zip(means, counts))])
        y = np.concatenate([np.full(int(s), k, dtype=np.int64)
                            for k, s in enumerate(counts)])
        return X, y

    # -- model selection ----------------------------------------------------

    def _n_parameters(self):
        """Number of free parameters of the model."""
        return _covariance.get(self.covariance_type).n_parameters(*self.means_.shape)

    def bic(self, X):
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        X = self._check_X(X, reset=False)
        return (-2 * self.score(X) * X.shape[0]
                + self._n_parameters() * math.log(X.shape[0]))

    def aic(self, X):
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        X = self._check_X(X, reset=False)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    def icl(self, X):
        """Integrated completed likelihood criterion on X (lower is better).

        BIC plus twice the entropy of the responsibilities,
        ``bic(X) - 2 sum_i sum_k r_ik log r_ik`` (Biernacki, Celeux & Govaert,
        2000): it adds a penalty for rows shared between components, so it
        prefers well-separated clusters. ``icl(X) >= bic(X)``, equal when
        every row belongs wholly to one component.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        icl : float

        See Also
        --------
        fastgmm.select_model : choose n_components and covariance_type by ICL.
        """
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            log_prob, log_resp = _em.log_resp(X, self._current_parameters(),
                                              self.covariance_type)
        bic = (-2 * float(np.mean(log_prob)) * X.shape[0]
               + self._n_parameters() * math.log(X.shape[0]))
        return bic + 2 * _resp_entropy(log_resp)

    # -- model files --------------------------------------------------------

    def save(self, path):
        """Save the fitted model to a ``.npz`` file (no pickle; see :func:`fastgmm.load`).

        Parameters
        ----------
        path : str or path-like
            Where to write; the file is replaced atomically.
        """
        from ._io import save_model

        self._check_fitted_parameters()
        save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
