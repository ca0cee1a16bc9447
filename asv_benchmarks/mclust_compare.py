"""fastgmm's 14 mclust models against R mclust's ``mclustBIC``, side by side.

Run: ``python asv_benchmarks/mclust_compare.py [--skip-timing] [--n-init 5] [--timing-tol 1e-3] [--timing-threads N]``
(needs ``Rscript`` with the mclust package, e.g. Debian's ``r-cran-mclust``;
exits with a message otherwise).

1. On Old Faithful (shipped with fastgmm, ``fastgmm.datasets``) and
   mclust's ``diabetes`` (read through Rscript, not shipped), for every
   model x G = 1..9: R's ``mclustBIC(X, G = 1:9)`` (its hierarchical start)
   and fastgmm's ``GaussianMixture(G, covariance_type=model,
   n_init=N, random_state=0)`` (its default start). Printed: whether the
   parameter counts agree (``nMclustParams``), both BIC tables in mclust's
   sign (2 loglik - p log n, i.e. minus scikit-learn's ``bic``; larger is
   better), the cells where fastgmm is below mclust by more than 0.5, the
   fraction of cells where fastgmm's BIC >= mclust's - 0.5 (over the cells
   where mclust has a value), and each side's best model.
2. The time of the whole 14 x 9 table on N = 20,000 synthetic rows, d = 4:
   ``mclustBIC`` (all rows, its default) against fastgmm (``n_init=1``:
   one GaussianMixture per cell, and ``select_model``, whose k-means starts
   are shared by the 14 models), with their best BIC and the thread counts
   each used.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from fastgmm import GaussianMixture
from fastgmm._covariance import MCLUST_NAMES, get
from fastgmm.datasets import load_old_faithful

G_VALUES = range(1, 10)
TOLERANCE = 0.5

R_BIC = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
elapsed <- system.time(bic <- mclustBIC(X, G = 1:9, verbose = FALSE))[["elapsed"]]
models <- c("EII","VII","EEI","VEI","EVI","VVI","EEE","VEE","EVE","VVE","EEV","VEV","EVV","VVV")
out <- matrix(NA_real_, nrow = 9, ncol = 14)
np <- matrix(NA_integer_, nrow = 9, ncol = 14)
for (j in seq_along(models)) {
  if (models[j] %in% colnames(bic)) out[, j] <- bic[, models[j]]
  for (g in 1:9) np[g, j] <- nMclustParams(models[j], ncol(X), g)
}
write.table(out, args[2], sep = ",", row.names = FALSE, col.names = FALSE, na = "NaN")
write.table(np, args[3], sep = ",", row.names = FALSE, col.names = FALSE)
cat(elapsed, "\n", file = args[4])
"""

R_DIABETES = r"""
suppressPackageStartupMessages(library(mclust))
data(diabetes, package = "mclust")
write.table(as.matrix(diabetes[, -1]), commandArgs(trailingOnly = TRUE)[1], sep = ",",
            row.names = FALSE, col.names = FALSE)
"""


