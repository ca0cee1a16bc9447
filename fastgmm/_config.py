"""Every tunable of fastgmm in one place.

Read once at import time; change them through the environment before
importing fastgmm. An empty variable counts as unset; any other value that
is not allowed raises ``ValueError`` at import, naming the variable, its
value and what it accepts (never a silent default).

``FASTGMM_NUMBA_CACHE``
    ``1`` (default; also ``true``, ``yes``, ``on``) caches compiled kernels
    on disk next to the modules, so only the first process pays the
    compile; ``0`` (also ``false``, ``no``, ``off``) turns the cache off.
    Case is ignored.
``FASTGMM_CHUNK_SIZE``
    Rows per block of the fused passes, a whole number from 1 to
    ``MAX_CHUNK_SIZE`` (4096; default: 256, and for the fused EM passes 512,
    and 1024 for data of at most 2 features, see ``pass_chunk_size``). Every block writes its own partial
    statistics, summed afterwards in a fixed order; results do not depend
    on the thread count, and change only in the last bits with the block
    size.
"""

import math
import os

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env(environ, name):
    """The stripped value of ``name`` in ``environ``; None when unset or empty."""
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def read_numba_cache(environ=os.environ):
    """``FASTGMM_NUMBA_CACHE`` as a bool (True when unset)."""
    value = _env(environ, "FASTGMM_NUMBA_CACHE")
    if value is None:
        return True
    if value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(
        f"FASTGMM_NUMBA_CACHE={environ['FASTGMM_NUMBA_CACHE']!r} is not allowed: set "
        "it to '1' (also true, yes, on) to cache compiled kernels on disk, or '0' "
        "(also false, no, off) to compile in every process; unset, the cache is on."
    )


def read_chunk_size(environ=os.environ):
    """``FASTGMM_CHUNK_SIZE`` as an int from 1 to ``MAX_CHUNK_SIZE``, or None when unset."""
    value = _env(environ, "FASTGMM_CHUNK_SIZE")
    if value is None:
        return None
    try:
        rows = int(value)
    except ValueError:
        rows = None
    if rows is None or not 1 <= rows <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"FASTGMM_CHUNK_SIZE={environ['FASTGMM_CHUNK_SIZE']!r} is not allowed: set "
            f"it to a whole number of rows per block from 1 to {MAX_CHUNK_SIZE}, or "
            "unset it for the default (256; 512 for the EM passes, 1024 for at most 2 "
            "features)."
        )
    return rows


# Largest block (rows) of any pass: FLOAT32_PASS_MAX_ABS below is derived
# from it, so FASTGMM_CHUNK_SIZE may not exceed it and the driver caps a
# larger ``chunk_size`` argument to it (``block_rows``). Larger blocks gain
# nothing: the point of a block is that its rows and scratch stay in cache
# (1024 rows was the best size measured, for at most 2 features).
MAX_CHUNK_SIZE = 4096

NUMBA_CACHE = read_numba_cache()

# LLVM fast-math flags, leaving out ``nnan`` and ``ninf``: log-sum-exp relies
# on -inf (a zero weight) propagating correctly, and the checks of X by its
# column moments (``KMeans.fit``, ``_spurious.checked_variances``) on a NaN
# or an infinity making its column's moments NaN. (``reassoc`` with ``nsz``
# would let LLVM fold ``(x - y) + y`` into ``x``: the moments' kernels must
# not take that shape, which would drop the NaN an infinity makes.)
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

def host_has_avx512(cpu_name=None, cpu_features=None):
    """Whether Numba compiles for a CPU with AVX-512 (32 vector registers; AVX2 has 16).

    Numba's ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES``, when set, name the
    target; otherwise it is this host. Kernels choose register tiles by it
    (``_kernels.em_pass._block_scatter``); Numba's cache keys its entries by
    the target CPU, so a cached kernel always matches this choice.
    """
    from numba import config

    cpu_name = config.CPU_NAME if cpu_name is None else cpu_name
    cpu_features = config.CPU_FEATURES if cpu_features is None else cpu_features
    if cpu_features is None:
        if cpu_name is not None:
            return False
        import llvmlite.binding as llvm

        cpu_features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in cpu_features.split(",")


