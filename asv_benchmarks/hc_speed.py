"""Seconds of ``hierarchical_tree`` (the 'hc' start's tree), and a digest of its merges.

Run: ``python asv_benchmarks/hc_speed.py [--repeat R]``, from outside the
repository with ``PYTHONPATH`` at a checkout to time that checkout (two
checkouts alternating compare them). Three Gaussian blobs of 700 rows each
(seed 0) in 2, 4 and 8 features, of which the tree takes 2,000 rows
(``random_state=0``), the VVV and EII (Ward) criteria: the best of
``R`` calls (default 3), after one that compiles or loads the kernels, and
an md5 of the merges and their costs, equal between two checkouts whose
trees are the same bit for bit.
"""

import argparse
import hashlib
import time

import numpy as np

from fastgmm import hierarchical_tree


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cells = []
    for n_features in (2, 4, 8):
        X = np.concatenate([rng.normal(size=(700, n_features)) + 3 * i for i in range(3)])
        for model in ("VVV", "EII"):
            hierarchical_tree(X, model=model, random_state=0)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                tree = hierarchical_tree(X, model=model, random_state=0)
                times.append(time.perf_counter() - t0)
            digest = hashlib.md5(tree.merges.tobytes() + tree.merge_costs.tobytes())
            cells.append(f"d={n_features} {model} {1e3 * min(times):.0f} ms "
                         f"({digest.hexdigest()[:8]})")
    print(" | ".join(cells))


if __name__ == "__main__":
    main()
