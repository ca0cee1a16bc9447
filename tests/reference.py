"""Plain numpy/scipy reference implementations, independent of fastgmm.

Everything is computed the textbook way: covariances from the parameters,
log-densities with ``scipy.stats.multivariate_normal``, a dense
responsibility matrix, statistics and the M-step from it. Nothing here
imports fastgmm.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

# -- The tolerance table ----------------------------------------------------------
#
# Every tolerance of the test suite, by name: a test that needs its own adds
# an entry here with one line saying why it is that size. Relative unless the
# name ends in ATOL (absolute, in the units of the data, or of what is said).
# Where a value depends on the dtype of the data, the entry is a dict.
#
# Where fastgmm computes in float32 (for float32 data: rows scored, and the
# second moments of a block summed, in float32; everything across blocks in
# float64) is the rule in the docstring of ``fastgmm._kernels``.

# fastgmm against this module's dense float64 reference. float64: kernels sum
# per block, then over blocks in a fixed order, the reference in another
# order; both are exact to ~1e-14, so 1e-10 leaves room for conditioning.
# float32: each row's log-density carries a relative error of a few 1e-7 and
# its responsibilities about 1e-6 absolute; sums and the parameters after one
# step were seen 3.5e-6 relative from the reference.
RTOL = {np.float64: 1e-10, np.float32: 1e-5}
# Against scikit-learn: 1e-8 in float64 (another algebra, same start), 1e-4 in
# float32 (its float32 path computes in float32 throughout).
SKLEARN_RTOL = {np.float64: 1e-8, np.float32: 1e-4}
# BayesianGaussianMixture against scikit-learn's on float32 data (both fits in
# float32): fitted parameters and lower bounds were seen at most 2.2e-6 apart,
# relative to the largest value of each attribute (tests/test_bayesian.py).
BAYESIAN_FLOAT32_RTOL = 1e-5
# The variational fit's responsibility entropy from the pass's statistics (an
# identity: log-likelihood minus sum r log p) against the dense entropy: the
# difference of two sums of magnitude ~N d, each exact to ~1e-15 relative.
ENTROPY_ATOL_PER_ROW = 1e-10
# Responsibilities against the reference: float64 terms below exp(-690) of the
# largest are flushed to 0; float32 log-densities of magnitude L are off by
# ~L * 6e-8, so responsibilities by ~1e-6 absolute.
RESP_ATOL = {np.float64: 1e-290, np.float32: 1e-6}
# Responsibilities from stored log-responsibilities (exp(log_resp)): an
# absolute error e of a float32 log value of magnitude ~100 (spacing ~1e-5)
# is a relative error e of the responsibility.
LOG_RESP_RTOL = 1e-4
# First moments sum r (x - mu) cancel around the mean: a relative floor of
# 1e-8 in float64, and an absolute floor of the rounding of ~1e3 terms of
# size ~1 (float64 1e-13 each, float32 1e-8 each).
CENTRED_SUM_RTOL = {np.float64: 1e-8, np.float32: 1e-5}
CENTRED_SUM_ATOL = {np.float64: 1e-9, np.float32: 1e-5}
# The same, as an absolute error relative to the sum of the terms' magnitudes
# (sum r |x - mu|), for rows far from the means: float64 sums of a few
# hundred terms err by ~1e-14 of it; 'full' (but its one sweep), 'diag'
# and 'spherical' sum a block's first moments in float32 (128 terms: ~1e-6
# of it).
CENTRED_SUM_TERMS_RTOL = {np.float64: 1e-12, np.float32: 1e-5}
# Parameters after one M-step against the reference: a division by nk and,
# for precisions, a Cholesky factorisation and inverse amplify the
# statistics' error up to ~10 times in float64; float32 keeps RTOL.
MSTEP_RTOL = {np.float64: 1e-9, np.float32: 1e-5}
# Inverses of precisions in their dtype (float32 LAPACK, condition numbers
# ~1e2) against a float64 inverse, relative to the largest entry: float32
# seen ~6e-7 x condition; float64 keeps RTOL.
INVERSE_RTOL = {np.float64: 1e-10, np.float32: 1e-4}
PRECISION_RTOL = {np.float64: 1e-8, np.float32: 1e-5}
# Their absolute floors, for entries near 0 of unit-scale data.
MEANS_ATOL = {np.float64: 1e-10, np.float32: 1e-6}
COV_ATOL = {np.float64: 1e-12, np.float32: 1e-7}
PRECISION_ATOL = {np.float64: 1e-10, np.float32: 1e-6}
# The same float64 sums in another order or grouping (block sizes, segments,
# memory layouts, Dask or stream chunks, a save/load round trip, weights
# against repeated rows in one pass): differences seen ~1e-14.
REORDER_RTOL = 1e-12
# Its absolute floor, for entries that are 0 up to rounding in unit-scale data.
REORDER_ATOL = 1e-12
# Reordered sums whose terms all have one sign (log-likelihood totals, nk,
# score_samples of a reloaded model) cannot cancel: differences seen ~1e-15.
POSITIVE_SUM_RTOL = 1e-13
# Per-row outputs stored in the data's dtype (log-densities,
# responsibilities and their row sums), computed another way or in another
# order: float32 storage rounds to 6e-8 relative.
OUTPUT_RTOL = {np.float64: 1e-12, np.float32: 1e-6}
# The same fit by another compiled specialisation of the kernels (a memory
# map is typed read-only; another layout): vectorised sums in another order,
# ~1e-14 in float64, float32 block sums ~1e-7.
SPECIALISATION_RTOL = {np.float64: 1e-12, np.float32: 1e-6}
# Absolute floor when comparing two float64 fits, for entries that are 0 up
# to rounding (off-diagonal covariances and precisions of unit-scale data).
FIT_ATOL = 1e-13
# Integer sample weights against repeated rows over 20 EM iterations: other
# float64 sums in every iteration, compounded.
WEIGHTED_FIT_RTOL = 1e-8
WEIGHTED_FIT_ATOL = 1e-10
# Online partial_fit, integer weights against repeated rows: the same steps,
# with sums grouped differently over every batch.
ONLINE_REPEAT_RTOL = 1e-9
# The log-likelihood may fall by float64 rounding only (EM never decreases
# it): a relative 1e-12 of its size for a mean over ~1e3 rows.
LL_DECREASE_RTOL = 1e-12
# The same on drawn data (down to 20 rows, zero weights, reg_covar=0, nearly
# singular covariances that amplify rounding); float32 lower bounds are
# stored in float32 (4 epsilons).
DRAWN_LL_DECREASE_RTOL = {np.float64: 1e-9, np.float32: 4 * float(np.finfo(np.float32).eps)}
# Statistics of drawn problems for another block size or row order (relative,
# with an absolute floor of the same times the largest entry): float64 sums
# of at most a few hundred terms reordered (~1e-14), with room for
# cancellation in the centred first moments; float32 block sums (~2e-8 seen).
DRAWN_STATS_RTOL = {np.float64: 1e-9, np.float32: 1e-6}
# A fit on data translated by up to 1e3 against the untranslated fit (5
# iterations): x - mu cancels ~|shift| * 1e-16, amplified by conditioning;
# means to this times the data's scale, covariances and weights relative,
# weights with an absolute floor.
TRANSLATION_ATOL = 1e-8
TRANSLATION_RTOL = 1e-6
TRANSLATION_WEIGHTS_ATOL = 1e-10
# Log-likelihoods printed with 6 decimals (about -2 per sample) may fall by
# float64 rounding only.
PRINTED_LL_ATOL = 1e-9
# Weights printed with 4 decimals: two of them sum to 1 within their rounding.
PRINTED_WEIGHT_ATOL = 1e-3
# Final lower bounds of another library from the same start: float64 peers do
# the same arithmetic (~1e-16 seen); GMMX computes in float32.
PEER_RTOL = {np.float64: 1e-8, np.float32: 1e-5}
# The first lower bound of a start with a degenerate covariance, where
# scikit-learn's uncentred algebra cancels (~1e-7 seen).
FIRST_LB_RTOL = 1e-6
# sample() against scikit-learn: the same normal draws, transformed by
# fitted parameters that agree to SKLEARN_RTOL, amplified by the factors.
SAMPLE_TOL = 1e-6
# Two fits from different starts (a sample of rows, the full data) at the
# same optimum, each stopped by tol=1e-3.
OPTIMUM_TOL = 1e-3
# float32 fits against float64 ones (or float32 data against their float64
# truth): float32 rounding over several E-steps (2e-6 seen).
FLOAT32_FIT_RTOL = 1e-4
# Its absolute floor for float32 parameters near 0 (off-diagonals of
# unit-scale data).
FLOAT32_FIT_ATOL = 1e-6
# A float64 value (reg_covar) stored in float32 is off by at most 6e-8.
FLOAT32_STORAGE_RTOL = 1e-6
# float32 'tied' fits: the scatter of all rows around one shift is summed in
# float32 per block, a longer sum than per component (2e-5 seen).
TIED_FLOAT32_RTOL = 1e-4
# float32 fits of overlapping clusters far from the origin: scoring centres
# off by up to 2**-11 standard deviations move the responsibilities of the
# overlap (see tests/test_numerics.py; 1.4e-6 seen).
OVERLAP_RTOL = 1e-4
# Data scaled by 1e19 (passed as float64) against unscaled float32 data:
# covariances of size 1e38 rescaled, both fits float32-rounded.
SCALED_COV_RTOL = 1e-3
SCALED_COV_ATOL = 1e-5
# Triangular factors of large models against scipy, relative to the largest
# entry (entries up to ~1e3 agree to ~1e-15 relative to it).
FACTOR_RTOL = 1e-12
# exp_nonpositive against np.exp: 3e-14 relative near its cutoff and 2e-15 on
# [-50, 0] (its docstring), with a margin.
EXP_RTOL = 5e-14
EXP_NEAR_RTOL = 5e-15
# Cluster sums of k-means (~1e3 coordinates of size ~10) cancel near 0.
KMEANS_SUMS_ATOL = 1e-9
# float32 k-means against scikit-learn's (which computes in float32): labels
# may differ on near-ties, at most this fraction of the points.
KMEANS_FLOAT32_LABEL_MISMATCH = 2e-3
# Seeding draws tested by chi-square goodness of fit (seeded, so fixed):
# rejected below this p-value, how surprising a correct sampler's failure is.
CHI2_MIN_PVALUE = 1e-4
# Statistical recoveries (means and weights of 600 draws of sd 0.1; online EM
# over 300 batches of 500 rows), a few standard errors (or its step noise).
CLUSTER_MEANS_ATOL = 0.03
ONLINE_RECOVERY_ATOL = {"means": 0.06, "covariances": 0.1, "weights": 0.015}
# BIC against mclust's published values, printed with two decimals.
MCLUST_BIC_ATOL = 0.01
# An emptied component's weight: 0 up to the 10 eps guard of the M-step.
EMPTIED_WEIGHT_MAX = 1e-10
# A reseeded component holds real rows: well above 0.
RESEEDED_WEIGHT_MIN = 1e-3
# scikit-learn's float32 E[x^2] - mu^2 variances are off by more than this.
SKLEARN_CANCELLED_RTOL = 1e-2
# Responsibilities near 0 of two layouts: an absolute floor just above the
# rounding of terms of size 1.
RESP_FLOOR_ATOL = 1e-15
# Merge costs of the hierarchical start against hc_naive: the kernel updates
# merged scatters (W_a + W_b + c d d^T), the reference recomputes them from
# the rows; both float64 on ~30 rows of unit scale, differences of terms of
# size ~30 (n log det): 1e-9 absolute is a few hundred ulps of them.
HC_COST_ATOL = 1e-9
# The SVD transform against hc_svd_transform: two SVDs of the same matrix.
HC_TRANSFORM_ATOL = 1e-10
# Incomplete data (nan_policy='marginalize') against the per-pattern dense
# reference: 25 EM iterations from the same start; each iteration's
# rounding (~1e-14) is carried on, so the parameters agree to 1e-8 (the
# issue's bar); float32 data are computed in float64 by the missing-value
# kernels but the complete rows by the float32 pass, and the parameters are
# stored in float32.
MISSING_FIT_RTOL = {np.float64: 1e-8, np.float32: 1e-4}
# Their absolute floor, for entries near 0 of unit-scale data.
MISSING_FIT_ATOL = {np.float64: 1e-10, np.float32: 1e-5}
# Per-row outputs (log p(x_o), responsibilities, imputed values) of given
# parameters: one evaluation, float64 rounding only.
MISSING_ROW_RTOL = 1e-10
MISSING_ROW_ATOL = 1e-12


def covariance_matrices(covariances, covariance_type, n_components, n_features):
    """Full (n_components, n_features, n_features) matrices for any type."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([np.eye(n_features) * c for c in covariances])


def weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x | mu_k, Sigma_k), shape (n_samples, n_components)."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = means.shape
    covs = covariance_matrices(covariances, covariance_type, n_components, n_features)
    out = np.empty((X.shape[0], n_components))
    for k in range(n_components):
        out[:, k] = np.log(weights[k]) + multivariate_normal(
            mean=means[k], cov=covs[k], allow_singular=False).logpdf(X)
    return out


def responsibilities(X, weights, means, covariances, covariance_type):
    """(log p(x_i), dense responsibility matrix)."""
    wlp = weighted_log_prob(X, weights, means, covariances, covariance_type)
    norm = logsumexp(wlp, axis=1)
    return norm, np.exp(wlp - norm[:, None])


def m_step(X, resp, covariance_type, reg_covar, sample_weight=None):
    """Weights, means, covariances from a dense responsibility matrix.

    Written from the definitions (not scikit-learn's algebra): weighted
    means, and covariances as weighted scatter around the new means.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    if sample_weight is not None:
        resp = resp * np.asarray(sample_weight, dtype=np.float64)[:, None]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    full = np.empty((means.shape[0], n_features, n_features))
    for k in range(means.shape[0]):
        diff = X - means[k]
        full[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
    eye = np.eye(n_features)
    if covariance_type == "full":
        cov = full + reg_covar * eye
    elif covariance_type == "tied":
        cov = (nk[:, None, None] * full).sum(axis=0) / nk.sum() + reg_covar * eye
    elif covariance_type == "diag":
        cov = np.array([np.diag(c) for c in full]) + reg_covar
    else:
        cov = np.array([np.diag(c) for c in full]).mean(axis=1) + reg_covar
    return nk / nk.sum(), means, cov


def em_step(X, weights, means, covariances, covariance_type, reg_covar,
            sample_weight=None):
    """One EM iteration: (mean log-likelihood before the step, new parameters)."""
    norm, resp = responsibilities(X, weights, means, covariances, covariance_type)
    if sample_weight is None:
        lower_bound = norm.mean()
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        lower_bound = (sw * norm).sum() / sw.sum()
    return lower_bound, m_step(X, resp, covariance_type, reg_covar, sample_weight)


def precisions(covariances, covariance_type):
    """Inverse covariances in the layout of ``covariances``."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / np.asarray(covariances)


