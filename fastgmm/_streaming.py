"""Sufficient statistics for ``partial_fit``: exact epochs and online EM.

Exact mode sums the pass statistics of the batches of an epoch
(:func:`fastgmm._stats.sum_stats`, all taken at the same parameters) and
runs one M-step at the end of the epoch: one EM iteration, in batches.

Online mode is the online EM of Cappe & Moulines (2009). The state is the
normalised sufficient statistics s = (n_k, m_k, M_k) of a unit of weight:
component weights, means and scatters around the means (for 'tied', one
pooled scatter W). After each batch,

    s_t = (1 - gamma_t) s_{t-1} + gamma_t sbar(batch),   gamma_t = (t + t0)^-kappa,

where sbar(batch) are the batch's statistics under the parameters of
s_{t-1}, divided by the batch's total weight, and the parameters are the
M-step of s_t. Means and scatters are combined as weighted sums of raw
moments would be, but by the pairwise update of Chan, Golub & LeVeque
(centred, so no E[xx^T] - mu mu^T cancellation):

    n = n_a + n_b,  m = m_a + (n_b / n) d,  M = M_a + M_b + (n_a n_b / n) d d^T,

with d = m_b - m_a and the factors (1 - gamma), gamma already applied to
(n_a, M_a) and (n_b, M_b). 'spherical' is carried as 'diag' (its M-step
averages the variances).

:func:`partial_fit_batch` runs one batch of either mode on a :class:`Stream`,
the state ``GaussianMixture.partial_fit`` keeps between batches.
"""

from typing import NamedTuple, Optional

import numpy as np

from . import _covariance, _em
from ._stats import Params, Stats, nk_regularization, sum_stats
from ._validation import rescale_sample_weight


class OnlineState(NamedTuple):
    """Normalised sufficient statistics of online EM, float64.

    ``scatter`` is (n_components, n_features, n_features) for 'full',
    (n_components, n_features) for 'diag' and 'spherical', and the pooled
    within-component (n_features, n_features) for 'tied'.
    """

    nk: np.ndarray
    means: np.ndarray
    scatter: np.ndarray


def step_size(t, t0, kappa):
    """gamma_t = (t + t0)^-kappa, for the t-th batch (t = 1, 2, ...)."""
    return float((t + t0) ** -kappa)


