"""Small helpers shared by the test modules (no reference numbers here: see reference.py)."""

import gc
import tracemalloc
import warnings


def fit_quietly(model, X, **kw):
    """``model.fit(X, **kw)`` with warnings (convergence, degenerate data) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, **kw)


def record_kernel_choices(monkeypatch, module):
    """Wrap ``module.pick_kernel`` (``_threads.pick_kernel`` as that module calls
    it) so that each call's number of blocks is recorded; returns the list."""
    seen = []
    pick = module.pick_kernel

    def recording(kernels, n_blocks):
        seen.append(n_blocks)
        return pick(kernels, n_blocks)

    monkeypatch.setattr(module, "pick_kernel", recording)
    return seen


def record_max_abs_scans(monkeypatch):
    """Wrap ``_outofcore._parallel_max_abs`` (the threaded scan of a large X
    that the finiteness check makes) so that each scan's X shape is
    recorded; returns the list."""
    from fastgmm import _outofcore

    seen = []
    scan = _outofcore._parallel_max_abs

    def recording(X):
        seen.append(X.shape)
        return scan(X)

    monkeypatch.setattr(_outofcore, "_parallel_max_abs", recording)
    return seen


def traced_peak(func, repeat=2):
    """(``func()``'s last result, the least of ``repeat`` traced peaks): the
    most memory ``func`` held beyond what was held before it, in bytes.

    tracemalloc counts the allocations of every thread of the process, and
    under pytest-xdist the worker's I/O thread receives the next tests while
    one runs. In one CI run on two workers a fit measured 4.34 model sizes
    where its bound is 4.21 and 30 measurements here, two processes at
    once, gave at most 3.55. What another thread adds only adds: the least
    of a few measurements is the function's own peak.
    """
    peaks = []
    for _ in range(repeat):
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            result = func()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()
    return result, min(peaks)
