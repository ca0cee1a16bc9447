"""BLAS and LAPACK calls that release the GIL.

The large-d passes and the M-step spread the components of a block over a
pool of Python threads (``_blocked.map_components``), each component a
sequence of single-threaded BLAS and LAPACK calls. scipy's wrappers
(``scipy.linalg.get_blas_funcs`` / ``get_lapack_funcs``, built by f2py)
hold the GIL for the whole call: the pool's threads then ran one at a
time (``potrf`` + ``trtri`` of sixteen 512 x 512 matrices: 114 ms on one
thread, 120 ms on two; ``syrk`` of 512 x 512 blocks: 89 ms and 98 ms).

Here the same routines -- scipy's own BLAS and LAPACK, through the
function pointers of ``scipy.linalg.cython_blas`` / ``cython_lapack`` --
are called by ``ctypes``, which releases the GIL during a foreign call.
The arithmetic is that of scipy's wrappers, bit for bit (the same library
functions with the same arguments; ``tests/test_linalg.py``).

Every routine works in place on Fortran-contiguous float32 or float64
arrays (a C-order array's ``.T`` is one): the arrays it writes must be
Fortran-contiguous, the arrays it only reads are copied to Fortran order
when they are not. Triangular and symmetric arguments name their stored
triangle by ``lower``; diagonals are never unit.
"""

import ctypes

import numpy as np
from scipy.linalg import cython_blas, cython_lapack

_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}
_SCALAR = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
_FUNCTIONS = {}


def _capsule_pointer(capsule):
    """The address a Cython capsule holds (prototypes of our own: the shared
    ``ctypes.pythonapi`` functions' argtypes are left as they are)."""
    get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
        ("PyCapsule_GetName", ctypes.pythonapi))
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))
    return get_pointer(capsule, get_name(capsule))


def _function(module, name, dtype):
    """The routine ``name`` (without its s/d prefix) of ``module`` for ``dtype``,
    as a ctypes function (a C function: ctypes drops the GIL around it)."""
    key = (name, dtype)
    function = _FUNCTIONS.get(key)
    if function is None:
        pointer = _capsule_pointer(module.__pyx_capi__[_PREFIX[dtype] + name])
        # Every argument of the Fortran interface is a pointer.
        function = _FUNCTIONS[key] = ctypes.CFUNCTYPE(None)(pointer)
    return function


def _dtype(*arrays):
    dtype = arrays[0].dtype
    if dtype not in _PREFIX or any(a.dtype != dtype for a in arrays):
        raise TypeError("BLAS/LAPACK arguments must all be float32 or all float64, "
                        f"not {[str(a.dtype) for a in arrays]}")
    return dtype


def _written(a, name):
    """``a`` as the routine writes it: Fortran-contiguous, 2-d."""
    if a.ndim != 2 or not a.flags.f_contiguous or not a.flags.writeable:
        raise ValueError(f"{name} must be a writeable Fortran-contiguous matrix")
    return a


def _read(a):
    return a if a.flags.f_contiguous else np.asfortranarray(a)


def _char(flag):
    return ctypes.byref(ctypes.c_char(flag))


def _int(value):
    return ctypes.byref(ctypes.c_int(int(value)))


def _scalar(value, dtype):
    return ctypes.byref(_SCALAR[dtype](value))


def _ld(a):
    """The leading dimension of a Fortran-contiguous matrix (at least 1)."""
    return _int(max(1, a.shape[0]))


def _data(a):
    return ctypes.c_void_p(a.ctypes.data)


def _uplo(lower):
    return _char(b"L" if lower else b"U")


def _square(a, name):
    a = _written(a, name)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, not {a.shape}")
    return a


def _factorisation(name, a, lower, *flags):
    """LAPACK's ``name`` on the square ``a`` in place, ``flags`` (pointers)
    after its triangle's; returns info."""
    a = _square(a, "a")
    dtype = _dtype(a)
    info = ctypes.c_int(0)
    _function(cython_lapack, name, dtype)(
        _uplo(lower), *flags, _int(a.shape[0]), _data(a), _ld(a), ctypes.byref(info))
    return info.value


def potrf(a, lower, clean=False):
    """Cholesky factor of the symmetric ``a`` in place (its ``lower`` or upper
    triangle read and overwritten); with ``clean``, the other strict
    triangle is set to 0. Returns LAPACK's info (> 0: not positive definite)."""
    info = _factorisation("potrf", a, lower)
    if clean:
        zero_strict_triangle(a, upper=lower)
    return info


def potri(a, lower):
    """The inverse of ``L L^T`` (or ``U^T U``) from its Cholesky factor in the
    ``lower`` (or upper) triangle of ``a``, into that triangle. Returns info."""
    return _factorisation("potri", a, lower)


def lauum(a, lower):
    """``L^T L`` (or ``U U^T``) from the triangle ``lower`` (or upper) of ``a``,
    into that triangle. Returns info."""
    return _factorisation("lauum", a, lower)


def trtri(a, lower):
    """The inverse of the triangular matrix in ``a``'s ``lower`` (or upper)
    triangle, in place. Returns info (> 0: singular)."""
    return _factorisation("trtri", a, lower, _char(b"N"))  # (non-unit diagonal)


