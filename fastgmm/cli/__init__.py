"""The ``fastgmm`` command line (also ``python -m fastgmm``).

Each subcommand is a pair of functions: ``_add_<name>(subparsers)`` declares
its arguments and sets ``func=_cmd_<name>``; ``_cmd_<name>(args)`` runs it
and returns the exit status. A new subcommand (``select``, ``bench``) is one
more such pair and one more entry in ``_SUBCOMMANDS``.

User mistakes never end in a traceback: they raise ``UsageError`` (exit
status 2) or ``CLIError`` (exit status 1), and ``main`` prints them as one
``fastgmm: error: ...`` line on stderr, as it does for the ``ValueError``
and ``OSError`` of a bad file or bad data.
"""

import argparse
import contextlib
import io
import math
import os
import sys
import textwrap
import threading
import time
import warnings

import numpy as np

from . import _csv

PROG = "fastgmm"

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

# Fields read as a missing value in a CSV file (compared in lower case).
MISSING_VALUES = _csv.MISSING_VALUES

# Matrices are printed in full up to this many features.
MAX_PRINTED_FEATURES = 8


class UsageError(Exception):
    """A mistake in the command line itself: exit status 2."""


class CLIError(Exception):
    """A mistake found while running (bad file, bad data): exit status 1."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised as ``UsageError``."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


_MAIN_DESCRIPTION = """\
Fit Gaussian mixture models with the EM algorithm on the CPU, save them as
model files, and use them to label or score new data. fastgmm is a drop-in
for scikit-learn's GaussianMixture; this command line covers the common
cases without writing Python.

Run with no arguments, it runs the demo."""

_DATA_HELP = """\
data files:
  FILE.csv  values separated by ',', ';', tabs or spaces (detected, or
            --delimiter), decimal point '.' (or --decimal ','). The first row
            is a header when it holds no numbers; pass --header when names
            look like numbers, --no-header when the first row is data. A
            file that could be read two ways is refused, naming the option
            that settles it. Columns of text are skipped (noted on stderr);
            a text field in a column of numbers is an error naming its line
            and column. Empty, NA, NaN, N/A, null, None and ? are missing
            values: fit and score skip rows that have one (noted on
            stderr); predict refuses them, naming the line, since its
            output has one row per input row. pandas, when installed, reads
            big files faster (pip install 'fastgmm[cli]').
            fit stores the header's names in the model; predict and score
            then match DATA's header to them: columns in another order are
            reordered by name (noted on stderr), other names are refused,
            and a file without a header is taken in order (noted).
  FILE.npy  a 2-D numeric NumPy array, memory-mapped, not read into memory
            (--float32 on float64 data makes a float32 copy).
  -         CSV on standard input."""

_MAIN_EPILOG = f"""\
{_DATA_HELP}

model files:
  MODEL.npz is a NumPy archive of plain arrays (no pickle), written by
  'fastgmm fit' or GaussianMixture.save() and read by fastgmm.load().

exit status:
  0  success
  1  runtime error: missing or unreadable file, bad data, bad model file
  2  usage error: unknown command or option, bad option value

examples:
  fastgmm                                    run the demo
  fastgmm demo --plot faithful.png           the demo, with a figure of the EM steps
  fastgmm fit data.csv -k 3 -o model.npz     fit 3 components, save the model
  fastgmm fit big.npy -k 8 --covariance-type diag --float32 --threads 2 -o m.npz
  fastgmm predict model.npz data.csv         component labels, CSV on stdout
  fastgmm predict model.npz new.npy --proba -o proba.npy
  cat data.csv | fastgmm score model.npz -   mean log-likelihood per sample
  fastgmm info model.npz                     hyper-parameters and fitted parameters
  fastgmm select data.csv -k 1..9            choose K and the covariance type by BIC

