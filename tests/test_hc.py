"""The 'hc' start: mclust's model-based agglomerative hierarchical clustering."""

import numpy as np
import pytest

from fastgmm import GaussianMixture, select_model
from fastgmm import model_selection as ms
from fastgmm._hc import draw_rows, hierarchical_tree, svd_transform
from fastgmm.exceptions import InvalidParameterError
from helpers import fit_quietly
from reference import HC_COST_ATOL, HC_TRANSFORM_ATOL, hc_naive, hc_svd_transform


def _rows(seed, n=30, d=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, d))
    return centres[rng.integers(3, size=n)] + rng.normal(size=(n, d)) * rng.uniform(
        0.3, 2.0, size=d)


@pytest.mark.parametrize("model", ["VVV", "EII"])
@pytest.mark.parametrize("seed,d", [(0, 3), (1, 2), (2, 4)])
def test_merge_sequence_matches_naive_reference(model, seed, d):
    X = _rows(seed, d=d)
    tree = hierarchical_tree(X, model=model)
    merges, costs = hc_naive(hc_svd_transform(X), model=model)
    assert tree.row_merges().tolist() == [list(m) for m in merges]
    np.testing.assert_allclose(tree.merge_costs, costs, rtol=0, atol=HC_COST_ATOL)


def test_duplicated_rows_follow_the_tie_order():
    # Tied rows (as in Old Faithful) merge first; equal costs go to the pair
    # of highest (larger, smaller) row, as in mclust's scan.
    X = _rows(3, n=24, d=2)
    X[[2, 9, 17]] = X[5]
    X[20] = X[11]
    tree = hierarchical_tree(X, use="VARS")
    merges, costs = hc_naive(X)
    assert tree.row_merges().tolist() == [list(m) for m in merges]
    np.testing.assert_allclose(tree.merge_costs, costs, rtol=0, atol=HC_COST_ATOL)


def test_svd_transform_matches_reference():
    X = _rows(4, n=50, d=4)
    np.testing.assert_allclose(np.abs(svd_transform(X)), np.abs(hc_svd_transform(X)),
                               rtol=0, atol=HC_TRANSFORM_ATOL)


def test_cuts_are_nested_partitions():
    X = _rows(5, n=60)
    tree = hierarchical_tree(X)
    previous = None
    for k in range(1, 10):
        labels = tree.labels(k)
        assert labels.shape == (60,) and sorted(set(labels.tolist())) == list(range(k))
        # Numbered in the order of their first row.
        assert [labels.tolist().index(j) for j in range(k)] == sorted(
            labels.tolist().index(j) for j in range(k))
        if previous is not None:
            # Each group of the cut at k lies within one group of the cut at k - 1.
            for j in range(k):
                assert len(set(previous[labels == j].tolist())) == 1
        previous = labels
    with pytest.raises(ValueError, match="cannot give 61 components"):
        tree.labels(61)


def test_cuts_are_cached_and_independent_of_order():
    # A sweep cuts one tree once per K: a cut, however many times and in
    # whatever order it is asked for, is the one a fresh tree gives, and the
    # cached labels cannot be changed by a caller.
    X = _rows(7, n=60)
    tree = hierarchical_tree(X)
    cuts = {k: tree.labels(k).copy() for k in (7, 2, 5, 2)}
    fresh = hierarchical_tree(X)
    for k, labels in cuts.items():
        np.testing.assert_array_equal(labels, fresh.labels(k))
        assert tree.labels(k) is tree.labels(k)
    with pytest.raises(ValueError):
        tree.labels(3)[0] = 1


