"""``fastgmm.bench``: rows per installed peer, from the same start.

Every run here is tiny (1000 to 10,000 rows, one or two iterations), so the
timings mean nothing; what is checked is which rows appear and that the
peers computed the same thing. Tolerances on the relative difference of the
final lower bound: 1e-8 in float64 for peers that do the same arithmetic
(the differences seen are rounding, about 1e-16); 1e-5 for GMMX, which
computes in float32.
"""

import sys

import numpy as np
import pytest

import reference
from fastgmm import bench
from fastgmm.gaussian_mixture import GaussianMixture

TINY = 0.001  # every shape falls to its floor of 1000 rows


def _libraries(results, shape):
    return [r["library"] for r in results if r["shape"] == shape]


def _row(results, shape, library):
    (row,) = [r for r in results if r["shape"] == shape and r["library"] == library]
    return row


def _block(monkeypatch, *modules):
    # A None entry in sys.modules makes `import name` raise ImportError.
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_warmup_fits_the_timed_data(monkeypatch):
    """The warm-up fit of each library runs on the data the timed fits run
    on: fastgmm's first fit of a slice used only its serial kernels, and
    the first timed fit then loaded (or compiled) the parallel ones."""
    calls = []
    time_one = bench._time_one

    def recording(make_model, X, n_iter):
        calls.append((X.shape, n_iter))
        return time_one(make_model, X, n_iter)

    monkeypatch.setattr(bench, "_time_one", recording)
    results = bench.run("a", n_iter=2, repeat=1, scale=0.003, warmup=True)
    n_libraries = len(_libraries(results, "a"))
    assert n_libraries >= 1
    rows = {shape for shape, _ in calls}
    assert rows == {(3000, 2)}  # more rows than the 2000 of the old slice
    assert [n for _, n in calls] == [1] * n_libraries + [2] * n_libraries


def test_fastgmm_and_sklearn_rows_agree():
    pytest.importorskip("sklearn")
    results = bench.run("abc", n_iter=1, repeat=1, scale=TINY, warmup=False)
    for shape in "abc":
        libraries = _libraries(results, shape)
        assert libraries[:2] == ["fastgmm", "scikit-learn"]
        fast = _row(results, shape, "fastgmm")
        assert fast["ratio"] == 1.0 and fast["lb_rel_diff"] == 0.0
        assert fast["n_samples"] == 1000
        assert _row(results, shape, "scikit-learn")["lb_rel_diff"] < reference.PEER_RTOL[np.float64]
    table = bench.format_table(results)
    assert table.count("| fastgmm |") == 3


def test_missing_peer_is_absent(monkeypatch):
    pytest.importorskip("sklearn")
    _block(monkeypatch, "daal4py", "gmmx")
    assert [p.name for p in bench.peers()] == ["fastgmm", "scikit-learn"]
    _block(monkeypatch, "sklearn.mixture")
    assert [p.name for p in bench.peers()] == ["fastgmm"]
    results = bench.run("a", n_iter=1, repeat=1, scale=TINY, warmup=False)
    assert _libraries(results, "a") == ["fastgmm"]
    assert bench.notes(results) == ""


def test_peer_skipped_for_shapes_it_cannot_fit(monkeypatch):
    def make(ct, k, start, n, reg):
        return GaussianMixture(k, covariance_type=ct, tol=0.0, max_iter=n, reg_covar=reg,
                               **start)

    fastgmm = bench.peers()[0]
    full_only = bench.Peer("full-only", make, frozenset({"full"}),
                           frozenset({"float64"}), "full-only: a note")
    monkeypatch.setattr(bench, "peers", lambda: [fastgmm, full_only])
    results = bench.run("ac", n_iter=1, repeat=1, scale=TINY, warmup=False)
    assert _libraries(results, "a") == ["fastgmm", "full-only"]
    assert _libraries(results, "c") == ["fastgmm"]
    assert _row(results, "a", "full-only")["lb_rel_diff"] == 0.0
    assert bench.notes(results) == "full-only: a note"
    results = bench.run("a", n_iter=1, repeat=1, scale=TINY, warmup=False,
                        dtype=np.float32)
    assert _libraries(results, "a") == ["fastgmm"]


