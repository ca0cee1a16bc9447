"""Kernels of EM for incomplete data: rows with NaN, grouped by missingness pattern.

The driver (``fastgmm._missing``) sorts the incomplete rows by their pattern
of missing values once per fit; pattern ``p`` has ``n_obs[p]`` observed
features, listed first in ``obs_idx[p]`` (ascending), then its missing ones
(ascending). Every component's covariance is handed over as a full
(n_features, n_features) matrix, whatever the covariance model.

Per (pattern, component), once per pass, :func:`missing_factors` writes one
(n_features, n_features) matrix ``F`` in the pattern's order of features
(o = observed, m = missing):

- ``F[:o, :o] = L^-1``, the inverse of the lower Cholesky factor of
  ``Sigma_oo`` (lower triangle; the upper one is zero);
- ``F[o:, :o] = B = Sigma_mo Sigma_oo^-1``, the regression of the missing
  coordinates on the observed ones;
- ``F[o:, o:] = C = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``, their
  conditional covariance;
- ``F[:o, o:]``: scratch, never read;

and ``log_const = log pi_k - o/2 log(2 pi) - log det L``. A row's marginal
log-density is then ``log_const - |L^-1 (x_o - mu_o)|^2 / 2``, its
conditional mean ``E[x_m | x_o, k] = mu_m + B (x_o - mu_o)``.

:func:`missing_pass` accumulates the expected sufficient statistics around
``means`` (the driver's ``ref``), in the original order of features: with
``y = E[x | x_o, k] - mu_k`` (observed coordinates ``x_o - mu_o``),

- ``nk_part[c, k] = sum_i w_i r_ik``
- ``sx_part[c, k] = sum_i w_i r_ik y``
- ``sxx_part[c, k, a, b] = sum_i w_i r_ik (y_a y_b + C_ab)`` (upper
  triangle ``b >= a``; ``C`` zero outside the row's missing features)
- ``loglik_part[c] = sum_i w_i log p(x_o)``

the conditional-covariance term added once per run of rows of the same
pattern in a block, from the sum of their responsibilities. Block ``c`` reads rows
``[row_start + c * chunk_size, ...)`` and writes only row ``c`` of each
``*_part`` array, so results do not depend on the thread count. Values
are computed in float64 whatever X's dtype.
"""

import math

import numpy as np
from numba import njit, prange

from . import FAST_JIT, serial_twin
from .em_pass import _block_posterior, _block_resp

_OPTIONS = FAST_JIT


@njit(parallel=True, **_OPTIONS)
def missing_factors(covariances, log_weights, obs_idx, n_obs, p0, factors, log_const):
    """Per (pattern, component): ``F`` and the log-density constant.

    Parameters
    ----------
    covariances : ndarray of shape (n_components, n_features, n_features), float64
    log_weights : ndarray of shape (n_components,), float64
    obs_idx : ndarray of shape (n_patterns, n_features), int64
        Observed features of each pattern first, then its missing ones.
    n_obs : ndarray of shape (n_patterns,), int64
    p0 : int
        The first pattern of this call; ``factors[q]`` is pattern ``p0 + q``.
    factors : ndarray of shape (n_call_patterns, n_components, n_features, n_features), float64
        Written: ``F`` of the module docstring.
    log_const : ndarray of shape (n_call_patterns, n_components), float64
        Written; NaN where ``Sigma_oo`` is not numerically positive definite.

    Notes
    -----
    Iteration ``t`` of the prange writes only ``factors[t // K, t % K]`` and
    ``log_const[t // K, t % K]``.
    """
    n_pat = factors.shape[0]
    n_components = factors.shape[1]
    n_features = factors.shape[2]
    log2pi = math.log(2.0 * math.pi)
    for t in prange(n_pat * n_components):
        q = t // n_components
        k = t - q * n_components
        p = p0 + q
        o = n_obs[p]
        cov = covariances[k]
        idx = obs_idx[p]
        F = factors[q, k]
        # Everything in place in F, no allocation: Sigma in the pattern's order,
        for a in range(n_features):
            for b in range(n_features):
                F[a, b] = cov[idx[a], idx[b]]
        # then L (Sigma_oo = L L^T) in the lower triangle of F[:o, :o],
        ok = True
        log_det = 0.0
        for j in range(o):
            s = F[j, j]
            for r in range(j):
                s -= F[j, r] * F[j, r]
            if not s > 0.0:
                ok = False
                break
            ljj = math.sqrt(s)
            F[j, j] = ljj
            log_det += math.log(ljj)
            for i in range(j + 1, o):
                s = F[i, j]
                for r in range(j):
                    s -= F[i, r] * F[j, r]
                F[i, j] = s / ljj
        if not ok:
            log_const[q, k] = np.nan
            F[:, :] = 0.0
            continue
        # T = L^-1 Sigma_om in F[:o, o:] (forward substitution),
        for j in range(o, n_features):
            for a in range(o):
                s = F[a, j]
                for b in range(a):
                    s -= F[a, b] * F[b, j]
                F[a, j] = s / F[a, a]
        # C = Sigma_mm - T^T T in F[o:, o:],
        for j in range(o, n_features):
            for jj in range(o, n_features):
                s = F[j, jj]
                for r in range(o):
                    s -= F[r, j] * F[r, jj]
                F[j, jj] = s
        # B = (L^-T T)^T in F[o:, :o] (back substitution),
        for j in range(o, n_features):
            for a in range(o - 1, -1, -1):
                s = F[a, j]
                for b in range(a + 1, o):
                    s -= F[b, a] * F[j, b]
                F[j, a] = s / F[a, a]
        # and L^-1 over L, column by column (column c of L is not read again
        # once column c of the inverse is written), its upper triangle zeroed.
        for col in range(o):
            inv_diag = 1.0 / F[col, col]
            for i in range(col + 1, o):
                s = F[i, col] * inv_diag
                for r in range(col + 1, i):
                    s += F[i, r] * F[r, col]
                F[i, col] = -s / F[i, i]
            F[col, col] = inv_diag
            for b in range(col + 1, o):
                F[col, b] = 0.0
        # F[:o, o:] (T) is never read again.
        log_const[q, k] = log_weights[k] - 0.5 * o * log2pi - log_det


