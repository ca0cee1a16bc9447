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
from numba import njit, prange

from . import _covariance
from ._config import NUMBA_CACHE
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


def start_params(start, covariance_type):
    """``make_start``'s start as the EM loop's parameters (``_stats.Params``,
    float64), for timing ``_em.run_em`` or ``_em.em_pass`` without a fit.
    As the estimator's start from ``precisions_init``, it holds the precision
    factors alone (covariances None): the passes read nothing else."""
    from ._stats import Params

    model = _covariance.get(covariance_type)
    precisions = start["precisions_init"].astype(np.float64)
    return Params(start["weights_init"].astype(np.float64),
                  start["means_init"].astype(np.float64), None,
                  model.precision_cholesky_from_precisions(precisions))


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
        Fit every library once first, one iteration on the timed data, so
        that compiling or loading fastgmm's kernels is not timed (a slice
        of the data would leave the kernels only many rows use, the
        parallel ones, to the first timed fit).
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
                _time_one(make, X, 1)
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


# -- roofline ---------------------------------------------------------------

# Shapes of the roofline table: the bench table's a, b, c, then full
# covariances at d = 64, K = 32 (a compute-bound pass) and diag and spherical
# at d = 2 (passes that read little per point: bandwidth-bound, if anything).
ROOFLINE_SHAPES = {
    **SHAPES,
    "d": dict(n_samples=50_000, n_features=64, n_components=32, covariance_type="full"),
    "e": dict(n_samples=1_000_000, n_features=2, n_components=8, covariance_type="diag"),
    "f": dict(n_samples=1_000_000, n_features=2, n_components=8,
              covariance_type="spherical"),
}

