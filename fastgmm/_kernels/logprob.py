"""Per-point weighted log-densities, one kernel per covariance type.

``log pi_k + log N(x | mu_k, Sigma_k)`` for every point and component,
written as an (n_samples, n_components) array: the per-point outputs of
``predict``, ``predict_proba`` and ``score_samples`` are that size by nature.
The block helpers here are shared with the fused EM pass (``em_pass.py``),
so both compute the same numbers.

Every block helper works on a block of rows transposed into ``xt`` of shape
(n_features, chunk_size), so that the innermost loops run over the points of
the block and vectorise even when n_features is 2.

Conventions shared by all kernels (scikit-learn's):

- ``precisions_chol`` is the upper-triangular U with precision = U U^T, so
  the Mahalanobis term is ``||(x - mu) U||^2``; 'diag' passes U's diagonal as
  (n_components, n_features); 'spherical' is run as 'diag' with each row
  filled with the component's value.
- ``const[k] = log pi_k + log det(U_k) - n_features / 2 * log(2 pi)``.
"""

import math

import numpy as np
from numba import njit, prange

from .._config import HOST_AVX512, UNROLLED_MAX_FEATURES
from . import FAST_JIT, cached_factory, generated_function, kernel_variant, serial_twin
from ._inline import LOG_2PI, exp_nonpositive

_JIT = FAST_JIT


# Scratch rows are this many elements longer than a block: with a row
# stride of exactly chunk_size doubles (a power of two), the columns written
# by ``load_block`` map to a handful of cache sets and evict each other.
ROW_PAD = 8


# Below this many features, ``load_block`` copies four rows of a row-major X
# per sweep over the features; from it on, one.
LOAD_FOUR_ROWS_MAX_FEATURES = 16


@njit(**_JIT)
def load_block(X, start, n_rows, xt):
    """Copy rows [start, start + n_rows) of X into the columns of ``xt`` (X's dtype).

    X is read in its own order: a row-major X row by row (contiguous reads,
    writes spread over the block's rows, which stay in cache), four rows
    per sweep below ``LOAD_FOUR_ROWS_MAX_FEATURES`` features; any other
    layout feature by feature (contiguous writes, the strided reads of one
    column staying in cache for the next features). On an AMD EPYC (Zen 3),
    one thread, float64, reading row-major X feature by feature took 2.4
    times as long at d = 64, 1.8 times at d = 16 and 2.9 times at d = 256
    (row by row) and 1.2 times at d = 2 (four rows at a time).
    """
    n_features = X.shape[1]
    if X.strides[1] != X.itemsize:
        for j in range(n_features):
            for b in range(n_rows):
                xt[j, b] = X[start + b, j]
    elif n_features < LOAD_FOUR_ROWS_MAX_FEATURES:
        n_four = n_rows - n_rows % 4
        for b in range(0, n_four, 4):
            for j in range(n_features):
                xt[j, b] = X[start + b, j]
                xt[j, b + 1] = X[start + b + 1, j]
                xt[j, b + 2] = X[start + b + 2, j]
                xt[j, b + 3] = X[start + b + 3, j]
        for b in range(n_four, n_rows):
            for j in range(n_features):
                xt[j, b] = X[start + b, j]
    else:
        for b in range(n_rows):
            for j in range(n_features):
                xt[j, b] = X[start + b, j]


# From this many features on, the triangular product and the scatter work on
# tiles four columns wide; below it, four-wide tiles waste more work on the
# triangle's edge than they save (measured with AVX-512).
WIDE_TILE_MIN_FEATURES = 8

# Without AVX-512 the triangular product gains from four-wide tiles from four
# features on: on an AMD EPYC (Zen 3, AVX2), one 256-row block took 426
# against 579 ns at d=4 and 1253 against 1443 ns at d=7 in float64, the
# same at d=3 (one thread, median of 5).
TRIANGULAR_WIDE_MIN_FEATURES = WIDE_TILE_MIN_FEATURES if HOST_AVX512 else 4

# Below this many features the float64 log-densities of full covariances
# centre the rows in the triangular product (``block_squared_norm_centred``).
CENTRED_PRODUCT_MAX_FEATURES = 16


