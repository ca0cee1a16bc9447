"""EM for data with missing values (``nan_policy='marginalize'``), and imputation.

A row with NaNs is scored by its marginal density over its observed
coordinates, and contributes to the M-step the expected sufficient
statistics given those coordinates (Ghahramani & Jordan 1994; Little &
Rubin, *Statistical Analysis with Missing Data*, ch. 11). For component k
and a row with observed coordinates o and missing ones m:

- ``log p(x_o | k) = log N(x_o | mu_o, Sigma_oo)``;
- ``E[x_m | x_o, k] = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)``;
- ``Cov[x_m | x_o, k] = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``.

The M-step is the covariance model's own, from ``(nk, sx, sxx)`` in which
the complete-data statistics are replaced by their expectations: ``sx``
sums ``r_ik (E[x | x_o, k] - ref_k)`` and the scatter adds ``r_ik``
times the conditional covariance to the outer product of the completed
row. Since the M-step maximises the expected complete-data
log-likelihood, the observed-data log-likelihood never decreases.

Layout (:class:`MissingData`, built once per fit): complete rows are
copied into one contiguous array and go through the ordinary fused pass
(``_em.em_pass``); incomplete rows are copied, sorted by their pattern of
missing values, into a second array. Per pass, the factors of every
(pattern, component) are computed once (``_kernels.missing.missing_factors``),
a group of patterns at a time so that they take at most ``FACTOR_BYTES``;
the rows of each group then go through ``missing_pass`` in fixed blocks of
rows. The kernel of the incomplete rows accumulates full per-component
scatters; they are turned into the statistics of the covariance model
(the diagonal for 'diag' and 'spherical', the pooled scatter around the
model's shift for 'tied') by :func:`model_scatter`, which reads the
model's ``scatter_shape``.
"""


import numpy as np

from . import _config, _covariance, _em, _threads
from ._kernels import missing as _kernels
from ._outofcore import block_segments, float_dtype
from ._stats import Stats, _symmetrize_upper, ill_defined_message

NAN_POLICIES = ("raise", "marginalize", "omit")

# Bytes of the per-(pattern, component) factors computed at once; the
# patterns of a pass are taken in groups that fit in it.
FACTOR_BYTES = 64 * 2**20


def has_nan(X):
    """Whether X (validated: no infinity) holds a NaN."""
    total = X.sum()
    if np.isfinite(total):
        return False
    return bool(np.isnan(X).any())


def _pattern_keys(mask):
    """An integer (or bytes) key per row of a boolean mask, equal for equal rows."""
    packed = np.packbits(mask, axis=1, bitorder="little")
    if packed.shape[1] <= 8:
        # The bits of up to 64 features as one int64 per row.
        keys = np.zeros((mask.shape[0], 8), dtype=np.uint8)
        keys[:, :packed.shape[1]] = packed
        return keys.view(np.int64).ravel()
    packed = np.ascontiguousarray(packed)
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


