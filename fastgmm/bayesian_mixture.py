"""The estimator: ``fastgmm.BayesianGaussianMixture``, a drop-in for scikit-learn's.

A short subclass of the shared mixture base (``_mixture.BaseMixture``): it
validates its priors, and its hooks start and iterate through
``_variational_em`` (the fused pass of the Gaussian mixture does the
variational E-step) and ``_variational`` (the M-step, E-step constants and
lower bound, in numpy).
"""

import numbers

import numpy as np

from . import _covariance, _variational
from ._mixture import BaseMixture, _as_float_array, _check_shape
from ._outofcore import float_dtype, is_dask_array
from ._stats import _all_finite, cast_fitted
from ._validation import check_option, check_random_state
from ._variational import PRIOR_TYPES, Priors
from ._init import start_statistics
from ._variational_em import run_variational, variational_parameters
from .exceptions import InvalidParameterError


class _NotAvailable:
    """A method of the base that this estimator does not have (as scikit-learn's
    BayesianGaussianMixture has no ``bic``): ``hasattr`` is False."""

    def __init__(self, why):
        self.why = why

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise AttributeError(
            f"{owner.__name__} has no {self.name!r}: {self.why}")


_NO_CRITERIA = ("the variational fit's per-row scores are not likelihoods; fit a "
                "GaussianMixture (or use fastgmm.select_model) for information criteria")


def _check_none_or_positive(value, name, estimator_name, array_ok=False):
    if value is None or (array_ok and not isinstance(value, numbers.Real)
                         and not isinstance(value, (str, bool))
                         and np.ndim(value) > 0):
        return
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and not np.isnan(value) and value > 0)
    if not ok:
        what = "None, an array-like or a float" if array_ok else "None or a float"
        raise InvalidParameterError(
            f"The {name!r} parameter of {estimator_name} must be {what} in the range "
            f"(0.0, inf). Got {value!r} instead."
        )


def _prior_attributes(priors, dtype):
    """scikit-learn's ``*_prior_`` attributes of ``priors`` (arrays in ``dtype``)."""
    cov = priors.covariance_prior
    return {
        "weight_concentration_prior_": priors.weight_concentration_prior,
        "mean_precision_prior_": priors.mean_precision_prior,
        "mean_prior_": np.asarray(priors.mean_prior, dtype=np.float64).astype(dtype),
        "degrees_of_freedom_prior_": priors.degrees_of_freedom_prior,
        "covariance_prior_": (cov if np.ndim(cov) == 0
                              else np.asarray(cov, dtype=np.float64).astype(dtype)),
    }


