"""Bit-identity check of GaussianMixture's results between two checkouts.

Fits seeded models for every covariance type and dtype through every path
that sets fitted attributes (fit, partial_fit in 'exact' and 'online' mode,
warm_start, n_init=2, sample, save/load) and writes the fitted arrays and
per-row outputs to an .npz file; comparing the files of two checkouts with
``np.array_equal`` shows whether a change kept every number.

Usage::

    PYTHONPATH=/path/to/checkout python asv_benchmarks/parity_check.py OUT.npz
    python asv_benchmarks/parity_check.py --compare A.npz B.npz

Only the public API is used, so the script runs on any checkout. The Numba
on-disk cache is off (``FASTGMM_NUMBA_CACHE=0`` unless set otherwise): a
kernel loaded from the cache may differ in the last bits from one compiled
in the process (another specialisation, or one cached by another run), which
made two runs of one checkout differ; compiled afresh in each run, they do
not.
"""

import argparse
import os
import sys
import tempfile
import warnings

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
DTYPES = (np.float32, np.float64)
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "lower_bounds_", "lower_bound_", "n_iter_", "converged_")


def _data(seed, dtype, n_samples=600, n_features=3, n_components=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    X = centres[labels] + rng.normal(size=(n_samples, n_features)) * (0.5 + labels[:, None])
    return X.astype(dtype)


def _record(out, prefix, model, X):
    for name in FITTED:
        out[f"{prefix}/{name}"] = np.asarray(getattr(model, name))
    out[f"{prefix}/predict"] = model.predict(X)
    out[f"{prefix}/predict_proba"] = model.predict_proba(X)
    out[f"{prefix}/score_samples"] = model.score_samples(X)
    out[f"{prefix}/bic"] = np.asarray(model.bic(X))


def run(path):
    """Fit every case and write the results to ``path`` (.npz)."""
    os.environ.setdefault("FASTGMM_NUMBA_CACHE", "0")
    from fastgmm import GaussianMixture, load

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for covariance_type in COVARIANCE_TYPES:
            for dtype in DTYPES:
                X = _data(0, dtype)
                key = f"{covariance_type}/{np.dtype(dtype).name}"
                common = dict(n_components=3, covariance_type=covariance_type,
                              random_state=0)

                gm = GaussianMixture(**common).fit(X)
                _record(out, f"{key}/fit", gm, X)
                sample_X, sample_y = gm.sample(50)
                out[f"{key}/sample/X"], out[f"{key}/sample/y"] = sample_X, sample_y
                out[f"{key}/fit_predict"] = GaussianMixture(**common).fit_predict(X)

                with tempfile.TemporaryDirectory() as tmp:
                    file = os.path.join(tmp, "model.npz")
                    gm.save(file)
                    _record(out, f"{key}/load", load(file), X)

                gm = GaussianMixture(**common, n_init=2, init_params="random_from_data")
                _record(out, f"{key}/n_init", gm.fit(X), X)

                gm = GaussianMixture(**common, warm_start=True, max_iter=3)
                gm.fit(X)
                _record(out, f"{key}/warm_start", gm.fit(X), X)

                gm = GaussianMixture(**common, partial_fit_mode="exact")
                for epoch in range(3):
                    for start in range(0, X.shape[0], 200):
                        gm.partial_fit(X[start:start + 200],
                                       end_epoch=start + 200 >= X.shape[0])
                _record(out, f"{key}/partial_fit_exact", gm, X)

                weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
                gm = GaussianMixture(**common, partial_fit_mode="online")
                for start in range(0, X.shape[0], 100):
                    gm.partial_fit(X[start:start + 100],
                                   sample_weight=weights[start:start + 100])
                _record(out, f"{key}/partial_fit_online", gm, X)
    np.savez(path, **out)
    print(f"wrote {len(out)} arrays to {path}")


def compare(path_a, path_b):
    """Print every array that differs; return the number of differences."""
    a, b = np.load(path_a), np.load(path_b)
    differ = []
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            differ.append(f"{key}: only in {path_a if key in a.files else path_b}")
        elif a[key].dtype != b[key].dtype or not np.array_equal(a[key], b[key]):
            differ.append(f"{key}: differs ({a[key].dtype} / {b[key].dtype})")
    for line in differ:
        print(line)
    n_keys = len(set(a.files) | set(b.files))
    print(f"{n_keys - len(differ)} of {n_keys} arrays bit-identical"
          + ("" if differ else ": all equal"))
    return len(differ)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", help="write the results of this checkout here")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = parser.parse_args(argv)
    if args.compare:
        return 1 if compare(*args.compare) else 0
    if not args.out:
        parser.error("give OUT.npz or --compare A B")
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
