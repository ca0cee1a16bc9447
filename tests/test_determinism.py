"""The compiled arithmetic does not depend on the process's history.

A kernel's result must be the same whether Numba compiled it in this process
or loaded it from the on-disk cache, and whatever was called before it. It
was not: a helper the kernels called (e.g. ``em_pass._block_first_moments``)
was linked into each kernel's object as a weak definition, and the JIT binds a
weak symbol to the first definition loaded in the process: the helper's own
library (compiled, or called from Python, first) or the kernel's copy (which
the fast-math flags let LLVM re-optimise inside the kernel's module, with
another rounding). The helpers are now inlined into the kernels
(``inline="always"``), so no helper symbol is left to bind.

The test runs two fresh processes with the cache on: one that first calls the
helpers from Python (which loads their standalone libraries), one that does
not, and compares the pass statistics bit for bit. The first process
compiles the kernels when the cache is cold, so the second one always loads
them from the cache.
"""

import json
import os
import subprocess
import sys

import numba
import pytest

from fastgmm._config import NUMBA_CACHE

_SCRIPT = r"""
import hashlib, json, sys
import numpy as np
from fastgmm import _em
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._kernels import em_pass as E
from fastgmm._stats import Params

if sys.argv[1] == "helpers":
    # Load the helpers' standalone libraries before any kernel runs.
    a2 = np.zeros((8, 520)); a1 = np.zeros(520); m = np.zeros((8, 8))
    E._block_first_moments(a2, np.int64(10), np.zeros(8), np.zeros(520), a2.copy(),
                           a2.copy(), np.zeros(8))
    E._block_scatter(np.int64(10), a2, a2, m, 0.0, False)
    E._block_posterior(np.zeros((8, 520)), np.int64(10), False, a1, True, np.zeros(520),
                       np.zeros(520))

def digest(*arrays):
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

rng = np.random.default_rng(1)
out = {}
# 8 features: the centred product; 16: the uncentred variant.
for d, K in [(8, 8), (16, 8)]:
    X = rng.standard_normal((20000, d)) + rng.integers(0, 4, (20000, 1)) * 3.0
    means = X[rng.choice(len(X), K, replace=False)]
    A = rng.normal(size=(K, d, d))
    cov = A @ np.swapaxes(A, 1, 2) / d + np.eye(d)
    params = Params(np.full(K, 1 / K), means, cov, compute_precision_cholesky(cov, "full"))
    st = _em.em_pass(X, np.empty(0), params, "full")
    out[f"full d={d}"] = {name: digest(getattr(st, name))
                          for name in ("loglik", "nk", "sx", "sxx")}
json.dump(out, sys.stdout)
"""


def _pass_digests(mode):
    env = dict(os.environ, FASTGMM_NUMBA_CACHE="1")
    run = subprocess.run([sys.executable, "-c", _SCRIPT, mode], env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
@pytest.mark.skipif(not NUMBA_CACHE, reason="the kernels' cache is off (FASTGMM_NUMBA_CACHE)")
def test_pass_statistics_do_not_depend_on_what_was_loaded_before():
    """A process that called the helpers first, and so bound the kernels'
    calls to the helpers' own libraries (as a process compiling the kernels
    did), gets the same statistics bit for bit as one that loaded the
    kernels from the cache alone."""
    helpers_first = _pass_digests("helpers")
    cached = _pass_digests("plain")
    assert cached == helpers_first