@njit(**_JIT)
def _tri_cols4(xt, n_rows, U, shift_u, j, y, sq, squares):
    """Columns j..j+3 (j a multiple of 4) of ``block_triangular_product``; rows
    of xt four at a time.

    Each pass over the block updates four output rows from four input rows:
    sixteen products per point for four loads and four stores of the
    outputs, instead of one product per load/store pair. With ``squares``
    the last pass adds the squares of the four finished outputs to ``sq``
    instead of storing them (``block_squared_norm``).
    """
    top = j + 4  # U[i, j + q] is 0 for i > j + q: rows from j + 4 on add nothing
    for b in range(n_rows):
        y[j, b] = -shift_u[j]
        y[j + 1, b] = -shift_u[j + 1]
        y[j + 2, b] = -shift_u[j + 2]
        y[j + 3, b] = -shift_u[j + 3]
    for i in range(0, top, 4):
        u00 = U[i, j]
        u01 = U[i, j + 1]
        u02 = U[i, j + 2]
        u03 = U[i, j + 3]
        u10 = U[i + 1, j]
        u11 = U[i + 1, j + 1]
        u12 = U[i + 1, j + 2]
        u13 = U[i + 1, j + 3]
        u20 = U[i + 2, j]
        u21 = U[i + 2, j + 1]
        u22 = U[i + 2, j + 2]
        u23 = U[i + 2, j + 3]
        u30 = U[i + 3, j]
        u31 = U[i + 3, j + 1]
        u32 = U[i + 3, j + 2]
        u33 = U[i + 3, j + 3]
        if squares and i + 4 == top:
            for b in range(n_rows):
                x0 = xt[i, b]
                x1 = xt[i + 1, b]
                x2 = xt[i + 2, b]
                x3 = xt[i + 3, b]
                a0 = y[j, b] + x0 * u00 + x1 * u10 + x2 * u20 + x3 * u30
                a1 = y[j + 1, b] + x0 * u01 + x1 * u11 + x2 * u21 + x3 * u31
                a2 = y[j + 2, b] + x0 * u02 + x1 * u12 + x2 * u22 + x3 * u32
                a3 = y[j + 3, b] + x0 * u03 + x1 * u13 + x2 * u23 + x3 * u33
                sq[b] += (a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3)
        else:
            for b in range(n_rows):
                x0 = xt[i, b]
                x1 = xt[i + 1, b]
                x2 = xt[i + 2, b]
                x3 = xt[i + 3, b]
                y[j, b] += x0 * u00 + x1 * u10 + x2 * u20 + x3 * u30
                y[j + 1, b] += x0 * u01 + x1 * u11 + x2 * u21 + x3 * u31
                y[j + 2, b] += x0 * u02 + x1 * u12 + x2 * u22 + x3 * u32
                y[j + 3, b] += x0 * u03 + x1 * u13 + x2 * u23 + x3 * u33


@njit(**_JIT)
def _tri_col1(xt, n_rows, U, shift_u, j, y, sq, squares):
    """Column j of ``block_triangular_product`` (its square added to ``sq``
    with ``squares``)."""
    for b in range(n_rows):
        y[j, b] = -shift_u[j]
    for i in range(j + 1):
        u = U[i, j]
        for b in range(n_rows):
            y[j, b] += xt[i, b] * u
    if squares:
        for b in range(n_rows):
            sq[b] += y[j, b] * y[j, b]


@njit(**_JIT)
def _tri_cols4_centred(xt, n_rows, U, mean, j, y, sq):
    """Columns j..j+3 of ``block_squared_norm_centred``: ``_tri_cols4`` with
    ``squares``, on rows centred as they are loaded (``x - mean``)."""
    top = j + 4
    for b in range(n_rows):
        y[j, b] = 0.0
        y[j + 1, b] = 0.0
        y[j + 2, b] = 0.0
        y[j + 3, b] = 0.0
    for i in range(0, top, 4):
        u00, u01, u02, u03 = U[i, j], U[i, j + 1], U[i, j + 2], U[i, j + 3]
        u10, u11, u12, u13 = U[i + 1, j], U[i + 1, j + 1], U[i + 1, j + 2], U[i + 1, j + 3]
        u20, u21, u22, u23 = U[i + 2, j], U[i + 2, j + 1], U[i + 2, j + 2], U[i + 2, j + 3]
        u30, u31, u32, u33 = U[i + 3, j], U[i + 3, j + 1], U[i + 3, j + 2], U[i + 3, j + 3]
        m0, m1, m2, m3 = mean[i], mean[i + 1], mean[i + 2], mean[i + 3]
        if i + 4 == top:
            for b in range(n_rows):
                x0 = xt[i, b] - m0
                x1 = xt[i + 1, b] - m1
                x2 = xt[i + 2, b] - m2
                x3 = xt[i + 3, b] - m3
                a0 = y[j, b] + x0 * u00 + x1 * u10 + x2 * u20 + x3 * u30
                a1 = y[j + 1, b] + x0 * u01 + x1 * u11 + x2 * u21 + x3 * u31
                a2 = y[j + 2, b] + x0 * u02 + x1 * u12 + x2 * u22 + x3 * u32
                a3 = y[j + 3, b] + x0 * u03 + x1 * u13 + x2 * u23 + x3 * u33
                sq[b] += (a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3)
        else:
            for b in range(n_rows):
                x0 = xt[i, b] - m0
                x1 = xt[i + 1, b] - m1
                x2 = xt[i + 2, b] - m2
                x3 = xt[i + 3, b] - m3
                y[j, b] += x0 * u00 + x1 * u10 + x2 * u20 + x3 * u30
                y[j + 1, b] += x0 * u01 + x1 * u11 + x2 * u21 + x3 * u31
                y[j + 2, b] += x0 * u02 + x1 * u12 + x2 * u22 + x3 * u32
                y[j + 3, b] += x0 * u03 + x1 * u13 + x2 * u23 + x3 * u33


