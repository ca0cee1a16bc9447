"""The kernels and the fused pass against the plain numpy/scipy reference.

Tolerances: the table in ``reference.py`` (``reference.RTOL`` against the
dense reference, for float32 data the precision rule of ``fastgmm._kernels``).
"""

import numpy as np
import pytest

from fastgmm import _config, _em, _threads
from fastgmm._kernels._inline import EXP_CUTOFF
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._stats import Params
import reference as ref

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]


def make_problem(seed, covariance_type, dtype, n_samples=1000, n_features=3,
                 n_components=4):
    rng = np.random.default_rng(seed)
    X, _ = ref.make_blobs(rng, n_samples, n_features, n_components, dtype=dtype)
    weights, means, cov = ref.random_parameters(rng, X, n_components, covariance_type)
    params = Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))
    return X, params


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_log_prob_matches_scipy(covariance_type, dtype):
    X, params = make_problem(0, covariance_type, dtype, n_samples=700)
    got = _em.weighted_log_prob(X, params, covariance_type)
    assert got.dtype == dtype and got.shape == (700, 4)
    expected = ref.weighted_log_prob(X, params.weights, params.means,
                                     params.covariances, covariance_type)
    np.testing.assert_allclose(got, expected, rtol=ref.RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_resp_matches_reference(covariance_type, dtype):
    X, params = make_problem(1, covariance_type, dtype)
    norm, log_resp = _em.log_resp(X, params, covariance_type)
    exp_norm, exp_resp = ref.responsibilities(X, params.weights, params.means,
                                              params.covariances, covariance_type)
    np.testing.assert_allclose(norm, exp_norm, rtol=ref.RTOL[dtype])
    np.testing.assert_allclose(np.exp(log_resp), exp_resp, rtol=ref.LOG_RESP_RTOL,
                               atol=ref.RTOL[dtype])
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0, rtol=ref.RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_responsibilities_match_reference(covariance_type, dtype):
    # The kernels' own normalisation (predict_proba, score_samples).
    X, params = make_problem(6, covariance_type, dtype, n_samples=600)
    norm, resp = _em.responsibilities(X, params, covariance_type)
    assert norm.dtype == dtype and resp.dtype == dtype and resp.shape == (600, 4)
    exp_norm, exp_resp = ref.responsibilities(X, params.weights, params.means,
                                              params.covariances, covariance_type)
    np.testing.assert_allclose(norm, exp_norm, rtol=ref.RTOL[dtype])
    # Terms below exp(-690) of the largest are flushed to 0. float32 data are
    # scored in float32: log-densities of magnitude L carry errors of about
    # L * 6e-8, so a responsibility is right to about 1e-6 absolute (the
    # relative error of a 1e-20 term is then 1e-5), not to 1e-5 relative.
    np.testing.assert_allclose(resp, exp_resp, rtol=ref.RTOL[dtype], atol=ref.RESP_ATOL[dtype])
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=ref.RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_em_pass_statistics_match_dense_reference(covariance_type, dtype, weighted):
    X, params = make_problem(2, covariance_type, dtype, n_samples=1500)
    rng = np.random.default_rng(3)
    sw = rng.uniform(0, 3, size=X.shape[0]) if weighted else None
    stats = _em.em_pass(X, np.empty(0) if sw is None else sw, params, covariance_type,
                        chunk_size=128)
    norm, resp = ref.responsibilities(X, params.weights, params.means,
                                      params.covariances, covariance_type)
    w = np.ones(X.shape[0]) if sw is None else sw
    rw = resp * w[:, None]
    X64 = X.astype(np.float64)
    # Statistics accumulate in float64; float32 data are scored in float32,
    # so their responsibilities carry float32 errors (see reference.RTOL).
    rtol = ref.RTOL[dtype]
    np.testing.assert_allclose(stats.loglik, (w * norm).sum(), rtol=rtol)
    np.testing.assert_allclose(stats.nk, rw.sum(axis=0), rtol=rtol)
    for k in range(params.means.shape[0]):
        D = X64 - params.means[k]
        np.testing.assert_allclose(stats.sx[k], rw[:, k] @ D, rtol=ref.CENTRED_SUM_RTOL[dtype],
                                   atol=ref.CENTRED_SUM_ATOL[dtype])
        if covariance_type == "full":
            np.testing.assert_allclose(np.triu(stats.sxx[k]),
                                       np.triu((rw[:, k, None] * D).T @ D), rtol=rtol)
        elif covariance_type in ("diag", "spherical"):
            np.testing.assert_allclose(stats.sxx[k], rw[:, k] @ (D * D), rtol=rtol)
    if covariance_type == "tied":
        D0 = X64 - stats.shift
        np.testing.assert_allclose(np.triu(stats.sxx), np.triu((w[:, None] * D0).T @ D0),
                                   rtol=rtol)


# Feature counts that reach every tile path of the triangular product and the
# scatter: the two-feature special case of 'full', two-wide tiles with and
# without a one-column rest below WIDE_TILE_MIN_FEATURES, four-wide tiles with
# rests of 0..3 columns from it on. 'diag', 'spherical' and 'tied' score four
# features per sweep over the block (below four features one sweep per
# component, of each width 1-3) and 'diag' / 'spherical' sum their moments
# two features per sweep: the same widths leave every rest of both.
TILE_FEATURE_COUNTS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 16, 19]