class Patterns:
    """Rows of X with NaNs, sorted by their pattern of missing values.

    Attributes
    ----------
    rows : ndarray of shape (n_rows,), int64
        The indices in X of the incomplete rows, in sorted order.
    X : ndarray of shape (n_rows, n_features)
        Those rows, in X's dtype (float64 for other dtypes), C-contiguous.
    row_pattern : ndarray of shape (n_rows,), int64
    obs_idx : ndarray of shape (n_patterns, n_features), int64
        Observed features of each pattern first (ascending), then the missing ones.
    n_obs : ndarray of shape (n_patterns,), int64
    pattern_start : ndarray of shape (n_patterns + 1,), int64
    """

    def __init__(self, X, mask, rows):
        n_features = X.shape[1]
        sub = mask[rows]
        keys = _pattern_keys(sub)
        if keys.dtype == np.int64:
            # One sort: rows in pattern order, patterns told apart where the key changes.
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            new = np.empty(sorted_keys.shape[0], dtype=bool)
            new[:1] = True
            np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
            first = order[new]
            row_pattern = np.cumsum(new) - 1
        else:
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            row_pattern = inverse[order]
        self.rows = rows[order]
        self.X = np.ascontiguousarray(np.asarray(X[self.rows], dtype=float_dtype(X)))
        self.row_pattern = row_pattern.astype(np.int64)
        masks = sub[first]
        self.n_obs = (~masks).sum(axis=1).astype(np.int64)
        self.obs_idx = np.empty((masks.shape[0], n_features), dtype=np.int64)
        for p, m in enumerate(masks):
            self.obs_idx[p] = np.concatenate([np.flatnonzero(~m), np.flatnonzero(m)])
        counts = np.bincount(self.row_pattern, minlength=masks.shape[0])
        self.pattern_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def n_patterns(self):
        return self.n_obs.shape[0]

    def groups(self, n_components):
        """(first pattern, stop pattern) of the groups whose factors fit in FACTOR_BYTES."""
        n_features = self.X.shape[1]
        size = max(1, FACTOR_BYTES // (8 * n_components * n_features * n_features))
        return [(p0, min(p0 + size, self.n_patterns))
                for p0 in range(0, self.n_patterns, size)]

    def factors(self, covariances, log_weights, p0, p1):
        """``(factors, log_const)`` of patterns [p0, p1) (see ``_kernels.missing``)."""
        n_components, n_features = covariances.shape[:2]
        factors = np.empty((p1 - p0, n_components, n_features, n_features))
        log_const = np.empty((p1 - p0, n_components))
        kernel = _threads.pick_kernel(
            (_kernels.missing_factors, _kernels.missing_factors_serial),
            (p1 - p0) * n_components // 4)
        kernel(covariances, log_weights, self.obs_idx, self.n_obs, p0, factors, log_const)
        if np.isnan(log_const).any():
            raise ValueError(ill_defined_message(self.X.dtype == np.float32))
        return factors, log_const


def _first_indices(indices):
    """The first five of ``indices`` as text, for a message."""
    return ", ".join(map(str, indices[:5])) + (", ..." if indices.size > 5 else "")


def check_rows(mask):
    """Refuse rows with no observed value; returns which rows are incomplete."""
    n_missing = mask.sum(axis=1)
    empty = np.flatnonzero(n_missing == mask.shape[1])
    if empty.size:
        raise ValueError(
            f"X has {empty.size} row(s) with no observed value (all NaN), for instance "
            f"row(s) {_first_indices(empty)}: their likelihood under nan_policy='marginalize' is 1 "
            "whatever the parameters, and they say nothing about the clusters. Drop "
            "them (X[~np.isnan(X).all(axis=1)])."
        )
    return n_missing > 0


def check_columns(mask):
    """Refuse a fit of columns with no observed value: nothing estimates their
    means and variances (a fitted model scores such columns: see
    :func:`check_rows`)."""
    empty = np.flatnonzero(mask.all(axis=0))
    if empty.size:
        raise ValueError(
            f"X has {empty.size} column(s) with no observed value (all NaN): "
            f"column(s) {_first_indices(empty)}. nan_policy='marginalize' cannot estimate their "
            "means and variances; drop them (X[:, ~np.isnan(X).all(axis=0)])."
        )


def full_covariances(model, params, n_features):
    """Each component's covariance as a (n_features, n_features) float64 matrix."""
    n_components = params.means.shape[0]
    full = model.component_covariances(model.covariances_of(params), n_components,
                                       n_features)
    return np.ascontiguousarray(np.broadcast_to(full, (n_components, n_features,
                                                       n_features)), dtype=np.float64)


def _factor_inputs(model, params, n_features):
    """(full covariances, log weights) of ``params``, float64: what
    :meth:`Patterns.factors` reads."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
    return full_covariances(model, params, n_features), log_weights


def model_scatter(model, sxx_full, nk, sx, ref, shift):
    """The model's ``Stats.sxx`` from per-component scatters around ``ref``.

    ``sxx_full`` holds the upper triangles of ``sum_i r_ik E[(x - ref_k)(x - ref_k)^T]``.
    The shape the model's statistics take (``scatter_shape``) says which
    form its M-step reads: per-component matrices (as they are), one
    variance per feature and component (their diagonals), or one pooled
    matrix (around ``shift``).
    """
    n_components, n_features = sx.shape
    shape = tuple(model.scatter_shape(n_components, n_features))
    if shape == (n_components, n_features, n_features):
        return sxx_full
    if shape == (n_components, n_features):
        return np.ascontiguousarray(np.diagonal(sxx_full, axis1=1, axis2=2))
    if shape == (n_features, n_features):
        scatter = _symmetrize_upper(sxx_full).sum(axis=0)
        offset = ref - shift
        return (scatter + offset.T @ sx + sx.T @ offset
                + (nk[:, None] * offset).T @ offset)
    raise ValueError(
        f"nan_policy='marginalize' does not support covariance_type={model.name!r}, "
        "whose statistics are not per-component, per-feature or pooled scatters."
    )


class MissingData:
    """The data of a fit with NaNs: complete rows, and incomplete rows by pattern.

    Built once per fit; :meth:`stats_pass` replaces ``_em.em_pass`` in
    ``_em.run_em``. Holds a copy of X (complete and incomplete rows apart).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated, NaN where missing.
    sample_weight : ndarray of shape (n_samples,) or (0,), float64
    """

    def __init__(self, X, sample_weight):
        mask = np.isnan(X)
        check_columns(mask)
        incomplete = check_rows(mask)
        complete = np.flatnonzero(~incomplete)
        self.n_samples = X.shape[0]
        self.X_complete = np.ascontiguousarray(X[complete])
        self.patterns = Patterns(X, mask, np.flatnonzero(incomplete))
        weighted = sample_weight.shape[0] > 0
        self.w_complete = sample_weight[complete] if weighted else sample_weight
        self.w_incomplete = (sample_weight[self.patterns.rows] if weighted
                             else sample_weight)
        self.fraction_missing = float(mask.mean())
        self._X = X
        self._sample_weight = sample_weight

    def start_data(self, n_components):
        """(X, sample_weight) for the start (``init_params``): the complete rows.

        Under data missing completely at random the complete rows are a
        sample of the data; when there are fewer than ``max(2, 5
        n_components)``, the rows with each NaN replaced by its column's
        (weighted) observed mean.
        """
        if self.X_complete.shape[0] >= max(2, 5 * n_components):
            return self.X_complete, self.w_complete
        return mean_imputed(self._X, self._sample_weight), self._sample_weight

    def stats_pass(self, X, sample_weight, params, covariance_type, chunk_size=None,
                   hard=False):
        """The statistics of one pass at ``params``, as ``_em.em_pass`` returns them.

        ``X`` and ``sample_weight`` are ignored (the rows held here are read).
        """
        if hard:
            raise ValueError("assignment='hard' is not available with "
                             "nan_policy='marginalize' on data with NaN.")
        model = _covariance.get(covariance_type)
        n_components, n_features = params.means.shape
        dtype = self.patterns.X.dtype
        means = _em.pass_means(params, dtype)
        shift = model.pass_shift(params, means, dtype)
        loglik, sum_w, nk, sx, sxx_full = self.incomplete_stats(
            model, params, means, chunk_size)
        sxx = model_scatter(model, sxx_full, nk, sx, means, shift)
        if self.X_complete.shape[0]:
            done = _em.em_pass(self.X_complete, self.w_complete, params, model,
                               chunk_size)
            loglik += done.loglik
            sum_w += done.sum_weights
            nk = nk + done.nk
            sx = sx + done.sx
            sxx = sxx + done.sxx
        return Stats(float(loglik), float(sum_w), nk, sx, sxx, means, shift)

    def incomplete_stats(self, model, params, means, chunk_size=None):
        """(loglik, sum of weights, nk, sx, full scatters) of the incomplete rows."""
        pats = self.patterns
        n_components, n_features = means.shape
        chunk_size = _config.block_rows(chunk_size, _config.CHUNK_SIZE)
        covariances, log_weights = _factor_inputs(model, params, n_features)
        block_floats = 1 + n_components * (1 + n_features + n_features * n_features)
        seg_blocks = max(1, _config.PART_BYTES // (8 * block_floats))
        loglik = 0.0
        nk = np.zeros(n_components)
        sx = np.zeros((n_components, n_features))
        sxx = np.zeros((n_components, n_features, n_features))
        loglik_part = np.empty(seg_blocks)
        nk_part = np.empty((seg_blocks, n_components))
        sx_part = np.empty((seg_blocks, n_components, n_features))
        sxx_part = np.empty((seg_blocks, n_components, n_features, n_features))
        for p0, p1 in pats.groups(n_components):
            factors, log_const = pats.factors(covariances, log_weights, p0, p1)
            row0, row1 = int(pats.pattern_start[p0]), int(pats.pattern_start[p1])
            n_blocks = -(-(row1 - row0) // chunk_size)
            kernel = _threads.pick_kernel(
                (_kernels.missing_pass, _kernels.missing_pass_serial), n_blocks)
            for n_seg, start, stop in block_segments(n_blocks, seg_blocks, chunk_size,
                                                     row1, row0):
                parts = (loglik_part[:n_seg], nk_part[:n_seg], sx_part[:n_seg],
                         sxx_part[:n_seg])
                kernel(pats.X, self.w_incomplete, pats.row_pattern, pats.obs_idx,
                       pats.n_obs, p0, factors, log_const, means, start, stop,
                       chunk_size, *parts)
                loglik += parts[0].sum()
                nk += parts[1].sum(axis=0)
                sx += parts[2].sum(axis=0)
                sxx += parts[3].sum(axis=0)
        sum_w = float(self.w_incomplete.sum() if self.w_incomplete.shape[0]
                      else pats.X.shape[0])
        return float(loglik), sum_w, nk, sx, sxx


def mean_imputed(X, sample_weight):
    """X with each NaN replaced by the (weighted) mean of its column's observed values."""
    X = np.array(X, dtype=float_dtype(X))
    weighted = sample_weight.shape[0] > 0
    for j in range(X.shape[1]):
        col = X[:, j]
        miss = np.isnan(col)
        if not miss.any():
            continue
        seen = ~miss
        if weighted:
            w = sample_weight[seen]
            total = w.sum()
            mean = float(w @ col[seen]) / total if total > 0 else float(col[seen].mean())
        else:
            mean = float(col[seen].mean())
        col[miss] = mean
    return X


def per_row(X, params, covariance_type, *, want_resp=True, want_imputed=False,
            chunk_size=None):
    """(log p(x_o), responsibilities or None, imputed X or None) for X with NaNs.

    Complete rows go through the ordinary per-row kernels; incomplete ones
    through ``missing_score``. The log-likelihoods and responsibilities are
    in X's dtype (float64 for other dtypes).
    """
    model = _covariance.get(covariance_type)
    n_samples, n_features = X.shape
    n_components = params.means.shape[0]
    dtype = float_dtype(X)
    mask = np.isnan(X)
    incomplete = check_rows(mask)
    complete = np.flatnonzero(~incomplete)
    log_prob = np.empty(n_samples, dtype=dtype)
    resp = np.empty((n_samples, n_components), dtype=dtype) if want_resp else None
    imputed = np.array(X, dtype=dtype) if want_imputed else None
    if complete.size:
        X_complete = np.ascontiguousarray(X[complete])
        lp, r = _em.responsibilities(X_complete, params, model)
        log_prob[complete] = lp
        if want_resp:
            resp[complete] = _em.assign_lost_rows(X_complete, params, model, lp, r)
    pats = Patterns(X, mask, np.flatnonzero(incomplete))
    n_rows = pats.X.shape[0]
    if n_rows:
        chunk_size = _config.block_rows(chunk_size, _config.CHUNK_SIZE)
        covariances, log_weights = _factor_inputs(model, params, n_features)
        means = np.ascontiguousarray(params.means, dtype=np.float64)
        out_norm = np.empty(n_rows)
        out_resp = np.empty((n_rows if want_resp else 0, n_components))
        out_imp = np.empty((n_rows if want_imputed else 0, n_features))
        for p0, p1 in pats.groups(n_components):
            factors, log_const = pats.factors(covariances, log_weights, p0, p1)
            start, stop = int(pats.pattern_start[p0]), int(pats.pattern_start[p1])
            kernel = _threads.pick_kernel(
                (_kernels.missing_score, _kernels.missing_score_serial),
                -(-(stop - start) // chunk_size))
            kernel(pats.X, pats.row_pattern, pats.obs_idx, pats.n_obs, p0, factors,
                   log_const, means, start, stop, chunk_size, out_norm, out_resp, out_imp)
        log_prob[pats.rows] = out_norm
        if want_resp:
            resp[pats.rows] = out_resp
        if want_imputed:
            imputed[pats.rows] = out_imp
    return log_prob, resp, imputed