@njit(**_JIT)
def block_squared_norm_centred(xt, n_rows, U, mean, y, sq):
    """``sq[b] = ||(x_b - mean) U||^2`` for the block's rows, U upper triangular.

    ``block_squared_norm`` with the rows centred as they are loaded, not in
    a pass of their own (float32) nor by subtracting ``mean U`` from ``x U``
    (float64, where that loses digits for rows far from the origin). Used
    below ``CENTRED_PRODUCT_MAX_FEATURES`` features in float64, where the
    four subtractions per tile cost less than they save, and always in
    float32, where the centring pass cost more. On an AMD EPYC (Zen 3,
    AVX2), one thread, 512-row blocks, ns per row and component, against
    the centring pass (float32) or ``x U - mean U`` (float64): float32
    d=4 1.63 vs 2.29, d=8 3.85 vs 4.91, d=16 8.22 vs 9.58, d=32 34.9 vs
    35.2; float64 d=4 3.21 vs 3.47, d=8 5.90 vs 6.21, but d=16 19.96 vs
    16.46 (the tile's means no longer fit the vector registers).

    Parameters
    ----------
    xt, n_rows, U
        As ``block_triangular_product``.
    mean : ndarray of shape (n_features,), xt's dtype
    y : ndarray of shape (n_features, chunk_size), xt's dtype
        Scratch.
    sq : ndarray of shape (chunk_size,), xt's dtype
        Output.
    """
    n_features = U.shape[0]
    for b in range(n_rows):
        sq[b] = 0.0
    # np.int64(0), not 0: see _tri_columns.
    j = np.int64(0)
    if n_features >= TRIANGULAR_WIDE_MIN_FEATURES:
        while j + 4 <= n_features:
            _tri_cols4_centred(xt, n_rows, U, mean, j, y, sq)
            j += 4
    while j < n_features:
        for b in range(n_rows):
            y[j, b] = 0.0
        for i in range(j + 1):
            u = U[i, j]
            m = mean[i]
            for b in range(n_rows):
                y[j, b] += (xt[i, b] - m) * u
        for b in range(n_rows):
            sq[b] += y[j, b] * y[j, b]
        j += 1


@njit(**_JIT)
def _tri_columns(xt, n_rows, U, shift_u, y, sq, squares):
    """The column tiles of ``block_triangular_product`` and ``block_squared_norm``."""
    n_features = U.shape[0]
    # A literal 0 would be typed Literal[int](0) at the loop's first call,
    # and Numba would compile the tile a second time for that type.
    j = np.int64(0)
    if n_features >= TRIANGULAR_WIDE_MIN_FEATURES:
        while j + 4 <= n_features:
            _tri_cols4(xt, n_rows, U, shift_u, j, y, sq, squares)
            j += 4
    while j < n_features:
        _tri_col1(xt, n_rows, U, shift_u, j, y, sq, squares)
        j += 1


@njit(**_JIT)
def block_triangular_product(xt, n_rows, U, shift_u, y):
    """``y[:, b] = x_b U - shift_u`` for the block's rows, U upper triangular.

    The columns of y are computed in tiles four wide from
    ``TRIANGULAR_WIDE_MIN_FEATURES`` features on, so that the outputs of a tile
    share every load of an input row; the other columns one at a time
    (below 8 features, two-wide tiles measured no faster).

    Parameters
    ----------
    xt : ndarray of shape (n_features, chunk_size), float32 or float64
        The block, transposed; columns [0, n_rows) are used.
    n_rows : int
    U : ndarray of shape (n_features, n_features), float32 or float64
        Upper triangular; the entries below the diagonal must be 0.
    shift_u : ndarray of shape (n_features,), y's dtype
        Subtracted from every row's product (``mu U`` gives ``(x - mu) U``).
    y : ndarray of shape (n_features, chunk_size), float32 or float64
        Output; the products are summed in its dtype when xt and U have
        it (float32 rows times float64 U are summed in float64).
    """
    _tri_columns(xt, n_rows, U, shift_u, y, y[0], False)


@njit(**_JIT)
def block_squared_norm(xt, n_rows, U, shift_u, y, sq):
    """``sq[b] = ||x_b U - shift_u||^2`` for the block's rows, U upper triangular.

    The product of ``block_triangular_product``, whose four-wide tiles add
    the squares of their outputs to ``sq`` as they finish them: the outputs
    of a tile's last pass are never stored, and no further pass over y
    sums the squares. On an AMD EPYC (Zen 3), one thread, float64, per
    256-row block and component: 15.6 against 20.5 ns at d = 16 and 258
    against 283 ns at d = 64 for the product with a separate pass of
    squares.

    Parameters
    ----------
    xt, n_rows, U, shift_u
        As ``block_triangular_product``.
    y : ndarray of shape (n_features, chunk_size), xt's dtype
        Scratch.
    sq : ndarray of shape (chunk_size,), xt's dtype
        Output.
    """
    for b in range(n_rows):
        sq[b] = 0.0
    _tri_columns(xt, n_rows, U, shift_u, y, sq, True)


@njit(**_JIT)
def block_log_prob_full_2d(xt, n_rows, means, precisions_chol, const, logp, mean_u, y, sq):
    """``block_log_prob_full`` for two features: one pass over the block per
    component (the scratch arrays are not used). The kernels ending in
    ``_2d`` call it instead of ``block_log_prob_full`` (two features never
    run the written-out kernels of ``unrolled_log_prob_kernels``)."""
    for k in range(means.shape[0]):
        u00 = precisions_chol[k, 0, 0]
        u01 = precisions_chol[k, 0, 1]
        u11 = precisions_chol[k, 1, 1]
        m0 = means[k, 0]
        m1 = means[k, 1]
        c = const[k]
        for b in range(n_rows):
            d0 = xt[0, b] - m0
            d1 = xt[1, b] - m1
            y0 = d0 * u00
            y1 = d0 * u01 + d1 * u11
            logp[k, b] = c - 0.5 * (y0 * y0 + y1 * y1)


