"""Plain numpy reference implementations for k-means, independent of fastgmm.

Everything is computed the textbook way from a dense (n_samples, n_centers)
matrix of squared distances in float64. Nothing here imports fastgmm.
"""

import numpy as np


def sq_distances(X, centers):
    """Squared Euclidean distances, shape (n_samples, n_centers), float64."""
    X = np.asarray(X, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def lloyd_pass(X, sample_weight, centers):
    """One Lloyd pass: labels, per-cluster weighted sums and weights, inertia.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Index of the nearest centre (first one on ties).
    sums : ndarray of shape (n_clusters, n_features)
        Sum of w_i x_i over the points of each cluster.
    weights : ndarray of shape (n_clusters,)
        Sum of w_i over the points of each cluster.
    inertia : float
        Sum of w_i ||x_i - c_{label_i}||^2.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    n_clusters, n_features = np.shape(centers)
    dist = sq_distances(X, centers)
    labels = np.argmin(dist, axis=1)
    sums = np.zeros((n_clusters, n_features))
    weights = np.zeros(n_clusters)
    for k in range(n_clusters):
        mask = labels == k
        sums[k] = (w[mask, None] * X[mask]).sum(axis=0)
        weights[k] = w[mask].sum()
    inertia = float(dist[np.arange(X.shape[0]), labels] @ w)
    return labels, sums, weights, inertia


def closest_sq_dist(X, centers):
    """Squared distance of every point to its closest centre."""
    return sq_distances(X, centers).min(axis=1)


def candidate_potentials(X, sample_weight, closest, candidates):
    """sum_i w_i min(closest_i, ||x_i - cand_t||^2) for every candidate t."""
    dist = sq_distances(X, candidates)
    w = np.asarray(sample_weight, dtype=np.float64)
    return (np.minimum(dist, np.asarray(closest)[:, None]) * w[:, None]).sum(axis=0)


def first_center_probabilities(sample_weight):
    """P(first k-means++ centre = i): proportional to the weights."""
    w = np.asarray(sample_weight, dtype=np.float64)
    return w / w.sum()


def second_center_probabilities(X, sample_weight):
    """P(second k-means++ centre = j) with a single local trial.

    sum_i P(first = i) * w_j D(i, j)^2 / sum_l w_l D(i, l)^2.
    """
    w = np.asarray(sample_weight, dtype=np.float64)
    p_first = w / w.sum()
    d2 = sq_distances(X, X)  # d2[i, j]: distance of point j to centre i
    q = d2 * w[None, :]
    q /= q.sum(axis=1, keepdims=True)
    return p_first @ q


def inertia(X, sample_weight, centers, labels):
    """sum_i w_i ||x_i - centers[labels_i]||^2."""
    X = np.asarray(X, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)[labels]
    return float(((X - c) ** 2).sum(axis=1) @ np.asarray(sample_weight, dtype=np.float64))
