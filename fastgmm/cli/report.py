"""The fitted components of a model as a readable table."""

import numpy as np

MAX_PRINTED_FEATURES = 8


def covariance_matrices(model):
    """Covariances as an array of shape (n_components, n_features, n_features)."""
    n_components, n_features = model.means_.shape
    cov = np.asarray(model.covariances_, dtype=np.float64)
    if model.covariance_type == "full":
        return cov
    if model.covariance_type == "tied":
        return np.broadcast_to(cov, (n_components, n_features, n_features))
    if model.covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(n_features) * c for c in cov])


def format_components(model, feature_names=None):
    """The fitted components as a readable table, one block per component."""
    n_components, n_features = model.means_.shape
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(n_features)]
    label_width = 14

    cov = np.asarray(model.covariances_, dtype=np.float64)
    magnitudes = np.abs(np.concatenate([np.ravel(model.means_), cov.ravel()]))
    magnitudes = magnitudes[magnitudes > 0]
    fixed = magnitudes.size == 0 or (magnitudes.min() >= 1e-3 and magnitudes.max() < 1e7)
    spec = ".4f" if fixed else ".4e"
    longest = max(len(f"{v:{spec}}") for v in np.concatenate([np.ravel(model.means_), cov.ravel()]))
    width = max(10, longest + 2, *(len(n) + 2 for n in feature_names))

    def row(label, values):
        cells = "".join(f"{v:>{width}{spec}}" for v in values)
        return f"  {label:<{label_width}}{cells}"

    header = "  " + " " * label_width + "".join(f"{n:>{width}}" for n in feature_names)
    wide = n_features > MAX_PRINTED_FEATURES
    lines = []
    for k in range(n_components):
        lines.append(f"component {k}   weight {model.weights_[k]:.4f}")
        if wide:
            lines.append(f"  mean  {np.array2string(np.asarray(model.means_[k]), precision=4)}")
            continue
        lines.append(header)
        lines.append(row("mean", model.means_[k]))
        if model.covariance_type == "full":
            for i in range(n_features):
                lines.append(row("covariance" if i == 0 else "", cov[k, i]))
        elif model.covariance_type == "diag":
            lines.append(row("variance", cov[k]))
        elif model.covariance_type == "spherical":
            lines.append(f"  {'variance':<{label_width}}{cov[k]:>{width}{spec}} (every feature)")
        if model.covariance_type != "tied":
            lines.append(row("std. dev.", np.sqrt(np.diagonal(covariance_matrices(model)[k]))))
    if wide:
        lines.append(
            f"  (covariances not shown for {n_features} features; load the model "
            "in Python: fastgmm.load(path).covariances_)"
        )
    elif model.covariance_type == "tied":
        lines.append("covariance shared by all components (tied)")
        lines.append(header)
        for i in range(n_features):
            lines.append(row("covariance" if i == 0 else "", cov[i]))
        lines.append(row("std. dev.", np.sqrt(np.diagonal(cov))))
    return "\n".join(lines)
