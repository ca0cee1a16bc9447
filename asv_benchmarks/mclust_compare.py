"""fastgmm's 14 mclust models against R mclust's ``mclustBIC``, side by side.

Needs ``Rscript`` with the mclust package (Debian: ``r-cran-mclust``); exits
with a message otherwise. mclust's ``diabetes`` data are read through R,
never shipped here. Sub-commands::

    python asv_benchmarks/mclust_compare.py tables [--tol 1e-5] [--n-init 5]
    python asv_benchmarks/mclust_compare.py timing [--repeats 3] [--n-samples 20000]
    python asv_benchmarks/mclust_compare.py hc-ari
    python asv_benchmarks/mclust_compare.py hc-timing

``tables``: on Old Faithful (``fastgmm.datasets``) and diabetes (145 x 3),
for every model x G = 1..9, R's ``mclustBIC(X, G = 1:9)`` (its hierarchical
start, EM to a relative tolerance of 1e-5) against fastgmm's
``select_model(X, n_components=range(1, 10), covariance_types='mclust',
random_state=0, tol=...)`` with (a) ``init_params='hc'`` (one tree, shared by
every model and G) and (b) the default k-means start with ``n_init=5``,
spurious maxima reported as NaN (``keep_spurious=False``, the default).
Printed: whether ``n_parameters`` equals ``nMclustParams`` in every cell,
the three BIC tables in mclust's sign (``2 log L - p log n``, larger is
better), and for each start the fraction of the 126 cells that *agree*:

- both have a value and fastgmm's >= mclust's - 0.5, or
- both are missing (fastgmm: spurious or failed; mclust: NA).

A cell fastgmm reports NaN where mclust has a value does not agree; a cell
where fastgmm has a value and mclust NA is listed separately ("fastgmm only")
and counted as agreeing in the main fraction (a finite BIC is above a
missing one) and not in the strict one. Cells where fastgmm is above
mclust by more than 0.5 (a better optimum) are listed separately, and the
best model of each side is compared.

``timing`` (``--tol mclust``: mclust's stopping rule, see
:func:`mclust_equivalent_tol`): the whole 14 x 9 table on N synthetic rows, d = 4 (a mixture of
4 Gaussians: centres N(0, 4^2 I), per-component per-feature standard
deviations U(0.5, 2), labels uniform; ``numpy.random.default_rng(0)``):
``mclustBIC(X, G = 1:9)`` and fastgmm's ``select_model(...,
init_params='hc')`` alternately, ``--repeats`` times each, with the median
of each and each side's best BIC and thread count. mclust's hierarchical
start runs on a random subset of 2,000 rows (``mclust.options("subset")``),
as fastgmm's does (``hc_max_samples``); by default mclust is given fastgmm's
subset (``initialization = list(subset = ...)``), so that both start from
the same tree (``--own-subset``: its own draw).

``hc-ari``: the adjusted Rand index between fastgmm's hierarchical tree cut
at G and mclust's ``hclass(hc(X, modelName, use="SVD"), G)``, G = 2..9, VVV
and EII criteria, on both data sets.

``hc-timing``: one tree on 2,000 rows of 4 standard normal features,
fastgmm's ``hierarchical_tree`` and mclust's ``hc(X, modelName, use="SVD")``
(``system.time``, elapsed) alternately, 3 times each, VVV and EII.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from fastgmm import select_model  # noqa: E402
from fastgmm._covariance import MCLUST_NAMES, get  # noqa: E402
from fastgmm.datasets import load_old_faithful  # noqa: E402

G_VALUES = list(range(1, 10))
TOLERANCE = 0.5

R_BIC = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
init <- list()
if (length(args) >= 5) init$subset <- scan(args[5], quiet = TRUE)
elapsed <- system.time(bic <- mclustBIC(X, G = 1:9, initialization = init,
                                        verbose = FALSE))[["elapsed"]]
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
cat(as.character(packageVersion("mclust")), "\n")
"""

R_HCLASS = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
write.table(hclass(hc(X, modelName = args[2], use = "SVD"), 1:9), args[3], sep = ",",
            row.names = FALSE, col.names = FALSE)
