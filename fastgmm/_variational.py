"""The variational Bayesian mixture's statistics layer, in numpy: priors, M-step, E-step
constants and lower bound.

Nothing here reads the data row by row except :func:`data_moments` (the
default priors, two chunked passes). The variational E-step runs through the
fused pass of ``_em`` (see :func:`pass_parameters`), and everything else is
a function of the pass's sufficient statistics, as in scikit-learn's
``BayesianGaussianMixture`` (Bishop, *Pattern Recognition and Machine
Learning*, 10.2), whose numbers these reproduce.

The E-step as a Gaussian pass
-----------------------------
With ``q(mu_k, Lambda_k) = N(mu_k | m_k, (beta_k Lambda_k)^-1) W(Lambda_k |
W_k, nu_k)``, the log of the unnormalised responsibility of row x is::

    E[log pi_k] + E[log N(x | mu_k, Lambda_k)]
      = E[log pi_k] + 1/2 E[log |Lambda_k|] - d/2 log(2 pi)
        - 1/2 nu_k (x - m_k)^T W_k (x - m_k) - d / (2 beta_k)

and ``E[log |Lambda_k|] = sum_i psi((nu_k - i) / 2) + d log 2 + log |W_k|``.
scikit-learn stores ``precisions_cholesky_`` = U_k with ``U_k U_k^T =
nu_k W_k`` (the covariances it reports are ``(nu_k W_k)^-1``), so
``log |W_k| = 2 log |U_k| - d log nu_k`` and the expression is the
Gaussian log-density ``log N(x | m_k, (U_k U_k^T)^-1)`` plus the constant::

    c_k = E[log pi_k] - d/2 log nu_k + 1/2 (sum_i psi((nu_k - i)/2) + d log 2 - d / beta_k)

So the fused pass of the Gaussian mixture computes it unchanged, given the
weights ``exp(c_k - log sum_j exp(c_j))`` (:func:`pass_parameters`): the
responsibilities, normalised per row, are the variational ones, the
statistics ``nk, sx, sxx`` those the variational M-step needs, and the
pass's log-likelihood is ``sum_i w_i log sum_k exp(...) - log sum_j
exp(c_j)``.

The entropy of the responsibilities, which the lower bound needs, follows
from the same pass (no N x K matrix, no extra accumulator in the kernels):
with ``log p_ik`` the row's log-terms above and ``r_ik`` their normalised
exponentials, ``sum_k r_ik log r_ik = sum_k r_ik log p_ik - log sum_k
p_ik``, and ``sum_i w_i sum_k r_ik log p_ik = sum_k nk_k C_k - 1/2 sum_k
tr(P_k S_k)`` where C_k is the pass's constant, P_k the precision and S_k
the responsibility-weighted scatter around m_k (the pass's ``sxx``, taken
around the means it scored with). See :func:`resp_entropy`.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy.special import betaln, digamma, gammaln

from . import _covariance

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


class Priors(NamedTuple):
    """The priors of a fit, as scikit-learn's ``*_prior_`` attributes (float64)."""

    weight_concentration_prior_type: str
    weight_concentration_prior: float
    mean_precision_prior: float
    mean_prior: np.ndarray
    degrees_of_freedom_prior: float
    covariance_prior: object  # array in the component's covariance shape, float for spherical


