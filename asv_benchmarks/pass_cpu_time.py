"""Thread CPU time of one fused pass with the serial kernel, shapes a-c.

Run: ``python asv_benchmarks/pass_cpu_time.py [SHAPES] [--dtype float32] [--repeat 5]``
(SHAPES: letters of ``fastgmm.bench.SHAPES``, default ``abc``, or shapes
written ``N:d:K:covariance_type`` separated by commas, for instance
``200000:16:16:tied,100000:128:1:tied``). Prints the
minimum over ``--repeat`` passes of ``time.thread_time()`` around
``fastgmm._em.em_pass`` with every segment sent to the serial kernel. CPU
time of one thread is far less disturbed by other processes than wall time
on a shared machine, which makes it the measure for comparing two commits
of a kernel: run it at each commit, alternating, a few rounds.
"""

import argparse
import time

import numpy as np

from fastgmm import _em, _threads
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._stats import Params
from fastgmm.bench import SHAPES, make_data, make_start


def parse_shapes(text):
    """Letters of SHAPES, or comma-separated ``N:d:K:covariance_type`` shapes."""
    if ":" not in text:
        return [(key, SHAPES[key]) for key in text]
    shapes = []
    for item in text.split(","):
        n_samples, n_features, n_components, covariance_type = item.split(":")
        shapes.append((item, dict(n_samples=int(n_samples), n_features=int(n_features),
                                  n_components=int(n_components),
                                  covariance_type=covariance_type)))
    return shapes


_PICKED = []


def _serial_kernel(kernels, n_blocks):
    """Stands for ``_threads.pick_kernel``: the serial twin, whatever the blocks."""
    _PICKED.append(kernels[1])
    return kernels[1]


def pass_cpu_ms(shape, dtype, repeat):
    covariance_type = shape["covariance_type"]
    X = make_data(shape["n_samples"], shape["n_features"], shape["n_components"]).astype(dtype)
    start = make_start(X, shape["n_components"], covariance_type)
    precisions = start["precisions_init"].astype(np.float64)
    if covariance_type in ("full", "tied"):
        covariances = np.linalg.inv(precisions)
    else:
        covariances = 1.0 / precisions
    params = Params(start["weights_init"].astype(np.float64),
                    start["means_init"].astype(np.float64), covariances,
                    compute_precision_cholesky(covariances, covariance_type))
    empty = np.empty(0)
    _PICKED.clear()
    _em.em_pass(X, empty, params, covariance_type)  # compile or load from cache
    if not _PICKED:
        raise RuntimeError("the pass did not pick its kernel through "
                           "fastgmm._threads.pick_kernel: this script would time "
                           "the parallel kernel's calling thread only")
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        _em.em_pass(X, empty, params, covariance_type)
        times.append(time.thread_time() - t0)
    return 1e3 * min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="?", default="abc")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # Every segment to the serial kernel: one thread does all the work.
    _threads.pick_kernel = _serial_kernel
    cells = [f"{name}: {pass_cpu_ms(shape, args.dtype, args.repeat):.1f}"
             for name, shape in parse_shapes(args.shapes)]
    print(args.dtype, "  ".join(cells), "ms CPU per pass (serial kernel, min of",
          f"{args.repeat})")


if __name__ == "__main__":
    main()
