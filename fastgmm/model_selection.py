"""Model selection: the number of components and the covariance type by BIC, AIC or ICL.

:func:`select_model` fits one mixture per (n_components, covariance_type)
pair and keeps the one with the lowest criterion. It does less work than a
loop over :class:`~fastgmm.GaussianMixture` fits:

- X (and ``sample_weight``) are validated and converted once;
- the starts depend on ``n_components`` and the seed only, not on the
  covariance type, so each start (a k-means run, for the default
  ``init_params='kmeans'``) is computed once per ``n_components`` and shared:
  the i-th start of every covariance type is the same;
- the criteria come from one pass at the final parameters, which yields the
  log-likelihood and the responsibilities' entropy (for ICL) together;
- with ``init_params='hc'`` (mclust's start) one hierarchical tree serves
  every number of components and every covariance type.

A model whose every start ends in a spurious maximum (a component collapsed
onto ``reg_covar``, see :mod:`fastgmm._spurious`) has NaN criteria and
cannot be chosen, as mclust reports such models missing, unless
``keep_spurious=True``. :meth:`ModelSelection.table`,
:meth:`~ModelSelection.summary` and ``to_pandas(layout='wide')`` give the
models x K table of mclust's ``summary(mclustBIC)``, in either sign.

Each row is the model that ``GaussianMixture(n_components,
covariance_type=..., random_state=seed, n_init=n_init, **gm_params).fit(X)``
gives, with ``seed`` in the row's ``random_state`` field, or, with the
cross-model start (``cross_model_start``, on by default except for
``init_params='hc'``), a better optimum of the same model: at each K the
partition of the model with the best criterion is one more start of every
other model at K, kept where it ends at a higher log-likelihood (the row's
``note`` says so). With ``cross_model_start=False`` every row is that
separate fit.
"""

import math
import numbers
import time
import warnings

import numpy as np

from . import _config, _em, _threads
from ._kernels import score as _score
from ._hc import check_max_samples, draw_rows, hierarchical_tree
from ._init import initial_resp_chunks, kmeans_start
from . import _covariance
from ._covariance import COVARIANCE_TYPES, SKLEARN_NAMES
from ._validation import check_array, check_sample_weight
from .exceptions import FitFailedWarning, InvalidParameterError, compatible
from ._validation import check_random_state
from .gaussian_mixture import GaussianMixture

__all__ = ["select_model", "ModelSelection"]

CRITERIA = ("bic", "aic", "icl")

#: Fields of :attr:`ModelSelection.results_`, one row per fitted model.
RESULTS_DTYPE = np.dtype([
    ("n_components", np.int64),
    ("covariance_type", "U9"),
    ("bic", np.float64),
    ("aic", np.float64),
    ("icl", np.float64),
    ("log_likelihood", np.float64),
    ("n_parameters", np.int64),
    ("n_iter", np.int64),
    ("converged", np.bool_),
    ("fit_time", np.float64),
    ("random_state", np.int64),
    ("spurious", np.bool_),
    ("note", "U200"),
])

# GaussianMixture parameters that depend on n_components or covariance_type,
# and so cannot be shared by every row.
_PER_MODEL_PARAMS = ("weights_init", "means_init", "precisions_init", "warm_start")

# Rows per block of the scoring pass: bounds its (rows, n_components) buffer.
_SCORE_CHUNK = 1 << 16