HOST_AVX512 = host_has_avx512()

_CHUNK_SIZE_ENV = read_chunk_size()
CHUNK_SIZE = 256 if _CHUNK_SIZE_ENV is None else _CHUNK_SIZE_ENV

# Rows per block of the fused EM passes from LOW_D_MAX_FEATURES + 1 features
# on. The fixed costs of a block's tiles (their set-up, and the sums of the
# vector accumulators into each scatter entry) are spread over twice the rows
# of CHUNK_SIZE. Measured on an AMD EPYC (Zen 3, AVX2), one pass, one thread,
# CPU time, medians of 7-9 passes alternating the sizes
# (``asv_benchmarks/pass_chunk_size.py``), 256 -> 512 rows, float64 / float32:
# N=2e5 d=16 K=16 full 139.6 -> 131.3 / 103.8 -> 87.4 ms; N=5e4 d=32 K=16
# full 106.3 -> 99.9 / 72.2 -> 60.6; N=1e5 d=64 K=32 diag 94.7 -> 94.7 /
# 61.8 -> 58.1; N=1e5 d=8 K=8 full 13.6 -> 13.0 / 15.9 -> 14.3. 1024 rows
# were faster still for some shapes and slower for others.
PASS_CHUNK_SIZE = 512 if _CHUNK_SIZE_ENV is None else _CHUNK_SIZE_ENV

# With one or two features a block's work per row is a few operations, and
# the fixed costs of a block (its scratch arrays, the per-component loop
# starts and reductions) weigh: 1024-row blocks made the serial pass of
# N=1e6, d=2, K=8 (full) about 1.3x faster than 256-row blocks
# (``asv_benchmarks/pass_cpu_time.py a``, FASTGMM_CHUNK_SIZE=256 vs 1024),
# with no gain from 4 features on.
LOW_D_MAX_FEATURES = 2
LOW_D_CHUNK_SIZE = 1024


def pass_chunk_size(n_features):
    """Rows per block of the fused EM pass for data of ``n_features`` columns.

    ``FASTGMM_CHUNK_SIZE``, when set, for every shape; otherwise
    ``LOW_D_CHUNK_SIZE`` up to ``LOW_D_MAX_FEATURES`` features and
    ``PASS_CHUNK_SIZE`` above. It depends on the shape only, never on the
    thread count.
    """
    if _CHUNK_SIZE_ENV is None and n_features <= LOW_D_MAX_FEATURES:
        return LOW_D_CHUNK_SIZE
    return PASS_CHUNK_SIZE


def block_rows(chunk_size, default):
    """Rows per block for a pass asked for ``chunk_size`` rows (``default``
    when None or 0), capped at ``MAX_CHUNK_SIZE``."""
    return min(int(chunk_size or default), MAX_CHUNK_SIZE)

# float32 data are scored, and their second moments summed within a block,
# in float32 (the rule is in ``fastgmm._kernels``); data with larger values
# than FLOAT32_PASS_MAX_ABS are passed as float64. The bound follows from the
# cap on the block size, whatever block size is in use. A float32 sum of one
# block is at most
#     MAX_CHUNK_SIZE * FLOAT32_PASS_MAX_WEIGHT * (2 * A)**2 * (1 + 2**-10)
# for data with |x| <= A: every term is a responsibility times a sample
# weight (below FLOAT32_PASS_MAX_WEIGHT: a fit rescales its weights so that
# the largest lies in [1, 2), unit weights are 1) times a product of two
# deviations from a centre, |x - mu| <= 2 A (means, and the tied shift, are
# weighted averages of rows); summing n terms in float32 adds at most
# (n - 1) * 2**-24 <= 2.5e-4 < 2**-10 relative for n <= 4096. Keeping that
# below float32's largest value gives
#     A = sqrt(FLOAT32_MAX / (8 * MAX_CHUNK_SIZE * (1 + 2**-10))),
# 1.0186e17 for 4096 rows (it was the rounder 1e17 before it was derived).
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_PASS_MAX_WEIGHT = 2.0
FLOAT32_PASS_MAX_ABS = math.sqrt(
    FLOAT32_MAX / (FLOAT32_PASS_MAX_WEIGHT * 4 * MAX_CHUNK_SIZE * (1 + 2**-10)))

