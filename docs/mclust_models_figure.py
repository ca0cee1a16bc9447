"""Draw the 14 covariance patterns of mclust's models into
``docs/_static/mclust_models.png`` (run from the repository root:
``python docs/mclust_models_figure.py``).

Each panel shows three components' ellipses (the contour at two standard
deviations) of ``Sigma_k = lambda_k D_k A_k D_k^T``, the volume, shape and
orientation Equal across components, Variable, or the Identity, as the
model's three letters say.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
          "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
CENTRES = np.array([[-2.2, 0.0], [0.0, 2.3], [2.2, 0.0]])
VOLUMES = {"E": [1.0, 1.0, 1.0], "V": [0.45, 1.0, 1.7], "I": [1.0, 1.0, 1.0]}
SHAPES = {"I": [(1.0, 1.0)] * 3, "E": [(2.2, 1 / 2.2)] * 3,
          "V": [(2.2, 1 / 2.2), (1.3, 1 / 1.3), (3.5, 1 / 3.5)]}
ANGLES = {"I": [0.0] * 3, "E": [30.0] * 3, "V": [0.0, 60.0, 125.0]}
COLOURS = ("tab:blue", "tab:orange", "tab:green")


def main(path=pathlib.Path(__file__).parent / "_static" / "mclust_models.png"):
    fig, axes = plt.subplots(2, 7, figsize=(14, 4.4))
    for ax, model in zip(axes.flat, MODELS):
        volume, shape, orientation = model
        for k in range(3):
            a, b = SHAPES[shape][k]
            lam = VOLUMES[volume][k]
            # Semi-axes: 2 standard deviations, sqrt(lambda a_i).
            width, height = (2 * 2 * np.sqrt(lam * v) * 0.5 for v in (a, b))
            ax.add_patch(Ellipse(CENTRES[k], width, height, angle=ANGLES[orientation][k],
                                 facecolor=COLOURS[k], alpha=0.35, edgecolor=COLOURS[k], lw=1.5))
            ax.plot(*CENTRES[k], "+", color=COLOURS[k])
        ax.set_xlim(-4.6, 4.6)
        ax.set_ylim(-2.9, 4.9)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(model, fontsize=12, family="monospace")
    fig.suptitle("Sigma_k = lambda_k D_k A_k D_k^T: volume, shape, orientation "
                 "(E equal, V variable, I identity)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
