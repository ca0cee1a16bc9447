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
