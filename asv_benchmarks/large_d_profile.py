"""Where the time of an EM iteration goes at large d, fastgmm beside scikit-learn.

Run (unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are
forced, so that BLAS is timed fairly)::

    python asv_benchmarks/large_d_profile.py [--covariance-types full] \
        [--n-features 256,512,1024,2048] [--n-components 10] [--n-samples 4000]

For each shape it prints the median times (ms) of the stages of one
iteration -- the pass over the data (``_em.em_pass``), the M-step's
covariances (``_stats.estimate_parameters``) and their precision Cholesky
factors -- and the time per iteration of a whole fit of fastgmm and of
scikit-learn from the same start (the difference of fits of 3 and 1
iterations, halved, so that validation and the final E-step cancel), with
the ratio scikit-learn / fastgmm.

``--threshold`` instead times the fused pass of full covariances by the
Numba kernels and by BLAS on blocks (``fastgmm._blocked``) at each d,
alternating them: the crossing sets ``_config.BLAS_PASS_MIN_FEATURES``.
``--blas`` times trmm, syrk and gemm on a block of 512 rows with BLAS on 1
and 2 threads and checks whether the results have the same bits;
``--lapack D`` does the same for the M-step's factorisations (potrf, trtri,
potri, lauum) of a d = D matrix, in float64 and float32.
"""

import argparse
import time
import warnings

