"""Cells of ``vs_sklearn_grid.py`` on two checkouts and scikit-learn, alternating.

Usage (unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are
forced, so that scikit-learn's BLAS is timed fairly)::

    python asv_benchmarks/grid_ab.py OLD_CHECKOUT NEW_CHECKOUT \
        spherical:512:64:15258:float32 [CELL ...] [--rounds 3] [--n-iter 2]

A cell is ``covariance_type:n_features:n_components:n_samples:dtype``, the
grid's data and start (``fastgmm.bench.make_data`` / ``make_start``). Each
round runs one process per checkout and one for scikit-learn (imported
beside the new checkout), in that order; a process fits once to compile or
load the kernels, then times the grid's ``ms_per_iteration`` (``--n-iter``
iterations, ``tol=0``, ``reg_covar=1e-2``, median of 3 fits). Printed: the
median over the rounds for each, and scikit-learn's time over each
checkout's. On a shared machine whose load moves within minutes, the
alternation is what makes the two checkouts comparable.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from vs_sklearn_grid import ms_per_iteration
from fastgmm.bench import make_data, make_start
covariance_type, n_features, n_components, n_samples, dtype, which, n_iter = sys.argv[2:9]
n_features, n_components, n_samples, n_iter = map(int, (n_features, n_components, n_samples,
                                                         n_iter))
if which == "sklearn":
    from sklearn.mixture import GaussianMixture
else:
    from fastgmm import GaussianMixture
X = make_data(n_samples, n_features, n_components).astype(dtype)
start = make_start(X, n_components, covariance_type)
ms_per_iteration(GaussianMixture, X, covariance_type, n_components, start, 1, repeat=1)
print(json.dumps(ms_per_iteration(GaussianMixture, X, covariance_type, n_components, start,
                                  n_iter)))
"""


def run(checkout, cell, which, n_iter):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    out = subprocess.run([sys.executable, "-c", CHILD, HERE, *cell.split(":"), which,
                          str(n_iter)], env=env, capture_output=True, text=True,
                         cwd=os.path.abspath(checkout), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("cells", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=2)
    args = parser.parse_args()
    print("| cell | old ms | new ms | scikit-learn ms | ratio old | ratio new |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cell in args.cells:
        times = {"old": [], "new": [], "sklearn": []}
        for _ in range(args.rounds):
            times["old"].append(run(args.old, cell, "fastgmm", args.n_iter))
            times["new"].append(run(args.new, cell, "fastgmm", args.n_iter))
            times["sklearn"].append(run(args.new, cell, "sklearn", args.n_iter))
        old, new, theirs = (statistics.median(times[k]) for k in ("old", "new", "sklearn"))
        print(f"| {cell} | {old:.2f} | {new:.2f} | {theirs:.2f} | {theirs / old:.2f}x | "
              f"{theirs / new:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