@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_load_block_copies_rows_of_every_layout(layout, dtype):
    """The block copy reads row-major X row by row (four rows at a time
    below ``LOAD_FOUR_ROWS_MAX_FEATURES``) and other layouts feature by
    feature: every path gives the rows, transposed, and writes nothing past
    them."""
    from fastgmm._kernels.logprob import LOAD_FOUR_ROWS_MAX_FEATURES, load_block

    rng = np.random.default_rng(5)
    for n_features in [1, 2, 3, LOAD_FOUR_ROWS_MAX_FEATURES - 1,
                       LOAD_FOUR_ROWS_MAX_FEATURES, 40]:
        base = rng.normal(size=(50, 2 * n_features)).astype(dtype)
        X = {"C": np.ascontiguousarray(base[:, :n_features]),
             "F": np.asfortranarray(base[:, :n_features]),
             "strided": base[:, ::2]}[layout]
        for start, n_rows in [(0, 50), (3, 23), (7, 1)]:
            xt = np.full((n_features, 40 + 8), -1.0, dtype)
            load_block(X, start, min(n_rows, 40), xt)
            rows = min(n_rows, 40)
            np.testing.assert_array_equal(xt[:, :rows], X[start:start + rows].T)
            assert np.all(xt[:, rows:] == -1.0)


@pytest.mark.parametrize("tiles", ["_scatter_tiles2", "_scatter_tiles4", "_scatter_tiles24"])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_tiles_match_reference_for_every_width(tiles, accumulate, dtype):
    """Every register tiling of the scatter against numpy, for every width,
    whichever one this host's kernels use (``em_pass.SCATTER_TILES_4X4``):
    the upper triangle written (or, with ``accumulate``, each entry added
    once to what was there), the lower one untouched."""
    from fastgmm._kernels import em_pass

    rng = np.random.default_rng(3)
    n_rows = 130
    for n_features in TILE_FEATURE_COUNTS:
        dev = rng.normal(size=(n_features, n_rows + 8)).astype(dtype)
        rdev = (rng.uniform(size=n_rows + 8) * dev).astype(dtype)
        before = rng.normal(size=(n_features, n_features))
        out = before.copy()
        getattr(em_pass, tiles)(n_rows, rdev, dev, out, dtype(0), accumulate)
        d64, r64 = dev[:, :n_rows].astype(np.float64), rdev[:, :n_rows].astype(np.float64)
        upper = np.triu_indices(n_features)
        expected = (r64 @ d64.T)[upper] + (before[upper] if accumulate else 0.0)
        np.testing.assert_allclose(out[upper], expected, rtol=ref.RTOL[dtype],
                                   atol=ref.RTOL[dtype] * (np.abs(r64) @ np.abs(d64).T).max())
        lower = np.tril_indices(n_features, -1)
        np.testing.assert_array_equal(out[lower], before[lower])


def test_host_vector_registers_read_from_numba_target():
    """The tile choice follows Numba's target CPU: its feature string when
    given, none for a named CPU without features, else the host's."""
    from fastgmm._config import host_has_avx512

    assert host_has_avx512(None, "+avx2,+fma,+avx512f,+avx512vl")
    assert not host_has_avx512(None, "+avx2,+fma,-avx512f")
    assert not host_has_avx512("generic", None)
    assert host_has_avx512() in (True, False)

