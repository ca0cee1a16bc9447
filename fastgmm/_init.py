"""Starting points for EM: 'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'.

Each start is a responsibility matrix, as in scikit-learn, turned into
parameters by one M-step. The matrix is never built whole: it is produced
in chunks of rows (the random draws are the same as scikit-learn's for the
same ``RandomState``, since drawing a matrix row block by row block gives
the same numbers), from a few chosen rows, or from the k-means labels
directly.
"""

import numpy as np

from . import _config, _covariance
from ._em import m_step
from ._outofcore import PageReleaser, float_dtype
from ._kernels.kmeans import gather_rows, partition_order
from ._stats import Stats, nk_regularization
from ._validation import is_plain_array
from .kmeans import KMeans

_INIT_CHUNK = 1 << 15


def _chunk_rows(n_features, n_components):
    """Rows per chunk of a start: at most ``_INIT_CHUNK``, and few enough that a
    chunk's float64 responsibilities, or its rows in float64, stay within
    ``_config.SEGMENT_BYTES`` (32768 rows of 2000 features are 500 MiB)."""
    return max(1, min(_INIT_CHUNK,
                      _config.SEGMENT_BYTES // (8 * max(n_features, n_components))))


def _stats_from_resp(X, sample_weight, resp_chunks, n_components, covariance_type,
                     empty_means=None):
    """Statistics of a start, from a callable yielding (start, resp_chunk) pairs.

    A component given no weight is centred on its row of ``empty_means``
    when given (the k-means centres), else on the weighted mean of the
    rows given to any component: never on the origin, so an empty
    component's start does not depend on where the data lie.

    Two passes: the first gives the means, the second the scatter around
    them, so the covariances suffer no cancellation. Rows are read (and
    converted to float64) chunk by chunk, and the pages of a memory-mapped
    X handed back after each chunk.

    A start's rows either have responsibilities summing to 1 ('random') or
    none at all (the one-hot 'random_from_data' and 'k-means++' starts).
    For 'tied', the first kind enter the pooled scatter around ``shift``;
    the second enter uncentred, ``w x x^T``, as in scikit-learn's tied
    formula (``X^T X - sum_k nk m_k m_k^T``), which counts every row.
    """
    n_features = X.shape[1]
    pager = PageReleaser(X)
    nk = np.zeros(n_components)
    sum_rx = np.zeros((n_components, n_features))
    for start, resp in resp_chunks():
        stop = start + resp.shape[0]
        if sample_weight.shape[0]:
            resp = resp * sample_weight[start:stop, None]
        nk += resp.sum(axis=0)
        sum_rx += resp.T @ np.ascontiguousarray(X[start:stop], dtype=np.float64)
        pager.release(start, stop)
    ref = sum_rx / np.maximum(nk, np.finfo(np.float64).tiny)[:, None]
    empty = nk <= 0.0
    if empty.any():
        ref[empty] = (sum_rx.sum(axis=0) / nk.sum() if empty_means is None
                      else np.asarray(empty_means, dtype=np.float64)[empty])
    total_w = nk.sum()
    shift = nk @ ref / total_w
    sx = np.zeros((n_components, n_features))
    model = _covariance.get(covariance_type)
    sxx = np.zeros(model.scatter_shape(n_components, n_features))
    for start, resp in resp_chunks():
        stop = start + resp.shape[0]
        Xc = np.ascontiguousarray(X[start:stop], dtype=np.float64)
        w = sample_weight[start:stop] if sample_weight.shape[0] else None
        model.start_rows(sxx, Xc, resp, w, shift)
        if w is not None:
            resp = resp * w[:, None]
        for k in range(n_components):
            rk = resp[:, k]
            nz = np.nonzero(rk)[0]
            if nz.size == 0:
                continue
            D = Xc[nz] - ref[k]
            rD = rk[nz, None] * D
            sx[k] += rD.sum(axis=0)
            model.start_scatter(sxx, D, rD, k)
        pager.release(start, stop)
    sum_weights = float(sample_weight.sum()) if sample_weight.shape[0] else float(X.shape[0])
    return Stats(0.0, sum_weights, nk, sx, sxx, ref, shift)


def initial_resp_chunks(X, sample_weight, n_components, init_params, random_state):
    """A callable yielding the start's responsibilities, chunk by chunk.

    Consumes ``random_state`` exactly as scikit-learn 1.9's
    ``BaseMixture._initialize_parameters`` does when no ``sample_weight`` is
    given; with weights, 'k-means++' seeds and 'random_from_data' draws rows
    in proportion to them.
    """
    n_samples = X.shape[0]
    step = _chunk_rows(X.shape[1], n_components)
    if init_params == "random":
        state = random_state.get_state()

        def chunks():
            random_state.set_state(state)
            for start in range(0, n_samples, step):
                stop = min(start + step, n_samples)
                resp = random_state.uniform(size=(stop - start, n_components))
                resp /= resp.sum(axis=1)[:, None]
                yield start, resp
        return chunks

    if init_params in ("random_from_data", "k-means++"):
        weighted = sample_weight.shape[0] > 0
        if init_params == "random_from_data":
            # Rows drawn in proportion to their weight (a weight-0 row is as
            # good as absent); without weights, scikit-learn's draws.
            if weighted and np.count_nonzero(sample_weight) < n_components:
                raise ValueError(
                    f"init_params='random_from_data' needs at least n_components="
                    f"{n_components} rows of positive sample_weight; got "
                    f"{np.count_nonzero(sample_weight)}."
                )
            p = sample_weight / sample_weight.sum() if weighted else None
            indices = random_state.choice(n_samples, size=n_components, replace=False,
                                          p=p)
        else:
            from .kmeans import kmeans_plusplus

            _, indices = kmeans_plusplus(
                X, n_components, random_state=random_state,
                sample_weight=sample_weight if weighted else None,
            )
        return _one_hot_chunks(n_samples, n_components, np.asarray(indices),
                               np.arange(n_components), step)

    raise ValueError(f"Unknown init_params {init_params!r}.")


def _one_hot_chunks(n_samples, n_components, rows, cols, step):
    """Chunks of ``step`` rows of a 0/1 responsibility matrix with ones at
    (rows[i], cols[i])."""
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]

    def chunks():
        for start in range(0, n_samples, step):
            stop = min(start + step, n_samples)
            lo, hi = np.searchsorted(rows, [start, stop])
            resp = np.zeros((stop - start, n_components))
            resp[rows[lo:hi] - start, cols[lo:hi]] = 1.0
            yield start, resp
    return chunks


# A component's scatter is added (``start_scatter``) this many rows of
# d x d products at a time, at most: OpenBLAS runs a product of m n k up to
# 4 * 65536 on one thread; above, it wakes its threads for every call, which
# on a busy machine cost 50 ms to 1 s a call (measured: 12544 x 16 rows, 1 s
# in one call, 0.5 ms in pieces of 1024).
_SCATTER_MNK = 1 << 18
_SCATTER_MIN_ROWS = 64


def _partition_stats(X, sample_weight, labels, n_components, covariance_type, centres):
    """Statistics of a hard partition: every row wholly in component ``labels[i]``.

    The numbers of :func:`_stats_from_resp` with the one-hot
    responsibilities of ``labels`` (up to rounding: sums run in another
    order, around other references), without them and in one read of X:
    each component's rows are gathered (in their order in X,
    ``_chunk_rows`` at a time), centred on its row of ``centres`` (the
    k-means centres: the statistics' ``ref``, which the M-step moves to the
    rows' mean), and enter its scatter in a few large products instead of a
    small one per component and chunk; no chunk x n_components matrix is
    built or searched for its non-zeros. The weights are the labels'
    counts, or their rows' weights summed in X's order.

    ``centres`` must lie near their components' rows: the k-means centres
    (the means of the k-means labels of the last iteration, within a
    fraction of a component's spread of its mean), or a fitted mixture's
    means for the partition of its MAP labels (``model_selection``'s
    cross-model start: within about a spread). A scatter taken around a
    centre at a distance of t spreads loses about t**2 of its relative
    precision when the M-step moves it to the mean.
    """
    n_samples, n_features = X.shape
    weighted = sample_weight.shape[0] > 0
    labels = np.asarray(labels)
    step = _chunk_rows(n_features, n_components)
    # The rows of each label, in their order in X (a counting sort).
    order = np.empty(n_samples, dtype=np.intp)
    bounds = np.empty(n_components + 1, dtype=np.intp)
    partition_order(labels, bounds, order)
    if weighted:
        nk = np.bincount(labels, weights=sample_weight, minlength=n_components)
    else:
        nk = np.diff(bounds).astype(np.float64)
    ref = np.array(centres, dtype=np.float64)
    total_w = nk.sum()
    shift = nk @ ref / total_w

    # Scratch of one piece, reused: fresh arrays of a few MiB per piece
    # cost more in page faults than the gather itself.
    n_buf = int(min(step, np.max(np.diff(bounds), initial=1)))
    d_buf = np.empty((n_buf, n_features))
    rd_buf = np.empty((n_buf, n_features)) if weighted else None
    col_sum = np.empty(n_features)
    kernel_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)

    def pieces(k):
        """Component k's rows minus its centre, float64, with their weights
        and their weighted sum."""
        for lo in range(bounds[k], bounds[k + 1], step):
            rows = order[lo:min(lo + step, bounds[k + 1])]
            gather_rows(X, rows, kernel_weight, ref[k], d_buf, col_sum)
            yield (d_buf[:rows.shape[0]], sample_weight[rows] if weighted else None,
                   col_sum)

    sx = np.zeros((n_components, n_features))
    model = _covariance.get(covariance_type)
    sxx = np.zeros(model.scatter_shape(n_components, n_features))
    # Pieces of a few rows keep the d x d products of a component's scatter
    # (each component's the size of a d x d matrix) on one BLAS thread; a
    # scatter of d numbers a component takes each piece whole (pieces of 64
    # rows cost 1600 calls for 1e5 x 64, K = 32).
    scatter_rows = step
    if np.prod(model.scatter_shape(1, n_features)) >= n_features * n_features > 1:
        scatter_rows = max(_SCATTER_MIN_ROWS, _SCATTER_MNK // (n_features * n_features))
    if type(model).start_rows is not _covariance.CovarianceModel.start_rows:
        # A model that takes the rows as a whole (the pooled scatter) gets
        # them chunk by chunk, with their one-hot responsibilities.
        chunks = _one_hot_chunks(n_samples, n_components, np.arange(n_samples),
                                 labels, step)
        for start, resp in chunks():
            stop = start + resp.shape[0]
            model.start_rows(sxx, np.asarray(X[start:stop], dtype=np.float64), resp,
                             sample_weight[start:stop] if weighted else None, shift)
    for k in range(n_components):
        for D, wk, rD_sum in pieces(k):
            rD = D if wk is None else np.multiply(wk[:, None], D, out=rd_buf[:D.shape[0]])
            sx[k] += rD_sum
            for lo in range(0, D.shape[0], scatter_rows):
                model.start_scatter(sxx, D[lo:lo + scatter_rows],
                                    rD[lo:lo + scatter_rows], k)
    sum_weights = float(sample_weight.sum()) if weighted else float(n_samples)
    return Stats(0.0, sum_weights, nk, sx, sxx, ref, shift)


def kmeans_start(X, sample_weight, n_components, random_state, variances=None):
    """The k-means fit of the 'kmeans' start (scikit-learn's: one k-means++
    seeding, ``tol=1e-4``), of the X a mixture's fit has checked.

    An in-memory float32/float64 array (``is_plain_array``) is not checked
    again (the check reads all of X; the start's rows are X's, its complete
    rows, or its rows with NaN imputed, all finite by then); anything else
    (a memory-mapped X, say) takes ``KMeans.fit``'s own checks.
    ``variances``, where the caller has them: X's unweighted feature
    variances (``kmeans._feature_variances``), which the k-means tolerance
    then takes instead of reading X for them.
    """
    kmeans = KMeans(n_components, n_init=1, random_state=random_state)
    weight = sample_weight if sample_weight.shape[0] else None
    if is_plain_array(X):
        return kmeans._fit_checked(X, weight, variances=variances)
    return kmeans.fit(X, sample_weight=weight)


def _kmeans_start_stats(X, sample_weight, n_components, covariance_type, kmeans):
    """Statistics of the k-means partition: scikit-learn's 'kmeans' start.

    scikit-learn gives every row wholly to its k-means label (``labels_``,
    the nearest of the fitted centres); so does this start, from each
    component's rows (:func:`_partition_stats`; for a memory-mapped X,
    through the one-hot responsibilities of the labels, chunk by chunk, so
    that X is read in order). Nothing of the size of the model is allocated
    beyond the statistics themselves (a classification pass would need K
    identity matrices of d x d and cost O(N K d^2)). ``kmeans`` is that
    k-means fit (:func:`kmeans_start`, or a partition standing for it).
    """
    n_samples, n_features = X.shape
    if isinstance(X, np.memmap):
        # Rows read in order, their pages handed back chunk by chunk.
        chunks = _one_hot_chunks(n_samples, n_components, np.arange(n_samples),
                                 np.asarray(kmeans.labels_),
                                 _chunk_rows(n_features, n_components))
        return _stats_from_resp(X, sample_weight, chunks, n_components, covariance_type,
                                empty_means=kmeans.cluster_centers_)
    return _partition_stats(X, sample_weight, kmeans.labels_, n_components,
                            covariance_type, kmeans.cluster_centers_)


def start_statistics(X, sample_weight, *, n_components, covariance_type, init_params,
                     random_state, next_start=None, variances=None):
    """``(stats, X_start, weight_start)``: the statistics of a start's
    responsibilities (``init_params``) and the rows they come from.

    The rows are X itself, except for 'hc': the hierarchical tree's rows
    (all of X up to ``_config.HC_MAX_SAMPLES`` rows, a subset beyond), each
    wholly in its group of the cut at ``n_components``; the other rows take
    no part in that start. ``next_start``, when given, returns the start
    drawn beforehand (``select_model`` shares each start across covariance
    types this way): the fitted ``KMeans`` for 'kmeans', the
    :class:`~fastgmm._hc.HierarchicalTree` for 'hc', else the callable
    :func:`initial_resp_chunks` returns; ``random_state`` is then unused.
    ``variances``, where the caller has them: X's unweighted feature
    variances, from which the 'kmeans' start's k-means takes its tolerance
    (see :func:`kmeans_start`).
    """
    if init_params == "hc":
        from ._hc import hierarchical_tree

        tree = (next_start() if next_start is not None else
                hierarchical_tree(X, random_state=random_state, sample_weight=sample_weight))
        rows = tree.rows
        X_sub = np.asarray(X[rows])
        w_sub = sample_weight[rows] if sample_weight.shape[0] else sample_weight
        chunks = _one_hot_chunks(rows.size, n_components, np.arange(rows.size),
                                 tree.labels(n_components),
                                 _chunk_rows(X.shape[1], n_components))
        return (_stats_from_resp(X_sub, w_sub, chunks, n_components, covariance_type),
                X_sub, w_sub)
    if init_params == "kmeans":
        kmeans = (next_start() if next_start is not None else
                  kmeans_start(X, sample_weight, n_components, random_state, variances))
        stats = _kmeans_start_stats(X, sample_weight, n_components, covariance_type, kmeans)
    elif next_start is not None:
        stats = _stats_from_resp(X, sample_weight, next_start(), n_components,
                                 covariance_type)
    else:
        chunks = initial_resp_chunks(X, sample_weight, n_components, init_params,
                                     random_state)
        stats = _stats_from_resp(X, sample_weight, chunks, n_components, covariance_type)
    return stats, X, sample_weight


def initial_parameters(X, sample_weight, *, n_components, covariance_type, init_params,
                       reg_covar, random_state, on_degenerate="raise", events=None,
                       next_start=None, variances=None):
    """Parameters of a start: one M-step from the start's responsibilities
    (:func:`start_statistics`, whose arguments these are).

    ``on_degenerate`` and ``events`` as in :func:`fastgmm._em.m_step`; a
    repair of the start is recorded as iteration 0, from the start's rows.
    """
    stats, X, sample_weight = start_statistics(
        X, sample_weight, n_components=n_components, covariance_type=covariance_type,
        init_params=init_params, random_state=random_state, next_start=next_start,
        variances=variances)
    return m_step(stats, covariance_type, reg_covar,
                  nk_regularization(stats.sum_weights, X.shape[0]),
                  float_dtype(X) == np.float32, normalize="n_samples",
                  on_degenerate=on_degenerate, X=X, sample_weight=sample_weight,
                  iteration=0, events=[] if events is None else events)