@njit(**_JIT)
def block_log_prob_full(xt, n_rows, means, precisions_chol, const, logp, mean_u, y, sq):
    """Weighted log-densities of one block, full covariances.

    Computed in the dtype of ``xt`` (X's): float32 data take sixteen lanes
    per vector instead of eight. Rows are centred on each component's mean
    as the product loads them (``(x - mu) U``, exact for rows near ``mu``),
    so that data far from the origin lose nothing to cancellation. Which
    product a kernel runs is chosen per kernel (``kernel_variant``): up to
    ``_config.UNROLLED_MAX_FEATURES`` features the written-out one
    (``unrolled_squared_norm``, the kernels of
    ``unrolled_log_prob_kernels``; the rule: ``unrolled_product``); above
    it the column tiles, centred (``block_squared_norm_centred``), or, in
    float64 from ``CENTRED_PRODUCT_MAX_FEATURES`` features, ``x U - mu U``,
    which is faster there: that is ``block_log_prob_full_uncentred``, and
    the kernels ending in ``_uncentred`` call it (the rule:
    ``centred_product``).

    Parameters
    ----------
    xt : ndarray of shape (n_features, chunk_size), float32 or float64
        The block, transposed; columns [0, n_rows) are used.
    n_rows : int
    means : ndarray of shape (n_components, n_features), xt's dtype
    precisions_chol : ndarray of shape (n_components, n_features, n_features), xt's dtype
    const : ndarray of shape (n_components,), float64
    logp : ndarray of shape (n_components, chunk_size), float64
        Output: logp[k, b] for the b-th row of the block.
    mean_u : ndarray of shape (n_features,), xt's dtype
        Scratch.
    y : ndarray of shape (n_features, chunk_size), xt's dtype
        Scratch.
    sq : ndarray of shape (chunk_size,), xt's dtype
        Scratch.

    Any number of features but two (``block_log_prob_full_2d``).
    """
    for k in range(means.shape[0]):
        block_log_prob_full_one(xt, n_rows, means, precisions_chol, const, k, logp, mean_u,
                                y, sq)


@njit(**_JIT)
def block_log_prob_full_one(xt, n_rows, means, precisions_chol, const, k, logp, mean_u, y,
                            sq):
    """Row k of ``block_log_prob_full`` (not two features): component k only,
    writing ``logp[k]``; the scratch arrays as there (``mean_u`` unused).

    The centred product ``(x - mu) U`` by column tiles (float32, and float64
    below ``CENTRED_PRODUCT_MAX_FEATURES`` features, above
    ``_config.UNROLLED_MAX_FEATURES``). The kernels ending in
    ``_uncentred`` call :func:`block_log_prob_full_one_uncentred` instead,
    those of ``unrolled_log_prob_kernels`` a variant calling
    ``unrolled_squared_norm``.
    """
    block_squared_norm_centred(xt, n_rows, precisions_chol[k], means[k], y, sq)
    c = const[k]
    for b in range(n_rows):
        logp[k, b] = c - 0.5 * sq[b]


@njit(**_JIT)
def block_log_prob_full_one_uncentred(xt, n_rows, means, precisions_chol, const, k, logp,
                                      mean_u, y, sq):
    """``block_log_prob_full_one`` as ``x U - mu U``: float64 from
    ``CENTRED_PRODUCT_MAX_FEATURES`` features, where it is faster than the
    centred tiles (from above ``_config.UNROLLED_MAX_FEATURES`` with
    AVX-512)."""
    n_features = means.shape[1]
    U = precisions_chol[k]
    for j in range(n_features):
        s = 0.0
        for i in range(j + 1):
            s += means[k, i] * U[i, j]
        mean_u[j] = s
    block_squared_norm(xt, n_rows, U, mean_u, y, sq)
    c = const[k]
    for b in range(n_rows):
        logp[k, b] = c - 0.5 * sq[b]


def unrolled_product(n_features, dtype):
    """Whether 'full' scores ``n_features`` features of ``dtype`` by
    :func:`unrolled_squared_norm` (the kernels of :func:`unrolled_log_prob_kernels`
    and ``em_pass.unrolled_full_kernels``)."""
    return n_features != 2 and n_features <= UNROLLED_MAX_FEATURES[np.dtype(dtype).name]


def _unrolled_source(n_features):
    """The source of ``unrolled_squared_norm(n_features)``."""
    d = n_features
    name = f"unrolled_squared_norm_{d}"
    lines = [f"def {name}(xt, n_rows, U, mean, y, sq):"]
    lines += [f"    m{i} = mean[{i}]" for i in range(d)]
    # Every entry of the triangle read once, before the loop: read inside it,
    # LLVM could not prove that the stores to sq leave U unchanged and would
    # not vectorise the loop.
    lines += [f"    u{i}_{j} = U[{i}, {j}]" for j in range(d) for i in range(j + 1)]
    lines.append("    for b in range(n_rows):")
    lines += [f"        x{i} = xt[{i}, b] - m{i}" for i in range(d)]
    for j in range(d):
        terms = " + ".join(f"x{i} * u{i}_{j}" for i in range(j + 1))
        lines.append(f"        y{j} = {terms}")
        lines.append(f"        s = y{j} * y{j}" if j == 0 else f"        s += y{j} * y{j}")
    lines.append("        sq[b] = s")
    return name, "\n".join(lines) + "\n"


@cached_factory
def unrolled_squared_norm(n_features):
    """``block_squared_norm_centred`` for ``n_features`` features, written out.

    The body of the loop over the block's rows is straight-line code: a
    row's centred values ``x_i - mean_i`` and each output ``y_j = sum_i x_i
    U_ij`` live in vector registers, and each entry of the triangle is one
    multiply-add per row, where the tiles load and store their partial
    outputs on every pass over the block (and compute the whole four-wide
    tile on the triangle's edge). Same arguments as
    ``block_squared_norm_centred`` (``y`` unused). The source is generated
    per number of features and compiled under this file's name, so that
    Numba caches it like the helpers written here.
    """
    name, source = _unrolled_source(n_features)
    return generated_function(
        source, name, __name__,
        f"``block_squared_norm_centred`` for {n_features} features (generated).", **_JIT)


