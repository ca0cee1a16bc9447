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

from . import _em
from ._base import _ParamsMixin
from ._init import initial_parameters
from ._stats import (
    COVARIANCE_TYPES,
    Params,
    n_parameters,
    precision_cholesky_from_precisions,
    precisions_from_cholesky,
)
from ._validation import (
    check_array,
    check_option,
    check_sample_weight,
    check_scalar,
)
from .exceptions import ConvergenceWarning, InvalidParameterError, compatible

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def check_random_state(seed):
    """A ``np.random.RandomState`` from None, an int or an instance (scikit-learn's rule)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise InvalidParameterError(
        "The 'random_state' parameter of GaussianMixture must be an int in the range "
        f"[0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None. "
        f"Got {seed!r} instead."
    )


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


def _check_precisions_init(precisions, covariance_type, n_components, n_features):
    precisions = _as_float_array(precisions, f"{covariance_type} precision")
    shape = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
    _check_shape(precisions, shape, f"{covariance_type} precision")
    if covariance_type in ("full", "tied"):
        mats = precisions.reshape((-1, n_features, n_features))
        for mat in mats:
            if not (np.allclose(mat, mat.T) and np.all(np.linalg.eigvalsh(mat) > 0.0)):
                raise ValueError(
                    f"'{covariance_type} precision' should be symmetric, positive-definite"
                )
    elif np.any(precisions <= 0.0):
        raise ValueError(f"'{covariance_type} precision' should be positive")
    return precisions


class GaussianMixture(_ParamsMixin):
    """Gaussian mixture fitted by EM with fused, parallel Numba passes.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the
    same parameters, defaults, attributes, methods, convergence rule and
    numbers. Each EM iteration reads the data once, computing the
    log-likelihood and the responsibility-weighted sufficient statistics
    in one pass without building the (n_samples, n_components)
    responsibility matrix. float32 data stay float32 (statistics are
    accumulated in float64).

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
            return check_array(X, estimator_name=type(self).__name__, ensure_min_samples=2)
        self._check_is_fitted("precisions_cholesky_")
        return check_array(X, estimator_name=type(self).__name__,
                           n_features=self.n_features_in_)

    # -- fitting ------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters with the EM algorithm.

        Fits ``n_init`` times (once with ``warm_start`` after the first
        call) and keeps the start with the largest lower bound. Each start
        iterates until the lower bound changes by less than ``tol`` or
        ``max_iter`` is reached; a :class:`~fastgmm.exceptions.ConvergenceWarning`
        says when the best start did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; float32 stays float32, other numbers become float64.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; a weight of 2 equals the row
            repeated twice.

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
        with _em.thread_limit(self.n_threads):
            return self._weighted_log_prob(X).argmax(axis=1)

    def _fit(self, X, sample_weight):
        self._validate_params()
        X = self._check_X(X, reset=True)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {n_samples}"
            )
        sample_weight = check_sample_weight(sample_weight, n_samples)
        init_arrays = self._check_initial_parameters(n_features)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)

        best = None
        with _em.thread_limit(self.n_threads):
            for init in range(n_init):
                self._print_init_begin(init)
                if do_init:
                    params = self._initial_parameters(X, sample_weight, random_state,
                                                      init_arrays)
                    lower_bound = -np.inf
                else:
                    params = self._current_parameters()
                    lower_bound = float(self.lower_bound_)
                if self.max_iter == 0:
                    # scikit-learn keeps the last start when no iteration runs.
                    best = (lower_bound, params, [], 0, False)
                    continue
                result = _em.run_em(
                    X, sample_weight, params,
                    covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                    tol=self.tol, max_iter=self.max_iter, lower_bound=lower_bound,
                    on_iteration=self._on_iteration, hard=self.assignment == "hard",
                )
                final_lb = result[1][-1]
                self._print_init_end(final_lb, result[3])
                if best is None or final_lb > best[0] or best[0] == -np.inf:
                    best = (final_lb,) + result

        lower_bound, params, lower_bounds, n_iter, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                compatible(ConvergenceWarning),
            )
        self._set_parameters(params, X.dtype)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = X.dtype.type(lower_bound)
        self.lower_bounds_ = [X.dtype.type(lb) for lb in lower_bounds]
        self.n_features_in_ = n_features
        return X

    def _initial_parameters(self, X, sample_weight, random_state, init_arrays):
        weights_init, means_init, precisions_init = init_arrays
        n_features = X.shape[1]
        if weights_init is None or means_init is None or precisions_init is None:
            params = initial_parameters(
                X, sample_weight, n_components=self.n_components,
                covariance_type=self.covariance_type, init_params=self.init_params,
                reg_covar=self.reg_covar, random_state=random_state,
            )
        else:
            params = Params(None, None, None, None)
        weights = params.weights if weights_init is None else weights_init.astype(np.float64)
        means = params.means if means_init is None else means_init.astype(np.float64)
        if precisions_init is None:
            covariances, precisions_chol = params.covariances, params.precisions_chol
        else:
            precisions = precisions_init.astype(np.float64)
            precisions_chol = precision_cholesky_from_precisions(precisions,
                                                                 self.covariance_type)
            if self.covariance_type in ("full", "tied"):
                covariances = np.linalg.inv(precisions)
            else:
                covariances = 1.0 / precisions
        return Params(np.asarray(weights), np.asarray(means), covariances,
                      precisions_chol)

    def _current_parameters(self):
        return Params(*(np.asarray(a, dtype=np.float64) for a in (
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)))

    def _set_parameters(self, params, dtype):
        self.weights_ = params.weights.astype(dtype)
        self.means_ = params.means.astype(dtype)
        self.covariances_ = np.asarray(params.covariances).astype(dtype)
        self.precisions_cholesky_ = np.asarray(params.precisions_chol).astype(dtype)
        self.precisions_ = precisions_from_cholesky(
            np.asarray(params.precisions_chol, dtype=np.float64), self.covariance_type
        ).astype(dtype)

    # -- progress -----------------------------------------------------------

    def _print_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        self._init_start_time = perf_counter()

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

    def _print_init_end(self, lower_bound, converged):
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            t = perf_counter() - self._init_start_time
            print(f"Initialization {msg}. time lapse {t:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")

    # -- per-point outputs -------------------------------------------------------

    def _weighted_log_prob(self, X):
        return _em.weighted_log_prob(X, self._current_parameters(), self.covariance_type)

    def score_samples(self, X):
        """Log-likelihood of each row of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            return _em.log_resp(X, self._current_parameters(), self.covariance_type)[0]

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
        """
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            return self._weighted_log_prob(X).argmax(axis=1)

    def predict_proba(self, X):
        """Posterior probability of each component for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities; each row sums to 1.
        """
        X = self._check_X(X, reset=False)
        with _em.thread_limit(self.n_threads):
            _, log_resp = _em.log_resp(X, self._current_parameters(), self.covariance_type)
        return np.exp(log_resp, out=log_resp)

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
        self._check_is_fitted("precisions_cholesky_")
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r} . The sampling requires "
                "at least one sample."
            )
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        means = np.asarray(self.means_, dtype=np.float64)
        covs = np.asarray(self.covariances_, dtype=np.float64)
        if self.covariance_type == "full":
            X = np.vstack([rng.multivariate_normal(m, c, int(s))
                           for m, c, s in zip(means, covs, counts)])
        elif self.covariance_type == "tied":
            X = np.vstack([rng.multivariate_normal(m, covs, int(s))
                           for m, s in zip(means, counts)])
        else:
            X = np.vstack([m + rng.standard_normal(size=(s, n_features)) * np.sqrt(c)
                           for m, c, s in zip(means, covs, counts)])
        y = np.concatenate([np.full(int(s), k, dtype=np.int64)
                            for k, s in enumerate(counts)])
        return X, y

    # -- model selection ----------------------------------------------------

    def _n_parameters(self):
        """Number of free parameters of the model."""
        return n_parameters(self.covariance_type, self.n_components, self.means_.shape[1])

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

    # -- model files --------------------------------------------------------

    def save(self, path):
        """Save the fitted model to a ``.npz`` file (no pickle; see :func:`fastgmm.load`).

        Parameters
        ----------
        path : str or path-like
            Where to write; the file is replaced atomically.
        """
        from ._io import save_model

        self._check_is_fitted("precisions_cholesky_")
        save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
