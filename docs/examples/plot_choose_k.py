"""
Choosing the number of components by BIC
========================================

The log-likelihood of the training data grows with every component added,
so it cannot choose the number of components :math:`K` by itself. The
Bayesian information criterion

.. math:: \\mathrm{BIC} = -2 \\, \\ell(\\hat\\theta) + p \\log n

charges :math:`\\log n` for each of the :math:`p` free parameters; the
model with the lowest BIC is preferred. ``GaussianMixture.bic(X)`` computes
it. This example fits :math:`K = 1, \\dots, 8` components with each
covariance type, in a plain loop, on data drawn from four elongated
clusters, and plots the BIC curves.
"""

import matplotlib.pyplot as plt
import numpy as np

from fastgmm import GaussianMixture

rng = np.random.default_rng(5)
true_k = 4
means = np.array([[0.0, 0.0], [5.0, 4.0], [-4.0, 5.0], [7.0, -3.0]])
covs = [np.array([[1.5, 1.0], [1.0, 1.2]]), np.array([[0.4, -0.2], [-0.2, 1.6]]),
        np.array([[2.0, 0.0], [0.0, 0.3]]), np.array([[0.8, 0.6], [0.6, 0.9]])]
X = np.vstack([rng.multivariate_normal(m, c, 250) for m, c in zip(means, covs)])

# %%
# The loop: every K and every covariance type, three starts each (``n_init``)
# so that a poor local maximum does not distort a curve.
ks = np.arange(1, 9)
covariance_types = ["full", "tied", "diag", "spherical"]
bic = {ct: [] for ct in covariance_types}
for covariance_type in covariance_types:
    for k in ks:
        gm = GaussianMixture(int(k), covariance_type=covariance_type, n_init=3,
                             random_state=0).fit(X)
        bic[covariance_type].append(gm.bic(X))
    bic[covariance_type] = np.array(bic[covariance_type])

best_type = min(covariance_types, key=lambda ct: bic[ct].min())
best_k = int(ks[np.argmin(bic[best_type])])
for covariance_type in covariance_types:
    values = bic[covariance_type]
    print(f"{covariance_type:>9}: lowest BIC {values.min():8.1f} at K={ks[values.argmin()]}")
print(f"chosen: covariance_type='{best_type}', K={best_k} (the data have {true_k} clusters)")

# %%
# One line per covariance type; the circle marks each line's minimum, the
# star the overall choice. A constrained type may need more components than
# there are clusters to describe elongated ones, so its minimum can lie at a
# larger K.
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
for covariance_type, marker in zip(covariance_types, "osD^"):
    values = bic[covariance_type]
    (line,) = ax.plot(ks, values, marker=marker, ms=5, label=covariance_type)
    i = int(values.argmin())
    ax.plot(ks[i], values[i], "o", ms=12, mfc="none", mec=line.get_color(), mew=2)
ax.plot(best_k, bic[best_type].min(), "*", ms=18, color="k",
        label=f"lowest BIC: {best_type}, K={best_k}")
ax.axvline(true_k, color="0.6", ls=":", label=f"true number of clusters ({true_k})")
ax.set_xlabel("number of components K")
ax.set_ylabel("BIC (lower is better)")
ax.set_title(f"BIC against K for each covariance type ({X.shape[0]:,} points, 2 features)")
ax.legend(title="covariance_type")
plt.show()
