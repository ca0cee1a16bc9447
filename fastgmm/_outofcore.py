"""Reading X in segments of rows, for memory-mapped and other large arrays.

The passes never copy X whole. They run over segments of rows whose length
depends only on the shape of the problem (``segment_rows``), never on the
thread count or on how X is stored, so a fit of a memory-mapped file gives
bit-identical results to the fit of the same array in memory.

Two things are done per segment, and only where they are needed:

- Data that are not float32/float64 (an integer ``np.memmap``, say) are
  converted segment by segment to float64 (``float_rows``), never whole.
- The pages of a file mapping that a segment touched are handed back to the
  operating system after it (``PageReleaser``, ``madvise(MADV_DONTNEED)``
  on the page-aligned byte range of the segment). Pages of a file mapping
  count in the resident set size (RSS) of the process once touched; without
  this, one pass over a memory-mapped 8 GiB file leaves 8 GiB resident.
  Releasing is safe for shared mappings (modes 'r', 'r+', 'w+': the file
  data stay in the page cache, or are written back, and later reads fault
  them in again), and is skipped for copy-on-write mappings (mode 'c'),
  whose private changes it would discard, and for anything that is not an
  ``np.memmap`` (or a view of one).
"""

import mmap

import numpy as np

from . import _config
from ._kernels.reduce import block_max_abs
from ._threads import thread_safe

_FLOATS = (np.float32, np.float64)

try:
    from numpy.lib.array_utils import byte_bounds as _byte_bounds
except ImportError:  # numpy < 2
    _byte_bounds = np.byte_bounds


def is_dask_array(X):
    """Whether X is a ``dask.array.Array``, without importing dask."""
    cls = type(X)
    return cls.__name__ == "Array" and cls.__module__.split(".")[0] == "dask"


def float_dtype(X):
    """The dtype the passes compute in: X's if float32/float64, else float64."""
    return X.dtype if X.dtype in _FLOATS else np.dtype(np.float64)


