"""
The log-likelihood rises at every iteration
===========================================

Each EM iteration maximises a lower bound on the log-likelihood that touches
it at the current parameters (Jensen's inequality; see the user guide), so
the log-likelihood can only go up. This example records it after every
iteration with the ``callback`` parameter, for several random starts, and
checks that it never decreases.

The value passed to ``callback(n_iter, lower_bound)``, and kept in
``lower_bounds_``, is the mean log-likelihood per sample at the parameters
*before* the iteration's M-step, as in scikit-learn.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from fastgmm import GaussianMixture
from fastgmm.exceptions import ConvergenceWarning

# %%
# Data: eight overlapping clusters in two dimensions, so that EM needs many
# iterations and different starts end at different local maxima.
rng = np.random.default_rng(1)
centres = rng.uniform(-6, 6, size=(8, 2))
X = np.vstack([c + rng.normal(scale=1.0, size=(400, 2)) for c in centres])

# %%
# Fits from ten random starts (``init_params="random"``: random
# responsibilities, so every component starts near the centre of the data), each
# recording its lower bound through the callback.
traces = {}
for seed in range(10):
    trace = []

    def record(n_iter, lower_bound, trace=trace):
        trace.append(lower_bound)
        return False  # True would stop this start here

    # One thread: this data set is small, and the results are the same on
    # any number of threads.
    gm = GaussianMixture(8, init_params="random", random_state=seed,
                         tol=1e-6, max_iter=500, callback=record, n_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    assert trace == [float(v) for v in gm.lower_bounds_]
    traces[seed] = np.array(trace)

# %%
# Never decreasing
# ----------------
# The largest decrease between two consecutive iterations, over all starts;
# a negative number means that every iteration of every start increased the
# lower bound:
largest_drop = max(float(np.max(-np.diff(t))) for t in traces.values())
print(f"largest decrease between two iterations: {largest_drop:.2e}")
print(f"iterations per start: {[len(t) for t in traces.values()]}")
print(f"final mean log-likelihood per start: "
      f"{[round(float(t[-1]), 4) for t in traces.values()]}")

# %%
# Left, the lower bound per iteration; right, its increase per iteration on
# a log scale. The increase is positive throughout: small while the
# components, started together near the centre of the data, are still
# almost identical, largest while they separate, then shrinking as EM
# converges. Starts that end lower stopped at a worse local maximum.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
best = max(traces, key=lambda s: traces[s][-1])
for seed, trace in traces.items():
    style = dict(lw=2.2, color="k", zorder=3) if seed == best else dict(lw=1, alpha=0.7)
    label = f"random_state={seed}" + (" (best)" if seed == best else "")
    iterations = np.arange(1, len(trace) + 1)
    ax1.plot(iterations, trace, label=label, **style)
    gains = np.diff(trace)
    ax2.semilogy(iterations[1:], np.where(gains > 0, gains, np.nan), **style)
ax1.set_xscale("log")
ax1.set_xlabel("EM iteration")
ax1.set_ylabel("lower bound (mean log-likelihood, nats / sample)")
ax1.set_title(f"Lower bound per iteration, {len(traces)} random starts")
ax1.legend(fontsize="small", ncols=2, loc="center right")
ax2.set_xscale("log")
ax2.set_xlabel("EM iteration")
ax2.set_ylabel("increase over the previous iteration (nats / sample)")
ax2.set_title("Every increase is positive")
fig.suptitle(f"EM on {len(centres)} overlapping clusters ({X.shape[0]:,} points, "
             "full covariances)")
plt.show()
