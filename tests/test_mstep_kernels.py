"""The M-step kernels of small full / tied covariances (``_kernels/mstep.py``).

Against the numpy expression of the M-step (the covariances bit for bit:
the same operations in the same order) and against scipy's Cholesky factor
and triangular solve (the precision factors, to rounding: ``reference.RTOL``).
"""

import numpy as np
import pytest
import scipy.linalg

from fastgmm import _config, _stats, _threads
from fastgmm._kernels import mstep
import reference as ref


def random_spd(rng, n_matrices, n_features):
    a = rng.normal(size=(n_matrices, n_features, n_features))
    return a @ np.swapaxes(a, 1, 2) + n_features * np.eye(n_features)


@pytest.mark.parametrize("block_bytes", [None, 1])
@pytest.mark.parametrize("n_features", [1, 2, 3, 7, 16, 32, 70])
def test_covariances_equal_the_numpy_expression_bit_for_bit(n_features, block_bytes,
                                                            monkeypatch):
    """The kernel against the whole-array numpy expression of the M-step, bit
    for bit: the batch in one call (default) and one component per call on
    the threads (``MSTEP_BLOCK_BYTES`` 1), on Numba's threads and on one."""
    if block_bytes is not None:
        monkeypatch.setattr(_config, "MSTEP_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(n_features)
    n_components = 5
    sxx = random_spd(rng, n_components, n_features)
    lower = np.tril_indices(n_features, -1)
    scatter = np.triu(sxx) + np.swapaxes(np.triu(sxx, 1), -1, -2)
    # Only the upper triangle is read: garbage below it must not matter.
    sxx[:, lower[0], lower[1]] = np.nan
    sx = rng.normal(size=(n_components, n_features))
    nk_raw = rng.uniform(1.0, 50.0, n_components)
    nk = nk_raw + 1e-14
    delta = sx / nk[:, None]
    cross = sx[:, :, None] * delta[:, None, :]
    expected = (scatter - cross - np.swapaxes(cross, 1, 2)
                + nk_raw[:, None, None] * delta[:, :, None] * delta[:, None, :])
    expected = expected / nk[:, None, None]
    expected[:, np.arange(n_features), np.arange(n_features)] += 1e-6
    got = _stats._full_covariances(sxx, sx, delta, nk_raw, nk, 1e-6)
    assert np.array_equal(got, expected)
    with _threads.thread_limit(1):
        assert np.array_equal(_stats._full_covariances(sxx, sx, delta, nk_raw, nk, 1e-6), got)


@pytest.mark.parametrize("n_features", [1, 2, 5, 16, 32])
def test_precision_cholesky_matches_scipy(n_features):
    rng = np.random.default_rng(10 + n_features)
    batch = random_spd(rng, 4, n_features)
    out = np.empty_like(batch)
    failed = np.empty(4, dtype=bool)
    mstep.precision_cholesky(batch, out, failed)
    assert not failed.any()
    for k in range(4):
        chol = scipy.linalg.cholesky(batch[k], lower=True)
        expected = scipy.linalg.solve_triangular(chol, np.eye(n_features), lower=True).T
        np.testing.assert_allclose(out[k], expected, rtol=ref.RTOL[np.float64],
                                   atol=ref.RTOL[np.float64] * np.abs(expected).max())
        assert np.array_equal(out[k], np.triu(out[k]))
        # U U^T is the precision.
        np.testing.assert_allclose(out[k] @ out[k].T, np.linalg.inv(batch[k]),
                                   rtol=1e-10, atol=1e-12 * np.abs(expected).max() ** 2)


@pytest.mark.parametrize("defect", ["negative", "zero", "indefinite", "nan", "inf"])
def test_precision_cholesky_flags_matrices_that_are_not_positive_definite(defect):
    """The one bad matrix is flagged (as LAPACK's potrf, plus the finiteness
    check of the numpy path), its neighbours are not."""
    rng = np.random.default_rng(3)
    batch = random_spd(rng, 3, 4)
    bad = batch[1]
    if defect == "negative":
        bad[:] = -np.eye(4)
    elif defect == "zero":
        bad[:] = 0.0
    elif defect == "nan":
        bad[2, 2] = np.nan
    elif defect == "indefinite":
        # Positive diagonal, eigenvalues 3 and -1 in the leading 2 x 2 block.
        bad[:] = np.eye(4)
        bad[0, 1] = bad[1, 0] = 2.0
    else:
        bad[3, 0] = bad[0, 3] = np.inf
    out = np.empty_like(batch)
    failed = np.empty(3, dtype=bool)
    mstep.precision_cholesky(batch, out, failed)
    assert failed.tolist() == [False, True, False]
    assert np.array_equal(out[1], np.eye(4))
    # The numpy path the kernel replaces flags the same matrix.
    assert _stats._cholesky_or_none(bad) is None


def test_m_step_with_kernels_matches_the_numpy_m_step(monkeypatch):
    """A whole M-step (full and tied) with and without the kernels."""
    from fastgmm import _em
    from fastgmm._covariance import compute_precision_cholesky
    from fastgmm._stats import Params
    rng = np.random.default_rng(0)
    X, _ = ref.make_blobs(rng, 2000, 6, 4)
    for covariance_type in ("full", "tied"):
        weights, means, cov = ref.random_parameters(rng, X, 4, covariance_type)
        params = Params(weights, means, cov, compute_precision_cholesky(cov, covariance_type))
        stats = _em.em_pass(X, np.empty(0), params, covariance_type)
        with monkeypatch.context() as patch:
            got = _em.m_step(stats, covariance_type, 1e-6, 1e-15, False)
            patch.setattr(_config, "MSTEP_KERNEL_MAX_FEATURES", 0)
            expected = _em.m_step(stats, covariance_type, 1e-6, 1e-15, False)
        assert np.array_equal(got.covariances, expected.covariances)
        np.testing.assert_allclose(got.precisions_chol, expected.precisions_chol,
                                   rtol=ref.RTOL[np.float64])