@njit(inline="always")
def _row_log_prob(X, i, idx, o, q, factors, log_const, means, diff, lp):
    """Marginal weighted log-densities of row i (into ``lp``), its centred
    observed values per component (into ``diff``); returns their log-sum-exp."""
    n_components = means.shape[0]
    top = -np.inf
    for k in range(n_components):
        F = factors[q, k]
        for a in range(o):
            diff[k, a] = X[i, idx[a]] - means[k, idx[a]]
        maha = 0.0
        for a in range(o):
            z = 0.0
            for b in range(a + 1):
                z += F[a, b] * diff[k, b]
            maha += z * z
        lp[k] = log_const[q, k] - 0.5 * maha
        if lp[k] > top:
            top = lp[k]
    if top == -np.inf:
        return top
    s = 0.0
    for k in range(n_components):
        s += math.exp(lp[k] - top)
    return top + math.log(s)


@njit(parallel=True, **_OPTIONS)
def missing_pass(X, sample_weight, row_pattern, obs_idx, n_obs, p0, factors, log_const,
                 means, row_start, row_stop, chunk_size,
                 loglik_part, nk_part, sx_part, sxx_part):
    """The fused pass over incomplete rows: log-likelihood and expected statistics.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32 or float64
        Incomplete rows sorted by pattern; NaN where missing (never read).
    sample_weight : ndarray of shape (n_rows,) or (0,), float64
    row_pattern : ndarray of shape (n_rows,), int64
        Pattern of each row; those of rows [row_start, row_stop) lie in
        ``[p0, p0 + factors.shape[0])``.
    obs_idx, n_obs, p0, factors, log_const : see :func:`missing_factors`
    means : ndarray of shape (n_components, n_features), float64
        The centres of the statistics (the means scored with).
    row_start, row_stop, chunk_size : int
    loglik_part : ndarray of shape (n_blocks,), float64
    nk_part : ndarray of shape (n_blocks, n_components), float64
    sx_part : ndarray of shape (n_blocks, n_components, n_features), float64
    sxx_part : ndarray of shape (n_blocks, n_components, n_features, n_features), float64
        All written (see the module docstring).

    Notes
    -----
    Block ``c`` reads rows ``[row_start + c * chunk_size, ...)`` and writes
    only row ``c`` of each ``*_part`` array. Within a block, each run of
    rows of one pattern is processed feature by feature over its rows
    (scratch laid out (feature, row)), so the inner loops run over rows and
    vectorise.
    """
    n_blocks = loglik_part.shape[0]
    n_components, n_features = means.shape
    weighted = sample_weight.shape[0] > 0
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        stop = min(start + chunk_size, row_stop)
        D = np.empty((n_components, n_features, chunk_size))
        lp = np.empty((n_components, chunk_size))
        Y = np.empty((n_features, chunk_size))
        lse = np.empty(chunk_size)
        w = np.empty(chunk_size)
        r = np.empty(chunk_size)
        tmp = np.empty(chunk_size)
        inv_total = np.empty(chunk_size)
        nk = nk_part[c]
        sx = sx_part[c]
        sxx = sxx_part[c]
        nk[:] = 0.0
        sx[:, :] = 0.0
        sxx[:, :, :] = 0.0
        loglik = 0.0
        run = start
        while run < stop:
            p = row_pattern[run]
            run_stop = run + 1
            while run_stop < stop and row_pattern[run_stop] == p:
                run_stop += 1
            n = run_stop - run
            q = p - p0
            o = n_obs[p]
            idx = obs_idx[p]
            for i in range(n):
                w[i] = sample_weight[run + i] if weighted else 1.0
            # Marginal log-densities: |L^-1 (x_o - mu_o)|^2 per component.
            for k in range(n_components):
                F = factors[q, k]
                for a in range(o):
                    col = idx[a]
                    mu = means[k, col]
                    for i in range(n):
                        D[k, a, i] = X[run + i, col] - mu
                for i in range(n):
                    lp[k, i] = 0.0
                for a in range(o):
                    for i in range(n):
                        tmp[i] = 0.0
                    for b in range(a + 1):
                        f = F[a, b]
                        for i in range(n):
                            tmp[i] += f * D[k, b, i]
                    for i in range(n):
                        lp[k, i] += tmp[i] * tmp[i]
                const = log_const[q, k]
                for i in range(n):
                    lp[k, i] = const - 0.5 * lp[k, i]
            # The complete rows' E-step on the marginal log-densities: lp
            # becomes unnormalised responsibilities, inv_total their inverse sums;
            # a row whose densities all underflow adds -inf, which the
            # driver reports.
            # np.bool_(False), not False: the fused pass calls the same helper
            # with a runtime bool, and a literal would compile it a second time.
            loglik += _block_posterior(lp, n, np.bool_(False), w, not weighted, lse,
                                       inv_total)
            # Expected statistics, per component.
            for k in range(n_components):
                F = factors[q, k]
                _block_resp(lp, k, n, inv_total, r)
                total = 0.0
                for i in range(n):
                    total += r[i]
                if not total > 0.0:
                    continue
                nk[k] += total
                for a in range(o):
                    col = idx[a]
                    for i in range(n):
                        Y[col, i] = D[k, a, i]
                for j in range(o, n_features):
                    col = idx[j]
                    for i in range(n):
                        tmp[i] = 0.0
                    for b in range(o):
                        f = F[j, b]
                        for i in range(n):
                            tmp[i] += f * D[k, b, i]
                    for i in range(n):
                        Y[col, i] = tmp[i]
                for a in range(n_features):
                    for i in range(n):
                        tmp[i] = r[i] * Y[a, i]
                    s = 0.0
                    for i in range(n):
                        s += tmp[i]
                    sx[k, a] += s
                    for b in range(a, n_features):
                        s = 0.0
                        for i in range(n):
                            s += tmp[i] * Y[b, i]
                        sxx[k, a, b] += s
                # The conditional covariance, once for the run.
                for j in range(o, n_features):
                    ca = idx[j]
                    for jj in range(o, n_features):
                        cb = idx[jj]
                        if ca <= cb:
                            sxx[k, ca, cb] += total * F[j, jj]
            run = run_stop
        loglik_part[c] = loglik