def _installed(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_onedal_lower_bound_matches_without_reg_covar():
    """oneDAL adds no reg_covar: with reg_covar=0 the computation is the same.

    Without daal4py installed, the peer must simply be absent.
    """
    results = bench.run("a", n_iter=2, repeat=1, scale=0.01, warmup=False, reg_covar=0.0)
    if not _installed("daal4py"):
        assert "oneDAL" not in _libraries(results, "a")
        return
    assert _row(results, "a", "oneDAL")["lb_rel_diff"] < reference.PEER_RTOL[np.float64]


def test_gmmx_float32_only():
    """GMMX computes in float32 only; absent when gmmx is not installed."""
    results = bench.run("b", n_iter=2, repeat=1, scale=TINY, dtype=np.float32)
    if not _installed("gmmx"):
        assert "GMMX" not in _libraries(results, "b")
        return
    assert _row(results, "b", "GMMX")["lb_rel_diff"] < reference.PEER_RTOL[np.float32]
    results = bench.run("b", n_iter=1, repeat=1, scale=TINY, warmup=False)
    assert "GMMX" not in _libraries(results, "b")


# -- roofline ------------------------------------------------------------------


def test_iteration_flops_counts():
    # full: 2 d(d+1) + 5 d per point and component (product and scatter
    # d(d+1)/2 FMAs each, squared norm d FMAs, D, r D and its sum).
    assert bench.iteration_flops(10, 3, 2, "full") == 10 * 2 * (2 * 3 * 4 + 5 * 3)
    assert bench.iteration_flops(1, 1, 1, "full") == 9
    # shape b: 1.74 GFLOP of product and scatter (2 d(d+1)), 2.0 in all
    assert bench.iteration_flops(200_000, 16, 16, "full") == 200_000 * 16 * (544 + 80)
    # tied: the product per component, the pooled scatter once per point
    assert bench.iteration_flops(10, 3, 2, "tied") == 10 * 2 * (3 * 4 + 15) + 10 * 3 * 4
    # diag and spherical: 8 d
    for cov in ("diag", "spherical"):
        assert bench.iteration_flops(7, 5, 4, cov) == 7 * 4 * 8 * 5
    # linear in N and K
    assert (bench.iteration_flops(2000, 16, 6, "full")
            == 2 * 3 * bench.iteration_flops(1000, 16, 2, "full"))
    assert bench.iteration_flops(np.int64(4), 2, 2, "diag") == 4 * 2 * 16
    # A model counts as the pass it runs: mclust's names and aliases included.
    assert bench.iteration_flops(10, 3, 2, "VVV") == bench.iteration_flops(10, 3, 2, "full")
    assert bench.iteration_flops(10, 3, 2, "EEI") == bench.iteration_flops(10, 3, 2, "diag")
    assert bench.iteration_bytes(1000, 4) == 32_000
    assert bench.iteration_bytes(1000, 4, 4) == 16_000


@pytest.mark.parametrize("args, match", [
    ((10, 2, 2, "XYZ"), "covariance_type"),
    ((10, 0, 2, "full"), "n_features must be a positive integer"),
    ((0, 2, 2, "full"), "n_samples must be a positive integer"),
    ((10, 2, True, "full"), "n_components must be a positive integer"),
    ((10, 2.0, 2, "full"), "n_features must be a positive integer"),
])
def test_iteration_flops_rejects(args, match):
    with pytest.raises(ValueError, match=match):
        bench.iteration_flops(*args)


def test_roofline_rows_and_columns():
    peaks = bench.measure_peaks(threads=1, repeat=1, copy_bytes=2**20, fma_flops=1e6,
                                gemm_size=32)
    for key in ("fma_1", "fma_n", "gemm64_n", "gemm32_n", "copy_numpy", "copy_numba"):
        assert peaks[key] > 0, key
    assert peaks["threads"] == 1
    rows, same = bench.run_roofline("abcdef", n_iter=1, repeat=1, scale=0.001, peaks=peaks)
    assert same is peaks
    assert [r["shape"] for r in rows] == list("abcdef")
    assert [r["covariance_type"] for r in rows] == ["full", "full", "diag", "full", "diag",
                                                    "spherical"]
    for r in rows:
        assert r["n_samples"] == 1000
        assert r["gflop"] * 1e9 == pytest.approx(bench.iteration_flops(
            r["n_samples"], r["n_features"], r["n_components"], r["covariance_type"]))
        assert r["gflops"] == pytest.approx(r["gflop"] / r["ms_per_iter"] * 1e3)
        assert r["fma_fraction"] == pytest.approx(r["gflops"] / peaks["fma_n"])
        assert r["copy_fraction"] == pytest.approx(
            r["gbytes_per_s"] / max(peaks["copy_numpy"], peaks["copy_numba"]))
        assert r["bound"] in ("compute", "memory")
    table = bench.format_roofline(rows, peaks)
    assert "FMA peak (Numba FMA loop)" in table and "copy bandwidth" in table
    assert table.startswith("clock: wall")
    header = [c.strip() for c in table.splitlines()[6].split("|")[1:-1]]
    assert header[6:] == ["ms / iteration", "GFLOP / iteration", "GFLOP/s", "× FMA peak",
                          "GB/s (X read)", "× copy bandwidth", "bound"]
    assert sum(line.startswith("| ") for line in table.splitlines()) == 2 + 6
    # the default bench table's shapes are unchanged
    assert set(bench.SHAPES) == set("abc")
    assert all(bench.ROOFLINE_SHAPES[k] == bench.SHAPES[k] for k in "abc")


def test_roofline_cpu_clock():
    peaks = bench.measure_peaks(threads=1, repeat=1, copy_bytes=2**20, fma_flops=1e6,
                                gemm_size=32, clock="cpu")
    assert peaks["clock"] == "cpu" and peaks["fma_1"] > 0
    rows, _ = bench.run_roofline("e", n_iter=1, repeat=1, scale=0.001, peaks=peaks)
    assert rows[0]["ms_per_iter"] > 0
    assert bench.format_roofline(rows, peaks).startswith("clock: cpu")
