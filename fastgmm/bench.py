"""Time per EM iteration of fastgmm against the peers that are installed.

Run ``python -m fastgmm.bench`` (``--help`` for options). Every library
starts from the same weights, means and precisions and runs a fixed number
of iterations (``tol=0``); the table gives the median time per iteration
over ``--repeat`` runs, the ratio to fastgmm, and the relative difference
of the final lower bound from fastgmm's (a check that the same computation
was timed). The lower bound is the mean per-sample log-likelihood computed
in the E-step of the last iteration, i.e. at the parameters before the last
M-step (scikit-learn's ``lower_bound_``).

Peers, each used when its package imports and skipped for the shapes it
cannot fit:

* scikit-learn (``sklearn.mixture.GaussianMixture``): every covariance
  type and dtype, the same ``reg_covar``.
* oneDAL (``daal4py.em_gmm``, shipped by the ``scikit-learn-intelex``
  package): 'full' and 'diag' ('diagonal' in oneDAL) only. It reports
  ``goalFunction``, the *total* log-likelihood (with the
  ``-n_features/2 log(2 pi)`` constant) from the E-step of its last
  iteration, i.e. at the same parameters as the others' lower bound; the
  table divides it by ``n_samples``. oneDAL's M-step adds no ``reg_covar``:
  its ``regularizationFactor`` only acts on a covariance whose Cholesky
  factorisation fails (it then adds a multiple of an eigenvalue to the
  diagonal). So the lower bounds agree to rounding only with
  ``--reg-covar 0``; with fastgmm's default 1e-6 they differ by about
  1e-8 relative. oneDAL computes in the data's dtype (``fptype``). Its
  'diagonal' storage takes the determinant as a product of the variances,
  which overflows float32 once it passes 3.4e38 (64 variances of 17 do):
  in float32 its log-likelihood, and then its responsibilities, differ.
* GMMX (``gmmx.EMFitter``, JAX): 'full' and 'diag', float32 only (it
  checks that its covariances are float32); ``reg_covar`` as scikit-learn's.
  Its jit compilation for the shape is done before timing.

With ``--estimator bayesian`` (or ``both``) the variational mixture is
timed too: fastgmm's ``BayesianGaussianMixture`` against scikit-learn's,
each continuing (``warm_start``, ``tol=0``) from the same start (the
'random_from_data' start of ``random_state=0``, made before timing, which
both draw identically); the lower bound is then scikit-learn's variational
bound (a total, not per sample). ``both`` gives the two estimators' rows on
the same data in one run, so that their speed-ups over scikit-learn can be
compared.

To time numpy/scikit-learn's BLAS fairly on machines where
``OPENBLAS_CORETYPE`` is forced, unset it (and ``OPENBLAS_L2_SIZE``) for
the benchmark command.
"""

import argparse
import importlib.metadata
import platform
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _covariance
from ._covariance import COVARIANCE_TYPES

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