def segment_rows(n_features, dtype, multiple=1):
    """Rows per segment: about ``_config.SEGMENT_BYTES`` of X in ``dtype``.

    A multiple of ``multiple`` (the block size of the kernels), at least one.
    """
    row_bytes = max(1, int(n_features) * np.dtype(dtype).itemsize)
    rows = max(1, _config.SEGMENT_BYTES // row_bytes)
    return max(multiple, rows // multiple * multiple)


def _memmap_of(X):
    """The ``np.memmap`` X is a view of (itself included), or None."""
    obj = X
    while isinstance(obj, np.ndarray):
        if isinstance(obj, np.memmap) and isinstance(getattr(obj, "_mmap", None),
                                                     mmap.mmap):
            return obj
        obj = obj.base
    return None


def is_mapped(X):
    """Whether X is (a view of) a memory-mapped file."""
    return _memmap_of(X) is not None


def is_large(X):
    """Whether X should be read in segments: mapped, or bigger than a segment."""
    return is_mapped(X) or X.nbytes > _config.SEGMENT_BYTES


class PageReleaser:
    """Hands back the resident pages of rows of a memory-mapped X.

    ``release(start, stop)`` calls ``madvise(MADV_DONTNEED)`` on the pages
    holding rows [start, stop) of X (whatever X's layout: the byte range
    from the lowest to the highest address those rows use, widened to whole
    pages). A no-op where X is not a shared file mapping or the platform
    has no ``madvise``.
    """

    def __init__(self, X):
        self.X = X
        self.mm = None
        parent = _memmap_of(X)
        if (parent is None or getattr(parent, "mode", "c") == "c"
                or not hasattr(mmap, "MADV_DONTNEED")):
            return
        mm = parent._mmap
        try:
            # The address where the mapping starts; the exported buffer is
            # dropped at once so that the mapping can still be closed.
            view = np.frombuffer(mm, dtype=np.uint8)
            self.base = view.__array_interface__["data"][0]
            del view
        except (ValueError, TypeError, BufferError):
            return
        self.mm = mm
        self.size = len(mm)

    def release(self, start, stop):
        """Drop the pages of rows [start, stop) of X from the resident set."""
        if self.mm is None or stop <= start:
            return
        low, high = _byte_bounds(self.X[start:stop])
        first = max(0, low - self.base) // mmap.PAGESIZE * mmap.PAGESIZE
        last = min(self.size, high - self.base)
        if last <= first:
            return
        try:
            self.mm.madvise(mmap.MADV_DONTNEED, first, last - first)
        except (OSError, ValueError):
            # A closed mapping, or a kernel that refuses: only memory is at stake.
            self.mm = None


def float_rows(X, start, stop):
    """Rows [start, stop) of X as float32/float64: a view if X already is, else a
    float64 copy of those rows only."""
    rows = X[start:stop]
    return rows if X.dtype in _FLOATS else np.asarray(rows, dtype=np.float64)


def iter_segments(X, rows=None):
    """Yield (start, stop, rows_of_X) over X in segments, releasing each after use.

    ``rows_of_X`` is :func:`float_rows`; ``rows`` defaults to
    :func:`segment_rows` of X.
    """
    n_samples = X.shape[0]
    rows = rows or segment_rows(X.shape[1], float_dtype(X))
    pager = PageReleaser(X)
    for start in range(0, n_samples, rows):
        stop = min(n_samples, start + rows)
        yield start, stop, float_rows(X, start, stop)
        pager.release(start, stop)


def block_segments(n_blocks, seg_blocks, chunk_size, stop, start=0):
    """``(n_seg, row_start, row_stop)`` of each segment of a pass of
    ``n_blocks`` blocks of ``chunk_size`` rows over the rows [start, stop),
    ``seg_blocks`` blocks at a time.

    A segment bounds the memory of one kernel call (its partial statistics,
    the rows converted at once); it is not a measure of the work. Which
    kernel runs, parallel or serial, is chosen once by the pass's
    ``n_blocks`` (``_threads.pick_kernel``): chosen per segment, segments of
    a few large-scatter blocks each ran on one thread.
    """
    for first in range(0, n_blocks, seg_blocks):
        n_seg = min(seg_blocks, n_blocks - first)
        row_start = start + first * chunk_size
        yield n_seg, row_start, min(stop, row_start + n_seg * chunk_size)


def max_abs(X):
    """``max(X.max(), -X.min())`` as a float, in segments for a large X."""
    if not is_large(X):
        return _max_abs_rows(X)
    largest = -np.inf
    for _, _, rows in iter_segments(X):
        largest = max(largest, _max_abs_rows(rows))
    return largest


def _max_abs_rows(X):
    """``max_abs`` of rows in memory: numpy's ``max`` and ``min`` are two serial
    sweeps, so a float X of ``_config.PARALLEL_SCAN_MIN_VALUES`` values or
    more is read once, on the threads (a fit makes this check before its
    first pass)."""
    if X.dtype in _FLOATS and X.size >= _config.PARALLEL_SCAN_MIN_VALUES:
        return _parallel_max_abs(X)
    return max(float(X.max()), -float(X.min()))


def _parallel_max_abs(X):
    """max |x| of a float32/float64 X by ``block_max_abs``, the rows spread over
    the threads (NaN where X has one)."""
    rows = max(1, _config.PARALLEL_SCAN_MIN_VALUES // (16 * X.shape[1]))
    part = np.empty(-(-X.shape[0] // rows))
    thread_safe(block_max_abs)(X, rows, part)
    return float(part.max())


def finite_largest(X):
    """(whether every value of a float32/float64 X is finite, ``max|X|`` or
    None), by one sweep over it.

    A large X (``_config.PARALLEL_SCAN_MIN_VALUES`` values or more) is read
    by the threaded ``max_abs`` kernel, whose result is returned, so that a
    fit does not read X again for ``_em.check_magnitude``; a smaller one is
    summed (None: its largest value costs a sweep of its own, a short one).
    """
    if X.size >= _config.PARALLEL_SCAN_MIN_VALUES:
        largest = _parallel_max_abs(X)
        return bool(np.isfinite(largest)), largest
    # The sum is finite for finite values but for overflow, which takes the
    # caller's slower path to the same answer.
    return bool(np.isfinite(X.sum())), None


def nonfinite_positions(X):
    """(rows, columns) of the NaN values of X and (rows, columns) of the infinite
    ones, read in segments; None when every value is finite."""
    found = False
    nan_rows, nan_cols, inf_rows, inf_cols = [], [], [], []
    for start, _, rows in iter_segments(X):
        if np.isfinite(rows.sum()):
            # The sum is finite for finite rows but for overflow.
            continue
        nan_mask = np.isnan(rows)
        inf_mask = np.isinf(rows)
        if not (nan_mask.any() or inf_mask.any()):
            continue
        found = True
        r, c = np.nonzero(nan_mask)
        nan_rows.append(r + start)
        nan_cols.append(c)
        r, c = np.nonzero(inf_mask)
        inf_rows.append(r + start)
        inf_cols.append(c)
    if not found:
        return None
    return ((np.concatenate(nan_rows), np.concatenate(nan_cols)),
            (np.concatenate(inf_rows), np.concatenate(inf_cols)))
