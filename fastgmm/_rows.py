"""Per-row outputs of fitted parameters, for the estimators' per-row methods.

Rows of an X without NaN go through the per-row kernels of ``_em``; an X
with NaN (validated under ``nan_policy='marginalize'``, or for
:meth:`~fastgmm.GaussianMixture.impute`) goes through ``_missing``, which
scores each row by the marginal density of its observed values. This is
the one place that tells the two apart. ``may_hold_nan`` says whether the
validation let NaN through (``nan_policy='marginalize'``); only then is X
read once more to look for one, so the per-row methods of an estimator
that refuses NaN do not pay a second pass over X.
"""

import numpy as np

from . import _em, _missing


def labels(X, params, covariance_type, may_hold_nan):
    """The most probable component of each row."""
    if may_hold_nan and _missing.has_nan(X):
        resp = _missing.per_row(X, params, covariance_type)[1]
        return resp.argmax(axis=1).astype(np.int64)
    return _em.most_probable_component(X, params, covariance_type)


def log_prob(X, params, covariance_type, may_hold_nan):
    """log p(x) of each row (of its observed values), in X's dtype."""
    if may_hold_nan and _missing.has_nan(X):
        return _missing.per_row(X, params, covariance_type, want_resp=False)[0]
    return _em.responsibilities(X, params, covariance_type)[0]


def posterior(X, params, covariance_type, may_hold_nan):
    """Responsibilities of each component for each row; each row sums to 1."""
    if may_hold_nan and _missing.has_nan(X):
        return _missing.per_row(X, params, covariance_type)[1]
    return _em.posterior(X, params, covariance_type)


def log_prob_and_log_resp(X, params, covariance_type, may_hold_nan):
    """(log p(x), log responsibilities) of each row."""
    if may_hold_nan and _missing.has_nan(X):
        log_prob, resp = _missing.per_row(X, params, covariance_type)[:2]
        with np.errstate(divide="ignore"):
            return log_prob, np.log(resp)
    return _em.log_resp(X, params, covariance_type)


def impute(X, params, covariance_type):
    """X with each NaN replaced by its conditional expectation under the mixture."""
    return _missing.per_row(X, params, covariance_type, want_resp=False,
                            want_imputed=True)[2]
