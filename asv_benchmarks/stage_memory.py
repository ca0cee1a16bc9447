"""Peak memory and time of a fit's stages outside EM, at one cell.

Run: ``python asv_benchmarks/stage_memory.py COV:D:K:ROWS:DTYPE [--bayesian]
[--repeat R]``, e.g. ``full:256:256:500:float32``. Fits the grid's data
(``fastgmm.bench.make_data``) for 2 iterations, ``GaussianMixture`` from the
grid's start (``make_start``: ``precisions_init``) or, with ``--bayesian``,
``BayesianGaussianMixture`` (``random_state=0``), then calls again, with the
arguments the fit gave them, its stages outside EM: the start from
``precisions_init`` (``GaussianMixture._initial_parameters``, not for
``--bayesian``) and the fitted arrays (``_fitted_arrays``). Printed per
stage: the peak of the memory traced by ``tracemalloc`` above the stage's
start (numpy reports its arrays to it) in one call, and the median time of
``--repeat`` more calls (default 7).
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np

from fastgmm import BayesianGaussianMixture, GaussianMixture
from fastgmm.bench import make_data, make_start


def spied(cls, name, calls):
    original = getattr(cls, name)

    def spy(self, *args, **kwargs):
        calls[name] = (self, args, kwargs)
        return original(self, *args, **kwargs)

    setattr(cls, name, spy)
    return original


def measure(function, self, args, kwargs, repeat):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = function(self, *args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del result
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = function(self, *args, **kwargs)
        times.append(time.perf_counter() - t0)
        del result
    return peak / 2**20, 1e3 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cell", help="covariance_type:n_features:n_components:n_samples:dtype")
    parser.add_argument("--bayesian", action="store_true")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    covariance_type, d, k, n, dtype = args.cell.split(":")
    d, k, n = int(d), int(k), int(n)
    X = make_data(n, d, k).astype(dtype)
    cls = BayesianGaussianMixture if args.bayesian else GaussianMixture
    stages = ["_fitted_arrays"] if args.bayesian else ["_initial_parameters", "_fitted_arrays"]
    calls = {}
    originals = {name: spied(cls, name, calls) for name in stages}
    options = dict(covariance_type=covariance_type, max_iter=2, tol=0.0, reg_covar=1e-2)
    if args.bayesian:
        model = cls(n_components=k, random_state=0, **options)
    else:
        model = cls(k, **options, **make_start(X, k, covariance_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    for name in stages:
        setattr(cls, name, originals[name])
        self, fargs, fkwargs = calls[name]
        peak, ms = measure(originals[name], self, fargs, fkwargs, args.repeat)
        print(f"{cls.__name__} {args.cell} {name}: peak {peak:.0f} MiB, "
              f"median {ms:.1f} ms of {args.repeat}")


if __name__ == "__main__":
    main()