def make_blobs(rng, n_samples, n_features, n_components, dtype=np.float64, spread=6.0):
    """Anisotropic Gaussian blobs with random centres."""
    centres = rng.normal(scale=spread, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    scales = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    X = centres[labels] + rng.normal(size=(n_samples, n_features)) * scales[labels]
    return X.astype(dtype), labels


def random_parameters(rng, X, n_components, covariance_type):
    """A plausible set of parameters (weights, means, covariances) for X."""
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    weights = rng.uniform(0.5, 1.5, size=n_components)
    weights /= weights.sum()
    means = X[rng.choice(X.shape[0], n_components, replace=False)]
    if covariance_type == "full":
        A = rng.normal(size=(n_components, n_features, n_features))
        cov = A @ np.swapaxes(A, 1, 2) / n_features + np.eye(n_features)
    elif covariance_type == "tied":
        A = rng.normal(size=(n_features, n_features))
        cov = A @ A.T / n_features + np.eye(n_features)
    elif covariance_type == "diag":
        cov = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    else:
        cov = rng.uniform(0.5, 2.0, size=n_components)
    return weights, means, cov


def random_start(X, covariance_type, n_components=3, seed=0):
    """``weights_init``, ``means_init`` and ``precisions_init`` of a plausible start."""
    weights, means, cov = random_parameters(np.random.default_rng(seed), X,
                                            n_components, covariance_type)
    return dict(weights_init=weights, means_init=means,
                precisions_init=precisions(cov, covariance_type))


# -- Model-based hierarchical clustering (the 'hc' start), from the criterion ----


def hc_svd_transform(X):
    """mclust's ``hcUse="SVD"``: standardise (sd with n - 1), then
    ``Z = Xs V diag(1 / sqrt(s))`` from the SVD ``Xs = U diag(s) V^T``."""
    X = np.asarray(X, dtype=np.float64)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    _, s, vt = np.linalg.svd(Xs, full_matrices=False)
    return Xs @ vt.T / np.sqrt(s)


def _hc_term(rows, alpha, beta):
    """A group's VVV term: n log(det(W / n) [n > d] + beta (tr W + alpha) / n),
    W the scatter of its rows around their mean (Fraley 1998; mclust's hcVVV)."""
    n, d = rows.shape
    dev = rows - rows.mean(axis=0)
    W = dev.T @ dev
    det = np.linalg.det(W / n) if n > d else 0.0
    return n * np.log(max(det, 0.0) + beta * (np.trace(W) + alpha) / n)


def hc_naive(Z, model="VVV", beta=1.0):
    """Agglomerate the rows of Z, every pair's cost recomputed from its rows at
    every stage (O(n^3) pairs in all).

    VVV: a merge costs term(a u b) - term(a) - term(b) (:func:`_hc_term`),
    with ``alpha = tr(W_data) / (n d)``. EII: Ward's growth of the total
    within-group sum of squares. A group is named by its lowest row; ties
    go to the pair of highest (larger name, then smaller name).

    Returns
    -------
    merges : list of (int, int)
        The names (lower, higher) of the groups merged at each stage.
    costs : list of float
    """
    Z = np.asarray(Z, dtype=np.float64)
    n, d = Z.shape
    dev = Z - Z.mean(axis=0)
    alpha = max(float((dev ** 2).sum()) / (n * d), np.finfo(np.float64).eps)
    groups = {i: [i] for i in range(n)}
    merges, costs = [], []

    def sse(rows):
        r = Z[rows]
        return float(((r - r.mean(axis=0)) ** 2).sum())

    while len(groups) > 1:
        best = None
        names = sorted(groups)
        for x, a in enumerate(names):
            for b in names[x + 1:]:
                both = groups[a] + groups[b]
                if model == "VVV":
                    c = (_hc_term(Z[both], alpha, beta) - _hc_term(Z[groups[a]], alpha, beta)
                         - _hc_term(Z[groups[b]], alpha, beta))
                else:
                    c = sse(both) - sse(groups[a]) - sse(groups[b])
                key = (c, -b, -a)
                if best is None or key < best[0]:
                    best = (key, a, b, c)
        _, a, b, c = best
        groups[a] = groups[a] + groups.pop(b)
        merges.append((a, b))
        costs.append(c)
    return merges, costs


# -- Incomplete data ----------------------------------------------------------------
#
# Written from the formulas of EM for data missing at random (Little & Rubin,
# ch. 11; Ghahramani & Jordan 1994), per pattern of missing values, with
# dense matrices: x_o observed, x_m missing, component k.
#   log p(x_o | k) = log N(x_o; mu_o, S_oo)
#   E[x_m | x_o, k] = mu_m + S_mo S_oo^-1 (x_o - mu_o)
#   Cov[x_m | x_o, k] = S_mm - S_mo S_oo^-1 S_om


def _patterns(X):
    """(mask of missing values, list of (row indices, missing mask)) per pattern."""
    mask = np.isnan(X)
    uniq, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(np.flatnonzero(inverse == p), uniq[p]) for p in range(uniq.shape[0])]


