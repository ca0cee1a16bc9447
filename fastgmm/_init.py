"""Starting points for EM: 'kmeans', 'k-means++', 'random', 'random_from_data'.

Each start is a responsibility matrix, as in scikit-learn, turned into
parameters by one M-step. The matrix is never built whole: it is produced
in chunks of rows (the random draws are the same as scikit-learn's for the
same ``RandomState``, since drawing a matrix row block by row block gives
the same numbers), or from labels or a few chosen rows directly.
"""

import numpy as np

from ._em import m_step
from ._stats import Stats

_INIT_CHUNK = 1 << 15


def _stats_from_resp(X, sample_weight, resp_chunks, n_components, covariance_type):
    """Statistics of a start, from a callable yielding (start, resp_chunk) pairs.

    Two passes: the first gives the means, the second the scatter around
    them, so the covariances suffer no cancellation.
    """
    n_features = X.shape[1]
    nk = np.zeros(n_components)
    sum_rx = np.zeros((n_components, n_features))
    for start, resp in resp_chunks():
        stop = start + resp.shape[0]
        if sample_weight.shape[0]:
            resp = resp * sample_weight[start:stop, None]
        nk += resp.sum(axis=0)
        sum_rx += resp.T @ X[start:stop].astype(np.float64, copy=False)
    ref = sum_rx / np.maximum(nk, np.finfo(np.float64).tiny)[:, None]
    total_w = nk.sum()
    shift = nk @ ref / total_w
    sx = np.zeros((n_components, n_features))
    pooled_sx = np.zeros(n_features) if covariance_type == "tied" else None
    if covariance_type == "full":
        sxx = np.zeros((n_components, n_features, n_features))
    elif covariance_type == "tied":
        sxx = np.zeros((n_features, n_features))
    else:
        sxx = np.zeros((n_components, n_features))
    for start, resp in resp_chunks():
        stop = start + resp.shape[0]
        Xc = X[start:stop].astype(np.float64, copy=False)
        w = sample_weight[start:stop] if sample_weight.shape[0] else None
        if w is not None:
            resp = resp * w[:, None]
        if covariance_type == "tied":
            # Over all rows, weighted by the sample weights only: the
            # responsibilities of a start need not sum to 1 per row.
            wD0 = Xc - shift
            if w is not None:
                wD0 = wD0 * w[:, None]
            sxx += wD0.T @ (Xc - shift)
            pooled_sx += wD0.sum(axis=0)
        for k in range(n_components):
            rk = resp[:, k]
            nz = np.nonzero(rk)[0]
            if nz.size == 0:
                continue
            D = Xc[nz] - ref[k]
            rD = rk[nz, None] * D
            sx[k] += rD.sum(axis=0)
            if covariance_type == "full":
                sxx[k] += rD.T @ D
            elif covariance_type in ("diag", "spherical"):
                sxx[k] += (rD * D).sum(axis=0)
    sum_weights = float(sample_weight.sum()) if sample_weight.shape[0] else float(X.shape[0])
    return Stats(0.0, sum_weights, nk, sx, sxx, ref, shift, pooled_sx)


def initial_resp_chunks(X, sample_weight, n_components, init_params, random_state):
    """A callable yielding the start's responsibilities, chunk by chunk.

    Consumes ``random_state`` exactly as scikit-learn 1.9's
    ``BaseMixture._initialize_parameters`` does.
    """
    n_samples = X.shape[0]
    if init_params == "random":
        state = random_state.get_state()

        def chunks():
            random_state.set_state(state)
            for start in range(0, n_samples, _INIT_CHUNK):
                stop = min(start + _INIT_CHUNK, n_samples)
                resp = random_state.uniform(size=(stop - start, n_components))
                resp /= resp.sum(axis=1)[:, None]
                yield start, resp
        return chunks

    if init_params in ("random_from_data", "k-means++"):
        if init_params == "random_from_data":
            indices = random_state.choice(n_samples, size=n_components, replace=False)
        else:
            from .kmeans import kmeans_plusplus

            _, indices = kmeans_plusplus(
                X, n_components, random_state=random_state,
            )
        return _one_hot_chunks(n_samples, n_components, np.asarray(indices),
                               np.arange(n_components))

    if init_params == "kmeans":
        from .kmeans import kmeans_labels

        labels = kmeans_labels(X, n_components, random_state,
                               sample_weight=sample_weight if sample_weight.shape[0] else None)
        return _one_hot_chunks(n_samples, n_components, np.arange(n_samples),
                               np.asarray(labels))
    raise ValueError(f"Unknown init_params {init_params!r}.")


def _one_hot_chunks(n_samples, n_components, rows, cols):
    """Chunks of a 0/1 responsibility matrix with ones at (rows[i], cols[i])."""
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]

    def chunks():
        for start in range(0, n_samples, _INIT_CHUNK):
            stop = min(start + _INIT_CHUNK, n_samples)
            lo, hi = np.searchsorted(rows, [start, stop])
            resp = np.zeros((stop - start, n_components))
            resp[rows[lo:hi] - start, cols[lo:hi]] = 1.0
            yield start, resp
    return chunks


def initial_parameters(X, sample_weight, *, n_components, covariance_type, init_params,
                       reg_covar, random_state):
    """Parameters of a start: one M-step from the start's responsibilities."""
    chunks = initial_resp_chunks(X, sample_weight, n_components, init_params,
                                 random_state)
    stats = _stats_from_resp(X, sample_weight, chunks, n_components, covariance_type)
    return m_step(stats, covariance_type, reg_covar, float(np.finfo(X.dtype).eps),
                  X.dtype == np.float32, normalize="n_samples")