class VariationalParams(NamedTuple):
    """The variational parameters, float64.

    The first four fields are those of :class:`fastgmm._stats.Params`, as the
    passes and the scoring kernels read them: ``weights`` are
    ``exp(c_k - log_norm)`` (see the module docstring), ``means`` the
    ``m_k``, ``covariances`` and ``precisions_chol`` scikit-learn's
    ``covariances_`` and ``precisions_cholesky_``. ``weight_concentration`` is
    a pair of arrays for the Dirichlet process, an array otherwise.
    ``priors`` are those the parameters were estimated with (None for
    parameters read from fitted attributes).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_chol: np.ndarray
    weight_concentration: object
    mean_precision: np.ndarray
    degrees_of_freedom: object
    log_norm: float
    priors: object = None


# -- normalisers (scikit-learn's, for its lower bound) ------------------------------

def _log_dirichlet_norm(dirichlet_concentration):
    """Log of the normaliser of a Dirichlet distribution."""
    return gammaln(np.sum(dirichlet_concentration)) - np.sum(gammaln(dirichlet_concentration))


def _log_wishart_norm(degrees_of_freedom, log_det_precisions_chol, n_features):
    """Log of the normaliser of Wishart distributions, without the log(pi) term
    (as scikit-learn computes it)."""
    return -(degrees_of_freedom * log_det_precisions_chol
             + degrees_of_freedom * n_features * 0.5 * math.log(2.0)
             + np.sum(gammaln(0.5 * (degrees_of_freedom
                                     - np.arange(n_features)[:, np.newaxis])), 0))


# -- priors -------------------------------------------------------------------------

def row_sums(X, sample_weight, step=1 << 15):
    """The (sample-weighted) sum of the rows of X, float64, over chunks of
    ``step`` rows added in order (no copy of X)."""
    n_samples, n_features = X.shape
    weighted = sample_weight.shape[0] > 0
    total = np.zeros(n_features)
    for start in range(0, n_samples, step):
        rows = np.asarray(X[start:start + step], dtype=np.float64)
        total += sample_weight[start:start + step] @ rows if weighted else rows.sum(axis=0)
    return total


def row_scatter(X, sample_weight, mean, matrix=True, step=1 << 15):
    """The (sample-weighted) scatter of the rows of X around ``mean``: a
    matrix, or per-feature sums of squares without ``matrix``; float64, over
    chunks of ``step`` rows added in order."""
    n_samples, n_features = X.shape
    weighted = sample_weight.shape[0] > 0
    scatter = np.zeros((n_features, n_features) if matrix else n_features)
    for start in range(0, n_samples, step):
        diff = np.asarray(X[start:start + step], dtype=np.float64) - mean
        wdiff = diff * sample_weight[start:start + step, None] if weighted else diff
        scatter += wdiff.T @ diff if matrix else np.einsum("ij,ij->j", wdiff, diff)
    return scatter


def moments_from_sums(total, scatter, matrix):
    """(covariance matrix or None, variances) with ddof=1 from the scatter
    and the total weight (see :func:`data_moments`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scatter = scatter / (total - 1.0)
    if matrix:
        return scatter, np.diagonal(scatter).copy()
    return None, scatter


def data_moments(X, sample_weight, matrix=True, step=1 << 15):
    """(mean, covariance matrix with ddof=1, variances with ddof=1) of the rows of X.

    Sample-weighted as frequencies (a weight of 2 is the row twice: the
    covariance is divided by ``sum(w) - 1``), in float64, from two passes
    over chunks of rows (:func:`row_sums`, :func:`row_scatter`), so no copy
    of X is made. Without ``matrix`` only the variances are computed (the
    matrix is None). A Dask X runs the same two functions on each of its
    chunks, added in chunk order (``_dask.DaskData.moments``).
    """
    n_samples = X.shape[0]
    total = float(sample_weight.sum()) if sample_weight.shape[0] > 0 else float(n_samples)
    mean = row_sums(X, sample_weight, step) / total
    scatter = row_scatter(X, sample_weight, mean, matrix, step)
    return (mean,) + moments_from_sums(total, scatter, matrix)


def prior_shape(model, n_features):
    """Shape of ``covariance_prior`` for a model: one component's covariance."""
    return np.shape(model.component(np.empty(model.shape(1, n_features)), 0))


# -- the M-step ---------------------------------------------------------------------

def weight_concentration(nk, priors):
    """The Dirichlet (process) posterior's concentration from the weights ``nk``."""
    if priors.weight_concentration_prior_type == "dirichlet_process":
        return (1.0 + nk, priors.weight_concentration_prior
                + np.hstack((np.cumsum(nk[::-1])[-2::-1], 0)))
    return priors.weight_concentration_prior + nk


def m_step(nk, xk, sk, priors, covariance_type, float32_data=False):
    """The variational M-step from Gaussian statistics, as scikit-learn's.

    Parameters
    ----------
    nk : ndarray of shape (n_components,)
        Responsibility sums (with the M-step's regulariser).
    xk : ndarray of shape (n_components, n_features)
        Responsibility-weighted means.
    sk : ndarray
        Covariances around them plus ``reg_covar``, in the model's shape
        (``fastgmm._stats.estimate_parameters`` gives all three).
    priors : Priors
    covariance_type : str

    Returns
    -------
    VariationalParams

    Raises
    ------
    ValueError
        scikit-learn's message when a covariance is not positive definite.
    """
    model = _covariance.get(covariance_type)
    concentration = weight_concentration(nk, priors)
    mean_precision = priors.mean_precision_prior + nk
    means = (priors.mean_precision_prior * priors.mean_prior
             + nk[:, np.newaxis] * xk) / mean_precision[:, np.newaxis]
    dof, covariances = model.variational_wishart(nk, xk, sk, priors, mean_precision)
    precisions_chol = _covariance.compute_precision_cholesky(
        np.asarray(covariances, dtype=np.float64), model, float32_data)
    return with_pass_weights(concentration, mean_precision, means, dof, covariances,
                             precisions_chol, priors, covariance_type)


def with_pass_weights(concentration, mean_precision, means, dof, covariances,
                      precisions_chol, priors, covariance_type):
    """VariationalParams with the weights and ``log_norm`` the passes use."""
    n_features = means.shape[1]
    const = estep_constants(concentration, mean_precision, dof, n_features,
                            prior_type(concentration))
    log_norm = float(np.logaddexp.reduce(const))
    weights = np.exp(const - log_norm)
    return VariationalParams(weights, means, covariances, precisions_chol, concentration,
                             mean_precision, dof, log_norm, priors)


def prior_type(concentration):
    """The prior type a weight concentration is of (a pair: the Dirichlet process)."""
    return "dirichlet_process" if isinstance(concentration, tuple) else "dirichlet_distribution"


# -- the E-step constants ------------------------------------------------------------

def expected_log_weights(concentration, weight_prior_type):
    """E[log pi_k] under the Dirichlet (process) posterior."""
    if weight_prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        return (digamma(a) - digamma_sum
                + np.hstack((0, np.cumsum(digamma(b) - digamma_sum)[:-1])))
    return digamma(concentration) - digamma(np.sum(concentration))


def estep_constants(concentration, mean_precision, dof, n_features, weight_prior_type):
    """``c_k``: what the variational E-step adds to ``log N(x | m_k, (U_k U_k^T)^-1)``.

    See the module docstring; float64, one per component.
    """
    log_lambda = n_features * np.log(2.0) + np.sum(
        digamma(0.5 * (dof - np.arange(0, n_features)[:, np.newaxis])), 0)
    return (expected_log_weights(concentration, weight_prior_type)
            - 0.5 * n_features * np.log(dof)
            + 0.5 * (log_lambda - n_features / mean_precision))


def fitted_weights(concentration):
    """scikit-learn's ``weights_``: the posterior mean of the weights."""
    if isinstance(concentration, tuple):
        a, b = concentration
        total = a + b
        weights = a / total * np.hstack((1, np.cumprod(b / total)[:-1]))
        return weights / np.sum(weights)
    return concentration / np.sum(concentration)


# -- the lower bound -----------------------------------------------------------------

def resp_entropy(stats, params, covariance_type):
    """``-sum_i w_i sum_k r_ik log r_ik`` of the pass that gave ``stats`` at ``params``.

    From the pass's log-likelihood and statistics (see the module docstring):
    ``loglik - sum_k nk_k C_k + 1/2 sum_k tr(P_k S_k)``. ``S_k / nk_k`` is
    the model's own M-step on the statistics with the means left where the
    pass centred them (no regularisation), and ``tr(P_k S_k)`` its product
    with the precisions, both as one matrix per component. Components with
    no weight add nothing (their constant may be -inf).
    """
    model = _covariance.get(covariance_type)
    n_components, n_features = stats.sx.shape
    const = model.log_prob_constants(np.asarray(params.weights, dtype=np.float64),
                                     np.asarray(params.precisions_chol, dtype=np.float64),
                                     n_features)
    const = np.broadcast_to(const, (n_components,))
    used = stats.nk > 0
    cross = float(np.dot(stats.nk[used], const[used]))
    prec_chol = np.asarray(params.precisions_chol, dtype=np.float64)
    if model.matrix:
        # S_k (around the pass's centres) is nk_k (C_k + delta_k delta_k^T), with
        # C_k the model's M-step covariance at the means ref_k + delta_k,
        # delta_k = sx_k / nk_k, without regularisation (for 'tied' the pass
        # has only the pooled scatter). An empty component adds nothing: any
        # positive divisor gives it delta = 0 and C = 0 (and leaves the sum of
        # the weights, which 'tied' divides by, unchanged).
        safe_nk = np.maximum(stats.nk, np.finfo(np.float64).tiny)
        delta = stats.sx / safe_nk[:, None]
        scatter = model.covariances_from_stats(stats, stats.ref + delta, delta, safe_nk,
                                               0.0, 0.0)
        scatter = model.component_covariances(np.asarray(scatter), n_components, n_features)
        precisions = model.component_covariances(model.precisions_from_cholesky(prec_chol),
                                                 n_components, n_features)
        trace = stats.nk * (np.einsum("kij,kij->k", precisions, scatter)
                            + np.einsum("ki,kij,kj->k", delta, precisions, delta))
    else:
        # Variances: the pass's scatters are per feature, around the centres
        # it scored with, and its precision factors are per feature too.
        factors = model.pass_precisions(prec_chol, n_features)
        trace = np.einsum("kj,kj->k", factors * factors, stats.sxx)
    maha = float(np.sum(trace[used]))  # sum_k tr(P_k S_k)
    return stats.loglik - cross + 0.5 * maha


def lower_bound(params, entropy, covariance_type):
    """scikit-learn's lower bound of the variational fit: the entropy of the
    responsibilities (of the E-step before the M-step that gave ``params``)
    minus the normalisers of the posterior at ``params``."""
    model = _covariance.get(covariance_type)
    n_features = params.means.shape[1]
    dof = params.degrees_of_freedom
    log_det = (model.log_det_cholesky(np.asarray(params.precisions_chol, dtype=np.float64),
                                      n_features)
               - 0.5 * n_features * np.log(dof))
    log_wishart = model.variational_log_wishart_norm(
        _log_wishart_norm(dof, log_det, n_features), params.means.shape[0])
    concentration = params.weight_concentration
    if isinstance(concentration, tuple):
        log_norm_weight = -np.sum(betaln(concentration[0], concentration[1]))
    else:
        log_norm_weight = _log_dirichlet_norm(concentration)
    return float(entropy - log_wishart - log_norm_weight
                 - 0.5 * n_features * np.sum(np.log(params.mean_precision)))
