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
"""

from typing import NamedTuple

import numpy as np

from . import _covariance
from ._stats import Stats


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
    cov = np.asarray(params.covariances, dtype=np.float64)
    scatter = _covariance.get(covariance_type).state_scatter(weights, cov, means.shape[1])
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
