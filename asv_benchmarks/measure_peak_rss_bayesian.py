"""Peak-RSS rise of a BayesianGaussianMixture fit on N=4,000,000, d=2, K=32, float64.

Run: ``python asv_benchmarks/measure_peak_rss_bayesian.py [kmeans|random_from_data]``
(Linux). As ``measure_peak_rss.py`` for the Gaussian mixture: a warm-up fit
on a slice of X compiles the kernels first, then the kernel's peak-RSS mark
is reset (``/proc/self/clear_refs``) and the figure is the peak RSS during a
fit of 5 iterations on the whole X (its start, the default priors' two
passes, the iterations and the final E-step included), minus the RSS just
before. The start is drawn by ``init_params`` (default 'random_from_data';
'kmeans' adds the k-means fit's labels, 8 bytes a row).
"""

import sys
import warnings

from fastgmm import BayesianGaussianMixture
from fastgmm.bench import make_data
from measure_peak_rss import _status_kib  # run as a script: this folder is on sys.path


def main(init_params="random_from_data"):
    n_samples, n_features, n_components = 4_000_000, 2, 32
    X = make_data(n_samples, n_features, n_components)
    kw = dict(n_components=n_components, init_params=init_params, random_state=0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        BayesianGaussianMixture(max_iter=1, **kw).fit(X[:5000])
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        base = _status_kib("VmRSS")
        BayesianGaussianMixture(max_iter=5, **kw).fit(X)
    peak = _status_kib("VmHWM")
    nxk = n_samples * n_components * 8 / 2**20
    print(f"init_params={init_params!r}. X: {X.nbytes / 2**20:.0f} MiB; an N x K float64 "
          f"matrix: {nxk:.0f} MiB; peak RSS rise during the fit: "
          f"{(peak - base) / 1024:.1f} MiB")


if __name__ == "__main__":
    main(*sys.argv[1:2])