def incomplete_weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x_o | mu_o, S_oo) per row and component."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = means.shape
    covs = covariance_matrices(covariances, covariance_type, n_components, n_features)
    out = np.empty((X.shape[0], n_components))
    for rows, miss in _patterns(X):
        o = ~miss
        for k in range(n_components):
            out[rows, k] = np.log(weights[k]) + multivariate_normal(
                mean=means[k][o], cov=covs[k][np.ix_(o, o)]).logpdf(X[np.ix_(rows, o)])
    return out


def incomplete_responsibilities(X, weights, means, covariances, covariance_type):
    """(log p(x_o) per row, dense responsibilities)."""
    wlp = incomplete_weighted_log_prob(X, weights, means, covariances, covariance_type)
    norm = logsumexp(wlp, axis=1)
    return norm, np.exp(wlp - norm[:, None])


def _conditionals(X, means, covs, k, rows, miss):
    """(completed rows E[x | x_o, k], conditional covariance of x_m) for one pattern."""
    o, m = ~miss, miss
    S = covs[k]
    filled = np.array(X[rows], dtype=np.float64)
    cond = np.zeros((m.sum(), m.sum()))
    if m.any():
        B = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T
        filled[:, m] = means[k][m] + (filled[:, o] - means[k][o]) @ B.T
        cond = S[np.ix_(m, m)] - B @ S[np.ix_(o, m)]
    return filled, cond


