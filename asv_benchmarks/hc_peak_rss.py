"""Peak-RSS rise of a fit with init_params='hc' on N=1,000,000, d=4 (bounded by the subset).

Run: ``python asv_benchmarks/hc_peak_rss.py`` (Linux). The hierarchical
clustering is built on at most ``_config.HC_MAX_SAMPLES`` (2,000) rows, so
its m x m matrix of merge costs (32 MB) does not grow with N. Each start
runs in a process of its own: a warm-up fit on 300 rows compiles the
kernels (its tree is 300 rows, so it leaves no 2,000-row buffers behind for
the fit to reuse); then the kernel's peak-RSS mark is reset
(``/proc/self/clear_refs``) and the figure is the peak RSS during the fit
(the start and 5 EM iterations, K=3, 'full') minus the RSS just before,
with k-means starts for comparison.
"""

import subprocess
import sys
import time
import warnings

import numpy as np

from fastgmm import GaussianMixture
from measure_peak_rss import _status_kib  # run as a script: this folder is on sys.path


def measure(init, n_samples=1_000_000):
    n_features, n_components = 4, 3
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features)) + rng.integers(
        n_components, size=n_samples)[:, None] * 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(n_components, init_params=init, max_iter=1).fit(X[:300])
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        base = _status_kib("VmRSS")
        tick = time.perf_counter()
        GaussianMixture(n_components, init_params=init, max_iter=5, tol=0.0,
                        random_state=0).fit(X)
        seconds = time.perf_counter() - tick
    peak = _status_kib("VmHWM")
    print(f"N={n_samples}, init_params={init!r}: X {X.nbytes / 2**20:.1f} MiB; RSS before the fit "
          f"{base / 1024:.1f} MiB; peak RSS rise during the fit {(peak - base) / 1024:.1f} "
          f"MiB; {seconds:.1f} s")


def main():
    """Both starts on N=1e6, and 'hc' on N=3e6 (the same rise: bounded)."""
    for init, n in (("hc", 1_000_000), ("kmeans", 1_000_000), ("hc", 3_000_000)):
        subprocess.run([sys.executable, __file__, init, str(n)], check=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        measure(sys.argv[1], int(sys.argv[2]))
    else:
        main()
