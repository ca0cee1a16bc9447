"""Missing values: time per EM iteration with NaN against complete data, side by side.

    python asv_benchmarks/missing_values.py iteration [--n 1000000] [--d 8] [--k 8] [--frac 0.1]
    python asv_benchmarks/missing_values.py patterns  [--n 1000000] [--d 16] [--k 8] [--frac 0.3]
    python asv_benchmarks/missing_values.py impute    [--n 20000]
    python asv_benchmarks/missing_values.py start     [--seeds 20]

``iteration``: the same data (mixture of K Gaussians, full covariances),
complete and with ``frac`` of the values missing completely at random,
fitted from the same start with ``tol=0``; the time per iteration is
(time of ``max_iter = 1 + ITERS``) - (time of ``max_iter = 1``) over
ITERS, the median of ``--repeats`` alternating runs, so the one-off costs
(grouping rows by pattern, copying them) are apart; those are reported as
the ``max_iter=1`` time.

``patterns``: how the time per iteration grows with the number of distinct
missingness patterns: the rows' patterns drawn from a pool of P patterns
(each with ``frac`` missing), for growing P.

``start``: what the starts do with NaN, on the penguins with 20 % MCAR:
k-means / k-means++ / random_from_data on the complete rows (the choice
made) or on the rows mean-imputed; final score, iterations, ARI.

``impute``: RMSE of the imputed values on mixture data with 20 % MCAR:
the fitted mixture's ``impute`` against column means and scikit-learn's
``IterativeImputer``.
"""

import argparse
import time

import numpy as np

from fastgmm import GaussianMixture

ITERS = 5


def mixture_data(rng, n, d, k, spread=3.0):
    centres = rng.normal(scale=spread, size=(k, d))
    A = rng.normal(size=(k, d, d)) / np.sqrt(d)
    labels = rng.integers(k, size=n)
    Z = rng.normal(size=(n, d))
    return centres[labels] + np.einsum("nd,nde->ne", Z, A[labels] + np.eye(d)[None] * 0.5)


def mcar(rng, X, frac):
    X = X.copy()
    mask = rng.random(X.shape) < frac
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


def start(X, k, seed=0):
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    good = X[~np.isnan(X).any(axis=1)]
    means = good[rng.choice(good.shape[0], k, replace=False)]
    return dict(weights_init=np.full(k, 1.0 / k), means_init=means,
                precisions_init=np.repeat(np.eye(d)[None] / good.var(axis=0).mean(), k, axis=0))


def fit_time(X, k, max_iter, init):
    gm = GaussianMixture(k, max_iter=max_iter, tol=0.0, nan_policy="marginalize", **init)
    t = time.perf_counter()
    gm.fit(X)
    return time.perf_counter() - t


def per_iteration(datasets, k, init, repeats):
    """{name: (median per-iteration seconds, median max_iter=1 seconds)}."""
    one = {name: [] for name in datasets}
    many = {name: [] for name in datasets}
    for name, X in datasets.items():  # warm-up: compile
        fit_time(X[:50000], k, 2, init)
    for _ in range(repeats):
        for name, X in datasets.items():
            one[name].append(fit_time(X, k, 1, init))
            many[name].append(fit_time(X, k, 1 + ITERS, init))
    return {name: ((np.median(many[name]) - np.median(one[name])) / ITERS,
                   float(np.median(one[name]))) for name in datasets}


def cmd_iteration(args):
    rng = np.random.default_rng(0)
    X = mixture_data(rng, args.n, args.d, args.k)
    Xm = mcar(rng, X, args.frac)
    init = start(X, args.k)
    res = per_iteration({"complete": X, "missing": Xm}, args.k, init, args.repeats)
    n_pat = len(np.unique(np.isnan(Xm), axis=0))
    print(f"N={args.n} d={args.d} K={args.k} full, {args.frac:.0%} MCAR "
          f"({np.isnan(Xm).any(axis=1).mean():.1%} rows incomplete, {n_pat} patterns)")
    for name, (it, first) in res.items():
        print(f"  {name:9s} per iteration {it * 1e3:8.1f} ms   fit with max_iter=1 "
              f"{first * 1e3:8.1f} ms")
    print(f"  ratio missing / complete per iteration: "
          f"{res['missing'][0] / res['complete'][0]:.2f}")


