"""Dask arrays: each EM iteration as one distributed pass, on a real cluster.

A ``LocalCluster`` of two worker processes on the loopback interface holds
the data; the client never computes a pass itself. The distributed fit sums
the same per-row statistics as the in-memory fit in another order (per
chunk, then a tree), so float64 results agree to ``reference.RTOL`` (1e-10
relative) whatever the chunking.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import reference as ref
from fastgmm import GaussianMixture

da = pytest.importorskip("dask.array", reason="the 'dask' extra is not installed "
                         "(pip install 'fastgmm[dask]')")
distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not "
                                  "installed (pip install 'fastgmm[dask]')")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]
RTOL = ref.RTOL[np.float64]


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def blobs(seed=0, n_samples=6000, n_features=3, n_components=3):
    X, _ = ref.make_blobs(np.random.default_rng(seed), n_samples, n_features,
                          n_components)
    return X


start = ref.random_start


def fit(X, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(**params).fit(X, sample_weight=sample_weight)


def assert_close_fit(a, b):
    for name in FITTED:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=RTOL,
                                   atol=ref.FIT_ATOL, err_msg=name)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=RTOL)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_distributed_fit_equals_in_memory_fit(client, monkeypatch, covariance_type):
    X = blobs()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=20,
                  **start(X, covariance_type))
    in_memory = fit(X, weights, **params)

    X_cluster = client.persist(da.from_array(X, chunks=(1000, 3)))
    w_cluster = client.persist(da.from_array(weights, chunks=1000))
    distributed.wait([X_cluster, w_cluster])

    # The client itself never runs a pass: the statistics come from the workers.
    def no_pass_here(*args, **kwargs):
        raise AssertionError("em_pass ran on the client")

    monkeypatch.setattr("fastgmm._em.em_pass", no_pass_here)
    with distributed.get_task_stream(client) as stream:
        on_cluster = fit(X_cluster, w_cluster, **params)
    assert_close_fit(on_cluster, in_memory)

    workers = {t["worker"] for t in stream.data
               if distributed.utils.key_split(t["key"]) == "em_chunk_stats"}
    assert workers == set(client.scheduler_info()["workers"])
    tasks = [t for t in stream.data
             if distributed.utils.key_split(t["key"]) == "em_chunk_stats"]
    assert len(tasks) == 6 * on_cluster.n_iter_


@pytest.mark.parametrize("chunks", [(6000, 3), (1000, 3), (777, 2), (250, 1)])
def test_result_does_not_depend_on_chunking(client, chunks):
    # Random sample weights and the 'kmeans' start (drawn from all rows, as in
    # memory: X has fewer than _config.DASK_START_ROWS rows).
    X = blobs(seed=2)
    weights = np.random.default_rng(3).uniform(0.0, 2.0, X.shape[0])
    params = dict(n_components=3, random_state=0, max_iter=30)
    in_memory = fit(X, weights, **params)
    on_cluster = fit(da.from_array(X, chunks=chunks), weights, **params)
    assert_close_fit(on_cluster, in_memory)


def test_predictions_are_lazy(client):
    X = blobs(seed=4)
    model = fit(X, n_components=3, random_state=0)
    X_cluster = client.persist(da.from_array(X, chunks=(1500, 3)))
    outputs = {
        "predict": model.predict(X_cluster),
        "predict_proba": model.predict_proba(X_cluster),
        "score_samples": model.score_samples(X_cluster),
    }
    for method, lazy in outputs.items():
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == X_cluster.chunks[0]
        np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X),
                                   rtol=ref.REORDER_RTOL, err_msg=method)
    labels = fit(da.from_array(X, chunks=(1500, 3)), n_components=3,
                 random_state=0).fit_predict(da.from_array(X, chunks=(1500, 3)))
    assert isinstance(labels, da.Array)


def test_start_from_a_sample_of_rows(client, monkeypatch):
    """Above _config.DASK_START_ROWS rows the start is drawn from a sample of
    rows, the same for the same random_state and chunking."""
    monkeypatch.setattr("fastgmm._config.DASK_START_ROWS", 500)
    X = blobs(seed=5)
    X_cluster = da.from_array(X, chunks=(2000, 3))
    a = fit(X_cluster, n_components=3, random_state=7, init_params="k-means++")
    b = fit(X_cluster, n_components=3, random_state=7, init_params="k-means++")
    for name in FITTED:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.converged_
    # The same optimum as the in-memory fit, up to the order of the components.
    in_memory = fit(X, n_components=3, random_state=0)
    order = np.argsort(a.means_[:, 0])
    np.testing.assert_allclose(a.means_[order],
                               in_memory.means_[np.argsort(in_memory.means_[:, 0])],
                               rtol=ref.OPTIMUM_TOL, atol=ref.OPTIMUM_TOL)


def test_integer_and_float32_chunks(client):
    X = blobs(seed=6)
    as_int = np.round(X * 100).astype(np.int32)
    assert_close_fit(fit(da.from_array(as_int, chunks=(1000, 3)), n_components=3,
                         random_state=0),
                     fit(as_int, n_components=3, random_state=0))
    X32 = X.astype(np.float32)
    on_cluster = fit(da.from_array(X32, chunks=(1000, 3)), n_components=3,
                     random_state=0)
    assert on_cluster.means_.dtype == np.float32
    np.testing.assert_allclose(on_cluster.means_,
                               fit(X32, n_components=3, random_state=0).means_,
                               rtol=ref.RTOL[np.float32])


def test_invalid_dask_input(client):
    X = blobs()
    X[17, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        fit(da.from_array(X, chunks=1000), n_components=3)
    with pytest.raises(ValueError, match="reseed"):
        fit(da.from_array(blobs(), chunks=1000), n_components=3, on_degenerate="reseed")
    model = fit(blobs(), n_components=3, random_state=0)
    with pytest.raises(ValueError, match="features"):
        model.predict(da.zeros((10, 2), chunks=5))


def test_fastgmm_imports_without_dask():
    """``import fastgmm`` never imports dask, and works where it is missing."""
    code = (
        "import sys\n"
        "import fastgmm, numpy as np\n"
        "assert 'dask' not in sys.modules\n"
        "sys.modules['dask'] = None\n"
        "fastgmm.GaussianMixture(2, random_state=0).fit(np.arange(20.0).reshape(10, 2))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
