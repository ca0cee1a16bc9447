"""The driver of the variational fit: its iterations around the fused pass (its start is
``_init.start_statistics``, as the Gaussian mixture's).

Each iteration is one call of the Gaussian mixture's fused pass
(``_em.em_pass``, or the Dask path's distributed pass) at the variational
parameters (see ``_variational.py``: the E-step is a Gaussian pass with
adjusted weights), then the variational M-step and scikit-learn's lower
bound, both from the pass's statistics alone: no (n_samples,
n_components) array exists.
"""

import time

import numpy as np

from . import _covariance, _em, _variational
from ._outofcore import float_dtype
from ._stats import estimate_parameters, nk_regularization


def variational_parameters(stats, n_samples, *, covariance_type, reg_covar, priors,
                           float32_data):
    """The variational M-step on a pass's (or a start's) statistics.

    ``nk``, the means and the covariances (with ``reg_covar``) are the
    Gaussian M-step's (``_stats.estimate_parameters``), scikit-learn's
    ``_estimate_gaussian_parameters``; the variational update takes them.
    """
    model = _covariance.get(covariance_type)
    nk, xk, sk = estimate_parameters(stats, model, reg_covar,
                                     nk_regularization(stats.sum_weights, n_samples))
    return _variational.m_step(nk, xk, sk, priors, covariance_type, float32_data)


def run_variational(X, sample_weight, params, *, covariance_type, reg_covar, tol, max_iter,
                    priors, lower_bound=-np.inf, chunk_size=None, on_iteration=None,
                    stats_pass=None):
    """Variational iterations from ``params`` until the lower bound changes by less than ``tol``.

    As scikit-learn's ``BayesianGaussianMixture``: each iteration is an
    E-step (the fused pass at ``params``), the M-step, then the lower bound
    (the entropy of that E-step's responsibilities, minus the normalisers of
    the new posterior); convergence when it changes by less than ``tol``.

    Parameters
    ----------
    params : VariationalParams or _em.Handoff
    priors : _variational.Priors
    on_iteration : callable, optional
        ``on_iteration(n_iter, lower_bound, change, seconds)``; a true return
        value stops the iterations.
    stats_pass : callable, optional
        Replaces :func:`fastgmm._em.em_pass` (the Dask path's pass).

    Returns
    -------
    params : VariationalParams
    lower_bounds : list of float
    n_iter : int
    converged : bool
    """
    if isinstance(params, _em.Handoff):
        params = params.take()
    float32_data = float_dtype(X) == np.float32
    stats_pass = _em.em_pass if stats_pass is None else stats_pass
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        tick = time.perf_counter()
        prev = lower_bound
        stats = stats_pass(X, sample_weight, params._replace(covariances=None),
                           covariance_type, chunk_size, False)
        entropy = _variational.resp_entropy(stats, params, covariance_type)
        if not np.isfinite(entropy):
            raise ValueError(
                f"The responsibilities are not finite at iteration {n_iter}: the data "
                "are too large or too spread out for the arithmetic. Scale X (for "
                "instance with sklearn.preprocessing.StandardScaler), pass float64 "
                "data, or increase reg_covar."
            )
        params = variational_parameters(stats, X.shape[0], covariance_type=covariance_type,
                                        reg_covar=reg_covar, priors=priors,
                                        float32_data=float32_data)
        stats = None
        lower_bound = _variational.lower_bound(params, entropy, covariance_type)
        lower_bounds.append(lower_bound)
        change = lower_bound - prev
        stop = bool(on_iteration(n_iter, lower_bound, change, time.perf_counter() - tick)) \
            if on_iteration is not None else False
        if abs(change) < tol:
            converged = True
            break
        if stop:
            break
    return params, lower_bounds, n_iter, converged