# Passes over fewer blocks than this run the serial twin of a kernel. A
# parallel region costs little on an idle machine, but while other processes
# hold the cores, waking the pool's threads can cost a scheduler time slice
# per region, far more than a few blocks of work (a 272-row fit was seen
# taking seconds instead of milliseconds on a loaded 2-core machine).
PARALLEL_MIN_BLOCKS = 16

# Full covariances of at least this many features run their pass by BLAS-3
# on blocks of BLAS_PASS_CHUNK_SIZE rows (``fastgmm._blocked``) instead of
# the per-point tiled kernels. Measured on 2 loaded cores (AMD EPYC, AVX2;
# ``asv_benchmarks/large_d_profile.py --threshold``, Numba pass / BLAS pass):
# K=4, N=2000: d=128 0.54 (float32) 0.66 (float64), d=256 1.01 / 1.54,
# d=512 1.86 / 2.57; K=8, N=4000: d=160 1.46 / 1.22, d=192 1.03 / 1.31,
# d=224 1.22 / 1.43; K=10, N=4000, float64: d=128 1.22, d=192 1.40.
# With AVX-512 (AMD EPYC; ``python asv_benchmarks/blas_threshold.py
# full:D:K:N:DTYPE ...``, separate processes alternating, medians of 3, the
# grid's rows), float64 / float32: d=64 K=8 0.42 / -, K=32 0.43 / -, K=64
# 0.50 / -; d=96 K=8 0.83 / -; d=128 K=8 1.31 / 0.88 (and 0.86 on 1525
# rows), K=16 1.43 / -, K=64 1.40 / 1.01; d=160 K=8 1.66 / 1.08; d=192 K=8
# 1.97 / 1.56; d=256 K=8 2.72 / 1.86, K=64 2.86 / -; d=384 K=8 3.25 / -.
# From 160 features both dtypes gain (at 128 float64 would, float32 not).
BLAS_PASS_MIN_FEATURES = 160 if HOST_AVX512 else 192

# Up to this many features (but two, which have kernels of their own) the
# product of 'full' is one straight-line loop per number of features
# (``_kernels.logprob.unrolled_squared_norm``), by dtype; above, the column tiles. With AVX-512
# (32 vector registers), whole fits from the same start (N=1e5, K=16, 5
# iterations, tiles -> unrolled, medians of 5 alternating rounds in one
# process, ms per iteration): float64 d=1 1.21 -> 1.08, d=3 3.51 -> 2.77,
# d=18 23.66 -> 21.03, d=20 27.85 -> 23.37, d=22 35.39 -> 29.14, d=23 37.22
# -> 30.39, d=24 32.11 -> 31.98, d=28 45.55 -> 47.09; float32 d=15 12.29 ->
# 11.06, d=16 11.96 -> 11.31, d=20 16.94 -> 15.82, d=24 21.43 -> 18.40, d=28
# 27.46 -> 24.76, d=32 37.85 -> 42.83 (shape b, N=2e5: 38.63 -> 33.46).
# Without AVX-512 (16 registers; compiled with NUMBA_CPU_NAME=haswell on the
# same host, one 256-row block, one thread) d=4 and d=8 gained in both
# dtypes, d=12 tied in float64 and lost in float32.
UNROLLED_MAX_FEATURES = ({"float64": 23, "float32": 28} if HOST_AVX512
                         else {"float64": 8, "float32": 8})

