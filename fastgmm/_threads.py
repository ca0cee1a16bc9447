"""Thread control for the parallel kernels.

The number of threads a call runs on (:func:`thread_limit`), and which of a
kernel's (parallel, serial) pair a call runs, so that parallel kernels are
safe to call from several Python threads whatever Numba's threading layer
(:func:`pick_kernel`, :func:`thread_safe`).
"""

import contextlib
import functools
import threading

import numba

from . import _config


@contextlib.contextmanager
def thread_limit(n_threads):
    """Run the kernels on ``n_threads`` threads inside the block.

    None leaves Numba's current setting (all cores unless changed); larger
    values are clamped to ``numba.config.NUMBA_NUM_THREADS``.
    """
    if n_threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# Numba's threading layers that may run parallel regions launched from
# several Python threads at once. 'workqueue', the layer Numba falls back to
# where neither TBB nor OpenMP loads, aborts the process instead ("Concurrent
# access has been detected").
THREAD_SAFE_LAYERS = ("tbb", "omp")

# Held around every parallel kernel call under a layer that is not thread-safe.
_PARALLEL_LOCK = threading.Lock()
_layer_thread_safe = None


def parallel_layer_thread_safe():
    """Whether Numba's threading layer lets several threads run parallel kernels at once.

    Decided at the first call: ``numba.get_num_threads()`` starts the
    threading layer (as the first parallel region would), after which
    ``numba.threading_layer()`` names it.
    """
    global _layer_thread_safe
    if _layer_thread_safe is None:
        numba.get_num_threads()
        _layer_thread_safe = numba.threading_layer() in THREAD_SAFE_LAYERS
    return _layer_thread_safe


def _serialised(kernel, *args):
    with _PARALLEL_LOCK:
        return kernel(*args)


def pick_kernel(kernels, n_blocks):
    """The kernel to call for a pass of ``n_blocks`` blocks, from a (parallel, serial) pair.

    The serial twin below ``_config.PARALLEL_MIN_BLOCKS`` blocks, else the
    parallel kernel: itself under a thread-safe threading layer (TBB,
    OpenMP), and under any other (workqueue) a callable that runs it holding
    a process-wide lock, so that parallel kernels called from several Python
    threads (or a threaded Dask scheduler) run one at a time, each on all its
    threads. The lock, rather than the serial twin, keeps the results of a
    call independent of what other threads do: the twin is compiled apart
    and may differ in the last bits.
    """
    if n_blocks < _config.PARALLEL_MIN_BLOCKS:
        return kernels[1]
    return thread_safe(kernels[0])


def thread_safe(kernel):
    """A parallel kernel as it may be called from any Python thread: itself
    under TBB or OpenMP, behind the process-wide lock under workqueue (see
    :func:`pick_kernel`)."""
    if parallel_layer_thread_safe():
        return kernel
    return functools.partial(_serialised, kernel)