def rscript(code, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(code)
    try:
        subprocess.run(["Rscript", f.name, *map(str, args)], check=True)
    finally:
        os.unlink(f.name)


def mclust_table(X, workdir, name):
    """(BIC (9, 14), n_params (9, 14), seconds) of R's mclustBIC(X, G = 1:9)."""
    data = os.path.join(workdir, f"{name}.csv")
    np.savetxt(data, X, delimiter=",", fmt="%.17g")
    paths = [os.path.join(workdir, f"{name}_{part}") for part in ("bic", "np", "time")]
    rscript(R_BIC, data, *paths)
    bic = np.loadtxt(paths[0], delimiter=",", ndmin=2)
    n_params = np.loadtxt(paths[1], delimiter=",", ndmin=2).astype(int)
    with open(paths[2]) as f:
        seconds = float(f.read())
    return bic, n_params, seconds


def fastgmm_table(X, n_init, random_state=0, tol=1e-3, n_threads=None):
    """(BIC in mclust's sign (9, 14), n_parameters_ (9, 14), seconds)."""
    bic = np.full((len(G_VALUES), len(MCLUST_NAMES)), np.nan)
    n_params = np.zeros(bic.shape, dtype=int)
    tick = time.perf_counter()
    for j, model in enumerate(MCLUST_NAMES):
        for i, g in enumerate(G_VALUES):
            n_params[i, j] = get(model).n_parameters(g, X.shape[1])
            gm = GaussianMixture(g, covariance_type=model, n_init=n_init,
                                 random_state=random_state, tol=tol, n_threads=n_threads)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    gm.fit(X)
            except ValueError:
                continue
            assert gm.n_parameters_ == n_params[i, j]
            bic[i, j] = -gm.bic(X)
    return bic, n_params, time.perf_counter() - tick


def select_model_table(X, n_init, random_state=0, tol=1e-3, n_threads=None):
    """The same table through ``fastgmm.select_model``, whose starts (one
    k-means run per start and G) are shared by the 14 models."""
    from fastgmm import select_model

    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = select_model(X, n_components=G_VALUES, covariance_types=MCLUST_NAMES,
                                 n_init=n_init, random_state=random_state, tol=tol,
                                 n_threads=n_threads)
    seconds = time.perf_counter() - tick
    bic = np.full((len(G_VALUES), len(MCLUST_NAMES)), np.nan)
    for row in selection.results_:
        bic[list(G_VALUES).index(row["n_components"]),
            MCLUST_NAMES.index(row["covariance_type"])] = -row["bic"]
    return bic, seconds


def print_table(title, bic):
    print(title)
    print("  G " + "".join(f"{m:>10}" for m in MCLUST_NAMES))
    for i, g in enumerate(G_VALUES):
        print(f"{g:>3} " + "".join(f"{v:>10.2f}" if np.isfinite(v) else f"{'NA':>10}"
                                   for v in bic[i]))


def best(bic):
    if not np.isfinite(bic).any():
        return "none", np.nan
    i, j = np.unravel_index(np.nanargmax(bic), bic.shape)
    return f"{MCLUST_NAMES[j]},{G_VALUES[i]}", bic[i, j]


def compare(name, X, workdir, n_init):
    print(f"\n=== {name}: n={X.shape[0]}, d={X.shape[1]} ===")
    r_bic, r_np, r_seconds = mclust_table(X, workdir, name)
    ours, our_np, our_seconds = fastgmm_table(X, n_init)
    print(f"n_parameters equal to nMclustParams in all {r_np.size} cells: "
          f"{bool(np.array_equal(r_np, our_np))}")
    print_table("mclust BIC (mclustBIC, its hc start):", r_bic)
    print_table(f"fastgmm BIC (default start, n_init={n_init}, random_state=0):", ours)
    has_r = np.isfinite(r_bic)
    ok = has_r & np.isfinite(ours) & (ours >= r_bic - TOLERANCE)
    print(f"cells with fastgmm >= mclust - {TOLERANCE}: {ok.sum()} / {has_r.sum()} "
          f"= {ok.sum() / has_r.sum():.1%} (mclust NA: {(~has_r).sum()} cells, "
          f"fastgmm failed: {(~np.isfinite(ours)).sum()} cells)")
    worse = [(MCLUST_NAMES[j], G_VALUES[i], ours[i, j] - r_bic[i, j])
             for i, j in zip(*np.nonzero(has_r & ~ok))]
    if worse:
        print("  below: " + ", ".join(f"{m},{g}: {d:+.2f}" for m, g, d in worse))
    better = [(MCLUST_NAMES[j], G_VALUES[i], ours[i, j] - r_bic[i, j])
              for i, j in zip(*np.nonzero(has_r & np.isfinite(ours)
                                          & (ours > r_bic + TOLERANCE)))]
    if better:
        print("  above by > 0.5 (a better optimum, or a spurious one): "
              + ", ".join(f"{m},{g}: {d:+.2f}" for m, g, d in better))
    extra = [(MCLUST_NAMES[j], G_VALUES[i]) for i, j in zip(*np.nonzero(
        ~has_r & np.isfinite(ours)))]
    if extra:
        print("  fastgmm has a value where mclust reports NA: "
              + ", ".join(f"{m},{g}" for m, g in extra))
    print("best: mclust %s (%.2f), fastgmm %s (%.2f)" % (*best(r_bic), *best(ours)))
    print(f"time: mclustBIC {r_seconds:.2f} s, fastgmm {our_seconds:.2f} s")


def timing(workdir, n_samples=20_000, n_features=4, seed=0, tol=1e-3, n_threads=None):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(4, n_features))
    labels = rng.integers(4, size=n_samples)
    X = centres[labels] + rng.normal(size=(n_samples, n_features)) * rng.uniform(
        0.5, 2.0, size=(4, n_features))[labels]
    print(f"\n=== timing: the whole 14 x 9 table, N={n_samples}, d={n_features}, "
          f"fastgmm tol={tol} ===")
    r_bic, _, r_seconds = mclust_table(X, workdir, "timing")
    import numba
    print(f"mclustBIC (R, single-threaded Fortran): {r_seconds:.1f} s, best "
          "%s (%.2f)" % best(r_bic))
    for what, (ours, our_seconds) in (
            ("GaussianMixture per cell",
             fastgmm_table(X, n_init=1, tol=tol, n_threads=n_threads)[::2]),
            ("select_model (shared starts)",
             select_model_table(X, n_init=1, tol=tol, n_threads=n_threads))):
        threads = n_threads or numba.get_num_threads()
        print(f"fastgmm {what}, n_init=1 ({threads} threads): "
              f"{our_seconds:.1f} s, best %s (%.2f)" % best(ours))
        print(f"  ratio mclust / fastgmm: {r_seconds / our_seconds:.2f}x; "
              f"cells with fastgmm >= mclust - {TOLERANCE}: "
              f"{int(np.sum(np.isfinite(ours) & (ours >= r_bic - TOLERANCE)))} / "
              f"{int(np.isfinite(r_bic).sum())}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-init", type=int, default=5)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-tol", type=float, default=1e-3,
                        help="fastgmm's tol in the timing (default: its default, 1e-3; "
                             "mclust stops at a relative change of 1e-5 of the total "
                             "log-likelihood, about 8e-5 per sample on that data)")
    parser.add_argument("--timing-threads", type=int, default=None,
                        help="fastgmm's n_threads in the timing (default: all cores)")
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        sys.exit("mclust_compare.py needs Rscript with the mclust package "
                 "(for instance: apt-get install r-cran-mclust); not found on PATH.")
    with tempfile.TemporaryDirectory() as workdir:
        compare("Old Faithful", load_old_faithful(), workdir, args.n_init)
        diabetes = os.path.join(workdir, "diabetes.csv")
        rscript(R_DIABETES, diabetes)
        compare("diabetes (mclust)", np.loadtxt(diabetes, delimiter=","), workdir, args.n_init)
        if not args.skip_timing:
            timing(workdir, tol=args.timing_tol, n_threads=args.timing_threads)


if __name__ == "__main__":
    main()