# Up to this many features (with the unrolled product: UNROLLED_MAX_FEATURES),
# 'full' takes each component's statistics of a block in one sweep over its
# rows (``_kernels.em_pass.stats_sweep``: nothing stored per row, every
# sum in float64, as for two features) instead of storing the
# responsibilities and sweeping once per tile of the scatter (up to
# SCATTER_SWEEP_MAX_FEATURES, the tiled statistics below; above it, storing
# D and r D too and summing the scatter in tiles). The one sweep was first
# measured against the stored rows and tiles (AVX-512, one serial pass over
# 2e5 rows, 512-row blocks, CPU time, minimum of 5, tiles -> one sweep,
# ms): float64 d=3 K=9 6.25 -> 4.34, d=5 9.62 -> 6.33, d=7 13.49 -> 10.25,
# d=8 K=16 24.8 -> 19.5, d=10 34.4 -> 30.8, d=12 40.2 -> 40.9; float32
# (float64 sums against float32 tiles) d=3 K=9 4.57 -> 3.90, d=6 6.92 ->
# 6.27. Against the tiled statistics, which sum nk and sx in the diagonal
# tiles (one component's statistics of a 512-row block, one thread, the
# responsibilities stored included, one sweep / tiled, ns): float64 d=2
# 113 / 144, d=3 192 / 224, d=5 403 / 489, d=6 576 / 682, d=7 801 / 817
# and 1409 / 827, d=8 1220 / 998, d=10 2546 / 1575, d=12 2045 / 1989,
# d=16 3840 / 3389; float32 (float64 sums against float32 ones) d=1 76 /
# 140, d=3 221 / 170, d=4 305 / 222, d=6 724 / 380, d=8 1261 / 550. The
# serial pass (same measure as above, three alternating rounds, this rule
# against 16 / 6): float64 200000:8:16 19.0 / 18.8 -> 17.2 / 17.2 ms,
# 200000:16:16 51.4 / 59.9 -> 49.9 / 51.6; float32 200000:4:9 4.1 / 4.3 /
# 4.3 -> 3.9 / 3.8 / 3.8, 200000:6:9 5.7 / 5.7 / 5.8 -> 5.6 / 5.1 / 5.1;
# float64 d=7 K=16 with the tiled statistics 17.9 / 16.6 / 15.1, the one
# sweep 15.8 / 15.4 / 15.5. Compiled for AVX2 (NUMBA_CPU_NAME=haswell, same
# host, block statistics as above): float64 d=6 561 / 696, d=7 824 / 887,
# d=8 1180 / 1064; float32 d=3 219 / 171. The same thresholds with and
# without AVX-512; with so few features the sweep's sums fit the registers
# in one sweep.
ONE_SWEEP_STATS_MAX_FEATURES = {"float64": 7, "float32": 2}
ONE_SWEEP_TILE = 4