class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian estimation of a Gaussian mixture, with fused, parallel passes.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`:
    the same parameters, defaults, attributes, methods, convergence rule and
    numbers from the same start. The posterior over the weights (a
    Dirichlet process, truncated at ``n_components``, or a Dirichlet
    distribution), the means and the precisions (Gaussian-Wishart) is
    approximated by a factorised distribution; a small
    ``weight_concentration_prior`` lets the fit give unneeded components
    weights near zero, so ``n_components`` is an upper bound. Each
    iteration reads the data once: the variational E-step is a Gaussian
    log-density with adjusted constants (see the user guide,
    :doc:`/user_guide/bayesian`), computed by the same fused kernel as
    :class:`GaussianMixture`, and the M-step and the lower bound come from
    its sufficient statistics.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components (an upper bound: the fit may use
        fewer).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        As :class:`GaussianMixture`'s.
    tol : float, default=1e-3
        The iterations stop when the lower bound (not per sample) changes
        by less than this.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of the statistics'
        covariances.
    max_iter : int, default=100
        The number of iterations to perform.
    n_init : int, default=1
        The number of starts; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}, default='kmeans'
        How the responsibilities of a start are chosen; 'hc' (not in
        scikit-learn) is :class:`GaussianMixture`'s mclust start: the groups
        of a model-based hierarchical clustering of at most
        ``_config.HC_MAX_SAMPLES`` (2000) rows, the variational M-step of
        those rows in their groups.
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
default='dirichlet_process'
        The prior on the weights: a Dirichlet process (stick-breaking,
        truncated at ``n_components``) or a Dirichlet distribution.
    weight_concentration_prior : float or None, default=None
        Positive concentration of the weight prior (gamma); smaller values
        put more weight on few components. None: ``1 / n_components``.
    mean_precision_prior : float or None, default=None
        Positive precision prior of the means (beta_0): how strongly the
        means are pulled to ``mean_prior``. None: 1.
    mean_prior : array-like of shape (n_features,), default=None
        Prior of the means (m_0). None: the (sample-weighted) mean of X.
    degrees_of_freedom_prior : float or None, default=None
        Degrees of freedom of the Wishart prior (nu_0), greater than
        ``n_features - 1``. None: ``n_features``.
    covariance_prior : float or array-like, default=None
        Prior of the covariances (of the Wishart's scale matrix): of shape
        (n_features, n_features) for 'full' and 'tied', (n_features,) for
        'diag', a float for 'spherical'. None: the (sample-weighted)
        covariance of X (``ddof=1``), its diagonal or its mean variance.
    random_state : int, RandomState instance or None, default=None
        Seeds the start (and :meth:`sample`).
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution and
        ``n_init`` is ignored after the first call.
    verbose : int, default=0
        As :class:`GaussianMixture`'s.
    verbose_interval : int, default=10
        Iterations between two printed messages.
    n_threads : int, default=None
        Threads the kernels use during each call (None: all cores); the
        result does not depend on it.
    callback : callable, default=None
        Called after every iteration as ``callback(n_iter, lower_bound)``;
        if it returns True, the current start stops there.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean of the weights.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means of the means (m_k).
    covariances_ : ndarray
        ``(nu_k W_k)^-1``, the inverse of the expected precision; shapes as
        :class:`GaussianMixture`'s.
    precisions_ : ndarray
        ``nu_k W_k``, the expected precision.
    precisions_cholesky_ : ndarray
        Upper-triangular factors of ``precisions_``.
    weight_concentration_ : tuple of two ndarrays or ndarray
        The Beta parameters of the sticks ('dirichlet_process'), or the
        Dirichlet concentration ('dirichlet_distribution').
    weight_concentration_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
        Posterior precisions of the means (beta_k).
    mean_precision_prior_ : float
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        Posterior degrees of freedom (nu_k; one for 'tied').
    degrees_of_freedom_prior_ : float
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The lower bound (of the model evidence, up to constants) of the
        best start at its last iteration.
    lower_bounds_ : list of float
        The lower bound at every iteration of the best start.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,), dtype object
        As :class:`GaussianMixture`'s.

    See Also
    --------
    GaussianMixture : the maximum-likelihood mixture.
    sklearn.mixture.BayesianGaussianMixture : the reference implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> np.round(bgm.means_[np.argsort(bgm.means_[:, 0])], 2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict([[0, 0], [9, 3]]).tolist() == bgm.predict([[1, 1], [10, 4]]).tolist()
    True
    """

    _rescale_sample_weight = False

    bic = _NotAvailable(_NO_CRITERIA)
    aic = _NotAvailable(_NO_CRITERIA)
    icl = _NotAvailable(_NO_CRITERIA)

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        callback=None,
    ):
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, n_threads=n_threads, callback=callback,
        )
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior

    def _fit(self, X, sample_weight, *, next_start=None):
        # The priors of this fit (from all of X, set by _prepare_fit) live
        # only while it runs.
        try:
            return super()._fit(X, sample_weight, next_start=next_start)
        finally:
            self.__dict__.pop("_fit_priors", None)

    # -- validation ---------------------------------------------------------

    def _validate_own_params(self):
        name = type(self).__name__
        check_option(self.covariance_type, "covariance_type", name,
                     _covariance.variational_names())
        check_option(self.weight_concentration_prior_type,
                     "weight_concentration_prior_type", name, PRIOR_TYPES)
        _check_none_or_positive(self.weight_concentration_prior,
                                "weight_concentration_prior", name)
        _check_none_or_positive(self.mean_precision_prior, "mean_precision_prior", name)
        _check_none_or_positive(self.degrees_of_freedom_prior, "degrees_of_freedom_prior",
                                name)
        _check_none_or_positive(self.covariance_prior, "covariance_prior", name,
                                array_ok=True)
        if self.mean_prior is not None and isinstance(self.mean_prior, (str, bool)):
            raise InvalidParameterError(
                f"The 'mean_prior' parameter of {name} must be None or an array-like. "
                f"Got {self.mean_prior!r} instead."
            )

    def _check_initial_parameters(self, n_features):
        """No ``*_init`` arrays; the priors are checked with the data (``_priors``)."""
        return ()

    def _priors(self, X, sample_weight, dask_data=None):
        """The priors of a fit on X, checked as scikit-learn checks them.

        The defaults need the data's moments: for a Dask X (``dask_data``,
        a ``_dask.DaskData``) from two distributed passes over all of it.
        """
        n_features = X.shape[1]
        model = _covariance.get(self.covariance_type)
        moments = None

        def data_moments():
            nonlocal moments
            if moments is None:
                moments = (dask_data.moments(model.matrix) if dask_data is not None else
                           _variational.data_moments(X, sample_weight, matrix=model.matrix))
            return moments

        weight_prior = (1.0 / self.n_components if self.weight_concentration_prior is None
                        else float(self.weight_concentration_prior))
        mean_precision_prior = (1.0 if self.mean_precision_prior is None
                                else float(self.mean_precision_prior))
        if self.mean_prior is None:
            mean_prior = data_moments()[0]
        else:
            mean_prior = _as_float_array(self.mean_prior, "mean_prior")
            _check_shape(mean_prior, (n_features,), "means")
            mean_prior = mean_prior.astype(np.float64)
        if self.degrees_of_freedom_prior is None:
            dof_prior = float(n_features)
        elif self.degrees_of_freedom_prior > n_features - 1.0:
            dof_prior = float(self.degrees_of_freedom_prior)
        else:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {self.degrees_of_freedom_prior:.3f}."
            )
        shape = _variational.prior_shape(model, n_features)
        what = f"{self.covariance_type} covariance_prior"
        if self.covariance_prior is None:
            _, cov, variances = data_moments()
            cov_prior = model.variational_covariance_prior(cov, variances)
        elif shape == ():
            cov_prior = float(self.covariance_prior)
        else:
            cov_prior = _as_float_array(self.covariance_prior, what).astype(np.float64)
            _check_shape(cov_prior, shape, what)
            if len(shape) == 2:
                if not (np.allclose(cov_prior, cov_prior.T)
                        and np.all(np.linalg.eigvalsh(cov_prior) > 0.0)):
                    raise ValueError(f"'{what}' should be symmetric, positive-definite")
            elif np.any(cov_prior <= 0.0):
                raise ValueError(f"'{what}' should be positive")
        return Priors(self.weight_concentration_prior_type, weight_prior,
                      mean_precision_prior, mean_prior, dof_prior, cov_prior)

    # -- hooks of BaseMixture -------------------------------------------------

    def _prepare_fit(self, X, sample_weight, dask_data):
        # The priors of all of X (the starts may see a sample of a Dask X).
        self._fit_priors = self._priors(X, sample_weight, dask_data)

    def _initial_parameters(self, X, sample_weight, random_state, init_arrays, *,
                            events=None, next_start=None, variances=None):
        priors = getattr(self, "_fit_priors", None)
        if priors is None:  # outside fit (scikit-learn's _initialize_parameters)
            priors = self._priors(X, sample_weight)
        stats, X_start, _ = start_statistics(
            X, sample_weight, n_components=self.n_components,
            covariance_type=self.covariance_type, init_params=self.init_params,
            random_state=random_state, next_start=next_start, variances=variances)
        return variational_parameters(stats, X_start.shape[0],
                                      covariance_type=self.covariance_type,
                                      reg_covar=self.reg_covar, priors=priors,
                                      float32_data=X.dtype == np.float32)

    def _iterate(self, X, sample_weight, params, *, lower_bound, events, stats_pass):
        start = params.take()
        # A warm start continues from the fitted parameters, with the priors
        # of this X (as scikit-learn recomputes them at every fit).
        priors = start.priors if start.priors is not None else self._fit_priors
        return run_variational(
            X, sample_weight, start._replace(priors=priors),
            covariance_type=self.covariance_type, reg_covar=self.reg_covar, tol=self.tol,
            max_iter=self.max_iter, priors=priors, lower_bound=lower_bound,
            on_iteration=self._on_iteration, stats_pass=stats_pass,
        )

    def _fitted_arrays(self, params, dtype):
        """The fitted attributes of ``params`` (and of their priors) in ``dtype``."""
        model = _covariance.get(self.covariance_type)

        def cast(a):
            return np.asarray(a, dtype=np.float64).astype(dtype, order="C")

        concentration = params.weight_concentration
        concentration = (tuple(cast(a) for a in concentration)
                         if isinstance(concentration, tuple) else cast(concentration))
        dof = params.degrees_of_freedom
        fitted = {
            "weight_concentration_": concentration,
            "mean_precision_": cast(params.mean_precision),
            "means_": cast(params.means),
            "degrees_of_freedom_": cast(dof) if np.ndim(dof) else dtype.type(dof),
            # The K x d x d arrays: no copy where they are already in dtype.
            "covariances_": cast_fitted(params.covariances, dtype),
            "precisions_cholesky_": cast_fitted(params.precisions_chol, dtype),
            # Straight into dtype (for float32, no float64 array of them all).
            "precisions_": model.precisions_from_cholesky(
                np.asarray(params.precisions_chol, dtype=np.float64), dtype=dtype),
            "weights_": cast(_variational.fitted_weights(params.weight_concentration)),
        }
        if params.priors is not None:
            fitted.update(_prior_attributes(params.priors, dtype))
        for name, a in fitted.items():
            a = np.concatenate(a) if isinstance(a, tuple) else np.asarray(a)
            if a.size and not _all_finite(a):
                raise ValueError(
                    f"The fitted {name.rstrip('_')} do not fit in {np.dtype(dtype).name}. "
                    "Pass float64 data (X.astype(np.float64)) or scale X."
                )
        return fitted

    def _current_parameters(self):
        """The fitted variational parameters, float64, as the passes and kernels read them."""
        self._check_fitted_parameters()
        concentration = self.weight_concentration_
        as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        concentration = (tuple(as64(a) for a in concentration)
                         if isinstance(concentration, tuple) else as64(concentration))
        dof = self.degrees_of_freedom_
        return _variational.with_pass_weights(
            concentration, as64(self.mean_precision_), as64(self.means_),
            as64(dof) if np.ndim(dof) else float(dof), as64(self.covariances_),
            as64(self.precisions_cholesky_), None, self.covariance_type)

    def _check_fitted_parameters(self, continuing=False):
        """Refuse fitted attributes that do not fit the estimator (before any use).

        Raises NotFittedError before ``fit``, and a ValueError when
        ``covariance_type`` (or, to continue the fit, ``n_components`` or
        ``weight_concentration_prior_type``) changed since, or an array has
        the wrong shape.
        """
        self._check_is_fitted("precisions_cholesky_")
        fitted_for = self.__dict__.get("_fitted_for")
        checked = ("covariance_type", "n_components") if continuing else ("covariance_type",)
        if fitted_for is not None:
            for param, fitted in zip(checked, fitted_for):
                if getattr(self, param) != fitted:
                    raise ValueError(
                        f"The fitted parameters are for {param}={fitted!r}, but the "
                        f"estimator's {param} is now {getattr(self, param)!r}: refit the "
                        f"model (fit, with warm_start=False), or set {param} back to "
                        f"{fitted!r}.")
        n_features = self.n_features_in_
        n_components = np.shape(self.means_)[0]
        concentration_dp = isinstance(self.weight_concentration_, tuple)
        if continuing and concentration_dp != (
                self.weight_concentration_prior_type == "dirichlet_process"):
            raise ValueError(
                "The fitted weight_concentration_ is not of the estimator's "
                f"weight_concentration_prior_type={self.weight_concentration_prior_type!r}:"
                " refit the model (fit, with warm_start=False).")
        model = _covariance.get(self.covariance_type)
        cov_shape = model.shape(n_components, n_features)
        expected = {"weights_": (n_components,), "means_": (n_components, n_features),
                    "covariances_": cov_shape, "precisions_cholesky_": cov_shape,
                    "mean_precision_": (n_components,),
                    "degrees_of_freedom_": () if model.shared else (n_components,)}
        for attr, shape in expected.items():
            if np.shape(getattr(self, attr)) != shape:
                raise ValueError(
                    f"The fitted attribute {attr!r} has shape {np.shape(getattr(self, attr))};"
                    f" a {self.covariance_type!r} mixture of {n_components} components and "
                    f"{n_features} features has {shape}: the fitted attributes are "
                    "inconsistent. Refit the model.")
        for part in (self.weight_concentration_ if concentration_dp
                     else (self.weight_concentration_,)):
            if np.shape(part) != (n_components,):
                raise ValueError("The fitted attribute 'weight_concentration_' has the wrong "
                                 "shape: the fitted attributes are inconsistent. Refit the "
                                 "model.")

    def _n_parameters(self):
        """Free parameters of the Gaussian mixture of the same shape."""
        return _covariance.get(self.covariance_type).n_parameters(*np.shape(self.means_))

    # -- model files (see fastgmm._io) ----------------------------------------

    _file_param_arrays = ("mean_prior", "covariance_prior")
    _file_entry_names = ("weight_concentration_", "mean_precision_", "degrees_of_freedom_",
                         "mean_prior_", "covariance_prior_", "weight_concentration_prior_",
                         "mean_precision_prior_", "degrees_of_freedom_prior_",
                         *_file_param_arrays)

    @classmethod
    def _file_entries(cls, params, n_components, n_features):
        """The model file's entries of this estimator: name -> (shape, required)."""
        model = _covariance.get(params["covariance_type"])
        prior = _variational.prior_shape(model, n_features)
        dp = params["weight_concentration_prior_type"] == "dirichlet_process"
        return {
            "weight_concentration_": ((2, n_components) if dp else (n_components,), True),
            "mean_precision_": ((n_components,), True),
            "degrees_of_freedom_": (() if model.shared else (n_components,), True),
            "mean_prior_": ((n_features,), True),
            "covariance_prior_": (prior, True),
            "weight_concentration_prior_": ((), True),
            "mean_precision_prior_": ((), True),
            "degrees_of_freedom_prior_": ((), True),
            "mean_prior": ((n_features,), False),
            "covariance_prior": (prior, False),
        }

    def _file_arrays(self):
        """This estimator's entries of its model file, by name."""
        concentration = self.weight_concentration_
        arrays = {name: getattr(self, name) for name in self._file_entry_names[1:8]}
        arrays["weight_concentration_"] = (np.stack(concentration)
                                           if isinstance(concentration, tuple)
                                           else concentration)
        return arrays

    @classmethod
    def _check_file_arrays(cls, arrays, params):
        """Refuse values fit could not have produced; return the attributes."""
        for name in ("weight_concentration_", "mean_precision_", "degrees_of_freedom_",
                     "weight_concentration_prior_", "mean_precision_prior_",
                     "degrees_of_freedom_prior_"):
            if np.any(arrays[name] <= 0):
                raise ValueError(f"entry {name!r} has values that are not positive")
        fitted = dict(arrays)
        if params["weight_concentration_prior_type"] == "dirichlet_process":
            fitted["weight_concentration_"] = tuple(arrays["weight_concentration_"])
        for name in ("degrees_of_freedom_", "covariance_prior_"):
            if np.ndim(arrays[name]) == 0:
                value = arrays[name][()]
                fitted[name] = value if name == "degrees_of_freedom_" else float(value)
        for name in ("weight_concentration_prior_", "mean_precision_prior_",
                     "degrees_of_freedom_prior_"):
            fitted[name] = float(arrays[name])
        return fitted

    # -- scikit-learn's private hooks -----------------------------------------

    def _check_parameters(self, X):
        """Set the ``*_prior_`` attributes for X, as scikit-learn's private method
        of this name does (its own tests call it)."""
        self._validate_params()
        X = self._check_X(X, reset=True)
        priors = self._priors(X, np.empty(0))
        self.__dict__.update(_prior_attributes(priors, float_dtype(X)))

    def _initialize_parameters(self, X, random_state):
        """Set the parameters of a start on X, as scikit-learn's private method of
        this name does (its own tests call it)."""
        self._validate_params()
        X = self._check_X(X, reset=True)
        params = self._initial_parameters(X, np.empty(0), check_random_state(random_state),
                                          ())
        self.__dict__.update(self._fitted_arrays(params, float_dtype(X)))

    # -- per-row outputs ---------------------------------------------------------

    def score_samples(self, X):
        """Log of the variational mixture's unnormalised density of each row of X.

        As scikit-learn's: ``log sum_k exp(E[log pi_k] + E[log N(x | mu_k,
        Lambda_k)])`` under the variational posterior (not a log-likelihood).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            A lazy Dask array for a Dask X.
        """
        log_prob = super().score_samples(X)
        if is_dask_array(X):
            return log_prob  # each block came through this method
        return log_prob + log_prob.dtype.type(self._current_parameters().log_norm)