def incomplete_em_step(X, weights, means, covariances, covariance_type, reg_covar,
                       sample_weight=None):
    """One EM iteration on X with NaN: (mean observed-data log-likelihood, parameters).

    The M-step of ``m_step`` with the statistics of every row replaced by
    their expectations given its observed values.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    covs = covariance_matrices(covariances, covariance_type, n_components, n_features)
    norm, resp = incomplete_responsibilities(X, weights, means, covariances, covariance_type)
    sw = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    lower_bound = (sw * norm).sum() / sw.sum()
    r = resp * sw[:, None]
    nk = r.sum(axis=0) + 10 * np.finfo(np.float64).eps * sw.mean()
    sums = np.zeros((n_components, n_features))
    pats = _patterns(X)
    for rows, miss in pats:
        for k in range(n_components):
            filled, _ = _conditionals(X, means, covs, k, rows, miss)
            sums[k] += r[rows, k] @ filled
    new_means = sums / nk[:, None]
    full = np.zeros((n_components, n_features, n_features))
    for rows, miss in pats:
        for k in range(n_components):
            filled, cond = _conditionals(X, means, covs, k, rows, miss)
            diff = filled - new_means[k]
            full[k] += (r[rows, k, None] * diff).T @ diff
            full[k][np.ix_(miss, miss)] += r[rows, k].sum() * cond
    full /= nk[:, None, None]
    eye = np.eye(n_features)
    if covariance_type == "full":
        cov = full + reg_covar * eye
    elif covariance_type == "tied":
        cov = (nk[:, None, None] * full).sum(axis=0) / nk.sum() + reg_covar * eye
    elif covariance_type == "diag":
        cov = np.array([np.diag(c) for c in full]) + reg_covar
    else:
        cov = np.array([np.diag(c) for c in full]).mean(axis=1) + reg_covar
    return lower_bound, (nk / nk.sum(), new_means, cov)


def incomplete_impute(X, weights, means, covariances, covariance_type):
    """X with each NaN replaced by sum_k p(k | x_o) E[x_m | x_o, k]."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = means.shape
    covs = covariance_matrices(covariances, covariance_type, n_components, n_features)
    _, resp = incomplete_responsibilities(X, weights, means, covariances, covariance_type)
    out = X.copy()
    for rows, miss in _patterns(X):
        if not miss.any():
            continue
        total = np.zeros((rows.size, n_features))
        for k in range(n_components):
            filled, _ = _conditionals(X, means, covs, k, rows, miss)
            total += resp[rows, k, None] * filled
        out[np.ix_(rows, miss)] = total[:, miss]
    return out


