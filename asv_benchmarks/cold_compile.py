"""Seconds for ``import fastgmm``, a default fit and ``predict_proba``, in a fresh process.

Run: ``python asv_benchmarks/cold_compile.py`` (twice: the first run
compiles the kernels, later runs load them from Numba's on-disk cache;
``FASTGMM_NUMBA_CACHE=0`` compiles every time). The fit (N=100,000, d=2,
K=3, default 'kmeans' start) is large enough to use the parallel kernels as
well as the serial ones that small fits and a one-row ``predict_proba``
use; ``asv``'s ``bench_fit.ColdStart`` times a small fit only.
``--n-features``, ``--covariance-type`` and ``--float32`` time the same
for other data: each number of features, covariance type and dtype
compiles kernels of its own.
"""

import argparse
import time

t0 = time.perf_counter()

import numpy as np  # noqa: E402

from fastgmm import GaussianMixture  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n-features", type=int, default=2)
parser.add_argument("--covariance-type", default="full")
parser.add_argument("--float32", action="store_true")
args = parser.parse_args()

X = np.random.default_rng(0).normal(size=(100_000, args.n_features))
if args.float32:
    X = X.astype(np.float32)
model = GaussianMixture(3, covariance_type=args.covariance_type, random_state=0).fit(X)
model.predict_proba(X[:1])
model.predict_proba(X)
print(f"import + default fit (N=1e5, d={args.n_features}, {args.covariance_type}, "
      f"{X.dtype.name}) + predict_proba of 1 and 1e5 rows: "
      f"{time.perf_counter() - t0:.2f} s")
