"""One fused EM pass at several block sizes, side by side: CPU time, one thread.

Run: ``NUMBA_NUM_THREADS=1 python asv_benchmarks/pass_chunk_size.py SHAPE DTYPE
SIZES [ROUNDS]``, e.g. ``... b float32 256,512,1024 9``. SHAPE is a letter of
``fastgmm.bench.SHAPES`` or ``N:d:K:covariance``. The parameters come from a
short fit on the first 20,000 rows; then ``_em.em_pass`` runs with each
``chunk_size`` in turn, ``ROUNDS`` rounds (default 7), and the median
``time.thread_time`` per size is printed. CPU time of one thread measures the
work, which on a shared machine moves much less than the wall clock.
"""

import sys
import time
import warnings

import numpy as np

from fastgmm import _em
from fastgmm._stats import Params
from fastgmm.bench import SHAPES, make_data
from fastgmm.gaussian_mixture import GaussianMixture


def parse_shape(text):
    if text in SHAPES:
        return SHAPES[text]
    n, d, k, covariance_type = text.split(":")
    return dict(n_samples=int(n), n_features=int(d), n_components=int(k),
                covariance_type=covariance_type)


def main(argv):
    spec = parse_shape(argv[0])
    dtype = np.dtype(argv[1])
    sizes = [int(s) for s in argv[2].split(",")]
    rounds = int(argv[3]) if len(argv) > 3 else 7
    X = make_data(spec["n_samples"], spec["n_features"], spec["n_components"]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(spec["n_components"], covariance_type=spec["covariance_type"],
                             max_iter=3, random_state=0).fit(X[:20_000].astype(np.float64))
    params = Params(gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_)
    no_weights = np.empty(0)
    times = {size: [] for size in sizes}
    for size in sizes:  # compile
        _em.em_pass(X, no_weights, params, spec["covariance_type"], chunk_size=size)
    for _ in range(rounds):
        for size in sizes:
            t0 = time.thread_time()
            _em.em_pass(X, no_weights, params, spec["covariance_type"], chunk_size=size)
            times[size].append(time.thread_time() - t0)
    print(argv[0], dtype.name, "  ".join(f"{size}: {1e3 * np.median(t):.1f}"
                                         for size, t in times.items()),
          "ms (median CPU time of one thread)")


if __name__ == "__main__":
    main(sys.argv[1:])