def mcar(rng, X, fraction):
    """X (float copy) with ``fraction`` of its values set to NaN completely at
    random, keeping one observed value in every row."""
    X = np.array(X, dtype=np.result_type(X.dtype, np.float32))
    mask = rng.random(X.shape) < fraction
    full_rows = np.flatnonzero(mask.all(axis=1))
    mask[full_rows, rng.integers(X.shape[1], size=full_rows.size)] = False
    X[mask] = np.nan
    return X


# -- mclust's parsimonious models (Celeux & Govaert 1995) --------------------------
#
# Sigma_k = lambda_k D_k A_k D_k^T: the letters of a model name say whether
# volume, shape and orientation are Equal, Variable or the Identity. The
# functions below are written from the paper's definitions: the objective,
# the closed-form M-steps, and, for every model, a direct numerical
# maximisation of the expected complete-data log-likelihood over an
# unconstrained parametrisation (the check of the iterative M-steps).

MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
                 "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
# nMclustParams(model, d, G) printed by R mclust 6.0.0, for (d, G) in
# MCLUST_PARAMS_SHAPES (Rscript -e 'library(mclust); nMclustParams("VEV", 3, 4)').
MCLUST_PARAMS_SHAPES = ((1, 1), (2, 3), (3, 4), (5, 2), (4, 9))
MCLUST_N_PARAMS = {
    "EII": (2, 9, 16, 12, 45), "VII": (2, 11, 19, 13, 53), "EEI": (2, 10, 18, 16, 48),
    "VEI": (2, 12, 21, 17, 56), "EVI": (2, 12, 24, 20, 72), "VVI": (2, 14, 27, 21, 80),
    "EEE": (2, 11, 21, 26, 54), "VEE": (2, 13, 24, 27, 62), "EVE": (2, 13, 27, 30, 78),
    "VVE": (2, 15, 30, 31, 86), "EEV": (2, 13, 30, 36, 102), "VEV": (2, 15, 33, 37, 110),
    "EVV": (2, 15, 36, 40, 126), "VVV": (2, 17, 39, 41, 134),
}
# A closed-form M-step against the formula here: both are a few float64
# operations on the same scatters (eigen-decompositions included).
MCLUST_CLOSED_RTOL = 1e-9
# An M-step's objective -2 Q / (n d) against the numerical optimum: the
# iterative M-steps stop when a sweep gains less than sqrt(eps64) ~ 1.5e-8,
# BFGS at a gradient norm of 1e-10; 1e-6 leaves room for the slow last
# sweeps of the orientation's MM step.
MCLUST_OBJECTIVE_ATOL = 1e-6
# Covariances of an M-step against the numerical optimum, where the optimum
# is well separated (random scatters): BFGS's optimum is ~1e-5 accurate.
MCLUST_OPTIMUM_RTOL = 1e-3
# Q of the new parameters against Q of the previous ones (property test):
# rounding of sums of ~1e3 terms of size ~1.
MCLUST_Q_ATOL = 1e-9


