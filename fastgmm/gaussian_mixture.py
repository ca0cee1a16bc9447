"""The estimator: ``fastgmm.GaussianMixture``, a drop-in for scikit-learn's.

This module validates the Gaussian mixture's own input and documents the
API; what every mixture shares (the ``n_init`` / ``warm_start`` loop,
convergence, progress, the fitted state, predictions and criteria) is in
``_mixture.py``, the EM loop in ``_em.py``, ``partial_fit``'s update in
``_streaming.py``, the M-step in ``_stats.py``, the starts in ``_init.py``
and the per-row work in ``_kernels/``.
"""

import numpy as np

from . import _covariance, _em, _missing, _rows, _streaming, _threads
from ._init import initial_parameters
from ._mixture import BaseMixture, _as_float_array, _check_shape
from ._outofcore import float_dtype, is_dask_array
from ._covariance import COVARIANCE_TYPES
from ._spurious import spurious_components
from ._stats import Params, _all_finite
from ._validation import (
    check_array,
    check_feature_names,
    check_option,
    check_random_state,
    check_sample_weight,
    check_scalar,
    feature_names,
)

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
    _check_shape(precisions, model.shape(n_components, n_features), f"{model.name} precision")
    model.check_precisions(precisions, n_components, n_features)
    return precisions


