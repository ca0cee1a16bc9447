"""
Speed against scikit-learn
==========================

:func:`fastgmm.bench.run` times EM iterations of fastgmm and of
scikit-learn's ``GaussianMixture`` from the same start (the same weights,
means and precisions), for a fixed number of iterations (``tol=0``), and
reports the median time per iteration. This example runs it at small sizes
(``scale=0.02``: 2% of the full-size rows) while the documentation is built
and draws the result as a bar chart.

The numbers below were measured on the machine that built this page, with
whatever else it was running at the time; at these sizes fixed costs per
call weigh more than at full size. For the full-size table run
``python -m fastgmm.bench`` (see :doc:`/benchmarks`), ideally on an idle
machine, and with ``OPENBLAS_CORETYPE`` unset so that scikit-learn's BLAS
runs at its best.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from fastgmm import bench

SCALE = 0.02  # fraction of the full-size number of rows

print(bench.environment())
if hasattr(os, "getloadavg"):
    # Other work on the machine slows both libraries, unevenly: say how busy it was.
    print(f"load average over the last minute before the run: {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} logical CPUs")
results = bench.run(["a", "b", "c"], n_iter=5, repeat=3, scale=SCALE)

# %%
# The table that ``python -m fastgmm.bench --scale 0.02`` prints
# (:func:`fastgmm.bench.format_table`). The last column is the relative
# difference of the final lower bound from fastgmm's: both libraries did the
# same computation.
print(bench.format_table(results))

# %%
# The bar chart: time per EM iteration, log scale; the label on each
# scikit-learn bar is its time as a multiple of fastgmm's.
shapes = list(dict.fromkeys(r["shape"] for r in results))
libraries = list(dict.fromkeys(r["library"] for r in results))
by_key = {(r["shape"], r["library"]): r for r in results}
x = np.arange(len(shapes))
width = 0.8 / len(libraries)

fig, ax = plt.subplots(figsize=(9, 5.2), layout="constrained")
for j, library in enumerate(libraries):
    times = [by_key[s, library]["ms_per_iter"] for s in shapes]
    bars = ax.bar(x + (j - (len(libraries) - 1) / 2) * width, times, width, label=library)
    if j > 0:
        ax.bar_label(bars, [f"{by_key[s, library]['ratio']:.1f}× fastgmm"
                            for s in shapes], padding=2, fontsize=9)
    else:
        ax.bar_label(bars, [f"{t:.1f} ms" for t in times], padding=2, fontsize=9)
labels = []
for s in shapes:
    r = by_key[s, libraries[0]]
    labels.append(f"shape {s}: N={r['n_samples']:,}, d={r['n_features']},\n"
                  f"K={r['n_components']}, '{r['covariance_type']}', {r['dtype']}")
ax.set_xticks(x, labels)
ax.set_yscale("log")
ax.margins(y=0.15)
ax.set_ylabel("time per EM iteration (ms, log scale)")
ax.set_xlabel(f"problem ({SCALE:.0%} of the full-size rows of python -m fastgmm.bench)")
ax.set_title("fastgmm against scikit-learn: median time per EM iteration, same start")
ax.legend()
plt.show()
