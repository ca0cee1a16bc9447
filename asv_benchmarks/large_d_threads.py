"""Large-d fits on 1 and 2 (or ``--threads``) threads: does the work spread?

Run (unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are
forced)::

    python asv_benchmarks/large_d_threads.py [--repeat 3] [--threads 1,2] [--json out.json]

For each cell (covariance type, d, K, rows) and dtype, ``GaussianMixture``
fits the data and start of ``vs_sklearn_grid.py`` (``make_data``,
``make_start``; ``tol=0``, ``reg_covar=1e-2``, 2 iterations) with each
thread count; the median wall time of ``--repeat`` fits (after one untimed
fit) is printed in ms, with the speed-up over the first thread count. To
compare two checkouts, run this script alternately with each on
``PYTHONPATH``.
"""

import argparse
import json
import time
import warnings

import numpy as np

from fastgmm import GaussianMixture
from fastgmm.bench import make_data, make_start

CELLS = [("full", 512, 64, 500), ("full", 1024, 8, 1000), ("full", 2048, 1, 2000),
         ("tied", 2048, 8, 2000)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--json", default=None, help="also write the times here")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    times = {}
    print(f"{'cell':28s}" + "".join(f"{t:>9d} thr" for t in threads) + "  speed-up")
    for covariance_type, n_features, n_components, n_samples in CELLS:
        X64 = make_data(n_samples, n_features, n_components)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype)
            start = make_start(X, n_components, covariance_type)
            row = []
            for n_threads in threads:
                model = GaussianMixture(n_components, covariance_type=covariance_type,
                                        max_iter=2, tol=0, reg_covar=1e-2,
                                        n_threads=n_threads, **start)
                spent = []
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X)
                    for _ in range(args.repeat):
                        tick = time.perf_counter()
                        model.fit(X)
                        spent.append(time.perf_counter() - tick)
                row.append(1e3 * float(np.median(spent)))
            name = f"{covariance_type} d={n_features} K={n_components} {np.dtype(dtype).name}"
            times[name] = dict(zip(map(str, threads), row))
            print(f"{name:28s}" + "".join(f"{t:13.1f}" for t in row)
                  + f"  {row[0] / row[-1]:.2f}x", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(times, f, indent=1)


if __name__ == "__main__":
    main()
