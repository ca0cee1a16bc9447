"""fastgmm._linalg: scipy's BLAS/LAPACK called without the GIL.

Each routine is checked bit for bit against scipy's own wrapper of the same
routine (``get_blas_funcs`` / ``get_lapack_funcs``: the same library
function, so the same bits), for float32 and float64 and both triangles;
and each is checked to let another Python thread run while it computes.
"""

import pathlib
import threading
import time

import numpy as np
import pytest
from scipy.linalg import get_blas_funcs, get_lapack_funcs
from threadpoolctl import threadpool_limits

from fastgmm import _linalg

DTYPES = (np.float32, np.float64)


def _spd(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n + 3))
    return np.asfortranarray((A @ A.T / n + np.eye(n)).astype(dtype))


def _tri(n, dtype, lower, seed=1):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, n)) + 4 * np.eye(n)
    return np.asfortranarray((np.tril(T) if lower else np.triu(T)).astype(dtype))


def _equal(ours, theirs):
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("n", [1, 7, 70])
def test_factorisations_match_scipy_bit_for_bit(dtype, lower, n):
    potrf, potri, lauum, trtri = get_lapack_funcs(
        ("potrf", "potri", "lauum", "trtri"), (np.empty(1, dtype),))
    S = _spd(n, dtype)
    for clean in (False, True):
        ours = S.copy(order="F")
        info = _linalg.potrf(ours, lower, clean=clean)
        theirs, their_info = potrf(S.copy(order="F"), lower=lower, clean=clean)
        assert info == their_info == 0
        _equal(ours, theirs)
    factor = ours
    for name, theirs_fn, kw in (("potri", potri, "overwrite_c"),
                                ("lauum", lauum, "overwrite_c"),
                                ("trtri", trtri, "overwrite_c")):
        ours = factor.copy(order="F")
        info = getattr(_linalg, name)(ours, lower)
        theirs, their_info = theirs_fn(factor.copy(order="F"), lower=lower)
        assert info == their_info == 0, name
        _equal(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_potrf_reports_what_scipy_reports_for_an_indefinite_matrix(dtype):
    potrf, = get_lapack_funcs(("potrf",), (np.empty(1, dtype),))
    S = _spd(6, dtype)
    S[3, 3] = -1.0
    ours = S.copy(order="F")
    info = _linalg.potrf(ours, True)
    _, their_info = potrf(S.copy(order="F"), lower=True)
    assert info == their_info == 4


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("n", [1, 7, 70])
def test_smallest_eigenvalue_matches_scipy_bit_for_bit(dtype, lower, n):
    syevr, = get_lapack_funcs(("syevr",), (np.empty(1, dtype),))
    S = _spd(n, dtype)
    value, info = _linalg.smallest_eigenvalue(S.copy(order="F"), lower)
    w, _, m, _, their_info = syevr(S.copy(order="F"), compute_v=0, range="I", il=1, iu=1,
                                   lower=lower)
    assert info == their_info == 0 and m == 1
    assert value == w[0]
    assert value == pytest.approx(np.linalg.eigvalsh(S.astype(np.float64))[0],
                                  rel=1e-4 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_zero_strict_triangle(upper, n):
    a = np.asfortranarray(np.arange(1.0, n * n + 1).reshape(n, n))
    expected = np.tril(a) if upper else np.triu(a)
    _equal(_linalg.zero_strict_triangle(a, upper), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
def test_products_match_scipy_bit_for_bit(dtype, lower):
    rng = np.random.default_rng(2)
    trmm, syrk, syr2k, gemm = get_blas_funcs(
        ("trmm", "syrk", "syr2k", "gemm"), (np.empty(1, dtype),))
    n, k = 37, 53
    A = _tri(n, dtype, lower)
    B = np.asfortranarray(rng.standard_normal((n, k)).astype(dtype))
    ours = _linalg.trmm(A, B.copy(order="F"), lower, alpha=0.5)
    _equal(ours, trmm(0.5, A, B.copy(order="F"), lower=lower))
    C0 = np.asfortranarray(rng.standard_normal((n, n)).astype(dtype))
    for alpha, beta in ((1.0, 0.0), (-1.0, 1.0)):
        ours = _linalg.syrk(B, C0.copy(order="F"), lower, alpha=alpha, beta=beta)
        _equal(ours, syrk(alpha, B, beta=beta, c=C0.copy(order="F"), lower=lower))
        B2 = B[::-1].copy(order="F")
        ours = _linalg.syr2k(B, B2, C0.copy(order="F"), lower, alpha=alpha, beta=beta)
        _equal(ours, syr2k(alpha, B, B2, beta=beta, c=C0.copy(order="F"), lower=lower))
        for trans_b in (False, True):
            other = B if trans_b else np.asfortranarray(B.T)
            Cn = np.asfortranarray(C0[:, :n])
            ours = _linalg.gemm(B, other, Cn.copy(order="F"), alpha=alpha, beta=beta,
                                trans_b=trans_b)
            theirs = gemm(alpha, B, other, beta=beta, c=Cn.copy(order="F"),
                          trans_b=trans_b)
            _equal(ours, theirs)


def test_read_only_arguments_in_c_order_are_read_as_the_same_matrix():
    rng = np.random.default_rng(3)
    A = np.ascontiguousarray(_tri(9, np.float64, True))
    B = np.asfortranarray(rng.standard_normal((9, 4)))
    expected = np.tril(A) @ B
    np.testing.assert_allclose(_linalg.trmm(A, B, True), expected, rtol=1e-13)


def test_bad_arguments_are_refused():
    a = np.zeros((4, 4), order="F")
    with pytest.raises(ValueError, match="Fortran"):
        _linalg.potrf(np.zeros((4, 3))[:, :3], True)
    with pytest.raises(ValueError, match="square"):
        _linalg.potrf(np.zeros((4, 3), order="F"), True)
    with pytest.raises(TypeError, match="float32 or all float64"):
        _linalg.syrk(np.zeros((4, 2), np.float32, order="F"), a, True)
    with pytest.raises(TypeError, match="float32 or all float64"):
        _linalg.potrf(np.zeros((4, 4), np.int64, order="F"), True)
    with pytest.raises(ValueError, match="must be"):
        _linalg.trmm(np.zeros((3, 3), order="F"), np.zeros((4, 2), order="F"), True)
    with pytest.raises(ValueError, match="Fortran"):
        _linalg.gemm(a, a, np.zeros((8, 8))[::2, ::2], trans_b=True)


def _pauses(call, seconds=0.6, min_calls=4):
    """Run ``call`` repeatedly on a second thread for about ``seconds`` (and
    at least ``min_calls`` times: a loaded machine runs fewer) while
    this thread counts; (this thread's pauses longer than half a call, the
    number of calls). A call that holds the GIL stops this thread for as
    long as it computes: about one such pause per call."""
    with threadpool_limits(1, user_api="blas"):
        solo = []
        for _ in range(3):
            tick = time.perf_counter()
            call()
            solo.append(time.perf_counter() - tick)
        half = 0.5 * float(np.median(solo))
        assert half > 0.002, "calls too short to tell"
        n_calls = 0
        done = threading.Event()

        def worker():
            nonlocal n_calls
            end = time.perf_counter() + seconds
            while n_calls < min_calls or time.perf_counter() < end:
                call()
                n_calls += 1
            done.set()

        gaps = []
        thread = threading.Thread(target=worker)
        thread.start()
        last = time.perf_counter()
        while not done.is_set():
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        thread.join()
    return [gap for gap in gaps if gap > half], n_calls


def _routines(n):
    S = _spd(n, np.float64)
    factor = S.copy(order="F")
    _linalg.potrf(factor, True, clean=True)
    D = np.asfortranarray(np.random.default_rng(4).standard_normal((n, n)))
    C = np.zeros((n, n), order="F")
    work = np.empty((n, n), order="F")

    def fresh(a):
        np.copyto(work, a)  # into the same buffer: no new pages to fault in
        return work

    return {
        "potrf": lambda: _linalg.potrf(fresh(S), True),
        "potri": lambda: _linalg.potri(fresh(factor), True),
        "lauum": lambda: _linalg.lauum(fresh(factor), True),
        "trtri": lambda: _linalg.trtri(fresh(factor), True),
        "trmm": lambda: _linalg.trmm(factor, fresh(D), True),
        "syrk": lambda: _linalg.syrk(D, C, True),
        "syr2k": lambda: _linalg.syr2k(D, D, C, True),
        "gemm": lambda: _linalg.gemm(D, D, C),
        "smallest_eigenvalue": lambda: _linalg.smallest_eigenvalue(fresh(S), True),
    }


@pytest.mark.parametrize("name", ["potrf", "potri", "lauum", "trtri", "trmm", "syrk",
                                  "syr2k", "gemm", "smallest_eigenvalue"])
def test_routines_release_the_gil(name):
    # With the GIL held, this thread would stand still for every call (tens
    # of milliseconds at n = 1200); released, only for the moments the
    # wrapper itself runs Python.
    # (A stray pause or two: the machine's other work.)
    pauses, n_calls = _pauses(_routines(1200)[name])
    assert n_calls >= 4
    assert len(pauses) <= n_calls // 4, (pauses, n_calls)


def test_the_package_calls_blas_and_lapack_only_through_linalg():
    # scipy's f2py wrappers hold the GIL: a component pool over them runs
    # one thread at a time.
    package = pathlib.Path(_linalg.__file__).parent
    for path in package.rglob("*.py"):
        if path.name == "_linalg.py":
            continue
        text = path.read_text()
        for name in ("get_blas_funcs", "get_lapack_funcs", "scipy.linalg.lapack",
                     "scipy.linalg.blas"):
            assert name not in text, f"{path.relative_to(package)} uses {name}"
