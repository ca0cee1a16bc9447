"""fastgmm's k-means and default start against scikit-learn's, side by side.

Run (BLAS left at its defaults for scikit-learn)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python asv_benchmarks/start_speed.py [SHAPES] [--repeat R] [--dtype float32]

SHAPES are letters of ``fastgmm.bench.SHAPES`` (default ``abc``). For each
shape, on ``fastgmm.bench.make_data``'s blobs, it times, alternating the two
libraries and taking the median of ``R`` repeats (default 5):

- ``kmeans++``: ``fastgmm.kmeans.kmeans_plusplus`` against
  ``sklearn.cluster.kmeans_plusplus``, same ``random_state`` (the chosen
  indices are checked to be the same);
- ``KMeans fit``: ``fastgmm.KMeans`` against ``sklearn.cluster.KMeans``
  from the same initial centres (scikit-learn's k-means++ seeds, passed as
  an array), ``n_init=1``, default ``max_iter`` and ``tol`` (the number of
  iterations and the labels are compared);
- ``GM start``: the default ``GaussianMixture`` start
  (``fastgmm._init.initial_parameters`` with ``init_params='kmeans'``)
  against ``sklearn.mixture.GaussianMixture(...)._initialize_parameters``,
  both with ``np.random.RandomState(0)``.

The last column is scikit-learn's time over fastgmm's.

Each timed call starts after a pause of ``--settle`` seconds (default 0.5).
OpenBLAS's worker threads keep spinning for a while after a threaded product
(``OPENBLAS_THREAD_TIMEOUT``), and a pass started in that time shares the
cores with them: shape c, ``kmeans_plusplus`` timed right after
scikit-learn's (whose distances are threaded GEMMs) took 131-140 ms, after a
pause of 0.5 s 87-90 ms, and with ``OPENBLAS_THREAD_TIMEOUT=4`` (the workers
sleep at once) 82-89 ms with no pause; scikit-learn's own times did not move
(234-244 ms). ``--settle 0`` times the calls back to back.
"""

import argparse
import time
import warnings

import numpy as np


def _median_pair(run_a, run_b, repeat, settle):
    times_a, times_b = [], []
    for _ in range(repeat):
        for run, times in ((run_a, times_a), (run_b, times_b)):
            time.sleep(settle)
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    return float(np.median(times_a)), float(np.median(times_b))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="?", default="abc")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--settle", type=float, default=0.5,
                        help="seconds of pause before each timed call (see above)")
    parser.add_argument("--only", default="seed,fit,start",
                        help="comma-separated parts to time among seed, fit, start")
    args = parser.parse_args(argv)

    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    from fastgmm import KMeans
    from fastgmm._init import initial_parameters
    from fastgmm.bench import SHAPES, make_data
    from fastgmm.kmeans import kmeans_plusplus

    warnings.simplefilter("ignore")
    rows = []
    for key in args.shapes:
        shape = SHAPES[key]
        n_components, cov = shape["n_components"], shape["covariance_type"]
        X = make_data(shape["n_samples"], shape["n_features"],
                      n_components).astype(args.dtype)
        label = f"{key} N={X.shape[0]:.0e} d={X.shape[1]} K={n_components}"

        # Compile (or load from Numba's cache) outside the timed region, on X
        # itself: a slice would leave the parallel kernels to the first timing.
        initial_parameters(X, np.empty(0), n_components=n_components,
                           covariance_type=cov, init_params="kmeans", reg_covar=1e-6,
                           random_state=np.random.RandomState(0))

        parts = args.only.split(",")
        # k-means++ seeding, same draws.
        if "seed" in parts:
            ours = kmeans_plusplus(X, n_components, random_state=0)[1]
            theirs = sk_kmeans_plusplus(X, n_components, random_state=0)[1]
            same = "same seeds" if np.array_equal(ours, theirs) else "SEEDS DIFFER"
            t_f, t_s = _median_pair(
                lambda: kmeans_plusplus(X, n_components, random_state=0),
                lambda: sk_kmeans_plusplus(X, n_components, random_state=0),
                args.repeat, args.settle)
            rows.append((label, "kmeans++", t_f, t_s, same))

        # Lloyd from the same centres.
        if "fit" in parts:
            init = sk_kmeans_plusplus(X, n_components, random_state=0)[0]
            ours = KMeans(n_components, init=init, n_init=1).fit(X)
            theirs = SKKMeans(n_components, init=init, n_init=1).fit(X)
            note = (f"n_iter {ours.n_iter_}/{theirs.n_iter_}, "
                    f"labels differ {int(np.count_nonzero(ours.labels_ != theirs.labels_))}")
            t_f, t_s = _median_pair(
                lambda: KMeans(n_components, init=init, n_init=1).fit(X),
                lambda: SKKMeans(n_components, init=init, n_init=1).fit(X),
                args.repeat, args.settle)
            rows.append((label, "KMeans fit", t_f, t_s, note))

        # The default GaussianMixture start.
        if "start" not in parts:
            continue

        def ours_start():
            return initial_parameters(X, np.empty(0), n_components=n_components,
                                      covariance_type=cov, init_params="kmeans",
                                      reg_covar=1e-6, random_state=np.random.RandomState(0))

        sk_model = SKGaussianMixture(n_components, covariance_type=cov)

        def sk_start():
            sk_model._initialize_parameters(X, np.random.RandomState(0))

        sk_start()
        params = ours_start()
        err = float(np.max(np.abs(np.asarray(params[1]) - sk_model.means_)))
        t_f, t_s = _median_pair(ours_start, sk_start, args.repeat, args.settle)
        rows.append((label, "GM start", t_f, t_s, f"max |means diff| {err:.1e}"))

    print(f"dtype {args.dtype}, median of {args.repeat}, alternating, "
          f"{args.settle} s pause before each call")
    print("| shape | what | fastgmm ms | scikit-learn ms | ratio | check |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, what, t_f, t_s, note in rows:
        print(f"| {label} | {what} | {1e3 * t_f:.1f} | {1e3 * t_s:.1f} | "
              f"{t_s / t_f:.2f}x | {note} |")


if __name__ == "__main__":
    main()