@cached_factory
def unrolled_log_prob_kernels(n_features):
    """``(block_log_prob_full_one, block_log_prob_full, (weighted_log_prob_full,
    its serial twin))`` calling :func:`unrolled_squared_norm` for
    ``n_features`` features: kernels of their own, so a fit compiles the
    straight-line product of its own number of features only."""
    suffix = f"_unrolled{n_features}"
    one = kernel_variant(block_log_prob_full_one, suffix,
                         {"block_squared_norm_centred": unrolled_squared_norm(n_features)},
                         **_JIT)
    block = kernel_variant(block_log_prob_full, suffix, {"block_log_prob_full_one": one},
                           **_JIT)
    scoring = kernel_variant(weighted_log_prob_full, suffix, {"block_log_prob_full": block},
                             parallel=True, **_JIT)
    return one, block, (scoring, serial_twin(scoring, **_JIT))


def centred_product(n_features, dtype):
    """Whether 'full' scores ``n_features`` features of ``dtype`` by the centred
    tiles (``block_log_prob_full_one``) rather than ``x U - mu U`` (the
    ``_uncentred`` kernels), where ``unrolled_product`` is false."""
    return dtype == np.float32 or n_features < CENTRED_PRODUCT_MAX_FEATURES


@njit(**_JIT)
def block_log_prob_tied(xc, n_rows, means_u, precision_chol, const, logp, xu, sq):
    """Weighted log-densities of one block, one shared covariance.

    ``x U`` is computed once per point; each component then only subtracts
    its ``mu_k U`` (``means_u[k]``), so the cost per component is
    n_features, not n_features**2. The rows may be given relative to any
    shift s (``xc = x - s``, with ``means_u[k] = (mu_k - s) U``); the
    arithmetic runs in the dtype of ``xu``. Four features per sweep over
    the block, or below four features one sweep per component
    (``_block_log_prob_tied_narrow``).

    Parameters
    ----------
    xc : ndarray of shape (n_features, chunk_size), float32 or float64
        The block, transposed (and shifted).
    n_rows : int
    means_u : ndarray of shape (n_components, n_features), xu's dtype
        ``(means - s) @ precision_chol``.
    precision_chol : ndarray of shape (n_features, n_features), xu's dtype
    const : ndarray of shape (n_components,), float64
    logp : ndarray of shape (n_components, chunk_size), float64
        Output.
    xu : ndarray of shape (n_features, chunk_size), float32 or float64
        Output as well as scratch: ``xu[:, b] = xc[:, b] U``.
    sq : ndarray of shape (chunk_size,), xu's dtype
        Scratch (unused below four features).
    """
    n_components, n_features = means_u.shape
    block_triangular_product(xc, n_rows, precision_chol, np.zeros(n_features, xu.dtype), xu)
    if n_features < 4:
        # Its scales: any (K, d) array; loaded, never used (see
        # _block_log_prob_tied_narrow).
        _block_log_prob_tied_narrow(xu, n_rows, means_u, means_u, const, logp)
        return
    n_four = n_features - n_features % 4
    for k in range(n_components):
        for b in range(n_rows):
            sq[b] = 0.0
        # Four features per sweep, as block_log_prob_diag.
        for j in range(0, n_four, 4):
            m0, m1, m2, m3 = means_u[k, j], means_u[k, j + 1], means_u[k, j + 2], means_u[k, j + 3]
            for b in range(n_rows):
                t0 = xu[j, b] - m0
                t1 = xu[j + 1, b] - m1
                t2 = xu[j + 2, b] - m2
                t3 = xu[j + 3, b] - m3
                sq[b] = (((sq[b] + t0 * t0) + t1 * t1) + t2 * t2) + t3 * t3
        for j in range(n_four, n_features):
            m = means_u[k, j]
            for b in range(n_rows):
                t = xu[j, b] - m
                sq[b] += t * t
        c = const[k]
        for b in range(n_rows):
            logp[k, b] = c - 0.5 * sq[b]


@njit(inline="always", **_JIT)
def _scaled(x, m, p):
    """A row's deviation from a mean times the feature's factor of the
    precision: 'diag' and 'spherical' (``_block_log_prob_tied_narrow``, the
    rows already multiplied by U, compiles ``_unscaled`` in its place)."""
    return (x - m) * p


@njit(inline="always", **_JIT)
def _unscaled(x, m, p):
    """``_scaled`` where the rows are already scaled: ``x - m``."""
    return x - m


@njit(**_JIT)
def _block_log_prob_diag_narrow(xt, n_rows, means, precisions_chol, const, logp):
    """``block_log_prob_diag`` of one to three features: one sweep over the
    block per component, straight into ``logp`` (the squares added in the
    order of the features, as there), where the running sum took a sweep to
    zero, one per feature and one to read back. Compiled again as
    ``_block_log_prob_tied_narrow`` for 'tied''s rows ``x U``."""
    n_components, n_features = means.shape
    for k in range(n_components):
        c = const[k]
        m0 = means[k, 0]
        p0 = precisions_chol[k, 0]
        if n_features == 1:
            for b in range(n_rows):
                t0 = _scaled(xt[0, b], m0, p0)
                logp[k, b] = c - 0.5 * (t0 * t0)
        elif n_features == 2:
            m1 = means[k, 1]
            p1 = precisions_chol[k, 1]
            for b in range(n_rows):
                t0 = _scaled(xt[0, b], m0, p0)
                t1 = _scaled(xt[1, b], m1, p1)
                s = t0 * t0
                s = s + t1 * t1
                logp[k, b] = c - 0.5 * s
        else:
            m1 = means[k, 1]
            p1 = precisions_chol[k, 1]
            m2 = means[k, 2]
            p2 = precisions_chol[k, 2]
            for b in range(n_rows):
                t0 = _scaled(xt[0, b], m0, p0)
                t1 = _scaled(xt[1, b], m1, p1)
                t2 = _scaled(xt[2, b], m2, p2)
                s = t0 * t0
                s = s + t1 * t1
                s = s + t2 * t2
                logp[k, b] = c - 0.5 * s


