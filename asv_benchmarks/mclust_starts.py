"""select_model's default start over seeds, against R mclust's tables.

For each data set (Old Faithful, mclust's diabetes read through R, and
``mclust_compare.synthetic(1000, seed=1)``) and each variant, over seeds
FIRST..STOP-1: ``select_model(X, n_components=range(1, 10),
covariance_types='mclust', n_init=5, random_state=seed, tol=1e-5,
max_iter=10000)``; printed per seed and summarised: how often fastgmm's best
model is at least mclust's best - 0.5, and the fraction of the 126 cells
that agree (``mclust_compare.agreement``). Variants: ``base`` (no
cross-model start), ``cross`` (the default), ``std`` / ``std+cross`` (fit
on standardised data, BIC moved back to X's scale)::

    python asv_benchmarks/mclust_starts.py FIRST STOP base,cross [NAME-PREFIX]

Needs Rscript with mclust (exits otherwise, through mclust_compare).
"""
import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from asv_benchmarks import mclust_compare as mc  # noqa: E402
from fastgmm import select_model  # noqa: E402

seeds = range(int(sys.argv[1]), int(sys.argv[2]))
variants = sys.argv[3].split(",")
with tempfile.TemporaryDirectory() as wd:
    data = mc.datasets(wd)
    data["synthetic (N=1000)"] = mc.synthetic(1000, seed=1)
    ref = {name: mc.mclust_table(X, wd, f"d{i}")[0] for i, (name, X) in enumerate(data.items())}

def table(X, seed, variant):
    Xf, shift = X, 0.0
    if "std" in variant:
        s = X.std(axis=0)
        Xf = (X - X.mean(axis=0)) / s
        shift = 2 * X.shape[0] * np.log(s).sum()   # mclust sign: 2 LL_raw = 2 LL_std - 2N sum log s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = select_model(Xf, n_components=mc.G_VALUES, covariance_types="mclust",
                           random_state=seed, n_init=5, tol=1e-5, max_iter=10000,
                           cross_model_start="cross" in variant)
    bic = np.full((9, 14), np.nan)
    for r in sel.results_:
        bic[mc.G_VALUES.index(r["n_components"]), mc.MCLUST_NAMES.index(r["covariance_type"])] = -r["bic"] - shift
    return bic

only = sys.argv[4] if len(sys.argv) > 4 else ""
for name, X in data.items():
    if only and not name.startswith(only):
        continue
    r = ref[name]
    rb = mc.best(r)
    for variant in variants:
        reach, agree, tt = [], [], []
        for seed in seeds:
            t = time.perf_counter()
            b = table(X, seed, variant)
            tt.append(time.perf_counter() - t)
            ob = mc.best(b)
            reach.append(ob[1] >= rb[1] - mc.TOLERANCE)
            agree.append(mc.agreement(b, r)["agree"] / 126)
            print(f"  {name} {variant} seed {seed}: best {ob[0]} {ob[1]:.2f} (mclust {rb[0]} {rb[1]:.2f}) agree {agree[-1]:.1%} {tt[-1]:.1f}s", flush=True)
        print(f"SUMMARY {name} | {variant} | seeds {seeds.start}-{seeds.stop-1}: best reaches mclust's best in {sum(reach)}/{len(reach)}; "
              f"agreement median {np.median(agree):.1%} min {min(agree):.1%} mean {np.mean(agree):.1%}; "
              f">=90% in {sum(a >= 0.9 for a in agree)}/{len(agree)}; median time {np.median(tt):.1f}s", flush=True)
