"""The fitted components of a model as a readable table.

The table depends on the covariance type only through the covariance-model
registry: whether one covariance is shared by all components, and each
component's covariance as a matrix. The rows of a covariance follow the
shape it is stored in: a matrix, one variance per feature, or one variance
for every feature.
"""

import numpy as np

from .. import _covariance

# Matrices are printed in full up to this many features.
MAX_PRINTED_FEATURES = 8

LABEL_WIDTH = 14


def covariance_matrices(model):
    """Covariances as an array of shape (n_components, n_features, n_features)."""
    n_components, n_features = model.means_.shape
    cov = np.asarray(model.covariances_, dtype=np.float64)
    return _covariance.get(model.covariance_type).component_covariances(
        cov, n_components, n_features)


def format_components(model, feature_names=None):
    """The fitted components as a readable table, one block per component.

    A covariance shared by all components is printed once, after them.
    """
    n_components, n_features = model.means_.shape
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(n_features)]

    cov = np.asarray(model.covariances_, dtype=np.float64)
    printed = np.concatenate([np.ravel(model.means_), cov.ravel()])
    magnitudes = np.abs(printed)
    magnitudes = magnitudes[magnitudes > 0]
    fixed = magnitudes.size == 0 or (magnitudes.min() >= 1e-3 and magnitudes.max() < 1e7)
    spec = ".4f" if fixed else ".4e"
    longest = max(len(f"{v:{spec}}") for v in printed)
    width = max(10, longest + 2, *(len(n) + 2 for n in feature_names))

    def row(label, values):
        cells = "".join(f"{v:>{width}{spec}}" for v in values)
        return f"  {label:<{LABEL_WIDTH}}{cells}"

    def covariance_rows(stored, matrix):
        """The rows of one covariance, as stored, then its standard deviations."""
        if np.ndim(stored) == 2:
            rows = [row("covariance" if i == 0 else "", stored[i]) for i in range(n_features)]
        elif np.ndim(stored) == 1:
            rows = [row("variance", stored)]
        else:
            rows = [f"  {'variance':<{LABEL_WIDTH}}{stored:>{width}{spec}} (every feature)"]
        return rows + [row("std. dev.", np.sqrt(np.diagonal(matrix)))]

    shared = _covariance.get(model.covariance_type).shared
    matrices = covariance_matrices(model)
    header = "  " + " " * LABEL_WIDTH + "".join(f"{n:>{width}}" for n in feature_names)
    wide = n_features > MAX_PRINTED_FEATURES
    lines = []
    for k in range(n_components):
        lines.append(f"component {k}   weight {model.weights_[k]:.4f}")
        if wide:
            lines.append(f"  mean  {np.array2string(np.asarray(model.means_[k]), precision=4)}")
            continue
        lines.append(header)
        lines.append(row("mean", model.means_[k]))
        if not shared:
            lines.extend(covariance_rows(cov[k], matrices[k]))
    if wide:
        lines.append(
            f"  (covariances not shown for {n_features} features; load the model "
            "in Python: fastgmm.load(path).covariances_)"
        )
    elif shared:
        lines.append(f"covariance shared by all components ({model.covariance_type})")
        lines.append(header)
        lines.extend(covariance_rows(cov, matrices[0]))
    return "\n".join(lines)
