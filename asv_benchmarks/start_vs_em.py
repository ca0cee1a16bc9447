"""Time of the default start (k-means) against the EM iterations that follow it.

Run: ``python asv_benchmarks/start_vs_em.py [SHAPES]`` (letters of
``fastgmm.bench.SHAPES``, default ``abc``). Fits ``GaussianMixture`` with its
defaults (``init_params='kmeans'``, ``random_state=0``) on the benchmark data
and, through ``callback``, times the EM iterations; the start is the time up
to the end of the first iteration minus one iteration.
"""

import sys
import time
import warnings

from fastgmm import GaussianMixture
from fastgmm.bench import SHAPES, make_data


def main():
    keys = sys.argv[1] if len(sys.argv) > 1 else "abc"
    warnings.simplefilter("ignore")
    for key in keys:
        shape = SHAPES[key]
        X = make_data(shape["n_samples"], shape["n_features"], shape["n_components"])
        options = dict(covariance_type=shape["covariance_type"], random_state=0)
        GaussianMixture(shape["n_components"], max_iter=2, **options).fit(X[:5000])
        marks = {}

        def on_iteration(n_iter, lower_bound):
            marks.setdefault("first", time.perf_counter())
            marks["last"] = time.perf_counter()
            marks["n"] = n_iter

        t0 = time.perf_counter()
        model = GaussianMixture(shape["n_components"], callback=on_iteration,
                                **options).fit(X)
        per_iteration = (marks["last"] - marks["first"]) / max(1, marks["n"] - 1)
        start = marks["first"] - t0 - per_iteration
        print(f"{key}: start {1e3 * start:.0f} ms; EM {model.n_iter_} iterations x "
              f"{1e3 * per_iteration:.1f} ms = {1e3 * per_iteration * model.n_iter_:.0f} ms")


if __name__ == "__main__":
    main()