def scatters(X, resp, sample_weight=None, reg_covar=0.0):
    """(nk, means, S): S_k = W_k / n_k + reg_covar I, W_k the weighted scatter
    of component k around its mean, from a dense responsibility matrix."""
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is not None:
        resp = resp * np.asarray(sample_weight, dtype=np.float64)[:, None]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    S = np.empty((nk.shape[0], X.shape[1], X.shape[1]))
    for k in range(nk.shape[0]):
        diff = X - means[k]
        S[k] = (resp[:, k, None] * diff).T @ diff / nk[k] + reg_covar * np.eye(X.shape[1])
    return nk, means, S


def mclust_objective(nk, S, covariances):
    """-2 Q / (n d) up to a constant: sum_k n_k (log|Sigma_k| + tr(Sigma_k^-1 S_k)) / (n d)."""
    sign, logdet = np.linalg.slogdet(covariances)
    if np.any(sign <= 0):
        return np.inf
    traces = np.trace(np.linalg.solve(covariances, S), axis1=1, axis2=2)
    return float(nk @ (logdet + traces)) / (nk.sum() * S.shape[1])


def mclust_closed_form(model, nk, S):
    """The closed-form M-steps (Celeux & Govaert 1995, Table 1), (K, d, d) matrices."""
    K, d = S.shape[:2]
    n = nk.sum()
    W = nk[:, None, None] * S
    eye = np.eye(d)
    if model == "EII":
        return np.array([np.trace(W.sum(axis=0)) / (n * d) * eye] * K)
    if model == "VII":
        return np.array([np.trace(W[k]) / (nk[k] * d) * eye for k in range(K)])
    if model == "EEI":
        return np.array([np.diag(np.diag(W.sum(axis=0))) / n] * K)
    if model == "VVI":
        return np.array([np.diag(np.diag(W[k])) / nk[k] for k in range(K)])
    if model == "EVI":
        dets = [np.prod(np.diag(W[k])) ** (1 / d) for k in range(K)]
        lam = sum(dets) / n
        return np.array([lam * np.diag(np.diag(W[k])) / dets[k] for k in range(K)])
    if model == "EEE":
        return np.array([W.sum(axis=0) / n] * K)
    if model == "VVV":
        return S.copy()
    if model == "EVV":
        dets = [np.linalg.det(W[k]) ** (1 / d) for k in range(K)]
        lam = sum(dets) / n
        return np.array([lam * W[k] / dets[k] for k in range(K)])
    if model == "EEV":
        # W_k = L_k Omega_k L_k^T, eigenvalues in decreasing order.
        decomp = []
        for k in range(K):
            values, vectors = np.linalg.eigh(W[k])
            decomp.append((values[::-1], vectors[:, ::-1]))
        omega = sum(values for values, _ in decomp)
        return np.array([vectors @ np.diag(omega / n) @ vectors.T for _, vectors in decomp])
    raise ValueError(f"{model} has no closed form")


