"""Every tunable of fastgmm in one place.

Read once at import time; change them through the environment before
importing fastgmm.

``FASTGMM_NUMBA_CACHE``
    ``1`` (default) caches compiled kernels on disk next to the modules, so
    only the first process pays the compile; ``0`` turns the cache off.
``FASTGMM_CHUNK_SIZE``
    Rows per block of the fused passes (default: 256, and 1024 for data of
    at most 2 features, see ``pass_chunk_size``). Every block writes its
    own partial statistics, summed afterwards in a fixed order; results do
    not depend on the thread count, and change only in the last bits with
    the block size.
"""

import os

NUMBA_CACHE = os.environ.get("FASTGMM_NUMBA_CACHE", "1") not in ("0", "false", "False", "")

# LLVM fast-math flags, leaving out ``nnan`` and ``ninf``: log-sum-exp relies
# on -inf (a zero weight) propagating correctly.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

_CHUNK_SIZE_ENV = os.environ.get("FASTGMM_CHUNK_SIZE")
CHUNK_SIZE = int(_CHUNK_SIZE_ENV or "256")

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
    ``CHUNK_SIZE`` above. It depends on the shape only, never on the
    thread count.
    """
    if _CHUNK_SIZE_ENV is None and n_features <= LOW_D_MAX_FEATURES:
        return LOW_D_CHUNK_SIZE
    return CHUNK_SIZE

# float32 data are scored and their statistics summed within a block in
# float32. Squares of deviations up to twice this value, summed over a block
# of up to 1024 rows, stay below the float32 maximum (3.4e38); float32 data
# with larger values are passed as float64.
FLOAT32_PASS_MAX_ABS = 1e17

# Passes over fewer blocks than this run the serial twin of a kernel. A
# parallel region costs little on an idle machine, but while other processes
# hold the cores, waking the pool's threads can cost a scheduler time slice
# per region, far more than a few blocks of work (a 272-row fit was seen
# taking seconds instead of milliseconds on a loaded 2-core machine).
PARALLEL_MIN_BLOCKS = 16

# Upper bound on the memory of the per-block partial statistics of one kernel
# call; the driver splits a pass into segments of blocks to stay below it.
PART_BYTES = 8 * 2**20

# Budget of the numpy M-step's temporaries for full (and tied) covariances.
# The covariances are computed a block of rows of this many bytes at a time
# (temporaries of about four blocks), and their Cholesky factors, beyond
# this size, one component at a time in place: whole K x d x d expressions
# held four arrays the size of the covariances besides the result (a fit of
# K=10, d=2000 peaked at 9.2 times its parameters' size,
# ``asv_benchmarks/large_model_stages.py``). Below it, batches are computed
# whole, as fast as before for many small components.
MSTEP_BLOCK_BYTES = 2**18

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
