"""Where a full-covariance pass spends its time: CPU time per stage, one thread.

Run: ``python asv_benchmarks/pass_breakdown.py [N:d:K] [float32] [tiles]``
(default ``200000:16:16``, shape b of ``fastgmm.bench``; float64 unless
``float32`` is given, which runs the stages as the fused pass runs them for
float32 data: scored and scattered in float32, responsibilities in float64;
the log-densities by the product the pass uses for these data, or by the
column tiles with ``tiles``; the statistics always by stored rows and tiles,
also where the pass takes them in one float64 sweep or by the tiled statistics,
``em_pass.stats_sweep``). A serial loop over
256-row blocks calls the block helpers of the fused pass
(``fastgmm._kernels``) stage by stage: loading the block, the log-densities
(triangular products), the log-sum-exp, the responsibilities and first
moments, the scatter. Each stage's time is the difference of the minimum
``time.thread_time()`` of runs stopping after it and before it (7 runs), and
the product and the scatter are given in GFLOP/s of the multiply-adds they
need (``N K d (d + 1)`` flops each, upper triangles only).
"""

import sys
import time

import numpy as np
from numba import njit

from fastgmm._config import FASTMATH
from fastgmm._kernels.em_pass import (
    _block_first_moments,
    _block_loglik,
    _block_resp,
    _block_scatter,
)
from fastgmm._kernels import kernel_variant
from fastgmm._kernels.logprob import (ROW_PAD, block_log_prob_full, block_log_prob_full_uncentred,
                                      block_normalize, centred_product, load_block,
                                      unrolled_log_prob_kernels, unrolled_product)

CHUNK = 256
STAGES = ["load", "log-densities", "log-sum-exp", "responsibilities + moments", "scatter"]


@njit(fastmath=FASTMATH, nogil=True)
def _run(X, means, precisions_chol, const, last_stage):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    width = CHUNK + ROW_PAD
    dtype = X.dtype
    xt = np.empty((n_features, width), dtype)
    logp = np.empty((n_components, width))
    dev = np.empty((n_features, width), dtype)
    rdev = np.empty((n_features, width), dtype)
    y = np.empty((n_features, width), dtype)
    mean_u = np.empty(n_features, dtype)
    sq = np.empty(CHUNK, dtype)
    lse = np.empty(CHUNK)
    total = np.empty(CHUNK)
    w = np.ones(CHUNK)
    r = np.empty(CHUNK, dtype)
    zero = np.zeros(1, dtype)[0]
    sx = np.empty((n_components, n_features))
    sxx = np.zeros((n_components, n_features, n_features))
    check = 0.0
    for start in range(0, n_samples - CHUNK + 1, CHUNK):
        load_block(X, start, CHUNK, xt)
        if last_stage >= 1:
            block_log_prob_full(xt, CHUNK, means, precisions_chol, const, logp, mean_u, y, sq)
        if last_stage >= 2:
            block_normalize(logp, CHUNK, lse, total)
            check += _block_loglik(CHUNK, lse, w, total, True)
        if last_stage >= 3:
            for k in range(n_components):
                _block_resp(logp, k, CHUNK, total, r)
                check += _block_first_moments(xt, CHUNK, means[k], r, dev, rdev, zero, sx[k])
                if last_stage >= 4:
                    _block_scatter(CHUNK, rdev, dev, sxx[k], zero, False)
    return check + xt[0, 0]


def main():
    specs = [arg for arg in sys.argv[1:] if ":" in arg]
    spec = specs[0] if specs else "200000:16:16"
    n_samples, n_features, n_components = (int(v) for v in spec.split(":"))
    rng = np.random.default_rng(0)
    dtype = np.float32 if "float32" in sys.argv[2:] else np.float64
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    means = rng.normal(size=(n_components, n_features)).astype(dtype)
    precisions_chol = np.triu(0.1 * rng.normal(size=(n_components, n_features, n_features))
                              + np.eye(n_features)).astype(dtype)
    const = rng.normal(size=n_components)
    # The product the fused pass runs for these data (logprob.unrolled_product,
    # then logprob.centred_product), or the tiles with ``tiles``.
    if unrolled_product(n_features, dtype) and "tiles" not in sys.argv[2:]:
        run = kernel_variant(_run, f"_unrolled{n_features}",
                             {"block_log_prob_full": unrolled_log_prob_kernels(n_features)[1]},
                             fastmath=FASTMATH, nogil=True)
    elif centred_product(n_features, dtype):
        run = _run
    else:
        run = kernel_variant(_run, "_uncentred",
                             {"block_log_prob_full": block_log_prob_full_uncentred},
                             fastmath=FASTMATH, nogil=True)
    best = []
    for last_stage in range(len(STAGES)):
        run(X, means, precisions_chol, const, last_stage)  # compile
        times = []
        for _ in range(7):
            t0 = time.thread_time()
            run(X, means, precisions_chol, const, last_stage)
            times.append(time.thread_time() - t0)
        best.append(min(times))
    flops = n_samples * n_components * n_features * (n_features + 1)
    print(f"N={n_samples} d={n_features} K={n_components}, full, {np.dtype(dtype).name}, one thread:")
    for i, name in enumerate(STAGES):
        ms = 1e3 * (best[i] - (best[i - 1] if i else 0.0))
        rate = f"  ({flops / ms / 1e6:.0f} GFLOP/s)" if name in ("log-densities", "scatter") else ""
        print(f"  {name:28s} {ms:6.1f} ms{rate}")
    print(f"  {'total':28s} {1e3 * best[-1]:6.1f} ms")


if __name__ == "__main__":
    main()