# Above ONE_SWEEP_STATS_MAX_FEATURES and up to this many features, the
# unrolled kernels store only each component's responsibilities of a block
# and sweep the rows once per ONE_SWEEP_TILE x ONE_SWEEP_TILE tile of the
# scatter, its sums (and those of sx, taken in the diagonal tiles) in X's
# dtype (``_kernels.em_pass.tiled_block_stats``; float32 sums fill 16 lanes
# of an AVX-512 register where the float64 sweep's fill 8), instead of
# storing D and r D and then summing the scatter tiles. The figures below
# are of its first version, which summed nk and sx in a loop of their own
# (in float64); taking them in the diagonal tiles' sweeps, in X's dtype,
# made one component's statistics of a 512-row block (same measure, two
# runs) float32 d=8 939 -> 495, d=12 1669 -> 1025, d=16 2610 -> 1757,
# float64 d=17 4958 -> 3870, d=20 5846 -> 5127, d=23 8380 -> 6587 ns.
# One component's statistics of
# a 512-row block, one thread, against the stored rows and tiles, ns (AVX-512,
# three repetitions agreeing within 5 %): float32 d=7 2218 -> 1461, d=8
# 2116 -> 1667, d=10 2757 -> 2130, d=12 2915 -> 2452, d=16 4020 -> 3475,
# d=20 4888 -> 4564, d=24 6293 -> 6010; float64 d=17 8598 -> 6076, d=20 8152
# -> 6974, d=23 10261 -> 8420 (and against the float64 one sweep, which
# then stayed below 17 features: d=8 1957 -> 2091, d=12 2631 -> 3299, d=16
# 4146 -> 4891). Compiled for AVX2 (NUMBA_CPU_NAME=haswell, same host), float32:
# d=6 1732 -> 1340, d=7 2060 -> 1454, d=8 2078 -> 1624 (float64 d=8: see
# ONE_SWEEP_STATS_MAX_FEATURES). float32 stops at 20, below the unrolled
# product's 28: each width's generated statistics are a function of their
# own, and compile for seconds. The current version against the stored rows
# (ns, as above): float32 d=17 3542 -> 2091, d=20 4533 -> 2809, d=24 5168
# -> 3898, d=28 6540 -> 5289; whole fits (asv_benchmarks/grid_ab.py, 5
# iterations, N=1e5, K=16, ms per iteration) d=20 16.56 -> 14.69 (3 rounds;
# a first 2-round run gave 25.13 -> 20.72 on a loaded host), d=24 18.72 ->
# 18.19 (2 rounds), against the first process's compile
# (asv_benchmarks/cold_compile.py --float32, FASTGMM_NUMBA_CACHE=0) d=20
# 30.17 -> 34.77 s, d=24 31.80 -> 45.70 s.
SCATTER_SWEEP_MAX_FEATURES = ({"float64": 23, "float32": 20} if HOST_AVX512
                              else {"float64": 8, "float32": 8})
# The sweeps are variants of the unrolled kernels: never wider than them.
assert all(ONE_SWEEP_STATS_MAX_FEATURES[t] <= SCATTER_SWEEP_MAX_FEATURES[t]
           <= UNROLLED_MAX_FEATURES[t] for t in UNROLLED_MAX_FEATURES)
BLAS_PASS_CHUNK_SIZE = 512

# 'tied' covariances of at least this many features run their pass by BLAS-3
# on blocks of BLAS_TIED_CHUNK_SIZE rows (``fastgmm._blocked.em_pass_tied``;
# blocks of 256 rows give a pass of 500 rows two blocks, one per thread).
# Measured on 2 loaded cores (AMD EPYC, AVX2), pass time Numba / BLAS,
# N=1000, K=1, medians of 5 alternating (the two paths of asv's
# ``bench_kernels.LargeDBlockPass``; noisy, other work on the cores): d=192 0.70 (float64) 0.66 (float32),
# d=256 1.33 / 0.58, d=384 0.68 / 0.93, d=512 1.40 / 1.05; N=500, K=1:
# d=1024 1.36 / 1.13, d=2048 1.15 / 1.85; K=16: d=1024 1.28 / 1.21,
# d=2048 2.12 / 1.63.
BLAS_TIED_MIN_FEATURES = 512
BLAS_TIED_CHUNK_SIZE = 256
# The blocks of that pass in flight at once (one per thread) hold a d x d
# scatter each: at most this many bytes of them (two at d = 2048, float64),
# so that many threads do not multiply the model's memory.
BLAS_TIED_SCRATCH_BYTES = 2**26

