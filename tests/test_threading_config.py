"""Thread safety under every Numba threading layer, the environment
variables of ``fastgmm._config``, the block-size cap, and Dask task keys.

Numba's ``workqueue`` threading layer (its fallback where neither OpenMP nor
TBB loads) aborts the process when two Python threads launch parallel
regions at once. The tests that force it run in a subprocess, with enough
rows for the parallel kernels (at least ``_config.PARALLEL_MIN_BLOCKS``
blocks), and compare with a serial reference computed in the same process.
Results there are compared bit for bit: the same kernels run on the same
blocks, and results do not depend on the thread count.
"""

import logging
import os
import subprocess
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest

import reference as ref
from fastgmm import GaussianMixture, _config, _covariance, _em, _threads
from fastgmm._stats import Params

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

from fastgmm import GaussianMixture, _config, _covariance, _em, _threads

warnings.simplefilter("ignore")
# The layer is known at the first kernel call, before Numba has run a
# parallel region (numba.threading_layer() alone would raise here).
pair = _covariance.get("full").em_kernels
picked = _threads.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS)
assert not _threads.parallel_layer_thread_safe()
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
    pair = _covariance.get("diag").em_kernels
    picked = _threads.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS)
    assert _threads.pick_kernel(pair, _config.PARALLEL_MIN_BLOCKS - 1) is pair[1]
    if numba.threading_layer() in ("tbb", "omp"):
        assert _threads.parallel_layer_thread_safe()
        assert picked is pair[0]
    else:
        assert not _threads.parallel_layer_thread_safe()
        assert picked is not pair[0]


# -- environment variables ----------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", str(10**12),
                                   str(_config.MAX_CHUNK_SIZE + 1)])
def test_bad_chunk_size_variable_is_refused(value):
    with pytest.raises(ValueError, match=r"FASTGMM_CHUNK_SIZE='%s'.*1 to %d"
                       % (value.replace(".", r"\."), _config.MAX_CHUNK_SIZE)):
        _config.read_chunk_size({"FASTGMM_CHUNK_SIZE": value})


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("  ", None), ("1", 1), (" 512 ", 512),
    (str(_config.MAX_CHUNK_SIZE), _config.MAX_CHUNK_SIZE)])
def test_chunk_size_variable(value, expected):
    environ = {} if value is None else {"FASTGMM_CHUNK_SIZE": value}
    assert _config.read_chunk_size(environ) == expected


@pytest.mark.parametrize("value, expected", [
    (None, True), ("", True), ("1", True), ("true", True), ("Yes", True), ("on", True),
    ("0", False), ("false", False), ("False", False), ("no", False), (" OFF ", False)])
def test_numba_cache_variable(value, expected):
    environ = {} if value is None else {"FASTGMM_NUMBA_CACHE": value}
    assert _config.read_numba_cache(environ) is expected


@pytest.mark.parametrize("value", ["abc", "2", "-1", "tru"])
def test_bad_numba_cache_variable_is_refused(value):
    with pytest.raises(ValueError, match=r"FASTGMM_NUMBA_CACHE='%s'.*'1'.*'0'" % value):
        _config.read_numba_cache({"FASTGMM_NUMBA_CACHE": value})


@pytest.mark.parametrize("name, value", [("FASTGMM_CHUNK_SIZE", "0"),
                                         ("FASTGMM_CHUNK_SIZE", "abc"),
                                         ("FASTGMM_NUMBA_CACHE", "abc")])
