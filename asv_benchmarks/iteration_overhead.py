"""Where one EM iteration's time goes, beside the fused pass kernel itself.

Run: ``python asv_benchmarks/iteration_overhead.py [--shapes N:d:K:cov,...]
[--repeat R] [--n-iter I]`` (default: K = 8, d = 2, 'full' and 'diag', N =
1e4, 1e5, 1e6, 1e7, and mclust's model-selection shape N = 20,000, d = 4,
K = 9, full; float64, the threads Numba has).

Per shape, from parameters a few iterations into a fit, the time of:

* **kernel**: the fused pass kernel calls of one pass (``em_pass``'s calls
  of the kernel that ``model.pass_kernel`` picks, timed by a wrapper);
* **reduction**: the fixed-order sums of the per-block partial statistics
  (the ``*_part`` arrays of the last segment's shapes, once per segment);
* **pass driver**: the rest of ``_em.em_pass`` (the pass's arguments, the
  log-weight constants): ``em_pass`` minus the two above, its partial
  arrays reused from a previous pass as in ``run_em``'s loop;
* **M-step**: ``_em.m_step`` (the model's M-step and the precision Cholesky);
* **loop**: the rest of an iteration of ``_em.run_em`` (the checks of the
  lower bound, the regularisation of nk, the callback), timed over 100
  iterations of ``run_em`` whose pass returns statistics computed before and
  whose M-step returns parameters computed before;
* **iteration**: the sum of the five stages above; **run_em** is
  ``run_em``'s time per iteration measured on its own (a check: on a quiet
  machine the two agree);
* **thread wake-up**: a call of an empty ``prange`` kernel over as many
  blocks as the pass has (0 where the pass runs its serial twin, below
  ``_config.PARALLEL_MIN_BLOCKS`` blocks); part of the kernel's time;
* **fit, per iteration** and **fit, fixed**: ``GaussianMixture.fit`` with
  ``max_iter = 1 + I`` and ``max_iter = 1``, from the same start
  (``*_init`` arrays, ``tol=0``): the slope per iteration, and what a fit
  costs besides its iterations (validation, the start, the fitted
  attributes).

``--clock cpu`` times with ``time.process_time`` (the CPU time of all the
process's threads) instead of the wall clock: on a machine whose cores are
shared with other processes, the wall time of a stage depends on the share
of a core the scheduler gives it, its CPU time much less. With Numba on one
thread (``NUMBA_NUM_THREADS=1``) the CPU time is the work of each stage;
with more threads it includes the time the pool's threads spend waiting.

Every stage runs once per round, in rounds (``--repeat``, default 7), and
the median is kept, so a change of the machine's load weighs on all alike.
The percentages are of the iteration (the sum of the stages). On a machine
shared with other processes, the stages still run at different moments:
compare shapes and checkouts in one run, alternating, and repeat.
"""

import argparse
import time
import warnings

import numpy as np
from numba import njit, prange

from fastgmm import _covariance, _em, _threads
from fastgmm._config import PARALLEL_MIN_BLOCKS, pass_chunk_size
from fastgmm._stats import Params, nk_regularization
from fastgmm.bench import make_data, make_start
from fastgmm.gaussian_mixture import GaussianMixture

DEFAULT_SHAPES = ("10000:2:8:full,100000:2:8:full,1000000:2:8:full,10000000:2:8:full,"
                  "10000:2:8:diag,100000:2:8:diag,1000000:2:8:diag,10000000:2:8:diag,"
                  "20000:4:9:full")
STAGES = ("kernel", "reduction", "pass driver", "M-step", "loop", "iteration", "run_em",
          "thread wake-up", "fit, per iteration", "fit, fixed")
# Stages given in ms only (no percentage of the iteration).
_TOTALS = ("iteration", "run_em", "fit, per iteration", "fit, fixed")
_LOOP_ITERATIONS = 100


_clock = time.perf_counter


@njit(parallel=True, nogil=True)
def empty_prange(out):
    """A parallel region with nothing to do: block c writes out[c]."""
    for c in prange(out.shape[0]):
        out[c] = c


class _TimedKernel:
    """A kernel wrapper that adds the time of each call to ``seconds`` and
    keeps the partial arrays of the last call (``kernel`` is set before each
    segment's call)."""

    def __init__(self):
        self.kernel = None
        self.seconds = 0.0
        self.parts = None

    def __call__(self, *args):
        t0 = _clock()
        self.kernel(*args)
        self.seconds += _clock() - t0
        self.parts = args[-4:]


def _reduce(parts):
    """The driver's fixed-order sums of one segment's partial statistics, as
    ``_em.em_pass`` makes them."""
    n = parts[0].shape[0]
    loglik = parts[0].sum()
    nk = parts[1].sum(axis=0)
    sx = np.zeros(parts[2].shape[1:])
    _em.add_block_sums(parts[2], n, sx)
    sxx = np.zeros(parts[3].shape[1:])
    if parts[3].shape[0] == n:
        # (with one part per segment, the kernel has added into the total)
        _em.add_block_sums(parts[3], n, sxx)
    return loglik, nk, sx, sxx


def _start_params(X, n_components, covariance_type):
    """Parameters after three EM iterations from ``bench.make_start``."""
    start = make_start(X, n_components, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=3,
                             tol=0.0, **start).fit(X)
    params = Params(gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_)
    init = dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)
    return params, init