class GaussianMixture(BaseMixture):
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
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust name, default='full'
        'full': each component has its own general covariance matrix;
        'tied': all components share one general covariance matrix;
        'diag': each component has its own diagonal covariance matrix;
        'spherical': each component has its own single variance.
        Also mclust's 14 models 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI',
        'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV' (volume,
        shape, orientation Equal, Variable or Identity; 'VII', 'VVI',
        'EEE', 'VVV' are 'spherical', 'diag', 'tied', 'full'): see the user
        guide's "mclust's 14 covariance models" for their array shapes.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per sample changes by less
        than this.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of starts; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}, default='kmeans'
        How the responsibilities of a start are chosen: the labels of a
        k-means fit, the k-means++ seeds, uniform random responsibilities,
        random data points, or 'hc', mclust's start: the groups of a
        model-based agglomerative hierarchical clustering (criterion VVV, on
        the scaled SVD of the data) of at most ``_config.HC_MAX_SAMPLES``
        (2000) rows, drawn with ``random_state`` when there are more; the
        start is the M-step of those rows in their groups (see
        :func:`fastgmm.hierarchical_tree`). Without a subset every start
        is the same.
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
    nan_policy : {'raise', 'marginalize', 'omit'}, default='raise'
        What to do with NaN in X (the name and the values 'raise' and
        'omit' are those of ``scipy.stats``). 'raise' is scikit-learn's
        behaviour: a ValueError. 'omit' fits the rows without NaN (a
        warning counts the others; :meth:`fit_predict` labels those -1);
        the per-row methods still raise on NaN. 'marginalize' treats NaN as
        values missing at random: a row is scored by the marginal density
        of its observed values, :meth:`fit` runs EM for incomplete data
        (the expected sufficient statistics, conditional covariances
        included), and ``predict``, ``predict_proba``, ``score_samples``,
        ``score``, ``bic``, ``aic`` and ``icl`` accept rows with NaN. Data
        without NaN give bit-identical results under every policy. A row
        with no observed value raises a ValueError. Not available for Dask
        arrays, nor with ``assignment='hard'`` or ``on_degenerate='reseed'``
        on data with NaN. See :meth:`impute` and the user guide, "Missing
        values".
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
        iteration), 'kind' ('singular', 'empty' or 'spurious') and 'action'
        ('reseed', 'drop', or 'kept' for a spurious component); empty when
        none occurred. A 'spurious' event (with a 'reason') marks a
        component of the final fit whose covariance collapsed onto the
        ``reg_covar`` floor: its smallest variance less ``reg_covar`` is at
        most ``_config.SPURIOUS_FRACTION`` (1e-8) times the data's smallest
        feature variance (rows sharing a value along some direction; see
        the user guide's "Spurious maxima"). With ``n_init > 1`` the best
        start without a spurious component is kept; only when every start
        has one is the best of them kept, with its events.
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
    _finds_spurious = True  # see _spurious_events

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
        nan_policy="raise",
        partial_fit_mode="exact",
        online_t0=0.0,
        online_kappa=0.6,
    ):
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, n_threads=n_threads, callback=callback,
        )
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.assignment = assignment
        self.on_degenerate = on_degenerate
        self.nan_policy = nan_policy
        self.partial_fit_mode = partial_fit_mode
        self.online_t0 = online_t0
        self.online_kappa = online_kappa

    # -- validation ---------------------------------------------------------

    def _validate_own_params(self):
        name = type(self).__name__
        check_option(self.assignment, "assignment", name, ("soft", "hard"))
        check_option(self.on_degenerate, "on_degenerate", name, _em.ON_DEGENERATE)
        check_option(self.nan_policy, "nan_policy", name, _missing.NAN_POLICIES)
        check_option(self.partial_fit_mode, "partial_fit_mode", name, ("exact", "online"))
        check_scalar(self.online_t0, "online_t0", name, "real", low=0.0)
        check_scalar(self.online_kappa, "online_kappa", name, "real", low=0.5, high=1.0,
                     low_closed=False)

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
        # Name the problem: arrays of another covariance type (of another
        # layout: several models share each), or one array.
        cov_shapes = [shapes[a] for a in _COVARIANCE_ATTRS if a in shapes]
        for other in COVARIANCE_TYPES:
            shape = _covariance.get(other).shape(n_components, n_features)
            if shape != cov_shape and all(s == shape for s in cov_shapes):
                raise _changed_after_fit("covariance_type", other, self.covariance_type)
        attr, shape = next((a, e) for a, e in expected.items() if shapes[a] != e)
        raise ValueError(
            f"The fitted attribute {attr!r} has shape {shapes[attr]}; a "
            f"{self.covariance_type!r} mixture of {n_components} components and "
            f"{n_features} features has {shape}: the fitted attributes are "
            "inconsistent (set by hand, or read from a damaged file). Refit the model."
        )

    # -- fitting ------------------------------------------------------------

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
        largest = _em.check_magnitude(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        dtype = float_dtype(X)
        X = _em.pass_data(X, largest)
        if fitted:
            # Before the stream's parameters (or the fitted ones) reach a kernel.
            self._check_fitted_parameters(continuing=True)
        stream = self.__dict__.get("_stream") if fitted else None
        if stream is not None and (stream.means is not self.means_
                                   or stream.mode != self.partial_fit_mode):
            stream = None  # a new stream: after fit, set_params or a change of mode
        sample_weight, weight_exp = _streaming.stream_weights(
            sample_weight, X.shape[0], None if stream is None else stream.weight_exponent)
        # Everything is computed into locals and stored only at the end, so a
        # batch that raises leaves the estimator (and the stream) as it was.
        with _threads.thread_limit(self.n_threads):
            start = None
            if not fitted:
                if X.shape[0] < self.n_components:
                    raise ValueError(
                        f"The first batch has {X.shape[0]} rows; partial_fit starts "
                        f"from it and needs at least n_components = "
                        f"{self.n_components}."
                    )
                start_events = []
                start_params = self._initial_parameters(
                    X, sample_weight, check_random_state(self.random_state),
                    self._check_initial_parameters(X.shape[1]), events=start_events)
                start = (start_params, start_events)
            if stream is None:
                stream = _streaming.Stream(
                    self.partial_fit_mode,
                    start[0] if start else self._current_parameters(),
                    weight_exponent=weight_exp)
            events = list(start[1] if start else self.degenerate_events_)
            lower_bounds = [] if start else self.lower_bounds_
            stream, update = _streaming.partial_fit_batch(
                stream, X, sample_weight, covariance_type=self.covariance_type,
                reg_covar=self.reg_covar, tol=self.tol, hard=self.assignment == "hard",
                on_degenerate=self.on_degenerate, float32_data=dtype == np.float32,
                online_t0=self.online_t0, online_kappa=self.online_kappa,
                end_epoch=end_epoch, n_iter=0 if start else self.n_iter_,
                lower_bounds=lower_bounds, events=events)
            states = []
            if start is not None:
                states.append(self._fitted_state(
                    start[0], dtype, X.shape[1], converged=False, n_iter=0,
                    lower_bound=-np.inf, lower_bounds=[], events=events))
                states[-1]["feature_names_in_"] = names
            if update is not None:
                states.append(self._fitted_state(
                    update.params, dtype, X.shape[1], converged=update.converged,
                    n_iter=update.n_iter, lower_bound=update.lower_bound,
                    lower_bounds=lower_bounds + [dtype.type(update.lower_bound)],
                    events=events))
            # Nothing raised: store the start, the update and the stream.
            self.degenerate_events_ = events
            for state in states:
                self._set_fitted(state)
            self._stream = stream._replace(means=self.means_)
        return self

    # -- hooks of BaseMixture: the start, the iterations, the fitted state ---

    def impute(self, X):
        """X with each NaN replaced by its conditional expectation under the mixture.

        A missing value ``x_m`` of a row with observed values ``x_o`` becomes
        ``sum_k p(k | x_o) E[x_m | x_o, k]``, with
        ``E[x_m | x_o, k] = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and
        ``p(k | x_o)`` from the marginal densities of the observed values
        (see the user guide, "Missing values"). Observed values are kept.
        Works whatever ``nan_policy`` the model was fitted with.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN where a value is missing; every row needs an observed value.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            In X's dtype (float64 for other dtypes); a copy.

        Raises
        ------
        ValueError
            For a row with no observed value, or infinity in X.
        """
        X = self._check_X(X, reset=False, allow_nan=True)
        with _threads.thread_limit(self.n_threads):
            return _rows.impute(X, self._current_parameters(), self.covariance_type)

    def _initial_parameters(self, X, sample_weight, random_state, init_arrays, *,
                            events=None, next_start=None, variances=None):
        weights_init, means_init, precisions_init = init_arrays
        if weights_init is None or means_init is None or precisions_init is None:
            params = initial_parameters(
                X, sample_weight, n_components=self.n_components,
                covariance_type=self.covariance_type, init_params=self.init_params,
                reg_covar=self.reg_covar, random_state=random_state,
                on_degenerate=self.on_degenerate, events=events, next_start=next_start,
                variances=variances,
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
            # The passes read the precision factors alone, and the first
            # M-step replaces the covariances: those of the start are
            # computed only where they are read (CovarianceModel.covariances_of:
            # the fitted arrays of a fit without iterations, partial_fit's
            # online state), not for every fit (an inverse per component:
            # as long as two M-steps' factorisations at large d). The
            # factors are float64, from precisions_init as it is (no float64
            # copy of a float32 start: each matrix is converted as it is
            # factorised).
            model = _covariance.get(self.covariance_type)
            precisions_chol = model.precision_cholesky_from_precisions(
                precisions_init, dtype=np.float64)
            covariances = None
        return Params(np.asarray(weights), np.asarray(means), covariances,
                      precisions_chol)

    def _check_incomplete_fit(self):
        if self.on_degenerate == "reseed":
            raise ValueError("on_degenerate='reseed' is not available with "
                             "nan_policy='marginalize' on data with NaN; use 'raise' "
                             "or 'drop'.")
        if self.assignment != "soft":
            raise ValueError("assignment='hard' is not available with "
                             "nan_policy='marginalize' on data with NaN.")

    def _spurious_events(self, params, variances):
        return spurious_components(params, self.covariance_type, self.reg_covar, variances)

    def _iterate(self, X, sample_weight, params, *, lower_bound, events, stats_pass):
        return _em.run_em(
            X, sample_weight, params,
            covariance_type=self.covariance_type, reg_covar=self.reg_covar,
            tol=self.tol, max_iter=self.max_iter, lower_bound=lower_bound,
            on_iteration=self._on_iteration, hard=self.assignment == "hard",
            on_degenerate=self.on_degenerate, events=events, stats_pass=stats_pass,
        )

    def _fitted_arrays(self, params, dtype):
        """The fitted arrays in ``dtype``, by attribute name.

        Raises
        ------
        ValueError
            When a value does not fit in float32 (float32 data only).
        """
        model = _covariance.get(self.covariance_type)
        precisions_chol = np.asarray(params.precisions_chol, dtype=np.float64)
        if params.covariances is None:
            # A start's covariances come from its float64 precisions.
            precisions = model.precisions_from_cholesky(precisions_chol)
            covariances = model.covariances_of(params, precisions)
        else:
            # Straight into dtype (for float32, no float64 array of them all).
            precisions = model.precisions_from_cholesky(precisions_chol, dtype=dtype)
            covariances = model.covariances_of(params)
        fitted = {
            "weights_": params.weights,
            "means_": params.means,
            "covariances_": covariances,
            "precisions_cholesky_": precisions_chol,
            "precisions_": precisions,
        }
        with np.errstate(over="ignore"):
            fitted = {name: np.asarray(a).astype(  # no copy of K x d x d
                dtype, order="C", copy=name in ("weights_", "means_"))
                for name, a in fitted.items()}
        for name, a in fitted.items():
            if not _all_finite(a):
                largest = float(np.max(np.abs(covariances)))
                raise ValueError(
                    f"The fitted {name.rstrip('_')} do not fit in {np.dtype(dtype).name} "
                    f"(variances reach {largest:.3g}). Pass float64 data "
                    "(X.astype(np.float64)) or scale X."
                )
        return fitted

    def _n_parameters(self):
        """Number of free parameters of the model."""
        return _covariance.get(self.covariance_type).n_parameters(*self.means_.shape)
