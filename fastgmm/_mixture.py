"""The base of the mixture estimators: what every mixture fitted by EM shares.

:class:`BaseMixture` owns the ``n_init`` / ``warm_start`` loop, convergence
and its ``ConvergenceWarning``, ``callback`` and ``verbose`` progress, the
one method that sets the fitted attributes (:meth:`BaseMixture._set_fitted`,
used by ``fit``, ``partial_fit`` and ``fastgmm.load``), model files, and the
per-row outputs and criteria (``score``, ``score_samples``, ``predict``,
``predict_proba``, ``sample``, ``bic``, ``aic``, ``icl``, ``fit_predict``).

A subclass supplies small hooks:

``_validate_own_params()``
    Checks its own hyper-parameters (those of ``__init__`` beyond the base's).
``_check_initial_parameters(n_features)``
    Validated ``*_init`` arrays, passed on to ``_initial_parameters``.
``_initial_parameters(X, sample_weight, random_state, init_arrays, *, events, next_start, variances)``
    One start, as :class:`~fastgmm._stats.Params` in float64 (``variances``:
    X's unweighted feature variances where the fit has them, or None).
``_iterate(X, sample_weight, params, *, lower_bound, events, stats_pass)``
    Its iterations from a start: ``(params, lower_bounds, n_iter, converged)``.
``_check_fitted_parameters(continuing=False)``
    Refuses fitted attributes that do not fit the estimator.
``_fitted_arrays(params, dtype)``
    The fitted arrays of ``params`` by attribute name.
``_n_parameters()``
    Its number of free parameters (for ``bic``, ``aic``, ``icl``).
``_current_parameters()`` (optional)
    The fitted parameters as the per-row kernels read them.
``_prepare_fit(X, sample_weight, dask_data)`` (optional)
    Called once per fit with the validated data (all of it, where the
    starts of a Dask X see a sample), before the starts.
``_spurious_events(params, variances)`` (optional)
    The spurious components of a start's result, as degenerate events
    (:mod:`fastgmm._spurious`); the ``n_init`` loop prefers starts without.
``_check_incomplete_fit()`` (optional)
    Refuses the estimator's options that a fit of data with NaN
    (``nan_policy='marginalize'``) does not have.

Per-row methods read their outputs from :mod:`fastgmm._rows`.
"""

import math
import numbers
import warnings
from time import perf_counter

import numpy as np

from . import _covariance, _em, _io, _missing, _rows, _threads
from ._base import _ParamsMixin
from ._blocked import blas_single_thread
from ._outofcore import float_dtype, is_dask_array
from ._covariance import COVARIANCE_TYPES
from ._memory import check_fit_memory
from ._spurious import checked_variances, feature_variances
from ._stats import Params
from ._validation import (
    check_array,
    check_feature_names,
    check_option,
    check_random_state,
    check_sample_weight,
    check_scalar,
    feature_names,
    validate_random_state,
)
from .exceptions import ConvergenceWarning, InvalidParameterError, compatible

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hc")

# The state's 'feature_names_in_' when the call leaves the attribute as it is.
_UNCHANGED = object()


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


