"""Volumes and a common diagonal shape: the inner loop of mclust's VEI and VEV M-steps.

Serial (an M-step works on K x d values, not on the data); driven by
``fastgmm._parsimonious._volumes_and_shape``, which holds the model's
definition. One call runs the whole alternation, where numpy paid a few
calls per sweep on arrays of K x d values.
"""

import math

import numpy as np
from numba import njit

from . import EXACT_JIT

# No fastmath: NaN (a degenerate component) must stop the loop as in numpy.
_JIT = EXACT_JIT


@njit(**_JIT)
def converged(previous, current, tol):
    """Whether one sweep of an inner loop moved ``current`` (any shape, C
    order) from ``previous`` by at most ``tol`` times its largest absolute
    value; a NaN stops the loop too. The stopping rule of every inner loop
    of the mclust M-steps (``fastgmm._parsimonious``)."""
    change = 0.0
    largest = 0.0
    flat_previous = previous.ravel()
    flat_current = current.ravel()
    for i in range(flat_current.shape[0]):
        c = flat_current[i]
        d = abs(c - flat_previous[i])
        if math.isnan(d):
            return True
        change = max(change, d)
        largest = max(largest, abs(c))
    return not change > tol * largest


@njit(**_JIT)
def _normalise(values):
    """``values / geometric_mean(values)`` in place; NaN when one is not positive."""
    n = values.shape[0]
    log_sum = 0.0
    for i in range(n):
        v = values[i]
        if not v > 0.0:
            log_sum = np.nan if v != 0.0 or math.isnan(v) else -np.inf
            if math.isnan(log_sum):
                break
        else:
            log_sum += math.log(v)
    scale = math.exp(log_sum / n)
    for i in range(n):
        values[i] = values[i] / scale


@njit(**_JIT)
def volumes_and_shape(nk, values, tol, max_iter, lam, shape):
    """Fit ``lambda_k B`` to the diagonals ``values`` (K, d): |B| = 1.

    Alternates ``lambda_k = tr(S_k B^-1) / d`` and ``B`` = the normalised
    ``sum_k n_k S_k / lambda_k``, from ``B`` = the normalised
    ``sum_k n_k S_k``, until one sweep moves ``B`` by at most ``tol`` times
    its largest entry (or a NaN appears), at most ``max_iter`` sweeps.

    Parameters
    ----------
    nk : ndarray of shape (K,), float64
    values : ndarray of shape (K, d), float64
    tol : float
    max_iter : int
    lam : ndarray of shape (K,), float64
        Output: the volumes at the final shape.
    shape : ndarray of shape (d,), float64
        Output: the shape.
    """
    n_components, n_features = values.shape
    for j in range(n_features):
        total = 0.0
        for k in range(n_components):
            total += nk[k] * values[k, j]
        shape[j] = total
    _normalise(shape)
    previous = np.empty(n_features)
    for _ in range(max_iter):
        for k in range(n_components):
            total = 0.0
            for j in range(n_features):
                total += values[k, j] / shape[j]
            lam[k] = total / n_features
        previous[:] = shape
        for j in range(n_features):
            total = 0.0
            for k in range(n_components):
                total += nk[k] / lam[k] * values[k, j]
            shape[j] = total
        _normalise(shape)
        if converged(previous, shape, tol):
            break
    for k in range(n_components):
        total = 0.0
        for j in range(n_features):
            total += values[k, j] / shape[j]
        lam[k] = total / n_features
