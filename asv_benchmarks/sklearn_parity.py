"""fastgmm against sklearn.mixture.GaussianMixture from the same start.

Prints the largest relative difference of the fitted weights, means and
covariances, float64 and float32, for data at the origin and translated by
100, and where the iteration counts differ (the setup of
tests/test_estimator.py::test_fit_from_same_start_matches_sklearn, 5 seeds).

Run from the repository root: PYTHONPATH=$PWD python asv_benchmarks/sklearn_parity.py
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import numpy as np
from sklearn import mixture as skm
import reference as ref
from fastgmm import GaussianMixture
warnings.simplefilter("ignore")
for dtype in (np.float64, np.float32):
    for offset in (0.0, 1e2):
        for ct in ("full", "tied", "diag", "spherical"):
            worst = 0.0
            for seed in range(5):
                X, _ = ref.make_blobs(np.random.default_rng(seed), 600, 3, 3, dtype=np.float64)
                X = (X + offset).astype(dtype)
                w, m, c = ref.random_parameters(np.random.default_rng(seed), X, 3, ct)
                kw = dict(n_components=3, covariance_type=ct, max_iter=50,
                          tol=1e-6 if dtype == np.float64 else 1e-3,
                          weights_init=w.astype(dtype), means_init=m.astype(dtype),
                          precisions_init=ref.precisions(c, ct).astype(dtype))
                a = GaussianMixture(**kw).fit(X); b = skm.GaussianMixture(**kw).fit(X)
                if a.n_iter_ != b.n_iter_:
                    print("  n_iter differs", dtype.__name__, ct, seed, a.n_iter_, b.n_iter_)
                for name in ("weights_", "means_", "covariances_"):
                    x, y = np.asarray(getattr(a, name), float), np.asarray(getattr(b, name), float)
                    worst = max(worst, float(np.max(np.abs(x - y)) / np.max(np.abs(y))))
            print(f"{np.dtype(dtype).name} offset={offset:g} {ct:9s} max rel diff {worst:.2e}")
