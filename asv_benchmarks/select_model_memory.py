"""Peak-RSS rise of a select_model sweep, and the size of its largest model.

Run (Linux): ``python asv_benchmarks/select_model_memory.py [N d K_max]``
(default N=3000, d=200, K = 1..12, 'full' and 'diag', 10 iterations).
A small sweep first loads the compiled kernels; then the kernel's peak-RSS
mark is reset (``/proc/self/clear_refs``) and the figure is the peak RSS
during the sweep minus the RSS just before it, next to the bytes of the
fitted arrays of the largest model (``covariances_``, ``precisions_``,
``precisions_cholesky_``, ``means_``, ``weights_``). To compare two
versions, run it with each on ``PYTHONPATH``.
"""

import sys
import warnings

from measure_peak_rss import _status_kib  # the script beside this one


def main(n_samples=3000, n_features=200, k_max=12):
    from fastgmm import GaussianMixture, select_model
    from fastgmm.bench import make_data

    X = make_data(n_samples, n_features, 8)
    sweep = dict(covariance_types=("full", "diag"), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        select_model(X[:300, :10], n_components=range(1, 3), **sweep)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        base = _status_kib("VmRSS")
        select_model(X, n_components=range(1, k_max + 1), **sweep)
        peak = _status_kib("VmHWM")
        largest = GaussianMixture(k_max, covariance_type="full", max_iter=1,
                                  random_state=0).fit(X[:2 * k_max + 100])
    fitted = sum(getattr(largest, name).nbytes for name in (
        "covariances_", "precisions_", "precisions_cholesky_", "means_", "weights_"))
    print(f"N={n_samples} d={n_features} K=1..{k_max} full+diag: peak RSS rise of the "
          f"sweep {(peak - base) / 1024:.1f} MiB; largest model's fitted arrays "
          f"{fitted / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
