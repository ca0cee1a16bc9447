"""k-means (Lloyd) and k-means++ seeding, scikit-learn compatible.

The numerical work runs in the Numba kernels of ``fastgmm._kernels.kmeans``
(fused assignment + centre sums, per-block partial results summed in a fixed
order, so results do not depend on the thread count); this module validates,
draws the random numbers, and runs the loop.

Given the same ``np.random.RandomState``, :func:`kmeans_plusplus` and
:class:`KMeans` make the same random draws, in the same order, as
``sklearn.cluster.kmeans_plusplus`` and ``sklearn.cluster.KMeans``, so they
pick the same seeds; the Lloyd iterations then agree with scikit-learn's to
rounding (distances here are sum_j (x_j - c_j)^2 in float64, where
scikit-learn uses ||x||^2 - 2 x.c + ||c||^2 in the dtype of X).
"""

import numbers
import warnings

import numba
import numpy as np

from . import _config
from ._base import _ParamsMixin, _TransformerOutputMixin
from ._outofcore import block_segments
from ._threads import pick_kernel, thread_limit
from ._validation import (
    check_array,
    check_feature_names,
    check_random_state,
    check_sample_weight,
    feature_names,
    is_plain_array,
    rescale_sample_weight,
)
from ._kernels import kmeans as _kernels
from .exceptions import (
    ConvergenceWarning,
    InvalidParameterError,
    NotFittedError,
    compatible,
)

__all__ = ["KMeans", "kmeans_plusplus"]


# --------------------------------------------------------------------------
# validation helpers


def _check_X(X, estimator_name):
    """X as the k-means kernels take it: ``_validation.check_array``'s rules."""
    return check_array(X, estimator_name=estimator_name)


def _weights_like(sample_weight, X):
    """Validated weights in the dtype of X (all 1 for None), as the kernels take
    them, and ``e``: they are the given weights times ``2**e``.

    The weights are rescaled by a power of two, exactly, so that the largest
    lies in [1, 2) (:func:`fastgmm._validation.rescale_sample_weight`):
    weights of 1e300 or 1e-50 then fit float32 too. k-means does not depend
    on the scale of the weights; an inertia computed with them is scaled
    back by ``2**-e``, which is exact.
    """
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    if sample_weight.shape[0] == 0:
        return np.ones(X.shape[0], dtype=X.dtype), 0
    sample_weight, exponent = rescale_sample_weight(sample_weight)
    return sample_weight.astype(X.dtype, copy=False), exponent


def _check_n_clusters(n_clusters, n_samples):
    if not isinstance(n_clusters, numbers.Integral) or isinstance(n_clusters, bool) \
            or n_clusters < 1:
        raise InvalidParameterError(
            f"n_clusters must be an int >= 1, got {n_clusters!r}.")
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")


def _valid_tol(tol):
    """Whether ``tol`` is a valid ``KMeans`` tolerance: a finite real >= 0."""
    return (isinstance(tol, numbers.Real) and not isinstance(tol, bool)
            and bool(np.isfinite(tol)) and tol >= 0)


def _check_n_threads(n_threads):
    if n_threads is None:
        return
    max_threads = numba.config.NUMBA_NUM_THREADS
    if (not isinstance(n_threads, numbers.Integral) or isinstance(n_threads, bool)
            or not 1 <= n_threads <= max_threads):
        raise InvalidParameterError(
            f"n_threads must be None or an int in [1, {max_threads}] "
            f"(numba.config.NUMBA_NUM_THREADS), got {n_threads!r}.")


# --------------------------------------------------------------------------
# kernel drivers


