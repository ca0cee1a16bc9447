"""The 'hc' start: mclust's model-based agglomerative hierarchical clustering.

mclust starts EM, for every model and every number of components, from one
tree: ``hc(data, modelName="VVV", use="SVD")`` (its defaults,
``mclust.options("hcModelName", "hcUse")``), cut at G groups
(``hclass``). This module builds that tree:

1. Rows. At most ``max_samples`` rows (default
   ``_config.HC_MAX_SAMPLES``, 2000): all of them when there are no more,
   else a subset drawn with ``random_state`` without replacement (in
   proportion to ``sample_weight`` when given). Rows of zero weight are never
   used. The agglomeration costs O(m^2) memory and O(m^2 d^3) time in the
   number m of rows, so the subset bounds both whatever n_samples is.
2. Transform (``use='SVD'``, mclust's ``hcUse="SVD"``): the rows are
   centred and scaled to unit standard deviation (columns of zero variance
   dropped), then projected on their right singular vectors and each
   projection divided by the square root of its singular value,
   ``Z = Xs V diag(1 / sqrt(s))``; directions of singular value below
   ``1e-12`` times the largest are dropped. ``use='VARS'`` keeps the rows
   as they are.
3. Initial groups: every row its own group, as mclust's ``hc`` when no
   ``partition`` is passed (which is how ``mclustBIC`` calls it); identical
   rows are merged first (their merge lowers the criterion).
4. Merges (``fastgmm._kernels.hc``): VVV (mclust's ``hcVVV`` criterion with
   ``alpha = tr(W_data) / (m p)``, ``beta = 1``) or EII (Ward).

A tree serves every number of components and every covariance model:
:meth:`HierarchicalTree.labels` cuts it. The start of a mixture of K
components is then the M-step, through the covariance model's own path, of
the subset's rows each wholly in its group of the cut at K (``_init``); the
other rows have no part in the start, and EM then runs on all rows.
"""

import numbers

import numpy as np

from . import _config
from ._kernels.hc import hc_merge
from ._validation import check_random_state

HC_MODELS = ("VVV", "EII")
HC_USES = ("SVD", "VARS")


def check_max_samples(max_samples):
    """``max_samples`` of the 'hc' start, validated (None: ``_config.HC_MAX_SAMPLES``)."""
    if max_samples is None:
        return _config.HC_MAX_SAMPLES
    if (not isinstance(max_samples, numbers.Integral) or isinstance(max_samples, bool)
            or max_samples < 2):
        raise ValueError(f"hc_max_samples must be an int >= 2; got {max_samples!r}.")
    return int(max_samples)


def draw_rows(n_samples, sample_weight, max_samples, random_state):
    """Indices (sorted) of the rows the tree is built on.

    All the rows (of positive weight) when there are at most
    ``max_samples`` (None: ``_config.HC_MAX_SAMPLES``), without touching
    ``random_state``; else ``max_samples`` of them drawn with it.

    Without replacement; memory O(max_samples) without weights (repeated
    draws of ``max_samples`` indices until enough distinct ones), so a
    subset of 2,000 rows of 1e9 costs no permutation of n_samples.
    """
    max_samples = check_max_samples(max_samples)
    weighted = sample_weight is not None and sample_weight.shape[0] > 0
    if weighted:
        candidates = np.flatnonzero(sample_weight > 0)
    else:
        candidates = None
    n_candidates = n_samples if candidates is None else candidates.size
    if n_candidates <= max_samples:
        return np.arange(n_samples) if candidates is None else candidates
    random_state = check_random_state(random_state)
    if weighted:
        cdf = np.cumsum(sample_weight[candidates], dtype=np.float64)
        cdf /= cdf[-1]
    chosen = []
    seen = set()
    while len(chosen) < max_samples:
        if weighted:
            draws = candidates[np.minimum(
                np.searchsorted(cdf, random_state.uniform(size=max_samples), side="right"),
                candidates.size - 1)]
        else:
            draws = random_state.randint(0, n_samples, size=max_samples)
        for i in draws.tolist():
            if i not in seen:
                seen.add(i)
                chosen.append(i)
                if len(chosen) == max_samples:
                    break
    return np.sort(np.asarray(chosen, dtype=np.int64))


def svd_transform(rows):
    """mclust's ``hcUse="SVD"`` transform of ``rows`` (float64), see the module docstring."""
    rows = np.asarray(rows, dtype=np.float64)
    centred = rows - rows.mean(axis=0)
    sd = np.sqrt((centred ** 2).sum(axis=0) / max(rows.shape[0] - 1, 1))
    keep = sd > 0
    if not keep.any():
        return np.zeros((rows.shape[0], 1))
    scaled = centred[:, keep] / sd[keep]
    _, s, vt = np.linalg.svd(scaled, full_matrices=False)
    keep = s > 1e-12 * s[0]
    return (scaled @ vt[keep].T) / np.sqrt(s[keep])