Run '{PROG} COMMAND --help' for the options of a command."""


# ---------------------------------------------------------------------------
# Argument types


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text!r}")
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _wrap(text):
    """A paragraph filled to 79 columns (the help formatter keeps text as is)."""
    return textwrap.fill(text, width=79)


# ---------------------------------------------------------------------------
# Messages


def _one_line(message):
    return " ".join(str(message).split())


def _note(message):
    print(f"{PROG}: note: {_one_line(message)}", file=sys.stderr)


def _warning(message):
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Reading data


def _parse_field(text, decimal="."):
    """A CSV field as a float, ``None`` when missing, or the text itself."""
    return _csv.parse_field(text, decimal)


def _read_csv(stream, name, *, on_missing, dtype, notes, delimiter=None, decimal=None,
              header=None, engine=None, size_hint=None):
    """Numeric columns of a CSV stream as an array; see ``_DATA_HELP``.

    Returns ``(X, feature_names)``; `feature_names` is ``None`` without a
    header. `on_missing` is ``"skip"`` (drop rows with a missing value,
    noted on stderr) or ``"error"``. `delimiter`, `decimal` and `header`
    are the CSV options (``None``: detected); `engine` is ``"pandas"`` or
    ``"numpy"`` (``None``: pandas when installed). The reading itself is
    ``fastgmm.cli._csv.read_csv``.
    """
    try:
        X, names, messages = _csv.read_csv(
            stream, name, on_missing=on_missing, dtype=dtype, delimiter=delimiter,
            decimal=decimal, header=header, engine=engine, size_hint=size_hint)
    except _csv.CSVError as exc:
        raise CLIError(str(exc)) from None
    if notes:
        for message in messages:
            _note(message)
    return X, names


def _read_npy(path, *, dtype):
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise CLIError(f"{path}: cannot read it as a .npy array ({_one_line(exc)})") from None
    if not isinstance(X, np.ndarray):
        raise CLIError(f"{path}: not a .npy array")
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (samples x features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}")
    if X.size == 0:
        raise CLIError(f"{path}: empty array of shape {X.shape}")
    if dtype is not None and X.dtype != dtype:
        X = np.asarray(X, dtype=dtype)
    return X, None


def _check_data_path(source):
    if source == "-":
        return
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in (".csv", ".npy"):
        raise UsageError(f"{source}: unsupported data file type {suffix or '(none)'!r}; use .csv, .npy or - (CSV on stdin)")


def _check_output_path(path, option):
    """Fail before any work when `path` cannot be written (no such folder)."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path}: is a directory")
    if not os.path.isdir(directory):
        raise CLIError(f"{option} {path}: no such directory {directory}")


def _read_data(source, *, on_missing="skip", float32=False, notes=True, delimiter=None,
               decimal=None, header=None, engine=None):
    """Read DATA (a .csv path, a .npy path or ``-``); return ``(X, feature_names)``.

    The CSV options (`delimiter`, `decimal`, `header`, `engine`) are those
    of ``_read_csv``; a ``.npy`` file ignores them.
    """
    _check_data_path(source)
    csv_options = dict(on_missing=on_missing, dtype=np.float32 if float32 else np.float64,
                       notes=notes, delimiter=delimiter, decimal=decimal, header=header,
                       engine=engine)
    if source == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
        return _read_csv(stream, "<stdin>", **csv_options)
    if source.lower().endswith(".npy"):
        return _read_npy(source, dtype=np.float32 if float32 else None)
    with open(source, encoding="utf-8-sig") as stream:
        size = os.fstat(stream.fileno()).st_size
        return _read_csv(stream, source, size_hint=size, **csv_options)


def _csv_options(args):
    """The CSV reading options of a subcommand's parsed arguments."""
    return dict(delimiter=args.delimiter, decimal=args.decimal, header=args.header)


def _delimiter(text):
    value = {"tab": "\t", "\\t": "\t", "space": _csv.WHITESPACE, " ": _csv.WHITESPACE,
             "whitespace": _csv.WHITESPACE}.get(text, text)
    if value not in (",", ";", "\t", "|", ":", _csv.WHITESPACE):
        raise argparse.ArgumentTypeError(
            f"expected ',', ';', tab, '|', ':' or whitespace, got {text!r}")
    return value


def _add_csv_arguments(parser):
    group = parser.add_argument_group("CSV options", _wrap(
        "How a CSV file is read. Each is detected when not given; a file the detection "
        "cannot settle is refused with a message naming the option to pass."))
    group.add_argument("--delimiter", type=_delimiter, metavar="SEP",
                       help="field separator: ',', ';', tab, '|', ':' or whitespace (runs of "
                            "spaces and tabs) (default: detected among ',', ';', tab, "
                            "whitespace)")
    group.add_argument("--decimal", choices=(".", ","), metavar="MARK",
                       help="decimal mark, '.' or ',' (default: '.'; a column of numbers "
                            "with decimal commas is refused, naming this option)")
    group.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                       help="whether the first row holds column names (default: detected: "
                            "a first row without numbers is a header, one whose text is "
                            "only in text columns is data; pass --header for numeric names)")


def _usable_names(names, source, notes=True):
    """Column names to store in a model: unique and non-empty, else ``None`` (noted)."""
    if names is None:
        return None
    if all(names) and len(set(names)) == len(names):
        return names
    if notes:
        problem = "an empty name" if not all(names) else "a repeated name"
        _note(f"{source}: column names not stored in the model ({problem} in the header)")
    return None


# ---------------------------------------------------------------------------
# Models


def _load_model(path):
    from .._io import _load

    return _load(path)


def _check_n_features(model, X, model_path, data):
    if X.shape[1] != model.n_features_in_:
        name = "<stdin>" if data == "-" else data
        raise CLIError(
            f"{name} has {X.shape[1]} feature column{'s' if X.shape[1] != 1 else ''} but "
            f"the model {model_path} expects {model.n_features_in_}"
        )