@pytest.mark.parametrize("covariance_type, accumulate",
                         [(c, False) for c in COVARIANCE_TYPES] + [("full", True)],
                         ids=COVARIANCE_TYPES + ["full-accumulate"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", TILE_FEATURE_COUNTS)
def test_tiled_kernels_match_reference_for_every_width(covariance_type, dtype, n_features,
                                                       accumulate, monkeypatch):
    """Scoring and every statistic of the pass, per tile width and dtype, with
    blocks of 128 rows and a 44-row rest. ``accumulate``: 'full' with every
    block adding its scatter into the total (``em_pass_full_components``, and
    the serial kernel's two-feature path; with one feature, the accumulating
    pass of 42ed10d called em_pass_full_components with em_pass_full's
    arguments and raised TypeError). 'full' runs its column tiles here at
    every width, as it does above ``UNROLLED_MAX_FEATURES`` and on hosts
    without AVX-512 (the unrolled product:
    ``test_unrolled_kernels_match_reference``)."""
    from fastgmm._kernels import logprob

    monkeypatch.setattr(logprob, "unrolled_product", lambda n_features, dtype: False)
    X, params = make_problem(5, covariance_type, dtype, n_samples=300,
                             n_features=n_features, n_components=3)
    rtol = ref.RTOL[dtype]
    got = _em.weighted_log_prob(X, params, covariance_type)
    assert got.dtype == dtype
    expected = ref.weighted_log_prob(X, params.weights, params.means,
                                     params.covariances, covariance_type)
    np.testing.assert_allclose(got, expected, rtol=rtol)
    if accumulate:
        monkeypatch.setattr(_em._config, "PART_BYTES", 1)
    stats = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=128)
    norm, resp = ref.responsibilities(X, params.weights, params.means,
                                      params.covariances, covariance_type)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(stats.loglik, norm.sum(), rtol=rtol)
    np.testing.assert_allclose(stats.nk, resp.sum(axis=0), rtol=rtol)
    for k in range(3):
        D = X64 - stats.ref[k]
        magnitude = (resp[:, k] @ np.abs(D)).max()
        np.testing.assert_allclose(stats.sx[k], resp[:, k] @ D,
                                   rtol=ref.CENTRED_SUM_RTOL[dtype],
                                   atol=ref.CENTRED_SUM_TERMS_RTOL[dtype] * magnitude)
        if covariance_type == "full":
            scatter = np.triu((resp[:, k, None] * D).T @ D)
            # Off-diagonal entries near 0: relative to the largest entry.
            np.testing.assert_allclose(np.triu(stats.sxx[k]), scatter, rtol=rtol,
                                       atol=rtol * np.abs(scatter).max())
        elif covariance_type in ("diag", "spherical"):
            np.testing.assert_allclose(stats.sxx[k], resp[:, k] @ (D * D), rtol=rtol)
    if covariance_type == "tied":
        D0 = X64 - stats.shift
        scatter = np.triu(D0.T @ D0)
        np.testing.assert_allclose(np.triu(stats.sxx), scatter, rtol=rtol,
                                   atol=rtol * np.abs(scatter).max())


@pytest.mark.parametrize("n_blocks", [1, 64], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_full_runs_the_kernels_of_its_data_only(n_blocks, dtype):
    """'full' has four families of kernels, so that a fit compiles only the
    one its data need: two features (one sweep per component), the
    straight-line product of each number of features up to
    ``UNROLLED_MAX_FEATURES`` (kernels of their own per width), and above
    it the column tiles: the centred product (float32; float64 below
    ``CENTRED_PRODUCT_MAX_FEATURES`` features, which hosts without AVX-512
    reach) and the uncentred one (float64 from there). Every width runs
    exactly its family's kernels; the numbers of each are checked against
    the reference by ``test_tiled_kernels_match_reference_for_every_width``
    (d = 1 ... 19), ``test_unrolled_kernels_match_reference`` and
    ``test_float64_log_densities_far_from_origin_lose_no_digits``."""
    from fastgmm import _covariance
    from fastgmm._kernels import em_pass, logprob

    def unwrapped(kernel):
        # pick_kernel may hand a parallel kernel behind a lock (a partial).
        return getattr(kernel, "args", (kernel,))[0]

    def unrolled(n_features):
        sweep = em_pass.stats_sweep(n_features, dtype)
        (em, em_serial), components = em_pass.unrolled_full_kernels(n_features, sweep)
        return {em, em_serial, components, *logprob.unrolled_log_prob_kernels(n_features)[2]}

    model = _covariance.get("full")
    families = {
        "2d": {em_pass.em_pass_full_2d, em_pass.em_pass_full_2d_serial,
               logprob.weighted_log_prob_full_2d, logprob.weighted_log_prob_full_2d_serial},
        "centred": {em_pass.em_pass_full, em_pass.em_pass_full_serial,
                    em_pass.em_pass_full_components, logprob.weighted_log_prob_full,
                    logprob.weighted_log_prob_full_serial},
        "uncentred": {em_pass.em_pass_full_uncentred, em_pass.em_pass_full_uncentred_serial,
                      em_pass.em_pass_full_components_uncentred,
                      logprob.weighted_log_prob_full_uncentred,
                      logprob.weighted_log_prob_full_uncentred_serial},
    }
    wide = logprob.CENTRED_PRODUCT_MAX_FEATURES
    top = _config.UNROLLED_MAX_FEATURES[np.dtype(dtype).name]
    for n_features in sorted({1, 2, 3, top, top + 1, wide - 1, wide, wide + 5, top + 5}):
        picked = {unwrapped(model.pass_kernel(n_blocks, accumulate, n_features, dtype)[0])
                  for accumulate in (False, True)}
        picked.add(unwrapped(model.log_prob_kernel(n_blocks, n_features, dtype)))
        if n_features == 2:
            expected = families["2d"]
        elif n_features <= top:
            expected = unrolled(n_features)
            # The pass, its serial twin and the accumulating pass of the width,
            # with the statistics the rule says.
            sweep = em_pass.stats_sweep(n_features, dtype)
            (em, em_serial), components = em_pass.unrolled_full_kernels(n_features, sweep)
            assert unwrapped(model.pass_kernel(n_blocks, False, n_features, dtype)[0]) is (
                em if n_blocks > 1 else em_serial)
            assert unwrapped(model.pass_kernel(n_blocks, True, n_features, dtype)[0]) is (
                components)
        elif dtype == np.float32 or n_features < wide:
            expected = families["centred"]
        else:
            expected = families["uncentred"]
        assert picked <= expected, (n_features, picked)
    # Each width has kernels of its own; each way of taking the statistics
    # is another kernel.
    assert not unrolled(3) & unrolled(4)
    kinds = [set(em_pass.unrolled_full_kernels(3, sweep)[0])
             for sweep in (None, "float64", "scatter")]
    assert not (kinds[0] & kinds[1] or kinds[0] & kinds[2] or kinds[1] & kinds[2])
    with pytest.raises(ValueError, match="statistics sweep"):
        em_pass.unrolled_full_kernels(3, "tiles")
    # Accumulating scatters: two features run the serial two-feature pass.
    assert model.pass_kernel(n_blocks, True, 2, dtype)[0] is em_pass.em_pass_full_2d_serial


# Widths of the unrolled product tested: the smallest, a few in between and
# the largest of each dtype on AVX-512 hosts (each compiles a helper).
UNROLLED_FEATURE_COUNTS = [1, 3, 4, 7, 8, 9, 16, 23, 28]


@pytest.mark.parametrize("dtype", DTYPES)
def test_unrolled_squared_norm_matches_numpy(dtype):
    """The generated straight-line product, ``||(x - mean) U||^2`` of each
    row, against numpy in float64 for widths up to the largest the rule
    uses; 37 rows (a vectorised loop and a rest) of a wider block, whose
    other entries of ``sq`` stay as they were."""
    from fastgmm._kernels import logprob

    rng = np.random.default_rng(11)
    n_rows = 37
    for n_features in UNROLLED_FEATURE_COUNTS:
        xt = rng.normal(size=(n_features, 64)).astype(dtype)
        U = np.triu(rng.normal(size=(n_features, n_features))).astype(dtype)
        mean = rng.normal(size=n_features).astype(dtype)
        sq = np.full(64, -1.0, dtype)
        logprob.unrolled_squared_norm(n_features)(xt, n_rows, U, mean, xt, sq)
        D = xt[:, :n_rows].T.astype(np.float64) - mean
        expected = ((D @ U.astype(np.float64)) ** 2).sum(axis=1)
        np.testing.assert_allclose(sq[:n_rows], expected, rtol=50 * ref.RTOL[dtype],
                                   err_msg=str(n_features))
        assert np.all(sq[n_rows:] == -1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("n_features", [1, 3, 6, 7])
def test_unrolled_block_stats_match_numpy(n_features, accumulate, dtype):
    """The generated one-sweep statistics of a component (the widths of
    ``ONE_SWEEP_STATS_MAX_FEATURES["float64"]``, 7; float32 rows take it up
    to 2 features by the rule, and are run here at every width directly):
    nk, sx and the scatter's upper triangle of 37 rows of a wider block,
    against numpy in
    float64 (written, or added to what ``sxx`` held, with ``accumulate``);
    the lower triangle is left as it was. float32 rows, with float32-valued
    means as the pass gives them, are summed in float64: the tolerance is
    float64's."""
    from fastgmm._kernels import em_pass

    rng = np.random.default_rng(12)
    n_rows = 37
    xt = rng.normal(size=(n_features, 64)).astype(dtype)
    mean = rng.normal(size=n_features).astype(dtype).astype(np.float64)
    e, inv_total = rng.uniform(size=(2, 64))
    sx = np.zeros(n_features)
    before = rng.normal(size=(n_features, n_features))
    sxx = before.copy()
    nk = em_pass.unrolled_block_stats(n_features)(xt, n_rows, mean, e, inv_total, sx, sxx,
                                                  accumulate)
    r = (e * inv_total)[:n_rows]
    D = xt[:, :n_rows].T.astype(np.float64) - mean
    np.testing.assert_allclose(nk, r.sum(), rtol=1e-13)
    np.testing.assert_allclose(sx, r @ D, rtol=1e-12, atol=1e-13)
    upper = np.triu_indices(n_features)
    expected = ((r[:, None] * D).T @ D)[upper] + (before[upper] if accumulate else 0.0)
    np.testing.assert_allclose(sxx[upper], expected, rtol=1e-12, atol=1e-13)
    lower = np.tril_indices(n_features, -1)
    np.testing.assert_array_equal(sxx[lower], before[lower])


@pytest.mark.parametrize("dtype", DTYPES)
def test_stats_sweep_rule_follows_the_thresholds(dtype):
    """Which statistics the unrolled kernels take, at each threshold's edges:
    the float64 sweep up to ``ONE_SWEEP_STATS_MAX_FEATURES``, the tiled
    statistics from there up to ``SCATTER_SWEEP_MAX_FEATURES`` (where that
    range is not empty), the stored rows and tiles above."""
    from fastgmm._kernels import em_pass

    name = np.dtype(dtype).name
    one = _config.ONE_SWEEP_STATS_MAX_FEATURES[name]
    scatter = _config.SCATTER_SWEEP_MAX_FEATURES[name]
    assert em_pass.stats_sweep(1, dtype) == "float64"
    assert em_pass.stats_sweep(one, dtype) == "float64"
    if scatter > one:
        assert em_pass.stats_sweep(one + 1, dtype) == "scatter"
        assert em_pass.stats_sweep(scatter, dtype) == "scatter"
    assert em_pass.stats_sweep(scatter + 1, dtype) is None
    if _config.HOST_AVX512:
        assert (one, scatter) == {"float64": (7, 23), "float32": (2, 20)}[name]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("n_features", [1, 4, 5, 9, 16, 23])
def test_tiled_block_stats_match_numpy(n_features, accumulate, dtype):
    """The generated tiled statistics of a component (one sweep per 4 x 4
    tile, the last tiles partial) from stored responsibilities, over 37 rows
    of a wider block, against numpy in float64: nk, sx and the upper
    triangle of ``sum_b r_b D_b D_b^T``, written or (the scatter) added to
    what ``sxx`` held; the lower triangle is left as it was. sx and the
    scatter are summed in the type of ``zero``, X's dtype: float32's
    tolerance for float32 rows; nk is a float64 sum of the stored values."""
    from fastgmm._kernels import em_pass

    rng = np.random.default_rng(13)
    n_rows = 37
    xt = rng.normal(size=(n_features, 64)).astype(dtype)
    mean = rng.normal(size=n_features).astype(dtype)
    r = rng.uniform(size=64).astype(dtype)
    before = rng.normal(size=(n_features, n_features))
    sxx = before.copy()
    sx = np.full(n_features, np.nan)
    nk = em_pass.tiled_block_stats(n_features)(xt, n_rows, mean, r, dtype(0), sx, sxx,
                                               accumulate)
    D = xt[:, :n_rows].T.astype(np.float64) - mean.astype(np.float64)
    rD = (r[:n_rows, None] * D.astype(dtype)).astype(np.float64)
    upper = np.triu_indices(n_features)
    expected = (rD.T @ D)[upper] + (before[upper] if accumulate else 0.0)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(sxx[upper], expected, rtol=rtol,
                               atol=rtol * np.abs(expected).max())
    assert nk == pytest.approx(r[:n_rows].astype(np.float64).sum(), rel=1e-15)
    np.testing.assert_allclose(sx, rD.sum(axis=0), rtol=rtol,
                               atol=rtol * np.abs(rD).sum(axis=0).max())
    lower = np.tril_indices(n_features, -1)
    np.testing.assert_array_equal(sxx[lower], before[lower])


@pytest.mark.parametrize("dtype, n_features, sweep",
                         [(np.float64, 3, "rule"), (np.float64, 9, "rule"),
                          (np.float32, 3, "rule"), (np.float32, 9, "rule"),
                          (np.float64, 5, None), (np.float32, 5, "float64"),
                          (np.float64, 5, "scatter"), (np.float32, 13, "scatter"),
                          (np.float32, 17, "rule")])
def test_unrolled_kernels_match_reference(dtype, n_features, sweep, monkeypatch):
    """The kernels of the unrolled product (scoring, the pass, the
    accumulating pass) against the reference, on 300 rows in blocks of 128
    and a rest: the same checks as the tiles'. The pass takes its statistics
    as ``stats_sweep`` says (``sweep`` "rule"), or as ``sweep`` forces: by
    stored rows and tiles (None), in one float64 sweep, or by the tiled
    statistics in X's dtype."""
    from fastgmm._kernels import em_pass, logprob

    assert logprob.unrolled_product(n_features, dtype) or not _config.HOST_AVX512
    monkeypatch.setattr(logprob, "unrolled_product", lambda d, dt: True)
    if sweep != "rule":
        monkeypatch.setattr(em_pass, "stats_sweep", lambda d, dt: sweep)
    X, params = make_problem(6, "full", dtype, n_samples=300, n_features=n_features,
                             n_components=3)
    rtol = ref.RTOL[dtype]
    np.testing.assert_allclose(
        _em.weighted_log_prob(X, params, "full"),
        ref.weighted_log_prob(X, params.weights, params.means, params.covariances, "full"),
        rtol=rtol)
    norm, resp = ref.responsibilities(X, params.weights, params.means, params.covariances,
                                      "full")
    for part_bytes in (None, 1):
        if part_bytes:
            monkeypatch.setattr(_em._config, "PART_BYTES", part_bytes)
        stats = _em.em_pass(X, np.empty(0), params, "full", chunk_size=128)
        np.testing.assert_allclose(stats.loglik, norm.sum(), rtol=rtol)
        np.testing.assert_allclose(stats.nk, resp.sum(axis=0), rtol=rtol)
        for k in range(3):
            D = X.astype(np.float64) - stats.ref[k]
            magnitude = (resp[:, k] @ np.abs(D)).max()
            np.testing.assert_allclose(stats.sx[k], resp[:, k] @ D,
                                       rtol=ref.CENTRED_SUM_RTOL[dtype],
                                       atol=ref.CENTRED_SUM_TERMS_RTOL[dtype] * magnitude)
            scatter = np.triu((resp[:, k, None] * D).T @ D)
            np.testing.assert_allclose(np.triu(stats.sxx[k]), scatter, rtol=rtol,
                                       atol=rtol * np.abs(scatter).max())
    # The kernels that ran are those of the width (the assertions of
    # test_full_runs_the_kernels_of_its_data_only).


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_em_step_matches_reference(covariance_type, dtype):
    X, params = make_problem(4, covariance_type, dtype)
    reg = 1e-6
    stats = _em.em_pass(X, np.empty(0), params, covariance_type)
    new = _em.m_step(stats, covariance_type, reg, float(np.finfo(np.float64).eps), False)
    lb, (weights, means, cov) = ref.em_step(X, params.weights, params.means,
                                            params.covariances, covariance_type, reg)
    rtol = ref.RTOL[dtype]
    np.testing.assert_allclose(stats.loglik / stats.sum_weights, lb, rtol=rtol)
    np.testing.assert_allclose(new.weights, weights, rtol=rtol)
    np.testing.assert_allclose(new.means, means, rtol=ref.MSTEP_RTOL[dtype],
                               atol=ref.MEANS_ATOL[dtype])
    np.testing.assert_allclose(new.covariances, cov, rtol=ref.MSTEP_RTOL[dtype],
                               atol=ref.COV_ATOL[dtype])
    prec = ref.precisions(cov, covariance_type)
    U = new.precisions_chol
    got_prec = U @ np.swapaxes(U, -1, -2) if covariance_type in ("full", "tied") else U**2
    np.testing.assert_allclose(got_prec, prec, rtol=ref.PRECISION_RTOL[dtype],
                               atol=ref.PRECISION_ATOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_pass_identical_for_one_and_two_threads(covariance_type):
    X, params = make_problem(5, covariance_type, np.float64, n_samples=5000)
    results = []
    for n_threads in (1, 2):
        with _threads.thread_limit(n_threads):
            stats = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=64)
            wlp = _em.weighted_log_prob(X, params, covariance_type, chunk_size=64)
        results.append((stats, wlp))
    (s1, w1), (s2, w2) = results
    assert s1.loglik == s2.loglik
    for a, b in [(s1.nk, s2.nk), (s1.sx, s2.sx), (s1.sxx, s2.sxx), (w1, w2)]:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_pass_agrees_across_block_sizes(covariance_type, monkeypatch):
    X, params = make_problem(6, covariance_type, np.float64, n_samples=3001)
    base = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=256)
    for chunk in (1, 7, 1000, 4096):
        other = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=chunk)
        assert_same_statistics(other, base, f"chunk_size={chunk}")
    # Segments (a pass split over several kernel calls) change nothing either.
    monkeypatch.setattr(_em._config, "PART_BYTES", 1)
    seg = _em.em_pass(X, np.empty(0), params, covariance_type, chunk_size=256)
    assert_same_statistics(seg, base, "segments")


def assert_same_statistics(got, expected, where):
    """Every field of two ``Stats`` of the same pass in other block sizes:
    sums of one sign (loglik, nk) to ``POSITIVE_SUM_RTOL``, centred sums (sx,
    sxx) to ``REORDER_RTOL``, and the total weight and the centres the pass
    took (ref, shift) exactly."""
    checks = {
        "loglik": dict(rtol=ref.POSITIVE_SUM_RTOL),
        "nk": dict(rtol=ref.POSITIVE_SUM_RTOL),
        "sx": dict(rtol=ref.REORDER_RTOL, atol=ref.REORDER_ATOL),
        "sxx": dict(rtol=ref.REORDER_RTOL, atol=ref.REORDER_ATOL),
        "sum_weights": None,
        "ref": None,
        "shift": None,
    }
    assert set(got._fields) == set(checks), "a new field of Stats needs a check here"
    for name, tol in checks.items():
        a, b = getattr(got, name), getattr(expected, name)
        if tol is None:
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, {where}")
        else:
            np.testing.assert_allclose(a, b, err_msg=f"{name}, {where}", **tol)


def test_exp_helper_matches_numpy_over_whole_range():
    from numba import njit

    from fastgmm._kernels._inline import exp_nonpositive

    @njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = exp_nonpositive(x[i])

    x = -np.concatenate([np.linspace(0.0, 800.0, 400_001), np.geomspace(1e-300, 1.0, 1000),
                         [np.inf]])
    out = np.empty_like(x)
    apply(x, out)
    expected = np.exp(x)
    kept = x >= EXP_CUTOFF
    np.testing.assert_allclose(out[kept], expected[kept], rtol=ref.EXP_RTOL)
    assert np.all(out[~kept] == 0.0)
    near = x >= -50
    np.testing.assert_allclose(out[near], expected[near], rtol=ref.EXP_NEAR_RTOL)


def test_far_outlier_gets_finite_loglik_and_responsibilities():
    X, params = make_problem(7, "full", np.float64, n_samples=10)
    X = X.copy()
    X[0] = 1e6
    norm, log_resp = _em.log_resp(X, params, "full")
    assert np.all(np.isfinite(norm))
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0,
                               rtol=ref.OUTPUT_RTOL[np.float64])
    stats = _em.em_pass(X, np.empty(0), params, "full")
    assert np.isfinite(stats.loglik) and np.all(np.isfinite(stats.nk))


