"""Time and minor page faults of each pass of short fits, fastgmm alone.

Run (the cell's arguments as ``vs_sklearn_grid.py``'s rows)::

    python asv_benchmarks/pass_page_faults.py spherical 2048 256 953 float32 [--fits 3]

Fits the grid's data from its start (``fastgmm.bench.make_data`` /
``make_start``, 2 iterations, ``tol=0``, ``reg_covar=1e-2``) ``--fits``
times after one fit that compiles, and prints every pass's time (ms) and
the minor page faults the process took during it
(``resource.getrusage``), then the same for passes run back to back with
the fitted parameters. Run it again with glibc told to keep freed memory
(``MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=100000000000``)
to see what the faults cost.
"""

import argparse
import resource
import time
import warnings

import numpy as np
from large_d_stages import add_cell_arguments  # the script beside this one

from fastgmm import GaussianMixture, _em, _stats
from fastgmm.bench import make_data, make_start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_cell_arguments(parser)
    parser.add_argument("--fits", type=int, default=3)
    args = parser.parse_args()
    X = make_data(args.n_samples, args.n_features, args.n_components).astype(args.dtype)
    start = make_start(X, args.n_components, args.covariance_type)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GaussianMixture(args.n_components, covariance_type=args.covariance_type,
                                   max_iter=2, tol=0.0, reg_covar=1e-2, **start).fit(X)

    fitted = fit()
    records = []
    real = _em.em_pass

    def em_pass(*a, **k):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        tick = time.perf_counter()
        result = real(*a, **k)
        records.append((1e3 * (time.perf_counter() - tick),
                        resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults))
        return result

    _em.em_pass = em_pass
    try:
        for _ in range(args.fits):
            fit()
        print("passes of fits (ms, minor faults):",
              ", ".join(f"{ms:.1f} ({n})" for ms, n in records))
        records.clear()
        params = _stats.Params(fitted.weights_, fitted.means_, fitted.covariances_,
                               fitted.precisions_cholesky_)
        for _ in range(5):
            _em.em_pass(X, np.empty(0), params, args.covariance_type)
        print("passes back to back (ms, minor faults):",
              ", ".join(f"{ms:.1f} ({n})" for ms, n in records))
    finally:
        _em.em_pass = real


if __name__ == "__main__":
    main()