# 'diag' covariances of at least BLAS_DIAG_MIN_FEATURES features and
# BLAS_DIAG_MIN_COMPONENTS components (half as many from
# BLAS_DIAG_WIDE_FEATURES features on; 'spherical': BLAS_SPHERICAL_*
# below) run their pass by GEMMs on blocks
# (``fastgmm._blocked.em_pass_diag``). The GEMMs' inner dimension is K:
# with few components they run near memory speed and lose to the fused
# loop. Measured on 2 loaded cores, N=953 (two blocks), pass time Numba /
# BLAS (as for 'tied'), medians of 5 alternating, float64 / float32: K=256: d=256 1.56 /
# 1.32, d=512 1.38 / 1.52, d=2048 1.34 / 2.19; K=128: d=256 1.42 / 1.47,
# d=512 1.03 / 2.97, d=1024 1.29 / 1.58; K=64: d=512 0.89 / 1.09, d=1024
# 2.10 / 1.25, d=2048 0.95 / 1.47; earlier, N=1000: K=16 d=512 0.53 / 0.90,
# d=2048 0.96 / 1.12; K=1 0.11 to 0.35.
BLAS_DIAG_MIN_FEATURES = 256
BLAS_DIAG_MIN_COMPONENTS = 128
BLAS_DIAG_WIDE_FEATURES = 1024
# With AVX-512 the Numba pass runs eight float64 lanes to AVX2's four and
# the crossing moves up: 'diag' also needs n_components * n_features >=
# BLAS_DIAG_MIN_WORK there. Pass time Numba / BLAS on an AMD EPYC with
# AVX-512 (``python asv_benchmarks/blas_threshold.py CELL ...``, the grid's
# rows, medians of 3 alternating processes), float64 / float32: d=256
# K=128 0.77 / 0.58, K=192 0.79 / -, K=256 1.44 / 1.02; d=384 K=128 0.79 /
# -; d=512 K=32 0.72 / -, K=64 0.74 / 0.86, K=128 1.17 / 1.03, K=256 1.79
# / 1.47; d=1024 K=32 0.76 / 0.83, K=64 1.49 / 1.47, K=128 1.63 / -;
# d=2048 K=64 1.91 / 1.91, K=256 2.26 / 1.88. The AVX2 host's crossing
# (above) was at K d = 32768 (d=256 K=128 1.42 / 1.47).
BLAS_DIAG_MIN_WORK = 256 * 256 if HOST_AVX512 else 0
# 'spherical' from BLAS_SPHERICAL_MIN_FEATURES features and
# n_components * n_features >= BLAS_SPHERICAL_MIN_WORK, and for any number
# of components from BLAS_SPHERICAL_WIDE_FEATURES features: its BLAS pass
# has one GEMM for the log-densities and one for the statistics (where
# 'diag' has two of each), so it pays from fewer components. Pass time
# Numba / BLAS (``python asv_benchmarks/blas_threshold.py CELL ...``:
# separate processes alternating, medians of 3, 2 threads; the grid's
# rows), float32 / float64: d=256 K=32 0.59 / -, K=128 0.75 / -; d=512
# K=16 0.83 and 0.84 / -, K=32 1.18 / 1.17, K=64 1.14 / 1.35; d=1024 K=1 0.96 /
# 1.28, K=2 1.47 / -, K=8 1.60 / -, K=16 1.63 / 1.86; d=2048 K=1 1.10 /
# 1.33, K=4 1.56 / -, K=8 1.73 / 2.08 (the rule takes d=1024 K=1 float32,
# 0.96, within the noise, for the simpler rule).
BLAS_SPHERICAL_MIN_FEATURES = 512
BLAS_SPHERICAL_MIN_WORK = 512 * 32
BLAS_SPHERICAL_WIDE_FEATURES = 1024
# With AVX-512, 'spherical' also takes the BLAS pass from
# BLAS_SPHERICAL_LARGE_WORK_MIN_FEATURES features where n_components *
# n_features >= BLAS_SPHERICAL_LARGE_WORK (the crossing of 'diag' there).
# Pass time Numba / BLAS on an AMD EPYC with AVX-512 (same script, medians
# of 3), float32 / float64: d=256 K=128 0.89 / -, K=192 0.92 / 1.37, K=256
# 1.60 / 2.66; d=384 K=128 1.02 / -, K=256 2.02 / -. The rule above left
# d=256 K=256 float32 on the Numba pass, slower than scikit-learn in the
# grid (0.83x and 1.00x in two runs).
BLAS_SPHERICAL_LARGE_WORK_MIN_FEATURES = 256
BLAS_SPHERICAL_LARGE_WORK = 256 * 256 if HOST_AVX512 else math.inf
# The large-d 'diag' / 'spherical' pass computes a block's log-density GEMM
# as (rows @ coef.T).T up to this many components, coef @ rows.T above.
# OpenBLAS, one thread, 512 rows x 2048 features, float32: K=64 90 against
# 71 GFLOP/s, K=256 96 against 93; float64 within 5 % either way. Passes,
# this orientation against the other (in-process alternating, medians of 6,
# float32): spherical d=2048 K=64 17.8 against 21.6 ms (15.0 against 16.3
# in a second run), diag d=2048 K=64 24.3 against 27.5; at K=256 the
# transposed sum into the log-densities made it up to 4 % slower
# (spherical d=512 17.7 against 17.0 ms; 16.8 against 16.9 in a second run).
BLAS_SCORES_ROWS_FIRST_MAX_COMPONENTS = 64

