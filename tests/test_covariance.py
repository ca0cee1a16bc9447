"""The covariance-model registry (``fastgmm._covariance``) against plain numpy and scikit-learn.

Every model object is checked on what it owns: shapes, parameter counts,
conversions between covariances, precisions and their factors, the
log-determinant, the M-step's covariances from sufficient statistics, the
whitening of the nearest-component fallback, and the model file's checks.
The references are dense numpy computations (``tests/reference.py``) and
scikit-learn's public attributes. A last test checks that no module outside
the registry decides anything by comparing ``covariance_type`` with a name.
"""

import math
import pathlib
import re
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from fastgmm import GaussianMixture, _covariance
from fastgmm._stats import Stats

from reference import RTOL, covariance_matrices, m_step, precisions, random_parameters

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _data(rng, n_samples=400, n_features=3, n_components=3):
    X = rng.normal(size=(n_samples, n_features)) * [1.0, 2.0, 0.5][:n_features]
    return X


def test_registry_lists_the_four_models_in_scikit_learns_order():
    # scikit-learn's four first, then mclust's 14 (tests/test_parsimonious.py).
    assert _covariance.SKLEARN_NAMES == COVARIANCE_TYPES
    assert _covariance.COVARIANCE_TYPES[:4] == COVARIANCE_TYPES
    for name in COVARIANCE_TYPES:
        model = _covariance.get(name)
        assert model.name == name
        assert _covariance.get(model) is model