def test_deterministic_and_subset_size():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5000, 3))
    a = hierarchical_tree(X, max_samples=300, random_state=1)
    b = hierarchical_tree(X, max_samples=300, random_state=1)
    c = hierarchical_tree(X, max_samples=300, random_state=2)
    assert a.rows.size == 300 and np.unique(a.rows).size == 300
    assert np.all(np.diff(a.rows) > 0)
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.merges, b.merges)
    np.testing.assert_array_equal(a.merge_costs, b.merge_costs)
    assert not np.array_equal(a.rows, c.rows)
    # At most max_samples rows: all of them, and the random state is not used.
    state = np.random.RandomState(3)
    before = state.get_state()[1].copy()
    small = hierarchical_tree(X[:200], max_samples=300, random_state=state)
    np.testing.assert_array_equal(small.rows, np.arange(200))
    np.testing.assert_array_equal(state.get_state()[1], before)



@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_tree_identical_for_one_and_two_threads(model):
    """The pair costs are computed on the threads: the same merges and costs."""
    import numba

    X = np.random.default_rng(7).normal(size=(400, 3))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = hierarchical_tree(X, model=model)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = hierarchical_tree(X, model=model)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.merges, two.merges)
    np.testing.assert_array_equal(one.merge_costs, two.merge_costs)

def test_rows_of_zero_weight_are_never_drawn():
    weights = np.zeros(1000)
    weights[::3] = 1.0
    rows = draw_rows(1000, weights, 100, np.random.RandomState(0))
    assert rows.size == 100 and np.all(weights[rows] > 0)
    np.testing.assert_array_equal(draw_rows(1000, weights, 400, None),
                                  np.flatnonzero(weights))


def test_start_is_the_m_step_of_the_cut():
    X = _rows(7, n=120)
    tree = hierarchical_tree(X)
    labels = tree.labels(3)
    gm = GaussianMixture(3, init_params="hc", max_iter=0, random_state=0)
    fit_quietly(gm, X)
    means = np.array([X[labels == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(gm.means_, means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gm.weights_, np.bincount(labels) / 120, rtol=1e-12)


def test_hc_start_on_a_subset_reads_only_its_rows():
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal(size=(3000, 2)), rng.normal(6, 1, size=(3000, 2))])
    gm = fit_quietly(GaussianMixture(2, init_params="hc", random_state=0), X)
    assert gm.converged_
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]), [0, 6], atol=0.1)


def test_bad_input():
    X = _rows(9)
    with pytest.raises(InvalidParameterError, match="'hc'"):
        GaussianMixture(2, init_params="hierarchical").fit(X)
    with pytest.raises(ValueError, match="model must be one of"):
        hierarchical_tree(X, model="VVI")
    with pytest.raises(ValueError, match="hc_max_samples must be an int"):
        select_model(X, n_components=[2], init_params="hc", hc_max_samples=1)


def test_select_model_builds_one_tree_for_every_k_and_model(monkeypatch):
    X = _rows(10, n=150)
    built = []
    real = ms.hierarchical_tree

    def counting(*args, **kw):
        built.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ms, "hierarchical_tree", counting)
    sel = select_model(X, n_components=range(1, 5), init_params="hc", random_state=0)
    assert len(built) == 1
    # Each row is the model GaussianMixture gives with the same start.
    row = sel.results_[(sel.results_["n_components"] == 3)
                       & (sel.results_["covariance_type"] == "diag")][0]
    gm = fit_quietly(GaussianMixture(3, covariance_type="diag", init_params="hc",
                                     random_state=0), X)
    np.testing.assert_allclose(row["bic"], gm.bic(X), rtol=1e-10)


def test_float32_and_weights():
    X = _rows(11, n=200).astype(np.float32)
    gm = fit_quietly(GaussianMixture(3, init_params="hc", random_state=0), X)
    assert gm.means_.dtype == np.float32
    # A weight of 2 is the row twice for the M-step of the start (the tree is
    # built on the rows of positive weight, so rows of weight 0 do not count).
    w = np.ones(200)
    w[:50] = 0.0
    a = fit_quietly(GaussianMixture(3, init_params="hc", max_iter=0), X, sample_weight=w)
    b = fit_quietly(GaussianMixture(3, init_params="hc", max_iter=0), X[50:])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-6)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-6)
