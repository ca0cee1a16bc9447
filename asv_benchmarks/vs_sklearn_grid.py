"""fastgmm against scikit-learn over covariance type x d x K x dtype, side by side.

Run: ``python asv_benchmarks/vs_sklearn_grid.py [--covariance-types full,tied,diag,spherical]
[--large-d | --all-d]``
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
grid runs in minutes; the last lines give the smallest ratios.

``--large-d`` runs only the large-d part instead: d in (256, 512, 1024,
2048), K in (1, 8, 64, 256), with fewer rows (about ``--large-budget``
of scikit-learn's multiply-adds per iteration, at least ``--large-min-rows``, at most 20,000),
skipping (and printing as skipped) the cells whose covariance matrices
exceed ``--max-model-bytes`` or whose rows times scikit-learn's
multiply-adds per row exceed ``--max-work``, so that it stays runnable on 2 cores;
``--all-d`` runs both parts. ``--dtypes``, ``--n-features``,
``--n-components`` and ``--repeat`` narrow a run;
``--sklearn-blas-threads 1`` times scikit-learn with BLAS on one thread
(fastgmm's fits run BLAS on one thread themselves), for a machine where
BLAS's threads contend with other work. Each library's fits of a cell
start after a pause of ``--settle`` seconds (default 0.5): OpenBLAS's
worker threads keep spinning for a while after a threaded product, and
fits started in that time share the cores with them (see
``start_speed.py``); ``--settle 0`` times the libraries back to back.
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
LARGE_N_FEATURES = (256, 512, 1024, 2048)
DTYPES = {"float64": np.float64, "float32": np.float32}


def ms_per_iteration(cls, X, covariance_type, n_components, start, n_iter, repeat=3,
                     blas_threads=None):
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(blas_threads):
            return ms_per_iteration(cls, X, covariance_type, n_components, start, n_iter,
                                    repeat)
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


def cells(args):
    """(covariance_type, n_features, n_components, n_samples or a reason to skip)."""
    large = args.large_d or args.all_d
    small = not args.large_d
    for covariance_type in args.covariance_types.split(","):
        matrix = covariance_type in ("full", "tied")
        for n_features in (N_FEATURES if small else ()) + (LARGE_N_FEATURES if large else ()):
            if args.n_features and n_features not in args.n_features:
                continue
            for n_components in N_COMPONENTS:
                if args.n_components and n_components not in args.n_components:
                    continue
                per_row = n_components * n_features * (
                    n_features if covariance_type == "full" else 1)
                if n_features < LARGE_N_FEATURES[0]:
                    yield covariance_type, n_features, n_components, int(min(
                        200_000, max(1_000, 3 * n_components * n_features,
                                     args.budget / per_row)))
                    continue
                # scikit-learn's multiply-adds per row: a product with each
                # component's d x d factor (and for full a scatter per
                # component, for tied one pooled scatter).
                per_row = {"full": 2 * n_components * n_features**2,
                           "tied": (n_components + 1) * n_features**2}.get(
                               covariance_type, 2 * n_components * n_features)
                n_samples = int(min(20_000, max(args.large_min_rows,
                                                args.large_budget / per_row)))
                model_bytes = 8 * n_features * n_features * (
                    n_components if covariance_type == "full" else 1) if matrix else 0
                if model_bytes > args.max_model_bytes:
                    yield covariance_type, n_features, n_components, "memory"
                elif n_samples * per_row > args.max_work:
                    yield covariance_type, n_features, n_components, "work"
                else:
                    yield covariance_type, n_features, n_components, n_samples


def _ints(text):
    return tuple(int(value) for value in text.split(","))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2e8)
    parser.add_argument("--covariance-types", default=",".join(COVARIANCE_TYPES))
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--large-d", action="store_true",
                        help="only the large-d part (d = 256 ... 2048)")
    parser.add_argument("--all-d", action="store_true", help="both parts")
    parser.add_argument("--large-budget", type=float, default=1e9)
    parser.add_argument("--large-min-rows", type=int, default=500)
    parser.add_argument("--max-model-bytes", type=float, default=2**30)
    parser.add_argument("--max-work", type=float, default=4e10)
    parser.add_argument("--sklearn-blas-threads", type=int, default=None,
                        help="BLAS threads of scikit-learn's fits (default: BLAS's own)")
    parser.add_argument("--n-features", type=_ints, default=None,
                        help="only these d of the grid (comma-separated)")
    parser.add_argument("--n-components", type=_ints, default=None,
                        help="only these K of the grid (comma-separated)")
    parser.add_argument("--settle", type=float, default=0.5,
                        help="seconds of pause before each library's fits of a cell")
    parser.add_argument("--worst", type=int, default=5,
                        help="how many of the smallest ratios to list at the end")
    args = parser.parse_args()
    dtypes = [DTYPES[name] for name in args.dtypes.split(",")]
    rows = []
    print("covariance  d    K  dtype    rows      fastgmm ms  scikit-learn ms  ratio")
    for covariance_type, n_features, n_components, n_samples in cells(args):
        if isinstance(n_samples, str):
            print(f"{covariance_type:10s} {n_features:4d} {n_components:4d}  skipped "
                  f"({n_samples} limit)", flush=True)
            continue
        X64 = make_data(n_samples, n_features, n_components)
        for dtype in dtypes:
            X = X64.astype(dtype)
            start = make_start(X, n_components, covariance_type)
            ms_per_iteration(GaussianMixture, X, covariance_type, n_components,
                             start, 1, repeat=1)  # compile or load from cache
            try:
                time.sleep(args.settle)
                ours = ms_per_iteration(GaussianMixture, X, covariance_type,
                                        n_components, start, args.n_iter, args.repeat)
                time.sleep(args.settle)
                theirs = ms_per_iteration(SKGaussianMixture, X, covariance_type,
                                          n_components, start, args.n_iter, args.repeat,
                                          args.sklearn_blas_threads)
            except ValueError as exc:
                # A covariance that does not factorise (float32, fewer rows
                # than features): the cell is reported, not timed.
                print(f"{covariance_type:10s} {n_features:4d} {n_components:4d}  "
                      f"{np.dtype(dtype).name:7s} {n_samples:7d}  failed: "
                      f"{str(exc).splitlines()[0][:60]}", flush=True)
                continue
            ratio = theirs / ours
            row = (f"{covariance_type:10s} {n_features:4d} {n_components:4d}  "
                   f"{np.dtype(dtype).name:7s} {n_samples:7d}  {ours:10.2f}  "
                   f"{theirs:15.2f}  {ratio:5.2f}")
            print(row, flush=True)
            rows.append((ratio, row))
    if not rows:
        return
    rows.sort(key=lambda item: item[0])
    print(f"smallest ratio: {rows[0][0]:.2f}")
    print(f"the {min(args.worst, len(rows))} smallest ratios:")
    for _, row in rows[:args.worst]:
        print("  " + row)


if __name__ == "__main__":
    main()