def test_import_with_a_bad_variable_raises_a_clear_error(name, value):
    """``FASTGMM_CHUNK_SIZE=0`` gave ZeroDivisionError in fit, ``abc`` a bare
    int() error at import, and ``FASTGMM_NUMBA_CACHE=abc`` silently meant on."""
    result = run_python("""
        import numpy as np
        from fastgmm import GaussianMixture
        GaussianMixture(2, random_state=0).fit(np.random.default_rng(0).normal(size=(50, 3)))
    """, **{name: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ValueError: {name}={value!r}"), result.stderr[-2000:]


def test_valid_chunk_size_variable_is_used():
    result = run_python("""
        from fastgmm import _config
        print(_config.CHUNK_SIZE, _config.pass_chunk_size(2), _config.pass_chunk_size(8))
    """, FASTGMM_CHUNK_SIZE="64")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["64", "64", "64"]


# -- block size cap and the float32 bound -----------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_float32_block_sums_stay_finite_for_any_chunk_size(covariance_type):
    """float32 values up to ``FLOAT32_PASS_MAX_ABS`` are summed in float32 per
    block; that bound holds for blocks of at most ``MAX_CHUNK_SIZE`` rows, so a
    larger ``chunk_size`` is capped. Uncapped, one block of 10,000 rows with
    deviations of 2e17 summed to inf."""
    n_samples, n_features = 10_000, 4
    largest = _config.FLOAT32_PASS_MAX_ABS
    X = np.full((n_samples, n_features), largest, dtype=np.float32)
    means = np.full((1, n_features), -largest)
    scale = 1.0 / largest
    if covariance_type == "full":
        cov, chol = np.eye(n_features)[None] / scale**2, np.eye(n_features)[None] * scale
    elif covariance_type == "tied":
        cov, chol = np.eye(n_features) / scale**2, np.eye(n_features) * scale
    elif covariance_type == "diag":
        cov, chol = np.full((1, n_features), 1 / scale**2), np.full((1, n_features), scale)
    else:
        cov, chol = np.array([1 / scale**2]), np.array([scale])
    params = Params(np.ones(1), means, cov, chol)
    stats = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=100_000)
    # Reference: one component, every responsibility 1, deviations 2 * largest.
    deviation = np.float64(np.float32(largest)) - (-largest)
    expected = n_samples * deviation**2
    sxx = np.asarray(stats.sxx, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        diagonal = np.diagonal(sxx.reshape(-1, n_features, n_features), axis1=1, axis2=2)
    else:
        diagonal = sxx
    np.testing.assert_allclose(diagonal, expected, rtol=ref.SKLEARN_RTOL[np.float32],
                               atol=0)
    assert np.isfinite(stats.loglik)


def test_float32_pass_bound_follows_from_the_block_cap():
    """The derivation in ``_config``: a block of MAX_CHUNK_SIZE rows, each of
    weight FLOAT32_PASS_MAX_WEIGHT, with deviations of 2 * FLOAT32_PASS_MAX_ABS
    and float32 rounding growth, stays below float32's largest value."""
    largest = _config.FLOAT32_PASS_MAX_ABS
    block_sum = (_config.MAX_CHUNK_SIZE * _config.FLOAT32_PASS_MAX_WEIGHT
                 * (2 * largest) ** 2 * (1 + 2**-10))
    assert block_sum <= np.finfo(np.float32).max
    assert _config.FLOAT32_MAX == float(np.finfo(np.float32).max)


@pytest.mark.parametrize("covariance_type, n_features",
                         [("full", 3), ("full", 8), ("tied", 3), ("tied", 8), ("diag", 3),
                          ("spherical", 3)])
def test_float32_block_sums_stay_finite_at_the_cap(covariance_type, n_features):
    """The worst case the bound allows: one block of exactly MAX_CHUNK_SIZE
    rows at the largest float32 value the estimator passes as float32, every
    row at twice that from the mean, every weight just below
    FLOAT32_PASS_MAX_WEIGHT. The float32 sums of the block (scatter or squared
    deviations) come within 2**-10 of float32's largest value and stay
    finite, equal to their float64 value."""
    largest = np.float32(_config.FLOAT32_PASS_MAX_ABS)
    if largest > _config.FLOAT32_PASS_MAX_ABS:
        largest = np.nextafter(largest, np.float32(0))
    n_samples = _config.MAX_CHUNK_SIZE
    X = np.full((n_samples, n_features), largest, dtype=np.float32)
    weight = np.nextafter(_config.FLOAT32_PASS_MAX_WEIGHT, 0.0)
    sample_weight = np.full(n_samples, weight)
    means = np.full((1, n_features), -float(largest))
    scale = 1.0 / (2 * float(largest))
    eye = np.eye(n_features)
    params = {
        "full": (eye[None] / scale**2, eye[None] * scale),
        "tied": (eye / scale**2, eye * scale),
        "diag": (np.full((1, n_features), 1 / scale**2), np.full((1, n_features), scale)),
        "spherical": (np.array([1 / scale**2]), np.array([scale])),
    }[covariance_type]
    stats = _em.em_pass(X, sample_weight, Params(np.ones(1), means, *params),
                        covariance_type, chunk_size=n_samples)
    expected = n_samples * weight * (2 * float(largest)) ** 2
    assert expected > np.finfo(np.float32).max / 1.01
    sxx = np.asarray(stats.sxx, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        sxx = np.triu(sxx.reshape(-1, n_features, n_features)[0])
        expected = np.triu(np.full((n_features, n_features), expected))
    np.testing.assert_allclose(sxx, np.broadcast_to(expected, sxx.shape),
                               rtol=ref.RTOL[np.float32], atol=0)
    assert np.isfinite(stats.loglik)


# -- Dask task keys ----------------------------------------------------------------------


def separated_blobs():
    """Four far-apart blobs: EM reaches a fixed point (parameters repeat bit for
    bit) within a few iterations, so with ``tol=0`` the passes repeat too."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(2000, 2)) + 1000.0 * np.arange(4).repeat(500)[:, None]


def quiet_fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(**params).fit(X)


def assert_fit_close(a, b):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name),
                                   rtol=ref.RTOL[np.float64], atol=ref.FIT_ATOL,
                                   err_msg=name)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=ref.RTOL[np.float64])
    assert a.n_iter_ == b.n_iter_


def test_dask_pass_keys_are_unique_per_iteration(monkeypatch):
    """With ``tol=0`` at a fixed point, every pass built the same graph (the
    same task keys), which a distributed scheduler may still be releasing
    from the previous pass ("Couldn't gather keys ... forgotten")."""
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X = separated_blobs()
    chunk_keys = []
    compute = dask.compute

    def spy(*args, **kwargs):
        for arg in args:
            if hasattr(arg, "__dask_graph__"):
                chunk_keys.extend(str(k) for k in arg.__dask_graph__()
                                  if str(k).startswith("em_chunk_stats"))
        return compute(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", spy)
    params = dict(n_components=4, tol=0, max_iter=8, random_state=0)
    with dask.config.set(scheduler="threads"):
        on_dask = quiet_fit(da.from_array(X, chunks=(500, 2)), **params)
    assert on_dask.n_iter_ == 8
    assert len(chunk_keys) == 4 * 8
    assert len(set(chunk_keys)) == len(chunk_keys)
    assert_fit_close(on_dask, quiet_fit(X, **params))


def test_dask_fit_at_a_fixed_point_logs_nothing_on_a_cluster():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    X = separated_blobs()
    params = dict(n_components=4, tol=0, max_iter=12, random_state=0)
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("distributed")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = distributed.LocalCluster(n_workers=2, processes=False,
                                               threads_per_worker=1,
                                               dashboard_address=None)
        with cluster, distributed.Client(cluster) as client:
            X_cluster = client.persist(da.from_array(X, chunks=(500, 2)))
            distributed.wait(X_cluster)
            with distributed.get_task_stream(client) as stream:
                on_cluster = quiet_fit(X_cluster, **params)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert not [m for m in messages if "Couldn't gather" in m or "forgotten" in m], messages
    keys = [t["key"] for t in stream.data
            if distributed.utils.key_split(t["key"]) == "em_chunk_stats"]
    assert len(keys) == 4 * on_cluster.n_iter_ == len(set(keys))
    assert_fit_close(on_cluster, quiet_fit(X, **params))