def _time_one(make_model, X, n_iter):
    """(seconds per iteration, lower bound) of one fit of a fresh model."""
    model = make_model(n_iter)
    prepare = getattr(model, "prepare", None)
    if prepare is not None:
        prepare(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model.fit(X)
        seconds = (time.perf_counter() - t0) / n_iter
    return seconds, float(model.lower_bound_)


def _time_fits(makers, X, n_iter, repeat):
    """Median time per iteration and last lower bound of each maker.

    The fits run in rounds, one fit of every maker per round, so that a
    change of the machine's load during the run weighs on every library
    alike (on a busy machine the ratios hold where the times do not).
    """
    times = [[] for _ in makers]
    bounds = [None] * len(makers)
    for _ in range(repeat):
        for i, make in enumerate(makers):
            seconds, bounds[i] = _time_one(make, X, n_iter)
            times[i].append(seconds)
    return [(float(np.median(t)), b) for t, b in zip(times, bounds)]


class Peer(NamedTuple):
    """A library timed by :func:`run`.

    ``make(covariance_type, n_components, start, n_iter, reg_covar)`` returns
    an object with ``fit(X)`` and, after it, ``lower_bound_``; the peer is
    used for the covariance types and dtypes it lists; ``note`` is printed
    under the table when the peer has rows.
    """

    name: str
    make: Callable
    covariance_types: frozenset
    dtypes: frozenset
    note: str = ""


_ALL_COVARIANCE_TYPES = frozenset(COVARIANCE_TYPES)
_ALL_DTYPES = frozenset({"float32", "float64"})


# oneDAL's name for each covariance model it has.
_ONEDAL_STORAGE = {"full": "full", "diag": "diagonal"}


class _OneDALEM:
    """oneDAL's EM for GMM (``daal4py.em_gmm``) behind ``fit`` / ``lower_bound_``.

    The start's precisions are inverted here, before timing; ``fit`` runs
    ``n_iter`` iterations (``accuracyThreshold=0`` stops oneDAL only when
    the log-likelihood fails to increase, which ``fit`` reports as an
    error) and sets ``lower_bound_`` to ``goalFunction / n_samples``.
    """

    def __init__(self, covariance_type, n_components, start, n_iter, reg_covar):
        import daal4py

        # reg_covar has no counterpart: oneDAL adds nothing to its covariances
        # unless their Cholesky fails (see the module docstring).
        dtype = start["means_init"].dtype
        precisions = start["precisions_init"].astype(np.float64)
        # oneDAL takes one (d, d) matrix, or one (1, d) row of variances, per component.
        covariances = _covariance.get(covariance_type).covariances_from_precisions(precisions)
        covariances = [c if c.ndim == 2 else c[None, :] for c in covariances]
        self.n_iter = n_iter
        self._covariances = [np.ascontiguousarray(c, dtype=dtype) for c in covariances]
        self._weights = np.ascontiguousarray(start["weights_init"], dtype=dtype)[None, :]
        self._means = np.ascontiguousarray(start["means_init"], dtype=dtype)
        self._algorithm = daal4py.em_gmm(
            nComponents=n_components, maxIterations=n_iter, accuracyThreshold=0.0,
            covarianceStorage=_ONEDAL_STORAGE[covariance_type],
            fptype="float" if dtype == np.float32 else "double")

    def fit(self, X):
        result = self._algorithm.compute(X, self._weights, self._means, self._covariances)
        n_run = int(np.ravel(result.nIterations)[0])
        if n_run != self.n_iter:
            raise RuntimeError(f"oneDAL stopped after {n_run} of {self.n_iter} iterations "
                               "(its log-likelihood did not increase)")
        self.lower_bound_ = float(np.ravel(result.goalFunction)[0]) / X.shape[0]
        return self


_GMMX_COMPILED = set()


class _GMMXEM:
    """GMMX's EM (``gmmx.EMFitter``, JAX) behind ``fit`` / ``lower_bound_``.

    ``prepare(X)`` runs one untimed fit per data shape and settings, so that
    the timed fits reuse the compiled function. ``lower_bound_`` is the
    fitter's ``log_likelihood``, the mean over samples from the E-step of the
    last iteration.
    """

    def __init__(self, covariance_type, n_components, start, n_iter, reg_covar):
        import gmmx

        precisions = start["precisions_init"].astype(np.float64)
        covariances = _covariance.get(covariance_type).covariances_from_precisions(precisions)
        self._key = (covariance_type, n_components, n_iter, reg_covar)
        self._gmm = gmmx.GaussianMixtureModelJax.from_squeezed(
            means=start["means_init"].astype(np.float32),
            covariances=covariances.astype(np.float32),
            weights=start["weights_init"].astype(np.float32),
            covariance_type=covariance_type)
        # tol=0: the loop goes on while |change| >= tol, so it runs max_iter.
        self._fitter = gmmx.EMFitter(tol=0.0, max_iter=n_iter, reg_covar=reg_covar)

    def prepare(self, X):
        key = self._key + (X.shape, X.dtype.str)
        if key not in _GMMX_COMPILED:
            self.fit(X)
            _GMMX_COMPILED.add(key)

    def fit(self, X):
        import jax.numpy as jnp

        result = self._fitter.fit(jnp.asarray(X), self._gmm)
        self.lower_bound_ = float(result.log_likelihood)
        return self


def peers():
    """The installed libraries, fastgmm first.

    Returns
    -------
    peers : list of Peer
        fastgmm, then scikit-learn, oneDAL (``daal4py``) and GMMX (``gmmx``)
        for those whose package imports.
    """
    from .gaussian_mixture import GaussianMixture

    found = [Peer("fastgmm", lambda ct, k, start, n, reg: GaussianMixture(
        k, covariance_type=ct, tol=0.0, max_iter=n, reg_covar=reg, **start),
        _ALL_COVARIANCE_TYPES, _ALL_DTYPES)]
    try:
        from sklearn.mixture import GaussianMixture as SkGM

        found.append(Peer("scikit-learn", lambda ct, k, start, n, reg: SkGM(
            k, covariance_type=ct, tol=0.0, max_iter=n, reg_covar=reg, **start),
            _ALL_COVARIANCE_TYPES, _ALL_DTYPES))
    except ImportError:
        pass
    try:
        import daal4py  # noqa: F401

        found.append(Peer(
            "oneDAL", _OneDALEM, frozenset(_ONEDAL_STORAGE), _ALL_DTYPES,
            "oneDAL: lower bound = goalFunction / N; adds no reg_covar (regularises only "
            "a covariance whose Cholesky fails), so it matches fastgmm to rounding only "
            "with --reg-covar 0; float32 'diag' overflows its determinant product for "
            "large d."))
    except ImportError:
        pass
    try:
        import gmmx  # noqa: F401

        found.append(Peer(
            "GMMX", _GMMXEM, frozenset({"full", "diag"}), frozenset({"float32"}),
            "GMMX: float32 only; jit compilation not timed."))
    except ImportError:
        pass
    return found


class _WarmBayesian:
    """A variational mixture that each ``fit`` continues from the same start.

    ``prepare(X)`` (not timed) makes the start: a fit with ``max_iter=0``
    (scikit-learn's and fastgmm's draw the same 'random_from_data' start
    for ``random_state=0``); ``fit`` then runs ``n_iter`` iterations from it
    with ``warm_start`` and ``tol=0``.
    """

    def __init__(self, cls, covariance_type, n_components, n_iter, reg_covar):
        self._model = cls(n_components=n_components, covariance_type=covariance_type,
                          init_params="random_from_data", random_state=0, max_iter=0,
                          reg_covar=reg_covar)
        self._n_iter = n_iter

    def prepare(self, X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model.fit(X)
        self._model.set_params(warm_start=True, max_iter=self._n_iter, tol=0.0)

    def fit(self, X):
        self._model.fit(X)
        self.lower_bound_ = float(np.ravel(self._model.lower_bound_)[0])
        return self


def bayesian_peers():
    """fastgmm's and (when installed) scikit-learn's ``BayesianGaussianMixture``."""
    from .bayesian_mixture import BayesianGaussianMixture

    found = [Peer("fastgmm", lambda ct, k, start, n, reg: _WarmBayesian(
        BayesianGaussianMixture, ct, k, n, reg), _ALL_COVARIANCE_TYPES, _ALL_DTYPES)]
    try:
        from sklearn.mixture import BayesianGaussianMixture as SkBGM

        found.append(Peer("scikit-learn", lambda ct, k, start, n, reg: _WarmBayesian(
            SkBGM, ct, k, n, reg), _ALL_COVARIANCE_TYPES, _ALL_DTYPES))
    except ImportError:
        pass
    return found


ESTIMATORS = ("gaussian", "bayesian")


def run(shapes, n_iter=5, repeat=3, dtype=np.float64, scale=1.0, warmup=True,
        reg_covar=1e-6, estimators=("gaussian",)):
    """Measure every installed peer on every shape, from the same start.

    Parameters
    ----------
    shapes : iterable of str
        Keys of ``SHAPES`` ('a', 'b', 'c').
    n_iter : int, default=5
        EM iterations per fit (``tol=0``, so every library runs all of them).
    repeat : int, default=3
        Fits per library and shape, in rounds of one fit of each library
        (and estimator); the median time is kept.
    dtype : numpy dtype, default=np.float64
        dtype of the data.
    scale : float, default=1.0
        Multiplies every shape's number of rows (at least 1000 are kept).
    warmup : bool, default=True
        Fit a small slice first, so compilation is not timed.
    reg_covar : float, default=1e-6
        Added to the covariances' diagonal by the libraries that take it
        (fastgmm's default); oneDAL adds nothing.
    estimators : tuple of {'gaussian', 'bayesian'}, default=('gaussian',)
        The mixtures timed on each shape's data: ``GaussianMixture`` against
        :func:`peers`, ``BayesianGaussianMixture`` against
        :func:`bayesian_peers`.

    Returns
    -------
    results : list of dict
        One per (shape, library) that the library supports, with keys
        ``shape``, ``library``, ``dtype``, ``ms_per_iter``, ``ratio`` (time
        over fastgmm's), ``lb_rel_diff`` (relative difference of the final
        lower bound from fastgmm's), ``lower_bound`` and the shape's
        ``n_samples``, ``n_features``, ``n_components``, ``covariance_type``,
        and ``estimator``.
    """
    results = []
    unknown = set(estimators) - set(ESTIMATORS)
    if unknown or not estimators:
        raise ValueError(f"estimators are among {ESTIMATORS}, got {estimators!r}")
    dtype_name = np.dtype(dtype).name
    for key in shapes:
        shape = dict(SHAPES[key])
        shape["n_samples"] = max(1000, int(shape["n_samples"] * scale))
        X = make_data(shape["n_samples"], shape["n_features"],
                      shape["n_components"]).astype(dtype)
        start = make_start(X, shape["n_components"], shape["covariance_type"])
        rows = []
        for estimator in estimators:
            libraries = peers() if estimator == "gaussian" else bayesian_peers()
            for peer in libraries:
                if (shape["covariance_type"] in peer.covariance_types
                        and dtype_name in peer.dtypes):
                    rows.append((estimator, peer))

        def maker(peer, shape=shape, start=start):
            return lambda n: peer.make(shape["covariance_type"], shape["n_components"],
                                       start, n, reg_covar)
        makers = [maker(peer) for _, peer in rows]
        if warmup:
            for make in makers:
                _time_one(make, X[:2000], 1)
        timed = _time_fits(makers, X, n_iter, repeat)
        base = {}
        for (estimator, peer), (seconds, lower_bound) in zip(rows, timed):
            # Ratios to the first library of the estimator: fastgmm.
            ref_seconds, ref_bound = base.setdefault(estimator, (seconds, lower_bound))
            results.append(dict(shape=key, library=peer.name, dtype=dtype_name,
                                ms_per_iter=1e3 * seconds, ratio=seconds / ref_seconds,
                                lb_rel_diff=abs(lower_bound - ref_bound) / abs(ref_bound),
                                lower_bound=lower_bound, estimator=estimator, **shape))
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
    # An estimator column when the variational mixture was timed.
    show = any(r.get("estimator", "gaussian") != "gaussian" for r in results)
    lines = ["| shape | N | d | K | covariance | dtype | " + ("estimator | " if show else "")
             + "library | ms / iteration | × fastgmm's time | lower bound rel. diff |",
             "| --- " * (10 + show) + "|"]
    for r in results:
        column = f"{r.get('estimator', 'gaussian')} | " if show else ""
        lines.append(
            f"| {r['shape']} | {r['n_samples']:,} | {r['n_features']} | {r['n_components']} "
            f"| {r['covariance_type']} | {r['dtype']} | {column}{r['library']} "
            f"| {r['ms_per_iter']:.1f} | {r['ratio']:.2f} | {r['lb_rel_diff']:.1e} |")
    if show:
        lines += ["", speedups(results)]
    return "\n".join(lines)


def speedups(results):
    """Per shape: scikit-learn's time over fastgmm's for each estimator, and the
    variational mixture's speed-up as a fraction of the Gaussian mixture's."""
    lines = ["| shape | GaussianMixture speed-up | BayesianGaussianMixture speed-up "
             "| ratio |", "| --- | --- | --- | --- |"]
    for shape in dict.fromkeys(r["shape"] for r in results):
        ups = {}
        for r in results:
            if r["shape"] == shape and r["library"] == "scikit-learn":
                ups[r.get("estimator", "gaussian")] = r["ratio"]
        if len(ups) == 2:
            lines.append(f"| {shape} | {ups['gaussian']:.2f} | {ups['bayesian']:.2f} "
                         f"| {ups['bayesian'] / ups['gaussian']:.2f} |")
    return "\n".join(lines)


def environment():
    """One line naming the interpreter, libraries, threads, machine and date."""
    import numba

    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}",
             f"numba {numba.__version__}", f"threads {numba.get_num_threads()}",
             platform.machine(), time.strftime("%Y-%m-%d")]
    try:
        import sklearn

        parts.append(f"scikit-learn {sklearn.__version__}")
    except ImportError:
        pass
    try:
        import daal4py

        parts.append(f"daal4py (scikit-learn-intelex "
                     f"{importlib.metadata.version('scikit-learn-intelex')}, "
                     f"threads {daal4py.num_threads()})")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        pass
    try:
        import gmmx  # noqa: F401
        import jax

        parts.append(f"gmmx {importlib.metadata.version('gmmx')} (jax {jax.__version__})")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        pass
    return ", ".join(parts)


