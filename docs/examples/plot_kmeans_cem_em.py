"""
k-means, classification EM and EM
=================================

Three ways to fit clusters, from the most to the least constrained:

* **k-means** (:class:`fastgmm.KMeans`): each point goes to the nearest
  centre. It is classification EM with one fixed spherical covariance shared
  by all clusters and equal weights, so it favours round clusters of equal
  size.
* **classification EM** (``GaussianMixture(assignment='hard')``): each point
  goes wholly to its most probable component, whose weight, mean and full
  covariance are then refitted to its points.
* **EM** (``GaussianMixture()``, ``assignment='soft'``): each point is
  shared among the components in proportion to its responsibilities.

Both mixtures start from the same k-means labels (``init_params='kmeans'``,
``random_state=0``), the labels of the k-means fit in the first panel.
The data: a broad cluster and a small, tight one beside it.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from sklearn.metrics import adjusted_rand_score

from fastgmm import GaussianMixture, KMeans

rng = np.random.default_rng(7)
true_means = np.array([[0.0, 0.0], [3.2, 0.0]])
true_covs = np.array([[[2.2, 0.0], [0.0, 2.2]], [[0.15, 0.0], [0.0, 0.6]]])
sizes = [700, 200]
X = np.vstack([rng.multivariate_normal(m, c, n)
               for m, c, n in zip(true_means, true_covs, sizes)])
truth = np.repeat([0, 1], sizes)

# %%
# The three fits
# --------------
km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
cem = GaussianMixture(2, assignment="hard", random_state=0).fit(X)
em = GaussianMixture(2, assignment="soft", random_state=0).fit(X)


def aligned(labels, means):
    """Labels renumbered so that cluster 0 is the one nearer the broad cluster."""
    broad = int(np.argmin(np.linalg.norm(means - true_means[0], axis=1)))
    return labels if broad == 0 else 1 - labels


fits = [
    ("k-means", aligned(km.labels_, km.cluster_centers_), km.cluster_centers_, None,
     km.n_iter_),
    ("classification EM (assignment='hard')", aligned(cem.predict(X), cem.means_),
     cem.means_, cem, cem.n_iter_),
    ("EM (assignment='soft')", aligned(em.predict(X), em.means_), em.means_, em,
     em.n_iter_),
]

# %%
# How well each recovers the two clusters: the adjusted Rand index against
# the true labels, and, for the mixtures, the fitted standard deviations of
# the tight cluster (true: ``sqrt(diag(true_covs[1]))``). Classification EM
# fits each covariance to the points on its own side of the decision
# boundary only; EM counts every point in proportion to its
# responsibilities. Where clusters overlap, the two estimates differ.
print(f"{'':40} {'iterations':>10} {'ARI':>6}   sd of the tight cluster (x, y)")
print(f"{'truth':40} {'':>10} {'':>6}   {np.sqrt(np.diag(true_covs[1])).round(3)}")
for name, labels, means, model, n_iter in fits:
    line = f"{name:40} {n_iter:>10} {adjusted_rand_score(truth, labels):6.3f}"
    if model is not None:
        tight = int(np.argmin(np.linalg.norm(means - true_means[1], axis=1)))
        line += f"   {np.sqrt(np.diag(model.covariances_[tight])).round(3)}"
    print(line)

# %%
# The clusters (colours), the decision boundary (green line) and, for the
# mixtures, the Mahalanobis-distance-2 ellipses. In the EM panel, the
# colour of each point shows its responsibility for the tight component.
xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 300)
ys = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 300)
grid = np.array(np.meshgrid(xs, ys)).reshape(2, -1).T
colors = np.array(["tab:blue", "tab:orange"])

fig, axes = plt.subplots(1, 3, figsize=(15, 5.4), sharex=True, sharey=True,
                         layout="constrained")
for ax, (name, labels, means, model, n_iter) in zip(axes, fits):
    predictor = km if model is None else model
    grid_labels = aligned(predictor.predict(grid), means).reshape(len(ys), len(xs))
    ax.contour(xs, ys, grid_labels, levels=[0.5], colors="tab:green", linewidths=2)
    if model is em:
        tight = int(np.argmin(np.linalg.norm(means - true_means[1], axis=1)))
        resp = em.predict_proba(X)[:, tight]
        points = ax.scatter(*X.T, s=6, c=resp, cmap="coolwarm", vmin=0, vmax=1)
        fig.colorbar(points, ax=ax, label="responsibility of the tight component")
    else:
        for j, label in enumerate(["broad", "tight"]):
            ax.scatter(*X[labels == j].T, s=6, color=colors[j],
                       label=f"cluster: {label} ({np.sum(labels == j)} points)")
        ax.legend(loc="upper left", fontsize="small")
    if model is not None:
        for mean, cov in zip(model.means_, model.covariances_):
            values, vectors = np.linalg.eigh(cov)
            angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
            width, height = 4.0 * np.sqrt(values[::-1])
            ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, lw=2,
                                 color="k", ls="--"))
    ax.plot(*means.T, "k+", ms=12, mew=2)
    ax.set_title(f"{name}\n{n_iter} iterations, ARI "
                 f"{adjusted_rand_score(truth, labels):.3f}", fontsize=11)
    ax.set_xlabel("feature 1 (arbitrary units)")
axes[0].set_ylabel("feature 2 (arbitrary units)")
fig.suptitle(f"A broad cluster ({sizes[0]} points) beside a tight one ({sizes[1]}): "
             "k-means vs classification EM vs EM\n(+ = means, dashed = Mahalanobis distance 2, "
             "green = decision boundary)")
plt.show()
