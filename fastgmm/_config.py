"""Every tunable of fastgmm in one place.

Read once at import time; change them through the environment before
importing fastgmm.

``FASTGMM_NUMBA_CACHE``
    ``1`` (default) caches compiled kernels on disk next to the modules, so
    only the first process pays the compile; ``0`` turns the cache off.
``FASTGMM_CHUNK_SIZE``
    Rows per block of the fused passes (default 256). Every block writes its
    own partial statistics, summed afterwards in a fixed order; results do
    not depend on the thread count, and change only in the last bits with
    the block size.
"""

import os

NUMBA_CACHE = os.environ.get("FASTGMM_NUMBA_CACHE", "1") not in ("0", "false", "False", "")

# LLVM fast-math flags, leaving out ``nnan`` and ``ninf``: log-sum-exp relies
# on -inf (a zero weight) propagating correctly.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

CHUNK_SIZE = int(os.environ.get("FASTGMM_CHUNK_SIZE", "256"))

# Passes over fewer blocks than this run the serial twin of a kernel. A
# parallel region costs little on an idle machine, but while other processes
# hold the cores, waking the pool's threads can cost a scheduler time slice
# per region, far more than a few blocks of work (a 272-row fit was seen
# taking seconds instead of milliseconds on a loaded 2-core machine).
PARALLEL_MIN_BLOCKS = 16

# Upper bound on the memory of the per-block partial statistics of one kernel
# call; the driver splits a pass into segments of blocks to stay below it.
PART_BYTES = 8 * 2**20

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
