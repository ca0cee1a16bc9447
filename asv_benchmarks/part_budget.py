"""Pass time against the budget for partial statistics and the threads.

Run: ``python asv_benchmarks/part_budget.py [--threads 1,8,16] [--budgets 8,64]
[--shapes 50000:64:32:full,...] [--repeat R]``.

Every block of a pass writes its own partial statistics, and a kernel call
(a segment of the pass) holds at most ``_config.PART_BYTES`` of them; each
block of a segment is one task for the threads. For each shape, budget (MiB)
and thread count, prints the median time of ``_em.em_pass`` (from
``fastgmm.bench.make_start``'s start, its partial arrays reused as in the EM
loop) and the blocks per segment.
"""

import argparse
import time

import numpy as np

from fastgmm import _config, _covariance, _em, _threads
from fastgmm.bench import make_data, make_start, start_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,8,16")
    parser.add_argument("--budgets", default="8,64", help="MiB")
    parser.add_argument("--shapes", default="50000:64:32:full,200000:16:16:full")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for spec in args.shapes.split(","):
        n, d, k, cov = spec.split(":")
        n, d, k = int(n), int(d), int(k)
        X = make_data(n, d, k)
        params = start_params(make_start(X, k, cov), cov)
        model = _covariance.get(cov)
        small, scatter = model.block_floats(k, d)
        for budget in (int(b) << 20 for b in args.budgets.split(",")):
            _config.PART_BYTES = budget
            blocks = max(1, budget // (8 * (small + scatter)))
            for t in map(int, args.threads.split(",")):
                with _threads.thread_limit(t), _em.reused_pass_parts():
                    _em.em_pass(X, np.empty(0), params, cov)
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        _em.em_pass(X, np.empty(0), params, cov)
                        times.append(time.perf_counter() - t0)
                print(f"N={n} d={d} K={k} {cov}: budget {budget >> 20} MiB "
                      f"(at most {blocks} blocks a segment), {t} threads: "
                      f"{1e3 * np.median(times):.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
