"""Fitting and scoring Dask arrays: each EM iteration is one distributed pass.

Imported only when a ``dask.array.Array`` is passed to ``GaussianMixture``;
nothing else in fastgmm imports dask.

EM needs only the sufficient statistics of a pass, and those add up over
disjoint row chunks. Each iteration therefore builds one graph: a task per
row chunk of X computes that chunk's statistics with
:func:`fastgmm._em.em_pass` (the same fused kernel as in memory) on the
worker holding the chunk, the per-chunk statistics (a few KiB each) are
summed by a tree of fan-in ``_config.DASK_SPLIT_EVERY``, always in chunk
order, and only the sum travels to the client, which runs the M-step. The data are never
gathered: a persisted X stays on the workers. Any scheduler works (the
threaded default, processes, or a ``dask.distributed`` cluster).

Results are deterministic for a given chunking. They differ from the
in-memory fit of the same data and start only by the order of the sums
(about 1e-13 relative in float64), whatever the chunking.
"""

import numpy as np

from . import _config, _em, _threads
from ._outofcore import float_dtype, is_dask_array
from ._stats import sum_stats
from ._validation import check_sample_weight, weight_exponent

def _as_float_rows(X, estimator_name, n_features=None, ensure_min_samples=1):
    """X checked lazily (2-D, real, enough rows and the right features), in
    float32/float64, with all its columns in one chunk."""
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D Dask array, got {X.ndim} dimension(s) (shape {X.shape}); "
            "reshape it with X.reshape(-1, 1) for a single feature."
        )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X has an unsupported dtype {X.dtype}; pass real numbers.")
    if X.dtype != float_dtype(X):
        X = X.astype(np.float64)
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    n_samples, n_cols = X.shape
    if n_cols < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {estimator_name}."
        )
    if n_features is not None and n_cols != n_features:
        raise ValueError(
            f"X has {n_cols} features, but {estimator_name} is expecting "
            f"{n_features} features as input."
        )
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a "
            f"minimum of {ensure_min_samples} is required by {estimator_name}."
        )
    # One chunk across the columns: a kernel needs whole rows. Already so
    # for data chunked by rows only, which then keep their keys (and a
    # persisted X its place on the workers).
    return X.rechunk({1: -1})


def _task_threads(n_threads):
    """Kernel threads for one task: ``n_threads`` when set; else one, as Dask
    already runs one task per worker thread, except under a threading layer
    whose parallel kernels run one at a time (see
    :func:`fastgmm._threads.pick_kernel`), where each takes all threads."""
    if n_threads is not None:
        return n_threads
    return 1 if _threads.parallel_layer_thread_safe() else None


def em_chunk_stats(x_chunk, w_chunk, params, covariance_type, chunk_size, hard,
                   n_threads):
    """The statistics of one row chunk: runs on the worker that holds it.

    ``n_threads`` None runs the kernel on one thread, or on all of them where
    parallel kernels run one at a time (see ``_task_threads``).
    """
    weights = np.empty(0) if w_chunk is None else np.ascontiguousarray(w_chunk,
                                                                        dtype=np.float64)
    with _threads.thread_limit(_task_threads(n_threads)):
        return _em.em_pass(x_chunk, weights, params, covariance_type, chunk_size, hard)


def _tree_sum(parts):
    """Delayed sum of delayed Stats: a tree of fan-in DASK_SPLIT_EVERY, in order."""
    from dask import delayed

    fan_in = max(2, int(_config.DASK_SPLIT_EVERY))
    while len(parts) > 1:
        parts = [parts[i] if i + 1 == min(i + fan_in, len(parts))
                 else delayed(sum_stats, pure=True)(parts[i:i + fan_in])
                 for i in range(0, len(parts), fan_in)]
    return parts[0]