def _n_blocks(n_rows, chunk_size):
    return -(-n_rows // chunk_size)


def _kernel(name, n_blocks):
    """The kernel ``name``, or its serial twin for passes of few blocks, chosen
    (and serialised under a threading layer that needs it) as the EM passes'
    (:func:`fastgmm._threads.pick_kernel`)."""
    return pick_kernel((getattr(_kernels, name), getattr(_kernels, name + "_serial")),
                       n_blocks)


def _lloyd_pass(X, sample_weight, centers, labels, chunk_size):
    """Run the fused Lloyd pass over X in segments of blocks.

    Returns (sums, weights, inertia, n_changed): float64 (K, d) and (K,)
    arrays, a float and an int; ``labels`` is updated in place.
    """
    n_samples = X.shape[0]
    n_clusters, n_features = centers.shape
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_blocks = _n_blocks(n_samples, chunk_size)
    block_bytes = 8 * (n_clusters * (n_features + 1) + 2)
    # The segment length depends on the problem's shape only, never on the
    # thread count, so the fixed-order sums below are reproducible.
    seg_blocks = max(1, min(n_blocks, _config.PART_BYTES // block_bytes))
    sums_part = np.empty((seg_blocks, n_clusters, n_features))
    weight_part = np.empty((seg_blocks, n_clusters))
    inertia_part = np.empty(seg_blocks)
    changed_part = np.empty(seg_blocks, dtype=np.int64)
    sums = np.zeros((n_clusters, n_features))
    weights = np.zeros(n_clusters)
    inertia = 0.0
    n_changed = 0
    kernel = _kernel("lloyd_pass", n_blocks)
    for n_seg, row_start, row_stop in block_segments(n_blocks, seg_blocks, chunk_size,
                                                     n_samples):
        kernel(
            X, sample_weight, centers, row_start, row_stop, chunk_size, labels,
            sums_part[:n_seg], weight_part[:n_seg], inertia_part[:n_seg],
            changed_part[:n_seg])
        sums += sums_part[:n_seg].sum(axis=0)
        weights += weight_part[:n_seg].sum(axis=0)
        inertia += float(inertia_part[:n_seg].sum())
        n_changed += int(changed_part[:n_seg].sum())
    return sums, weights, inertia, n_changed


def _center_bounds(centers, centers_prev):
    """(shift, half_sep) for ``lloyd_pass_bounded``: upper bounds on each
    centre's distance to its previous value (empty without ``centers_prev``)
    and lower bounds on half its distance to the nearest other centre.

    The computed distances are widened by ``BOUND_MARGIN`` (far more than
    their rounding) so that they bound the exact ones.
    """
    margin = _kernels.BOUND_MARGIN
    n_clusters = centers.shape[0]
    if centers_prev is None:
        shift = np.empty(0)
    else:
        shift = np.sqrt(((centers - centers_prev) ** 2).sum(axis=1)) * (1 + margin)
    half_sep = np.full(n_clusters, np.inf)
    for k in range(n_clusters):
        dist = ((centers - centers[k]) ** 2).sum(axis=1)
        dist[k] = np.inf
        half_sep[k] = 0.5 * np.sqrt(dist.min()) * (1 - margin)
    return shift, half_sep


# Lloyd runs use Hamerly's bounds (``lloyd_pass_bounded``) from this many
# centre-feature products (n_clusters * n_features) on: below it the full
# comparison costs about as much as keeping the bounds (measured, N = 1e6,
# d = 2, K = 8: the bounded run 2x slower; N = 2e5, d = 16, K = 16: no
# faster; N = 1e5, d = 64, K = 32: 1.5x faster), and from this many rows
# on (d = 64, K = 32, 6 iterations: 7.9 ms full against 11.3 ms bounded at
# N = 2000; 44 against 37 ms at N = 5000, 21 iterations).
BOUNDED_MIN_WORK = 1024
BOUNDED_MIN_SAMPLES = 4096

# The per-block sums of ``lloyd_pass_bounded`` are kept from one pass to the
# next (a block none of whose labels changed reuses its own) while they take
# at most this many bytes; beyond it a pass recomputes every block's sums, in
# segments of ``PART_BYTES``.
KEPT_PART_BYTES = 4 * _config.PART_BYTES


class _Bounds:
    """The state ``lloyd_pass_bounded`` keeps between the passes of one Lloyd
    run: the distance bounds of every row, the previous centres, and (where
    small enough, see ``KEPT_PART_BYTES``) every block's partial sums."""

    def __init__(self, n_samples, n_clusters, n_features, chunk_size):
        self.upper = np.empty(n_samples)
        self.lower = np.empty(n_samples)
        self.centers_prev = None
        n_blocks = _n_blocks(n_samples, chunk_size)
        block_bytes = 8 * (n_clusters * (n_features + 1) + 2)
        if n_blocks * block_bytes <= KEPT_PART_BYTES:
            self.seg_blocks = n_blocks
            self.reuse = True
        else:
            self.seg_blocks = max(1, min(n_blocks, _config.PART_BYTES // block_bytes))
            self.reuse = False
        self.sums_part = np.empty((self.seg_blocks, n_clusters, n_features))
        self.weight_part = np.empty((self.seg_blocks, n_clusters))
        self.inertia_part = np.empty(self.seg_blocks)
        self.changed_part = np.empty(self.seg_blocks, dtype=np.int64)


def _lloyd_pass_bounded(X, sample_weight, centers, labels, bounds, chunk_size,
                        with_inertia):
    """:func:`_lloyd_pass` with Hamerly's bounds (``lloyd_pass_bounded``).

    ``bounds`` is the run's :class:`_Bounds`; its first pass fills
    ``labels`` and the bounds. Returns (sums, weights, inertia, n_changed):
    the labels, sums, weights and changes bit for bit those of
    :func:`_lloyd_pass`; the inertia (NaN unless ``with_inertia``) equal to
    its up to rounding (each squared distance is summed row by row).
    """
    n_samples = X.shape[0]
    n_clusters, n_features = centers.shape
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    shift, half_sep = _center_bounds(centers, bounds.centers_prev)
    reuse = bounds.reuse and bounds.centers_prev is not None
    bounds.centers_prev = centers
    n_blocks = _n_blocks(n_samples, chunk_size)
    seg_blocks = bounds.seg_blocks
    sums = np.zeros((n_clusters, n_features))
    weights = np.zeros(n_clusters)
    inertia = 0.0
    n_changed = 0
    kernel = _kernel("lloyd_pass_bounded", n_blocks)
    for n_seg, row_start, row_stop in block_segments(n_blocks, seg_blocks, chunk_size,
                                                     n_samples):
        parts = (bounds.sums_part[:n_seg], bounds.weight_part[:n_seg],
                 bounds.inertia_part[:n_seg], bounds.changed_part[:n_seg])
        kernel(
            X, sample_weight, centers, shift, half_sep, row_start, row_stop, chunk_size,
            reuse, bool(with_inertia), labels, bounds.upper, bounds.lower, *parts)
        sums += parts[0].sum(axis=0)
        weights += parts[1].sum(axis=0)
        inertia += float(parts[2].sum())
        n_changed += int(parts[3].sum())
    return sums, weights, inertia, n_changed


def _labels_inertia(X, sample_weight, centers, chunk_size):
    """Labels (int32) of the nearest centres and the weighted inertia."""
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    _, _, inertia, _ = _lloyd_pass(X, sample_weight, centers, labels, chunk_size)
    return labels, inertia


def _update_closest(X, sample_weight, centers, closest_dist_sq, chunk_size):
    """Lower ``closest_dist_sq`` in place to the new centres; returns the potential."""
    n_samples = X.shape[0]
    pot_part = np.empty(_n_blocks(n_samples, chunk_size))
    _kernel("update_closest_sq_dist", pot_part.shape[0])(
        X, sample_weight, np.ascontiguousarray(centers, dtype=np.float64), 0, n_samples,
        chunk_size, closest_dist_sq, pot_part)
    return float(pot_part.sum())


def _candidate_potentials(X, sample_weight, closest_dist_sq, candidates, chunk_size,
                          candidate_closest=None):
    """Potential (inertia) after adding each candidate, shape (n_candidates,).

    With ``candidate_closest`` (shape (n_candidates, n_samples)), its row t
    receives the squared distances to the closest centre once candidate t
    is added.
    """
    n_samples = X.shape[0]
    pot_part = np.empty((_n_blocks(n_samples, chunk_size), candidates.shape[0]))
    candidates = np.ascontiguousarray(candidates, dtype=np.float64)
    if candidate_closest is None and X.shape[1] <= 2:
        _kernel("narrow_candidate_potentials", pot_part.shape[0])(
            X, sample_weight, closest_dist_sq, candidates, 0, n_samples, chunk_size,
            pot_part)
        return pot_part.sum(axis=0)
    if candidate_closest is None:
        candidate_closest = np.empty((0, 0))
    _kernel("candidate_potentials", pot_part.shape[0])(
        X, sample_weight, closest_dist_sq, candidates, 0, n_samples, chunk_size,
        pot_part, candidate_closest)
    return pot_part.sum(axis=0)


# --------------------------------------------------------------------------
# k-means++


def _searchsorted_cumsum(sample_weight, closest_dist_sq, values, dtype, X=None,
                         center=None):
    """``np.searchsorted(np.cumsum(w * d), values)``, ``w * d`` and its
    cumulative sum in ``dtype``, in one serial sweep without an array of
    n_samples (``lower_and_search_cumsum``: the sums are added in order, so
    every sum, and hence every index, is the one of the whole array).

    ``sample_weight`` of length 0 means all 1. With ``center`` (and the X it
    comes from), ``closest_dist_sq`` is first lowered, in place, to the
    squared distances to it, in the same sweep.
    """
    if X is None:
        X = np.empty((closest_dist_sq.shape[0], 1), dtype=dtype)
    if center is None:
        center = np.empty(0)
    values = np.ascontiguousarray(values, dtype=np.float64)
    ids = np.empty(values.shape[0], dtype=np.intp)
    _kernels.lower_and_search_cumsum(
        X, np.asarray(sample_weight, dtype=dtype), np.asarray(center, dtype=np.float64),
        closest_dist_sq, values, np.zeros(1, dtype=dtype), ids)
    return ids


def _kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials,
                     chunk_size):
    """k-means++ on validated input; the draws of scikit-learn's ``_kmeans_plusplus``."""
    n_samples, n_features = X.shape
    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    if n_local_trials is None:
        # Arthur and Vassilvitskii's choice, as scikit-learn.
        n_local_trials = 2 + int(np.log(n_clusters))

    center_id = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    indices = np.full(n_clusters, -1, dtype=int)
    centers[0] = X[center_id]
    indices[0] = center_id
    # Unit weights are not read (an empty array tells the kernels): every
    # pass is memory-bound, and they are as many bytes as a row of 1 feature.
    kernel_weight = (sample_weight[:0] if bool(np.all(sample_weight == 1))
                     else sample_weight)

    closest_dist_sq = np.full(n_samples, np.inf)
    current_pot = _update_closest(X, kernel_weight, centers[:1], closest_dist_sq,
                                  chunk_size)
    # Where a row of X is wider than the candidates' distances, the candidate
    # pass keeps every candidate's updated distances, and the chosen one's
    # replace closest_dist_sq without another pass over X; otherwise the
    # chosen centre lowers closest_dist_sq in the next draw's sweep.
    candidate_closest = None
    if X.shape[1] * X.itemsize > 8 * n_local_trials and n_clusters > 1:
        candidate_closest = np.empty((n_local_trials, n_samples))
    pending = None

    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        # scikit-learn's cumulative sum runs in the dtype of X; so does this one,
        # so that the draws land on the same points.
        candidate_ids = _searchsorted_cumsum(kernel_weight, closest_dist_sq, rand_vals,
                                             X.dtype, X, pending)
        # Rounding can put a draw past the last cumulative sum.
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)

        candidates_pot = _candidate_potentials(X, kernel_weight, closest_dist_sq,
                                               X[candidate_ids], chunk_size,
                                               candidate_closest)
        best = int(np.argmin(candidates_pot))
        current_pot = float(candidates_pot[best])
        best_id = candidate_ids[best]
        centers[c] = X[best_id]
        indices[c] = best_id
        if c == n_clusters - 1:
            break
        if candidate_closest is not None:
            closest_dist_sq[:] = candidate_closest[best]
        else:
            pending = centers[c]
    return centers, indices


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None,
                    random_state=None, n_local_trials=None):
    """Initial centres by k-means++, as ``sklearn.cluster.kmeans_plusplus``.

    The first centre is drawn with probability proportional to the sample
    weights; every later one is the best, by potential (weighted inertia), of
    ``n_local_trials`` candidates drawn with probability proportional to
    ``w * D^2``, D the distance to the closest centre chosen so far. Given the
    same ``RandomState``, the random draws, and hence the chosen indices, are
    scikit-learn's.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data to pick seeds from; float32 stays float32.
    n_clusters : int
        The number of centres to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples (None: all 1).
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for compatibility with scikit-learn and checked for length;
        not used, since distances are computed from differences.
    random_state : int, RandomState instance or None, default=None
        The generator of the draws. None uses numpy's global RandomState.
    n_local_trials : int, default=None
        Candidates per centre after the first; None means
        ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The chosen centres, ``X[indices]``.
    indices : ndarray of shape (n_clusters,)
        The row indices of the centres in X.

    Raises
    ------
    ValueError
        If X is not a finite 2-D array, has fewer samples than ``n_clusters``,
        or ``sample_weight``/``x_squared_norms`` are invalid.
    """
    X = _check_X(X, "kmeans_plusplus")
    _check_n_clusters(n_clusters, X.shape[0])
    sample_weight, _ = _weights_like(sample_weight, X)
    if x_squared_norms is not None:
        x_squared_norms = np.asarray(x_squared_norms)
        if x_squared_norms.shape != (X.shape[0],):
            raise ValueError(
                f"x_squared_norms has shape {x_squared_norms.shape}; its length should "
                f"be equal to the length of n_samples {X.shape[0]}.")
    if n_local_trials is not None and (
            not isinstance(n_local_trials, numbers.Integral) or n_local_trials < 1):
        raise InvalidParameterError(
            f"n_local_trials must be None or an int >= 1, got {n_local_trials!r}.")
    random_state = check_random_state(random_state, "KMeans")
    return _kmeans_plusplus(X, n_clusters, sample_weight, random_state,
                            n_local_trials, _config.CHUNK_SIZE)


# --------------------------------------------------------------------------
# Lloyd


def _feature_variances(X, chunk_size):
    """``np.var(X, axis=0)`` in float64, in one pass over X (see
    :func:`column_statistics`)."""
    return column_statistics(X, chunk_size)[0]


def column_statistics(X, chunk_size):
    """``(np.var(X, axis=0), max|X|)``: the variances in float64 and the
    largest absolute value, in one pass over a float32/float64 X.

    Each block's column means and squared deviations from them come from a
    kernel (``column_moments``: the two-pass formula within the block, in
    cache); the sum of squared deviations from the overall mean is theirs
    plus ``n_b (mean_b - mean)^2`` per block, summed over the blocks in
    their order. A kernel, because numpy's axis-0 reductions of a tall,
    narrow array are slow (27 ms for np.var of 1e6 x 2). The largest value
    is read in the same sweep; it means something only where every
    variance is finite, which is then also the proof that every value of X
    is (a NaN or an infinity makes its column's variance NaN; finite values
    whose squares overflow make it infinite).
    """
    n_samples, n_features = X.shape
    n_blocks = _n_blocks(n_samples, chunk_size)
    mean_part = np.empty((n_blocks, n_features))
    m2_part = np.empty((n_blocks, n_features))
    largest_part = np.empty(n_blocks)
    name = ("column_moments_rowwise" if n_features >= _kernels.ROWWISE_LOAD_MIN_FEATURES
            else "column_moments")
    _kernel(name, n_blocks)(X, 0, n_samples, chunk_size, mean_part, m2_part, largest_part)
    counts = np.full(n_blocks, float(chunk_size))
    counts[-1] = n_samples - (n_blocks - 1) * chunk_size
    mean = (counts[:, None] * mean_part).sum(axis=0) / n_samples
    between = (counts[:, None] * (mean_part - mean) ** 2).sum(axis=0)
    return (m2_part.sum(axis=0) + between) / n_samples, float(largest_part.max())


def unchecked_column_statistics(X):
    """``(variances, max|X|, finite)`` of an in-memory float32/float64 X
    (``is_plain_array``) that no check has read yet: :func:`column_statistics`
    (blocks of ``_config.CHUNK_SIZE`` rows), and whether the same sweep shows
    every value of X finite.

    A NaN or an infinity makes its column's variance NaN, so finite
    variances (and largest value) prove every value finite: one read of X
    then stands for its check (``KMeans.fit``, a mixture's fit through
    ``_spurious.checked_variances``). ``finite`` is also False for finite
    values whose squares overflow: the caller then checks X as usual, which
    names the problem or passes X.
    """
    variances, largest = column_statistics(X, _config.CHUNK_SIZE)
    return variances, largest, bool(np.isfinite(largest) and np.isfinite(variances).all())


def _tolerance(X, tol, chunk_size, variances=None):
    """scikit-learn's absolute tolerance: tol times the mean (unweighted)
    feature variance of X, computed here in float64 whatever the dtype of X
    (``variances``: those of X, where known)."""
    if tol == 0:
        return 0
    if variances is None:
        variances = _feature_variances(X, chunk_size)
    return float(np.mean(variances)) * tol


def _is_same_clustering(labels1, labels2):
    """Whether labels2 is a function of labels1, scikit-learn's test for "same up
    to a permutation": the first row of each label of labels1 fixes its image."""
    values, first = np.unique(labels1, return_index=True)
    mapping = np.full(int(values.max()) + 1, -1, dtype=labels2.dtype)
    mapping[values] = labels2[first]
    return bool(np.array_equal(mapping[labels1], labels2))


def _relocate_empty_clusters(X, sample_weight, centers_old, sums, weights, labels):
    """scikit-learn's ``_relocate_empty_clusters_dense`` on the float64 sums.

    Each empty cluster takes the point farthest from its (old) centre, in the
    order scikit-learn picks them; the point's weighted coordinates move from
    its cluster's sums to the empty one. Labels are left unchanged.
    """
    empty_clusters = np.flatnonzero(weights == 0)
    n_empty = empty_clusters.shape[0]
    if n_empty == 0:
        return
    distances = ((X - centers_old.astype(X.dtype)[labels]) ** 2).sum(axis=1)
    far_from_centers = np.argpartition(distances, -n_empty)[:-n_empty - 1:-1]
    if np.max(distances) == 0:
        # More clusters than distinct points: nothing to relocate to.
        return
    for new_cluster_id, far_idx in zip(empty_clusters, far_from_centers):
        weight = np.float64(sample_weight[far_idx])
        old_cluster_id = labels[far_idx]
        point = X[far_idx].astype(np.float64) * weight
        sums[old_cluster_id] -= point
        sums[new_cluster_id] = point
        weights[new_cluster_id] = weight
        weights[old_cluster_id] -= weight


def _average_centers(sums, weights, dtype):
    """Centres = sums / weights; a cluster still empty sits on the heaviest one."""
    centers = np.empty_like(sums)
    nonempty = weights > 0
    centers[nonempty] = sums[nonempty] / weights[nonempty, None]
    if not nonempty.all():
        # scikit-learn's intent (it copies the heaviest cluster's row, which
        # may not be averaged yet at that point of its loop).
        centers[~nonempty] = centers[np.argmax(weights)]
    return centers.astype(dtype)


def _inertia_numpy(X, sample_weight, centers, labels):
    dist = ((X.astype(np.float64) - centers.astype(np.float64)[labels]) ** 2).sum(axis=1)
    return float(dist @ sample_weight.astype(np.float64))


def _kmeans_single_lloyd(X, sample_weight, centers_init, max_iter, verbose, tol,
                         chunk_size, weight_exponent=0, bounded=None):
    """One Lloyd run, scikit-learn's ``_kmeans_single_lloyd``.

    ``sample_weight`` are the given weights times ``2**weight_exponent``
    (see :func:`_weights_like`); the printed inertia is in the given weights.

    ``bounded``: whether to run the passes with Hamerly's bounds
    (``lloyd_pass_bounded``); None: from ``BOUNDED_MIN_WORK`` and
    ``BOUNDED_MIN_SAMPLES`` on. Labels,
    centres and iterations are the same either way; the inertia differs in
    the last bits.

    Returns (labels, inertia, centers, n_iter), the inertia in the units of
    ``sample_weight``.
    """
    if bounded is None:
        bounded = (centers_init.shape[0] * X.shape[1] >= BOUNDED_MIN_WORK
                   and X.shape[0] >= BOUNDED_MIN_SAMPLES)
    centers = np.ascontiguousarray(centers_init, dtype=X.dtype)
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    # Hamerly's bounds (``lloyd_pass_bounded``): every pass gives the labels
    # and sums of the full assignment, bit for bit. 16 bytes per row: only
    # where they are used.
    bounds = (_Bounds(X.shape[0], centers.shape[0], X.shape[1], chunk_size)
              if bounded else None)
    strict_convergence = False
    pass_inertia = None
    for i in range(max_iter):
        centers_old = centers
        if bounded:
            sums, weights, pass_inertia, n_changed = _lloyd_pass_bounded(
                X, sample_weight, centers_old, labels, bounds, chunk_size, verbose)
        else:
            sums, weights, pass_inertia, n_changed = _lloyd_pass(
                X, sample_weight, centers_old, labels, chunk_size)
        _relocate_empty_clusters(X, sample_weight, centers_old, sums, weights, labels)
        centers = _average_centers(sums, weights, X.dtype)
        if verbose:
            print(f"Iteration {i}, inertia {np.ldexp(pass_inertia, -weight_exponent)}.")
        if n_changed == 0:
            if verbose:
                print(f"Converged at iteration {i}: strict convergence.")
            strict_convergence = True
            break
        shift = centers.astype(np.float64) - centers_old.astype(np.float64)
        center_shift_tot = float((shift ** 2).sum())
        if center_shift_tot <= tol:
            if verbose:
                print(f"Converged at iteration {i}: center shift {center_shift_tot} "
                      f"within tolerance {tol}.")
            break

    if strict_convergence and not np.array_equal(centers, centers_old):
        # Only after an empty-cluster relocation.
        inertia = _inertia_numpy(X, sample_weight, centers, labels)
    elif strict_convergence and not np.isnan(pass_inertia):
        # Unchanged labels give bit-identical sums, hence the same centres, and
        # the pass's inertia is the inertia at the final centres.
        inertia = pass_inertia
    elif not bounded:
        labels, inertia = _labels_inertia(X, sample_weight, centers, chunk_size)
    else:
        # Final assignment, so that the labels match the returned centres
        # (after strict convergence: the same labels, all settled by the
        # bounds), with the inertia.
        _, _, inertia, _ = _lloyd_pass_bounded(X, sample_weight, centers, labels,
                                               bounds, chunk_size, True)
    return labels, inertia, centers, i + 1


class KMeans(_TransformerOutputMixin, _ParamsMixin):
    """K-Means clustering (Lloyd's algorithm), scikit-learn compatible.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape \
(n_clusters, n_features), default='k-means++'
        'k-means++': greedy k-means++ seeding (see :func:`kmeans_plusplus`);
        'random': ``n_clusters`` distinct rows drawn with probability
        proportional to the sample weights; an array: the initial centres;
        a callable ``init(X, n_clusters, random_state)`` returning them.
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds; the one with the lowest inertia
        is kept. 'auto': 1 for 'k-means++' and an array, 10 for 'random' and a
        callable.
    max_iter : int, default=300
        Maximum number of Lloyd iterations of one run.
    tol : float, default=1e-4
        Convergence tolerance on the squared centre shift, relative to the
        mean of the feature variances of X (scikit-learn's ``_tolerance``).
    verbose : int, default=0
        Print the inertia at every iteration.
    random_state : int, RandomState instance or None, default=None
        Generator of the seeding draws; None uses numpy's global RandomState.
    copy_x : bool, default=True
        Accepted for compatibility with scikit-learn; X is never modified
        (no centring is needed with difference-based distances).
    algorithm : {'lloyd'}, default='lloyd'
        Only Lloyd's algorithm is implemented.
    n_threads : int, default=None
        Numba threads for the call (restored afterwards); None keeps numba's
        current setting, by default all ``NUMBA_NUM_THREADS``. Results do not
        depend on it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres, in the dtype of X.
    labels_ : ndarray of shape (n_samples,), int32
        Index of the nearest centre of every training sample.
    inertia_ : float
        Weighted sum of squared distances of the samples to their centres.
    n_iter_ : int
        Lloyd iterations of the kept run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,), dtype object
        Column names of X in fit, when X was a DataFrame whose column names
        are all strings; absent otherwise. ``predict``, ``transform`` and
        ``score`` then check the columns of X against them, as scikit-learn.

    Notes
    -----
    Given the same ``RandomState``, the seeding makes the same draws as
    ``sklearn.cluster.KMeans`` (same initial centres), and the Lloyd
    iterations agree with scikit-learn's to rounding; differences appear
    only for points (nearly) equidistant from two centres.

    From ``n_clusters * n_features >= 1024`` and 4096 samples on, the
    Lloyd passes keep Hamerly's bounds on every point's distances to its
    centre and to the others, and compare with every centre only the
    points whose nearest centre may have changed; the bounds carry a
    safety margin for rounding, so the labels, centres and iterations are
    exactly those of the full comparison (the inertia is summed in another
    order: the same to about 1e-15).
    """

    _estimator_type = "clusterer"

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True,
                 algorithm="lloyd", n_threads=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_threads = n_threads

    # ---------------------------------------------------------------- checks

    def _check_params(self, X):
        _check_n_clusters(self.n_clusters, X.shape[0])
        init = self.init
        is_str = isinstance(init, str)
        if is_str and init not in ("k-means++", "random"):
            raise InvalidParameterError(
                f"init must be 'k-means++', 'random', a callable or an array of "
                f"shape (n_clusters, n_features), got {init!r}.")
        n_init = self.n_init
        if not (n_init == "auto" if isinstance(n_init, str) else
                isinstance(n_init, numbers.Integral) and not isinstance(n_init, bool)
                and n_init >= 1):
            raise InvalidParameterError(f"n_init must be 'auto' or an int >= 1, got "
                                        f"{n_init!r}.")
        if (not isinstance(self.max_iter, numbers.Integral)
                or isinstance(self.max_iter, bool) or self.max_iter < 1):
            raise InvalidParameterError(f"max_iter must be an int >= 1, got "
                                        f"{self.max_iter!r}.")
        if not _valid_tol(self.tol):
            raise InvalidParameterError(f"tol must be a finite float >= 0, got "
                                        f"{self.tol!r}.")
        if self.algorithm != "lloyd":
            raise InvalidParameterError(
                f"algorithm must be 'lloyd' (the only one implemented), got "
                f"{self.algorithm!r}.")
        _check_n_threads(self.n_threads)

        if n_init == "auto":
            n_init = 10 if (is_str and init == "random") or callable(init) else 1
        if not is_str and not callable(init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init "
                f"in KMeans instead of n_init={n_init}.", RuntimeWarning, stacklevel=3)
            n_init = 1
        return n_init

    def _validate_centers(self, X, centers):
        centers = np.asarray(centers)
        if centers.ndim != 2 or centers.shape[0] != self.n_clusters:
            raise ValueError(f"The shape of the initial centers {centers.shape} does not "
                             f"match the number of clusters {self.n_clusters}.")
        if centers.shape[1] != X.shape[1]:
            raise ValueError(f"The shape of the initial centers {centers.shape} does not "
                             f"match the number of features of the data {X.shape[1]}.")
        centers = check_array(centers, estimator_name=type(self).__name__, name="init")
        return centers.astype(X.dtype)

    def _check_is_fitted_kmeans(self):
        if not hasattr(self, "cluster_centers_"):
            raise compatible(NotFittedError)(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator.")

    def _check_test_data(self, X):
        self._check_is_fitted_kmeans()
        name = type(self).__name__
        check_feature_names(X, getattr(self, "feature_names_in_", None), name)
        X = check_array(X, estimator_name=name, n_features=self.n_features_in_)
        # The kernels read the centres without bounds checks.
        shape = np.shape(self.cluster_centers_)
        if len(shape) != 2 or shape[0] < 1 or shape[1] != X.shape[1]:
            raise ValueError(
                f"The fitted attribute 'cluster_centers_' has shape {shape}; a {name} "
                f"fitted on {self.n_features_in_} features has (n_clusters, "
                f"{self.n_features_in_}): the fitted attributes are inconsistent (set "
                "by hand?). Refit the model."
            )
        return X

    def _n_features_out(self):
        self._check_is_fitted_kmeans()
        return self.cluster_centers_.shape[0]

    def _init_centroids(self, X, init, random_state, sample_weight, chunk_size):
        if isinstance(init, str) and init == "k-means++":
            centers, _ = _kmeans_plusplus(X, self.n_clusters, sample_weight,
                                          random_state, None, chunk_size)
        elif isinstance(init, str) and init == "random":
            seeds = random_state.choice(X.shape[0], size=self.n_clusters, replace=False,
                                        p=sample_weight / sample_weight.sum())
            centers = X[seeds]
        elif callable(init):
            centers = self._validate_centers(
                X, init(X, self.n_clusters, random_state=random_state))
        else:
            centers = init
        return centers

    # ------------------------------------------------------------------- fit

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 stays float32, other dtypes become float64.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (None: all 1). As in scikit-learn they are
            not used by the seeding if ``init`` is an array or a callable.

        Returns
        -------
        self : KMeans
            The fitted estimator.
        """
        names = feature_names(X)
        variances = None
        # self.tol is validated with the other parameters, after X.
        if is_plain_array(X) and _valid_tol(self.tol) and self.tol > 0:
            # One read of X gives the tolerance's feature variances and checks
            # its values (unchecked_column_statistics). Where it cannot tell,
            # the check names the problem, or passes X (finite values whose
            # squares overflow), whose variances these are.
            variances, _, finite = unchecked_column_statistics(X)
            if not finite:
                X = _check_X(X, type(self).__name__)
        else:
            X = _check_X(X, type(self).__name__)
        return self._fit_checked(X, sample_weight, names, variances)

    def _fit_checked(self, X, sample_weight=None, names=None, variances=None):
        """:meth:`fit` of an X ``check_array`` has passed (a finite float32 or
        float64 array), which is not read again for that: the mixtures'
        'kmeans' start (``fastgmm._init.kmeans_start``) calls it on the X
        their fit checked. ``variances``: X's feature variances, where known
        (the tolerance's)."""
        n_init = self._check_params(X)
        random_state = check_random_state(self.random_state, "KMeans")
        sample_weight, weight_exp = _weights_like(sample_weight, X)
        init = self.init
        if not isinstance(init, str) and not callable(init):
            init = self._validate_centers(X, init)
        chunk_size = int(_config.CHUNK_SIZE)
        tol = _tolerance(X, self.tol, chunk_size, variances)

        best_inertia = best_labels = best_centers = best_n_iter = None
        with thread_limit(self.n_threads):
            for _ in range(n_init):
                centers_init = self._init_centroids(X, init, random_state,
                                                    sample_weight, chunk_size)
                if self.verbose:
                    print("Initialization complete")
                labels, inertia, centers, n_iter = _kmeans_single_lloyd(
                    X, sample_weight, centers_init, self.max_iter, self.verbose, tol,
                    chunk_size, weight_exp)
                # A slightly lower inertia for the same clustering (permuted
                # labels) is rounding; keep the first, as scikit-learn.
                if best_inertia is None or (
                        inertia < best_inertia
                        and not _is_same_clustering(labels, best_labels)):
                    best_labels, best_centers = labels, centers
                    best_inertia, best_n_iter = inertia, n_iter

        distinct_clusters = int(np.count_nonzero(
            np.bincount(best_labels, minlength=self.n_clusters)))
        if distinct_clusters < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct_clusters}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points "
                "in X.", ConvergenceWarning, stacklevel=2)

        self.cluster_centers_ = best_centers
        self.labels_ = best_labels
        self.inertia_ = float(np.ldexp(best_inertia, -weight_exp))
        self.n_iter_ = int(best_n_iter)
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        X = self._check_test_data(X)
        with thread_limit(self.n_threads):
            labels, _ = _labels_inertia(X, np.ones(X.shape[0], dtype=X.dtype),
                                        self.cluster_centers_, int(_config.CHUNK_SIZE))
        return labels

    def transform(self, X):
        """Euclidean distances of the samples to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), dtype of X
            A DataFrame with columns :meth:`get_feature_names_out` after
            ``set_output(transform='pandas')``.
        """
        return self._wrap_output(self._transform(self._check_test_data(X)), X)

    def _transform(self, X):
        centers = self.cluster_centers_.astype(np.float64)
        out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
        sq = np.empty(X.shape[0])
        for k in range(centers.shape[0]):
            sq[:] = 0.0
            for j in range(X.shape[1]):
                sq += (X[:, j] - centers[k, j]) ** 2
            out[:, k] = np.sqrt(sq)
        return out

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of X to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            A DataFrame after ``set_output(transform='pandas')``.
        """
        distances = self.fit(X, sample_weight=sample_weight)._transform(
            _check_X(X, type(self).__name__))
        return self._wrap_output(distances, X)

    def __sklearn_tags__(self):
        # Called by scikit-learn only, so it is installed when this runs.
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X at the fitted centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        X = self._check_test_data(X)
        sample_weight, weight_exp = _weights_like(sample_weight, X)
        with thread_limit(self.n_threads):
            _, inertia = _labels_inertia(X, sample_weight, self.cluster_centers_,
                                         int(_config.CHUNK_SIZE))
        return -float(np.ldexp(inertia, -weight_exp))
