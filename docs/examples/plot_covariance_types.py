"""
The four covariance types
=========================

``covariance_type`` constrains the shape of the components:

* ``'full'``: each component its own covariance matrix (any ellipse);
* ``'tied'``: one covariance matrix shared by all components (the same
  ellipse, moved);
* ``'diag'``: each component its own diagonal covariance (ellipses aligned
  with the axes);
* ``'spherical'``: each component a single variance (circles).

The data below have three clusters of different sizes and orientations.
Each panel is a fit with one covariance type, from the same k-means start;
its title gives the number of free parameters and the BIC (lower is better).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from fastgmm import GaussianMixture

rng = np.random.default_rng(3)
clusters = [
    (np.array([0.0, 0.0]), np.array([[2.0, 1.6], [1.6, 2.0]]), 300),
    (np.array([6.0, 1.0]), np.array([[0.3, 0.0], [0.0, 0.3]]), 150),
    (np.array([3.0, 6.0]), np.array([[2.5, -0.8], [-0.8, 0.6]]), 250),
]
X = np.vstack([rng.multivariate_normal(m, c, n) for m, c, n in clusters])
truth = np.repeat(np.arange(3), [n for _, _, n in clusters])


def covariance_matrices(gm):
    """Full (K, d, d) covariance matrices of any covariance type."""
    k, d = gm.means_.shape
    cov = gm.covariances_
    if gm.covariance_type == "full":
        return cov
    if gm.covariance_type == "tied":
        return np.repeat(cov[None], k, axis=0)
    if gm.covariance_type == "diag":
        return np.array([np.diag(c) for c in cov])
    return np.array([c * np.eye(d) for c in cov])


def n_parameters(gm, X):
    # bic - aic = p (log n - 2)
    return round((gm.bic(X) - gm.aic(X)) / (np.log(X.shape[0]) - 2))


colors = ["tab:blue", "tab:orange", "tab:green"]
fig, axes = plt.subplots(1, 4, figsize=(15, 5), sharex=True, sharey=True,
                         layout="constrained")
for ax, covariance_type in zip(axes, ["full", "tied", "diag", "spherical"]):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    labels = gm.predict(X)
    print(f"{covariance_type:>9}: {n_parameters(gm, X):2d} parameters, "
          f"BIC {gm.bic(X):8.1f}, {gm.n_iter_:2d} iterations")
    for k, (mean, cov) in enumerate(zip(gm.means_, covariance_matrices(gm))):
        ax.scatter(*X[labels == k].T, s=4, color=colors[k], alpha=0.5)
        values, vectors = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
        width, height = 4.0 * np.sqrt(values[::-1])
        ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, lw=2,
                             color=colors[k]))
        ax.plot(*mean, "k+", ms=9, mew=2)
    ax.set_title(f"covariance_type='{covariance_type}'\n"
                 f"{n_parameters(gm, X)} parameters, BIC {gm.bic(X):.1f}", fontsize=10)
    ax.set_xlabel("feature 1 (arbitrary units)")
axes[0].set_ylabel("feature 2 (arbitrary units)")
fig.suptitle("One data set, four covariance types: clusters and Mahalanobis-distance-2 "
             "ellipses (+ = means)")
plt.show()

# %%
# ``'full'`` describes each cluster's own orientation. ``'tied'`` forces one
# shape on all three, ``'diag'`` cannot tilt its ellipses, and
# ``'spherical'`` can only draw circles: where a cluster's shape differs from
# what the type allows, its ellipse covers it loosely, and points between
# clusters can go to the wrong one. The BIC weighs
# this misfit against the extra parameters of ``'full'``; the example
# :ref:`sphx_glr_auto_examples_plot_choose_k.py` uses it to choose both the
# type and the number of components.
