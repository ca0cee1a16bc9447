"""Settings shared by the benchmarks: the size profile and the memory budget.

The profile comes from the environment variable ``FASTGMM_BENCH_PROFILE``:

``small`` (default)
    Small data, so that ``asv run --quick`` over the whole suite takes a few
    minutes; for checking that the benchmarks run and for spotting large
    regressions.
``large``
    The shapes of the README's table (``python -m fastgmm.bench``):
    N=1,000,000 d=2; N=200,000 d=16; N=100,000 d=64.

``FASTGMM_BENCH_MAX_BYTES`` overrides the profile's memory budget (bytes);
parameter combinations whose arrays would exceed it are skipped.

Everything is read inside functions, when a benchmark's ``setup`` runs, never
at import time: asv imports every module to discover the benchmarks.
"""

import os

import numpy as np

PROFILES = ("small", "large")

# Rows of X for each n_features, per profile. The 'large' rows are the
# README's shapes: (1e6, 2, K=8, full), (2e5, 16, K=16, full), (1e5, 64, K=32, diag).
_N_SAMPLES = {
    "small": {2: 50_000, 16: 10_000, 64: 4_000},
    "large": {2: 1_000_000, 16: 200_000, 64: 100_000},
}

_MAX_BYTES = {"small": 512 * 2**20, "large": 4 * 2**30}

# The README shapes, named as in ``fastgmm.bench.SHAPES``.
SHAPE_KEYS = ("a", "b", "c")
_SHAPES = {
    "a": dict(n_features=2, n_components=8, covariance_type="full"),
    "b": dict(n_features=16, n_components=16, covariance_type="full"),
    "c": dict(n_features=64, n_components=32, covariance_type="diag"),
}

# EM iterations of the fixed-iteration fits (tol=0).
N_ITER = 5


def profile():
    """The active size profile, from ``FASTGMM_BENCH_PROFILE``."""
    value = os.environ.get("FASTGMM_BENCH_PROFILE", "small").strip().lower() or "small"
    if value not in PROFILES:
        raise ValueError(f"FASTGMM_BENCH_PROFILE={value!r}; expected one of {PROFILES}.")
    return value


def n_samples_for(n_features):
    """Rows of X for a kernel benchmark with ``n_features`` columns."""
    return _N_SAMPLES[profile()][n_features]


def shape(key):
    """A README shape (dict with n_samples, n_features, n_components, covariance_type)."""
    spec = dict(_SHAPES[key])
    spec["n_samples"] = n_samples_for(spec["n_features"])
    return spec


def max_bytes():
    """Memory budget of one benchmark's arrays, in bytes."""
    override = os.environ.get("FASTGMM_BENCH_MAX_BYTES")
    if override:
        return int(float(override))
    return _MAX_BYTES[profile()]


def check_budget(n_bytes, what=""):
    """Skip the current parameter combination (NotImplementedError) above the budget."""
    budget = max_bytes()
    if n_bytes > budget:
        raise NotImplementedError(
            f"{what} needs about {n_bytes / 2**20:.0f} MiB, over the "
            f"{budget / 2**20:.0f} MiB budget of profile {profile()!r}.")


def kernel_bytes(n_samples, n_features, n_components, covariance_type, dtype):
    """Memory of a kernel benchmark: X, the N x K scoring output, the parameters."""
    itemsize = np.dtype(dtype).itemsize
    x_bytes = n_samples * n_features * itemsize
    out_bytes = n_samples * n_components * itemsize
    if covariance_type == "full":
        param_floats = n_components * n_features * n_features
    elif covariance_type == "tied":
        param_floats = n_features * n_features
    else:
        param_floats = n_components * n_features
    return x_bytes + out_bytes + 8 * 4 * param_floats
