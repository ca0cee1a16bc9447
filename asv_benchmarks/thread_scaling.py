"""Time per EM iteration against the number of kernel threads, shapes a-c.

Run: ``python asv_benchmarks/thread_scaling.py OUT.json [--threads 1,2,4,8,16]``.
For each shape of ``fastgmm.bench.SHAPES`` and each thread count, fits from
a fixed start for a fixed number of iterations (median of ``--repeat`` fits)
and records ms per iteration two ways: ``ms_per_iter``, a whole
``GaussianMixture.fit`` divided by the iterations (validation and the
fitted attributes included, as ``fastgmm bench`` times it), and
``ms_per_em_iter``, the EM loop alone (``_em.run_em`` from the same start:
the fused pass, the sums of its partial statistics, the M-step).
scikit-learn is timed once per shape with its BLAS limited to the largest
thread count (threadpoolctl), as the reference line. ``--plot OUT.png``
draws the figure from a results file (both measures where the file has
them).
"""

import argparse
import contextlib
import json
import platform
import time
import warnings

import numba
import numpy as np

from fastgmm import GaussianMixture, _em
from fastgmm.bench import SHAPES, environment, make_data, make_start, start_params


def time_fit(make_model, X, n_iter, repeat):
    times = []
    for _ in range(repeat):
        model = make_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            times.append((time.perf_counter() - t0) / n_iter)
    return 1e3 * float(np.median(times)), float(model.lower_bound_)


@contextlib.contextmanager
def numba_threads(n_threads):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def time_em(X, start, covariance_type, n_iter, repeat):
    """Median ms per iteration of ``_em.run_em`` from the start (no fit around it)."""
    params = start_params(start, covariance_type)
    times = []
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            _em.run_em(X, np.empty(0), params, covariance_type=covariance_type,
                       reg_covar=1e-6, tol=0.0, max_iter=n_iter)
            times.append((time.perf_counter() - t0) / n_iter)
    return 1e3 * float(np.median(times))


def measure(threads, shapes, n_iter, repeat, with_sklearn):
    rows = []
    for key in shapes:
        shape = SHAPES[key]
        X = make_data(shape["n_samples"], shape["n_features"], shape["n_components"])
        start = make_start(X, shape["n_components"], shape["covariance_type"])
        kw = dict(covariance_type=shape["covariance_type"], tol=0.0, max_iter=n_iter,
                  **start)
        # compile, or load from the cache, outside the timings: on X itself, as
        # a slice would leave the parallel kernels to the first timed fit
        time_fit(lambda: GaussianMixture(shape["n_components"], **dict(kw, max_iter=1)), X,
                 1, 1)
        for t in threads:
            ms, lb = time_fit(lambda: GaussianMixture(shape["n_components"], n_threads=t,
                                                      **kw), X, n_iter, repeat)
            with numba_threads(t):
                em_ms = time_em(X, start, shape["covariance_type"], n_iter, repeat)
            rows.append(dict(shape=key, library="fastgmm", threads=t, ms_per_iter=ms,
                             ms_per_em_iter=em_ms, lower_bound=lb))
            print(rows[-1], flush=True)
        if with_sklearn:
            from sklearn.mixture import GaussianMixture as SkGM
            from threadpoolctl import threadpool_limits

            with threadpool_limits(max(threads)):
                ms, lb = time_fit(lambda: SkGM(shape["n_components"], **kw), X, n_iter, 1)
            rows.append(dict(shape=key, library="scikit-learn", threads=max(threads),
                             ms_per_iter=ms, lower_bound=lb))
            print(rows[-1], flush=True)
    return rows


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key in sorted({r["shape"] for r in rows}):
        mine = [r for r in rows if r["shape"] == key and r["library"] == "fastgmm"]
        threads = [r["threads"] for r in mine]
        ms = [r["ms_per_iter"] for r in mine]
        s = SHAPES[key]
        line, = ax.plot(threads, ms, marker="o",
                        label=f"{key}: N={s['n_samples']:,} d={s['n_features']} "
                              f"K={s['n_components']} {s['covariance_type']}, fit")
        ax.plot(threads, [ms[0] / t for t in threads], ls=":", color=line.get_color())
        if all("ms_per_em_iter" in r for r in mine):
            em = [r["ms_per_em_iter"] for r in mine]
            ax.plot(threads, em, marker="s", ls="--", color=line.get_color(),
                    label=f"{key}: EM loop alone")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(threads, [str(t) for t in threads])
    ax.set_xlabel("kernel threads (n_threads)")
    ax.set_ylabel("time per EM iteration (ms)")
    ax.set_title("fastgmm thread scaling (dotted: perfect scaling from the fit)")
    ax.legend(fontsize=8)
    ax.text(0.01, 0.01, results["environment"], transform=ax.transAxes, fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="results JSON file (written, or read with --plot)")
    parser.add_argument("--threads", default="1,2,4,8,16")
    parser.add_argument("--shapes", default="abc")
    parser.add_argument("--n-iter", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--plot", metavar="PNG")
    args = parser.parse_args(argv)
    if args.plot:
        with open(args.out) as f:
            plot(json.load(f), args.plot)
        return 0
    threads = [t for t in map(int, args.threads.split(",")) if t <= numba.config.NUMBA_NUM_THREADS]
    rows = measure(threads, args.shapes, args.n_iter, args.repeat, not args.no_sklearn)
    with open(args.out, "w") as f:
        json.dump(dict(environment=environment() + f", {platform.processor() or ''}"
                       f", {numba.config.NUMBA_NUM_THREADS} cores", rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