def _sample_rows(random_state, n_samples, n_rows):
    """``n_rows`` distinct row indices, sorted, each subset equally likely.

    Draws with replacement and tops up the duplicates (memory O(n_rows),
    where ``choice(replace=False)`` would permute all n_samples).
    """
    rows = np.unique(random_state.randint(0, n_samples, size=n_rows))
    while rows.size < n_rows:
        extra = random_state.randint(0, n_samples, size=n_rows - rows.size)
        rows = np.unique(np.concatenate([rows, extra]))
    return rows


class DaskData:
    """A validated Dask X (and sample weights) for one ``fit``.

    Validation runs as one distributed pass: every value finite, the
    largest magnitude (for ``_em.check_magnitude``), and the weights' checks.
    """

    def __init__(self, estimator, X, sample_weight):
        import dask
        import dask.array as da

        name = type(estimator).__name__
        if getattr(estimator, "on_degenerate", "raise") == "reseed":
            raise ValueError(
                "on_degenerate='reseed' restarts a component at rows of X, which a "
                "Dask array keeps on the workers: use on_degenerate='raise' or "
                "'drop' with Dask data, or fit an in-memory array."
            )
        X = _as_float_rows(X, name, ensure_min_samples=2)
        rescale = getattr(estimator, "_rescale_sample_weight", True)
        self.X = X
        self.n_threads = estimator.n_threads
        n_samples = X.shape[0]
        checks = [da.isfinite(X).all(), X.max(), X.min()]
        weights = None
        if sample_weight is not None and is_dask_array(sample_weight):
            if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
                raise ValueError(
                    f"sample_weight.shape == {sample_weight.shape}, expected "
                    f"({n_samples},)!"
                )
            weights = sample_weight.astype(np.float64).rechunk((X.chunks[0],))
            checks += [da.isfinite(weights).all(), weights.min(), weights.max(),
                       da.where(weights > 0, weights, np.inf).min()]
        finite, largest, smallest, *weight_checks = dask.compute(*checks)
        if not finite:
            raise ValueError(f"Input X contains NaN or infinity; {name} does not accept "
                             "missing values: remove or impute them.")
        if weight_checks:
            w_finite, w_min, w_max, w_min_positive = weight_checks
            if not w_finite:
                raise ValueError("sample_weight contains NaN or infinity.")
            if w_min < 0:
                raise ValueError("Negative values in data passed to sample_weight.")
            if not w_max > 0:
                raise ValueError("sample_weight must have a positive sum; all weights "
                                 "are zero.")
            # Exactly rescaled, as check_sample_weight(rescale=True) does, for
            # an estimator whose fit does not depend on the weights' scale
            # (not the variational mixture's: its priors weigh as many rows
            # as they say).
            exponent = (weight_exponent(float(w_max), float(w_min_positive))
                        if rescale else 0)
            if exponent:
                weights = np.ldexp(weights, exponent)
        elif sample_weight is not None:
            local = check_sample_weight(sample_weight, n_samples, rescale=rescale)
            # Sent to the workers once, not with every pass.
            weights = da.from_array(local, chunks=(X.chunks[0],)).persist()
        self.largest = max(float(largest), -float(smallest))
        self.weights = weights
        self.x_blocks = list(X.to_delayed().ravel())
        self.w_blocks = (list(weights.to_delayed().ravel()) if weights is not None
                         else [None] * len(self.x_blocks))

    @property
    def sample_weight(self):
        """The weights as a Dask array, or an empty array for none (the passes
        read the per-chunk blocks instead)."""
        return self.weights if self.weights is not None else np.empty(0)

    def start_sample(self, random_state):
        """Rows for the start (``init_params``) and their weights, as numpy arrays.

        All of X when it has at most ``_config.DASK_START_ROWS`` (100,000)
        rows (then the start, drawn from the same ``random_state``, is the
        in-memory fit's); otherwise that many distinct rows drawn uniformly with
        ``random_state``, with their weights. Only these rows are gathered.
        """
        import dask

        n_samples = self.X.shape[0]
        n_rows = int(_config.DASK_START_ROWS)
        if n_samples <= n_rows:
            X_s, w_s = self.X, self.weights
        else:
            rows = _sample_rows(random_state, n_samples, n_rows)
            X_s = self.X[rows]
            w_s = None if self.weights is None else self.weights[rows]
        X_s, w_s = dask.compute(X_s, w_s)
        return (np.ascontiguousarray(X_s),
                np.empty(0) if w_s is None else np.ascontiguousarray(w_s, dtype=np.float64))

    def moments(self, matrix=True):
        """``_variational.data_moments`` of all of X: (mean, covariance matrix
        or None, variances), ddof=1, sample-weighted, float64.

        Two distributed passes (the sums, then the scatter around the mean),
        each one small result per chunk, added on the client in chunk order:
        the result does not depend on the scheduling. It equals the
        in-memory one bit for bit where both add the same row groups (chunks
        of ``2**15`` rows, no weights), and to rounding otherwise.
        """
        import dask
        from dask import delayed

        from ._variational import moments_from_sums, row_scatter, row_sums

        def weights(wb):
            return (np.empty(0) if wb is None
                    else np.ascontiguousarray(wb, dtype=np.float64))

        def sums(xb, wb):
            return row_sums(xb, weights(wb))

        def scatter(xb, wb, mean):
            return row_scatter(xb, weights(wb), mean, matrix)

        blocks = list(zip(self.x_blocks, self.w_blocks))
        parts = dask.compute(*[delayed(sums, pure=False)(xb, wb) for xb, wb in blocks])
        total = (float(self.weights.sum().compute()) if self.weights is not None
                 else float(self.X.shape[0]))
        mean = np.zeros(self.X.shape[1])
        for part in parts:
            mean += part
        mean = mean / total
        parts = dask.compute(*[delayed(scatter, pure=False)(xb, wb, mean)
                               for xb, wb in blocks])
        total_scatter = np.zeros_like(parts[0])
        for part in parts:
            total_scatter += part
        return (mean,) + moments_from_sums(total, total_scatter, matrix)

    def stats_pass(self, X, sample_weight, params, covariance_type, chunk_size=None,
                   hard=False):
        """One distributed pass: :func:`fastgmm._em.em_pass`'s Stats over all of X.

        ``X`` and ``sample_weight`` are ignored (the chunks read are this
        object's), so that the signature is ``em_pass``'s, for ``run_em``.
        """
        import dask
        from dask import delayed

        # pure=False: task keys unique to this pass. At a fixed point (tol=0)
        # two passes have the same arguments, and keys repeated from the
        # previous pass, which a distributed scheduler may still be
        # releasing, were logged as "Couldn't gather keys ... forgotten".
        task = delayed(em_chunk_stats, pure=False)
        parts = [task(xb, wb, params, covariance_type, chunk_size, hard, self.n_threads)
                 for xb, wb in zip(self.x_blocks, self.w_blocks)]
        return dask.compute(_tree_sum(parts))[0]


# -- per-row outputs, lazily ------------------------------------------------------


def _run_on_block(block, method, estimator):
    with _threads.thread_limit(_task_threads(estimator.n_threads)):
        return getattr(estimator, method)(block)


def per_row(estimator, method, X):
    """``estimator.<method>(X)`` for a Dask X, as a lazy Dask array (map_blocks).

    method : {'predict', 'predict_proba', 'score_samples'}
    """
    estimator._check_is_fitted("precisions_cholesky_")
    X = _as_float_rows(X, type(estimator).__name__, n_features=estimator.n_features_in_)
    dtype = X.dtype
    if method == "predict":
        return X.map_blocks(_run_on_block, method, estimator=estimator, drop_axis=1,
                            dtype=np.int64, meta=np.empty((0,), dtype=np.int64))
    if method == "score_samples":
        return X.map_blocks(_run_on_block, method, estimator=estimator, drop_axis=1,
                            dtype=dtype, meta=np.empty((0,), dtype=dtype))
    n_components = estimator.weights_.shape[0]
    return X.map_blocks(_run_on_block, method, estimator=estimator,
                        chunks=(X.chunks[0], (n_components,)), dtype=dtype,
                        meta=np.empty((0, 0), dtype=dtype))
