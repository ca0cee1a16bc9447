"""Small helpers shared by the test modules (no reference numbers here: see reference.py)."""

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
