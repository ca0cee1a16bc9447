"""
EM step by step
===============

EM alternates two steps: the E-step gives every point its responsibilities
(the posterior probability of each component), and the M-step refits each
component to all the points, weighted by those responsibilities. This
example draws a three-component mixture in two dimensions and shows the
components, as 2-sigma ellipses, after iterations 1, 2, 3, 4, 5, 6 and 20
of EM from one deliberately poor start.

Each panel is a separate fit from the *same* start: ``weights_init``,
``means_init`` and ``precisions_init`` fix it, ``max_iter=i`` stops after
``i`` iterations and ``tol=0`` keeps EM from stopping earlier. The panel
"start" is ``max_iter=0``, the start itself.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from fastgmm import GaussianMixture
from fastgmm.exceptions import ConvergenceWarning

# %%
# Data: three Gaussian clusters of different shapes
# --------------------------------------------------
rng = np.random.default_rng(0)
true_means = np.array([[0.0, 0.0], [4.0, 4.0], [5.0, -1.0]])
true_covs = np.array([
    [[1.0, 0.6], [0.6, 1.0]],
    [[0.6, -0.3], [-0.3, 0.8]],
    [[1.2, 0.0], [0.0, 0.3]],
])
sizes = [300, 200, 150]
X = np.vstack([rng.multivariate_normal(m, c, n)
               for m, c, n in zip(true_means, true_covs, sizes)])

# %%
# A poor start: three means close together near the middle of the data, and
# broad unit-variance components with equal weights.
start = dict(
    weights_init=np.full(3, 1 / 3),
    means_init=np.array([[2.0, 1.0], [2.5, 1.5], [3.0, 1.0]]),
    precisions_init=np.repeat(np.eye(2)[None], 3, axis=0),
)


def fit_after(n_iter):
    """The mixture after ``n_iter`` EM iterations from ``start``."""
    gm = GaussianMixture(3, covariance_type="full", tol=0.0, max_iter=n_iter, **start)
    with warnings.catch_warnings():
        # tol=0 never converges: each fit would warn.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.fit(X)


steps = [0, 1, 2, 3, 4, 5, 6, 20]
fits = {n: fit_after(n) for n in steps}


# %%
# The fits, iteration by iteration
# --------------------------------
# Points are coloured by the component with the largest responsibility.
# Each ellipse is the set of points at Mahalanobis distance 2 from its
# component's mean (2 standard deviations along each principal axis); its
# line width grows with the component's weight.

colors = np.array(["tab:blue", "tab:orange", "tab:green"])


def draw_ellipses(ax, gm):
    for k, (mean, cov) in enumerate(zip(gm.means_, gm.covariances_)):
        values, vectors = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
        width, height = 2 * 2.0 * np.sqrt(values[::-1])
        ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False,
                             color=colors[k], lw=1 + 6 * gm.weights_[k]))
        ax.plot(*mean, marker="x", color="k", ms=6, mew=2)


fig, axes = plt.subplots(2, 4, figsize=(13, 6.8), sharex=True, sharey=True,
                         layout="constrained")
for ax, n_iter in zip(axes.flat, steps):
    gm = fits[n_iter]
    ax.scatter(X[:, 0], X[:, 1], s=4, c=colors[gm.predict(X)], alpha=0.45)
    draw_ellipses(ax, gm)
    label = "start" if n_iter == 0 else f"after iteration {n_iter}"
    ax.set_title(f"{label}\nlog-likelihood {gm.score(X):.3f} / point", fontsize=10)
    ax.set_aspect("equal")
for ax in axes[1]:
    ax.set_xlabel("feature 1 (arbitrary units)")
for ax in axes[:, 0]:
    ax.set_ylabel("feature 2 (arbitrary units)")
fig.suptitle("EM on a 3-component mixture: 2-sigma ellipses after each iteration "
             "(× = means)")
plt.show()

# %%
# The mean log-likelihood per point of the parameters in each panel rises at
# every iteration, quickly at first, then slowly as the components settle:
for n_iter in steps:
    print(f"after {n_iter:2d} iterations: {fits[n_iter].score(X):.6f}")