class BaseMixture(_ParamsMixin):
    """Base class of the mixture estimators; see the module docstring for the hooks.

    Not used directly: a subclass's ``__init__`` takes every hyper-parameter
    (``get_params`` reads its signature), passes those below to this one and
    documents them all (see :class:`fastgmm.GaussianMixture`): n_components,
    covariance_type, tol, reg_covar, max_iter, n_init, init_params,
    random_state, warm_start, verbose, verbose_interval, n_threads, callback.
    """

    _estimator_type = "density_estimator"
    # Whether fit may multiply the sample weights by a power of two (exact;
    # see check_sample_weight): not for a model whose fit depends on their
    # scale (the variational mixture's priors weigh against them).
    _rescale_sample_weight = True
    # Whether _spurious_events looks for spurious maxima (the data's feature
    # variances, their scale, are then read once per fit).
    _finds_spurious = False

    def __init__(self, n_components, *, covariance_type, tol, reg_covar, max_iter, n_init,
                 init_params, random_state, warm_start, verbose, verbose_interval,
                 n_threads, callback):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.callback = callback

    # -- hooks --------------------------------------------------------------

    def _validate_own_params(self):
        """Check the subclass's own hyper-parameters (none here)."""

    def _check_initial_parameters(self, n_features):
        raise NotImplementedError

    def _initial_parameters(self, X, sample_weight, random_state, init_arrays, *,
                            events=None, next_start=None, variances=None):
        raise NotImplementedError

    def _prepare_fit(self, X, sample_weight, dask_data):
        """Called once per fit with the validated data, before the starts
        (``dask_data``: the ``_dask.DaskData`` of a Dask X, else None);
        the variational mixture computes its priors here."""

    def _iterate(self, X, sample_weight, params, *, lower_bound, events, stats_pass):
        raise NotImplementedError

    def _check_fitted_parameters(self, continuing=False):
        raise NotImplementedError

    def _fitted_arrays(self, params, dtype):
        raise NotImplementedError

    def _n_parameters(self):
        raise NotImplementedError

    def _check_fit_memory(self, n_samples, n_features, dtype, n_init):
        """Refuse a fit whose memory would not fit (see ``_memory``)."""
        check_fit_memory(n_samples, n_features, self.n_components, self.covariance_type,
                         dtype, n_init, self.init_params, self.n_threads)

    def _check_incomplete_fit(self):
        """Refuse options that a fit of data with NaN (nan_policy='marginalize')
        does not have (nothing here)."""

    def _spurious_events(self, params, variances):
        """Events of the spurious components of a start's result (none here);
        see :mod:`fastgmm._spurious`."""
        return []

    def _current_parameters(self):
        """The fitted parameters as the kernels take them (float64), once checked."""
        self._check_fitted_parameters()
        return Params(*(np.asarray(a, dtype=np.float64) for a in (
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)))

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
        self._validate_own_params()
        if not math.isfinite(self.reg_covar):
            raise InvalidParameterError(
                f"The 'reg_covar' parameter of {name} must be finite. Got "
                f"{self.reg_covar!r} instead."
            )
        validate_random_state(self.random_state, name)

    @classmethod
    def _checked_params(cls, params):
        """Every hyper-parameter, defaults filled in, of ``cls(**params)`` once validated.

        For model files (:func:`fastgmm._io.read_model_state`).
        """
        model = cls(**params)
        model._validate_params()
        return model.get_params(deep=False)

    @classmethod
    def _check_init_arrays(cls, params, n_features):
        """Check the ``*_init`` arrays of ``params`` as fit checks them (model files)."""
        cls(**params)._check_initial_parameters(n_features)

    def _nan_policy(self):
        """The estimator's ``nan_policy`` ('raise' for one without it)."""
        return getattr(self, "nan_policy", "raise")

    def _accepts_nan(self):
        """Whether the per-row methods take rows with NaN ('marginalize' only:
        a row cannot be omitted from them)."""
        return self._nan_policy() == "marginalize"

    def _check_X(self, X, *, reset, allow_nan=None, return_largest=False, largest=None):
        # NaN: fit takes them under 'marginalize' and 'omit', the per-row
        # outputs as _accepts_nan says. With return_largest (fit), also
        # max|X| where the check read it (see check_array; ``largest``, where
        # the fit read it already).
        if allow_nan is None:
            allow_nan = self._accepts_nan() or (reset and self._nan_policy() == "omit")
        if reset:
            return check_array(X, estimator_name=type(self).__name__, ensure_min_samples=2,
                               keep_mapped_dtype=True, allow_nan=allow_nan,
                               return_largest=return_largest, largest=largest)
        self._check_is_fitted("precisions_cholesky_")
        check_feature_names(X, getattr(self, "feature_names_in_", None),
                            type(self).__name__)
        return check_array(X, estimator_name=type(self).__name__,
                           n_features=self.n_features_in_, keep_mapped_dtype=True,
                           allow_nan=allow_nan)

    # -- the fitted state ---------------------------------------------------

    def _fitted_state(self, params, dtype, n_features, *, converged, n_iter, lower_bound,
                      lower_bounds, events):
        """The fitted attributes of ``params`` by name, for :meth:`_set_fitted`.

        ``lower_bounds`` is the final list (in ``dtype``). Raises as
        ``_fitted_arrays`` (values that do not fit in float32).
        """
        state = self._fitted_arrays(params, dtype)
        state.update(
            converged_=bool(converged),
            n_iter_=int(n_iter),
            lower_bound_=dtype.type(lower_bound),
            lower_bounds_=lower_bounds,
            n_features_in_=n_features,
            n_components_=int(params.means.shape[0]),
            degenerate_events_=events,
            _fitted_for=(self.covariance_type, self.n_components),
        )
        return state

    def _set_fitted(self, state):
        """Set the fitted attributes: the one place ``fit``, ``partial_fit`` and load set them.

        Parameters
        ----------
        state : dict
            Attribute names mapped to their values. ``feature_names_in_``
            set to None removes that attribute, absent leaves it as it is;
            ``n_parameters_`` is computed (:meth:`_n_parameters`).
        """
        state = dict(state)
        names = state.pop("feature_names_in_", _UNCHANGED)
        self.__dict__.update(state)
        self.n_parameters_ = self._n_parameters()
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        elif names is not _UNCHANGED:
            self.feature_names_in_ = names
        return self

    @classmethod
    def _from_state(cls, state):
        """A fitted estimator from a state (:func:`fastgmm._io.read_model_state`)."""
        state = dict(state)
        state.pop("estimator", None)
        return cls(**state.pop("params"))._set_fitted(state)

    @classmethod
    def _read_model_file(cls, path, classes=None):
        """``(model, info)`` from a model file; see :func:`fastgmm.load`.

        ``classes``: the estimator classes by name the file may hold
        (default: this one); the file's ``estimator`` entry chooses.
        """
        state, info = _io.read_model_state(path, classes or cls)
        return state["estimator"]._from_state(state), info

    def save(self, path):
        """Save the fitted model to a ``.npz`` file (no pickle; see :func:`fastgmm.load`).

        Parameters
        ----------
        path : str or path-like
            Where to write; the file is replaced atomically.
        """
        self._check_fitted_parameters()
        _io.write_model_state(path, _io.model_state(self))

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
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and predict the most probable component of each row of X.

        Equal to ``fit(X).predict(X)``: a final E-step follows the fit.
        Under ``nan_policy='omit'``, rows with a NaN (left out of the fit)
        are labelled -1.

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
        with _threads.thread_limit(self.n_threads):
            if self._nan_policy() == "omit" and _missing.has_nan(X):
                # The rows left out of the fit are labelled -1.
                keep = ~np.isnan(X).any(axis=1)
                labels = np.full(X.shape[0], -1, dtype=np.int64)
                labels[keep] = self._labels(np.ascontiguousarray(X[keep]))
                return labels
            return self._labels(X)

    def _fit(self, X, sample_weight, *, next_start=None, sweep_cache=None):
        """Fit; return X as the passes read it (under nan_policy='omit', X with
        its rows with NaN, as validated).

        ``next_start``, when given, is called for each start in place of
        drawing it (``select_model`` shares starts across covariance types;
        see ``_init.initial_parameters``). ``sweep_cache``, when given, is a
        dict shared by fits of the same X and sample_weight (``select_model``'s
        sweep): what depends on the data only (the feature variances of the
        spurious test) is computed by the first fit and reused by the others.
        """
        self._validate_params()
        # A warm start continues from the fitted parameters: X must have
        # their features (names included), and they must fit the estimator.
        warm = self.warm_start and hasattr(self, "converged_")
        if warm:
            check_feature_names(X, getattr(self, "feature_names_in_", None),
                                type(self).__name__)
        names = feature_names(X)
        dask_data = None
        missing = None  # nan_policy='marginalize' on data with NaN: _missing.MissingData
        checked = None  # (variances, max|X|) of the unweighted X, read with its check
        if is_dask_array(X):
            from ._dask import DaskData

            try:
                dask_data = DaskData(self, X, sample_weight)
            except ValueError as exc:
                if self._nan_policy() == "raise" or "contains NaN" not in str(exc):
                    raise
                # Grouping rows by pattern is a global shuffle of a Dask array.
                raise ValueError(
                    f"nan_policy={self._nan_policy()!r} is not available for Dask arrays "
                    "with NaN: fit a numpy array, or drop the rows with NaN "
                    "(X[~da.isnan(X).any(axis=1)])."
                ) from exc
            X = dask_data.X
        else:
            # An unweighted in-memory X: the spurious test's feature variances
            # and max|X| in one sweep, which checks its values too
            # (_spurious.checked_variances; None: checked as usual). Not
            # where NaN may be let through: their rows are found by reading
            # X again (_missing.has_nan), and such an X would pay this sweep
            # for nothing.
            if (self._finds_spurious and sample_weight is None
                    and self._nan_policy() == "raise"
                    and (sweep_cache is None or "feature_variances" not in sweep_cache)):
                checked = checked_variances(X)
            X, largest = self._check_X(X, reset=True, return_largest=True,
                                       largest=None if checked is None else checked[1])
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
        validated_X, omitted = X, False
        if dask_data is None:
            # NaN under 'omit': the rows without one are fitted; under
            # 'marginalize': every row, grouped by its pattern of NaN.
            incomplete = self._nan_policy() != "raise" and _missing.has_nan(X)
            if incomplete and self._nan_policy() == "omit":
                X, sample_weight = self._rows_without_nan(X, sample_weight)
                n_samples, incomplete, omitted = X.shape[0], False, True
            elif incomplete:
                self._check_incomplete_fit()
            if incomplete:
                largest = max(float(np.nanmax(X)), -float(np.nanmin(X)))
            # Otherwise max|X| as the finiteness check, or the column moments
            # that stood for it (checked_variances), read it (None: read here).
            X = _em.pass_data(X, _em.check_magnitude(X, largest))
            sample_weight = check_sample_weight(sample_weight, n_samples,
                                                rescale=self._rescale_sample_weight)
            if incomplete:
                missing = _missing.MissingData(X, sample_weight)
        else:
            _em.check_magnitude(X, dask_data.largest)
            sample_weight = dask_data.sample_weight
        # The fitted parameters keep the dtype of the data given (float32 data
        # beyond the float32 pass's range are passed as float64).
        dtype = float_dtype(validated_X)
        init_arrays = self._check_initial_parameters(n_features)
        self._prepare_fit(X, sample_weight, dask_data)
        do_init = not warm
        n_init = self.n_init if do_init else 1
        self._check_fit_memory(n_samples, n_features, dtype, n_init)
        random_state = check_random_state(self.random_state)
        start_X, start_weight = X, sample_weight
        if missing is not None:
            start_X, start_weight = missing.start_data(self.n_components)
        if (dask_data is not None and do_init
                and (not init_arrays or any(a is None for a in init_arrays))):
            # The start (init_params) from a sample of rows: see DaskData.start_sample
            # (an estimator without *_init arrays always draws its start).
            start_X, start_weight = dask_data.start_sample(random_state)

        # The data's feature variances, the scale of the spurious-maximum
        # test (see _spurious); from the start's sample for Dask data.
        if not self._finds_spurious or is_dask_array(start_X):
            variances = None
        elif checked is not None:
            # Read with the check of X (the same numbers feature_variances gives).
            variances = checked[0]
            if sweep_cache is not None:
                sweep_cache["feature_variances"] = variances
        elif sweep_cache is not None and missing is None and dask_data is None:
            # The same X and sample_weight in every fit of the sweep.
            if "feature_variances" not in sweep_cache:
                sweep_cache["feature_variances"] = feature_variances(start_X, start_weight)
            variances = sweep_cache["feature_variances"]
        else:
            variances = feature_variances(start_X, start_weight)
        # Unweighted, they are also the variances the 'kmeans' start's k-means
        # takes its tolerance from, which then does not read the rows again.
        start_variances = variances if start_weight.shape[0] == 0 else None

        # Nothing is set on self until every start has run: a fit that raises
        # (or is interrupted) leaves the estimator as it was. The best start
        # without a spurious component wins (best); when every start has one,
        # the best of those (best_spurious, its spurious components recorded
        # in its events).
        best = best_spurious = None
        # BLAS on one thread for the fit (the large-d passes and the M-step
        # spread components over the threads instead; see _blocked): results
        # then do not depend on n_threads, and OpenBLAS's threads took seconds
        # for millisecond factorisations on a loaded 2-core machine.
        with _threads.thread_limit(self.n_threads), blas_single_thread():
            for init in range(n_init):
                started = self._print_init_begin(init)
                events = []
                if do_init:
                    params = self._initial_parameters(start_X, start_weight, random_state,
                                                      init_arrays, events=events,
                                                      next_start=next_start,
                                                      variances=start_variances)
                    lower_bound = -np.inf
                else:
                    params = self._current_parameters()
                    lower_bound = float(self.lower_bound_)
                if self.max_iter == 0:
                    # scikit-learn keeps the last start when no iteration runs.
                    best = (lower_bound, params, [], 0, False, events)
                    continue
                params, result = _em.Handoff(params), None  # the run takes the start over
                stats_pass = (dask_data.stats_pass if dask_data is not None
                              else None if missing is None else missing.stats_pass)
                result = self._iterate(
                    X, sample_weight, params, lower_bound=lower_bound, events=events,
                    stats_pass=stats_pass,
                )
                final_lb = result[1][-1]
                self._print_init_end(final_lb, result[3], started)
                spurious = ([] if variances is None
                            else self._spurious_events(result[0], variances))
                for event in spurious:
                    events.append({"iteration": int(result[2]), **event})
                candidate = (final_lb,) + result + (events,)
                # One kept start at a time: a spurious one only while no
                # start without has been seen.
                if spurious:
                    if best is None and (best_spurious is None or final_lb > best_spurious[0]
                                         or best_spurious[0] == -np.inf):
                        best_spurious = candidate
                elif best is None or final_lb > best[0] or best[0] == -np.inf:
                    best, best_spurious = candidate, None

        if best is None:
            best = best_spurious
        lower_bound, params, lower_bounds, n_iter, converged, events = best
        state = self._fitted_state(
            params, dtype, n_features, converged=converged, n_iter=n_iter,
            lower_bound=lower_bound, lower_bounds=[dtype.type(lb) for lb in lower_bounds],
            events=events)
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                compatible(ConvergenceWarning),
            )
        state["feature_names_in_"] = names
        self._set_fitted(state)
        return validated_X if omitted else X

    def _rows_without_nan(self, X, sample_weight):
        """``(X, sample_weight)`` of the rows of X without NaN (nan_policy='omit'),
        with a warning that counts the others."""
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        keep = ~np.isnan(X).any(axis=1)
        n_dropped = int(X.shape[0] - keep.sum())
        warnings.warn(f"nan_policy='omit': {n_dropped} of {X.shape[0]} rows of X "
                      "have a NaN and were left out of the fit.", UserWarning)
        X = np.ascontiguousarray(X[keep])
        if X.shape[0] < max(2, self.n_components):
            raise ValueError(
                f"nan_policy='omit' leaves {X.shape[0]} rows without NaN, fewer "
                f"than n_components={self.n_components} (or 2); use "
                "nan_policy='marginalize' to keep the incomplete rows."
            )
        return X, (sample_weight[keep] if sample_weight.shape[0] else None)

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

    def _labels(self, X):
        """Most probable component per row; rows whose densities all underflow
        (far from every component) go to the nearest component."""
        return _rows.labels(X, self._current_parameters(), self.covariance_type,
                           self._accepts_nan())

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
        with _threads.thread_limit(self.n_threads):
            log_prob = _rows.log_prob(X, self._current_parameters(), self.covariance_type,
                                      self._accepts_nan())
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
        with _threads.thread_limit(self.n_threads):
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
        with _threads.thread_limit(self.n_threads):
            return _rows.posterior(X, params, self.covariance_type, self._accepts_nan())

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
        with _threads.thread_limit(self.n_threads):
            log_prob, log_resp = _rows.log_prob_and_log_resp(
                X, self._current_parameters(), self.covariance_type, self._accepts_nan())
        bic = (-2 * float(np.mean(log_prob)) * X.shape[0]
               + self._n_parameters() * math.log(X.shape[0]))
        return bic + 2 * _resp_entropy(log_resp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._accepts_nan()
        return tags
