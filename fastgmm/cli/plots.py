"""The demo's figure (matplotlib, imported only when a figure is asked for)."""

import math
import os

import numpy as np

from .messages import CLIError, UsageError, fit_collecting_warnings
from .report import covariance_matrices


def require_matplotlib(plot_path):
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed "
            "(pip install matplotlib, or pip install 'fastgmm[plot]')"
        ) from None
    suffix = os.path.splitext(plot_path)[1].lower().lstrip(".")
    supported = FigureCanvasBase.get_supported_filetypes()
    if suffix not in supported:
        raise UsageError(
            f"--plot {plot_path}: unsupported image type {suffix or '(none)'!r}; "
            f"use one of {', '.join('.' + s for s in sorted(supported))}"
        )


def _ellipse(mean, cov, n_std, **kwargs):
    """A matplotlib Ellipse covering `n_std` standard deviations of a 2-D Gaussian."""
    from matplotlib.patches import Ellipse

    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    major = eigenvectors[:, 1]
    angle = math.degrees(math.atan2(major[1], major[0]))
    width, height = 2 * n_std * np.sqrt(np.maximum(eigenvalues[::-1], 0.0))
    return Ellipse(mean, width, height, angle=angle, fill=False, **kwargs)


def plot_demo(path, X, model, estimator, params):
    """Data, component ellipses at several EM iterations, density contours."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    last = model.n_iter_
    iterations = sorted({i for i in (1, 2, 3, 5) if i < last} | {last})
    snapshots = []
    for n_iter in iterations[:-1]:
        # Same random_state, same initialisation: EM stopped after n_iter steps.
        partial = estimator(**params, max_iter=n_iter)
        fit_collecting_warnings(partial, X)
        snapshots.append((n_iter, partial))
    snapshots.append((last, model))

    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(X[:, 0], X[:, 1], s=12, color="0.35", alpha=0.6, linewidths=0)

    pad_x, pad_y = 0.15 * np.ptp(X[:, 0]), 0.15 * np.ptp(X[:, 1])
    xs = np.linspace(X[:, 0].min() - pad_x, X[:, 0].max() + pad_x, 200)
    ys = np.linspace(X[:, 1].min() - pad_y, X[:, 1].max() + pad_y, 200)
    xx, yy = np.meshgrid(xs, ys)
    density = np.exp(model.score_samples(np.column_stack([xx.ravel(), yy.ravel()])))
    contour_color = "tab:blue"
    ax.contour(xx, yy, density.reshape(xx.shape), levels=8, colors=contour_color,
               linewidths=0.7, alpha=0.6)

    from matplotlib import colormaps

    cmap = colormaps["plasma"]
    handles = [
        Line2D([], [], ls="none", marker="o", ms=4, color="0.35", alpha=0.6,
               label=f"eruptions (n={X.shape[0]})"),
        Line2D([], [], color=contour_color, lw=0.7, alpha=0.6,
               label="density of the fitted mixture"),
    ]
    for i, (n_iter, snapshot) in enumerate(snapshots):
        final = i == len(snapshots) - 1
        color = cmap(0.85 * i / max(1, len(snapshots) - 1))
        style = dict(color=color, lw=2.2 if final else 1.2, ls="-" if final else "--")
        for mean, cov in zip(snapshot.means_, covariance_matrices(snapshot)):
            ax.add_patch(_ellipse(mean, cov, 2.0, edgecolor=color, lw=style["lw"], ls=style["ls"]))
        ax.plot(snapshot.means_[:, 0], snapshot.means_[:, 1], ls="none", marker="x",
                color=color, ms=7 if final else 5)
        label = f"2\u03c3 ellipses, iteration {n_iter}" + (" (final)" if final else "")
        handles.append(Line2D([], [], marker="x", **style, label=label))

    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_title("Old Faithful: EM fit of a 2-component Gaussian mixture (fastgmm)")
    ax.set_xlabel("eruption duration (min)")
    ax.set_ylabel("waiting time to the next eruption (min)")
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    fig.savefig(path, dpi=120)
