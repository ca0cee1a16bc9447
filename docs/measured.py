"""Numbers and texts the documentation pages include, computed at build time.

``conf.py`` calls :func:`write_all` when the build starts; each function
below writes one ``.inc`` file (reStructuredText, included by a page with
``.. include::``) into ``docs/generated/measured/`` or the command-line help
into ``docs/generated/cli/``. Nothing on the pages that depends on the
machine is typed by hand: it comes from here.

Run ``python docs/measured.py`` to print the tables without building.
"""

import contextlib
import io
import math
import os
import platform
import sys
import time
import warnings

import numpy as np


def _environment():
    import numba
    import sklearn

    import fastgmm

    return (
        f"fastgmm {fastgmm.__version__}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, Numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}, {numba.config.NUMBA_NUM_THREADS} "
        f"Numba thread(s), {platform.machine()}"
    )


def _list_table(header, rows, widths=None):
    """A ``list-table`` directive, as lines of reStructuredText."""
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append(f"   :widths: {' '.join(str(w) for w in widths)}")
    lines.append("")
    for row in [header] + rows:
        first = True
        for cell in row:
            lines.append(f"   {'* -' if first else '  -'} {cell}")
            first = False
    return lines


def _write(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "\n".join(lines) + "\n"
    # Rewrite only on change, so that Sphinx re-reads only what changed.
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _blobs(n_samples, n_features, n_components, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    return centres[labels] + rng.normal(size=(n_samples, n_features))


# ---------------------------------------------------------------------------
# the pages' tables


def parameter_counts():
    """Free parameters per covariance type: the formula and a fitted model's count.

    The count of a fitted model is read back from its BIC and AIC
    (``bic - aic = p (log n - 2)``), so the table checks the formulas
    against the implementation.
    """
    from fastgmm import GaussianMixture
    from fastgmm.datasets import load_penguins

    X, _, _, _ = load_penguins()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    n_samples, d = X.shape
    k = 3
    formulas = {
        "full": ("K d (d+1) / 2", k * d * (d + 1) // 2),
        "tied": ("d (d+1) / 2", d * (d + 1) // 2),
        "diag": ("K d", k * d),
        "spherical": ("K", k),
    }
    rows = []
    for covariance_type, (formula, n_cov) in formulas.items():
        gm = GaussianMixture(k, covariance_type=covariance_type, random_state=0).fit(X)
        from_model = (gm.bic(X) - gm.aic(X)) / (math.log(n_samples) - 2.0)
        total = n_cov + k * d + k - 1
        if round(from_model) != total:
            raise RuntimeError(f"{covariance_type}: the model counts {from_model} "
                               f"parameters, the formula {total}")
        rows.append([f"``'{covariance_type}'``", formula, f"{formula} + K d + K - 1",
                     str(n_cov), str(total), str(int(round(from_model)))])
    header = ["covariance_type", "covariance parameters", "all free parameters",
              f"covariance, K={k}, d={d}", f"all, K={k}, d={d}",
              "all, read from the fitted model"]
    lines = _list_table(header, rows)
    lines += ["", f"Penguins data standardised: n={n_samples}, d={d}, K={k}, "
              "``random_state=0``."]
    return lines


def variance_cancellation():
    """Relative error of the fitted variance, fastgmm against scikit-learn.

    One component, 'diag': the fitted variance is the variance of the data
    plus ``reg_covar``; data are N(0, 1) shifted by an offset, the reference
    is NumPy's two-pass ``np.var`` of the same array.
    """
    from sklearn.mixture import GaussianMixture as SkGM

    from fastgmm import GaussianMixture

    rng = np.random.default_rng(0)
    Z = rng.normal(size=(10_000, 2))
    rows = []
    for offset in (0.0, 1e3, 1e5, 1e6, 1e7):
        X = Z + offset
        reference = np.var(X, axis=0)
        errors = []
        for cls in (GaussianMixture, SkGM):
            gm = cls(1, covariance_type="diag", reg_covar=0.0, random_state=0).fit(X)
            errors.append(float(np.max(np.abs(gm.covariances_[0] - reference) / reference)))
        # Per feature E[x^2] = c^2 + 1: the size of the numbers that cancel.
        bound = float((offset**2 + 1.0) * np.finfo(np.float64).eps)
        rows.append([f"{offset:.0e}" if offset else "0", f"{bound:.1e}",
                     f"{errors[0]:.1e}", f"{errors[1]:.1e}"])
    header = ["offset :math:`c`", r"scale of the cancellation, :math:`(c^2 + 1)\,\varepsilon`",
              "fastgmm", "scikit-learn"]
    lines = _list_table(header, rows)
    lines += ["", f"{Z.shape[0]:,} rows, {Z.shape[1]} features drawn from N(0, 1) "
              "(``default_rng(0)``), plus c."]
    return lines


def thread_reproducibility():
    """Fit the same model on 1 thread and on every thread; compare bit for bit."""
    import numba

    from fastgmm import GaussianMixture

    X = _blobs(200_000, 4, 6, seed=1)
    n_max = numba.config.NUMBA_NUM_THREADS
    fits = {}
    for n_threads in sorted({1, n_max}):
        gm = GaussianMixture(6, covariance_type="full", random_state=0, n_threads=n_threads)
        t0 = time.perf_counter()
        gm.fit(X)
        fits[n_threads] = (gm, time.perf_counter() - t0)
    rows = []
    base = fits[1][0]
    for n_threads, (gm, seconds) in fits.items():
        same = all(np.array_equal(getattr(gm, name), getattr(base, name))
                   for name in ("weights_", "means_", "covariances_"))
        same = same and gm.lower_bounds_ == base.lower_bounds_
        rows.append([str(n_threads), str(gm.n_iter_), repr(float(gm.lower_bound_)),
                     "yes" if same else "**no**"])
    header = ["n_threads", "n_iter\\_", "lower_bound\\_",
              "weights\\_, means\\_, covariances\\_, lower_bounds\\_ bit-identical "
              "to 1 thread"]
    lines = _list_table(header, rows)
    lines += ["", f"200,000 samples, 4 features, 6 components, ``'full'``, "
              f"``random_state=0``; the machine had {n_max} Numba thread(s)."]
    return lines


def same_as_sklearn():
    """Each ``init_params``: a fit by fastgmm and by scikit-learn, same seed."""
    from sklearn.mixture import GaussianMixture as SkGM

    from fastgmm import GaussianMixture

    X = _blobs(5_000, 3, 4, seed=2)
    rows = []
    for init in ("kmeans", "k-means++", "random", "random_from_data"):
        models = []
        for cls in (GaussianMixture, SkGM):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                models.append(cls(4, init_params=init, random_state=0).fit(X))
        ours, theirs = models
        rows.append([
            f"``'{init}'``",
            f"{ours.n_iter_} / {theirs.n_iter_}",
            f"{float(np.max(np.abs(ours.means_ - theirs.means_))):.1e}",
            f"{abs(float(ours.lower_bound_) - float(theirs.lower_bound_)):.1e}",
            f"{float(np.mean(ours.predict(X) == theirs.predict(X))):.4f}",
        ])
    header = ["init_params", "n_iter\\_ (fastgmm / scikit-learn)", "max abs. diff. of means\\_",
              "abs. diff. of lower_bound\\_", "fraction of equal predict labels"]
    lines = _list_table(header, rows)
    lines += ["", "5,000 samples, 3 features, 4 components, ``'full'``, "
              "``random_state=0``, default ``tol``."]
    return lines


def float32_vs_float64():
    """The same fit in float32 and float64."""
    from fastgmm import GaussianMixture

    X = _blobs(100_000, 8, 5, seed=3)
    fits = {}
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        gm = GaussianMixture(5, covariance_type="full", random_state=0).fit(Xd)
        fits[np.dtype(dtype).name] = gm
    a, b = fits["float64"], fits["float32"]
    rows = []
    for name, gm in fits.items():
        rows.append([name, f"{X.astype(name).nbytes / 2**20:.1f}", str(gm.means_.dtype),
                     str(gm.n_iter_), f"{float(gm.lower_bound_):.8f}"])
    header = ["data dtype", "size of X (MiB)", "means\\_ dtype", "n_iter\\_", "lower_bound\\_"]
    lines = _list_table(header, rows)
    diff = float(np.max(np.abs(a.means_.astype(np.float64) - b.means_.astype(np.float64))))
    lines += ["", f"100,000 samples, 8 features, 5 components, ``'full'``, "
              f"``random_state=0``. Largest difference between the float32 and "
              f"float64 means: {diff:.1e} (the data have unit within-cluster "
              f"variance)."]
    return lines


FIRST_FIT = """\
from fastgmm import GaussianMixture
from fastgmm.datasets import load_old_faithful
X = load_old_faithful()  # 272 eruptions: duration (min), wait to the next (min)
gm = GaussianMixture(n_components=2, random_state=0).fit(X)
print(gm.weights_, gm.means_, gm.n_iter_, gm.predict(X[:5]), sep="\\n")
"""


def first_fit():
    """The five-line example of Getting started, and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(FIRST_FIT, "<first fit>", "exec"), {})
    lines = [".. code-block:: python", ""]
    lines += ["   " + line for line in FIRST_FIT.rstrip("\n").split("\n")]
    lines += ["", "prints (run when this page was built)", "", ".. code-block:: none", ""]
    lines += ["   " + line for line in out.getvalue().rstrip("\n").split("\n")]
    return lines


# ---------------------------------------------------------------------------
# command line


def cli_help():
    """``--help`` of ``fastgmm`` and of each of its commands: {name: text}."""
    from fastgmm import cli

    texts = {}
    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = cli.build_parser()
        texts["fastgmm"] = parser.format_help()
        for action in parser._subparsers._group_actions:
            for name, subparser in action.choices.items():
                texts[name] = subparser.format_help()
    finally:
        if old_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old_columns
    return texts


def cli_page_section(texts):
    """One section per command, with its help, in the order of ``fastgmm --help``."""
    lines = []
    for name in texts:
        if name == "fastgmm":
            continue
        title = f"fastgmm {name}"
        lines += [title, "-" * len(title), "", f".. literalinclude:: ../generated/cli/{name}.txt",
                  "   :language: none", ""]
    return lines


# ---------------------------------------------------------------------------
# benchmarks


def bench_shapes():
    """The shapes of ``python -m fastgmm.bench``."""
    from fastgmm import bench

    rows = [[f"``{key}``", f"{s['n_samples']:,}", str(s["n_features"]), str(s["n_components"]),
             f"``'{s['covariance_type']}'``"] for key, s in bench.SHAPES.items()]
    return _list_table(["shape", "n_samples", "n_features", "n_components",
                        "covariance_type"], rows)


def bench_help():
    """``python -m fastgmm.bench --help``."""
    from fastgmm import bench

    out = io.StringIO()
    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        with contextlib.redirect_stdout(out):
            try:
                bench.main(["--help"])
            except SystemExit:
                pass
    finally:
        if old_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old_columns
    return out.getvalue().rstrip("\n").split("\n")


def _asv_modules():
    """The modules of the asv suite, imported from ``asv_benchmarks/``."""
    import importlib
    import pkgutil

    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "asv_benchmarks")
    if root not in sys.path:
        sys.path.insert(0, root)
    package = importlib.import_module("benchmarks")
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                   if info.name.startswith("bench_"))
    return root, [importlib.import_module(f"benchmarks.{name}") for name in names]


def asv_profiles():
    """Rows per n_features in each profile of ``asv_benchmarks/benchmarks/common.py``."""
    _asv_modules()
    from benchmarks import common

    saved = {k: os.environ.pop(k, None)
             for k in ("FASTGMM_BENCH_PROFILE", "FASTGMM_BENCH_MAX_BYTES")}
    rows = []
    try:
        n_features = [common.shape(key)["n_features"] for key in common.SHAPE_KEYS]
        for profile in common.PROFILES:
            os.environ["FASTGMM_BENCH_PROFILE"] = profile
            rows.append([f"``{profile}``"]
                        + [f"{common.n_samples_for(d):,}" for d in n_features]
                        + [f"{common.max_bytes() / 2**20:,.0f} MiB"])
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
    return _list_table(["profile"] + [f"n_samples, d={d}" for d in n_features]
                       + ["memory budget"], rows)


_ASV_PREFIXES = ("time_", "timeraw_", "peakmem_", "track_", "mem_")


def asv_benchmarks():
    """Every benchmark of the suite: name, parameters and the class's summary."""
    import inspect

    _, modules = _asv_modules()
    rows = []
    for module in modules:
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls_name.startswith("_"):
                continue
            methods = [name for name, _ in inspect.getmembers(cls, inspect.isfunction)
                       if name.startswith(_ASV_PREFIXES)]
            if not methods:
                continue
            params = getattr(cls, "params", None)
            names = getattr(cls, "param_names", None)
            if params and names:
                if not isinstance(params[0], (list, tuple)):
                    params = [params]
                grid = "; ".join(f"{n}: {', '.join(map(str, p))}" for n, p in zip(names, params))
            else:
                grid = "none"
            doc = inspect.getdoc(cls) or ""
            summary = " ".join(doc.split("\n\n")[0].split())
            rows.append([f"``{module.__name__.split('.')[-1]}.{cls_name}``",
                         ", ".join(f"``{m}``" for m in methods), grid, summary])
    return _list_table(["class", "benchmarks", "parameters", "what it measures"], rows,
                       widths=[18, 22, 25, 35])


# ---------------------------------------------------------------------------


TABLES = {
    "first_fit": first_fit,
    "parameter_counts": parameter_counts,
    "variance_cancellation": variance_cancellation,
    "thread_reproducibility": thread_reproducibility,
    "same_as_sklearn": same_as_sklearn,
    "float32_vs_float64": float32_vs_float64,
    "bench_shapes": bench_shapes,
    "asv_profiles": asv_profiles,
    "asv_benchmarks": asv_benchmarks,
}


def write_all(outdir):
    """Write every table and help text under ``outdir``; print the time taken."""
    t_start = time.perf_counter()
    measured_dir = os.path.join(outdir, "measured")
    for name, make in TABLES.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lines = make()
        _write(os.path.join(measured_dir, name + ".inc"), lines)
        print(f"measured.py: {name} in {time.perf_counter() - t0:.1f} s")
    _write(os.path.join(measured_dir, "environment.inc"),
           [f"Measured while this page was built: {_environment()}, "
            f"{time.strftime('%Y-%m-%d')}."])
    texts = cli_help()
    _write(os.path.join(outdir, "cli", "python-m-fastgmm.bench.txt"), bench_help())
    for name, text in texts.items():
        _write(os.path.join(outdir, "cli", name + ".txt"), text.rstrip("\n").split("\n"))
    _write(os.path.join(outdir, "cli", "commands.inc"), cli_page_section(texts))
    print(f"measured.py: all in {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    for name, make in TABLES.items():
        print(f"== {name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            print("\n".join(make()))
    print(_environment())
    with contextlib.redirect_stdout(io.StringIO()):
        texts = cli_help()
    sys.stdout.write("\n".join(texts.values()))
