"""Seconds for ``import fastgmm``, a default fit and ``predict_proba``, in a fresh process.

Run: ``python asv_benchmarks/cold_compile.py`` (twice: the first run
compiles the kernels, later runs load them from Numba's on-disk cache;
``FASTGMM_NUMBA_CACHE=0`` compiles every time). The fit (N=100,000, d=2,
K=3, default 'kmeans' start) is large enough to use the parallel kernels as
well as the serial ones that small fits and a one-row ``predict_proba``
use; ``asv``'s ``bench_fit.ColdStart`` times a small fit only.
"""

import time

t0 = time.perf_counter()

import numpy as np  # noqa: E402

from fastgmm import GaussianMixture  # noqa: E402

X = np.random.default_rng(0).normal(size=(100_000, 2))
model = GaussianMixture(3, random_state=0).fit(X)
model.predict_proba(X[:1])
model.predict_proba(X)
print(f"import + default fit (N=1e5) + predict_proba of 1 and 1e5 rows: "
      f"{time.perf_counter() - t0:.2f} s")