def notes(results):
    """The notes of the peers that have rows in ``results``, one per line."""
    present = {r["library"] for r in results}
    return "\n".join(p.note for p in peers() if p.note and p.name in present)


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
    parser.add_argument("--estimator", choices=("gaussian", "bayesian", "both"),
                        default="gaussian",
                        help="GaussianMixture, BayesianGaussianMixture, or both on the "
                             "same data (default: %(default)s)")
    parser.add_argument("--reg-covar", type=float, default=1e-6,
                        help="reg_covar of the libraries that take one; oneDAL has "
                             "none, so 0 makes its computation the same "
                             "(default: %(default)s)")


def run_from_args(args):
    """Run the benchmark for parsed options and print the table; returns 0."""
    unknown = set(args.shapes) - set(SHAPES)
    if unknown or not args.shapes:
        raise ValueError(f"--shapes takes letters among {''.join(SHAPES)}, "
                         f"got {args.shapes!r}")
    if args.n_iter < 1 or args.repeat < 1 or not args.scale > 0:
        raise ValueError("--n-iter and --repeat must be >= 1 and --scale > 0")
    if not args.reg_covar >= 0:
        raise ValueError(f"--reg-covar must be >= 0, got {args.reg_covar}")
    results = run(list(args.shapes), n_iter=args.n_iter, repeat=args.repeat,
                  dtype=np.float32 if args.float32 else np.float64, scale=args.scale,
                  reg_covar=args.reg_covar,
                  estimators=ESTIMATORS if getattr(args, "estimator", "gaussian") == "both"
                  else (getattr(args, "estimator", "gaussian"),))
    print(environment())
    print(format_table(results))
    text = notes(results)
    if text:
        print(text)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastgmm.bench",
        description="Time per EM iteration, fastgmm against installed peers, same start.")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