def iteration_flops(n_samples, n_features, n_components, covariance_type):
    """Floating-point operations of one fused EM pass (an FMA counts as 2).

    ``n_samples`` times the covariance model's count per row
    (``CovarianceModel.pass_flops``: the arithmetic the pass kernels do per
    point and component, and per point; the M-step, which does not grow
    with ``n_samples``, the exponentials and logarithms of the log-sum-exp
    and the loads are left out). For example 'full':
    ``K (2 d(d+1) + 5 d)``; 'diag' and 'spherical': ``8 d K``.

    Parameters
    ----------
    n_samples, n_features, n_components : int
    covariance_type : str
        Any registered covariance model (mclust's count as the pass they run).

    Returns
    -------
    flops : int
    """
    model = _covariance.get(covariance_type)
    for name, value in (("n_samples", n_samples), ("n_features", n_features),
                        ("n_components", n_components)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(n_samples) * model.pass_flops(int(n_features), int(n_components))


def iteration_bytes(n_samples, n_features, itemsize=8):
    """Bytes of one pass's compulsory traffic: X read once (``N d itemsize``).

    The parameters, the partial statistics and the block's scratch (in
    cache) are left out: for every shape here they are a small fraction of
    X.
    """
    return int(n_samples) * int(n_features) * int(itemsize)


# The FMA loop: every element of four buffers that stay in L1 goes through a
# chain of _FMA_CHAIN dependent multiply-adds per sweep. The loop over the
# elements vectorises, and the four buffers' chains are independent, so with
# the out-of-order engine overlapping successive elements there are enough
# multiply-adds in flight to keep the FMA units busy (one chain per element
# reached about 70 % of what four reach, on a Zen 3 core). Only 'contract'
# is allowed (FMA), nothing that could fold a chain algebraically.
_FMA_CHAIN = 8
_FMA_BUFFER = 256  # doubles per buffer: 8 KiB per thread


@njit(fastmath={"contract"}, error_model="python", cache=NUMBA_CACHE, nogil=True)
def _fma_sweeps(buf, n_sweeps, a, b):
    """``n_sweeps`` sweeps of ``_FMA_CHAIN`` multiply-adds on every element of
    the four rows of ``buf``: ``8 * _FMA_CHAIN * buf.shape[1]`` flops a sweep."""
    x0 = buf[0]
    x1 = buf[1]
    x2 = buf[2]
    x3 = buf[3]
    for _ in range(n_sweeps):
        for j in range(buf.shape[1]):
            v0 = x0[j]
            v1 = x1[j]
            v2 = x2[j]
            v3 = x3[j]
            for _t in range(_FMA_CHAIN):
                v0 = v0 * a + b
                v1 = v1 * a + b
                v2 = v2 * a + b
                v3 = v3 * a + b
            x0[j] = v0
            x1[j] = v1
            x2[j] = v2
            x3[j] = v3
    return buf[0, 0]


@njit(parallel=True, fastmath={"contract"}, error_model="python", cache=NUMBA_CACHE, nogil=True)
def fma_loop(bufs, n_sweeps, a, b):
    """Each ``bufs[t]`` (one per thread) through ``_fma_sweeps``; returns one
    value per thread (so that nothing is optimised away)."""
    check = np.zeros(bufs.shape[0])
    for t in prange(bufs.shape[0]):
        check[t] = _fma_sweeps(bufs[t], n_sweeps, a, b)
    return check


@njit(parallel=True, fastmath=False, error_model="python", cache=NUMBA_CACHE, nogil=True)
def parallel_copy(src, dst, block):
    """``dst[:] = src`` in blocks of ``block`` elements, spread over the threads."""
    n_blocks = -(-src.shape[0] // block)
    for c in prange(n_blocks):
        stop = min(src.shape[0], (c + 1) * block)
        for i in range(c * block, stop):
            dst[i] = src[i]


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _best_seconds(call, repeat, clock=time.perf_counter):
    """The smallest of ``repeat`` timings of ``call()`` (after one untimed call)."""
    call()
    best = np.inf
    for _ in range(repeat):
        t0 = clock()
        call()
        best = min(best, clock() - t0)
    return best


def measure_peaks(threads=None, repeat=10, copy_bytes=256 * 2**20, fma_flops=1e9,
                  gemm_size=1024, clock="wall"):
    """This machine's FMA peak and copy bandwidth, measured now.

    Parameters
    ----------
    threads : int, optional
        The threads of the multi-threaded measurements (default: Numba's
        current number); the single-threaded ones use 1.
    repeat : int, default=10
        Timings per measurement; the fastest is kept (a peak: on a machine
        shared with other processes, the run least disturbed).
    copy_bytes : int, default=256 MiB
        Size of the copied array (far beyond the caches).
    fma_flops : float, default=1e9
        Flops of one run of the FMA loop, per thread.
    gemm_size : int, default=1024
        n of the n x n matrix products.
    clock : {'wall', 'cpu'}, default='wall'
        ``time.perf_counter``, or ``time.process_time`` (the CPU time of all
        the process's threads: on cores shared with other processes it
        measures the work, not the share of the cores the scheduler gave;
        with several threads it also counts threads that wait).

    Returns
    -------
    peaks : dict
        ``fma_1``, ``fma_n`` (GFLOP/s of the Numba FMA loop on 1 and on
        ``threads`` threads), ``gemm64_1``, ``gemm64_n``, ``gemm32_1``,
        ``gemm32_n`` (numpy matmul; ``*_1`` with BLAS limited to one thread by
        ``threadpoolctl``, None when it is not installed; ``*_n`` with BLAS's
        own threads), ``copy_numpy``, ``copy_numba`` (GB/s of a copy, counting
        the bytes read and written; the Numba copy on ``threads`` threads) and
        ``threads``.
    """
    import numba

    from . import _threads

    threads = numba.get_num_threads() if threads is None else int(threads)
    peaks = {"threads": threads, "clock": clock}
    clock = CLOCKS[clock]
    a, b = 0.999999, 1e-7
    per_sweep = 8 * _FMA_CHAIN * _FMA_BUFFER
    n_sweeps = max(1, int(fma_flops // per_sweep))
    for key, n in (("fma_1", 1), ("fma_n", threads)):
        bufs = np.ones((n, 4, _FMA_BUFFER))
        with _threads.thread_limit(n):
            seconds = _best_seconds(lambda: fma_loop(bufs, n_sweeps, a, b), repeat, clock)
        peaks[key] = n * n_sweeps * per_sweep / seconds / 1e9
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    rng = np.random.default_rng(0)
    for dtype, name in ((np.float64, "gemm64"), (np.float32, "gemm32")):
        x = rng.random((gemm_size, gemm_size)).astype(dtype)
        y = rng.random((gemm_size, gemm_size)).astype(dtype)
        flops = 2.0 * gemm_size**3
        if threadpool_limits is None:
            peaks[name + "_1"] = None
        else:
            with threadpool_limits(limits=1, user_api="blas"):
                peaks[name + "_1"] = flops / _best_seconds(lambda: x @ y, repeat,
                                                           clock) / 1e9
        peaks[name + "_n"] = flops / _best_seconds(lambda: x @ y, repeat, clock) / 1e9
    src = np.ones(copy_bytes // 8)
    dst = np.empty_like(src)
    moved = 2 * src.nbytes  # read and written
    peaks["copy_numpy"] = moved / _best_seconds(lambda: np.copyto(dst, src), repeat,
                                                clock) / 1e9
    with _threads.thread_limit(threads):
        peaks["copy_numba"] = moved / _best_seconds(
            lambda: parallel_copy(src, dst, 1 << 16), repeat, clock) / 1e9
    return peaks


def run_roofline(shapes, n_iter=5, repeat=3, dtype=np.float64, scale=1.0, peaks=None,
                 reg_covar=1e-6, clock="wall"):
    """fastgmm's EM iterations as fractions of the machine's measured peaks.

    Each shape's time per iteration is the median over ``repeat`` runs of
    ``n_iter`` iterations of the EM loop (``_em.run_em``: the fused pass,
    the M-step and the loop's checks, without the fit's validation and
    start) from ``make_start``'s start; flops and bytes are
    :func:`iteration_flops` and :func:`iteration_bytes`.

    Parameters
    ----------
    shapes : iterable of str
        Keys of ``ROOFLINE_SHAPES``.
    n_iter, repeat, dtype, scale, reg_covar
        As in :func:`run`.
    peaks : dict, optional
        From :func:`measure_peaks` (measured here when None, with ``clock``).
    clock : {'wall', 'cpu'}, default='wall'
        As in :func:`measure_peaks`; the peaks' clock when ``peaks`` is given.

    Returns
    -------
    rows : list of dict
        Per shape: the shape's fields, ``ms_per_iter``, ``gflop``,
        ``gflops`` (achieved GFLOP/s), ``fma_fraction`` (of ``fma_n``),
        ``gbytes_per_s`` and ``copy_fraction`` (of the larger of the two
        copy bandwidths), and ``bound``: 'compute' or 'memory', whichever
        roof is lower at the pass's flops per byte.
    peaks : dict
    """
    from . import _em

    peaks = measure_peaks(clock=clock) if peaks is None else peaks
    timer = CLOCKS[peaks.get("clock", clock)]
    copy_peak = max(peaks["copy_numpy"], peaks["copy_numba"])
    rows = []
    for key in shapes:
        shape = dict(ROOFLINE_SHAPES[key])
        shape["n_samples"] = max(1000, int(shape["n_samples"] * scale))
        n, d, k, cov = (shape["n_samples"], shape["n_features"], shape["n_components"],
                        shape["covariance_type"])
        X = make_data(n, d, k).astype(dtype)
        params = start_params(make_start(X, k, cov), cov)

        def em(max_iter, X=X, params=params, cov=cov):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _em.run_em(X, np.empty(0), params, covariance_type=cov,
                           reg_covar=reg_covar, tol=0.0, max_iter=max_iter)
        em(1)
        times = []
        for _ in range(repeat):
            t0 = timer()
            em(n_iter)
            times.append((timer() - t0) / n_iter)
        seconds = float(np.median(times))
        flops = iteration_flops(n, d, k, cov)
        nbytes = iteration_bytes(n, d, X.dtype.itemsize)
        gflops = flops / seconds / 1e9
        gbytes = nbytes / seconds / 1e9
        compute_roof = peaks["fma_n"]
        memory_roof = flops / nbytes * copy_peak
        rows.append(dict(shape=key, dtype=np.dtype(dtype).name, ms_per_iter=1e3 * seconds,
                         gflop=flops / 1e9, gflops=gflops,
                         fma_fraction=gflops / peaks["fma_n"], gbytes_per_s=gbytes,
                         copy_fraction=gbytes / copy_peak,
                         bound="compute" if compute_roof <= memory_roof else "memory",
                         **shape))
    return rows, peaks


def format_peaks(peaks):
    """The measured peaks as lines of text."""
    def gemm(value):
        return "n/a (no threadpoolctl)" if value is None else f"{value:.1f}"

    n = peaks["threads"]
    return "\n".join([
        f"clock: {peaks.get('clock', 'wall')} (best of the repeats for the peaks, "
        "median for the iterations)",
        f"FMA peak (Numba FMA loop): {peaks['fma_1']:.1f} GFLOP/s on 1 thread, "
        f"{peaks['fma_n']:.1f} on {n}",
        f"GEMM float64 (numpy matmul): {gemm(peaks['gemm64_1'])} GFLOP/s on 1 BLAS thread, "
        f"{peaks['gemm64_n']:.1f} on BLAS's threads",
        f"GEMM float32 (numpy matmul): {gemm(peaks['gemm32_1'])} GFLOP/s on 1 BLAS thread, "
        f"{peaks['gemm32_n']:.1f} on BLAS's threads",
        f"copy bandwidth (read + write): numpy {peaks['copy_numpy']:.1f} GB/s, "
        f"Numba parallel copy on {n} threads {peaks['copy_numba']:.1f} GB/s",
    ])


def format_roofline(rows, peaks):
    """The rows of :func:`run_roofline` as a Markdown table, under the peaks."""
    lines = [format_peaks(peaks), "",
             "| shape | N | d | K | covariance | dtype | ms / iteration | GFLOP / iteration "
             "| GFLOP/s | × FMA peak | GB/s (X read) | × copy bandwidth | bound |",
             "| --- " * 13 + "|"]
    for r in rows:
        lines.append(
            f"| {r['shape']} | {r['n_samples']:,} | {r['n_features']} | {r['n_components']} "
            f"| {r['covariance_type']} | {r['dtype']} | {r['ms_per_iter']:.2f} "
            f"| {r['gflop']:.3f} | {r['gflops']:.1f} | {r['fma_fraction']:.2f} "
            f"| {r['gbytes_per_s']:.2f} | {r['copy_fraction']:.2f} | {r['bound']} |")
    return "\n".join(lines)


def add_arguments(parser):
    """Declare the benchmark's options on ``parser`` (shared with ``fastgmm bench``)."""
    parser.add_argument("--shapes", default=None,
                        help="subset of 'abc' (default: abc); with --roofline, of "
                             "'abcdef' (default: abcdef)")
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
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="with --roofline: time with the wall clock, or with the "
                             "process's CPU time (on cores shared with other "
                             "processes; use it with NUMBA_NUM_THREADS=1) "
                             "(default: %(default)s)")
    parser.add_argument("--roofline", action="store_true",
                        help="measure this machine's FMA peak and copy bandwidth, then "
                             "fastgmm's GFLOP/s and GB/s per shape as fractions of them "
                             "(shapes d = N 5e4, d 64, K 32, full; e, f = N 1e6, d 2, "
                             "K 8, diag and spherical; no peers; --scale below 1 "
                             "also shrinks the peak measurements)")


def _peak_sizes(scale):
    """The sizes of :func:`measure_peaks` for ``--scale``: its defaults at 1 and
    above, smaller below (a quick run; a copy of a few MiB runs partly in
    cache and then overstates the bandwidth)."""
    if scale >= 1:
        return {}
    return dict(repeat=3, copy_bytes=max(2**23, int(2**28 * scale)),
                fma_flops=max(1e7, 1e9 * scale), gemm_size=max(128, int(1024 * scale**(1 / 3))))


def _roofline_from_args(args):
    shapes = "".join(ROOFLINE_SHAPES) if args.shapes is None else args.shapes
    unknown = set(shapes) - set(ROOFLINE_SHAPES)
    if unknown or not shapes:
        raise ValueError(f"--shapes takes letters among {''.join(ROOFLINE_SHAPES)} with "
                         f"--roofline, got {shapes!r}")
    peaks = measure_peaks(**_peak_sizes(args.scale), clock=args.clock)
    rows, peaks = run_roofline(list(shapes), n_iter=args.n_iter, repeat=args.repeat,
                               dtype=np.float32 if args.float32 else np.float64,
                               scale=args.scale, reg_covar=args.reg_covar, peaks=peaks)
    print(environment())
    print(format_roofline(rows, peaks))
    return 0


def run_from_args(args):
    """Run the benchmark for parsed options and print the table; returns 0."""
    if args.n_iter < 1 or args.repeat < 1 or not args.scale > 0:
        raise ValueError("--n-iter and --repeat must be >= 1 and --scale > 0")
    if not args.reg_covar >= 0:
        raise ValueError(f"--reg-covar must be >= 0, got {args.reg_covar}")
    if getattr(args, "roofline", False):
        return _roofline_from_args(args)
    if args.shapes is None:
        args.shapes = "".join(SHAPES)
    unknown = set(args.shapes) - set(SHAPES)
    if unknown or not args.shapes:
        raise ValueError(f"--shapes takes letters among {''.join(SHAPES)}, "
                         f"got {args.shapes!r}")
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
