"""The memory a fit needs, estimated before anything of the model's size is allocated.

A mixture of full covariances holds ``K d^2`` floats per array of
covariances: at K=2000, d=500 one such array is 3.73 GiB, and a fit that
cannot hold the few it needs would otherwise run for a while (the k-means
start included) and then fail with numpy's allocation error, or push the
machine into swap. :func:`check_fit_memory` compares the estimate of
:func:`fit_memory_bytes` with the memory available and refuses with a
ValueError naming both and the ways out.

``FASTGMM_MEMORY_LIMIT`` (environment, read at each fit)
    Unset: the limit is ``MemAvailable`` of ``/proc/meminfo`` (no check
    where that file does not exist). A number of bytes: that limit instead.
    ``0``: no check.
"""

import math
import os

import numba
import numpy as np

from . import _config, _covariance
from ._kernels.logprob import ROW_PAD

_GIB = float(2**30)


def _fmt(n_bytes):
    if n_bytes >= 2**30:
        return f"{n_bytes / _GIB:.2f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"


def fit_memory_bytes(n_samples, n_features, n_components, covariance_type, *,
                     itemsize=8, n_init=1, init_params="kmeans", n_threads=None):
    """Upper estimate of the memory a fit allocates beyond X, in bytes.

    Written from the allocations of the fit (``_init``, ``_em``, ``_stats``,
    ``GaussianMixture._fitted_arrays``). With C the bytes of one float64
    array of the covariances' size (``8 K d^2`` for 'full', ``8 d^2`` for
    'tied', ``8 K d`` for 'diag', ``8 K`` for 'spherical'), the estimate is
    the sum of:

    - the model arrays, ``3 C``: at most three such arrays are alive at
      once. The start and every M-step hold the scatters, the new
      covariances and their Cholesky factors (written in place, component by
      component, with temporaries of at most a few
      ``_config.MSTEP_BLOCK_BYTES``); a pass holds the
      factors and the scatters being summed; the fitted model is the
      covariances, their factors and the precisions. float32 data add the
      fitted arrays' float32 copies: ``4.5 C``. ``n_init > 1`` adds ``2 C``:
      the best start's covariances and factors, kept while the next start
      runs.
    - per-component arrays: ``12 * 8 K d`` (means, first moments, centres,
      k-means sums and their copies), and one d x d temporary ('full',
      'tied').
    - a pass: its partial statistics, ``min(2 PART_BYTES, 2 B n_blocks)``
      with B the bytes of one block's statistics (at most
      ``_config.PART_BYTES`` of parts and their sum; where one block exceeds
      it, the scatters are added in place and only the rest counts), and
      per thread a block's scratch, ``8 (chunk_size + ROW_PAD) (5 d + K)``.
    - the start: a chunk of rows, ``8 rows (K + 3 d)`` (responsibilities,
      rows, deviations, weighted deviations; ``rows`` as ``_init``), and for
      the k-means starts its per-row arrays, ``8 N (6 + log K)`` (labels,
      distances, the k-means++ candidates' distances); for 'hc' the
      hierarchical clustering, ``8 (m^2 + m (4 d + d^2))`` with m at most
      ``_config.HC_MAX_SAMPLES`` rows.

    Parameters
    ----------
    n_samples, n_features, n_components : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    itemsize : int, default=8
        4 for float32 data.
    n_init : int, default=1
    init_params : str, default='kmeans'
    n_threads : int, optional
        Threads of the kernels (default: numba's current number).

    Returns
    -------
    n_bytes : int
    """
    from ._init import _chunk_rows

    f64 = 8
    n, d, k = n_samples, n_features, n_components
    cov_model = _covariance.get(covariance_type)
    cov_floats = cov_model.covariance_floats(k, d)
    cov_bytes = f64 * cov_floats
    model = (4.5 if itemsize == 4 else 3.0) * cov_bytes
    if n_init > 1:
        model += 2 * cov_bytes
    per_component = 12 * f64 * k * d
    if cov_model.matrix:
        per_component += f64 * d * d
    chunk = _config.pass_chunk_size(d)
    small, scatter = cov_model.block_floats(k, d)
    block = f64 * (small if cov_model.accumulates(k, d) else small + scatter)
    n_blocks = -(-n // chunk)
    threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    passes = (min(2 * _config.PART_BYTES, 2 * block * n_blocks)
              + threads * f64 * (chunk + ROW_PAD) * (5 * d + k))
    start = f64 * min(n, _chunk_rows(d, k)) * (k + 3 * d)
    if init_params in ("kmeans", "k-means++"):
        start += f64 * n * (6 + math.log(max(k, 1)))
    elif init_params == "hc":
        # The hierarchical clustering of at most HC_MAX_SAMPLES rows: its
        # matrix of merge costs, the rows, their transform and scatters.
        m = min(n, _config.HC_MAX_SAMPLES)
        start += f64 * (m * m + m * (4 * d + d * d))
    return int(model + per_component + passes + start)


def memory_limit():
    """The bytes a fit may use: ``FASTGMM_MEMORY_LIMIT`` or ``MemAvailable``.

    None when there is no limit to check against (``FASTGMM_MEMORY_LIMIT=0``,
    or no ``/proc/meminfo``).
    """
    value = os.environ.get("FASTGMM_MEMORY_LIMIT", "").strip()
    if value:
        try:
            limit = int(float(value))
        except ValueError:
            raise ValueError(
                f"FASTGMM_MEMORY_LIMIT must be a number of bytes (0: no check); got "
                f"{value!r}."
            ) from None
        return limit if limit > 0 else None
    return available_memory()


def available_memory():
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# A fit needing at most this much besides X is not checked against the
# available memory unless FASTGMM_MEMORY_LIMIT is set.
SMALL_FIT_BYTES = 32 << 20


def check_fit_memory(n_samples, n_features, n_components, covariance_type, dtype,
                     n_init=1, init_params="kmeans", n_threads=None):
    """Refuse, before anything of the model's size exists, a fit that cannot fit in memory.

    A fit that needs at most ``SMALL_FIT_BYTES`` besides X is let through
    without reading the available memory, unless ``FASTGMM_MEMORY_LIMIT``
    is set.

    Raises
    ------
    ValueError
        When :func:`fit_memory_bytes` exceeds :func:`memory_limit`, naming
        both, the size of one array of the covariances, and the ways out that
        fit within the limit: a smaller covariance type, fewer components,
        float32 data.
    """
    itemsize = np.dtype(dtype).itemsize

    def needed(k=n_components, cov=covariance_type, size=itemsize):
        return fit_memory_bytes(n_samples, n_features, k, cov, itemsize=size,
                                n_init=n_init, init_params=init_params,
                                n_threads=n_threads)

    need = needed()
    if need <= SMALL_FIT_BYTES and not os.environ.get("FASTGMM_MEMORY_LIMIT", "").strip():
        # Not worth reading /proc/meminfo (about 0.5 ms, which model
        # selection would pay in each of its fits).
        return
    limit = memory_limit()
    if limit is None or need <= limit:
        return
    ways = []
    for cov in ("diag", "spherical"):
        if cov != covariance_type and needed(cov=cov) <= limit:
            ways.append(f"covariance_type={cov!r} (about {_fmt(needed(cov=cov))})")
            break
    lo, hi = 0, n_components - 1  # the largest k <= hi with needed(k) <= limit, or 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if needed(k=mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    if lo >= 1:
        ways.append(f"fewer components (n_components={lo} needs about "
                    f"{_fmt(needed(k=lo))})")
    if itemsize == 8 and needed(size=4) <= limit:
        ways.append(f"float32 data (X.astype(np.float32): about {_fmt(needed(size=4))})")
    if n_init > 1 and fit_memory_bytes(n_samples, n_features, n_components,
                                       covariance_type, itemsize=itemsize,
                                       init_params=init_params,
                                       n_threads=n_threads) <= limit:
        ways.append("n_init=1")
    array = _covariance.get(covariance_type).covariance_floats(n_components, n_features) * 8
    source = ("is allowed (FASTGMM_MEMORY_LIMIT)" if os.environ.get("FASTGMM_MEMORY_LIMIT")
              else "is available")
    raise ValueError(
        f"This fit needs about {_fmt(need)} of memory besides X, and {_fmt(limit)} "
        f"{source}: with covariance_type={covariance_type!r}, n_components="
        f"{n_components} and {n_features} features, one array of the covariances "
        f"is {_fmt(array)}, and the fit holds {3 if n_init == 1 else 5} at once (the "
        "covariances, their Cholesky factors and the precisions"
        + (", and those of the best start" if n_init > 1 else "") + "). "
        + ("Use " + ", or ".join(ways) + ". " if ways else
           "No smaller covariance type or number of components fits: reduce the "
           "number of features, or free memory. ")
        + "FASTGMM_MEMORY_LIMIT sets another limit in bytes (0: no check)."
    )
