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

# Upper bound on the memory of the per-block partial statistics of one kernel
# call; the driver splits a pass into segments of blocks to stay below it.
PART_BYTES = 8 * 2**20
