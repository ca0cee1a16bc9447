"""Peak-RSS rise of a fit on N=4,000,000, d=2, K=32, float64 (the README's figure).

Run: ``python asv_benchmarks/measure_peak_rss.py`` (Linux). A warm-up fit
on a slice of X compiles the kernels first, so compiler memory is not
counted; then the kernel's peak-RSS mark is reset (``/proc/self/clear_refs``)
and the figure is the peak RSS during 5 EM iterations on the whole X from a
fixed start, minus the RSS just before.
"""

import warnings

from fastgmm import GaussianMixture
from fastgmm.bench import make_data, make_start


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main():
    n_samples, n_features, n_components = 4_000_000, 2, 32
    X = make_data(n_samples, n_features, n_components)
    start = make_start(X, n_components, "full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(n_components, tol=0.0, max_iter=1, **start).fit(X[:5000])
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        base = _status_kib("VmRSS")
        GaussianMixture(n_components, tol=0.0, max_iter=5, **start).fit(X)
    peak = _status_kib("VmHWM")
    nxk = n_samples * n_components * 8 / 2**20
    print(f"X: {X.nbytes / 2**20:.0f} MiB; an N x K float64 matrix: {nxk:.0f} MiB; "
          f"peak RSS rise during the fit: {(peak - base) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
