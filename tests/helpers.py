"""Small helpers shared by the test modules (no reference numbers here: see reference.py)."""

import warnings


def fit_quietly(model, X, **kw):
    """``model.fit(X, **kw)`` with warnings (convergence, degenerate data) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, **kw)
