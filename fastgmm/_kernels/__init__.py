"""Numba kernels: arrays (X in any layout) and scalars in, arrays the driver allocated out.

No validation and no Python objects live here; see ``fastgmm._em`` for the
driver that chooses, calls and combines them.
"""

import types

from numba import njit


def serial_twin(kernel, **options):
    """The same kernel compiled without ``parallel=True`` (``prange`` runs as ``range``).

    For inputs of a single block: starting a parallel region costs little on
    an idle machine, but when other processes hold the cores, waking the
    pool's threads can cost a scheduler time slice, far more than the work.
    Returns a separate dispatcher with its own on-disk cache entry (its
    qualified name gets a ``_serial`` suffix).
    """
    func = kernel.py_func
    twin = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_serial",
                              func.__defaults__, func.__closure__)
    twin.__qualname__ = func.__qualname__ + "_serial"
    twin.__doc__ = func.__doc__
    twin.__module__ = func.__module__
    return njit(**options)(twin)
