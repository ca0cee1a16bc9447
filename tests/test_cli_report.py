"""``fastgmm info``'s table of components, for every covariance type.

The expected texts were printed by the command line before it took the
covariance type from the covariance-model registry; the table must not
change. The models are built by hand (no fit), so the numbers are exact.
Two components of two features make 'tied' covariances (d, d) and 'diag'
ones (K, d) the same shape: the table must still tell them apart.
"""

import contextlib
import io

import numpy as np
import pytest

from fastgmm import GaussianMixture
from fastgmm.cli import main, report

FULL = np.array([[[12.5, 2.25], [2.25, 2.5]], [[2.25, -0.96], [-0.96, 6.125]]])
MEANS = np.array([[-8.65, 33.23], [2.2579, -3.5263]])


def stored_covariances(covariance_type, full):
    """`full` (K, d, d) in the layout of `covariance_type`."""
    if covariance_type == "full":
        return full
    if covariance_type == "tied":
        return full[0]
    variances = np.diagonal(full, axis1=1, axis2=2)
    return variances if covariance_type == "diag" else variances.mean(axis=1)


def crafted_model(covariance_type, full=FULL, means=MEANS, dtype=np.float64, names=None):
    """A fitted GaussianMixture with the given parameters, its precisions consistent."""
    cov = stored_covariances(covariance_type, full)
    if covariance_type in ("full", "tied"):
        matrices = cov.reshape(-1, *cov.shape[-2:])
        chol = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in matrices])
        precisions_chol = chol.reshape(cov.shape)
        precisions = np.array([u @ u.T for u in chol]).reshape(cov.shape)
    else:
        precisions_chol, precisions = 1 / np.sqrt(cov), 1 / cov
    model = GaussianMixture(n_components=len(means), covariance_type=covariance_type,
                            random_state=0)
    model.weights_ = np.full(len(means), 1 / len(means), dtype=dtype)
    model.means_ = np.asarray(means, dtype=dtype)
    model.covariances_ = np.asarray(cov, dtype=dtype)
    model.precisions_cholesky_ = np.asarray(precisions_chol, dtype=dtype)
    model.precisions_ = np.asarray(precisions, dtype=dtype)
    model.converged_, model.n_iter_ = True, 7
    model.lower_bound_ = dtype(-3.25)
    model.lower_bounds_ = [dtype(-4.0), dtype(-3.25)] + [dtype(-3.25)] * 5
    model.n_features_in_ = np.shape(means)[1]
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    return model


def wide_diag():
    """Diagonal covariances of 9 features: too many to print."""
    d = 9
    full = np.array([np.diag(1.0 + np.arange(d) / 10), np.diag(2.0 + np.arange(d) / 8)])
    return crafted_model("diag", full=full, means=np.arange(2 * d).reshape(2, d) / 4)


CASES = {
    "full": lambda: crafted_model("full"),
    "tied": lambda: crafted_model("tied", names=["length (cm)", "b"]),
    "diag": lambda: crafted_model("diag", dtype=np.float32),
    "spherical": lambda: crafted_model("spherical"),
    "spherical-small": lambda: crafted_model("spherical", full=FULL * 1e-5, means=MEANS * 1e-5),
    "diag-wide": wide_diag,
}


def info_fit_section(path):
    """What ``fastgmm info`` prints from its "fit" section on."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["info", str(path)]) == 0
    return out.getvalue()[out.getvalue().index("\nfit\n") + 1:]


EXPECTED = {
    "full": """\
fit
  n_features_in_  2
  dtype           float64
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
                        x0        x1
  mean             -8.6500   33.2300
  covariance       12.5000    2.2500
                    2.2500    2.5000
  std. dev.         3.5355    1.5811
component 1   weight 0.5000
                        x0        x1
  mean              2.2579   -3.5263
  covariance        2.2500   -0.9600
                   -0.9600    6.1250
  std. dev.         1.5000    2.4749
""",
    "tied": """\
fit
  n_features_in_  2
  dtype           float64
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
                  length (cm)            b
  mean                -8.6500      33.2300
component 1   weight 0.5000
                  length (cm)            b
  mean                 2.2579      -3.5263
covariance shared by all components (tied)
                  length (cm)            b
  covariance          12.5000       2.2500
                       2.2500       2.5000
  std. dev.            3.5355       1.5811
""",
    "diag": """\
fit
  n_features_in_  2
  dtype           float32
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
                        x0        x1
  mean             -8.6500   33.2300
  variance         12.5000    2.5000
  std. dev.         3.5355    1.5811
component 1   weight 0.5000
                        x0        x1
  mean              2.2579   -3.5263
  variance          2.2500    6.1250
  std. dev.         1.5000    2.4749
""",
    "spherical": """\
fit
  n_features_in_  2
  dtype           float64
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
                        x0        x1
  mean             -8.6500   33.2300
  variance          7.5000 (every feature)
  std. dev.         2.7386    2.7386
component 1   weight 0.5000
                        x0        x1
  mean              2.2579   -3.5263
  variance          4.1875 (every feature)
  std. dev.         2.0463    2.0463
""",
    "spherical-small": """\
fit
  n_features_in_  2
  dtype           float64
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
                           x0           x1
  mean            -8.6500e-05   3.3230e-04
  variance         7.5000e-05 (every feature)
  std. dev.        8.6603e-03   8.6603e-03
component 1   weight 0.5000
                           x0           x1
  mean             2.2579e-05  -3.5263e-05
  variance         4.1875e-05 (every feature)
  std. dev.        6.4711e-03   6.4711e-03
""",
    "diag-wide": """\
fit
  n_features_in_  9
  dtype           float64
  converged_      True
  n_iter_         7
  lower_bound_    -3.250000 (mean log-likelihood per sample)

component 0   weight 0.5000
  mean  [0.   0.25 0.5  0.75 1.   1.25 1.5  1.75 2.  ]
component 1   weight 0.5000
  mean  [2.25 2.5  2.75 3.   3.25 3.5  3.75 4.   4.25]
  (covariances not shown for 9 features; load the model in Python: fastgmm.load(path).covariances_)
""",
}


@pytest.mark.parametrize("case", list(CASES))
def test_info_table_unchanged(case, tmp_path):
    path = tmp_path / f"{case}.npz"
    CASES[case]().save(path)
    assert info_fit_section(path) == EXPECTED[case]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_covariance_matrices(covariance_type):
    # The stored layouts of FULL's variances and covariances, back as matrices.
    model = crafted_model(covariance_type)
    full = FULL
    if covariance_type == "tied":
        full = np.stack([FULL[0], FULL[0]])
    elif covariance_type in ("diag", "spherical"):
        variances = np.diagonal(FULL, axis1=1, axis2=2)
        if covariance_type == "spherical":
            variances = np.repeat(variances.mean(axis=1, keepdims=True), 2, axis=1)
        full = np.array([np.diag(v) for v in variances])
    np.testing.assert_array_equal(report.covariance_matrices(model), full)
