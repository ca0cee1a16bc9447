"""Seeded, cached data and starting points for the benchmarks.

Data come from ``fastgmm.bench.make_data`` (Gaussian blobs) and starts from
``fastgmm.bench.make_start``, the same generators as ``python -m
fastgmm.bench``. Each generator is wrapped in an ``lru_cache`` so that the
parameter combinations run in one process share arrays: benchmarks must not
write into them. (They are left writeable on purpose: Numba compiles a
separate specialisation for read-only arrays, which users do not run.)
"""

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def blobs(n_samples, n_features, n_components, dtype="float64", seed=0):
    """X of shape (n_samples, n_features), C-contiguous, in ``dtype``."""
    from fastgmm.bench import make_data

    X = make_data(n_samples, n_features, n_components, seed=seed)
    return np.ascontiguousarray(X, dtype=dtype)


@lru_cache(maxsize=16)
def start(n_samples, n_features, n_components, covariance_type, dtype="float64", seed=0):
    """weights_init / means_init / precisions_init for ``blobs(...)`` (same arguments)."""
    from fastgmm.bench import make_start

    X = blobs(n_samples, n_features, n_components, dtype, seed)
    init = make_start(X, n_components, covariance_type, seed=seed)
    return init


@lru_cache(maxsize=16)
def kernel_params(n_samples, n_features, n_components, covariance_type, dtype="float64",
                  seed=0):
    """``fastgmm._stats.Params`` (float64) of the start, for the kernel benchmarks."""
    from fastgmm._stats import Params

    try:
        from fastgmm._covariance import compute_precision_cholesky
    except ImportError:  # commits before the covariance-model registry
        from fastgmm._stats import compute_precision_cholesky

    init = start(n_samples, n_features, n_components, covariance_type, dtype, seed)
    precisions = np.asarray(init["precisions_init"], dtype=np.float64)
    if covariance_type in ("full", "tied"):
        covariances = np.linalg.inv(precisions)
    else:
        covariances = 1.0 / precisions
    precisions_chol = compute_precision_cholesky(covariances, covariance_type)
    return Params(np.asarray(init["weights_init"], dtype=np.float64),
                  np.asarray(init["means_init"], dtype=np.float64),
                  covariances, precisions_chol)


@lru_cache(maxsize=8)
def centers_init(n_samples, n_features, n_clusters, dtype="float64", seed=0):
    """Fixed initial k-means centres: ``n_clusters`` distinct rows of ``blobs``."""
    X = blobs(n_samples, n_features, n_clusters, dtype, seed)
    rng = np.random.default_rng(seed)
    rows = rng.choice(X.shape[0], n_clusters, replace=False)
    return np.ascontiguousarray(X[np.sort(rows)])