class HierarchicalTree:
    """A model-based agglomerative hierarchical clustering of (a subset of) X.

    Made by :func:`hierarchical_tree`; one tree serves every number of
    components and every covariance model.

    Attributes
    ----------
    rows : ndarray of shape (m,), int64
        The rows of X the tree was built on (sorted).
    model : {'VVV', 'EII'}
    use : {'SVD', 'VARS'}
    groups : ndarray of shape (m,), int64
        The initial group of each row (each row its own).
    first_rows : ndarray of shape (n_groups,), int64
        The first row (index into ``rows``) of each initial group.
    merges : ndarray of shape (n_groups - 1, 2), int64
        At stage s the groups ``merges[s]`` (``a < b``, initial-group
        indices; the merged group keeps ``a``) were merged.
    merge_costs : ndarray of shape (n_groups - 1,)
        The change of the criterion at each merge.
    """

    def __init__(self, rows, model, use, groups, first_rows, merges, merge_costs):
        self.rows = rows
        self.model = model
        self.use = use
        self.groups = groups
        self.first_rows = first_rows
        self.merges = merges
        self.merge_costs = merge_costs
        # The cuts made so far, by number of groups: a sweep cuts one tree
        # once per number of components, not once per covariance model.
        self._labels = {}

    @property
    def n_groups(self):
        """Groups before any merge (distinct rows of the subset)."""
        return int(self.first_rows.size)

    def row_merges(self):
        """The merges as mclust's ``hc`` reports them: pairs of the first
        rows (0-based indices into ``rows``) of the two merged groups."""
        return self.first_rows[self.merges]

    def labels(self, n_components):
        """The cut at ``n_components`` groups: a label in [0, n_components) per
        row of :attr:`rows`, numbered in the order of their first row
        (mclust's ``hclass``).

        Raises
        ------
        ValueError
            When the subset has fewer distinct rows than ``n_components``.
        """
        k = int(n_components)
        if not 1 <= k <= self.n_groups:
            raise ValueError(
                f"init_params='hc' cannot give {k} components: the {self.rows.size} "
                f"rows the hierarchical clustering was built on hold {self.n_groups} "
                "distinct rows. Use fewer components or another init_params."
            )
        if k not in self._labels:
            parent = np.arange(self.n_groups)
            for a, b in self.merges[: self.n_groups - k]:
                parent[b] = a
            # Each merged group points to a lower index: resolve in index order.
            for g in range(self.n_groups):
                parent[g] = parent[parent[g]]
            _, labels = np.unique(parent, return_inverse=True)
            labels = labels.reshape(-1)[self.groups]
            labels.flags.writeable = False
            self._labels[k] = labels
        return self._labels[k]


def hierarchical_tree(X, *, max_samples=None, model="VVV", use="SVD", random_state=None,
                      sample_weight=None, rows=None):
    """mclust's model-based agglomerative hierarchical clustering of X.

    The tree of ``init_params='hc'``: mclust's ``hc(X, modelName="VVV",
    use="SVD")`` (its default start), on at most ``max_samples`` rows. Cut
    it with :meth:`HierarchicalTree.labels` (mclust's ``hclass``); one tree
    serves every number of components. Steps: (1) the rows, all or a subset
    drawn with ``random_state`` (in proportion to ``sample_weight``, rows of
    weight 0 never); (2) mclust's SVD transform of the standardised rows,
    ``Z = Xs V diag(1 / sqrt(s))`` (``use='SVD'``); (3) every row its own
    group, then merges of the pair that changes the classification
    log-likelihood least (VVV: Fraley 1998 with mclust's regularisation;
    EII: Ward). See the user guide's "mclust's hierarchical start".

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Only the chosen rows are read (an ``np.memmap`` stays on disk).
    max_samples : int, default=None
        Rows at most (``_config.HC_MAX_SAMPLES``, 2000, when None).
    model : {'VVV', 'EII'}, default='VVV'
    use : {'SVD', 'VARS'}, default='SVD'
    random_state : int, RandomState instance or None, default=None
        Draws the subset (used only when there are more rows than
        ``max_samples``).
    sample_weight : ndarray of shape (n_samples,) or (0,), optional
    rows : ndarray of int, optional
        The rows to build the tree on, drawn beforehand by :func:`draw_rows`
        (``max_samples``, ``random_state`` and ``sample_weight`` then unused).

    Returns
    -------
    HierarchicalTree
    """
    if model not in HC_MODELS:
        raise ValueError(f"model must be one of {HC_MODELS}; got {model!r}.")
    if use not in HC_USES:
        raise ValueError(f"use must be one of {HC_USES}; got {use!r}.")
    if rows is None:
        rows = draw_rows(X.shape[0], sample_weight, max_samples, random_state)
    data = np.asarray(X[rows], dtype=np.float64)
    Z = svd_transform(data) if use == "SVD" else data
    # Every row its own group, as mclust's hc() starts when no partition is
    # given (which is how mclustBIC calls it): identical rows merge first.
    groups = np.arange(Z.shape[0])
    first_rows = groups.copy()
    n_groups = first_rows.size
    means = np.ascontiguousarray(Z[first_rows])
    counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
    d = Z.shape[1]
    vvv = model == "VVV"
    scatters = np.zeros((n_groups, d, d) if vvv else (n_groups, 0, 0))
    centred = Z - Z.mean(axis=0)
    alpha = max(float((centred ** 2).sum()) / (Z.shape[0] * d), np.finfo(np.float64).eps)
    n_merges = n_groups - 1
    merges = np.zeros((n_merges, 2), dtype=np.int64)
    merge_costs = np.zeros(n_merges)
    if n_merges > 0:
        hc_merge(means, counts, scatters, vvv, alpha, 1.0, n_merges, merges, merge_costs)
    return HierarchicalTree(rows, model, use, groups, first_rows, merges, merge_costs)
