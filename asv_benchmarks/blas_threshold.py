"""The fused pass by the Numba kernels and by BLAS on blocks
(``fastgmm._blocked``), in separate processes alternating.

Run (unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are
forced)::

    python asv_benchmarks/blas_threshold.py spherical:512:64:15258:float64 [CELL ...] \
        [--rounds 3]

A cell is ``covariance_type:n_features:n_components:n_samples:dtype``, the
data of ``vs_sklearn_grid.py`` (``fastgmm.bench.make_data``) and the
parameters after one EM iteration from its start. Each round runs one
process per path, the thresholds of ``_config`` moved so that the pass
takes it; a process times the pass (median of 7, after one untimed). In
separate processes because a Numba parallel region's threads keep
spinning for a while after it, which slowed the BLAS threads that
followed it in the same process. The crossing sets
``_config.BLAS_DIAG_*`` and ``BLAS_SPHERICAL_*`` ('diag', 'spherical'),
``BLAS_PASS_MIN_FEATURES`` ('full') and ``BLAS_TIED_MIN_FEATURES``
('tied').
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time, warnings
import numpy as np
from fastgmm import GaussianMixture, _config, _em, _stats
from fastgmm.bench import make_data, make_start
covariance_type, n_features, n_components, n_samples, dtype, path = sys.argv[1:7]
n_features, n_components, n_samples = int(n_features), int(n_components), int(n_samples)
for name in ("BLAS_PASS_MIN_FEATURES", "BLAS_TIED_MIN_FEATURES", "BLAS_DIAG_MIN_FEATURES",
             "BLAS_SPHERICAL_MIN_FEATURES"):
    setattr(_config, name, 10**12 if path == "numba" else 1)
for name in ("BLAS_DIAG_MIN_COMPONENTS", "BLAS_DIAG_MIN_WORK", "BLAS_SPHERICAL_MIN_WORK"):
    setattr(_config, name, 1)
X = make_data(n_samples, n_features, n_components).astype(dtype)
start = make_start(X, n_components, covariance_type)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=1, tol=0.0,
                          reg_covar=1e-2, **start).fit(X)
params = _stats.Params(fit.weights_, fit.means_, fit.covariances_, fit.precisions_cholesky_)
weights = np.empty(0)
_em.em_pass(X, weights, params, covariance_type)
times = []
for _ in range(7):
    tick = time.perf_counter()
    _em.em_pass(X, weights, params, covariance_type)
    times.append(time.perf_counter() - tick)
print(json.dumps(1e3 * float(np.median(times))))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cells", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| cell | Numba ms | BLAS ms | Numba / BLAS |")
    print("| --- | --- | --- | --- |")
    for cell in args.cells:
        times = {"numba": [], "blas": []}
        for _ in range(args.rounds):
            for path in times:
                out = subprocess.run([sys.executable, "-c", CHILD, *cell.split(":"), path],
                                     capture_output=True, text=True, check=True,
                                     env=dict(os.environ))
                times[path].append(json.loads(out.stdout.strip().splitlines()[-1]))
        numba_ms, blas_ms = (statistics.median(times[p]) for p in ("numba", "blas"))
        print(f"| {cell} | {numba_ms:.2f} | {blas_ms:.2f} | {numba_ms / blas_ms:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