@njit(parallel=True, **_OPTIONS)
def missing_score(X, row_pattern, obs_idx, n_obs, p0, factors, log_const, means,
                  row_start, row_stop, chunk_size, log_norm, resp, imputed):
    """Per-row outputs for incomplete rows: log p(x_o), responsibilities, imputed rows.

    Parameters
    ----------
    X, row_pattern, obs_idx, n_obs, p0, factors, log_const : see :func:`missing_pass`
    means : ndarray of shape (n_components, n_features), float64
    row_start, row_stop, chunk_size : int
    log_norm : ndarray of shape (n_rows,), float64
        Written for rows [row_start, row_stop): the marginal log-likelihood
        (-inf where every density underflows).
    resp : ndarray of shape (n_rows, n_components) or (0, n_components), float64
        Written when not empty: the responsibilities (0 for a row of log p -inf).
    imputed : ndarray of shape (n_rows, n_features) or (0, n_features), float64
        Written when not empty: the row with each missing value replaced by
        ``sum_k r_k E[x_m | x_o, k]``.

    Notes
    -----
    Block ``c`` reads and writes only rows ``[row_start + c * chunk_size, ...)``.
    """
    n_components, n_features = means.shape
    n_blocks = -(-(row_stop - row_start) // chunk_size)
    want_resp = resp.shape[0] > 0
    want_imputed = imputed.shape[0] > 0
    for c in prange(n_blocks):
        start = row_start + c * chunk_size
        stop = min(start + chunk_size, row_stop)
        diff = np.empty((n_components, n_features))
        lp = np.empty(n_components)
        for i in range(start, stop):
            p = row_pattern[i]
            q = p - p0
            o = n_obs[p]
            idx = obs_idx[p]
            lse = _row_log_prob(X, i, idx, o, q, factors, log_const, means, diff, lp)
            log_norm[i] = lse
            finite = lse > -np.inf
            if want_resp:
                for k in range(n_components):
                    resp[i, k] = math.exp(lp[k] - lse) if finite else 0.0
            if want_imputed:
                for a in range(o):
                    imputed[i, idx[a]] = X[i, idx[a]]
                for j in range(o, n_features):
                    imputed[i, idx[j]] = 0.0
                for k in range(n_components):
                    r = math.exp(lp[k] - lse) if finite else 0.0
                    if not r > 0.0:
                        continue
                    F = factors[q, k]
                    for j in range(o, n_features):
                        e = means[k, idx[j]]
                        for b in range(o):
                            e += F[j, b] * diff[k, b]
                        imputed[i, idx[j]] += r * e


missing_factors_serial = serial_twin(missing_factors, **_OPTIONS)
missing_pass_serial = serial_twin(missing_pass, **_OPTIONS)
missing_score_serial = serial_twin(missing_score, **_OPTIONS)
