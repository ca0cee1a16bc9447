"""Time per EM iteration of fastgmm against the peers that are installed.

Run ``python -m fastgmm.bench`` (``--help`` for options). Every library
starts from the same weights, means and precisions and runs a fixed number
of iterations (``tol=0``); the table gives the median time per iteration
over ``--repeat`` runs, the ratio to fastgmm, and the relative difference
of the final lower bound from fastgmm's (a check that the same computation
was timed). Peers: scikit-learn (``sklearn.mixture.GaussianMixture``).

To time numpy/scikit-learn's BLAS fairly on machines where
``OPENBLAS_CORETYPE`` is forced, unset it (and ``OPENBLAS_L2_SIZE``) for
the benchmark command.
"""

import argparse
import platform
import time
import warnings

import numpy as np

SHAPES = {
    "a": dict(n_samples=1_000_000, n_features=2, n_components=8, covariance_type="full"),
    "b": dict(n_samples=200_000, n_features=16, n_components=16, covariance_type="full"),
    "c": dict(n_samples=100_000, n_features=64, n_components=32, covariance_type="diag"),
}


def make_data(n_samples, n_features, n_components, seed=0):
    """Gaussian blobs, and a start (weights, means, precisions) from them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    X = centres[labels] + rng.normal(size=(n_samples, n_features))
    return X


def make_start(X, n_components, covariance_type, seed=0):
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    means = X[rng.choice(X.shape[0], n_components, replace=False)].astype(np.float64)
    weights = np.full(n_components, 1.0 / n_components)
    var = X[: 10_000].astype(np.float64).var(axis=0).mean()
    precisions = {
        "full": np.repeat(np.eye(n_features)[None] / var, n_components, axis=0),
        "tied": np.eye(n_features) / var,
        "diag": np.full((n_components, n_features), 1.0 / var),
        "spherical": np.full(n_components, 1.0 / var),
    }[covariance_type]
    return dict(weights_init=weights.astype(X.dtype), means_init=means.astype(X.dtype),
                precisions_init=precisions.astype(X.dtype))


def _time_fit(make_model, X, n_iter, repeat):
    times, model = [], None
    for _ in range(repeat):
        model = make_model(n_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            times.append((time.perf_counter() - t0) / n_iter)
    return float(np.median(times)), float(model.lower_bound_)


def peers():
    """(name, factory(covariance_type, n_components, start, n_iter)) for installed peers."""
    from .gaussian_mixture import GaussianMixture

    found = [("fastgmm", lambda ct, k, start, n: GaussianMixture(
        k, covariance_type=ct, tol=0.0, max_iter=n, **start))]
    try:
        from sklearn.mixture import GaussianMixture as SkGM

        found.append(("scikit-learn", lambda ct, k, start, n: SkGM(
            k, covariance_type=ct, tol=0.0, max_iter=n, **start)))
    except ImportError:
        pass
    return found


def run(shapes, n_iter=5, repeat=3, dtype=np.float64, scale=1.0, warmup=True):
    """Measure every installed peer on every shape, from the same start.

    Parameters
    ----------
    shapes : iterable of str
        Keys of ``SHAPES`` ('a', 'b', 'c').
    n_iter : int, default=5
        EM iterations per fit (``tol=0``, so every library runs all of them).
    repeat : int, default=3
        Fits per library and shape; the median time is kept.
    dtype : numpy dtype, default=np.float64
        dtype of the data.
    scale : float, default=1.0
        Multiplies every shape's number of rows (at least 1000 are kept).
    warmup : bool, default=True
        Fit a small slice first, so compilation is not timed.

    Returns
    -------
    results : list of dict
        One per (shape, library), with keys ``shape``, ``library``, ``dtype``,
        ``ms_per_iter``, ``ratio`` (time over fastgmm's), ``lb_rel_diff``
        (relative difference of the final lower bound from fastgmm's) and the
        shape's ``n_samples``, ``n_features``, ``n_components``,
        ``covariance_type``.
    """
    results = []
    libraries = peers()
    for key in shapes:
        shape = dict(SHAPES[key])
        shape["n_samples"] = max(1000, int(shape["n_samples"] * scale))
        X = make_data(shape["n_samples"], shape["n_features"],
                      shape["n_components"]).astype(dtype)
        start = make_start(X, shape["n_components"], shape["covariance_type"])
        base = None
        for name, factory in libraries:
            def make(n, factory=factory):
                return factory(shape["covariance_type"], shape["n_components"], start, n)
            if warmup:
                _time_fit(make, X[:2000], 1, 1)
            seconds, lower_bound = _time_fit(make, X, n_iter, repeat)
            if base is None:
                base = (seconds, lower_bound)
            results.append(dict(shape=key, library=name, dtype=np.dtype(dtype).name,
                                ms_per_iter=1e3 * seconds, ratio=seconds / base[0],
                                lb_rel_diff=abs(lower_bound - base[1]) / abs(base[1]),
                                **shape))
    return results


def format_table(results):
    """The results of :func:`run` as a Markdown table.

    Parameters
    ----------
    results : list of dict
        As returned by :func:`run`.

    Returns
    -------
    table : str
    """
    lines = ["| shape | N | d | K | covariance | dtype | library | ms / iteration "
             "| × fastgmm's time | lower bound rel. diff |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(
            f"| {r['shape']} | {r['n_samples']:,} | {r['n_features']} | {r['n_components']} "
            f"| {r['covariance_type']} | {r['dtype']} | {r['library']} "
            f"| {r['ms_per_iter']:.1f} | {r['ratio']:.2f} | {r['lb_rel_diff']:.1e} |")
    return "\n".join(lines)


def environment():
    import numba

    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}",
             f"numba {numba.__version__}", f"threads {numba.get_num_threads()}",
             platform.machine(), time.strftime("%Y-%m-%d")]
    try:
        import sklearn

        parts.append(f"scikit-learn {sklearn.__version__}")
    except ImportError:
        pass
    return ", ".join(parts)


def add_arguments(parser):
    """Declare the benchmark's options on ``parser`` (shared with ``fastgmm bench``)."""
    parser.add_argument("--shapes", default="abc", help="subset of 'abc' (default: abc)")
    parser.add_argument("--n-iter", type=int, default=5,
                        help="EM iterations per fit (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fits per library, median kept (default: %(default)s)")
    parser.add_argument("--float32", action="store_true", help="float32 data")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every N by this (quick runs)")


def run_from_args(args):
    """Run the benchmark for parsed options and print the table; returns 0."""
    unknown = set(args.shapes) - set(SHAPES)
    if unknown or not args.shapes:
        raise ValueError(f"--shapes takes letters among {''.join(SHAPES)}, "
                         f"got {args.shapes!r}")
    if args.n_iter < 1 or args.repeat < 1 or not args.scale > 0:
        raise ValueError("--n-iter and --repeat must be >= 1 and --scale > 0")
    results = run(list(args.shapes), n_iter=args.n_iter, repeat=args.repeat,
                  dtype=np.float32 if args.float32 else np.float64, scale=args.scale)
    print(environment())
    print(format_table(results))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastgmm.bench",
        description="Time per EM iteration, fastgmm against installed peers, same start.")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