def cmd_patterns(args):
    rng = np.random.default_rng(1)
    X = mixture_data(rng, args.n, args.d, args.k)
    init = start(X, args.k)
    datasets = {"complete": X}
    for n_pool in args.pools:
        pool = rng.random((n_pool, args.d)) < args.frac
        pool[pool.all(axis=1), 0] = False
        mask = pool[rng.integers(n_pool, size=args.n)]
        Xm = X.copy()
        Xm[mask] = np.nan
        n_pat = len(np.unique(mask, axis=0))
        datasets[f"{n_pat} patterns"] = Xm
    res = per_iteration(datasets, args.k, init, args.repeats)
    print(f"N={args.n} d={args.d} K={args.k} full, {args.frac:.0%} missing per pattern")
    base = res["complete"][0]
    for name, (it, first) in res.items():
        print(f"  {name:16s} per iteration {it * 1e3:8.1f} ms ({it / base:5.2f}x)   "
              f"fit with max_iter=1 {first * 1e3:8.1f} ms")


def cmd_impute(args):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    rng = np.random.default_rng(2)
    X = mixture_data(rng, args.n, args.d, args.k)
    Xm = mcar(rng, X, 0.2)
    miss = np.isnan(Xm)
    col = np.where(miss, np.nanmean(Xm, axis=0), Xm)
    t = time.perf_counter()
    it = IterativeImputer(max_iter=20, random_state=0).fit_transform(Xm)
    t_it = time.perf_counter() - t
    t = time.perf_counter()
    gm = GaussianMixture(args.k, nan_policy="marginalize", random_state=0, n_init=3).fit(Xm)
    imp = gm.impute(Xm)
    t_gm = time.perf_counter() - t

    def rmse(A):
        return float(np.sqrt(np.mean((A[miss] - X[miss]) ** 2)))

    print(f"N={args.n} d={args.d} K={args.k}, 20% MCAR: RMSE of the imputed values")
    print(f"  column means          {rmse(col):.4f}")
    print(f"  IterativeImputer      {rmse(it):.4f}   ({t_it:.1f} s)")
    print(f"  GaussianMixture(K={args.k}) {rmse(imp):.4f}   ({t_gm:.1f} s, fit + impute)")


def cmd_start(args):
    """The start with NaN: k-means (etc.) on the complete rows or on mean-imputed rows."""
    from sklearn.metrics import adjusted_rand_score

    from fastgmm import _missing
    from fastgmm.datasets import load_penguins

    X, y, _, _ = load_penguins()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    original = _missing.MissingData.start_data

    def imputed(self, n_components):
        return _missing.mean_imputed(self._X, self._sample_weight), self._sample_weight

    choices = {"complete rows": original, "mean-imputed rows": imputed}
    print(f"penguins (standardised), {args.frac:.0%} MCAR, K=3 full, n_init=1, "
          f"{args.seeds} seeds x init_params")
    for init_params in ("kmeans", "k-means++", "random", "random_from_data"):
        for name, start_data in choices.items():
            _missing.MissingData.start_data = start_data
            lbs, iters, aris = [], [], []
            for seed in range(args.seeds):
                Xm = mcar(np.random.default_rng(seed), X, args.frac)
                gm = GaussianMixture(3, nan_policy="marginalize", random_state=seed,
                                     init_params=init_params, max_iter=500).fit(Xm)
                lbs.append(gm.score(Xm))
                iters.append(gm.n_iter_)
                aris.append(adjusted_rand_score(y, gm.predict(Xm)))
            print(f"  {init_params:16s} {name:18s} mean score {np.mean(lbs):.4f}  "
                  f"median n_iter {np.median(iters):5.1f}  mean ARI {np.mean(aris):.3f}  "
                  f"ARI>0.8 in {np.mean(np.array(aris) > 0.8):.0%}")
    _missing.MissingData.start_data = original


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("iteration", "patterns", "impute", "start"))
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--d", type=int, default=None)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--frac", type=float, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--pools", type=int, nargs="+", default=[1, 16, 256, 4096, 65536])
    args = p.parse_args()
    defaults = {"iteration": (1_000_000, 8, 0.1), "patterns": (1_000_000, 16, 0.3),
                "impute": (20_000, 8, 0.2), "start": (0, 4, 0.2)}[args.what]
    args.n = args.n or defaults[0]
    args.d = args.d or defaults[1]
    args.frac = args.frac if args.frac is not None else defaults[2]
    {"iteration": cmd_iteration, "patterns": cmd_patterns, "impute": cmd_impute,
     "start": cmd_start}[args.what](args)


if __name__ == "__main__":
    main()
