"""Reading DATA (a CSV file, a ``.npy`` file or stdin) and matching its columns to a model's.

The CSV parsing itself is :mod:`fastgmm.cli._csv`.
"""

import contextlib
import io
import os
import sys
import warnings

import numpy as np

from . import _csv
from .messages import CLIError, UsageError, note, one_line


def read_csv(stream, name, *, on_missing, dtype, notes, delimiter=None, decimal=None,
             header=None, engine=None, size_hint=None):
    """Numeric columns of a CSV stream as an array; see ``DATA_HELP``.

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
            note(message)
    return X, names


def _read_npy(path, *, dtype):
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise CLIError(f"{path}: cannot read it as a .npy array ({one_line(exc)})") from None
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


def check_data_path(source):
    if source == "-":
        return
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in (".csv", ".npy"):
        raise UsageError(f"{source}: unsupported data file type {suffix or '(none)'!r}; use .csv, .npy or - (CSV on stdin)")


def check_output_path(path, option):
    """Fail before any work when `path` cannot be written (no such folder)."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path}: is a directory")
    if not os.path.isdir(directory):
        raise CLIError(f"{option} {path}: no such directory {directory}")


def read_data(source, *, on_missing="skip", float32=False, notes=True, delimiter=None,
              decimal=None, header=None, engine=None):
    """Read DATA (a .csv path, a .npy path or ``-``); return ``(X, feature_names)``.

    The CSV options (`delimiter`, `decimal`, `header`, `engine`) are those
    of ``read_csv``; a ``.npy`` file ignores them.
    """
    check_data_path(source)
    csv_options = dict(on_missing=on_missing, dtype=np.float32 if float32 else np.float64,
                       notes=notes, delimiter=delimiter, decimal=decimal, header=header,
                       engine=engine)
    if source == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
        return read_csv(stream, "<stdin>", **csv_options)
    if source.lower().endswith(".npy"):
        return _read_npy(source, dtype=np.float32 if float32 else None)
    with open(source, encoding="utf-8-sig") as stream:
        size = os.fstat(stream.fileno()).st_size
        return read_csv(stream, source, size_hint=size, **csv_options)


def usable_names(names, source, notes=True):
    """Column names to store in a model: unique and non-empty, else ``None`` (noted)."""
    if names is None:
        return None
    if all(names) and len(set(names)) == len(names):
        return names
    if notes:
        problem = "an empty name" if not all(names) else "a repeated name"
        note(f"{source}: column names not stored in the model ({problem} in the header)")
    return None


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


def match_columns(model, X, names, model_path, data):
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
            note(f"{source} has no {what}; its columns are taken in order as the model's "
                  f"{_names_text(list(expected))}")
        return X
    expected = [str(n) for n in expected]
    if names == expected:
        return X
    if sorted(names) == sorted(expected) and len(set(names)) == len(names):
        order = [names.index(n) for n in expected]
        note(f"{source}: columns reordered by name to the model's order "
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
def columns_checked():
    """Silence the estimator's feature-name warning: ``match_columns`` did the check."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names", category=UserWarning)
        yield