def state_from_params(params, covariance_type):
    """The state whose M-step (without ``reg_covar``) gives ``params``."""
    weights = np.asarray(params.weights, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    model = _covariance.get(covariance_type)
    scatter = model.state_scatter(weights, model.covariances_of(params), means.shape[1])
    return OnlineState(weights.copy(), means.copy(), scatter)


def state_from_stats(stats, covariance_type):
    """The normalised state of one batch, from its pass statistics (:class:`Stats`)."""
    total = stats.sum_weights
    nk = stats.nk
    safe = np.where(nk > 0, nk, 1.0)
    means = stats.ref + stats.sx / safe[:, None]
    scatter = _covariance.get(covariance_type).stats_scatter(stats, means, safe)
    return OnlineState(nk / total, means, scatter / total)


def combine(old, new, gamma, covariance_type):
    """(1 - gamma) old + gamma new, for the centred statistics of the states."""
    na = (1.0 - gamma) * old.nk
    nb = gamma * new.nk
    n = na + nb
    safe = np.where(n > 0, n, 1.0)
    delta = new.means - old.means
    means = old.means + (nb / safe)[:, None] * delta
    coef = na * nb / safe
    scatter = (1.0 - gamma) * old.scatter + gamma * new.scatter
    scatter = _covariance.get(covariance_type).combine_scatter(scatter, coef, delta)
    return OnlineState(n, means, scatter)


def stats_of_state(state, covariance_type):
    """:class:`Stats` whose M-step (``fastgmm._em.m_step``) is the state's parameters."""
    nk, means, scatter = state
    sxx, shift = _covariance.get(covariance_type).state_statistics(nk, means, scatter)
    return Stats(0.0, float(nk.sum()), nk, np.zeros_like(means), sxx, means, shift)


# -- partial_fit ----------------------------------------------------------------


class Stream(NamedTuple):
    """What ``partial_fit`` keeps between the batches of a stream.

    ``params`` are those of the last M-step (or the start): the next batch's
    statistics are taken under them. 'exact' mode sums the statistics of the
    epoch so far in ``stats``; 'online' mode counts the batches in ``t`` and
    keeps the running statistics in ``online`` (None: start from
    ``params``). ``weight_exponent`` scales the sample weights of every
    batch (:func:`stream_weights`). ``means`` is the estimator's ``means_``
    after the stream's last batch: a refit, ``set_params`` or a loaded model
    replaces ``means_``, which starts a new stream.
    """

    mode: str
    params: Params
    stats: Optional[Stats] = None
    t: int = 0
    online: Optional[OnlineState] = None
    weight_exponent: int = 0
    means: Optional[np.ndarray] = None


class Update(NamedTuple):
    """The parameters after a batch's M-step, and the progress of the stream."""

    params: Params
    n_iter: int
    lower_bound: float
    converged: bool


def stream_weights(sample_weight, n_samples, exponent):
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


def partial_fit_batch(stream, X, sample_weight, *, covariance_type, reg_covar, tol,
                      hard, on_degenerate, float32_data, online_t0, online_kappa,
                      end_epoch, n_iter, lower_bounds, events):
    """One batch of ``partial_fit``: its statistics, and the M-step when one is due.

    Parameters
    ----------
    stream : Stream
    X : ndarray of shape (n_batch, n_features)
        The batch, as the passes read it (:func:`fastgmm._em.pass_data`).
    sample_weight : ndarray of shape (n_batch,) or (0,)
        Rescaled as the stream's (:func:`stream_weights`).
    end_epoch : bool
        'exact' mode: run the M-step on the epoch's statistics.
    n_iter : int
        M-steps (epochs or batches) of the stream before this batch.
    lower_bounds : list of float
        Lower bounds of those M-steps (the last one decides convergence).
    events : list
        Receives one dict per component the M-step repairs.

    Returns
    -------
    stream : Stream
        The stream after the batch (a new tuple; ``stream`` is unchanged).
    update : Update or None
        None when no M-step ran ('exact' mode within an epoch).

    Raises
    ------
    ValueError
        When the batch's log-likelihood is not finite, or as the M-step
        (:func:`fastgmm._em.m_step`).
    """
    params = stream.params
    stats = _em.em_pass(X, sample_weight, params, covariance_type, hard=hard)
    if not np.isfinite(stats.loglik):
        raise ValueError(
            f"The log-likelihood of the batch is {stats.loglik}: the data are "
            "too large or too spread out for the arithmetic. Scale X, pass "
            "float64 data, or increase reg_covar."
        )
    n_events = len(events)
    if stream.mode == "exact":
        total = stats if stream.stats is None else sum_stats([stream.stats, stats])
        if not end_epoch:
            return stream._replace(stats=total), None
        n_iter += 1
        lower_bound = total.loglik / total.sum_weights
        params = _em.m_step(
            total, covariance_type, reg_covar,
            nk_regularization(stats.sum_weights, X.shape[0]),
            float32_data, on_degenerate=on_degenerate, X=X,
            sample_weight=sample_weight, iteration=n_iter, events=events)
        converged = (abs(lower_bound - lower_bounds[-1]) < tol
                     if lower_bounds else False)
        return (stream._replace(params=params, stats=None),
                Update(params, n_iter, lower_bound, converged))
    t = stream.t + 1
    gamma = step_size(t, online_t0, online_kappa)
    old = stream.online
    if old is None:
        old = state_from_params(params, covariance_type)
    online = combine(old, state_from_stats(stats, covariance_type), gamma, covariance_type)
    n_iter += 1
    lower_bound = stats.loglik / stats.sum_weights
    # The state is per unit of weight: the batch's mean weight is
    # 1 / n_batch in its units.
    params = _em.m_step(
        stats_of_state(online, covariance_type), covariance_type, reg_covar,
        nk_regularization(1.0, X.shape[0]), float32_data,
        on_degenerate=on_degenerate, X=X, sample_weight=sample_weight,
        iteration=n_iter, events=events)
    # After a repair the running statistics restart from the repaired
    # parameters.
    online = online if len(events) == n_events else None
    return (stream._replace(params=params, t=t, online=online),
            Update(params, n_iter, lower_bound, False))