@pytest.mark.parametrize("bad", ["Full", "", None, 3])
def test_unknown_covariance_type_raises_value_error(bad):
    with pytest.raises(ValueError, match="Unknown covariance_type"):
        _covariance.get(bad)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_shape_and_parameter_count_match_scikit_learn(covariance_type):
    """Shapes of the fitted arrays, and the parameter count that BIC uses
    (recovered from scikit-learn's public bic and score)."""
    rng = np.random.default_rng(0)
    X = _data(rng)
    n_components, n_features = 3, X.shape[1]
    sk = SkGaussianMixture(n_components, covariance_type=covariance_type, random_state=0,
                           max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(X)
    model = _covariance.get(covariance_type)
    assert model.shape(n_components, n_features) == sk.covariances_.shape
    assert model.shape(n_components, n_features) == sk.precisions_cholesky_.shape
    n_params = (sk.bic(X) + 2 * sk.score(X) * X.shape[0]) / math.log(X.shape[0])
    assert model.n_parameters(n_components, n_features) == round(n_params)
    assert model.covariance_floats(n_components, n_features) == sk.covariances_.size


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_conversions_agree_with_numpy(covariance_type):
    rng = np.random.default_rng(1)
    X = _data(rng)
    n_components, n_features = 3, X.shape[1]
    _, _, covariances = random_parameters(rng, X, n_components, covariance_type)
    model = _covariance.get(covariance_type)
    rtol = RTOL[np.float64]

    chol, failed = model.precision_cholesky(covariances)
    assert not failed.any()
    assert chol.shape == covariances.shape
    expected_precisions = precisions(covariances, covariance_type)
    np.testing.assert_allclose(model.precisions_from_cholesky(chol), expected_precisions,
                               rtol=rtol)
    np.testing.assert_allclose(model.covariances_from_precisions(expected_precisions),
                               covariances, rtol=rtol)
    np.testing.assert_allclose(
        model.precision_cholesky_from_precisions(expected_precisions), chol, rtol=rtol,
        atol=rtol * np.abs(chol).max())
    if model.matrix:
        # Upper triangular: scikit-learn's layout of precisions_cholesky_.
        mats = chol.reshape(-1, n_features, n_features)
        assert np.all(np.tril(mats, -1) == 0)

    # log det U = -1/2 log det Sigma, per component (a scalar when shared).
    dense = covariance_matrices(covariances, covariance_type, n_components, n_features)
    expected_log_det = -0.5 * np.linalg.slogdet(dense)[1]
    log_det = np.broadcast_to(model.log_det_cholesky(chol, n_features), (n_components,))
    np.testing.assert_allclose(log_det, expected_log_det, rtol=rtol)

    np.testing.assert_allclose(
        model.component_covariances(covariances, n_components, n_features), dense, rtol=0)
    for k in range(n_components):
        diff = X - X[k]
        whitened = model.whiten(diff, chol, k)
        maha = np.einsum("ij,jk,ik->i", diff, np.linalg.inv(dense[k]), diff)
        np.testing.assert_allclose((whitened**2).sum(axis=1), maha, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_failed_components_are_flagged_not_raised(covariance_type):
    rng = np.random.default_rng(2)
    X = _data(rng)
    _, _, covariances = random_parameters(rng, X, 3, covariance_type)
    model = _covariance.get(covariance_type)
    broken = np.array(covariances, copy=True)
    broken.reshape(-1)[0] = -1.0  # a negative first variance
    chol, failed = model.precision_cholesky(broken)
    expected = np.zeros(1 if model.shared else 3, dtype=bool)
    expected[0] = True
    np.testing.assert_array_equal(failed, expected)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        _covariance.compute_precision_cholesky(broken, covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_covariances_match_dense_reference(covariance_type):
    """Covariances from centred statistics equal the dense M-step of a random
    responsibility matrix (no nk regulariser, so both are exact formulas)."""
    rng = np.random.default_rng(3)
    X = _data(rng, n_samples=300) + 50.0
    n_components, n_features = 3, X.shape[1]
    resp = rng.dirichlet(np.ones(n_components), size=X.shape[0])
    reg_covar = 1e-6
    _, ref_means, ref_cov = m_step(X, resp, covariance_type, reg_covar)
    model = _covariance.get(covariance_type)
    ref = X[rng.choice(X.shape[0], n_components)]  # any centres near the data
    shift = X.mean(axis=0)
    nk = resp.sum(axis=0)
    D = X[:, None, :] - ref[None]  # (n, K, d)
    sx = np.einsum("nk,nkd->kd", resp, D)
    if model.shared:
        Ds = X - shift
        sxx = np.triu(Ds.T @ Ds)
    elif model.matrix:
        sxx = np.triu(np.einsum("nk,nki,nkj->kij", resp, D, D))
    else:
        sxx = np.einsum("nk,nkd->kd", resp, D**2)
    stats = Stats(0.0, float(X.shape[0]), nk, sx, sxx, ref, shift)
    delta = sx / nk[:, None]
    means = ref + delta
    np.testing.assert_allclose(means, ref_means, rtol=RTOL[np.float64])
    covariances = model.covariances_from_stats(stats, means, delta, nk, reg_covar, 0.0)
    assert covariances.shape == model.shape(n_components, n_features)
    np.testing.assert_allclose(covariances, ref_cov, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_check_fitted_accepts_a_fit_and_refuses_a_perturbed_one(covariance_type):
    rng = np.random.default_rng(4)
    X = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                             max_iter=5).fit(X)
    model = _covariance.get(covariance_type)
    arrays = [np.asarray(a, dtype=np.float64) for a in (
        gm.precisions_cholesky_, gm.precisions_, gm.covariances_)]
    model.check_fitted(*arrays, rtol=1e-8)
    bad = [a.copy() for a in arrays]
    bad[2].reshape(-1)[0] *= 1.01  # covariances_ no longer the inverse of precisions_
    with pytest.raises(ValueError, match="covariances_"):
        model.check_fitted(*bad, rtol=1e-8)


_BRANCH = re.compile(r"covariance_type\s*(==|!=)|covariance_type\s+(not\s+)?in\s*[(\[{]")


def test_no_module_outside_the_registry_compares_covariance_type_with_names():
    """What differs between models lives in their objects: elsewhere, a
    comparison of ``covariance_type`` with names is a branch to move."""
    package = pathlib.Path(_covariance.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "_covariance.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _BRANCH.search(line):
                found.append(f"{path.relative_to(package)}:{number}: {line.strip()}")
    assert not found, "covariance_type branches outside _covariance:\n" + "\n".join(found)