import numpy as np


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def profile(covariance_type, n_features, n_components, n_samples, repeat,
            sklearn_blas_threads=None):
    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    from fastgmm import GaussianMixture, _covariance, _em
    from fastgmm._stats import Params, estimate_parameters, nk_regularization
    from fastgmm.bench import make_data, make_start

    X = make_data(n_samples, n_features, n_components)
    start = make_start(X, n_components, covariance_type)

    def fit(cls, n_iter):
        model = cls(n_components, covariance_type=covariance_type, max_iter=n_iter,
                    tol=0.0, reg_covar=1e-2, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if cls is SKGaussianMixture and sklearn_blas_threads is not None:
                from threadpoolctl import threadpool_limits

                with threadpool_limits(sklearn_blas_threads):
                    return model.fit(X)
            return model.fit(X)

    m = fit(GaussianMixture, 1)
    params = Params(m.weights_, m.means_, m.covariances_, m.precisions_cholesky_)
    weights = np.empty(0)
    model = _covariance.get(covariance_type)
    stats = _em.em_pass(X, weights, params, covariance_type)
    t_pass = median_ms(lambda: _em.em_pass(X, weights, params, covariance_type), repeat)
    nk_reg = nk_regularization(stats.sum_weights, n_samples)
    t_mstep = median_ms(lambda: estimate_parameters(stats, model, 1e-2, nk_reg), repeat)
    cov = estimate_parameters(stats, model, 1e-2, nk_reg)[2]
    t_chol = median_ms(lambda: model.precision_cholesky(cov), repeat)
    ours = theirs = 0.0
    for n_iter, sign in ((3, 1), (1, -1)):
        ours += sign * median_ms(lambda: fit(GaussianMixture, n_iter), repeat)
        theirs += sign * median_ms(lambda: fit(SKGaussianMixture, n_iter), repeat)
    ours, theirs = ours / 2, theirs / 2
    print(f"{covariance_type:9s} {n_features:5d} {n_components:4d} {n_samples:6d}  "
          f"{t_pass:9.1f} {t_mstep:8.1f} {t_chol:8.1f}  {ours:10.1f} {theirs:10.1f}  "
          f"{theirs / ours:6.2f}", flush=True)


def threshold(n_features_list, n_components, n_samples, repeat, dtype):
    from fastgmm import GaussianMixture, _config, _em
    from fastgmm._stats import Params
    from fastgmm.bench import make_data

    print("    d  numba pass ms  blas pass ms  numba/blas")
    for n_features in n_features_list:
        X = make_data(n_samples, n_features, n_components).astype(dtype)
        m = GaussianMixture(n_components, covariance_type="full", max_iter=1,
                            random_state=0).fit(X)
        params = Params(m.weights_, m.means_, m.covariances_, m.precisions_cholesky_)
        weights = np.empty(0)
        saved = _config.BLAS_PASS_MIN_FEATURES
        times = {True: [], False: []}
        try:
            for _ in range(repeat):
                for blas in (False, True):
                    _config.BLAS_PASS_MIN_FEATURES = 1 if blas else 10**9
                    times[blas].append(median_ms(
                        lambda: _em.em_pass(X, weights, params, "full"), 1))
        finally:
            _config.BLAS_PASS_MIN_FEATURES = saved
        numba_ms, blas_ms = np.median(times[False]), np.median(times[True])
        print(f"{n_features:5d}  {numba_ms:13.1f}  {blas_ms:12.1f}  {numba_ms / blas_ms:10.2f}",
              flush=True)


def blas_threads(repeat):
    from scipy.linalg import get_blas_funcs
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    rows = 512
    print("    d  dtype    threads  trmm GF/s  syrk GF/s  gemm GF/s  (d^2 rows flops each;"
          " gemm 2x)")
    for n_features in (256, 1024):
        for dtype in (np.float64, np.float32):
            D = rng.normal(size=(rows, n_features)).astype(dtype)
            U = np.triu(rng.normal(size=(n_features, n_features))).astype(dtype)
            trmm, syrk = get_blas_funcs(("trmm", "syrk"), (D,))
            calls = (lambda: trmm(1.0, U.T, D.T.copy(order="F"), side=0, lower=1),
                     lambda: syrk(1.0, D.T, trans=0, lower=1),
                     lambda: D @ U)
            results = {}
            for n_threads in (1, 2):
                with threadpool_limits(n_threads):
                    ms = [median_ms(call, repeat) for call in calls]
                    results[n_threads] = [call() for call in calls]
                flops = rows * n_features**2
                rates = [flops / t / 1e6 for t in ms]
                rates[2] *= 2
                print(f"{n_features:5d}  {np.dtype(dtype).name:7s}  {n_threads:7d}  "
                      + "  ".join(f"{r:9.1f}" for r in rates), flush=True)
            same = [np.array_equal(a, b) for a, b in zip(results[1], results[2])]
            print(f"       same bits with 1 and 2 threads (trmm, syrk, gemm): {same}")


def lapack_threads(n_features, repeat):
    """The M-step's factorisations at ``n_features`` (potrf, trtri, potri,
    lauum; float64 and float32) with BLAS on 1 and 2 threads, and whether the
    factors have the same bits: what the M-step's one LAPACK thread per
    component gives up when there are fewer components than threads, and
    what float32 factorisations would gain."""
    from scipy.linalg import get_lapack_funcs
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.normal(size=(n_features + 64, n_features))
    S = A.T @ A / A.shape[0] + 0.01 * np.eye(n_features)
    print("    d  dtype    threads  potrf ms  trtri ms  potri ms  lauum ms")
    for dtype in (np.float64, np.float32):
        M = np.asfortranarray(S.astype(dtype))
        potrf, trtri, potri, lauum = get_lapack_funcs(("potrf", "trtri", "potri", "lauum"),
                                                      (M,))
        L = potrf(M, lower=1, clean=1)[0]
        calls = (lambda: potrf(M, lower=1, clean=1), lambda: trtri(L, lower=1),
                 lambda: potri(L, lower=1), lambda: lauum(L, lower=1))
        results = {}
        for n_threads in (1, 2, 1, 2):  # alternating
            with threadpool_limits(n_threads, user_api="blas"):
                ms = [median_ms(call, repeat) for call in calls]
                results[n_threads] = [calls[0]()[0], calls[1]()[0]]
            print(f"{n_features:5d}  {np.dtype(dtype).name:7s}  {n_threads:7d}  "
                  + "  ".join(f"{t:8.1f}" for t in ms), flush=True)
        same = [np.array_equal(a, b) for a, b in zip(results[1], results[2])]
        print(f"       same bits with 1 and 2 threads (potrf, trtri): {same}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--covariance-types", default="full")
    parser.add_argument("--n-features", default="256,512,1024,2048")
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--n-samples", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threshold", action="store_true")
    parser.add_argument("--dtype", default="float64", help="of the --threshold data")
    parser.add_argument("--blas", action="store_true")
    parser.add_argument("--lapack", type=int, default=None, metavar="D",
                        help="time the M-step's factorisations at d = D instead")
    parser.add_argument("--sklearn-blas-threads", type=int, default=None,
                        help="BLAS threads of scikit-learn's fits (default: BLAS's own)")
    args = parser.parse_args()
    n_features_list = [int(d) for d in args.n_features.split(",")]
    if args.blas:
        blas_threads(args.repeat)
        return
    if args.lapack:
        lapack_threads(args.lapack, args.repeat)
        return
    if args.threshold:
        threshold(n_features_list, args.n_components, args.n_samples, args.repeat,
                  np.dtype(args.dtype))
        return
    print("type          d    K      N    pass ms  mstep ms  chol ms  "
          "fastgmm ms/it  sklearn ms/it  ratio")
    for covariance_type in args.covariance_types.split(","):
        for n_features in n_features_list:
            profile(covariance_type, n_features, args.n_components, args.n_samples,
                    args.repeat, args.sklearn_blas_threads)


if __name__ == "__main__":
    main()
