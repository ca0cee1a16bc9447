"""Peak-RSS rise and time of each stage of a large full-covariance fit.

Run: ``python asv_benchmarks/large_model_stages.py [K d N n_iter]`` (Linux;
default K=10, d=2000, N=3000, 2 iterations, 'random_from_data' start). A
warm-up fit on a small problem compiles the kernels first. Each stage
(the start, every pass, every M-step and its parts, the fitted arrays) is
wrapped: the kernel's peak-RSS mark (``/proc/self/clear_refs``) is reset
when a stage begins, and the stage prints the RSS when it began, its peak
rise above that, and its time. Rises include what the stage's callees
allocate, numba's allocations inside kernels included (tracemalloc does
not see those). The model's parameter size P = 8 (K + K d + K d^2) bytes
is printed for comparison.
"""

import functools
import sys
import time
import warnings

import numpy as np

from measure_peak_rss import _status_kib  # the script beside this one


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


_STACK = []
_LINES = []


def _wrap(module, name, label=None):
    func = getattr(module, name)
    label = label or name

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if _STACK:
            _STACK[-1][1] = max(_STACK[-1][1], _status_kib("VmHWM"))
        _reset_peak()
        rss0 = _status_kib("VmRSS")
        _STACK.append([label, rss0])
        tick = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - tick
            _, peak = _STACK.pop()
            peak = max(peak, _status_kib("VmHWM"))
            _LINES.append((len(_STACK), label, rss0, peak - rss0, seconds))
            if _STACK:
                _STACK[-1][1] = max(_STACK[-1][1], peak)
            _reset_peak()

    setattr(module, name, wrapper)


def main(n_components=10, n_features=2000, n_samples=3000, n_iter=2):
    from fastgmm import GaussianMixture, _config, _covariance, _em, _init, _stats, gaussian_mixture
    from fastgmm.bench import make_data

    X = make_data(n_samples, n_features, n_components)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = np.ascontiguousarray(X[:300, :20])
        part_bytes, _config.PART_BYTES = _config.PART_BYTES, 1  # the accumulating pass too
        GaussianMixture(2, init_params="random_from_data", max_iter=1,
                        random_state=0).fit(small)
        _config.PART_BYTES = part_bytes
        GaussianMixture(2, init_params="random_from_data", max_iter=1,
                        random_state=0).fit(small)
    for module, name in [(_em, "em_pass"), (_em, "m_step"), (_init, "em_pass"),
                         (_init, "m_step"), (_em, "estimate_parameters"),
                         (_covariance, "compute_precision_cholesky"),
                         (_covariance.Full, "precision_cholesky"),
                         (gaussian_mixture, "initial_parameters"),
                         (gaussian_mixture.GaussianMixture, "_fitted_arrays"),
                         (gaussian_mixture.GaussianMixture, "_fit")]:
        if hasattr(module, name):
            _wrap(module, name)
    model_bytes = 8 * (n_components + n_components * n_features
                       + n_components * n_features**2)
    base = _status_kib("VmRSS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(n_components, init_params="random_from_data", tol=0.0,
                        max_iter=n_iter, random_state=0).fit(X)
    print(f"K={n_components} d={n_features} N={n_samples} iterations={n_iter}; "
          f"P = {model_bytes / 2**20:.0f} MiB; X {X.nbytes / 2**20:.0f} MiB; "
          f"RSS before the fit {base / 1024:.0f} MiB")
    print(f"{'stage':<40}{'RSS at start':>14}{'peak rise':>12}{'/ P':>7}{'seconds':>9}")
    for depth, label, rss0, rise, seconds in _LINES:
        print(f"{'  ' * depth + label:<40}{(rss0 - base) / 1024:>11.0f}MiB"
              f"{rise / 1024:>9.0f}MiB{rise * 1024 / model_bytes:>7.2f}{seconds:>9.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
