"""How far the machine itself scales with threads, beside the fused pass.

Run: ``python asv_benchmarks/core_scaling.py [--threads 1,2,4,8,16] [--repeat R]``.

For each thread count (Numba's threads, set per measurement), the same
run measures:

* **FMA**: GFLOP/s of ``fastgmm.bench.fma_loop`` (independent multiply-add
  chains in registers, one buffer per thread; fastest of the repeats): the
  compute a core delivers when all the others are busy too (shared caches,
  turbo frequency, and sibling hyper-threads all show here);
* **copy**: GB/s of ``fastgmm.bench.parallel_copy`` of 256 MiB (bytes read
  plus written);
* **pass a/b/c**: the fused pass kernel alone (``_em.em_pass`` from
  ``fastgmm.bench.make_start``'s start of the bench shapes; median of the
  repeats), ms.

and prints each as a speed-up over one thread. A pass that scales as far as
the FMA loop does is at what the machine's cores give; the gap between the
two is what the pass itself loses (serial parts, imbalance, memory).
"""

import argparse
import time

import numba
import numpy as np

from fastgmm import _em, _threads
from fastgmm.bench import (SHAPES, _FMA_BUFFER, _FMA_CHAIN, environment, fma_loop,
                           make_data, make_start, parallel_copy, start_params)


def fma_gflops(n_threads, repeat, n_sweeps=200):
    bufs = np.ones((n_threads, 4, _FMA_BUFFER))
    fma_loop(bufs, 1, 0.999999, 1e-7)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fma_loop(bufs, n_sweeps, 0.999999, 1e-7)
        best = min(best, time.perf_counter() - t0)
    return n_threads * n_sweeps * 8 * _FMA_CHAIN * _FMA_BUFFER / best / 1e9


def copy_gbytes(repeat, n_bytes=256 * 2**20):
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    parallel_copy(src, dst, 1 << 16)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        parallel_copy(src, dst, 1 << 16)
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


def pass_problem(key):
    shape = SHAPES[key]
    X = make_data(shape["n_samples"], shape["n_features"], shape["n_components"])
    start = make_start(X, shape["n_components"], shape["covariance_type"])
    return X, start_params(start, shape["covariance_type"]), shape["covariance_type"]


def pass_ms(problem, repeat):
    X, params, covariance_type = problem
    weight = np.empty(0)
    with _em.reused_pass_parts():
        _em.em_pass(X, weight, params, covariance_type)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            _em.em_pass(X, weight, params, covariance_type)
            times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2,4,8,16")
    parser.add_argument("--shapes", default="abc")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    threads = [t for t in map(int, args.threads.split(","))
               if t <= numba.config.NUMBA_NUM_THREADS]
    problems = {key: pass_problem(key) for key in args.shapes}
    rows = []
    for t in threads:
        with _threads.thread_limit(t):
            row = {"threads": t, "fma": fma_gflops(t, args.repeat),
                   "copy": copy_gbytes(args.repeat)}
            for key, problem in problems.items():
                row["pass " + key] = pass_ms(problem, args.repeat)
        rows.append(row)
        print(row, flush=True)
    print(environment())
    names = ["fma", "copy"] + ["pass " + key for key in args.shapes]
    print("| threads | " + " | ".join(f"{n} ({'GFLOP/s' if n == 'fma' else 'GB/s' if n == 'copy' else 'ms'}, speed-up)" for n in names) + " |")
    print("|" + " --- |" * (len(names) + 1))
    first = rows[0]
    for row in rows:
        cells = []
        for n in names:
            gain = (row[n] / first[n]) if not n.startswith("pass") else (first[n] / row[n])
            cells.append(f"{row[n]:.2f} ({gain:.2f}x)")
        print(f"| {row['threads']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
