"""Per-iteration time of a Dask fit against the in-memory fit of the same data.

Run: ``python asv_benchmarks/dask_overhead.py`` (needs the 'dask' extra).

N = 1,000,000 rows, d = 2, K = 8, 'full', float64, from a fixed start
(``fastgmm.bench.make_start``), 10 EM iterations with ``tol=0``. In memory:
one process, the kernels on all cores. Dask: a ``LocalCluster`` of 2 worker
processes with 1 thread each on the loopback interface, X persisted on the
workers in 8 row chunks, one kernel thread per task. Reports the median of
3 fits of each, per iteration, and their ratio.
"""

import statistics
import time
import warnings

import numpy as np

from fastgmm import GaussianMixture
from fastgmm.bench import make_data, make_start

N_SAMPLES, N_FEATURES, N_COMPONENTS, N_ITER, REPEATS = 1_000_000, 2, 8, 10, 3


def per_iteration(X, start):
    times = []
    for _ in range(REPEATS):
        model = GaussianMixture(N_COMPONENTS, tol=0.0, max_iter=N_ITER, **start)
        tick = time.perf_counter()
        model.fit(X)
        times.append((time.perf_counter() - tick) / model.n_iter_)
    return statistics.median(times), model


def main():
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    X = make_data(N_SAMPLES, N_FEATURES, N_COMPONENTS)
    start = make_start(X, N_COMPONENTS, "full")
    warnings.simplefilter("ignore")
    GaussianMixture(N_COMPONENTS, max_iter=1, **start).fit(X[:5000])  # compile
    in_memory, reference = per_iteration(X, start)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        X_cluster = client.persist(da.from_array(X, chunks=(N_SAMPLES // 8, N_FEATURES)))
        wait(X_cluster)
        GaussianMixture(N_COMPONENTS, max_iter=1, **start).fit(X_cluster)  # compile
        on_cluster, model = per_iteration(X_cluster, start)
    difference = np.abs(model.means_ - reference.means_).max()
    print(f"N={N_SAMPLES}, d={N_FEATURES}, K={N_COMPONENTS}, full, float64; "
          f"median of {REPEATS} fits of {N_ITER} iterations\n"
          f"in memory: {in_memory * 1e3:.1f} ms per iteration\n"
          f"Dask, 2 workers x 1 thread: {on_cluster * 1e3:.1f} ms per iteration\n"
          f"ratio: {on_cluster / in_memory:.2f}  (largest difference of a mean: "
          f"{difference:.1e})")


if __name__ == "__main__":
    main()