class _SharedStarts:
    """The starts of one ``n_components``, shared by every covariance type.

    Start i is drawn from ``RandomState(seed)`` in the state that the first
    i starts of ``GaussianMixture(random_state=seed)`` leave it in, so a
    covariance type's i-th start is the one a separate fit would make.

    For 'hc' a start is a hierarchical tree, which serves every number of
    components: ``trees`` (shared by every ``_SharedStarts`` of a sweep)
    holds the trees built so far by the rows they were built on, so a tree
    is built once per subset of rows (once per sweep when X has at most
    ``hc_max_samples`` rows, or with an int ``random_state``).
    """

    def __init__(self, X, sample_weight, n_components, init_params, seed, trees=None,
                 hc_max_samples=None):
        self._X = X
        self._sample_weight = sample_weight
        self._n_components = n_components
        self._init_params = init_params
        self._random_state = np.random.RandomState(seed)
        self._starts = []
        self._state_after = []
        self._trees = {} if trees is None else trees
        self._hc_max_samples = hc_max_samples

    def _draw(self):
        if self._init_params == "hc":
            rows = draw_rows(self._X.shape[0], self._sample_weight, self._hc_max_samples,
                             self._random_state)
            key = rows.tobytes()
            if key not in self._trees:
                self._trees[key] = hierarchical_tree(self._X, rows=rows)
            return self._trees[key]
        if self._init_params == "kmeans":
            # The k-means fit a GaussianMixture start makes from this state.
            return kmeans_start(self._X, self._sample_weight, self._n_components,
                                self._random_state)
        return initial_resp_chunks(self._X, self._sample_weight, self._n_components,
                                   self._init_params, self._random_state)

    def start(self, i):
        """Start i: a fitted KMeans ('kmeans'), else responsibility chunks."""
        while len(self._starts) <= i:
            if self._state_after:
                self._random_state.set_state(self._state_after[-1])
            start = self._draw()
            if self._init_params == "random":
                # Its draws are made when the chunks are read: read them once
                # so that the state after this start is known.
                for _ in start():
                    pass
            self._starts.append(start)
            self._state_after.append(self._random_state.get_state())
        return self._starts[i]


class _Partition:
    """A partition given to a fit as its 'kmeans' start (the fitted KMeans
    it stands for is read for ``labels_`` and ``cluster_centers_`` only)."""

    def __init__(self, labels, centres):
        self.labels_ = np.asarray(labels)
        self.cluster_centers_ = np.asarray(centres)

    def start(self, i):
        """The partition, as every start (the interface of _SharedStarts)."""
        return self


def _fit_from_shared_starts(model, X, sample_weight, starts, sweep_cache=None):
    """``model.fit(X, sample_weight)``, its i-th start taken from ``starts``
    (and the data's feature variances from ``sweep_cache``, shared by the
    sweep's fits)."""
    n_started = [0]

    def next_start():
        n_started[0] += 1
        return starts.start(n_started[0] - 1)

    model._fit(X, sample_weight, next_start=next_start, sweep_cache=sweep_cache)
    return model