@njit(**_JIT)
def block_log_prob_diag(xt, n_rows, means, precisions_chol, const, logp, sq):
    """Weighted log-densities of one block, diagonal covariances.

    Computed in the dtype of ``xt`` (X's), as ``block_log_prob_full``: four
    features per sweep over the block's rows, or below four features one
    sweep per component (``_block_log_prob_diag_narrow``).

    Parameters
    ----------
    xt : ndarray of shape (n_features, chunk_size), float32 or float64
    n_rows : int
    means : ndarray of shape (n_components, n_features), xt's dtype
    precisions_chol : ndarray of shape (n_components, n_features), xt's dtype
        Square roots of the diagonal precisions.
    const : ndarray of shape (n_components,), float64
    logp : ndarray of shape (n_components, chunk_size), float64
        Output.
    sq : ndarray of shape (chunk_size,), xt's dtype
        Scratch (unused below four features).
    """
    n_components, n_features = means.shape
    if n_features < 4:
        _block_log_prob_diag_narrow(xt, n_rows, means, precisions_chol, const, logp)
        return
    n_four = n_features - n_features % 4
    for k in range(n_components):
        for b in range(n_rows):
            sq[b] = 0.0
        # Four features per sweep over the block: one load and one store of
        # sq[b] per four squares where one per feature left the loop bound
        # by them. The squares are added in the order of the features, as
        # one feature per sweep adds them.
        for j in range(0, n_four, 4):
            m0, m1, m2, m3 = means[k, j], means[k, j + 1], means[k, j + 2], means[k, j + 3]
            p0 = precisions_chol[k, j]
            p1 = precisions_chol[k, j + 1]
            p2 = precisions_chol[k, j + 2]
            p3 = precisions_chol[k, j + 3]
            for b in range(n_rows):
                t0 = (xt[j, b] - m0) * p0
                t1 = (xt[j + 1, b] - m1) * p1
                t2 = (xt[j + 2, b] - m2) * p2
                t3 = (xt[j + 3, b] - m3) * p3
                sq[b] = (((sq[b] + t0 * t0) + t1 * t1) + t2 * t2) + t3 * t3
        for j in range(n_four, n_features):
            m = means[k, j]
            p = precisions_chol[k, j]
            for b in range(n_rows):
                t = (xt[j, b] - m) * p
                sq[b] += t * t
        c = const[k]
        for b in range(n_rows):
            logp[k, b] = c - 0.5 * sq[b]


@njit(**_JIT)
def block_normalize(logp, n_rows, lse, total):
    """Turn weighted log-densities into unnormalised responsibilities, in place.

    On return ``logp[k, b] = exp(logp[k, b] - max_k logp[:, b])`` (flushed to
    0 below exp(-690)), ``total[b] = sum_k logp[k, b]`` (>= 1) and ``lse[b]``
    is the column's maximum: the point's log-likelihood is
    ``lse[b] + log(total[b])`` (the caller takes the logarithms, see
    ``em_pass._block_loglik``) and its responsibilities are
    ``logp[k, b] / total[b]``. A column whose terms are all -inf gets lse 0,
    zero terms and total 0 (log-likelihood -inf). Every loop runs over the
    block's rows, so each vectorises.

    Parameters
    ----------
    logp : ndarray of shape (n_components, chunk_size), float64
    n_rows : int
    lse, total : ndarray of shape (chunk_size,), float64
        Outputs.
    """
    n_components = logp.shape[0]
    for b in range(n_rows):
        lse[b] = logp[0, b]
    for k in range(1, n_components):
        for b in range(n_rows):
            lse[b] = max(lse[b], logp[k, b])
    for b in range(n_rows):
        # exp(-inf - -inf) would be NaN; a 0 shift gives 0 terms instead.
        lse[b] = 0.0 if lse[b] == -np.inf else lse[b]
        total[b] = 0.0
    for k in range(n_components):
        for b in range(n_rows):
            e = exp_nonpositive(logp[k, b] - lse[b])
            logp[k, b] = e
            total[b] += e


@njit(**_JIT)
def block_hard_assign(logp, n_rows, best, total):
    """Classification step: each row wholly to its most probable component, in place.

    On return ``logp[k, b]`` is 1 for the first k with the largest weighted
    log-density of row b and 0 elsewhere, ``total[b]`` is 1, and ``best[b]``
    is that largest value (the row's term of the classification
    log-likelihood).

    Parameters
    ----------
    logp : ndarray of shape (n_components, chunk_size), float64
    n_rows : int
    best, total : ndarray of shape (chunk_size,), float64
        Outputs.
    """
    n_components = logp.shape[0]
    for b in range(n_rows):
        top = logp[0, b]
        arg = 0
        for k in range(1, n_components):
            if logp[k, b] > top:
                top = logp[k, b]
                arg = k
        best[b] = top
        total[b] = 1.0
        for k in range(n_components):
            logp[k, b] = 1.0 if k == arg else 0.0