def measure(n_samples, n_features, n_components, covariance_type, repeat=7, n_iter=5,
            seed=0):
    """Median milliseconds of each of ``STAGES`` for one shape (float64)."""
    X = make_data(n_samples, n_features, n_components, seed)
    model = _covariance.get(covariance_type)
    params, init = _start_params(X, n_components, covariance_type)
    weight = np.empty(0)
    reg_covar = 1e-6
    n_blocks = -(-n_samples // pass_chunk_size(n_features))
    wake = np.empty(n_blocks)
    parallel = n_blocks >= PARALLEL_MIN_BLOCKS

    original = model.pass_kernel
    timed = {}

    def pass_kernel(n, accumulate, d, dtype):
        # called once per segment of the pass: one timer for all of them
        kernel, flags = original(n, accumulate, d, dtype)
        timed["kernel"].kernel = kernel
        return timed["kernel"], flags

    def fit(max_iter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(n_components, covariance_type=covariance_type, tol=0.0,
                            max_iter=max_iter, reg_covar=reg_covar, **init).fit(X)

    samples = {stage: [] for stage in STAGES}
    fit(2)
    empty_prange(wake)
    for _ in range(repeat):
        # the pass, with its kernel calls timed
        kernel_seconds = reduce_seconds = 0.0
        # an instance attribute, over the class's method, for this pass only
        timed["kernel"] = _TimedKernel()
        model.pass_kernel = pass_kernel
        try:
            # As in run_em's loop: the partial arrays of the previous pass
            # (made by an untimed pass) are reused.
            with _em.reused_pass_parts():
                _em.em_pass(X, weight, params, covariance_type)
                timed["kernel"] = _TimedKernel()
                t0 = _clock()
                stats = _em.em_pass(X, weight, params, covariance_type)
                pass_seconds = _clock() - t0
        finally:
            del model.pass_kernel
        kernel_seconds = timed["kernel"].seconds
        parts = timed["kernel"].parts
        n_segments = -(-n_blocks // parts[0].shape[0])
        t0 = _clock()
        for _ in range(n_segments):
            _reduce(parts)
        reduce_seconds = _clock() - t0
        # the M-step
        nk_reg = nk_regularization(stats.sum_weights, n_samples)
        t0 = _clock()
        _em.m_step(stats, covariance_type, reg_covar, nk_reg, False)
        mstep_seconds = _clock() - t0
        # the loop alone: the pass and the M-step replaced by their results
        new_params = _em.m_step(stats, covariance_type, reg_covar, nk_reg, False)
        m_step, _em.m_step = _em.m_step, lambda *args, **kwargs: new_params
        try:
            t0 = _clock()
            _em.run_em(X, weight, params, covariance_type=covariance_type,
                       reg_covar=reg_covar, tol=0.0, max_iter=_LOOP_ITERATIONS,
                       stats_pass=lambda *args: stats)
            loop_seconds = (_clock() - t0) / _LOOP_ITERATIONS
        finally:
            _em.m_step = m_step
        # run_em, per iteration
        t0 = _clock()
        _em.run_em(X, weight, params, covariance_type=covariance_type, reg_covar=reg_covar,
                   tol=0.0, max_iter=n_iter)
        iteration = (_clock() - t0) / n_iter
        # the empty parallel region
        t0 = _clock()
        if parallel:
            _threads.thread_safe(empty_prange)(wake)
        wake_seconds = _clock() - t0 if parallel else 0.0
        # fits
        t0 = _clock()
        fit(1)
        fit_one = _clock() - t0
        t0 = _clock()
        fit(1 + n_iter)
        fit_more = _clock() - t0
        per_iteration = (fit_more - fit_one) / n_iter
        stages = (kernel_seconds, reduce_seconds,
                  pass_seconds - kernel_seconds - reduce_seconds, mstep_seconds,
                  loop_seconds)
        values = stages + (sum(stages), iteration, wake_seconds, per_iteration,
                           fit_one - per_iteration)
        for stage, value in zip(STAGES, values):
            samples[stage].append(1e3 * value)
    medians = {stage: float(np.median(v)) for stage, v in samples.items()}
    medians["iteration"] = sum(medians[stage] for stage in STAGES[:5])
    return medians


def format_table(rows):
    """Markdown table: one row per shape, ms (and % of the iteration) per stage."""
    lines = ["| N | d | K | covariance | " + " | ".join(STAGES) + " |",
             "| --- " * (4 + len(STAGES)) + "|"]
    for (n, d, k, cov), ms in rows:
        iteration = ms["iteration"]
        cells = []
        for stage in STAGES:
            if stage in _TOTALS:
                cells.append(f"{ms[stage]:.3f}")
            else:
                cells.append(f"{ms[stage]:.3f} ({100 * ms[stage] / iteration:.0f} %)")
        lines.append(f"| {n:,} | {d} | {k} | {cov} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _parse_shapes(text):
    shapes = []
    for item in text.split(","):
        n, d, k, cov = item.split(":")
        _covariance.get(cov)
        shapes.append((int(float(n)), int(d), int(k), cov))
    return shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES,
                        help="comma-separated N:d:K:covariance (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--n-iter", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time.perf_counter or time.process_time (default: wall)")
    args = parser.parse_args(argv)
    global _clock
    _clock = time.perf_counter if args.clock == "wall" else time.process_time
    import numba

    print(f"threads {numba.get_num_threads()}, float64, {args.clock} clock, medians of "
          f"{args.repeat} rounds; ms (% of the iteration)")
    rows = []
    for shape in _parse_shapes(args.shapes):
        rows.append((shape, measure(*shape, repeat=args.repeat, n_iter=args.n_iter)))
        print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))


if __name__ == "__main__":
    main()