def _names_text(names, limit=6):
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _match_columns(model, X, names, model_path, data):
    """DATA's columns in the model's order, checked by name when both have names.

    A model fitted on named columns (``feature_names_in_``) and DATA with a
    header: the same names in the same order are used as they are; the same
    names in another order are reordered to the model's (noted on stderr);
    other names are refused, listing the differences. Without a header, the
    columns are taken in order (noted on stderr when the model has names).
    Otherwise only the number of columns is checked.
    """
    source = "<stdin>" if data == "-" else data
    expected = getattr(model, "feature_names_in_", None)
    if expected is None or names is None:
        _check_n_features(model, X, model_path, data)
        if expected is not None:
            what = "header" if data.lower().endswith(".csv") or data == "-" else "column names"
            _note(f"{source} has no {what}; its columns are taken in order as the model's "
                  f"{_names_text(list(expected))}")
        return X
    expected = [str(n) for n in expected]
    if names == expected:
        return X
    if sorted(names) == sorted(expected) and len(set(names)) == len(names):
        order = [names.index(n) for n in expected]
        _note(f"{source}: columns reordered by name to the model's order "
              f"{_names_text(expected)}")
        return np.ascontiguousarray(X[:, order])
    absent = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    differences = []
    if absent:
        differences.append(f"missing {_names_text(absent)}")
    if extra:
        differences.append(f"not in the model {_names_text(extra)}")
    if not differences:
        differences.append("repeated names")
    raise CLIError(
        f"{source}: column names differ from those the model {model_path} was fitted on: "
        f"{'; '.join(differences)} (the model's columns: {_names_text(expected)})")


@contextlib.contextmanager
def _columns_checked():
    """Silence the estimator's feature-name warning: ``_match_columns`` did the check."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names", category=UserWarning)
        yield


def _covariance_matrices(model):
    """Covariances as an array of shape (n_components, n_features, n_features)."""
    n_components, n_features = model.means_.shape
    cov = np.asarray(model.covariances_, dtype=np.float64)
    if model.covariance_type == "full":
        return cov
    if model.covariance_type == "tied":
        return np.broadcast_to(cov, (n_components, n_features, n_features))
    if model.covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(n_features) * c for c in cov])


def _format_components(model, feature_names=None):
    """The fitted components as a readable table, one block per component."""
    n_components, n_features = model.means_.shape
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(n_features)]
    label_width = 14

    cov = np.asarray(model.covariances_, dtype=np.float64)
    magnitudes = np.abs(np.concatenate([np.ravel(model.means_), cov.ravel()]))
    magnitudes = magnitudes[magnitudes > 0]
    fixed = magnitudes.size == 0 or (magnitudes.min() >= 1e-3 and magnitudes.max() < 1e7)
    spec = ".4f" if fixed else ".4e"
    longest = max(len(f"{v:{spec}}") for v in np.concatenate([np.ravel(model.means_), cov.ravel()]))
    width = max(10, longest + 2, *(len(n) + 2 for n in feature_names))

    def row(label, values):
        cells = "".join(f"{v:>{width}{spec}}" for v in values)
        return f"  {label:<{label_width}}{cells}"

    header = "  " + " " * label_width + "".join(f"{n:>{width}}" for n in feature_names)
    wide = n_features > MAX_PRINTED_FEATURES
    lines = []
    for k in range(n_components):
        lines.append(f"component {k}   weight {model.weights_[k]:.4f}")
        if wide:
            lines.append(f"  mean  {np.array2string(np.asarray(model.means_[k]), precision=4)}")
            continue
        lines.append(header)
        lines.append(row("mean", model.means_[k]))
        if model.covariance_type == "full":
            for i in range(n_features):
                lines.append(row("covariance" if i == 0 else "", cov[k, i]))
        elif model.covariance_type == "diag":
            lines.append(row("variance", cov[k]))
        elif model.covariance_type == "spherical":
            lines.append(f"  {'variance':<{label_width}}{cov[k]:>{width}{spec}} (every feature)")
        if model.covariance_type != "tied":
            lines.append(row("std. dev.", np.sqrt(np.diagonal(_covariance_matrices(model)[k]))))
    if wide:
        lines.append(
            f"  (covariances not shown for {n_features} features; load the model "
            "in Python: fastgmm.load(path).covariances_)"
        )
    elif model.covariance_type == "tied":
        lines.append("covariance shared by all components (tied)")
        lines.append(header)
        for i in range(n_features):
            lines.append(row("covariance" if i == 0 else "", cov[i]))
        lines.append(row("std. dev.", np.sqrt(np.diagonal(cov))))
    return "\n".join(lines)


class _ProgressBar:
    """EM progress drawn on a terminal by the estimator's callback.

    Nothing is drawn for the first `delay` seconds, so short fits stay
    quiet; a fit still initialising (or compiling its kernels) by then
    shows a "starting" line, drawn by a timer thread. Then the callback
    redraws the bar at most every `interval` seconds. The bar fills with the
    iterations done out of ``n_init * max_iter``, an upper bound, since EM
    usually converges sooner. ``close`` erases it; call it before printing.
    """

    def __init__(self, stream, max_iter, n_init, delay=0.5, interval=0.1, width=30):
        self.stream = stream
        self.max_iter = max(1, max_iter)
        self.n_init = n_init
        self.delay = delay
        self.interval = interval
        self.width = width
        self.start = time.perf_counter()
        self.last_draw = -math.inf
        self.init = 1
        self.previous_iter = 0
        self.drawn_width = 0
        self.lock = threading.Lock()
        self.closed = False
        self.timer = threading.Timer(delay, self._draw_starting)
        self.timer.daemon = True
        self.timer.start()

    def _draw(self, text):
        self.stream.write("\r" + text.ljust(self.drawn_width))
        self.stream.flush()
        self.drawn_width = len(text)

    def _draw_starting(self):
        with self.lock:
            if not self.closed and not self.drawn_width:
                self._draw(f"fitting [{'-' * self.width}] initialising...")

    def __call__(self, n_iter, lower_bound):
        if n_iter <= self.previous_iter:
            self.init += 1
        self.previous_iter = n_iter
        now = time.perf_counter()
        if now - self.start < self.delay or now - self.last_draw < self.interval:
            return False
        self.last_draw = now
        done = min(1.0, ((self.init - 1) * self.max_iter + n_iter) / (self.n_init * self.max_iter))
        filled = int(round(self.width * done))
        bar = "#" * filled + "-" * (self.width - filled)
        init = f" init {self.init}/{self.n_init}" if self.n_init > 1 else ""
        with self.lock:
            if not self.closed:
                self._draw(
                    f"fitting [{bar}]{init} iteration {n_iter}/{self.max_iter} "
                    f"lower bound {lower_bound:.6g}  {now - self.start:.1f} s"
                )
        return False

    def close(self):
        self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.drawn_width:
                self.stream.write("\r" + " " * self.drawn_width + "\r")
                self.stream.flush()
                self.drawn_width = 0


def _fit_collecting_warnings(model, X):
    """Fit `model`; return its warnings (non-convergence) as distinct messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X)
    messages = []
    for w in caught:
        message = _one_line(w.message)
        if message not in messages:
            messages.append(message)
    return messages