def _log_likelihood_and_entropy(model, X, sample_weight):
    """Total (sample-weighted) log-likelihood and responsibility entropy, one pass.

    Both at the model's final parameters, in float64, block by block so that
    no (n_samples, n_components) array is built whole; the log-sum-exp and
    the entropy are summed per block in one kernel
    (:func:`fastgmm._kernels.score.loglik_entropy`), the blocks in order.
    """
    params = model._current_parameters()
    chunk_size = _config.block_rows(None, _config.CHUNK_SIZE)
    weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
    log_likelihood = 0.0
    entropy = 0.0
    for start in range(0, X.shape[0], _SCORE_CHUNK):
        stop = min(start + _SCORE_CHUNK, X.shape[0])
        weighted = _em.weighted_log_prob(X[start:stop], params, model.covariance_type,
                                         chunk_size)
        n_blocks = -(-(stop - start) // chunk_size)
        loglik_part = np.empty(n_blocks)
        entropy_part = np.empty(n_blocks)
        kernel = _threads.pick_kernel(
            (_score.loglik_entropy, _score.loglik_entropy_serial), n_blocks)
        kernel(weighted, weight[start:stop] if weight.shape[0] else weight, chunk_size,
               loglik_part, entropy_part)
        log_likelihood += float(loglik_part.sum())
        entropy += float(entropy_part.sum())
    return log_likelihood, entropy


def _check_n_components(n_components, n_samples):
    if isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        values = list(n_components)
    except TypeError:
        raise InvalidParameterError(
            "n_components must be an int or an iterable of ints (e.g. range(1, 11)); "
            f"got {n_components!r}."
        ) from None
    if not values:
        raise ValueError("n_components is empty: give at least one number of components.")
    for k in values:
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise InvalidParameterError(
                f"n_components must hold positive ints; got {k!r}."
            )
    values = sorted({int(k) for k in values})
    if values[-1] > n_samples:
        raise ValueError(
            f"n_components={values[-1]} is more than the {n_samples} samples of X; "
            "every model needs n_samples >= n_components."
        )
    return values


def _sign_factor(sign):
    """+1 for fastgmm's sign of a criterion (lower is better), -1 for mclust's."""
    if sign not in ("fastgmm", "mclust"):
        raise InvalidParameterError(
            f"sign must be 'fastgmm' or 'mclust'; got {sign!r}.")
    return -1.0 if sign == "mclust" else 1.0


def _check_covariance_types(covariance_types):
    if isinstance(covariance_types, str):
        if covariance_types == "all":
            covariance_types = SKLEARN_NAMES
        elif covariance_types == "mclust":
            covariance_types = _covariance.MCLUST_NAMES
        else:
            covariance_types = [covariance_types]
    values = []
    for t in covariance_types:
        if not isinstance(t, str) or t not in COVARIANCE_TYPES:
            raise InvalidParameterError(
                f"covariance_types must hold values among {set(COVARIANCE_TYPES)} "
                f"(or be 'all' or 'mclust'); got {t!r}."
            )
        if t not in values:
            values.append(t)
    if not values:
        raise ValueError("covariance_types is empty: give at least one covariance type.")
    return tuple(values)


def _seeds(random_state, n_components):
    """One int seed per number of components."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return {k: int(random_state) for k in n_components}
    random_state = check_random_state(random_state)
    return {k: int(random_state.randint(np.iinfo(np.int32).max)) for k in n_components}


def select_model(X, n_components=range(1, 11),
                 covariance_types=("full", "tied", "diag", "spherical"), criterion="bic",
                 n_init=1, random_state=None, sample_weight=None, n_threads=None,
                 keep_spurious=False, hc_max_samples=None, cross_model_start=None,
                 **gm_params):
    """Choose the number of components and the covariance type by BIC, AIC or ICL.

    Fits a :class:`~fastgmm.GaussianMixture` for every pair of
    ``n_components`` and ``covariance_types`` and keeps the one with the
    lowest criterion. The starts are shared across covariance types (the
    i-th start of every type is the same k-means run), X is validated once,
    and each criterion costs one pass at the final parameters; the models
    are those that separate fits with the same seed give, or better optima
    of the same models from the cross-model start (``cross_model_start``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data; float32 stays float32, other numbers become float64.
    n_components : int or iterable of int, default=range(1, 11)
        The numbers of components to try.
    covariance_types : str or iterable of str, default=('full', 'tied', 'diag', 'spherical')
        The covariance types to try, any registered ones; ``'all'`` is
        every registered type, ``'mclust'`` mclust's 14 models in mclust's
        order ('EII' ... 'VVV'), once they are registered.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        What to minimise. BIC is ``-2 log L + p log n``, AIC is
        ``-2 log L + 2 p``, ICL (integrated completed likelihood, Biernacki,
        Celeux & Govaert 2000) is BIC plus twice the entropy of the
        responsibilities, ``-2 sum_i sum_k r_ik log r_ik``: it penalises
        overlapping components, and so prefers well-separated clusters to
        the best density. All three are computed for every row.
    n_init : int, default=1
        Starts per model; each model keeps its best start.
    random_state : int, RandomState instance or None, default=None
        An int seeds every model with that int, so a row is the model
        ``GaussianMixture(..., random_state=random_state)`` gives (the
        naive loop's); a RandomState or None draws one seed per number of
        components. Each row records its seed.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight of each row. The log-likelihood and the entropy
        are then weighted sums, and ``n`` in ``log n`` is the total weight,
        so a row of weight 2 counts as that row twice.
    n_threads : int, default=None
        Threads the kernels use (None: all cores).
    keep_spurious : bool, default=False
        A model whose every start ends in a spurious maximum (a component
        whose covariance collapsed onto ``reg_covar``; see
        :attr:`GaussianMixture.degenerate_events_`) gets NaN criteria, as
        mclust reports such a model as missing, and cannot be chosen; its
        row says why (``spurious``, ``note``). True keeps its criteria (the
        row is still marked).
    hc_max_samples : int, default=None
        With ``init_params='hc'``: the rows the hierarchical clustering is
        built on, at most (None: ``_config.HC_MAX_SAMPLES``, 2000; a subset
        drawn with the row's seed beyond). One tree serves every number of
        components and every covariance type: it is built once per subset
        of rows, so once per sweep when X has at most that many rows or
        ``random_state`` is an int.
    cross_model_start : bool or None, default=None
        After the models of one K are fitted from the shared starts, the
        partition (MAP labels on X) of the one with the best criterion at
        that K is one more start (one EM run) of every other model at K; a
        model keeps it where it ends at a higher log-likelihood without a
        spurious component (its row's ``note`` then reads ``"cross-model
        start: <model>'s partition"``, ``fit_time`` includes both), so no
        row's log-likelihood is lower than without it. It costs one more
        fit per model and K > 1. Why: a model's k-means starts may all miss
        the optimum another model's fit leads to (on mclust's ``diabetes``,
        none of five k-means starts of VVV, 3 reaches mclust's best, but the
        partition of the best model at K = 3 does); mclust starts every
        model from one partition for the same reason. None: True, except
        for ``init_params='hc'`` (every model already starts from the same
        cut of the tree, as mclust's). Deterministic for an int
        ``random_state``.
    **gm_params
        Other :class:`~fastgmm.GaussianMixture` parameters, the same for
        every model (``tol``, ``max_iter``, ``reg_covar``, ``init_params``,
        ``assignment``, ...). ``weights_init``, ``means_init``,
        ``precisions_init`` and ``warm_start`` are refused: they depend on
        the model.

    Returns
    -------
    ModelSelection
        The table of every model's criteria (``results_``), the chosen model
        (``best_``, fitted) and its parameters (``best_params_``).

    Warns
    -----
    FitFailedWarning
        For each model whose fit failed (an ill-defined covariance, say): its
        row holds NaN criteria and ``converged=False``, and the sweep goes on.
    ConvergenceWarning
        For each model whose best start reached ``max_iter`` (its row has
        ``converged=False``).

    Raises
    ------
    ValueError
        When every model failed, or for invalid arguments.

    See Also
    --------
    GaussianMixture.bic, GaussianMixture.aic, GaussianMixture.icl

    Notes
    -----
    The criteria are those of :meth:`GaussianMixture.bic`,
    :meth:`~GaussianMixture.aic` and :meth:`~GaussianMixture.icl` on X (to
    rounding), from the log-likelihood at the final parameters, not the
    ``lower_bound_`` (which is taken before the last M-step). R's mclust
    reports BIC with the opposite sign, ``2 log L - p log n``, higher being
    better.

    Examples
    --------
    >>> from fastgmm import select_model
    >>> from fastgmm.datasets import load_old_faithful
    >>> X = load_old_faithful()
    >>> selection = select_model(X, n_components=range(1, 10), n_init=10, random_state=0)
    >>> selection.best_params_
    {'n_components': 3, 'covariance_type': 'tied'}
    >>> print(selection)  # doctest: +ELLIPSIS
    Model selection by BIC (lower is better): 272 samples, 2 features
      K       full       tied       diag  spherical
      1   2607.623   2607.623   3055.835   4024.721
      2   2322.192   2325.220   2346.065   3458.299
      3   2334.897   2315.645*  2332.527   3336.582
    ...
    Top 3 by BIC: tied K=3 (2315.645), full K=2 (2322.192), tied K=4 (2324.212)
    * best
    """
    X = check_array(X, estimator_name="select_model", ensure_min_samples=2)
    n_samples = X.shape[0]
    sample_weight = check_sample_weight(sample_weight, n_samples)
    n_components = _check_n_components(n_components, n_samples)
    covariance_types = _check_covariance_types(covariance_types)
    if criterion not in CRITERIA:
        raise InvalidParameterError(
            f"criterion must be one of {CRITERIA}; got {criterion!r}."
        )
    if "covariance_type" in gm_params:
        raise TypeError("select_model takes covariance_types (one or several), "
                        "not covariance_type.")
    refused = [name for name in _PER_MODEL_PARAMS if name in gm_params]
    if refused:
        raise InvalidParameterError(
            f"select_model does not take {', '.join(refused)}: they depend on the model "
            "(its number of components or covariance type). Fit that model with "
            "GaussianMixture instead."
        )
    try:
        # Invalid parameters raise here, once, rather than as failed rows.
        GaussianMixture(n_components=1, n_init=n_init, n_threads=n_threads,
                        **gm_params)._validate_params()
    except TypeError as exc:
        if isinstance(exc, InvalidParameterError):
            raise
        raise TypeError(f"select_model got an unknown GaussianMixture parameter ({exc})") from None
    init_params = gm_params.get("init_params", "kmeans")
    if not isinstance(keep_spurious, (bool, np.bool_)):
        raise InvalidParameterError(
            f"keep_spurious must be a bool; got {keep_spurious!r}.")
    hc_max_samples = check_max_samples(hc_max_samples)
    trees = {}
    sweep_cache = {}
    seeds = _seeds(random_state, n_components)
    fit_weight = sample_weight if sample_weight.shape[0] else None
    n_effective = float(sample_weight.sum()) if sample_weight.shape[0] else float(n_samples)

    if cross_model_start is None:
        cross_model_start = init_params != "hc"
    elif not isinstance(cross_model_start, (bool, np.bool_)):
        raise InvalidParameterError(
            f"cross_model_start must be a bool or None; got {cross_model_start!r}.")

    def fit_cell(k, covariance_type, starts, n_init_cell, init=None):
        """``(row, model)`` of one model; ``model`` None when the fit failed."""
        params = dict(gm_params)
        if init is not None:
            params["init_params"] = init
        model = GaussianMixture(n_components=k, covariance_type=covariance_type,
                                n_init=n_init_cell, random_state=seeds[k],
                                n_threads=n_threads, **params)
        p = _covariance.get(covariance_type).n_parameters(k, X.shape[1])
        tick = time.perf_counter()
        try:
            _fit_from_shared_starts(model, X, fit_weight, starts, sweep_cache)
            with _threads.thread_limit(n_threads):
                log_likelihood, entropy = _log_likelihood_and_entropy(
                    model, X, sample_weight)
        except ValueError as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            return (k, covariance_type, np.nan, np.nan, np.nan, np.nan, p, 0, False,
                    time.perf_counter() - tick, seeds[k], False, f"failed: {exc}"[:200]), \
                None
        fit_time = time.perf_counter() - tick
        # The fitted count: on_degenerate='drop' can leave fewer components.
        p = int(model.n_parameters_)
        bic = -2.0 * log_likelihood + p * math.log(n_effective)
        aic = -2.0 * log_likelihood + 2.0 * p
        icl = bic + 2.0 * entropy
        spurious = [e for e in model.degenerate_events_ if e.get("kind") == "spurious"]
        note = ""
        if spurious:
            note = (f"spurious maximum in every start: component(s) "
                    f"{', '.join(str(e['component']) for e in spurious)} collapsed "
                    "onto reg_covar")
            if not keep_spurious:
                bic = aic = icl = np.nan
        return (k, covariance_type, bic, aic, icl, log_likelihood, p, model.n_iter_,
                model.converged_, fit_time, seeds[k], bool(spurious), note), model

    def failed_warning(k, covariance_type, note):
        warnings.warn(
            f"select_model: the fit with n_components={k}, "
            f"covariance_type={covariance_type!r} failed, so its criteria are "
            f"NaN: {note[len('failed: '):]}",
            compatible(FitFailedWarning), stacklevel=3,
        )

    results = np.zeros(len(n_components) * len(covariance_types), dtype=RESULTS_DTYPE)
    # Only the best model so far is kept (the first of equal criteria, as
    # np.nanargmin picks), and, with the cross-model start, the best model of
    # the current K: a sweep holds three fitted models at most, not all.
    best_model = best_value = None

    def keep_if_best(model, value):
        nonlocal best_model, best_value
        if best_model is None or value < best_value or np.isnan(best_value):
            best_model, best_value = model, value

    row = 0
    for k in n_components:
        starts = _SharedStarts(X, sample_weight, k, init_params, seeds[k], trees=trees,
                               hc_max_samples=hc_max_samples)
        first_row = row
        best_at_k = None
        for covariance_type in covariance_types:
            results[row], model = fit_cell(k, covariance_type, starts, n_init)
            if model is None:
                failed_warning(k, covariance_type, str(results["note"][row]))
            else:
                keep_if_best(model, results[criterion][row])
            value = results[criterion][row]
            # (A model that dropped a component, on_degenerate='drop', has
            # no partition into k groups to give.)
            if (model is not None and cross_model_start and k > 1 and np.isfinite(value)
                    and model.means_.shape[0] == k
                    and (best_at_k is None or value < best_at_k[0])):
                best_at_k = (value, model, row)
            model = None
            row += 1
        if best_at_k is not None:
            # One more start for every other model at this K: the partition
            # (MAP labels) of the model with the best criterion at this K, kept
            # where it ends at a higher log-likelihood (see the Notes).
            _, source, source_row = best_at_k
            source_name = str(results["covariance_type"][source_row])
            with _threads.thread_limit(n_threads):
                partition = _Partition(source._labels(X), source.means_)
            best_at_k = source = None
            for r in range(first_row, row):
                if r == source_row:
                    continue
                covariance_type = str(results["covariance_type"][r])
                old = results[r]
                cross_row, cross_model = fit_cell(k, covariance_type, partition, 1,
                                                  init="kmeans")
                if cross_model is None or cross_row[11] or not (
                        old["note"].startswith("failed") or old["spurious"]
                        or cross_row[5] > old["log_likelihood"]):
                    continue
                cross_row = cross_row[:9] + (old["fit_time"] + cross_row[9],) + \
                    cross_row[10:12] + (f"cross-model start: {source_name}'s partition",)
                results[r] = cross_row
                keep_if_best(cross_model, results[criterion][r])
                cross_model = None
    values = results[criterion]
    if np.all(np.isnan(values)):
        raise ValueError(
            "select_model: every fit failed or ended in a spurious maximum (see the "
            "warnings and the rows' notes); try increasing reg_covar, fewer components, "
            "scaling the data, or keep_spurious=True."
        )
    return ModelSelection(results, best_model, criterion, n_samples=n_samples,
                          n_features=X.shape[1])


class ModelSelection:
    """The outcome of :func:`select_model`: every model's criteria and the chosen one.

    Parameters
    ----------
    results : ndarray
        Structured array of dtype :data:`RESULTS_DTYPE`.
    best : GaussianMixture
        The fitted model with the lowest criterion.
    criterion : {'bic', 'aic', 'icl'}
    n_samples, n_features : int
        Shape of the data.

    Attributes
    ----------
    results_ : ndarray, structured, one row per (n_components, covariance_type)
        Fields ``n_components``, ``covariance_type``, ``bic``, ``aic``,
        ``icl`` (lower is better; NaN for a failed fit),
        ``log_likelihood`` (total, sample-weighted, at the final
        parameters), ``n_parameters``, ``n_iter``, ``converged``,
        ``fit_time`` (seconds; a shared start is counted in the first
        covariance type that uses it), ``random_state`` (the seed),
        ``spurious`` (every start ended in a spurious maximum; its criteria
        are NaN unless ``keep_spurious=True``) and ``note`` (why a row is
        NaN or marked; empty otherwise).
    best_ : GaussianMixture
        The chosen model, fitted.
    best_params_ : dict
        ``{'n_components': ..., 'covariance_type': ...}`` of ``best_``.
    criterion : str
        The criterion that chose ``best_``.
    n_samples, n_features : int
    """

    def __init__(self, results, best, criterion, *, n_samples, n_features):
        self.results_ = results
        self.best_ = best
        self.best_params_ = {"n_components": int(best.n_components),
                             "covariance_type": best.covariance_type}
        self.criterion = criterion
        self.n_samples = n_samples
        self.n_features = n_features

    def _ranked(self):
        """Indices of the rows with a finite criterion, best first (stable)."""
        values = self.results_[self.criterion]
        finite = np.flatnonzero(~np.isnan(values))
        return finite[np.argsort(values[finite], kind="stable")]

    def _n_components(self):
        return sorted(set(self.results_["n_components"].tolist()))

    def _covariance_types(self):
        return list(dict.fromkeys(self.results_["covariance_type"].tolist()))

    def table(self, criterion=None, sign="fastgmm"):
        """The criterion as a K x models matrix, like mclust's ``mclustBIC`` table.

        Parameters
        ----------
        criterion : {'bic', 'aic', 'icl'}, default=None
            The selection's criterion when None.
        sign : {'fastgmm', 'mclust'}, default='fastgmm'
            'fastgmm': ``-2 log L + penalty``, lower is better. 'mclust':
            the opposite, ``2 log L - penalty`` (mclust's BIC,
            ``2 log L - p log n``), higher is better.

        Returns
        -------
        values : ndarray of shape (n_K, n_models), float64
            NaN for a failed or spurious model (or a pair not fitted).
        n_components : list of int
            The rows' K.
        covariance_types : list of str
            The columns' models, in the order given.
        """
        criterion = self.criterion if criterion is None else criterion
        if criterion not in CRITERIA:
            raise InvalidParameterError(
                f"criterion must be one of {CRITERIA}; got {criterion!r}.")
        factor = _sign_factor(sign)
        ks, types = self._n_components(), self._covariance_types()
        values = np.full((len(ks), len(types)), np.nan)
        for r in self.results_:
            values[ks.index(int(r["n_components"])),
                   types.index(str(r["covariance_type"]))] = r[criterion]
        return factor * values, ks, types

    def top(self, n=3):
        """The ``n`` best models, best first: ``[(covariance_type, K, value), ...]``
        in the selection's criterion (fastgmm's sign, lower is better)."""
        r = self.results_
        return [(str(r["covariance_type"][i]), int(r["n_components"][i]),
                 float(r[self.criterion][i])) for i in self._ranked()[:n]]

    def summary(self, sign="mclust"):
        """mclust's ``summary(mclustBIC)``: the top 3 models and their criterion.

        Parameters
        ----------
        sign : {'mclust', 'fastgmm'}, default='mclust'
            Criterion values in mclust's sign (higher is better) or
            fastgmm's (lower is better); the text says which.

        Returns
        -------
        str
        """
        factor = _sign_factor(sign)
        crit = self.criterion.upper()
        label = ("mclust's sign, 2 log L - penalty, higher is better" if sign == "mclust"
                 else "fastgmm's sign, -2 log L + penalty, lower is better")
        top = self.top(3)
        names = [f"{t},{k}" for t, k, _ in top]
        width = max(len(n) for n in names) + 2
        lines = [f"Best {crit} values ({label}):",
                 "     " + "".join(n.rjust(max(width, 12)) for n in names),
                 f"{crit:<5}" + "".join(f"{factor * v:.3f}".rjust(max(width, 12))
                                        for _, _, v in top)]
        if len(top) > 1:
            lines.append(f"{crit} diff " + "".join(
                f"{factor * (v - top[0][2]) + 0.0:.3f}".rjust(max(width, 12))
                for _, _, v in top)[5:])
        return "\n".join(lines)

    def to_pandas(self, layout="long", sign="fastgmm"):
        """The table ``results_`` as a pandas DataFrame.

        Parameters
        ----------
        layout : {'long', 'wide'}, default='long'
            'long': ``results_``, one row per model. 'wide': the criterion
            as a K x models table (:meth:`table`), like mclust's
            ``mclustBIC``, indexed by K, NaN where a model failed or was
            spurious.
        sign : {'fastgmm', 'mclust'}, default='fastgmm'
            For 'wide': the criterion in fastgmm's sign (lower is better) or
            mclust's (higher is better); the frame's ``attrs['sign']`` says
            which. 'long' is always in fastgmm's sign.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        ImportError
            When pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "ModelSelection.to_pandas needs pandas, which is not installed "
                "(pip install pandas); results_ holds the same table as a NumPy "
                "structured array."
            ) from None
        if layout == "long":
            return pd.DataFrame({name: self.results_[name]
                                 for name in self.results_.dtype.names})
        if layout != "wide":
            raise InvalidParameterError(
                f"layout must be 'long' or 'wide'; got {layout!r}.")
        values, ks, types = self.table(sign=sign)
        frame = pd.DataFrame(values, index=pd.Index(ks, name="n_components"),
                             columns=types)
        frame.attrs["criterion"] = self.criterion
        frame.attrs["sign"] = sign
        return frame

    def __repr__(self):
        crit = self.criterion.upper()
        results = self.results_
        best = self._ranked()[0]
        types = self._covariance_types()
        ks = self._n_components()
        cells = {}
        for i, r in enumerate(results):
            value = r[self.criterion]
            if np.isnan(value):
                text = "spurious" if r["spurious"] else "failed"
            else:
                text = f"{value:.3f}"
                if not r["converged"]:
                    text += "!"
            text += "*" if i == best else " "
            cells[int(r["n_components"]), str(r["covariance_type"])] = text
        width = max([len(t) for t in types] + [len(c) for c in cells.values()]) + 1
        lines = [
            f"Model selection by {crit} (lower is better): {self.n_samples} samples, "
            f"{self.n_features} features",
            "  K " + "".join(t.rjust(width) + " " for t in types).rstrip(),
        ]
        for k in ks:
            row = "".join(cells.get((k, t), "").rjust(width + 1) for t in types)
            lines.append(f"{k:3d} {row}".rstrip())
        top = ", ".join(
            f"{results['covariance_type'][i]} K={results['n_components'][i]} "
            f"({results[self.criterion][i]:.3f})" for i in self._ranked()[:3]
        )
        lines.append(f"Top 3 by {crit}: {top}")
        notes = "* best"
        if np.any(~results["converged"] & ~np.isnan(results[self.criterion])):
            notes += "; ! did not converge within max_iter"
        if np.any(results["spurious"] & np.isnan(results[self.criterion])):
            notes += "; spurious: every start collapsed a component onto reg_covar"
        lines.append(notes)
        return "\n".join(lines)

    def plot(self, ax=None, sign="fastgmm"):
        """Plot the criterion against the number of components, one line per covariance type.

        Every model of the selection is drawn; a failed or spurious model
        leaves a gap. With ``sign='fastgmm'`` lower is better; R's mclust
        draws its BIC plot with the opposite sign, ``2 log L - p log n``
        (higher is better), which ``sign='mclust'`` draws. The chosen model
        is marked with a star.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        sign : {'fastgmm', 'mclust'}, default='fastgmm'

        Returns
        -------
        ax : matplotlib Axes

        Raises
        ------
        ImportError
            When matplotlib is not installed.
        """
        try:
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            raise ImportError(
                "ModelSelection.plot needs matplotlib, which is not installed "
                "(pip install matplotlib)."
            ) from None
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        crit = self.criterion.upper()
        values, ks, types = self.table(sign=sign)
        many = len(types) > 10
        for j, covariance_type in enumerate(types):
            ax.plot(ks, values[:, j], marker="o", ms=4, label=covariance_type,
                    ls="-" if j < 10 else "--")
        best = self.results_[self._ranked()[0]]
        factor = _sign_factor(sign)
        ax.plot([best["n_components"]], [factor * best[self.criterion]], ls="none",
                marker="*", ms=14, color="black",
                label=f"best: {best['covariance_type']}, K={best['n_components']}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("number of components K")
        ax.set_ylabel(f"{crit} (higher is better, mclust's sign)" if sign == "mclust"
                      else f"{crit} (lower is better)")
        ax.set_title(f"Gaussian mixtures by {crit}: {self.n_samples} samples, "
                     f"{self.n_features} features")
        ax.legend(title="covariance type", ncol=2 if many else 1, fontsize="small")
        return ax