def zero_strict_triangle(a, upper):
    """Set the strict upper (or lower) triangle of the square Fortran matrix
    ``a`` to 0, by LAPACK's ``laset`` on the matrix one column right (one
    row down) of the diagonal, whose upper (lower) triangle with its
    diagonal is exactly that strict triangle."""
    a = _square(a, "a")
    n = a.shape[0]
    if n < 2:
        return a
    dtype = _dtype(a)
    zero = _scalar(0.0, dtype)
    # Element (i, j) lives at i + j n: one column right starts at n, one row
    # down at 1 (items).
    offset = n if upper else 1
    rows, cols = (n, n - 1) if upper else (n - 1, n)
    _function(cython_lapack, "laset", dtype)(
        _char(b"U" if upper else b"L"), _int(rows), _int(cols), zero, zero,
        ctypes.c_void_p(a.ctypes.data + offset * a.itemsize), _ld(a))
    return a


def trmm(a, b, lower, alpha=1.0):
    """``b = alpha A b`` in place, A the triangle ``lower`` (or upper) of the
    square ``a`` (non-unit diagonal, from the left, not transposed); returns ``b``."""
    b = _written(b, "b")
    a = _read(a)
    dtype = _dtype(a, b)
    m, n = b.shape
    if a.shape != (m, m):
        raise ValueError(f"a must be {(m, m)}, not {a.shape}")
    _function(cython_blas, "trmm", dtype)(
        _char(b"L"), _uplo(lower), _char(b"N"), _char(b"N"), _int(m), _int(n),
        _scalar(alpha, dtype), _data(a), _ld(a), _data(b), _ld(b))
    return b


def syrk(a, c, lower, alpha=1.0, beta=0.0):
    """``C = alpha A A^T + beta C`` into the triangle ``lower`` (or upper) of
    ``c`` (the other is not touched); returns ``c``."""
    c = _square(c, "c")
    a = _read(a)
    dtype = _dtype(a, c)
    n, k = a.shape
    if c.shape[0] != n:
        raise ValueError(f"c must be {(n, n)}, not {c.shape}")
    _function(cython_blas, "syrk", dtype)(
        _uplo(lower), _char(b"N"), _int(n), _int(k), _scalar(alpha, dtype), _data(a),
        _ld(a), _scalar(beta, dtype), _data(c), _ld(c))
    return c


def syr2k(a, b, c, lower, alpha=1.0, beta=0.0):
    """``C = alpha (A B^T + B A^T) + beta C`` into the triangle ``lower`` (or
    upper) of ``c``; returns ``c``."""
    c = _square(c, "c")
    a, b = _read(a), _read(b)
    dtype = _dtype(a, b, c)
    n, k = a.shape
    if b.shape != (n, k) or c.shape[0] != n:
        raise ValueError(f"a and b must be {(n, k)} and c {(n, n)}: "
                         f"{a.shape}, {b.shape}, {c.shape}")
    _function(cython_blas, "syr2k", dtype)(
        _uplo(lower), _char(b"N"), _int(n), _int(k), _scalar(alpha, dtype), _data(a),
        _ld(a), _data(b), _ld(b), _scalar(beta, dtype), _data(c), _ld(c))
    return c


def gemm(a, b, c, alpha=1.0, beta=0.0, trans_b=False):
    """``C = alpha A op(B) + beta C`` (``op(B) = B^T`` with ``trans_b``); returns ``c``."""
    c = _written(c, "c")
    a, b = _read(a), _read(b)
    dtype = _dtype(a, b, c)
    m, k = a.shape
    n = b.shape[0] if trans_b else b.shape[1]
    if (b.shape[1] if trans_b else b.shape[0]) != k or c.shape != (m, n):
        raise ValueError(f"shapes do not match: {a.shape}, {b.shape}"
                         f"{'^T' if trans_b else ''}, {c.shape}")
    _function(cython_blas, "gemm", dtype)(
        _char(b"N"), _char(b"T" if trans_b else b"N"), _int(m), _int(n), _int(k),
        _scalar(alpha, dtype), _data(a), _ld(a), _data(b), _ld(b), _scalar(beta, dtype),
        _data(c), _ld(c))
    return c


def smallest_eigenvalue(a, lower):
    """The smallest eigenvalue of the symmetric matrix in the triangle
    ``lower`` (or upper) of ``a``, by LAPACK's ``syevr`` (eigenvalues only,
    the first of them by index; ``a``'s triangle is destroyed), with scipy's
    default workspace (``lwork = 26 n``, ``liwork = 10 n``). Returns
    ``(value, info)``; the value is NaN where no eigenvalue was found (n = 0,
    or info != 0)."""
    a = _square(a, "a")
    dtype = _dtype(a)
    n = a.shape[0]
    values = np.zeros(max(1, n), dtype)
    z = np.zeros(1, dtype)
    isuppz = np.zeros(2, np.int32)
    work = np.empty(max(1, 26 * n), dtype)
    iwork = np.empty(max(1, 10 * n), np.int32)
    found = ctypes.c_int(0)
    info = ctypes.c_int(0)
    _function(cython_lapack, "syevr", dtype)(
        _char(b"N"), _char(b"I"), _uplo(lower), _int(n), _data(a), _ld(a),
        _scalar(0.0, dtype), _scalar(1.0, dtype), _int(1), _int(1), _scalar(0.0, dtype),
        ctypes.byref(found), _data(values), _data(z), _int(1), _data(isuppz),
        _data(work), _int(work.shape[0]), _data(iwork), _int(iwork.shape[0]),
        ctypes.byref(info))
    if found.value != 1:
        return float("nan"), info.value
    return values[0].item(), info.value