# ---------------------------------------------------------------------------
# demo

_DEMO_FEATURES = ["eruption", "waiting"]


def _add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="fit the Old Faithful geyser data and show the EM iterations (the default)",
        description=_wrap(
            "Fit a 2-component Gaussian mixture (full covariance, random_state=0) to "
            "the Old Faithful geyser data shipped with fastgmm: 272 eruptions, each "
            "with its duration and the waiting time to the next eruption, in minutes. "
            "Prints the mean log-likelihood per sample after each EM iteration, the "
            "fitted components, the BIC and the wall time of the fit."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} demo\n"
            f"  {PROG} demo --plot faithful.png    also draw the data, the 2-sigma ellipses\n"
            "                                      of the components at iterations 1, 2, 3, 5\n"
            "                                      and the last, and the density contours\n"
            "                                      (needs matplotlib)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a figure of the EM iterations (any format matplotlib writes: .png, .pdf, .svg)",
    )
    parser.set_defaults(func=_cmd_demo)


def _require_matplotlib(plot_path):
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed "
            "(pip install matplotlib, or pip install 'fastgmm[plot]')"
        ) from None
    suffix = os.path.splitext(plot_path)[1].lower().lstrip(".")
    supported = FigureCanvasBase.get_supported_filetypes()
    if suffix not in supported:
        raise UsageError(
            f"--plot {plot_path}: unsupported image type {suffix or '(none)'!r}; "
            f"use one of {', '.join('.' + s for s in sorted(supported))}"
        )


def _cmd_demo(args):
    if args.plot:
        _require_matplotlib(args.plot)
        _check_output_path(args.plot, "--plot")
    from ..datasets import load_old_faithful
    from ..gaussian_mixture import GaussianMixture

    X = load_old_faithful()
    params = dict(n_components=2, covariance_type="full", random_state=0)
    print(
        f"Old Faithful geyser: {X.shape[0]} eruptions; eruption duration and waiting "
        "time to the next eruption, in minutes."
    )
    print("Fitting a Gaussian mixture: 2 components, full covariance, random_state=0.")
    print()
    print("  iteration   log-likelihood per sample        change")
    previous = [None]

    def callback(n_iter, lower_bound):
        change = "" if previous[0] is None else f"{lower_bound - previous[0]:14.3e}"
        previous[0] = lower_bound
        print(f"  {n_iter:9d}   {lower_bound:25.6f}{change}", flush=True)
        return False

    model = GaussianMixture(**params, callback=callback)
    start = time.perf_counter()
    for message in _fit_collecting_warnings(model, X):
        _warning(message)
    elapsed = time.perf_counter() - start
    model.callback = None
    status = "converged" if model.converged_ else "stopped without converging"
    print(f"{status} after {model.n_iter_} iterations (tol {model.tol:g})")
    print()
    print(_format_components(model, ["eruption (min)", "waiting (min)"]))
    print()
    print(f"BIC       {model.bic(X):.2f}   (lower is better)")
    print(f"wall time {elapsed:.3f} s   (fit, including the per-iteration printing; the "
          "first run also compiles the kernels, cached on disk for later runs)")
    if args.plot:
        _plot_demo(args.plot, X, model, GaussianMixture, params)
        print(f"figure saved to {args.plot}")
    return EXIT_OK


