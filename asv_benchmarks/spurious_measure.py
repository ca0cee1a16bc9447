"""The measurements that chose the spurious-maximum test (``fastgmm._spurious``).

Every component of ``GaussianMixture(K, covariance_type=t, n_init=5,
random_state=0)`` for the four types and K = 1..9, on Old Faithful, the
penguins and mclust's ``diabetes`` (read through ``Rscript`` with mclust,
never shipped; left out when R is missing), once with the default
``tol=1e-3`` and once with ``tol=1e-6, max_iter=1000``. The test itself is
switched off (``_config.SPURIOUS_FRACTION = 0``) so that each fit keeps the
start of highest likelihood, as before the test existed. Per component:

- ``excess``: (smallest eigenvalue - reg_covar) / the data's smallest
  feature variance, the test's statistic (a);
- ``plain``: smallest eigenvalue / smallest feature variance (a');
- ``rcond``: mclust's ``min(diag U) / (1 + max(diag U))`` of the Cholesky
  factor of the covariance as fitted (b), and ``rcond_unreg`` of the
  covariance less ``reg_covar`` (0 where that is not positive definite).

Run: ``python asv_benchmarks/spurious_measure.py``.
"""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from fastgmm import GaussianMixture, _config, _covariance  # noqa: E402
from fastgmm.datasets import load_old_faithful, load_penguins  # noqa: E402

REG = 1e-6


def _diabetes():
    with tempfile.TemporaryDirectory() as out:
        path = os.path.join(out, "diabetes.csv")
        code = ('suppressMessages(library(mclust)); data(diabetes); '
                f'write.csv(diabetes[, 2:4], "{path}", row.names = FALSE)')
        try:
            subprocess.run(["Rscript", "-e", code], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return np.genfromtxt(path, delimiter=",", skip_header=1)


def _rcond(S):
    try:
        diag = np.diag(np.linalg.cholesky(S))
    except np.linalg.LinAlgError:
        return 0.0
    return float(diag.min() / (1 + diag.max()))


def measure(data, **fit_params):
    rows = []
    for name, X in data.items():
        floor = X.var(axis=0).min()
        for t in ("full", "tied", "diag", "spherical"):
            model = _covariance.get(t)
            for k in range(1, 10):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    gm = GaussianMixture(k, covariance_type=t, n_init=5, random_state=0,
                                         reg_covar=REG, **fit_params).fit(X)
                covs = model.component_covariances(np.asarray(gm.covariances_, float), k,
                                                   X.shape[1])
                for j, S in enumerate(covs):
                    low = np.linalg.eigvalsh(S)[0]
                    rows.append((name, t, k, j, gm.weights_[j] * X.shape[0],
                                 (low - REG) / floor, low / floor, _rcond(S),
                                 _rcond(S - REG * np.eye(len(S)))))
    return rows


def main():
    data = {"faithful": np.asarray(load_old_faithful(), dtype=float),
            "penguins": np.asarray(load_penguins()[0], dtype=float)}
    diabetes = _diabetes()
    if diabetes is not None:
        data["diabetes"] = diabetes
    _config.SPURIOUS_FRACTION = 0.0
    for label, params in (("tol=1e-3", {}), ("tol=1e-6, max_iter=1000",
                                             dict(tol=1e-6, max_iter=1000))):
        rows = measure(data, **params)
        flagged = [r for r in rows if r[5] <= 1e-8]
        rest = sorted((r for r in rows if r[5] > 1e-8), key=lambda r: r[5])
        print(f"\n== {label}: {len(rows)} components of "
              f"{len({r[:3] for r in rows})} fits; {len(flagged)} with excess <= 1e-8")
        print("data      type       K  comp     nk    excess     plain     rcond  rcond_unreg")
        for r in flagged + rest[:3]:
            print(f"{r[0]:9} {r[1]:9} {r[2]:2d} {r[3]:4d} {r[4]:7.2f} {r[5]:9.2e} {r[6]:9.2e} "
                  f"{r[7]:9.2e} {r[8]:9.2e}")
        print(f"rcond as fitted: flagged {min(r[7] for r in flagged):.2e}-"
              f"{max(r[7] for r in flagged):.2e}, others from {min(r[7] for r in rest):.2e}")
        print(f"rcond less reg_covar: flagged at most {max(r[8] for r in flagged):.2e}, "
              f"others from {min(r[8] for r in rest):.2e}")
        print(f"plain: flagged {min(r[6] for r in flagged):.2e}-"
              f"{max(r[6] for r in flagged):.2e}, others from {min(r[6] for r in rest):.2e}")


if __name__ == "__main__":
    main()
