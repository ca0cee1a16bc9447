"""The large-d passes: BLAS-3 on blocks of rows.

Full covariances (:func:`em_pass_full`, below) spread the components of a
block over threads; 'tied' (:func:`em_pass_tied`) and 'diag' / 'spherical'
(:func:`em_pass_diag`) run whole blocks in parallel (see the comment above
:func:`_map_blocks`). Which pass a model runs is its
``CovarianceModel.blas_pass(n_features, n_components)``, with thresholds in
``_config`` (``BLAS_PASS_MIN_FEATURES``, ``BLAS_TIED_MIN_FEATURES``,
``BLAS_DIAG_MIN_FEATURES``, ``BLAS_DIAG_MIN_COMPONENTS``, ``BLAS_DIAG_MIN_WORK``,
``BLAS_SPHERICAL_MIN_FEATURES``, ``BLAS_SPHERICAL_MIN_WORK`` and
``BLAS_SPHERICAL_WIDE_FEATURES``).

At many features the per-point tiled loops of ``_kernels/em_pass.py`` lose
to BLAS: the work per row and component is two products with a d x d
triangle (``(x - mu_k) U_k`` for the log-density and ``r D^T D`` for the
scatter), and BLAS-3 on a block of rows runs them at several times the
rate. This pass keeps the design of the fused pass -- one read of X per
iteration, a (n_components, block) scratch of log-densities instead of the
N x K matrix, statistics taken around the current means, float32 kept --
and runs, per block of ``_config.BLAS_PASS_CHUNK_SIZE`` rows:

1. per component, ``Y = (X_b - mu_k) U_k`` by ``trmm`` (half the flops of
   the general product scikit-learn uses) and ``log N = const_k - |Y|^2 / 2``;
2. the log-sum-exp and responsibilities (the fused kernels' Numba helper);
3. per component, ``nk``, ``sx = r^T D`` and the scatter's upper triangle by
   ``syrk`` of ``sqrt(r) D`` (half the flops of ``D^T (r D)``), over the
   rows whose responsibility is not exactly 0 (at large d most are: a row's
   log-densities differ by hundreds between components).

Blocks are summed into the totals in block order. BLAS runs on one thread
(:func:`blas_single_thread`), and a pass on ``n_threads`` threads spreads
the components of a block over a pool of Python threads (the BLAS calls,
through ``_linalg``, release the GIL; the pool is made once per thread
count): every component's arithmetic is the same sequence of single-threaded
BLAS calls whichever thread runs it, so results are bit-identical for any
thread count. OpenBLAS's own threads were measured slower than one thread
on a loaded 2-core machine, and its float32 products differ in the last
bits between one and two threads (``asv_benchmarks/large_d_profile.py
--blas``), so they are not used here.

For float32 data the log-densities and a block's scatter are computed in
float32 and added into float64 totals; ``nk`` and 'full''s ``sx`` are
float64 (``sx`` a float64 product of the block: the exception the rule in
``fastgmm._kernels`` names).
"""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import _config, _linalg
from ._kernels.em_pass import _block_posterior
from ._kernels.diag import (centred_from_shifted, gemm_coefficients, shifted_rows,
                             shifted_rows_norms)
from ._kernels.moments import centred_moments, centred_moments_pooled
from ._outofcore import PageReleaser, float_rows

_CONTROLLER = None
_CONTROLLER_LOCK = threading.Lock()


def _controller():
    """threadpoolctl's controller of the process's BLAS libraries, made once
    (listing the loaded libraries costs milliseconds); None without
    threadpoolctl."""
    global _CONTROLLER
    with _CONTROLLER_LOCK:
        if _CONTROLLER is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - a dependency
                _CONTROLLER = False
            else:
                _CONTROLLER = ThreadpoolController()
    return _CONTROLLER or None


@contextlib.contextmanager
def blas_single_thread():
    """Run BLAS (numpy's and scipy's) on one thread inside the block.

    The limit is process-wide (BLAS has no per-call setting) and is restored
    on exit.
    """
    controller = _controller()
    if controller is None:  # pragma: no cover
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