"""


def rscript(code, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(code)
    try:
        return subprocess.run(["Rscript", f.name, *map(str, args)], check=True,
                              capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)


def write_csv(X, workdir, name):
    path = os.path.join(workdir, f"{name}.csv")
    np.savetxt(path, X, delimiter=",", fmt="%.17g")
    return path


def mclust_table(X, workdir, name, subset=None):
    """(BIC (9, 14), n_params (9, 14), seconds) of R's mclustBIC(X, G = 1:9);
    ``subset``: the rows (0-based) of its hierarchical start (default: its own
    random draw of 2,000 rows when X has more)."""
    data = write_csv(X, workdir, name)
    paths = [os.path.join(workdir, f"{name}_{part}") for part in ("bic", "np", "time")]
    if subset is not None:
        paths.append(os.path.join(workdir, f"{name}_subset"))
        np.savetxt(paths[-1], np.asarray(subset) + 1, fmt="%d")
    rscript(R_BIC, data, *paths)
    bic = np.loadtxt(paths[0], delimiter=",", ndmin=2)
    n_params = np.loadtxt(paths[1], delimiter=",", ndmin=2).astype(int)
    with open(paths[2]) as f:
        seconds = float(f.read())
    return bic, n_params, seconds


def fastgmm_table(X, **params):
    """(BIC in mclust's sign (9, 14), n_parameters (9, 14), seconds, selection)."""
    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = select_model(X, n_components=G_VALUES, covariance_types="mclust",
                                 random_state=0, **params)
    seconds = time.perf_counter() - tick
    bic = np.full((len(G_VALUES), len(MCLUST_NAMES)), np.nan)
    n_params = np.zeros(bic.shape, dtype=int)
    for row in selection.results_:
        i, j = G_VALUES.index(row["n_components"]), MCLUST_NAMES.index(row["covariance_type"])
        bic[i, j] = -row["bic"]
        n_params[i, j] = row["n_parameters"]
    return bic, n_params, seconds, selection


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


def cells(mask, diff=None):
    out = []
    for i, j in zip(*np.nonzero(mask)):
        cell = f"{MCLUST_NAMES[j]},{G_VALUES[i]}"
        out.append(cell if diff is None else f"{cell}: {diff[i, j]:+.2f}")
    return ", ".join(out) or "none"


def agreement(ours, theirs):
    """Counts of the agreement criterion (see the module docstring)."""
    has_r, has_f = np.isfinite(theirs), np.isfinite(ours)
    within = has_r & has_f & (ours >= theirs - TOLERANCE)
    both_na = ~has_r & ~has_f
    only_f = has_f & ~has_r
    return {
        "agree": int((within | both_na | only_f).sum()),
        "strict": int((within | both_na).sum()),
        "n": ours.size,
        "within": within, "both_na": both_na, "only_f": only_f,
        "below": has_r & has_f & ~within,
        "nan_only_f": has_r & ~has_f,
        "above": has_r & has_f & (ours > theirs + TOLERANCE),
    }


def compare(name, X, workdir, tol, max_iter, n_init, n_threads):
    print(f"\n=== {name}: n={X.shape[0]}, d={X.shape[1]} ===")
    r_bic, r_np, r_seconds = mclust_table(X, workdir, name.split()[0])
    print_table("mclust BIC (mclustBIC, its hc start):", r_bic)
    print(f"mclust best: %s (%.2f); mclustBIC {r_seconds:.2f} s" % best(r_bic))
    summary = []
    for label, params in (
            ("init_params='hc'", dict(init_params="hc")),
            (f"k-means, n_init={n_init}", dict(n_init=n_init))):
        ours, our_np, seconds, _ = fastgmm_table(X, tol=tol, max_iter=max_iter,
                                                  n_threads=n_threads, **params)
        expected = np.array([[get(m).n_parameters(g, X.shape[1]) for m in MCLUST_NAMES]
                             for g in G_VALUES])
        print(f"\n-- fastgmm {label}, tol={tol}, max_iter={max_iter}, random_state=0 "
              f"({seconds:.2f} s)")
        print(f"n_parameters equal to nMclustParams in all {r_np.size} cells: "
              f"{bool(np.array_equal(r_np, our_np) and np.array_equal(r_np, expected))}")
        print_table("fastgmm BIC (NA: spurious or failed):", ours)
        a = agreement(ours, r_bic)
        diff = ours - r_bic
        print(f"agree: {a['agree']} / {a['n']} = {a['agree'] / a['n']:.1%} "
              f"(strict, fastgmm-only cells not counted: {a['strict']} / {a['n']} = "
              f"{a['strict'] / a['n']:.1%}); within 0.5 or above: {int(a['within'].sum())}, "
              f"both NA: {int(a['both_na'].sum())}, fastgmm only: {int(a['only_f'].sum())}")
        print(f"  below by > 0.5: {cells(a['below'], diff)}")
        print(f"  fastgmm NA, mclust has a value: {cells(a['nan_only_f'])}")
        print(f"  fastgmm only (mclust NA): {cells(a['only_f'])}")
        print(f"  mclust NA and fastgmm NA: {cells(a['both_na'])}")
        print(f"  above by > 0.5 (a better optimum): {cells(a['above'], diff)}")
        ob, rb = best(ours), best(r_bic)
        verdict = "at least as good" if ob[1] >= rb[1] - TOLERANCE else "WORSE"
        print("best: fastgmm %s (%.2f), mclust %s (%.2f): %s" % (*ob, *rb, verdict))
        summary.append((name, label, a["agree"], a["strict"], a["n"], ob, rb))
    return summary


def mclust_equivalent_tol(log_likelihoods, n_samples, mclust_tol=1e-5):
    """fastgmm's ``tol`` that stops every cell no later than mclust's EM would.

    mclust's EM (its Fortran ``me*`` routines, ``emControl()$tol[1]`` =
    1e-5) stops when ``|L - L_prev| / (1 + |L|) <= tol`` for the *total*
    log-likelihood L; fastgmm stops when the *mean* log-likelihood changes
    by less than ``tol``: ``|L - L_prev| / n < tol``. mclust's rule is thus
    fastgmm's with ``tol = mclust_tol * (1 / n + |L / n|)``, which differs
    from cell to cell; the smallest over the table's cells (their total
    log-likelihoods ``log_likelihoods``, from a first sweep at ``tol=1e-5``)
    is at least as strict as mclust's rule in every cell.
    """
    values = np.abs(np.asarray(log_likelihoods, dtype=float))
    values = values[np.isfinite(values)]
    return float(mclust_tol * (1.0 / n_samples + values.min() / n_samples))


def synthetic(n_samples, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(4, n_features))
    labels = rng.integers(4, size=n_samples)
    return centres[labels] + rng.normal(size=(n_samples, n_features)) * rng.uniform(
        0.5, 2.0, size=(4, n_features))[labels]


def timing(workdir, n_samples, repeats, tol, max_iter, n_threads, same_subset):
    import numba

    from fastgmm import _config
    from fastgmm._hc import draw_rows

    X = synthetic(n_samples)
    threads = n_threads or numba.get_num_threads()
    print(f"\n=== timing: the whole 14 x 9 table, N={n_samples}, d={X.shape[1]}; "
          f"fastgmm select_model(init_params='hc', tol={tol}), {threads} thread(s); "
          "mclustBIC (R, single-threaded) ===")
    params = dict(init_params="hc", tol=1e-5 if tol == "mclust" else float(tol),
                  max_iter=max_iter, n_threads=n_threads)
    subset = None
    if same_subset:
        # The rows select_model(random_state=0) builds its tree on, given to
        # mclustBIC as initialization$subset: both start from the same tree.
        subset = draw_rows(X.shape[0], np.empty(0), _config.HC_MAX_SAMPLES,
                           np.random.RandomState(0))
    print("mclust's hierarchical start on " + (
        "fastgmm's subset of rows" if same_subset else "its own random subset of rows"))
    # One untimed sweep first: Numba compiles the kernels for this size's
    # code paths (the parallel ones) once per process.
    _, _, seconds, selection = fastgmm_table(X, **params)
    print(f"fastgmm first sweep, Numba compilation included: {seconds:.2f} s")
    if tol == "mclust":
        params["tol"] = mclust_equivalent_tol(selection.results_["log_likelihood"],
                                              X.shape[0])
        print(f"tol='mclust': fastgmm tol={params['tol']:.4g} (see mclust_equivalent_tol)")
    ours_t, theirs_t = [], []
    for rep in range(repeats):
        r_bic, _, r_seconds = mclust_table(X, workdir, "timing", subset)
        ours, _, seconds, selection = fastgmm_table(X, **params)
        theirs_t.append(r_seconds)
        ours_t.append(seconds)
        a = agreement(ours, r_bic)
        ob, rb = best(ours), best(r_bic)
        print(f"run {rep}: mclustBIC {r_seconds:.2f} s, best {rb[0]} ({rb[1]:.2f}); "
              f"fastgmm {seconds:.2f} s, best {ob[0]} ({ob[1]:.2f}); "
              f"ratio {r_seconds / seconds:.1f}x; cells agreeing {a['agree']} / {a['n']} "
              f"(below by > 0.5: {cells(a['below'], ours - r_bic)}); fastgmm cells at "
              f"max_iter: {int((~selection.results_['converged']).sum())}")
    r_med, f_med = np.median(theirs_t), np.median(ours_t)
    print(f"median of {repeats}: mclustBIC {r_med:.2f} s, fastgmm {f_med:.2f} s, "
          f"ratio {r_med / f_med:.1f}x")


def hc_ari(workdir):
    from sklearn.metrics import adjusted_rand_score

    from fastgmm._hc import hierarchical_tree

    for name, X in datasets(workdir).items():
        path = write_csv(X, workdir, f"ari_{name.split()[0]}")
        for model in ("VVV", "EII"):
            out = os.path.join(workdir, f"hclass_{model}.csv")
            rscript(R_HCLASS, path, model, out)
            ref = np.loadtxt(out, delimiter=",", ndmin=2)
            tree = hierarchical_tree(X, model=model)
            aris = [adjusted_rand_score(ref[:, g - 1], tree.labels(g)) for g in range(2, 10)]
            print(f"{name} hc {model}: ARI with mclust's hclass, G=2..9: "
                  + " ".join(f"{a:.3f}" for a in aris))


def hc_timing(workdir):
    from fastgmm._hc import hierarchical_tree

    X = np.random.default_rng(0).normal(size=(2000, 4))
    path = write_csv(X, workdir, "X2000")
    hierarchical_tree(X[:50])
    hierarchical_tree(X[:50], model="EII")
    print("one tree on 2,000 x 4 rows (seconds; fastgmm, mclust, ratio)")
    for _ in range(3):
        for model in ("VVV", "EII"):
            tick = time.perf_counter()
            hierarchical_tree(X, model=model)
            ours = time.perf_counter() - tick
            code = ('suppressMessages(library(mclust)); X <- as.matrix(read.csv('
                    f'"{path}", header=FALSE)); cat(system.time(hc(X, modelName="{model}", '
                    'use="SVD"))["elapsed"])')
            theirs = float(subprocess.run(["Rscript", "-e", code], check=True,
                                          capture_output=True, text=True).stdout)
            print(f"{model} {ours:.2f} {theirs:.2f} {theirs / ours:.1f}x")


def datasets(workdir):
    diabetes = os.path.join(workdir, "diabetes.csv")
    version = rscript(R_DIABETES, diabetes).strip()
    print(f"mclust {version}")
    return {"Old Faithful": np.asarray(load_old_faithful(), dtype=np.float64),
            "diabetes (mclust)": np.loadtxt(diabetes, delimiter=",")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="tables",
                        choices=("tables", "timing", "hc-ari", "hc-timing"))
    parser.add_argument("--n-init", type=int, default=5,
                        help="starts of the k-means column (default 5)")
    parser.add_argument("--tol", default="1e-5",
                        help="fastgmm's tol (default 1e-5; mclust stops at a relative "
                             "change of 1e-5 of the total log-likelihood). timing also "
                             "takes 'mclust': mclust's rule as fastgmm's tol, the "
                             "strictest over the table's cells (mclust_equivalent_tol)")
    parser.add_argument("--max-iter", type=int, default=10_000,
                        help="fastgmm's max_iter (default 10000; mclust's EM has no "
                             "practical cap, itmax = .Machine$integer.max)")
    parser.add_argument("--threads", type=int, default=None,
                        help="fastgmm's n_threads (default: all cores)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--own-subset", action="store_true",
                        help="timing: let mclustBIC draw its own subset of rows for its "
                             "hierarchical start (default: fastgmm's, so that both "
                             "start from the same tree)")
    parser.add_argument("--n-samples", type=int, default=20_000)
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        sys.exit("mclust_compare.py needs Rscript with the mclust package "
                 "(for instance: apt-get install r-cran-mclust); not found on PATH.")
    with tempfile.TemporaryDirectory() as workdir:
        if args.command == "tables":
            summary = []
            for name, X in datasets(workdir).items():
                summary += compare(name, X, workdir, float(args.tol), args.max_iter, args.n_init,
                                   args.threads)
            print("\n=== summary (agree: of 126 cells; best: fastgmm vs mclust) ===")
            for name, label, agree, strict, n, ob, rb in summary:
                print(f"{name:<18} {label:<18} agree {agree}/{n} ({agree / n:.1%}), strict "
                      f"{strict}/{n} ({strict / n:.1%}); best {ob[0]} {ob[1]:.2f} vs "
                      f"mclust {rb[0]} {rb[1]:.2f}")
        elif args.command == "timing":
            timing(workdir, args.n_samples, args.repeats, args.tol, args.max_iter, args.threads,
                   not args.own_subset)
        elif args.command == "hc-ari":
            hc_ari(workdir)
        else:
            hc_timing(workdir)


if __name__ == "__main__":
    main()
