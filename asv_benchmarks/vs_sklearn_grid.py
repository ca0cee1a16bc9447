"""fastgmm against scikit-learn over covariance type x d x K x dtype, side by side.

Run: ``python asv_benchmarks/vs_sklearn_grid.py [--covariance-types full,tied,diag,spherical]``
(about 25 minutes for the whole grid on 2 cores, most of it scikit-learn's)
(unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are forced,
so that scikit-learn's BLAS is timed fairly). For every combination of the
four covariance types, d in (1, 2, 16, 64, 128), K in (1, 8, 64, 256) and
float32/float64, both libraries fit the same data from the same start for
``--n-iter`` iterations (``tol=0``, ``reg_covar=1e-2`` so that no
combination fails to factorise), and the median time per iteration of 3
fits each is printed with the ratio scikit-learn / fastgmm. The number of
rows shrinks with the work per row (about ``--budget`` multiply-adds per
iteration, at least 3 K d rows and 1,000, at most 200,000), so that the
grid runs in minutes; the last line gives the smallest ratio.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture as SKGaussianMixture

from fastgmm import GaussianMixture
from fastgmm.bench import make_data, make_start

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
N_FEATURES = (1, 2, 16, 64, 128)
N_COMPONENTS = (1, 8, 64, 256)


def ms_per_iteration(cls, X, covariance_type, n_components, start, n_iter, repeat=3):
    times = []
    for _ in range(repeat):
        model = cls(n_components, covariance_type=covariance_type, max_iter=n_iter, tol=0.0,
                    reg_covar=1e-2, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            times.append((time.perf_counter() - t0) / n_iter)
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--budget", type=float, default=2e8)
    parser.add_argument("--covariance-types", default=",".join(COVARIANCE_TYPES))
    args = parser.parse_args()
    worst = None
    print("covariance  d    K  dtype    rows      fastgmm ms  scikit-learn ms  ratio")
    for covariance_type in args.covariance_types.split(","):
        for n_features in N_FEATURES:
            for n_components in N_COMPONENTS:
                per_row = n_components * n_features * (
                    n_features if covariance_type == "full" else 1)
                n_samples = int(min(200_000, max(1_000, 3 * n_components * n_features,
                                                 args.budget / per_row)))
                X64 = make_data(n_samples, n_features, n_components)
                for dtype in (np.float64, np.float32):
                    X = X64.astype(dtype)
                    start = make_start(X, n_components, covariance_type)
                    ms_per_iteration(GaussianMixture, X, covariance_type, n_components,
                                     start, 1, repeat=1)  # compile or load from cache
                    ours = ms_per_iteration(GaussianMixture, X, covariance_type,
                                            n_components, start, args.n_iter)
                    theirs = ms_per_iteration(SKGaussianMixture, X, covariance_type,
                                              n_components, start, args.n_iter)
                    ratio = theirs / ours
                    row = (f"{covariance_type:10s} {n_features:3d} {n_components:4d}  "
                           f"{np.dtype(dtype).name:7s} {n_samples:7d}  {ours:10.2f}  "
                           f"{theirs:15.2f}  {ratio:5.2f}")
                    print(row, flush=True)
                    if worst is None or ratio < worst[0]:
                        worst = (ratio, row)
    print(f"smallest ratio: {worst[0]:.2f} ({worst[1].split('  ')[0].strip()} ...)")
    print("row:", worst[1])


if __name__ == "__main__":
    main()
