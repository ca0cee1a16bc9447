"""CPU time per ``predict_proba`` call, fastgmm vs scikit-learn, side by side.

Run: ``python asv_benchmarks/predict_latency.py`` (unset ``OPENBLAS_CORETYPE``
and ``OPENBLAS_L2_SIZE`` where they are forced, so that scikit-learn's BLAS
is timed fairly). Both models are fitted on the same data (5,000 rows,
d=16, K=8, full, 'random_from_data' start, 5 iterations); each batch size
is timed as the minimum over 7 rounds of the mean ``time.thread_time()`` of
300 calls, which keeps other processes' load out of the numbers.
"""

import time
import warnings

from sklearn.mixture import GaussianMixture as SKGaussianMixture

from fastgmm import GaussianMixture
from fastgmm.bench import make_data


def cpu_us_per_call(fn, calls=300, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.thread_time() - t0) / calls)
    return 1e6 * best


def main():
    X = make_data(5000, 16, 8)
    options = dict(init_params="random_from_data", random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(8, **options).fit(X)
        theirs = SKGaussianMixture(8, **options).fit(X)
    for batch_size in (1, 100):
        batch = X[:batch_size]
        ours.predict_proba(batch)  # compile or load from cache
        t_ours = cpu_us_per_call(lambda: ours.predict_proba(batch))
        t_theirs = cpu_us_per_call(lambda: theirs.predict_proba(batch))
        print(f"predict_proba, {batch_size:3d} rows: fastgmm {t_ours:6.1f} us, "
              f"scikit-learn {t_theirs:6.1f} us, ratio {t_theirs / t_ours:5.1f}")


if __name__ == "__main__":
    main()
