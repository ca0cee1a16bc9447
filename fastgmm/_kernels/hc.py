"""Model-based agglomerative hierarchical clustering (the 'hc' start): the merge loop.

Fraley (1998), "Algorithms for model-based Gaussian hierarchical
clustering": starting from groups of rows, merge at every stage the pair of
groups whose merge changes the classification log-likelihood the least.
The driver (``fastgmm._hc``) prepares the groups, the transform of the data
and the constants; this kernel only merges.

Criteria (``vvv`` True / False), for a group of ``n`` rows with scatter
``W`` (the sum of outer products of its rows' deviations from its mean):

- VVV (mclust's ``hcVVV``, its default): the group's term is
  ``n log(det(W / n) [n > d] + beta (tr W + alpha) / n)``, the
  regularised ``n log det(Sigma)`` of the classification likelihood (the
  determinant enters only once the group has more rows than dimensions;
  ``alpha`` keeps small groups finite). A merge costs
  ``term(a u b) - term(a) - term(b)``.
- EII (Ward's criterion): a merge costs the growth of ``tr W``,
  ``n_a n_b / (n_a + n_b) ||m_a - m_b||^2``.

Ties are broken by the group indices: the pair ``(a, b)``, ``a < b``, of
lowest cost, then highest ``b``, then highest ``a``: the last pair of
mclust's scan (``j`` outer, ``i < j`` inner, ``<=``), which merges the
duplicated rows of Old Faithful in its order (with the lowest indices first
instead, its cuts at G = 3..9 groups differed from mclust's, adjusted Rand
index 0.53-0.60). The merged group takes the lower index ``a``. The result
depends on nothing else: no thread count, no memory layout.
"""

import math

import numpy as np
from numba import njit, prange

from . import EXACT_JIT


@njit(inline="always", **EXACT_JIT)
def _before(c1, a1, b1, c2, a2, b2):
    """Whether pair (a1, b1) of cost c1 comes before (a2, b2) of cost c2 (a < b)."""
    if c1 < c2:
        return True
    if c1 > c2:
        return False
    if b1 != b2:
        return b1 > b2
    return a1 > a2


@njit(**EXACT_JIT)
def _term(n, trace, work, alpha, beta):
    """A group's VVV term, ``n log(det(W / n) [n > d] + beta (tr W + alpha) / n)``.

    ``work`` (d, d) holds ``W / n`` in its lower triangle (overwritten by
    its Cholesky factor when ``n > d``); a pivot that is not positive means
    a singular W, whose determinant counts as 0.
    """
    d = work.shape[0]
    inner = beta * (trace + alpha) / n
    if n > d:
        det = 1.0
        for p in range(d):
            s = work[p, p]
            for r in range(p):
                s -= work[p, r] * work[p, r]
            if not s > 0.0:
                det = 0.0
                break
            det *= s
            root = math.sqrt(s)
            work[p, p] = root
            for q in range(p + 1, d):
                t = work[q, p]
                for r in range(p):
                    t -= work[q, r] * work[p, r]
                work[q, p] = t / root
        inner += det
    return n * math.log(inner)


# A pair's cost (_merged, _cost) is inlined into the loops over pairs
# (Numba's inline="always"): as calls, each pair paid a call with every
# array passed field by field: a third of Ward's (EII) tree's time at d <= 8.
@njit(inline="always", **EXACT_JIT)
def _merged(i, j, means, counts, scatters, vvv, alpha, beta, work):
    """The term of groups i and j merged (VVV), or Ward's cost (EII).

    ``work`` (d, d) receives ``W_ij / n_ij`` for VVV (see :func:`_term`).
    """
    d = means.shape[1]
    ni = counts[i]
    nj = counts[j]
    nij = ni + nj
    c = ni * nj / nij
    if not vvv:
        s = 0.0
        for p in range(d):
            diff = means[i, p] - means[j, p]
            s += diff * diff
        return c * s
    trace = 0.0
    for p in range(d):
        dp = means[i, p] - means[j, p]
        for q in range(p + 1):
            dq = means[i, q] - means[j, q]
            work[p, q] = (scatters[i, p, q] + scatters[j, p, q] + c * dp * dq) / nij
        trace += work[p, p]
    trace *= nij
    return _term(nij, trace, work, alpha, beta)


@njit(inline="always", **EXACT_JIT)
def _cost(i, j, means, counts, scatters, terms, vvv, alpha, beta, work):
    value = _merged(i, j, means, counts, scatters, vvv, alpha, beta, work)
    if vvv:
        return value - terms[i] - terms[j]
    return value


@njit(**EXACT_JIT)
def _row_best(i, cost, active, g):
    """(best partner, cost) of group i among the active groups, in the tie order."""
    best = -1
    best_cost = np.inf
    for j in range(g):
        if j == i or not active[j]:
            continue
        c = cost[i, j]
        a1, b1 = min(i, j), max(i, j)
        if best < 0 or _before(c, a1, b1, best_cost, min(i, best), max(i, best)):
            best = j
            best_cost = c
    return best, best_cost


# Rows of the cost matrix are split into this many slices of columns for the
# threads; each slice has its own scratch (a pair's cost depends only on the
# pair, so the matrix is the same for any thread count).
COST_SLICES = 16


@njit(**EXACT_JIT)
def _lower_row(i, means, counts, scatters, terms, vvv, alpha, beta, work, cost):
    """``cost[i, j]`` for every ``j < i``."""
    for j in range(i):
        cost[i, j] = _cost(j, i, means, counts, scatters, terms, vvv, alpha, beta, work)


