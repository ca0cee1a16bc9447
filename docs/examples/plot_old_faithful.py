"""
Old Faithful: clusters and density
==================================

The Old Faithful geyser data (:func:`fastgmm.datasets.load_old_faithful`)
record 272 eruptions: how long each lasted and how long the wait was until
the next one, both in minutes. Short eruptions are followed by short waits
and long ones by long waits, so the data form two groups. A two-component
Gaussian mixture finds them, and its density ``exp(score_samples(x))``
describes the joint distribution of the two times.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from fastgmm import GaussianMixture
from fastgmm.datasets import load_old_faithful

X = load_old_faithful()
gm = GaussianMixture(n_components=2, covariance_type="full", random_state=0).fit(X)
labels = gm.predict(X)

# %%
# The fitted components, shortest eruptions first:
order = np.argsort(gm.means_[:, 0])
for rank, k in enumerate(order):
    sd = np.sqrt(np.diag(gm.covariances_[k]))
    corr = gm.covariances_[k][0, 1] / (sd[0] * sd[1])
    print(f"component {rank}: weight {gm.weights_[k]:.3f}, "
          f"mean eruption {gm.means_[k, 0]:.2f} min (sd {sd[0]:.2f}), "
          f"mean wait {gm.means_[k, 1]:.1f} min (sd {sd[1]:.1f}), "
          f"correlation {corr:.2f}")
print(f"converged in {gm.n_iter_} iterations; "
      f"mean log-likelihood {gm.score(X):.4f} per eruption")

# %%
# The density on a grid
# ---------------------
# ``score_samples`` gives the log-density of each grid point; its
# exponential, in eruptions per (minute of duration x minute of wait), is
# drawn as a heat map with contours. The points are coloured by their
# cluster (``predict``), and the ellipses mark Mahalanobis distance 2 around
# each mean.
xs = np.linspace(1.2, 5.6, 300)
ys = np.linspace(38, 100, 300)
grid = np.array(np.meshgrid(xs, ys)).reshape(2, -1).T
density = np.exp(gm.score_samples(grid)).reshape(len(ys), len(xs))

fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
# The lighter half of "Greys", so that the points stay visible.
light_greys = ListedColormap(plt.get_cmap("Greys")(np.linspace(0.0, 0.55, 256)))
mesh = ax.pcolormesh(xs, ys, density, cmap=light_greys, shading="auto")
ax.contour(xs, ys, density, levels=8, colors="0.45", linewidths=0.6)
fig.colorbar(mesh, ax=ax, label="fitted density (1 / min²)")
cluster_colors = ["tab:blue", "tab:orange"]
names = ["short eruptions", "long eruptions"]
for rank, k in enumerate(order):
    members = labels == k
    ax.scatter(X[members, 0], X[members, 1], s=14, color=cluster_colors[rank],
               edgecolor="black", linewidth=0.3,
               label=f"cluster {rank}: {names[rank]} ({members.sum()} eruptions)")
    values, vectors = np.linalg.eigh(gm.covariances_[k])
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 4.0 * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(gm.means_[k], width, height, angle=angle, fill=False,
                         lw=2, color=cluster_colors[rank]))
ax.plot(gm.means_[:, 0], gm.means_[:, 1], "k+", ms=12, mew=2, label="component means")
ax.set_xlabel("eruption duration (min)")
ax.set_ylabel("waiting time to the next eruption (min)")
ax.set_title("Old Faithful: 2-component Gaussian mixture, full covariances")
handles, _ = ax.get_legend_handles_labels()
handles += [Line2D([], [], color="0.3", lw=2, label="Mahalanobis distance 2 from a mean"),
            Line2D([], [], color="0.45", lw=0.6, label="contours of the fitted density")]
ax.legend(handles=handles, loc="upper left", fontsize="small")
plt.show()