@njit(**_JIT)
def _write_rows(logp, n_rows, start, out, log_norm, lse, total):
    """Write a block's rows of the per-point kernels' output.

    With an empty ``log_norm``, ``out`` gets the weighted log-densities.
    Otherwise ``out`` gets the responsibilities and ``log_norm`` each row's
    log-likelihood, from the vectorised log-sum-exp of ``block_normalize``
    (a row whose terms are all -inf gets log-likelihood -inf and zero
    responsibilities).
    """
    n_components = logp.shape[0]
    if log_norm.shape[0] == 0:
        for b in range(n_rows):
            for k in range(n_components):
                out[start + b, k] = logp[k, b]
        return
    block_normalize(logp, n_rows, lse, total)
    for b in range(n_rows):
        t = total[b]
        log_norm[start + b] = lse[b] + math.log(t) if t > 0.0 else -np.inf
        total[b] = 1.0 / t if t > 0.0 else 0.0
    for b in range(n_rows):
        inv = total[b]
        for k in range(n_components):
            out[start + b, k] = logp[k, b] * inv


@njit(**_JIT)
def _constants(weights, log_det, n_features):
    """``log pi_k + log det(U_k) - n_features / 2 log(2 pi)`` per component."""
    n_components = weights.shape[0]
    const = np.empty(n_components)
    for k in range(n_components):
        const[k] = np.log(weights[k]) + log_det[k] - 0.5 * n_features * LOG_2PI
    return const


@njit(**_JIT)
def _full_constants(weights, precisions_chol):
    """``_constants`` of full covariances, log det(U_k) from U_k's diagonal."""
    n_components, n_features = precisions_chol.shape[:2]
    log_det = np.zeros(n_components)
    for k in range(n_components):
        for j in range(n_features):
            log_det[k] += np.log(precisions_chol[k, j, j])
    return _constants(weights, log_det, n_features)


