"""Peak RSS and time of a large full-covariance fit: fastgmm against scikit-learn.

Run (Linux): ``python asv_benchmarks/large_model_memory.py`` (``--help``
for the options; default K=10, d=2000, N=3000, 2 EM iterations, 3 repeats).
To time numpy's and scikit-learn's BLAS fairly where ``OPENBLAS_CORETYPE``
is forced, run it as ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python
asv_benchmarks/large_model_memory.py``.

Every fit runs in a fresh subprocess, the libraries alternating: the data
(``fastgmm.bench.make_data``) are built, a small fit of the same covariance
type loads the compiled kernels (and scikit-learn's modules), the kernel's
peak-RSS mark is reset (``/proc/self/clear_refs``), and the fit runs from the
same start ('random_from_data' with ``random_state=0``, the same rows in
both libraries) for a fixed number of iterations (``tol=0``). The figures
are the peak RSS during the fit minus the RSS just before it (X and the
loaded code excluded) and the fit's wall time; medians over the repeats.
P is the model's parameter size, ``8 (K + K d + K d^2)`` bytes (weights,
means and covariances in float64); the fitted model of either library holds
three arrays of ``K d^2`` floats (covariances, precisions and their Cholesky
factors), i.e. about 3 P.
"""

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np

from measure_peak_rss import _status_kib  # the script beside this one


def _child(lib, n_components, n_features, n_samples, n_iter):
    from fastgmm.bench import make_data

    if lib == "fastgmm":
        from fastgmm import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    X = make_data(n_samples, n_features, n_components)
    kwargs = dict(covariance_type="full", init_params="random_from_data", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = np.ascontiguousarray(X[:200, :20])
        if lib == "fastgmm":
            # The large model's passes add their scatters in place (one
            # block's exceed PART_BYTES): load that kernel too.
            from fastgmm import _config

            part_bytes, _config.PART_BYTES = _config.PART_BYTES, 1
            GaussianMixture(2, max_iter=1, **kwargs).fit(small)
            _config.PART_BYTES = part_bytes
        GaussianMixture(2, max_iter=1, **kwargs).fit(small)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        base = _status_kib("VmRSS")
        tick = time.perf_counter()
        model = GaussianMixture(n_components, tol=0.0, max_iter=n_iter, **kwargs).fit(X)
        seconds = time.perf_counter() - tick
    peak = _status_kib("VmHWM")
    print(json.dumps({"lib": lib, "peak_mib": (peak - base) / 1024, "seconds": seconds,
                      "lower_bound": float(model.lower_bound_), "n_iter": model.n_iter_}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--n-features", type=int, default=2000)
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--libs", default="fastgmm,sklearn")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = (args.n_components, args.n_features, args.n_samples, args.n_iter)
    if args.child:
        _child(args.child, *shape)
        return
    libs = args.libs.split(",")
    runs = {lib: [] for lib in libs}
    for _ in range(args.repeat):
        for lib in libs:
            out = subprocess.run(
                [sys.executable, __file__, "--child", lib, "--n-components", str(shape[0]),
                 "--n-features", str(shape[1]), "--n-samples", str(shape[2]),
                 "--n-iter", str(shape[3])],
                check=True, capture_output=True, text=True).stdout
            run = json.loads(out.strip().splitlines()[-1])
            runs[lib].append(run)
            print(f"  {lib:8s} peak {run['peak_mib']:7.0f} MiB  {run['seconds']:7.2f} s  "
                  f"lower bound {run['lower_bound']:.10g}", flush=True)
    k, d, n, n_iter = shape
    p_mib = 8 * (k + k * d + k * d * d) / 2**20
    print(f"K={k} d={d} N={n} full, {n_iter} iterations, medians of {args.repeat}; "
          f"P = {p_mib:.0f} MiB")

    def median(values):
        values = sorted(values)
        return values[len(values) // 2] if len(values) % 2 else 0.5 * (
            values[len(values) // 2 - 1] + values[len(values) // 2])

    for lib in libs:
        peak = median([r["peak_mib"] for r in runs[lib]])
        seconds = median([r["seconds"] for r in runs[lib]])
        print(f"{lib:8s} peak RSS rise {peak:7.0f} MiB = {peak / p_mib:4.2f} P   "
              f"time {seconds:7.2f} s")
    if len(libs) == 2:
        a, b = libs
        ratios = [rb["seconds"] / ra["seconds"] for ra, rb in zip(runs[a], runs[b])]
        print(f"time {b} / {a}, per repeat: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
