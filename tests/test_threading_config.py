"""Thread safety under every Numba threading layer.

Numba's ``workqueue`` threading layer (its fallback where neither OpenMP nor
TBB loads) aborts the process when two Python threads launch parallel
regions at once. The tests that force it run in a subprocess, with enough
rows for the parallel kernels (at least ``_config.PARALLEL_MIN_BLOCKS``
blocks), and compare with a serial reference computed in the same process.
Results there are compared bit for bit: the same kernels run on the same
blocks, and results do not depend on the thread count.
"""

import os
import subprocess
import sys
import textwrap

import numba
import pytest

from fastgmm import _config, _em

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, timeout=300, **env):
    """Run ``code`` in a fresh interpreter with ``env`` added to the environment."""
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + ([environ["PYTHONPATH"]] if environ.get("PYTHONPATH") else []))
    for name, value in env.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environ,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


# -- thread safety ---------------------------------------------------------------

CONCURRENT_CALLS = """
import threading
import warnings

import dask
import dask.array as da
import numba
import numpy as np

from fastgmm import GaussianMixture, _config, _em

warnings.simplefilter("ignore")
# The layer is known at the first kernel call, before Numba has run a
# parallel region (numba.threading_layer() alone would raise here).
pair = _em._EM_KERNELS["full"]
picked = _em.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS)
assert not _em.parallel_layer_thread_safe()
assert picked is not pair[0] and picked is not pair[1]

rng = np.random.default_rng(0)
n_features = 3
# Enough blocks for the parallel kernels in every pass (EM, k-means, scoring).
block = max(_config.pass_chunk_size(n_features), _config.CHUNK_SIZE)
n_samples = _config.PARALLEL_MIN_BLOCKS * block + 17
X = rng.normal(size=(n_samples, n_features)) + 4.0 * rng.integers(3, size=(n_samples, 1))
TYPES = ["full", "tied", "diag", "spherical"]


def work(i):
    # 'kmeans' runs the Lloyd passes, 'k-means++' the seeding passes alone.
    model = GaussianMixture(3, covariance_type=TYPES[i], max_iter=5, random_state=i,
                            init_params="kmeans" if i == 0 else "k-means++")
    model.fit(X)
    return (model.means_, model.covariances_, model.predict(X), model.score_samples(X),
            model.predict_proba(X))


serial = [work(i) for i in range(4)]
threaded = [None] * 4


def target(i):
    threaded[i] = work(i)


threads = [threading.Thread(target=target, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i in range(4):
    assert threaded[i] is not None, i
    for a, b in zip(serial[i], threaded[i]):
        assert np.array_equal(a, b), i

# A Dask fit on the threaded scheduler: one task per chunk, run side by side,
# each chunk large enough for the parallel kernels.
Xd = da.from_array(X[: 2 * _config.PARALLEL_MIN_BLOCKS * block],
                   chunks=(_config.PARALLEL_MIN_BLOCKS * block, n_features))
fits = {}
for scheduler in ("threads", "synchronous"):
    with dask.config.set(scheduler=scheduler):
        fits[scheduler] = GaussianMixture(3, max_iter=5, random_state=0).fit(Xd)
for name in ("weights_", "means_", "covariances_"):
    assert np.array_equal(getattr(fits["threads"], name),
                          getattr(fits["synchronous"], name)), name
print("LAYER", numba.threading_layer())
"""


def test_concurrent_fits_and_predictions_under_workqueue():
    """Four Python threads fit, predict and score at once, and a Dask fit runs
    on the threaded scheduler: the process survives and every result equals
    the serial one. This aborted the process ("Concurrent access has been
    detected", exit 134)."""
    result = run_python(CONCURRENT_CALLS, NUMBA_THREADING_LAYER="workqueue")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("LAYER")[-1].strip() == "workqueue"


def test_parallel_kernels_run_unwrapped_under_a_thread_safe_layer():
    """Under OpenMP or TBB the parallel kernel itself is called (no lock); under
    workqueue a wrapper that holds the process-wide lock; few blocks always
    take the serial twin."""
    pair = _em._EM_KERNELS["diag"]
    picked = _em.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS)
    assert _em.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS - 1) is pair[1]
    if numba.threading_layer() in ("tbb", "omp"):
        assert _em.parallel_layer_thread_safe()
        assert picked is pair[0]
    else:
        assert not _em.parallel_layer_thread_safe()
        assert picked is not pair[0]