@njit(parallel=True, **_JIT)
def weighted_log_prob_full(X, weights, means, precisions_chol, means_x, precisions_chol_x,
                           chunk_size, out, log_norm):
    """Per-point weighted log-densities, full covariances.

    The per-component constants are computed here, from the parameters as
    the estimator stores them, so a call on a few rows costs no Python-side
    preparation.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, any layout
    weights : ndarray of shape (n_components,), float64
    means : ndarray of shape (n_components, n_features), float64
    precisions_chol : ndarray of shape (n_components, n_features, n_features), float64
    means_x, precisions_chol_x : ndarray, X's dtype
        The same in X's dtype (the same arrays for float64 X).
    chunk_size : int
    out : ndarray of shape (n_samples, n_components), float32 or float64
        Output: weighted log-densities, or responsibilities when
        ``log_norm`` is not empty.
    log_norm : ndarray of shape (n_samples,) or (0,), float32 or float64
        Output when not empty: each row's log-likelihood (see
        ``_write_rows``).

    Notes
    -----
    Block c reads rows [c * chunk_size, (c + 1) * chunk_size) and writes only
    those rows of ``out``.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    const = _full_constants(weights, precisions_chol)
    # The log-densities are computed in X's dtype (see block_log_prob_full):
    # means_x and precisions_chol_x are the parameters in that dtype.
    n_blocks = (n_samples + chunk_size - 1) // chunk_size
    # Scratch no wider than the rows there are: a call on a few rows
    # allocates and touches a few rows' worth.
    width = min(chunk_size, n_samples)
    for c in prange(n_blocks):
        start = c * chunk_size
        n_rows = min(chunk_size, n_samples - start)
        xt = np.empty((n_features, width + ROW_PAD), X.dtype)
        logp = np.empty((n_components, width + ROW_PAD))
        lse = np.empty(width)
        total = np.empty(width)
        mean_u = np.empty(n_features, X.dtype)
        y = np.empty((n_features, width + ROW_PAD), X.dtype)
        sq = np.empty(width, X.dtype)
        load_block(X, start, n_rows, xt)
        block_log_prob_full(xt, n_rows, means_x, precisions_chol_x, const, logp, mean_u, y,
                            sq)
        _write_rows(logp, n_rows, start, out, log_norm, lse, total)


@njit(parallel=True, **_JIT)
def weighted_log_prob_tied(X, weights, means, precision_chol, chunk_size, out,
                           log_norm):
    """Per-point weighted log-densities, tied covariance.

    Parameters as :func:`weighted_log_prob_full`, with ``precision_chol`` of
    shape (n_features, n_features) and without the float32 copies.

    Computed in float64 for float32 X too, unlike the fused pass
    (``em_pass_tied``), which centres rows on a shift and scores in float32:
    without a shift, ``x U - mu U`` in float32 would cancel for data far
    from the origin. The two differ by the float32 rounding of the
    Mahalanobis term (see the precision rule in ``fastgmm._kernels``).

    Notes
    -----
    Block c reads rows [c * chunk_size, (c + 1) * chunk_size) and writes only
    those rows of ``out``.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    log_det = 0.0
    for j in range(n_features):
        log_det += np.log(precision_chol[j, j])
    const = _constants(weights, np.full(n_components, log_det), n_features)
    means_u = np.zeros((n_components, n_features))
    for k in range(n_components):
        for j in range(n_features):
            for i in range(j + 1):
                means_u[k, j] += means[k, i] * precision_chol[i, j]
    n_blocks = (n_samples + chunk_size - 1) // chunk_size
    for c in prange(n_blocks):
        start = c * chunk_size
        n_rows = min(chunk_size, n_samples - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        xu = np.empty((n_features, chunk_size + ROW_PAD))
        sq = np.empty(chunk_size)
        logp = np.empty((n_components, chunk_size + ROW_PAD))
        lse = np.empty(chunk_size)
        total = np.empty(chunk_size)
        load_block(X, start, n_rows, xt)
        block_log_prob_tied(xt, n_rows, means_u, precision_chol, const, logp, xu, sq)
        _write_rows(logp, n_rows, start, out, log_norm, lse, total)


@njit(parallel=True, **_JIT)
def weighted_log_prob_diag(X, weights, means, precisions_chol, chunk_size, out,
                           log_norm):
    """Per-point weighted log-densities, diagonal and spherical covariances.

    Parameters as :func:`weighted_log_prob_full`, with ``precisions_chol`` of
    shape (n_components, n_features) for 'diag', or (n_components, 1) for
    'spherical' (one value per component, used for every feature).

    Notes
    -----
    Block c reads rows [c * chunk_size, (c + 1) * chunk_size) and writes only
    those rows of ``out``.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    width = precisions_chol.shape[1]
    prec = np.empty((n_components, n_features))
    log_det = np.zeros(n_components)
    for k in range(n_components):
        for j in range(n_features):
            prec[k, j] = precisions_chol[k, j if width > 1 else 0]
            log_det[k] += np.log(prec[k, j])
    const = _constants(weights, log_det, n_features)
    means_x = means.astype(X.dtype)
    prec_x = prec.astype(X.dtype)
    n_blocks = (n_samples + chunk_size - 1) // chunk_size
    for c in prange(n_blocks):
        start = c * chunk_size
        n_rows = min(chunk_size, n_samples - start)
        xt = np.empty((n_features, chunk_size + ROW_PAD), X.dtype)
        logp = np.empty((n_components, chunk_size + ROW_PAD))
        lse = np.empty(chunk_size)
        total = np.empty(chunk_size)
        sq = np.empty(chunk_size, X.dtype)
        load_block(X, start, n_rows, xt)
        block_log_prob_diag(xt, n_rows, means_x, prec_x, const, logp, sq)
        _write_rows(logp, n_rows, start, out, log_norm, lse, total)


@njit(parallel=True, **_JIT)
def normalize_log_prob(weighted_log_prob, chunk_size, log_prob_norm):
    """Log-sum-exp of each row, and the row turned into log-responsibilities.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components), float32 or float64
        Replaced in place by ``weighted_log_prob - log_prob_norm[:, None]``.
    chunk_size : int
    log_prob_norm : ndarray of shape (n_samples,), same dtype
        Output: the log-likelihood of each point.

    Notes
    -----
    Block c writes only rows [c * chunk_size, (c + 1) * chunk_size).
    """
    n_samples, n_components = weighted_log_prob.shape
    n_blocks = (n_samples + chunk_size - 1) // chunk_size
    for c in prange(n_blocks):
        start = c * chunk_size
        stop = min(start + chunk_size, n_samples)
        for i in range(start, stop):
            row = weighted_log_prob[i]
            top = -np.inf
            for k in range(n_components):
                top = max(top, np.float64(row[k]))
            if top == -np.inf:
                log_prob_norm[i] = -np.inf
                for k in range(n_components):
                    row[k] = np.nan
                continue
            total = 0.0
            for k in range(n_components):
                total += math.exp(np.float64(row[k]) - top)
            norm = top + math.log(total)
            log_prob_norm[i] = norm
            for k in range(n_components):
                row[k] = row[k] - norm


# Single-block inputs (a few rows, as in a pipeline's predict) skip the
# thread pool; see ``serial_twin``.
weighted_log_prob_full_serial = serial_twin(weighted_log_prob_full, **_JIT)

# The kernels of 'full' with the uncentred product (float64 from
# CENTRED_PRODUCT_MAX_FEATURES features, above UNROLLED_MAX_FEATURES): the same code, calling
# block_log_prob_full_one_uncentred (see kernel_variant).
block_log_prob_full_uncentred = kernel_variant(
    block_log_prob_full, "_uncentred",
    {"block_log_prob_full_one": block_log_prob_full_one_uncentred}, **_JIT)
weighted_log_prob_full_uncentred = kernel_variant(
    weighted_log_prob_full, "_uncentred",
    {"block_log_prob_full": block_log_prob_full_uncentred}, parallel=True, **_JIT)
weighted_log_prob_full_uncentred_serial = serial_twin(weighted_log_prob_full_uncentred,
                                                      **_JIT)
# ... and those of two features (one sweep per component, no triangular tiles).
weighted_log_prob_full_2d = kernel_variant(
    weighted_log_prob_full, "_2d", {"block_log_prob_full": block_log_prob_full_2d},
    parallel=True, **_JIT)
weighted_log_prob_full_2d_serial = serial_twin(weighted_log_prob_full_2d, **_JIT)
weighted_log_prob_tied_serial = serial_twin(weighted_log_prob_tied, **_JIT)
weighted_log_prob_diag_serial = serial_twin(weighted_log_prob_diag, **_JIT)
normalize_log_prob_serial = serial_twin(normalize_log_prob, **_JIT)

# The log-densities of 'tied' below four features from its rows ``x U``
# (``block_log_prob_tied``): 'diag''s one sweep per component without the
# scales (``_unscaled``; the scales it is given are loaded, never used).
_block_log_prob_tied_narrow = kernel_variant(
    _block_log_prob_diag_narrow, "_tied", {"_scaled": _unscaled}, **_JIT)
