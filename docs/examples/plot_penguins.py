"""
Penguins: clusters against species
==================================

The Palmer penguins data (:func:`fastgmm.datasets.load_penguins`) give four
measurements of penguins of three species. A mixture fitted without the
species labels finds groups; how well they match the species is measured
by the adjusted Rand index (ARI: 1 for a perfect match up to renaming the
clusters, about 0 for a random labelling) and shown as a confusion table.
k-means is fitted on the same data for comparison.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, confusion_matrix

from fastgmm import GaussianMixture, KMeans
from fastgmm.datasets import load_penguins

X, y, feature_names, target_names = load_penguins()
print(f"{X.shape[0]} penguins, features {feature_names}")
print("per species:", dict(zip(target_names, np.bincount(y).tolist())))

# %%
# The measurements are in millimetres and grams, of very different ranges:
# standardise them so that no feature dominates by its units alone.
Z = (X - X.mean(axis=0)) / X.std(axis=0)

gm = GaussianMixture(n_components=3, covariance_type="full", n_init=5,
                     random_state=0).fit(Z)
gm_labels = gm.predict(Z)
km_labels = KMeans(n_clusters=3, n_init=5, random_state=0).fit_predict(Z)

ari_gm = adjusted_rand_score(y, gm_labels)
ari_km = adjusted_rand_score(y, km_labels)
print(f"adjusted Rand index, Gaussian mixture (full): {ari_gm:.3f}")
print(f"adjusted Rand index, k-means:                 {ari_km:.3f}")


# %%
# Confusion tables
# ----------------
# Cluster numbers are arbitrary; each cluster is named after the species it
# overlaps most (an optimal one-to-one matching), so that a perfect
# clustering would give a diagonal table.
def matched(labels):
    """Relabel clusters so that cluster j is the best match of species j."""
    table = confusion_matrix(y, labels)
    _, cluster_of_species = linear_sum_assignment(-table)
    mapping = np.empty_like(cluster_of_species)
    mapping[cluster_of_species] = np.arange(len(cluster_of_species))
    return mapping[labels]


tables = {
    f"Gaussian mixture, ARI {ari_gm:.3f}": confusion_matrix(y, matched(gm_labels)),
    f"k-means, ARI {ari_km:.3f}": confusion_matrix(y, matched(km_labels)),
}
for title, table in tables.items():
    print(title)
    print("species \\ cluster " + " ".join(f"{name:>10}" for name in target_names))
    for name, row in zip(target_names, table):
        print(f"{name:>17} " + " ".join(f"{v:>10d}" for v in row))

# %%
# Left, the species; middle and right, the clusters, on two of the four
# measurements. Right of those, the confusion tables.
fig = plt.figure(figsize=(13, 8.2), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])
axes = top.subplots(1, 3, sharex=True, sharey=True)
colors = np.array(["tab:blue", "tab:orange", "tab:green"])
fx, fy = 2, 0  # flipper length, bill length
panels = [("species (ground truth)", y), ("Gaussian mixture clusters", matched(gm_labels)),
          ("k-means clusters", matched(km_labels))]
for ax, (title, labels) in zip(axes, panels):
    for j, name in enumerate(target_names):
        members = labels == j
        what = name if title.startswith("species") else f"cluster ~ {name}"
        ax.scatter(X[members, fx], X[members, fy], s=10, color=colors[j], label=what,
                   alpha=0.8)
    ax.set_title(title)
    ax.set_xlabel("flipper length (mm)")
    ax.legend(fontsize="small", loc="lower right")
axes[0].set_ylabel("bill length (mm)")

table_axes = bottom.subplots(1, 2)
for ax, (title, table) in zip(table_axes, tables.items()):
    ax.imshow(table, cmap="Blues")
    for (i, j), v in np.ndenumerate(table):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > table.max() / 2 else "black")
    ax.set_xticks(range(3), [f"~ {n}" for n in target_names])
    ax.set_yticks(range(3), target_names)
    ax.set_xlabel("cluster (named after its best-matching species)")
    ax.set_ylabel("species")
    ax.set_title(f"{title}: penguins per species and cluster")
fig.suptitle("Palmer penguins: 3-component clusterings of the 4 standardised "
             "measurements")
plt.show()