@njit(parallel=True, **EXACT_JIT)
def _initial_costs(means, counts, scatters, terms, vvv, alpha, beta, cost):
    """Every pair's cost into the symmetric ``cost`` (inf on the diagonal).

    Rows ``r`` and ``g - 1 - r`` go to the same task, so that the tasks of
    the lower triangle have equal work.
    """
    g, d = means.shape
    for r in prange((g + 1) // 2):
        work = np.zeros((d, d))
        _lower_row(r, means, counts, scatters, terms, vvv, alpha, beta, work, cost)
        if g - 1 - r != r:
            _lower_row(g - 1 - r, means, counts, scatters, terms, vvv, alpha, beta, work,
                       cost)
    for i in range(g):
        cost[i, i] = np.inf
        for j in range(i):
            cost[j, i] = cost[i, j]


@njit(parallel=True, **EXACT_JIT)
def _costs_to(a, means, counts, scatters, terms, active, vvv, alpha, beta, cost):
    """``cost[a, j] = cost[j, a]`` for every active group ``j != a``."""
    g, d = means.shape
    width = -(-g // COST_SLICES)
    for s in prange(COST_SLICES):
        work = np.zeros((d, d))
        for j in range(s * width, min(g, (s + 1) * width)):
            if active[j] and j != a:
                cj = _cost(min(a, j), max(a, j), means, counts, scatters, terms, vvv,
                           alpha, beta, work)
                cost[a, j] = cj
                cost[j, a] = cj


@njit(**EXACT_JIT)
def hc_merge(means, counts, scatters, vvv, alpha, beta, n_merges, merges, merge_costs):
    """Agglomerate groups, ``n_merges`` times, by the VVV or EII criterion.

    Parameters
    ----------
    means : ndarray of shape (n_groups, n_features), float64, C-contiguous
        Each group's mean; overwritten (the merged groups' means).
    counts : ndarray of shape (n_groups,), float64
        Rows per group; overwritten.
    scatters : ndarray of shape (n_groups, n_features, n_features), float64
        Lower triangles of each group's scatter ``W``; overwritten. Unused
        (may be of shape (n_groups, 0, 0)) for EII.
    vvv : bool
        VVV criterion (True) or EII / Ward (False).
    alpha, beta : float
        mclust's regularisation of the VVV term (see the module docstring).
    n_merges : int
        At most ``n_groups - 1``.
    merges : ndarray of shape (n_merges, 2), int64
        Out: the groups ``(a, b)``, ``a < b``, merged at each stage; the
        merged group keeps index ``a``.
    merge_costs : ndarray of shape (n_merges,), float64
        Out: the cost of each merge.

    Notes
    -----
    Every pair's cost is kept in a (n_groups, n_groups) matrix and
    every group's best partner in a cache: after a merge only the merged
    group's row is recomputed (O(n_groups d^3)), and the rows whose cached
    partner took part in the merge are scanned again; the pair to merge is
    found by a scan over the groups. About O(n_groups^2 d^3) in all. The
    costs (the initial matrix, the merged group's row) are computed on the
    threads; the scans and merges are serial.
    """
    g = means.shape[0]
    d = means.shape[1]
    work = np.zeros((d, d))
    terms = np.zeros(g)
    if vvv:
        for i in range(g):
            trace = 0.0
            for p in range(d):
                trace += scatters[i, p, p]
                for q in range(p + 1):
                    work[p, q] = scatters[i, p, q] / counts[i]
            terms[i] = _term(counts[i], trace, work, alpha, beta)
    cost = np.empty((g, g))
    active = np.ones(g, dtype=np.bool_)
    _initial_costs(means, counts, scatters, terms, vvv, alpha, beta, cost)
    partner = np.empty(g, dtype=np.int64)
    partner_cost = np.empty(g)
    for i in range(g):
        partner[i], partner_cost[i] = _row_best(i, cost, active, g)
    for m in range(n_merges):
        # np.int64: a literal -1 would be typed Literal[int](-1) at the first
        # calls below, and Numba would compile them a second time for it.
        a = np.int64(-1)
        b = np.int64(-1)
        best = np.inf
        for i in range(g):
            if not active[i]:
                continue
            j = partner[i]
            lo, hi = min(i, j), max(i, j)
            if a < 0 or _before(partner_cost[i], lo, hi, best, a, b):
                a, b, best = lo, hi, partner_cost[i]
        merges[m, 0] = a
        merges[m, 1] = b
        merge_costs[m] = best
        # Merge b into a.
        na = counts[a]
        nb = counts[b]
        nab = na + nb
        c = na * nb / nab
        if vvv:
            terms[a] = _merged(a, b, means, counts, scatters, vvv, alpha, beta, work)
            for p in range(d):
                dp = means[a, p] - means[b, p]
                for q in range(p + 1):
                    dq = means[a, q] - means[b, q]
                    scatters[a, p, q] += scatters[b, p, q] + c * dp * dq
        for p in range(d):
            means[a, p] = (na * means[a, p] + nb * means[b, p]) / nab
        counts[a] = nab
        active[b] = False
        if m == n_merges - 1:
            break
        _costs_to(a, means, counts, scatters, terms, active, vvv, alpha, beta, cost)
        partner[a], partner_cost[a] = _row_best(a, cost, active, g)
        for i in range(g):
            if not active[i] or i == a:
                continue
            if partner[i] == a or partner[i] == b:
                partner[i], partner_cost[i] = _row_best(i, cost, active, g)
            else:
                j = partner[i]
                if _before(cost[i, a], min(i, a), max(i, a), partner_cost[i],
                           min(i, j), max(i, j)):
                    partner[i] = a
                    partner_cost[i] = cost[i, a]