# Upper bound on the memory of the per-block partial statistics of one kernel
# call; the driver splits a pass into segments of blocks to stay below it.
# Every block of a segment is a task for the threads, so the budget bounds
# the parallelism of models with large scatters (K d^2 floats a block): with
# 8 MiB, N=5e4, d=64, K=32 'full' (1 MiB a block) has segments of 7 blocks,
# and on a 16-core Xeon its pass took 89.2 ms at 8 threads and 109.0 ms at
# 16 (585 ms at one); with 64 MiB (63 blocks a segment) 92.2 and 67.4 ms
# (588 ms at one) (``asv_benchmarks/part_budget.py --threads 1,8,16
# --budgets 8,64``, medians of 5).
PART_BYTES = 64 * 2**20

# The sums of a pass's partial statistics (``_em.add_block_sums``) run on
# the threads from REDUCE_PARALLEL_MIN_THREADS threads and this many values
# read; otherwise numpy sums them row after row, which on one or two
# threads is the faster (391 x 4096 values: 1.1 ms against 2-3 ms for the
# threaded kernel on one thread of the 2-core machine; on 16 cores the
# kernel took 0.32 ms for the same sums, ``iteration_overhead.py``). The
# sums are the same bits either way.
REDUCE_PARALLEL_MIN_THREADS = 4
REDUCE_PARALLEL_MIN_ENTRIES = 2**16

# From this many values, a float X's validation (all values finite) and its
# largest magnitude (``_em.check_magnitude``) are read by a threaded kernel
# (``_kernels.reduce.block_max_abs``, blocks of a sixteenth of this many
# values) instead of numpy's serial ``sum``, ``max`` and ``min``: the
# sweeps a fit makes over X before its first pass.
PARALLEL_SCAN_MIN_VALUES = 2**18

# Budget of the numpy M-step's temporaries for full (and tied) covariances.
# The covariances are computed a block of rows of this many bytes at a time
# (temporaries of about four blocks), and their Cholesky factors, beyond
# this size, one component at a time in place: whole K x d x d expressions
# held four arrays the size of the covariances besides the result (a fit of
# K=10, d=2000 peaked at 9.2 times its parameters' size,
# ``asv_benchmarks/large_model_stages.py``). Below it, batches are computed
# whole, as fast as before for many small components.
MSTEP_BLOCK_BYTES = 2**18

