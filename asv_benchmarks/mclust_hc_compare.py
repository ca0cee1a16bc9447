"""fastgmm's 'hc' start and select_model against R's mclust, side by side.

Needs ``Rscript`` with the mclust package (Debian: ``r-cran-mclust``). R
writes, into a temporary directory, mclust's ``diabetes`` data (read through
R, never shipped here), its hierarchical partitions ``hclass(hc(X,
modelName, use="SVD"), 1:9)`` and its ``mclustBIC(X, G=1:9)`` table for the
four models fastgmm shares with it; this script then computes fastgmm's and
prints:

1. the adjusted Rand index between fastgmm's cut at G and mclust's, for
   G = 2..9, VVV and EII criteria, on Old Faithful and diabetes;
2. the BIC table (mclust's sign) of ``select_model`` with
   ``init_params='hc'`` (one start) and with k-means starts (``n_init=5``),
   both with ``tol=1e-5`` (mclust's relative tolerance is 1e-5), next to
   mclust's; how many cells reach mclust's BIC minus 0.5; the top 3 of each;
3. the time of one tree on 2,000 rows of 4 standard normal features, fastgmm
   and mclust's ``hc(X, modelName, use="SVD")`` (``system.time``, elapsed)
   alternately, 3 times each.

Run: ``python asv_benchmarks/mclust_hc_compare.py``.
"""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from fastgmm import select_model  # noqa: E402
from fastgmm._hc import hierarchical_tree  # noqa: E402
from fastgmm.datasets import load_old_faithful  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(mclust))
out <- commandArgs(trailingOnly = TRUE)[1]
data(diabetes)
sets <- list(faithful = as.matrix(faithful), diabetes = as.matrix(diabetes[, 2:4]))
for (name in names(sets)) {
  X <- sets[[name]]
  write.csv(X, file.path(out, paste0(name, "_X.csv")), row.names = FALSE)
  for (m in c("VVV", "EII")) {
    h <- hc(X, modelName = m, use = "SVD")
    write.csv(hclass(h, 1:9), file.path(out, paste0(name, "_hclass_", m, ".csv")),
              row.names = FALSE)
  }
  b <- mclustBIC(X, G = 1:9, modelNames = c("VVV", "EEE", "VVI", "VII"))
  write.csv(unclass(b)[, c("VVV", "EEE", "VVI", "VII")],
            file.path(out, paste0(name, "_bic.csv")), row.names = FALSE)
}
cat(as.character(packageVersion("mclust")), "\n")
"""

TYPES = ("full", "tied", "diag", "spherical")
MCLUST = ("VVV", "EEE", "VVI", "VII")


def _read(path):
    return np.genfromtxt(path, delimiter=",", skip_header=1)


def main():
    from sklearn.metrics import adjusted_rand_score

    with tempfile.TemporaryDirectory() as out:
        script = os.path.join(out, "run.R")
        with open(script, "w") as f:
            f.write(R_SCRIPT)
        version = subprocess.run(["Rscript", script, out], check=True, capture_output=True,
                                 text=True).stdout.strip()
        print(f"mclust {version}")
        data = {"faithful": np.asarray(load_old_faithful(), dtype=np.float64),
                "diabetes": _read(os.path.join(out, "diabetes_X.csv"))}
        for name, X in data.items():
            print(f"\n== {name}: {X.shape[0]} x {X.shape[1]}")
            for model in ("VVV", "EII"):
                ref = _read(os.path.join(out, f"{name}_hclass_{model}.csv"))
                tree = hierarchical_tree(X, model=model)
                aris = [adjusted_rand_score(ref[:, g - 1], tree.labels(g))
                        for g in range(2, 10)]
                print(f"hc {model} ARI with mclust, G=2..9: "
                      + " ".join(f"{a:.3f}" for a in aris))
            mclust_bic = _read(os.path.join(out, f"{name}_bic.csv"))
            best = np.nanmax(mclust_bic)
            i, j = np.unravel_index(np.nanargmax(mclust_bic), mclust_bic.shape)
            print(f"mclust best: {MCLUST[j]},{i + 1} {best:.2f}")
            for init, n_init in (("hc", 1), ("kmeans", 5)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sel = select_model(X, n_components=range(1, 10), covariance_types=TYPES,
                                       init_params=init, n_init=n_init, random_state=0,
                                       tol=1e-5)
                ours, _, _ = sel.table(sign="mclust")
                ok = np.isnan(mclust_bic) | (ours >= mclust_bic - 0.5)
                t, k, v = sel.top(1)[0]
                print(f"\nfastgmm init_params={init!r} n_init={n_init}: {ok.sum()} of "
                      f"{ok.size} cells >= mclust - 0.5; best {t},{k} {-v:.2f}")
                print("  K " + "".join(f"{t:>20}" for t in TYPES))
                for r in range(9):
                    print(f"{r + 1:3d} " + "".join(
                        f"{ours[r, c]:10.2f}{mclust_bic[r, c]:10.2f}" for c in range(4)))
                print("(each cell: fastgmm, mclust; mclust's sign, higher is better)")
                print(sel.summary())
        timing(out)


def timing(out):
    import time

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    path = os.path.join(out, "X2000.csv")
    np.savetxt(path, X, delimiter=",")
    hierarchical_tree(X[:50])
    hierarchical_tree(X[:50], model="EII")
    print("\n== one tree on 2,000 x 4 rows (seconds; fastgmm, mclust, ratio)")
    for rep in range(3):
        for model in ("VVV", "EII"):
            tick = time.perf_counter()
            hierarchical_tree(X, model=model)
            ours = time.perf_counter() - tick
            r_code = ('suppressMessages(library(mclust)); X <- as.matrix(read.csv('
                      f'"{path}", header=FALSE)); cat(system.time(hc(X, modelName="{model}", '
                      'use="SVD"))["elapsed"])')
            theirs = float(subprocess.run(["Rscript", "-e", r_code], check=True,
                                          capture_output=True, text=True).stdout)
            print(f"{model} {ours:.2f} {theirs:.2f} {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