def _ellipse(mean, cov, n_std, **kwargs):
    """A matplotlib Ellipse covering `n_std` standard deviations of a 2-D Gaussian."""
    from matplotlib.patches import Ellipse

    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    major = eigenvectors[:, 1]
    angle = math.degrees(math.atan2(major[1], major[0]))
    width, height = 2 * n_std * np.sqrt(np.maximum(eigenvalues[::-1], 0.0))
    return Ellipse(mean, width, height, angle=angle, fill=False, **kwargs)


def _plot_demo(path, X, model, estimator, params):
    """Data, component ellipses at several EM iterations, density contours."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    last = model.n_iter_
    iterations = sorted({i for i in (1, 2, 3, 5) if i < last} | {last})
    snapshots = []
    for n_iter in iterations[:-1]:
        # Same random_state, same initialisation: EM stopped after n_iter steps.
        partial = estimator(**params, max_iter=n_iter)
        _fit_collecting_warnings(partial, X)
        snapshots.append((n_iter, partial))
    snapshots.append((last, model))

    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(X[:, 0], X[:, 1], s=12, color="0.35", alpha=0.6, linewidths=0)

    pad_x, pad_y = 0.15 * np.ptp(X[:, 0]), 0.15 * np.ptp(X[:, 1])
    xs = np.linspace(X[:, 0].min() - pad_x, X[:, 0].max() + pad_x, 200)
    ys = np.linspace(X[:, 1].min() - pad_y, X[:, 1].max() + pad_y, 200)
    xx, yy = np.meshgrid(xs, ys)
    density = np.exp(model.score_samples(np.column_stack([xx.ravel(), yy.ravel()])))
    contour_color = "tab:blue"
    ax.contour(xx, yy, density.reshape(xx.shape), levels=8, colors=contour_color,
               linewidths=0.7, alpha=0.6)

    from matplotlib import colormaps

    cmap = colormaps["plasma"]
    handles = [
        Line2D([], [], ls="none", marker="o", ms=4, color="0.35", alpha=0.6,
               label=f"eruptions (n={X.shape[0]})"),
        Line2D([], [], color=contour_color, lw=0.7, alpha=0.6,
               label="density of the fitted mixture"),
    ]
    for i, (n_iter, snapshot) in enumerate(snapshots):
        final = i == len(snapshots) - 1
        color = cmap(0.85 * i / max(1, len(snapshots) - 1))
        style = dict(color=color, lw=2.2 if final else 1.2, ls="-" if final else "--")
        for mean, cov in zip(snapshot.means_, _covariance_matrices(snapshot)):
            ax.add_patch(_ellipse(mean, cov, 2.0, edgecolor=color, lw=style["lw"], ls=style["ls"]))
        ax.plot(snapshot.means_[:, 0], snapshot.means_[:, 1], ls="none", marker="x",
                color=color, ms=7 if final else 5)
        label = f"2\u03c3 ellipses, iteration {n_iter}" + (" (final)" if final else "")
        handles.append(Line2D([], [], marker="x", **style, label=label))

    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_title("Old Faithful: EM fit of a 2-component Gaussian mixture (fastgmm)")
    ax.set_xlabel("eruption duration (min)")
    ax.set_ylabel("waiting time to the next eruption (min)")
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------------
# fit


def _add_fit(subparsers):
    parser = subparsers.add_parser(
        "fit",
        help="fit a mixture to a data file and save the model",
        description=_wrap(
            "Fit a Gaussian mixture with K components to DATA by EM and save it to "
            "MODEL.npz. Prints a summary: iterations, convergence, lower bound "
            "(mean log-likelihood per sample) and BIC. On a terminal, a progress "
            "bar on stderr follows fits that take longer than half a second."
        ),
        epilog=(
            f"{_DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} fit data.csv -k 3 -o model.npz\n"
            f"  {PROG} fit data.csv -k 3 --n-init 5 --random-state 0 -o model.npz\n"
            f"  {PROG} fit big.npy -k 16 --covariance-type diag --float32 --threads 2 -o big.npz\n"
            f"  generate_data | {PROG} fit - -k 2 --quiet -o model.npz"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("-k", "--n-components", metavar="K", type=_positive_int, required=True,
                        help="number of mixture components")
    parser.add_argument("-o", "--output", metavar="MODEL.npz", required=True,
                        help="model file to write (replaced if it exists)")
    parser.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full",
                        help="form of the component covariances (default: %(default)s)")
    parser.add_argument("--max-iter", type=_nonnegative_int, default=100, metavar="N",
                        help="most EM iterations per initialisation (default: %(default)s)")
    parser.add_argument("--tol", type=_nonnegative_float, default=1e-3,
                        help="stop when the lower bound gains less than this (default: %(default)s)")
    parser.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                        help="initialisations to try, keeping the best (default: %(default)s)")
    parser.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans",
                        help="how to initialise (default: %(default)s)")
    parser.add_argument("--random-state", type=_int, default=None, metavar="SEED",
                        help="seed for a reproducible fit (default: a fresh seed each run)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="threads to use (default: all cores)")
    parser.add_argument("--float32", action="store_true",
                        help="fit in single precision: half the memory, faster")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing but errors and warnings: no summary, notes or progress bar")
    _add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_fit)


def _cmd_fit(args):
    from .._io import save_model
    from ..gaussian_mixture import GaussianMixture

    _check_output_path(args.output, "-o")
    X, names = _read_data(args.data, on_missing="skip", float32=args.float32,
                          notes=not args.quiet, **_csv_options(args))
    source = "<stdin>" if args.data == "-" else args.data
    names = _usable_names(names, source, notes=not args.quiet)
    progress = None
    if not args.quiet and sys.stderr.isatty():
        progress = _ProgressBar(sys.stderr, args.max_iter, args.n_init)
    model = GaussianMixture(
        n_components=args.n_components,
        covariance_type=args.covariance_type,
        tol=args.tol,
        max_iter=args.max_iter,
        n_init=args.n_init,
        init_params=args.init_params,
        random_state=args.random_state,
        n_threads=args.threads,
        callback=progress,
    )
    start = time.perf_counter()
    try:
        messages = _fit_collecting_warnings(model, X)
    finally:
        if progress is not None:
            progress.close()
    elapsed = time.perf_counter() - start
    for message in messages:
        _warning(message)
    model.callback = None
    bic = None if args.quiet else model.bic(X)
    if names is not None:
        # The header's names, checked by predict and score (scikit-learn's
        # feature_names_in_, stored in the model file).
        model.feature_names_in_ = np.asarray(names, dtype=object)
    save_model(model, args.output)
    if not args.quiet:
        print(f"data         {source}: {X.shape[0]} samples x {X.shape[1]} features ({X.dtype})")
        print(f"model        {model.n_components} components, {model.covariance_type} covariance")
        print(f"n_iter       {model.n_iter_}")
        print(f"converged    {'yes' if model.converged_ else 'no'}")
        print(f"lower bound  {model.lower_bound_:.6f} (mean log-likelihood per sample)")
        print(f"BIC          {bic:.6g}")
        print(f"wall time    {elapsed:.3f} s")
        print(f"saved to     {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# predict


def _add_predict(subparsers):
    parser = subparsers.add_parser(
        "predict",
        help="label data with a saved model (or give component probabilities)",
        description=_wrap(
            "Write the most likely component (0 to K-1) of each row of DATA under the "
            "model in MODEL.npz, or with --proba the probability of each component, "
            "one output row per input row. CSV output has a header line: 'label', or "
            "'proba_0,...,proba_<K-1>'."
        ),
        epilog=(
            f"{_DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} predict model.npz data.csv               labels, CSV on stdout\n"
            f"  {PROG} predict model.npz data.csv -o labels.npy\n"
            f"  {PROG} predict model.npz new.npy --proba -o proba.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("--proba", action="store_true",
                        help="write component probabilities instead of labels")
    parser.add_argument("-o", "--output", metavar="OUT.csv|OUT.npy",
                        help="file to write (default: CSV on stdout)")
    _add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_predict)


def _write_csv(stream, header, values):
    stream.write(",".join(header) + "\n")
    if values.ndim == 1:
        stream.writelines(f"{v}\n" for v in values.tolist())
    else:
        stream.writelines(",".join(map(repr, row)) + "\n" for row in values.tolist())


def _cmd_predict(args):
    if args.output is not None:
        suffix = os.path.splitext(args.output)[1].lower()
        if suffix not in (".csv", ".npy"):
            raise UsageError(f"-o {args.output}: unsupported output file type {suffix or '(none)'!r}; use .csv or .npy")
        _check_output_path(args.output, "-o")
    _check_data_path(args.data)
    model, _ = _load_model(args.model)
    X, names = _read_data(args.data, on_missing="error", **_csv_options(args))
    X = _match_columns(model, X, names, args.model, args.data)
    with _columns_checked():
        if args.proba:
            values = model.predict_proba(X)
            header = [f"proba_{k}" for k in range(values.shape[1])]
        else:
            values = np.asarray(model.predict(X), dtype=np.int64)
            header = ["label"]
    if args.output is None:
        _write_csv(sys.stdout, header, values)
    elif args.output.lower().endswith(".npy"):
        np.save(args.output, values, allow_pickle=False)
    else:
        with open(args.output, "w", newline="") as f:
            _write_csv(f, header, values)
    return EXIT_OK


# ---------------------------------------------------------------------------
# score


def _add_score(subparsers):
    parser = subparsers.add_parser(
        "score",
        help="mean log-likelihood of data under a saved model",
        description=_wrap(
            "Print the mean log-likelihood per sample of DATA under the model in "
            "MODEL.npz (GaussianMixture.score), a single number."
        ),
        epilog=(
            f"{_DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} score model.npz test.csv\n"
            f"  cat test.csv | {PROG} score model.npz -"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    _add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_score)


def _cmd_score(args):
    _check_data_path(args.data)
    model, _ = _load_model(args.model)
    X, names = _read_data(args.data, on_missing="skip", **_csv_options(args))
    X = _match_columns(model, X, names, args.model, args.data)
    with _columns_checked():
        score = model.score(X)
    print(repr(float(score)))
    return EXIT_OK


# ---------------------------------------------------------------------------
# info


def _add_info(subparsers):
    parser = subparsers.add_parser(
        "info",
        help="show a saved model's hyper-parameters and fitted parameters",
        description=_wrap(
            "Print what MODEL.npz holds: the file format version and the fastgmm "
            "version that wrote it, the hyper-parameters, the fit (iterations, "
            "convergence, lower bound) and each component's weight, mean and "
            "covariance."
        ),
        epilog=f"example:\n  {PROG} info model.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.set_defaults(func=_cmd_info)


def _cmd_info(args):
    model, file_info = _load_model(args.model)
    print(f"model file   {args.model}")
    print(
        f"format       version {file_info['format_version']}, written by fastgmm "
        f"{file_info['fastgmm_version']}"
    )
    print()
    print("hyper-parameters")
    params = model.get_params(deep=False)
    width = max(len(name) for name in params)
    for name, value in sorted(params.items()):
        if isinstance(value, np.ndarray):
            value = f"array of shape {value.shape}"
        print(f"  {name:<{width}}  {value}")
    print()
    print("fit")
    n_components, n_features = model.means_.shape
    print(f"  n_features_in_  {n_features}")
    print(f"  dtype           {model.means_.dtype}")
    print(f"  converged_      {model.converged_}")
    print(f"  n_iter_         {model.n_iter_}")
    print(f"  lower_bound_    {model.lower_bound_:.6f} (mean log-likelihood per sample)")
    print()
    names = list(getattr(model, "feature_names_in_", [])) or None
    print(_format_components(model, names))
    return EXIT_OK


# ---------------------------------------------------------------------------
# select


def _k_values(text):
    """``1..10``, ``3``, ``2,4,8`` or a mix (``1..4,8``) as a sorted list of ints."""
    values = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("..")
        try:
            low = int(low)
            high = int(high) if sep else low
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected K, K1..K2 or a comma-separated list of them, got {text!r}") from None
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"expected positive K with K1 <= K2 in K1..K2, got {text!r}")
        values.update(range(low, high + 1))
    return sorted(values)


def _covariance_type_list(text):
    """``all`` or a comma-separated list of covariance types."""
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    values = [t.strip() for t in text.split(",")]
    unknown = [t for t in values if t not in COVARIANCE_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {unknown[0]!r}; use all or a comma-separated list "
            f"of {', '.join(COVARIANCE_TYPES)}")
    return list(dict.fromkeys(values))


def _add_select(subparsers):
    parser = subparsers.add_parser(
        "select",
        help="choose the number of components and the covariance type by BIC, AIC or ICL",
        description=_wrap(
            "Fit a Gaussian mixture to DATA for every number of components in K and "
            "every covariance type, and print a table of the criterion (lower is "
            "better; the best is marked *, a fit that did not converge !) and the "
            "chosen model (fastgmm.select_model). The starts are shared across "
            "covariance types. R's mclust prints BIC with the opposite sign."
        ),
        epilog=(
            f"{_DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} select data.csv -k 1..9\n"
            f"  {PROG} select data.csv -k 1..6 --covariance-type full,diag --criterion icl\n"
            f"  {PROG} select big.npy -k 2,4,8,16 --n-init 3 --random-state 0 -o best.npz"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("-k", "--n-components", metavar="K", type=_k_values,
                        default=_k_values("1..10"),
                        help="numbers of components to try: K, K1..K2 or a comma-separated "
                             "list of them (default: 1..10)")
    parser.add_argument("--covariance-type", metavar="TYPES", type=_covariance_type_list,
                        default=list(COVARIANCE_TYPES),
                        help="'all' or a comma-separated list of full, tied, diag, spherical "
                             "(default: all)")
    parser.add_argument("--criterion", choices=("bic", "aic", "icl"), default="bic",
                        help="what to minimise (default: %(default)s)")
    parser.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                        help="initialisations per model, keeping the best (default: %(default)s)")
    parser.add_argument("--random-state", type=_int, default=None, metavar="SEED",
                        help="seed for a reproducible selection (default: a fresh seed each run)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="threads to use (default: all cores)")
    parser.add_argument("-o", "--output", metavar="MODEL.npz",
                        help="also save the chosen model (replaced if it exists)")
    _add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_select)


def _cmd_select(args):
    from .._io import save_model
    from ..exceptions import ConvergenceWarning, FitFailedWarning
    from ..model_selection import select_model

    if args.output is not None:
        _check_output_path(args.output, "-o")
    X, names = _read_data(args.data, on_missing="skip", **_csv_options(args))
    source = "<stdin>" if args.data == "-" else args.data
    if args.output is not None:
        names = _usable_names(names, source)
    if args.n_components[-1] > X.shape[0]:
        raise UsageError(
            f"-k: {args.n_components[-1]} components for {X.shape[0]} samples; "
            "K can be at most the number of samples")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selection = select_model(
            X, n_components=args.n_components, covariance_types=args.covariance_type,
            criterion=args.criterion, n_init=args.n_init, random_state=args.random_state,
            n_threads=args.threads,
        )
    elapsed = time.perf_counter() - start
    messages = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            continue  # marked ! in the table
        message = _one_line(w.message)
        if issubclass(w.category, FitFailedWarning):
            message = message.removeprefix("select_model: ")
        if message not in messages:
            messages.append(message)
    for message in messages:
        _warning(message)
    best = selection.best_
    value = selection.results_[args.criterion][selection._ranked()[0]]
    print(f"data     {source}: {X.shape[0]} samples x {X.shape[1]} features ({X.dtype})")
    print()
    print(selection)
    print()
    print(f"chosen   {best.n_components} components, {best.covariance_type} covariance "
          f"({args.criterion.upper()} {value:.3f}; n_iter {best.n_iter_}, "
          f"{'converged' if best.converged_ else 'not converged'}, random_state "
          f"{best.random_state})")
    print(f"time     {elapsed:.3f} s for {selection.results_.shape[0]} models")
    if args.output is not None:
        if names is not None:
            best.feature_names_in_ = np.asarray(names, dtype=object)
        save_model(best, args.output)
        print(f"saved to {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# main

def _add_bench(subparsers):
    from .. import bench

    parser = subparsers.add_parser(
        "bench", help="time EM iterations against scikit-learn",
        description="Time per EM iteration of fastgmm against the installed peers "
                    "(scikit-learn), from the same start with a fixed number of "
                    "iterations. Prints the median ms per iteration, the ratio to "
                    "fastgmm's time, and how far each final lower bound is from "
                    "fastgmm's (a check that the same computation was timed). "
                    "Shapes: a = N 1e6, d 2, K 8, full; b = N 2e5, d 16, K 16, full; "
                    "c = N 1e5, d 64, K 32, diag.",
    )
    bench.add_arguments(parser)
    parser.set_defaults(func=_cmd_bench)


def _cmd_bench(args):
    from .. import bench

    return bench.run_from_args(args)


_SUBCOMMANDS = (_add_demo, _add_fit, _add_predict, _add_score, _add_info, _add_select,
                _add_bench)


def build_parser():
    """The argument parser of the ``fastgmm`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        With one subparser per entry of ``_SUBCOMMANDS``; each sets
        ``func``, the function that runs it.
    """
    from .._io import _fastgmm_version

    parser = _Parser(
        prog=PROG,
        description=_MAIN_DESCRIPTION,
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_fastgmm_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Run the ``fastgmm`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name (default: ``sys.argv[1:]``).
        No arguments runs ``demo``.

    Returns
    -------
    status : int
        0 on success, 1 on a runtime error (bad file, bad data), 2 on a
        usage error, 130 when interrupted. Errors are printed as one line
        on stderr.

    Examples
    --------
    >>> main(["--version"])
    fastgmm 0.1.0.dev0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["demo"]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error("no command given")
        return args.func(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else EXIT_RUNTIME
    except UsageError as exc:
        _error(exc)
        return EXIT_USAGE
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # The reader of stdout went away (``| head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_RUNTIME
        if exc.filename is not None and exc.strerror:
            _error(f"{exc.filename}: {exc.strerror}")
        else:
            _error(exc)
        return EXIT_RUNTIME
    except (CLIError, ValueError, MemoryError) as exc:
        _error(exc if str(exc) else type(exc).__name__)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print(file=sys.stderr)
        _error("interrupted")
        return EXIT_INTERRUPTED


def _error(message):
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