# Up to this many features, the precision Cholesky factors of 'full' and
# 'tied' are computed by one Numba kernel call (``_kernels/mstep.py``)
# instead of a few dozen numpy calls whose overhead is the whole cost at
# small d (batches within MSTEP_BLOCK_BYTES; larger ones go to LAPACK in
# place). The covariances from the statistics take their kernel at every d
# (``_stats._full_covariances``). The measurements below chose the threshold
# when it held for both:
# ``_em.m_step`` from the same statistics, median of 300, AMD EPYC (Zen 3),
# loaded machine, numpy calls vs kernels: d=2 K=8 263 vs 49 us, d=8 K=16
# 358 vs 71, d=16 K=64 1235 vs 268, d=32 K=32 2089 vs 664.
MSTEP_KERNEL_MAX_FEATURES = 32

# A matrix precisions_init of at least this many features is checked for
# positive definiteness by a Cholesky factorisation (``potrf``, d^3 / 3
# flops) instead of its eigenvalues (scikit-learn's check): at d = 2048 the
# eigenvalues took 1.1 s on one core against 0.12 s, a quarter of a K = 1
# fit's time (``asv_benchmarks/large_d_stages.py``). Below it, the
# eigenvalues, as scikit-learn.
PRECISION_CHECK_CHOLESKY_MIN_FEATURES = 128

# Upper bound on the bytes of X (in the dtype the passes compute in) that one
# kernel call of a pass reads. A segment of X this size is converted at once
# where X is not float (an integer memmap), and the pages of a memory-mapped
# X are handed back to the operating system after each segment, so that a
# pass over a file bigger than memory keeps about this much of it resident.
# Like PART_BYTES it depends only on the shape of the problem.
SEGMENT_BYTES = 32 * 2**20

# Dask data (``fastgmm._dask``): the start (init_params) is drawn from this
# many rows sampled uniformly with random_state (all rows when there are no
# more), and the per-chunk statistics are summed by a tree of this fan-in.
DASK_START_ROWS = 100_000
DASK_SPLIT_EVERY = 8

# The 'hc' start (``fastgmm._hc``): the hierarchical clustering is built on
# at most this many rows (a subset drawn with random_state beyond it), as
# mclust's documentation suggests for large data. Its cost is O(m^2) memory
# (a float64 m x m matrix of merge costs: 32 MB at 2,000 rows) and
# O(m^2 d^3) time.
HC_MAX_SAMPLES = 2000

# Spurious maxima (``fastgmm._spurious``): a component whose smallest
# variance, less reg_covar, is at most this fraction of the data's smallest
# feature variance collapsed onto the regularisation floor. Measured on Old
# Faithful, the penguins and mclust's diabetes (4 covariance types x K=1..9,
# n_init=5): see docs/user_guide/hierarchical_start.rst.
SPURIOUS_FRACTION = 1e-8

# The inner loop of the M-step of mclust's models without a closed form
# (VEI, VEE, VEV, EVE, VVE; ``fastgmm._parsimonious``): it stops when one
# sweep over the blocks of parameters changes them by less than
# MSTEP_INNER_TOL relative to their largest entry (mclust's default inner
# tolerance, sqrt(eps64), on parameter convergence), or after
# MSTEP_INNER_MAX_ITER sweeps (mclust has no cap; on 15 random sets of
# scatters with d from 3 to 6 and K from 2 to 5 the loops took 2 to 4
# sweeps, and EVE / VVE up to 55; 59 for the first M-step of
# asv_benchmarks' MclustModels at d = 16). Every sweep raises the expected
# complete-data log-likelihood; the loop starts from the pooled scatter, not
# from the previous parameters, so the EM guarantee rests on its
# convergence (and, for EVE / VVE, on reaching the best orientation).
MSTEP_INNER_TOL = math.sqrt(2.0**-52)
MSTEP_INNER_MAX_ITER = 1000