def _rotation(params, d):
    """The orthogonal matrix (I - A)^-1 (I + A) of the skew-symmetric A whose
    upper triangle is ``params`` (Cayley's parametrisation of rotations)."""
    skew = np.zeros((d, d))
    skew[np.triu_indices(d, 1)] = params
    skew = skew - skew.T
    return np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew)


def _mclust_covariances(model, theta, K, d):
    """Sigma_k = lambda_k D_k A_k D_k^T from an unconstrained vector theta:
    log-volumes, log-shapes summing to zero, and orientations (Cayley)."""
    volume, shape, orientation = model
    pos = 0

    def take(count):
        nonlocal pos
        out = theta[pos:pos + count]
        pos += count
        return out

    n_vol = {"E": 1, "V": K, "I": 0}[volume]
    log_vol = take(n_vol)
    log_vol = np.repeat(log_vol, K) if n_vol == 1 else log_vol
    n_shape = {"E": 1, "V": K, "I": 0}[shape]
    shapes = []
    for _ in range(n_shape):
        free = take(d - 1)
        shapes.append(np.append(free, -free.sum()))
    shapes = shapes * K if n_shape == 1 else shapes or [np.zeros(d)] * K
    n_rot = {"E": 1, "V": K, "I": 0}[orientation]
    rots = [_rotation(take(d * (d - 1) // 2), d) for _ in range(n_rot)]
    rots = rots * K if n_rot == 1 else rots or [np.eye(d)] * K
    return np.array([np.exp(log_vol[k]) * rots[k] @ np.diag(np.exp(shapes[k])) @ rots[k].T
                     for k in range(K)])


def _n_theta(model, K, d):
    count = {"E": 1, "V": K, "I": 0}
    return (count[model[0]] + count[model[1]] * (d - 1)
            + count[model[2]] * d * (d - 1) // 2)


def mclust_numerical_m_step(model, nk, S, starts=4, seed=0):
    """The M-step by BFGS on -2 Q / (n d) over the unconstrained
    parametrisation, the best of ``starts`` starts (the first at the
    identity, the others random). Returns (covariances, objective)."""
    from scipy.optimize import minimize
    K, d = S.shape[:2]
    rng = np.random.default_rng(seed)
    n_theta = _n_theta(model, K, d)
    volume0 = np.log(np.trace(S.sum(axis=0)) / (K * d))
    best = None
    for start in range(starts):
        theta0 = np.zeros(n_theta) if start == 0 else rng.normal(scale=0.5, size=n_theta)
        n_vol = {"E": 1, "V": K, "I": 0}[model[0]]
        theta0[:n_vol] += volume0

        def objective(theta):
            return mclust_objective(nk, S, _mclust_covariances(model, theta, K, d))

        result = minimize(objective, theta0, method="BFGS", options={"gtol": 1e-10})
        if best is None or result.fun < best.fun:
            best = result
    return _mclust_covariances(model, best.x, K, d), float(best.fun)


def mclust_random_covariances(rng, model, K, d):
    """Covariances of the structure of ``model``, at random (the property test's
    previous parameters)."""
    theta = rng.normal(scale=0.7, size=_n_theta(model, K, d))
    return _mclust_covariances(model, theta, K, d)
