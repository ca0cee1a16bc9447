"""Plain numpy/scipy reference implementations, independent of fastgmm.

Everything is computed the textbook way: covariances from the parameters,
log-densities with ``scipy.stats.multivariate_normal``, a dense
responsibility matrix, statistics and the M-step from it. Nothing here
imports fastgmm.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

# Tolerances used throughout the tests (relative, unless said otherwise).
#  - float64: kernels accumulate per block and sum blocks in a fixed order,
#    the reference sums in another order; both are exact to ~1e-14, so 1e-10
#    leaves room for conditioning.
#  - float32 input: the kernels read float32 but compute in float64, so
#    comparing against the float64 reference on the same (float32) values
#    needs only the float32 rounding of outputs stored as float32: 1e-5.
#  - against scikit-learn: 1e-8 (float64) and 1e-4 (float32), as its own
#    float32 path computes in float32.
RTOL = {np.float64: 1e-10, np.float32: 1e-5}
SKLEARN_RTOL = {np.float64: 1e-8, np.float32: 1e-4}


def covariance_matrices(covariances, covariance_type, n_components, n_features):
    """Full (n_components, n_features, n_features) matrices for any type."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([np.eye(n_features) * c for c in covariances])


def weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x | mu_k, Sigma_k), shape (n_samples, n_components)."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = means.shape
    covs = covariance_matrices(covariances, covariance_type, n_components, n_features)
    out = np.empty((X.shape[0], n_components))
    for k in range(n_components):
        out[:, k] = np.log(weights[k]) + multivariate_normal(
            mean=means[k], cov=covs[k], allow_singular=False).logpdf(X)
    return out


def responsibilities(X, weights, means, covariances, covariance_type):
    """(log p(x_i), dense responsibility matrix)."""
    wlp = weighted_log_prob(X, weights, means, covariances, covariance_type)
    norm = logsumexp(wlp, axis=1)
    return norm, np.exp(wlp - norm[:, None])


def m_step(X, resp, covariance_type, reg_covar, sample_weight=None):
    """Weights, means, covariances from a dense responsibility matrix.

    Written from the definitions (not scikit-learn's algebra): weighted
    means, and covariances as weighted scatter around the new means.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    if sample_weight is not None:
        resp = resp * np.asarray(sample_weight, dtype=np.float64)[:, None]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    full = np.empty((means.shape[0], n_features, n_features))
    for k in range(means.shape[0]):
        diff = X - means[k]
        full[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
    eye = np.eye(n_features)
    if covariance_type == "full":
        cov = full + reg_covar * eye
    elif covariance_type == "tied":
        cov = (nk[:, None, None] * full).sum(axis=0) / nk.sum() + reg_covar * eye
    elif covariance_type == "diag":
        cov = np.array([np.diag(c) for c in full]) + reg_covar
    else:
        cov = np.array([np.diag(c) for c in full]).mean(axis=1) + reg_covar
    return nk / nk.sum(), means, cov


def em_step(X, weights, means, covariances, covariance_type, reg_covar,
            sample_weight=None):
    """One EM iteration: (mean log-likelihood before the step, new parameters)."""
    norm, resp = responsibilities(X, weights, means, covariances, covariance_type)
    if sample_weight is None:
        lower_bound = norm.mean()
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        lower_bound = (sw * norm).sum() / sw.sum()
    return lower_bound, m_step(X, resp, covariance_type, reg_covar, sample_weight)


def precisions(covariances, covariance_type):
    """Inverse covariances in the layout of ``covariances``."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / np.asarray(covariances)


def make_blobs(rng, n_samples, n_features, n_components, dtype=np.float64, spread=6.0):
    """Anisotropic Gaussian blobs with random centres."""
    centres = rng.normal(scale=spread, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    scales = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    X = centres[labels] + rng.normal(size=(n_samples, n_features)) * scales[labels]
    return X.astype(dtype), labels


def random_parameters(rng, X, n_components, covariance_type):
    """A plausible set of parameters (weights, means, covariances) for X."""
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    weights = rng.uniform(0.5, 1.5, size=n_components)
    weights /= weights.sum()
    means = X[rng.choice(X.shape[0], n_components, replace=False)]
    if covariance_type == "full":
        A = rng.normal(size=(n_components, n_features, n_features))
        cov = A @ np.swapaxes(A, 1, 2) / n_features + np.eye(n_features)
    elif covariance_type == "tied":
        A = rng.normal(size=(n_features, n_features))
        cov = A @ A.T / n_features + np.eye(n_features)
    elif covariance_type == "diag":
        cov = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    else:
        cov = rng.uniform(0.5, 2.0, size=n_components)
    return weights, means, cov


def random_start(X, covariance_type, n_components=3, seed=0):
    """``weights_init``, ``means_init`` and ``precisions_init`` of a plausible start."""
    weights, means, cov = random_parameters(np.random.default_rng(seed), X,
                                            n_components, covariance_type)
    return dict(weights_init=weights, means_init=means,
                precisions_init=precisions(cov, covariance_type))