def test_zero_weight_component_yields_no_nan():
    X, params = make_problem(8, "diag", np.float64, n_samples=500)
    weights = params.weights.copy()
    weights[0] = 0.0
    weights /= weights.sum()
    params = params._replace(weights=weights)
    stats = _em.em_pass(X, np.empty(0), params, "diag")
    assert stats.nk[0] == 0.0
    assert np.all(np.isfinite(stats.sx)) and np.all(np.isfinite(stats.sxx))
    assert np.isfinite(stats.loglik)


_NO_JIT_SCRIPT = """
import json, sys, warnings
import numpy as np
import fastgmm
warnings.simplefilter("ignore")
X = np.random.default_rng(0).normal(size=(300, 2))
out = {ct: fastgmm.GaussianMixture(2, covariance_type=ct, random_state=0, max_iter=5)
       .fit(X).lower_bound_ for ct in ("full", "tied", "diag", "spherical")}
out["kmeans"] = fastgmm.KMeans(3, random_state=0, n_init=1).fit(X).inertia_
json.dump(out, sys.stdout)
"""


def test_kernels_run_as_python_without_the_jit():
    """NUMBA_DISABLE_JIT=1 (coverage, debugging) runs every kernel as Python;
    the numbers agree with the compiled kernels to rounding (rtol 1e-12: the
    compiled loops may fuse multiply-adds)."""
    import json
    import os
    import subprocess
    import sys

    results = {}
    for disable in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable)
        run = subprocess.run([sys.executable, "-c", _NO_JIT_SCRIPT], env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        results[disable] = json.loads(run.stdout)
    assert results["0"].keys() == results["1"].keys()
    for key, value in results["0"].items():
        np.testing.assert_allclose(results["1"][key], value, rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("n_rows", [1, 63, 64, 65, 1024])
def test_block_loglik_sums_the_rows_log_likelihoods(n_rows):
    """The block's log-likelihood is sum(lse + log(total)) to rounding (one
    scalar log per 64 rows without weights, per row with them); a row whose
    total is 0 (all its terms 0) makes it -inf; ``total`` becomes each row's
    weight over its total, 0 where the total is 0."""
    from fastgmm._kernels.em_pass import _block_loglik

    rng = np.random.default_rng(n_rows)
    lse = rng.normal(scale=30.0, size=n_rows)
    total = rng.uniform(1.0, 16.0, size=n_rows)
    w = rng.uniform(0.0, 3.0, size=n_rows)
    for unit_weights in (True, False):
        weights = np.ones(n_rows) if unit_weights else w
        out = total.copy()
        loglik = _block_loglik(n_rows, lse, weights, out, unit_weights)
        terms = weights * (lse + np.log(total))
        scale = np.abs(weights * lse).sum() + np.abs(weights * np.log(total)).sum()
        assert abs(loglik - terms.sum()) <= 1e-14 * scale
        np.testing.assert_allclose(out, weights / total, rtol=1e-15)
    out = total.copy()
    out[n_rows // 2] = 0.0
    assert _block_loglik(n_rows, lse, np.ones(n_rows), out, True) == -np.inf
    assert out[n_rows // 2] == 0.0


def test_float32_responsibilities_never_subnormal():
    """A responsibility below float32's smallest normal number is written to a
    float32 row as 0, never as a (slow) subnormal; float64 rows keep it."""
    from fastgmm._kernels.em_pass import FLOAT32_TINY, _block_resp, _block_resp_kept

    assert np.float32(FLOAT32_TINY) == np.finfo(np.float32).tiny
    terms = np.array([[1.0, 1e-40, 3e-38, 0.5, 2e-39]])
    # Each row's weight over a total of 1 (see _block_loglik).
    inv_total = np.array([1.0, 1.0, 0.25, 2.0, 1.0])
    expected = terms[0] * inv_total
    r64 = np.empty(5)
    _block_resp(terms, 0, 5, inv_total, r64)
    np.testing.assert_array_equal(r64, expected)
    r32 = np.empty(5, np.float32)
    _block_resp(terms, 0, 5, inv_total, r32)
    flushed = np.where(expected >= np.finfo(np.float32).tiny, expected, 0.0).astype(np.float32)
    np.testing.assert_array_equal(r32, flushed)
    assert not np.any((r32 != 0) & (np.abs(r32) < np.finfo(np.float32).tiny))
    # The 'diag' pass's sweep: the float64 values exact, the stored ones
    # flushed the same way, and the count of those nonzero.
    r64[:] = -1.0
    for rx, kept in ((np.empty(5, np.float32), flushed), (np.empty(5), expected)):
        n_kept = _block_resp_kept(terms, 0, 5, inv_total, r64, rx)
        np.testing.assert_array_equal(r64, expected)
        np.testing.assert_array_equal(rx, kept)
        assert n_kept == np.count_nonzero(kept)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_sparse_moments_of_separated_components_match_reference(covariance_type, dtype,
                                                                 layout):
    """Well separated components leave most responsibilities exactly 0; the
    pass then sums each component's moments over its rows of nonzero
    responsibility only (``em_pass.SPARSE_ROWS_DIVISOR``), from X's rows or,
    for a layout whose rows are not contiguous, the block's columns. The
    statistics match the dense reference all the same."""
    from fastgmm._kernels.em_pass import SPARSE_ROWS_DIVISOR

    rng = np.random.default_rng(8)
    n_components = 2 * SPARSE_ROWS_DIVISOR
    X, _ = ref.make_blobs(rng, 1200, 5, n_components, dtype=dtype, spread=400.0)
    X = np.asfortranarray(X) if layout == "F" else X
    weights, means, cov = ref.random_parameters(rng, X, n_components, covariance_type)
    # Means on the clusters, so that each row belongs to one component.
    labels = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    means = np.array([X[labels == k].mean(axis=0) if np.any(labels == k) else means[k]
                      for k in range(n_components)], dtype=np.float64)
    params = Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))
    norm, resp = ref.responsibilities(X, weights, means, cov, covariance_type)
    assert (resp == 0).mean() > 1 - 1 / SPARSE_ROWS_DIVISOR
    sw = rng.uniform(0, 3, size=X.shape[0])
    stats = _em.em_pass(X, sw, params, covariance_type, chunk_size=128)
    rw = resp * sw[:, None]
    X64 = X.astype(np.float64)
    rtol = ref.RTOL[dtype]
    np.testing.assert_allclose(stats.nk, rw.sum(axis=0), rtol=rtol)
    for k in range(n_components):
        D = X64 - means[k]
        np.testing.assert_allclose(stats.sx[k], rw[:, k] @ D, rtol=ref.CENTRED_SUM_RTOL[dtype],
                                   atol=ref.CENTRED_SUM_ATOL[dtype])
        np.testing.assert_allclose(stats.sxx[k], rw[:, k] @ (D * D), rtol=rtol)
