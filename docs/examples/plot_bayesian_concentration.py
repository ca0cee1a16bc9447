"""
How many components? A Dirichlet process against BIC
====================================================

:class:`fastgmm.BayesianGaussianMixture` fits a mixture with *at most*
``n_components`` components: a Dirichlet-process prior on the weights lets
the variational fit give the components the data do not need weights near
zero, so one fit answers "how many clusters?" that a BIC sweep over the
number of components (:func:`fastgmm.select_model`) answers with many fits.

The concentration prior ``weight_concentration_prior`` (gamma) sets how
readily new components are used: small values switch the unneeded ones
off, large values spread the weight over more of them. Here, on the Old
Faithful eruptions (:func:`fastgmm.datasets.load_old_faithful`, standardised),
ten components are offered and gamma goes from 1e-3 to 1e3; the BIC choice
of ``select_model`` is shown beside the weights.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from fastgmm import BayesianGaussianMixture, select_model
from fastgmm.datasets import load_old_faithful

X = load_old_faithful()
X = (X - X.mean(axis=0)) / X.std(axis=0)

# %%
# The BIC choice
# --------------
# One Gaussian mixture per number of components (1 to 10), full covariances,
# each started as the variational fits below are (from random rows of X).
selection = select_model(X, n_components=range(1, 11), covariance_types="full",
                         init_params="random_from_data", random_state=0)
bic_k = selection.best_params_["n_components"]
print(f"BIC chooses {bic_k} components")

# %%
# One variational fit per prior
# -----------------------------
# Ten components offered each time, the same start; the two kinds of weight
# prior (a Dirichlet process, and a Dirichlet distribution over ten weights)
# at three concentrations. ``mean_precision_prior`` is small, so the means
# are not pulled towards the centre of the data.
concentrations = [1e-3, 1.0, 1e3]
prior_types = ["dirichlet_process", "dirichlet_distribution"]
fits = {}
for prior_type in prior_types:
    for gamma in concentrations:
        bgm = BayesianGaussianMixture(
            n_components=10, weight_concentration_prior_type=prior_type,
            weight_concentration_prior=gamma, mean_precision_prior=1e-2,
            covariance_type="full", max_iter=1000, random_state=2,
            init_params="random_from_data").fit(X)
        fits[prior_type, gamma] = bgm
        print(f"{prior_type}, gamma = {gamma:g}: {int(np.sum(bgm.weights_ > 0.01))} "
              f"components above 1% weight ({bgm.n_iter_} iterations)")

# %%
# The weights
# -----------
# The weight of each of the ten components, sorted, with the number of
# components BIC chooses as a dashed line. With the Dirichlet process the
# unneeded components keep only about their share of the prior whatever
# gamma is; with the Dirichlet distribution a large gamma forces equal
# weights on all ten components (the prior then outweighs the 272 eruptions).
fig, axes = plt.subplots(len(prior_types), len(concentrations), figsize=(11, 6),
                         layout="constrained", sharey=True)
for row, prior_type in enumerate(prior_types):
    for col, gamma in enumerate(concentrations):
        weights = np.sort(fits[prior_type, gamma].weights_)[::-1]
        ax = axes[row, col]
        ax.bar(np.arange(1, 11), weights, color="tab:blue")
        ax.axvline(bic_k + 0.5, color="tab:red", linestyle="--", label=f"BIC: {bic_k}")
        ax.set_title(f"{prior_type}, gamma = {gamma:g}", fontsize=10)
        ax.set_xticks(range(1, 11))
        if row == 1:
            ax.set_xlabel("component (by weight)")
        if col == 0:
            ax.set_ylabel("weight")
axes[0, 0].legend()
plt.show()

# %%
# The clusters
# ------------
# The BIC model and the Dirichlet-process fit with gamma = 1e-3, with the
# components above 1 % weight as ellipses at Mahalanobis distance 2 (from
# ``covariances_``; for the variational fit the inverse of the expected
# precision).
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained", sharey=True)
models = [(selection.best_, f"GaussianMixture chosen by BIC ({bic_k} components)"),
          (fits["dirichlet_process", 1e-3], "BayesianGaussianMixture, 10 offered")]
for ax, (model, title) in zip(axes, models):
    ax.scatter(X[:, 0], X[:, 1], s=6, c=model.predict(X), cmap="tab10", vmin=0, vmax=9)
    for k in np.flatnonzero(model.weights_ > 0.01):
        values, vectors = np.linalg.eigh(model.covariances_[k])
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        ax.add_patch(Ellipse(model.means_[k], *(4 * np.sqrt(values[::-1])), angle=angle,
                             fill=False, color="k", linewidth=1.2))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("eruption (standardised)")
axes[0].set_ylabel("wait (standardised)")
plt.show()

# %%
# One variational fit with a Dirichlet-process prior keeps two large
# clusters, as BIC does, plus a small third component (about 5 % of the
# eruptions) that BIC's penalty leaves out; the other seven are switched
# off. The BIC choice took ten fits.