def map_components(fn, n_components, n_threads=None):
    """``[fn(k) for k in range(n_components)]``, spread over ``n_threads``
    Python threads (default Numba's current thread count).

    For work whose time goes to code that releases the GIL -- BLAS or
    LAPACK on one thread through :mod:`fastgmm._linalg` (scipy's own
    wrappers hold it), numpy's array loops -- and where each ``fn(k)``
    writes only component k's arrays: the results do not depend on the
    thread count.
    """
    n_threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    n_threads = max(1, min(n_threads, n_components))
    if n_threads == 1:
        return [fn(k) for k in range(n_components)]
    return list(_pool(n_threads).map(fn, range(n_components)))



def map_components_one_blas_thread(fn, n_components):
    """:func:`map_components` with BLAS and LAPACK on one thread
    (:func:`blas_single_thread`): the M-step's per-component products and
    factorisations. OpenBLAS's own threads took seconds instead of
    milliseconds on a loaded 2-core machine (``asv_benchmarks/large_d_profile.py``),
    and one thread per component keeps the results independent of the thread
    count."""
    with blas_single_thread():
        return map_components(fn, n_components)


_POOLS = {}


def _pool(n_threads):
    """A pool of ``n_threads`` worker threads, made once per size (starting
    threads took milliseconds each on a loaded machine)."""
    with _CONTROLLER_LOCK:
        pool = _POOLS.get(n_threads)
        if pool is None:
            pool = _POOLS[n_threads] = ThreadPoolExecutor(
                n_threads, thread_name_prefix="fastgmm-blas")
    return pool


def _log_density(Xb, mean, prec, const, out):
    """``const - |(Xb - mean) U|^2 / 2`` per row into ``out`` (float64), by trmm.

    ``prec`` (C order, upper triangular U) is, read as a Fortran array, the
    lower triangle U^T; the rows ``D`` (C order) are D^T in Fortran order,
    so ``trmm`` of U^T from the left overwrites them with (D U)^T.
    """
    D = np.subtract(Xb, mean, order="C")  # D^T: Fortran, written in place
    Y = _linalg.trmm(prec.T, D.T, lower=True).T
    out[:] = np.einsum("ij,ij->i", Y, Y)
    out *= -0.5
    out += const


def _component_stats(Xb, mean, r, sxx_k, scratch):
    """(nk, sx) of one component of a block; adds its scatter into ``sxx_k``.

    Only rows with a responsibility above 0 enter. ``sxx_k`` (float64, C
    order) gets the upper triangle of ``sum r D^T D``, by syrk of
    ``sqrt(r) D`` into its Fortran view's lower triangle: for float64 data
    directly (beta = 1), for float32 data through the float32 product of
    the block in ``scratch`` (a zeroed d x d Fortran array of the calling
    thread; syrk never writes its other triangle, which stays 0).
    """
    rows = np.flatnonzero(r > 0.0)
    n_features = Xb.shape[1]
    if rows.shape[0] == 0:
        return 0.0, np.zeros(n_features)
    if rows.shape[0] < r.shape[0]:
        D = Xb[rows]  # a copy: centred in place (one block, not two, per thread)
        D -= mean
        r = r[rows]
    else:
        D = Xb - mean
    nk = float(r.sum())
    sx = r @ (D if D.dtype == np.float64 else D.astype(np.float64))
    D *= np.sqrt(r).astype(D.dtype)[:, None]
    if D.dtype == np.float64:
        _linalg.syrk(D.T, sxx_k.T, lower=True, beta=1.0)
    else:
        _linalg.syrk(D.T, scratch, lower=True)
        # Both read in Fortran order: a contiguous add (``sxx_k +=
        # scratch.T`` walked one of them across rows).
        np.add(sxx_k.T, scratch, out=sxx_k.T)
    return nk, sx


def _pass_setup(X, chunk_size, default_chunk_size, n_threads, max_threads):
    """(rows per block, threads, the dtype the products run in) of a BLAS pass:
    ``chunk_size`` or ``default_chunk_size`` rows; ``n_threads`` or Numba's,
    from 1 to ``max_threads``; float32 for float32 X, else float64."""
    chunk_size = int(chunk_size or default_chunk_size)
    n_threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    n_threads = max(1, min(n_threads, max_threads))
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    return chunk_size, n_threads, dtype


