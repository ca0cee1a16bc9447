"""Where the time of a large-d fit goes, stage by stage, fastgmm beside scikit-learn.

Run (unset ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` where they are
forced, so that scikit-learn's BLAS is timed fairly)::

    python asv_benchmarks/large_d_stages.py full 2048 1 500 float32 [--repeat 3] [--n-iter 2]

Both libraries fit the data and start of ``vs_sklearn_grid.py``'s cell
(``make_data``, ``make_start``: weights, means and precisions given;
``tol=0``, ``reg_covar=1e-2``) for ``--n-iter`` iterations; every stage is
wrapped with a timer and its median total over the repeats (ms, summed over
its calls in one fit; nested stages are included in their callers) is
printed side by side, with the whole fit last. The grid's time per
iteration is the whole fit divided by ``--n-iter``, so the stages of the
start and of the end (validation of ``precisions_init``, the start's
factors, the fitted arrays) weigh in it as much as the iterations.

Each fit starts after a pause of ``--settle`` seconds (default 0.5): the
libraries alternate in one process, and OpenBLAS's worker threads keep
spinning for a while after scikit-learn's threaded products, sharing the
cores with a fit started at once (see ``start_speed.py``).
"""

import argparse
import functools
import time
import warnings
from collections import defaultdict

import numpy as np

_TIMES = defaultdict(float)
_CALLS = defaultdict(int)


def _wrap(owner, name, label):
    func = getattr(owner, name)
    if isinstance(func, staticmethod):  # pragma: no cover
        func = func.__func__

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        tick = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            _TIMES[label] += time.perf_counter() - tick
            _CALLS[label] += 1

    setattr(owner, name, wrapper)


def _ours(covariance_type):
    from fastgmm import _covariance, _em, _mixture, _spurious, gaussian_mixture

    model = type(_covariance.get(covariance_type))
    stages = [
        (gaussian_mixture, "_check_precisions_init", "check precisions_init"),
        (model, "precision_cholesky_from_precisions", "start: precision factors"),
        (model, "start_covariances", "start: covariances"),
        (_em, "em_pass", "pass (E-step + statistics)"),
        (_em, "estimate_parameters", "M-step: statistics -> covariances"),
        (model, "precision_cholesky", "M-step: covariances -> precision factors"),
        (_mixture.BaseMixture, "_fitted_state", "end: fitted arrays (all)"),
        (model, "precisions_from_cholesky", "end: precisions_"),
        (gaussian_mixture.GaussianMixture, "_spurious_events", "end: spurious test"),
    ]
    for owner, name, label in stages:
        _wrap(owner, name, label)
    return [label for _, _, label in stages]


def _theirs():
    from sklearn.mixture import _gaussian_mixture as gm

    stages = [
        (gm, "_check_precisions", "check precisions_init"),
        (gm, "_compute_precision_cholesky_from_precisions", "start: precision factors"),
        (gm, "_estimate_log_gaussian_prob", "E-step: log-densities"),
        (gm, "_estimate_gaussian_parameters", "M-step: resp -> covariances"),
        (gm, "_compute_precision_cholesky", "M-step: covariances -> precision factors"),
        (gm.GaussianMixture, "_set_parameters", "end: precisions_"),
    ]
    for owner, name, label in stages:
        _wrap(owner, name, label)
    return [label for _, _, label in stages]


def add_cell_arguments(parser):
    """A grid cell's positional arguments, as ``vs_sklearn_grid.py`` prints
    its rows: covariance_type n_features n_components n_samples dtype."""
    parser.add_argument("covariance_type")
    parser.add_argument("n_features", type=int)
    parser.add_argument("n_components", type=int)
    parser.add_argument("n_samples", type=int)
    parser.add_argument("dtype", choices=("float32", "float64"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_cell_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--settle", type=float, default=0.5,
                        help="seconds of pause before each timed fit (see above)")
    args = parser.parse_args()

    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    from fastgmm import GaussianMixture
    from fastgmm.bench import make_data, make_start

    X = make_data(args.n_samples, args.n_features, args.n_components).astype(args.dtype)
    start = make_start(X, args.n_components, args.covariance_type)
    labels = {GaussianMixture: _ours(args.covariance_type), SKGaussianMixture: _theirs()}
    runs = {cls: defaultdict(list) for cls in labels}

    def fit(cls, n_iter):
        model = cls(args.n_components, covariance_type=args.covariance_type,
                    max_iter=n_iter, tol=0.0, reg_covar=1e-2, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)

    fit(GaussianMixture, 1)  # compile or load from cache
    for _ in range(args.repeat):
        for cls in labels:  # alternating
            _TIMES.clear()
            time.sleep(args.settle)
            tick = time.perf_counter()
            fit(cls, args.n_iter)
            _TIMES["whole fit"] = time.perf_counter() - tick
            for label, seconds in _TIMES.items():
                runs[cls][label].append(seconds)
    print(f"{args.covariance_type} d={args.n_features} K={args.n_components} "
          f"N={args.n_samples} {args.dtype}, {args.n_iter} iterations, medians of "
          f"{args.repeat} (ms per fit)")
    for cls, name in ((GaussianMixture, "fastgmm"), (SKGaussianMixture, "scikit-learn")):
        print(f"  {name}")
        for label in labels[cls] + ["whole fit"]:
            values = runs[cls].get(label)
            if values:
                print(f"    {label:42s} {1e3 * np.median(values):9.1f}")
    ours = np.median(runs[GaussianMixture]["whole fit"])
    theirs = np.median(runs[SKGaussianMixture]["whole fit"])
    print(f"  ratio scikit-learn / fastgmm (whole fit): {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