def em_pass_full(X, sample_weight, means, prec, const, hard, chunk_size=None,
                 n_threads=None):
    """The fused pass of full covariances by BLAS-3 on blocks of rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Any layout; float32 and float64 are read as they are, other real
        dtypes converted to float64 a block at a time.
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    means : ndarray of shape (n_components, n_features), float64
        The pass's centres (rounded to float32 values for float32 X).
    prec : ndarray of shape (n_components, n_features, n_features), X's dtype
        Upper-triangular precision Cholesky factors, C order.
    const : ndarray of shape (n_components,), float64
        log weight + log det(U) - n_features / 2 log(2 pi).
    hard : bool
        Classification EM: each row wholly to its most probable component.
    chunk_size : int, optional
        Rows per block (default ``_config.BLAS_PASS_CHUNK_SIZE``).
    n_threads : int, optional
        Threads the components of a block are spread over (default Numba's
        current thread count, which ``n_threads`` of the estimator sets).

    Returns
    -------
    loglik : float
    nk : ndarray of shape (n_components,)
    sx : ndarray of shape (n_components, n_features)
    sxx : ndarray of shape (n_components, n_features, n_features)
        Upper triangles of the scatters around ``means`` (lower ones 0).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    chunk_size, n_threads, dtype = _pass_setup(X, chunk_size, _config.BLAS_PASS_CHUNK_SIZE,
                                               n_threads, n_components)
    means_x = means.astype(dtype)
    prec = np.ascontiguousarray(prec, dtype=dtype)
    unit_weights = sample_weight.shape[0] == 0
    loglik = 0.0
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros((n_components, n_features, n_features))
    logp = np.empty((n_components, chunk_size))
    lse = np.empty(chunk_size)
    inv_total = np.empty(chunk_size)
    w = np.ones(chunk_size)
    pager = PageReleaser(X)

    def run(fn, *args):
        return map_components(lambda k: fn(k, *args), n_components, n_threads)

    def density(k, Xb, n_rows):
        _log_density(Xb, means_x[k], prec[k], const[k], logp[k, :n_rows])

    # float32: one zeroed d x d block scatter per thread (see _component_stats).
    scratch = {}

    def statistics(k, Xb, n_rows):
        # inv_total holds each row's weight over its total (_block_loglik).
        r = logp[k, :n_rows] * inv_total[:n_rows]
        block = None
        if dtype == np.float32:
            block = scratch.get(threading.get_ident())
            if block is None:
                block = np.zeros((n_features, n_features), dtype, order="F")
                scratch[threading.get_ident()] = block
        return _component_stats(Xb, means_x[k], r, sxx[k], block)

    with blas_single_thread():
        for start in range(0, n_samples, chunk_size):
            stop = min(n_samples, start + chunk_size)
            n_rows = stop - start
            Xb = np.ascontiguousarray(float_rows(X, start, stop))
            if not unit_weights:
                w[:n_rows] = sample_weight[start:stop]
            run(density, Xb, n_rows)
            loglik += _block_posterior(logp, n_rows, hard, w, unit_weights, lse,
                                       inv_total)
            for k, (nk_k, sx_k) in enumerate(run(statistics, Xb, n_rows)):
                nk[k] += nk_k
                sx[k] += sx_k
            pager.release(start, stop)
    return float(loglik), nk, sx, sxx


# -- 'tied', 'diag' and 'spherical': blocks in parallel ------------------------
#
# Their passes have no per-component d x d product to spread over threads:
# the work of a block is a few BLAS-3 calls over all its components at once
# (a GEMM of the block with the K x d parameters; for 'tied' a trmm with the
# shared factor and the pooled scatter by syrk). So whole blocks run in
# parallel instead, each on one thread with single-threaded BLAS, each
# returning its own partial statistics; the partials are added into the
# totals in block order. A block's arithmetic does not depend on which thread
# runs it nor on how many run, so results are bit-identical for any thread
# count (the window of blocks in flight, ``n_threads`` of them, only bounds
# the memory of partials held at once).


def _map_blocks(X, sample_weight, chunk_size, n_threads, block_fn, combine):
    """Run ``block_fn(slot, Xb, w, n_rows)`` over the blocks of
    ``chunk_size`` rows of X, ``n_threads`` blocks at a time, and
    ``combine(result)`` over their results in block order.

    ``Xb`` is the block in C order (float32 or float64), ``w`` its sample
    weights (float64, ones without weights), ``slot`` in
    ``range(n_threads)`` the block's place in the window (for scratch arrays
    of the caller that no other running block uses).
    """
    n_samples = X.shape[0]
    starts = list(range(0, n_samples, chunk_size))
    unit_weights = sample_weight.shape[0] == 0
    pager = PageReleaser(X)

    def one(item):
        slot, start = item
        stop = min(n_samples, start + chunk_size)
        Xb = np.ascontiguousarray(float_rows(X, start, stop))
        w = (np.ones(stop - start) if unit_weights
             else np.ascontiguousarray(sample_weight[start:stop], dtype=np.float64))
        return block_fn(slot, Xb, w, stop - start)

    with blas_single_thread():
        for first in range(0, len(starts), n_threads):
            window = list(enumerate(starts[first:first + n_threads]))
            if len(window) == 1 or n_threads == 1:
                results = [one(item) for item in window]
            else:
                results = list(_pool(n_threads).map(one, window))
            for result in results:
                combine(result)
            pager.release(window[0][1], min(n_samples, window[-1][1] + chunk_size))


def _posterior(logp, n_rows, hard, w, unit_weights):
    """(loglik, R): the block's log-likelihood and its responsibilities times
    the sample weights (K x n_rows, float64); ``logp`` (K x chunk, float64)
    holds the log-densities of the rows and is overwritten."""
    lse = np.empty(n_rows)
    inv_total = np.empty(n_rows)
    w_full = np.empty(logp.shape[1])
    w_full[:n_rows] = w
    loglik = _block_posterior(logp, n_rows, hard, w_full, unit_weights, lse, inv_total)
    R = logp[:, :n_rows]
    # inv_total holds each row's weight over its total (_block_loglik).
    R *= inv_total
    return loglik, R


def em_pass_diag(X, sample_weight, means, prec, const, hard, chunk_size=None,
                 n_threads=None, spherical=False):
    """The fused pass of diagonal (and spherical) covariances by GEMMs on blocks.

    With ``c`` a centre near the data (the mean of the means, in X's dtype),
    ``Y = X_b - c``, ``P = U^2`` (the precisions) and ``u_k = mu_k - c``:

    - log-densities: ``const_k - sum_i P_ki (y_i - u_ki)^2 / 2``
      ``= [Y | Y^2] @ [P u | -P/2]^T + (const_k - sum_i P_ki u_ki^2 / 2)``,
      one GEMM of the block with a K x 2d matrix (in X's dtype);
    - statistics: where at most ``1 / _SPARSE_FRACTION`` of a block's
      responsibilities are nonzero (at large d most rows belong wholly to
      one component), from those entries alone, around each component's
      mean, in float64 (``_kernels.moments.centred_moments``: exact
      differences, no cancellation); else around ``c``: ``[a_k | b_k] =
      R^T [Y | Y^2]``, one GEMM in X's dtype, summed over the blocks in
      float64 and turned at the end into the sums around the means the
      M-step takes (exact algebra): ``sx_k = a_k - nk u_k``,
      ``sxx_k = b_k - 2 u_k a_k + nk u_k^2``.

    The GEMM statistics cancel: their relative error is about ``eps (1 +
    (u_ki / sigma_ki)^2)`` where the Numba pass, which centres on each mean,
    has ``eps``; they run only where many responsibilities are nonzero,
    i.e. where the components overlap and ``u / sigma`` is modest. The
    log-densities' GEMM has an absolute error of about ``eps sum_i P_ki
    (y_i^2 + u_ki^2)`` per row where the Numba pass has ``eps sum_i P_ki
    (y_i - u_ki)^2``. Measured against the float64 Numba pass (d=256, K=16,
    N=2000, means at ``sep * N(0, 1)`` per feature around 100, unit noise,
    the statistics' paths as chosen), float32 data, BLAS / Numba: relative
    error of the log-likelihood sep=0.1 1.8e-9 / 5.8e-12, sep=1 3.3e-9 /
    1.6e-10, sep=4 4.3e-8 / 2.0e-9, sep=16 7.3e-7 / 8.5e-11, sep=64 4.6e-6 /
    1.0e-9 (spherical 2.6e-5 / 3.6e-9); of the scatters (largest error over
    largest entry) sep=0.1 3.7e-6 / 3.4e-6, sep=1 3.4e-7 / 3.8e-8 (GEMM
    statistics), sep>=4 below 1e-15 / 4e-8 (nonzero entries); float64 data:
    below 1.4e-13 everywhere.

    With ``spherical`` (every row of ``prec`` one value, 'spherical'), the
    log-densities take half the GEMM: ``sum_i P_k (y_i - u_ki)^2 = P_k |y|^2
    - 2 P_k y.u_k + P_k |u_k|^2``, i.e. ``Y @ (P u)^T`` plus ``-P_k / 2``
    times each row's ``|y|^2`` (summed in float64), and so do the GEMM
    statistics: the M-step of 'spherical' reads only each component's sum
    of ``sxx`` over the features, whose ``b`` part is ``R^T |y|^2`` (a GEMV
    of the rows' norms, float64), so ``R^T Y`` is the only GEMM. Its
    ``sxx`` is returned pooled: each component's sum over the features,
    divided by ``n_features``, in every feature.

    Parameters and returns as :func:`em_pass_full`, with ``prec`` of shape
    (n_components, n_features) (float64, the precision Cholesky factors) and
    ``sxx`` of shape (n_components, n_features): ``sum r (x - mu_k)^2``
    ('spherical': pooled, see above).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    chunk_size, n_threads, dtype = _pass_setup(X, chunk_size, _config.BLAS_PASS_CHUNK_SIZE,
                                               n_threads, n_samples)
    unit_weights = sample_weight.shape[0] == 0
    # Few K x d temporaries, written in place: a fresh array of megabytes
    # costs more in page faults than its arithmetic (measured 17 ms against
    # 1 ms for a 256 x 2048 subtraction on the 2-core machine). The
    # coefficients are made in one sweep (_kernels.diag).
    centre = means.mean(axis=0).astype(dtype)
    offsets = np.empty((n_components, n_features))
    coef = np.empty((n_components, 2 * n_features), dtype)
    const_c = np.empty(n_components)
    gemm_coefficients(*(np.ascontiguousarray(a, dtype=np.float64) for a in (means, prec)),
                      centre, np.ascontiguousarray(const, dtype=np.float64), offsets, coef,
                      const_c)
    logp_slots = [np.empty((n_components, chunk_size)) for _ in range(n_threads)]
    # Each slot's centred sums (sx, sxx), made once per pass and zeroed per
    # block: fresh K x d arrays per block cost page faults (see above); a
    # slot's are added into the totals before a block of the next window
    # reuses them (_map_blocks combines a window before the next starts).
    moment_slots = [None] * n_threads
    # (totals["moments"], the sums around the centre, made at the first
    # block that takes its statistics by GEMM.)
    totals = {"loglik": 0.0, "nk": np.zeros(n_components)}

    if spherical:
        # A view: BLAS reads its rows with coef's stride (same bits as a copy).
        coef_u = coef[:, :n_features]
        coef_sq = coef[:, n_features].astype(np.float64)  # -P_k / 2
        # Per component, the second moments summed over the features that
        # the (K, d) sums do not hold: r |y|^2 around the centre (the GEMV
        # of the rows' norms: all of b that the M-step of 'spherical'
        # reads) and r |x - mu_k|^2 of the sparse blocks.
        totals["pooled"] = np.zeros(n_components)

    def block(slot, Xb, w, n_rows):
        logp = logp_slots[slot]
        # The block's Y (and Y^2) as fresh arrays, freed before the next
        # block: the allocator hands the same memory back. Kept per slot for
        # the whole pass instead, they made the pass slower (d = 2048,
        # K = 256, 953 rows, float64: 38.3 against 30.7 ms), the heap being
        # returned to the system at the end of each pass.
        if spherical:
            Y = np.empty((n_rows, n_features), dtype)
            squares = np.empty(n_rows)
            shifted_rows_norms(Xb, centre, Y, squares)
            np.add(_scores(Y, coef_u), const_c[:, None], out=logp[:, :n_rows])
            logp[:, :n_rows] += coef_sq[:, None] * squares
        else:
            Z = np.empty((n_rows, 2 * n_features), dtype)
            shifted_rows(Xb, centre, Z)
            np.add(_scores(Z, coef), const_c[:, None], out=logp[:, :n_rows])
        loglik, R = _posterior(logp, n_rows, hard, w, unit_weights)
        nk = R.sum(axis=1)
        # Counted first: np.nonzero costs 17x the count (1.19 against 0.07
        # ms for 256 x 512), and the GEMM path needs no indices.
        if _SPARSE_FRACTION * np.count_nonzero(R) <= R.size:
            comp, rows = np.nonzero(R)
            if moment_slots[slot] is None:
                moment_slots[slot] = (np.zeros((n_components, n_features)),
                                      np.zeros(n_components if spherical
                                               else (n_components, n_features)))
            else:
                for part in moment_slots[slot]:
                    part.fill(0.0)
            return loglik, nk, _centred_moments(Xb, means, R, comp, rows,
                                                *moment_slots[slot])
        if spherical:
            return loglik, nk, ("shifted", nk, R.astype(dtype) @ Y, R @ squares)
        return loglik, nk, ("shifted", nk, R.astype(dtype) @ Z)

    def combine(result):
        loglik, nk, (kind, *moments) = result
        totals["loglik"] += loglik
        totals["nk"] += nk
        if kind == "shifted":
            if "moments" not in totals:
                # 'spherical': a alone ("pooled" takes its sums of r |y|^2).
                totals["moments"] = np.zeros(moments[1].shape)
            totals["nk_shifted"] += moments[0]
            totals["moments"] += moments[1]
            if spherical:
                totals["pooled"] += moments[2]
        else:
            totals["sx"] += moments[0]
            totals["pooled" if spherical else "sxx"] += moments[1]

    totals["nk_shifted"] = np.zeros(n_components)
    totals["sx"] = np.zeros((n_components, n_features))
    totals["sxx"] = np.zeros((n_components, n_features))
    _map_blocks(X, sample_weight, chunk_size, n_threads, block, combine)
    nk = totals["nk"]
    sx, sxx = totals["sx"], totals["sxx"]
    if "moments" in totals:
        # sx = sx_centred + a - nk u;  sxx = sxx_centred + b - 2 u (a - nk u / 2),
        # with [a | b] the sums around the centre (in place, one sweep).
        centred_from_shifted(totals["moments"], totals["nk_shifted"], offsets, sx, sxx)
    if spherical:
        # Each component's sum over the features, in every feature (see above).
        pooled = sxx.sum(axis=1)
        pooled += totals["pooled"]
        pooled /= n_features
        sxx[:] = pooled[:, None]
    return float(totals["loglik"]), nk, sx, sxx


def _scores(rows, coef):
    """``coef @ rows.T`` (n_components x n_rows), the log-densities' GEMM of
    a block: computed as ``(rows @ coef.T).T`` up to
    ``_config.BLAS_SCORES_ROWS_FIRST_MAX_COMPONENTS`` components, where
    OpenBLAS runs that orientation faster (see there)."""
    if coef.shape[0] <= _config.BLAS_SCORES_ROWS_FIRST_MAX_COMPONENTS:
        return (rows @ coef.T).T
    return coef @ rows.T


# A block whose responsibilities have at most this fraction of nonzero
# entries (at large d most rows belong wholly to one component: their
# log-densities differ by hundreds) takes its statistics from those entries
# alone, around each component's mean (:func:`_centred_moments`), instead of
# by a GEMM over all of them around a common centre.
_SPARSE_FRACTION = 16


def _centred_moments(Xb, means, R, comp, rows, sx, sxx):
    """("centred", sx, sxx) of a block from the nonzero responsibilities
    ``R[comp, rows]``: ``sum r (x - mu_k)`` and ``sum r (x - mu_k)^2`` per
    component, float64, by a serial Numba kernel
    (``_kernels.moments.centred_moments``; it releases the GIL), added into
    the zeroed (n_components, n_features) ``sx`` and ``sxx``; with ``sxx``
    of shape (n_components,) ('spherical'), the second moments summed over
    the features (``centred_moments_pooled``)."""
    kernel = centred_moments_pooled if sxx.ndim == 1 else centred_moments
    kernel(Xb, means, np.ascontiguousarray(R[comp, rows]), comp, rows, sx, sxx)
    return ("centred", sx, sxx)


def em_pass_tied(X, sample_weight, means, means_u, prec, const, shift, hard,
                 chunk_size=None, n_threads=None):
    """The fused pass of a tied covariance by BLAS-3 on blocks of rows.

    Per block, with ``D = X_b - shift`` (in X's dtype) and U the shared
    precision factor:

    1. ``XU = D U`` by ``trmm`` and the squared distances to the components'
       ``mu_u_k = (mu_k - shift) U`` as ``|XU|^2 - 2 XU mu_u^T + |mu_u|^2``
       (one GEMM with the K x d ``means_u``): centred on the shift, only the
       Mahalanobis offsets of the means from it enter the cancellation;
    2. the log-sum-exp and responsibilities R (Numba, as every pass);
    3. ``a_k = R^T D`` by a float64 GEMM (``sx_k = a_k - nk_k (mu_k -
       shift)``) and the pooled scatter ``D^T diag(w) D`` (upper triangle)
       by ``syrk`` of ``sqrt(w) D`` in X's dtype.

    Parameters and returns as :func:`em_pass_full`, with the arguments of the
    tied model's pass (``Tied.pass_arguments``): ``means_u`` (K x d,
    float64), ``prec`` (d x d upper-triangular U, float64), ``const`` (K,),
    ``shift`` (d,). ``sxx`` is the pooled scatter around ``shift``, upper
    triangle (lower 0).
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    chunk_size, n_threads, dtype = _pass_setup(X, chunk_size, _config.BLAS_TIED_CHUNK_SIZE,
                                               n_threads, n_samples)
    # Each block in flight holds a d x d scatter: at most
    # _config.BLAS_TIED_SCRATCH_BYTES of them (the results do not depend on
    # how many blocks run at once).
    n_threads = max(1, min(n_threads, _config.BLAS_TIED_SCRATCH_BYTES
                           // (n_features * n_features * np.dtype(dtype).itemsize)))
    unit_weights = sample_weight.shape[0] == 0
    shift_x = shift.astype(dtype)
    offsets = means - shift_x.astype(np.float64)
    U = np.ascontiguousarray(prec, dtype=dtype)
    means_u = np.ascontiguousarray(means_u, dtype=np.float64)
    mu_u_sq = np.einsum("kd,kd->k", means_u, means_u)
    logp_slots = [np.empty((n_components, chunk_size)) for _ in range(n_threads)]
    # One zeroed Fortran d x d scratch per slot: syrk writes its lower
    # triangle only (the C-order upper one), the other stays 0.
    scratch = [np.zeros((n_features, n_features), dtype, order="F")
               for _ in range(n_threads)]
    # The pooled scatter is summed in the scratches' (Fortran) layout, so that
    # each block's lower triangle adds contiguously (a transposed add of a
    # d x d block took tens of milliseconds at d = 2048), and returned as its
    # transpose: the C-order upper triangle, no copy.
    totals = {"loglik": 0.0, "nk": np.zeros(n_components),
              "a": np.zeros((n_components, n_features)),
              "sxx": np.zeros((n_features, n_features), order="F")}

    def block(slot, Xb, w, n_rows):
        D = Xb - shift_x
        XU = _linalg.trmm(U.T, D.T.copy(order="F"), lower=True).T
        # const - (|xu|^2 - 2 xu.mu_u + |mu_u|^2) / 2, in float64 (for
        # float32 data XU is rounded once, as in the Numba pass; the sum
        # that cancels is not).
        XU = XU if dtype == np.float64 else XU.astype(np.float64)
        logp = logp_slots[slot][:, :n_rows]
        np.matmul(means_u, XU.T, out=logp)
        logp -= 0.5 * np.einsum("ij,ij->i", XU, XU)
        logp += (const - 0.5 * mu_u_sq)[:, None]
        loglik, R = _posterior(logp_slots[slot], n_rows, hard, w, unit_weights)
        nk = R.sum(axis=1)
        # sum r (x - shift), float64 (exact differences for float32 data).
        a = R @ (D if dtype == np.float64 else Xb.astype(np.float64) - shift)
        if not unit_weights:
            D *= np.sqrt(w).astype(dtype)[:, None]
        part = _linalg.syrk(D.T, scratch[slot], lower=True)
        return loglik, nk, a, part

    def combine(result):
        loglik, nk, a, part = result
        totals["loglik"] += loglik
        totals["nk"] += nk
        totals["a"] += a
        totals["sxx"] += part

    _map_blocks(X, sample_weight, chunk_size, n_threads, block, combine)
    nk = totals["nk"]
    sx = totals["a"] - nk[:, None] * offsets
    return float(totals["loglik"]), nk, sx, totals["sxx"].T
