"""Model files: the state of a fitted mixture saved as a plain ``.npz`` archive.

This module reads and writes a *state*: a dict holding the hyper-parameters
(``"params"``, as ``get_params()``) and the fitted attributes by name
(:func:`write_model_state`, :func:`read_model_state`). It never builds an
estimator: ``fastgmm.load`` does, from the state read here.

A model file is a zip of ``.npy`` arrays written by :func:`numpy.savez`:
it holds numbers and strings only, never pickled Python objects, so loading
a file from an untrusted source cannot run code, and the reader (see
"Reading" below) bounds the memory it takes. A file that is not a model
file, is truncated or corrupt, lacks an entry, has an entry of the wrong
shape, dtype or value, or was written by a newer fastgmm raises a
``ValueError`` that names the file and the problem.

Layout, format version 1
------------------------
With ``K = n_components`` and ``D = n_features_in_``; every entry is
required unless marked optional.

=========================  ==============  =====================================
entry                      dtype           shape
=========================  ==============  =====================================
``format_version``         int64           ``()``, currently 1
``fastgmm_version``        str             ``()``, the version that wrote it
``params``                 str             ``()``, ``get_params()`` as a JSON
                                           object (see below)
``weights_init``           float           ``(K,)``, optional
``means_init``             float           ``(K, D)``, optional
``precisions_init``        float           as ``precisions_``, optional
``weights_``               float           ``(K,)``
``means_``                 float           ``(K, D)``
``covariances_``           float           full ``(K, D, D)``, tied ``(D, D)``,
                                           diag ``(K, D)``, spherical ``(K,)``
``precisions_``            float           as ``covariances_``
``precisions_cholesky_``   float           as ``covariances_``
``converged_``             bool            ``()``
``n_iter_``                int64           ``()``
``lower_bound_``           float           ``()``
``lower_bounds_``          float           ``(n,)``, one per EM iteration of
                                           the best initialisation
``n_features_in_``         int64           ``()``
``feature_names_in_``      str             ``(D,)``, optional, present when
                                           the model was fitted on a DataFrame
``degenerate_events_``     str             ``()``, optional: the list of
                                           dicts as a JSON array, present when
                                           not empty
``estimator``              str             ``()``, optional: the estimator's
                                           class name; absent means
                                           ``GaussianMixture``
=========================  ==============  =====================================

An estimator other than ``GaussianMixture`` names further float entries of
its own (its class attribute ``_file_entry_names`` and classmethod
``_file_entries``, which gives their shapes; hyper-parameters that are
arrays, its ``_file_param_arrays``, are stored like the ``*_init`` arrays).
``BayesianGaussianMixture`` stores ``weight_concentration_`` (``(2, K)`` for
the Dirichlet process, ``(K,)`` otherwise), ``mean_precision_`` ``(K,)``,
``degrees_of_freedom_`` (``(K,)``, ``()`` for tied), ``mean_prior_``
``(D,)``, ``covariance_prior_`` (one component's covariance shape),
``weight_concentration_prior_``, ``mean_precision_prior_`` and
``degrees_of_freedom_prior_`` ``()``, and ``mean_prior`` /
``covariance_prior`` when given as arrays. A reader that does not know the
estimator refuses its hyper-parameters.

"float" is float32 or float64: fitted arrays and lower bounds keep the
dtype of the model (that of the data it was fitted on) and are stored
exactly, so a loaded model predicts bit-identically to the saved one.
``lower_bound_`` is loaded as a NumPy scalar and ``lower_bounds_`` as a list
of NumPy scalars of that dtype.

``params`` holds every hyper-parameter of ``get_params()`` that JSON can
represent (numbers, strings, booleans, ``None``), except:

* ``weights_init``, ``means_init`` and ``precisions_init``: stored as the
  arrays above when they are not ``None``, left out otherwise;
* ``callback``: never stored (a function cannot be stored without pickle);
  the loaded model has ``callback=None``;
* ``random_state``: stored when it is ``None`` or an int; a
  ``RandomState`` or ``Generator`` instance is stored as ``null``, so the
  loaded model has ``random_state=None``.

``feature_names_in_`` is written when the model has that attribute (an
array of ``str``, one per feature, as scikit-learn sets it) and loaded as an
object array of ``str``.

A reader accepts files with ``format_version`` up to its own and refuses
newer ones, asking for an upgrade. The format version changes only when an
older fastgmm could no longer read new files correctly; a newer fastgmm may
add optional entries within a version, so a reader ignores members whose
names are not entries of the layout, without reading them.

Reading
-------
The reader opens the zip itself and reads only the members named
``<entry>.npy`` for the entries above, never any other. Of each it reads
the ``.npy`` header first and checks, before decompressing any data:

* the member is stored or deflated (no other compression, no encryption)
  and appears once;
* its dtype is one the layout allows (never an object dtype) and its size
  in the zip directory is exactly what its header declares;
* its shape is the one implied by ``n_components`` (from ``params``, or
  fewer with ``on_degenerate='drop'``), ``n_features_in_`` and the
  covariance type; ``lower_bounds_`` has ``n_iter_`` values; ``params``
  holds at most 65536 characters and ``fastgmm_version`` 128;
* what all entries take once loaded (Python objects included) is at most
  16 times the file's size (1 MiB for smaller files). A file written by
  :func:`save_model` is stored uncompressed and stays below 12 times; a
  zip bomb, a header declaring a huge shape or a ``lower_bounds_`` of
  millions of deflated zeros is refused before it is decompressed.

Then it reads the data (zipfile checks each member's CRC) and validates the
values as ``fit`` would leave them: the hyper-parameters through the
estimator's own checks, the ``*_init`` arrays as ``fit`` checks them, fitted
arrays finite, ``weights_`` in [0, 1] summing to 1, positive (diagonals
of) ``precisions_cholesky_``, upper triangular for 'full' and 'tied',
``precisions_`` equal to ``U U^T`` and ``covariances_`` their inverse (to a
relative 1e-3 for float32 and 1e-8 for float64), ``lower_bound_`` and
``lower_bounds_`` not NaN or +inf, ``n_iter_ >= 0``.
"""

import errno
import json
import math
import numbers
import os
import struct
import tempfile
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from . import _covariance
from ._covariance import COVARIANCE_TYPES

__all__ = ["read_model_state", "write_model_state", "model_state", "save_model",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1

_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")
_NOT_STORED = frozenset({"callback"})
_FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_REQUIRED = (
    "format_version",
    "fastgmm_version",
    "params",
    *_FITTED_ARRAYS,
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "n_features_in_",
)


def _fastgmm_version():
    """The installed fastgmm version, or ``"unknown"`` in a bare source tree."""
    try:
        from fastgmm import __version__

        return str(__version__)
    except ImportError:
        pass
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("fastgmm")
    except PackageNotFoundError:
        return "unknown"


def _json_param(name, value):
    """A hyper-parameter as a JSON-representable Python value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if name == "random_state":
        return None
    raise ValueError(
        f"cannot save hyper-parameter {name}={value!r}: only numbers, strings, "
        "booleans and None can be stored in a model file"
    )


def _float_array(value):
    """`value` as a float32 or float64 array, keeping float32 when it is."""
    value = np.asarray(value)
    return value if value.dtype in (np.float32, np.float64) else value.astype(np.float64)


def model_state(model):
    """The state of a fitted mixture, for :func:`write_model_state`.

    Parameters
    ----------
    model : GaussianMixture
        A fitted fastgmm ``GaussianMixture`` (a fitted
        ``sklearn.mixture.GaussianMixture`` works too): read through its
        ``get_params`` and fitted attributes only.

    Returns
    -------
    state : dict
        ``"params"``: ``get_params(deep=False)``; then the fitted attributes
        by name (``feature_names_in_`` and ``degenerate_events_`` are None
        when the model has none).

    Raises
    ------
    ValueError
        If `model` is not fitted.
    """
    missing = [name for name in _REQUIRED[3:] if not hasattr(model, name)]
    if missing:
        raise ValueError(
            f"cannot save {type(model).__name__}: it is not fitted (no {missing[0]} "
            "attribute); call fit() first"
        )
    state = {"params": model.get_params(deep=False)}
    for name in _REQUIRED[3:]:
        state[name] = getattr(model, name)
    for name in ("feature_names_in_", "degenerate_events_"):
        state[name] = getattr(model, name, None)
    if hasattr(model, "_file_arrays"):  # an estimator with entries of its own
        state["estimator"] = type(model).__name__
        state["extra_arrays"] = model._file_arrays()
        state["array_params"] = type(model)._file_param_arrays
    return state


def save_model(model, path):
    """Save a fitted Gaussian mixture to a ``.npz`` model file.

    Parameters
    ----------
    model : GaussianMixture
        A fitted fastgmm ``GaussianMixture`` (a fitted
        ``sklearn.mixture.GaussianMixture`` works too).
    path : str or os.PathLike
        File to write, used as given (no ``.npz`` suffix is added). The file
        is written to a temporary name beside it and then renamed, so an
        interrupted save never leaves a truncated model file at `path`.

    Raises
    ------
    ValueError
        If `model` is not fitted, a hyper-parameter cannot be stored, or
        ``feature_names_in_`` is not one string per feature.

    See Also
    --------
    fastgmm.load : Read the file back.

    Notes
    -----
    The layout is documented in the docstring of :mod:`fastgmm._io`.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastgmm
    >>> from fastgmm.datasets import load_old_faithful
    >>> from fastgmm._io import save_model
    >>> X = load_old_faithful()
    >>> gm = fastgmm.GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "faithful.npz")
    ...     save_model(gm, path)
    ...     loaded = fastgmm.load(path)
    >>> bool((loaded.predict(X) == gm.predict(X)).all())
    True
    """
    write_model_state(path, model_state(model))


def write_model_state(path, state):
    """Write the state of a fitted mixture to a ``.npz`` model file.

    Parameters
    ----------
    path : str or os.PathLike
        File to write, used as given; replaced atomically (see
        :func:`save_model`).
    state : dict
        As :func:`model_state` returns it.

    Raises
    ------
    ValueError
        If a hyper-parameter cannot be stored, or ``feature_names_in_`` is
        not one string per feature.
    """
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "fastgmm_version": np.array(_fastgmm_version()),
    }
    params = {}
    for name, value in state["params"].items():
        if name in _NOT_STORED:
            continue
        if name in _INIT_ARRAYS or (name in state.get("array_params", ())
                                    and value is not None and np.ndim(value) > 0):
            if value is not None:
                arrays[name] = np.ascontiguousarray(value, dtype=np.asarray(value).dtype)
                if arrays[name].dtype.kind not in "fiu":
                    raise ValueError(f"cannot save {name}: it is not a numeric array")
            continue
        params[name] = _json_param(name, value)
    arrays["params"] = np.array(json.dumps(params, sort_keys=True))
    for name in _FITTED_ARRAYS:
        arrays[name] = np.ascontiguousarray(state[name])
    arrays["converged_"] = np.array(bool(state["converged_"]))
    arrays["n_iter_"] = np.array(int(state["n_iter_"]), dtype=np.int64)
    arrays["lower_bound_"] = _float_array(state["lower_bound_"]).reshape(())
    arrays["lower_bounds_"] = _float_array(state["lower_bounds_"]).reshape(-1)
    arrays["n_features_in_"] = np.array(int(state["n_features_in_"]), dtype=np.int64)
    names = state.get("feature_names_in_")
    if names is not None:
        names = np.asarray(names, dtype=object)
        if names.shape != (arrays["n_features_in_"],) or not all(
                isinstance(name, str) for name in names):
            raise ValueError(
                f"cannot save feature_names_in_={names!r}: expected "
                f"{int(arrays['n_features_in_'])} strings, one per feature"
            )
        arrays["feature_names_in_"] = names.astype(str)
    if state.get("degenerate_events_"):
        arrays["degenerate_events_"] = np.array(json.dumps(state["degenerate_events_"]))
    if state.get("estimator"):
        arrays["estimator"] = np.array(state["estimator"])
        for name, value in state["extra_arrays"].items():
            arrays[name] = np.asarray(_float_array(value), order="C")  # 0-d stays 0-d

    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".fastgmm-", suffix=".npz.tmp", dir=directory)
    except OSError as exc:
        # Name the file asked for, not the temporary one.
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


# -- reading --------------------------------------------------------------------

# The entries the format defines. A scalar entry: (dtype kinds, what it is).
_SCALARS = {
    "format_version": ("iu", "an integer"),
    "fastgmm_version": ("U", "a string"),
    "params": ("U", "a JSON string"),
    "converged_": ("b", "a boolean"),
    "n_iter_": ("iu", "an integer"),
    "lower_bound_": ("f", "a float"),
    "n_features_in_": ("iu", "an integer"),
    "degenerate_events_": ("U", "a JSON string"),
    "estimator": ("U", "a string"),
}
_ENTRIES = frozenset(_SCALARS) | {*_FITTED_ARRAYS, *_INIT_ARRAYS, "lower_bounds_",
                                  "feature_names_in_"}
# Longest string the small string entries may hold, in characters.
_MAX_CHARS = {"fastgmm_version": 128, "params": 65536, "estimator": 64}
# Memory budget: what the entries take once loaded (Python objects included)
# may not exceed this many times the file's size (or _LOAD_FLOOR, for tiny
# files). Files written by save_model are stored uncompressed and stay below
# 12 times (a float32 lower_bounds_, as a list of NumPy scalars, takes 11
# times its stored size); a zip bomb is refused before it is decompressed.
_LOAD_RATIO = 16
_LOAD_FLOOR = 2**20
_SCALAR_OBJECT_BYTES = 40  # a NumPy scalar in a list: 28-32 bytes and a pointer
_STR_OBJECT_BYTES = 64  # a short str in an object array: 49 bytes and a pointer
_JSON_EXPANSION = 7  # bytes of Python objects per byte of JSON text (worst: "[]," as U)
# Relative tolerance of the consistency checks between covariances_,
# precisions_ and precisions_cholesky_, each difference taken relative to the
# magnitudes of its products (|S| |P| |v|, not |v|), which keeps it near
# roundoff whatever the conditioning: fits with covariance condition numbers
# up to 5e15 left at most 1.1e-7 (float32) and 2.7e-12 (float64). Edited or
# corrupt values are far off.
_RTOL = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-8}
_READ_CHUNK = 2**20
# What zipfile, zlib and numpy's header parser raise on a corrupt archive
# (NotImplementedError: an unsupported compression or flag; RuntimeError: an
# encrypted member; OverflowError, struct.error: absurd offsets or sizes).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError,
               NotImplementedError, RuntimeError, OverflowError, struct.error, SyntaxError)


class _BadFile(Exception):
    """A problem with a model file; ``read_model_state`` raises it as a ValueError naming the file."""


def _reason(exc):
    return str(exc) or type(exc).__name__


class _Header(NamedTuple):
    info: zipfile.ZipInfo
    shape: tuple
    fortran_order: bool
    dtype: np.dtype
    header_size: int

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.dtype.itemsize


class _Reader:
    """The members of an open model archive: headers first, data on request.

    Only members named ``<entry>.npy`` for an entry of the layout are ever
    opened; every other member is ignored unread.
    """

    def __init__(self, archive, entries=_ENTRIES):
        self.archive = archive
        self.members = {}
        counts = {}
        for info in archive.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else None
            if key in entries:
                counts[key] = counts.get(key, 0) + 1
                self.members[key] = info
        for key, count in counts.items():
            if count > 1:
                raise _BadFile(f"entry {key!r} appears {count} times")
        self._headers = {}

    def __contains__(self, key):
        return key in self.members

    def _open(self, key):
        info = self.members[key]
        if info.flag_bits & 0x1:
            raise _BadFile(f"entry {key!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _BadFile(
                f"entry {key!r} uses compression method {info.compress_type}; model "
                "files are stored or deflated"
            )
        return self.archive.open(info)

    def header(self, key):
        """The member's .npy header, checked against the layout's dtype for `key`."""
        if key in self._headers:
            return self._headers[key]
        info = self.members[key]
        try:
            with self._open(key) as stream:
                prefix = stream.read(8)
                if not prefix.startswith(_NPY_MAGIC):
                    raise _BadFile(f"entry {key!r} is not a .npy array")
                version = (prefix[6], prefix[7]) if len(prefix) == 8 else None
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read_header is None:
                    raise _BadFile(f"entry {key!r} is not a .npy array of format 1.0 or 2.0")
                try:
                    shape, fortran_order, dtype = read_header(stream)
                except _ZIP_ERRORS:
                    raise
                except Exception as exc:
                    # numpy parses the header text with ast and tokenize, which
                    # raise more than ValueError on arbitrary bytes.
                    raise _BadFile(f"entry {key!r} has a .npy header that cannot be parsed "
                                   f"({type(exc).__name__}: {exc})") from None
                header_size = stream.tell()
        except _ZIP_ERRORS as exc:
            raise _BadFile(f"entry {key!r} is corrupt or truncated ({_reason(exc)})") from None
        if dtype.hasobject:
            raise _BadFile(f"entry {key!r} holds Python objects, which are never loaded")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise _BadFile(f"entry {key!r} has an invalid shape {shape!r}")
        header = _Header(info, tuple(int(n) for n in shape), bool(fortran_order), dtype,
                         header_size)
        _check_dtype(key, header)
        if info.file_size != header_size + header.nbytes:
            raise _BadFile(
                f"entry {key!r}: its size ({info.file_size} bytes) does not match its "
                f"header (shape {header.shape}, dtype {dtype}: {header_size + header.nbytes} "
                "bytes)"
            )
        self._headers[key] = header
        return header

    def read(self, key):
        """The member's array, C-contiguous and in native byte order."""
        header = self.header(key)
        array = np.empty(math.prod(header.shape), dtype=header.dtype)
        view = memoryview(array.view(np.uint8)) if array.size else memoryview(b"")
        try:
            with self._open(key) as stream:
                stream.read(header.header_size)
                position = 0
                while position < len(view):
                    n = stream.readinto(view[position:position + _READ_CHUNK])
                    if not n:
                        raise EOFError("the data end early")
                    position += n
                # Read to the end, so that zipfile checks the CRC.
                if stream.read(1):
                    raise ValueError("data beyond the declared size")
        except _ZIP_ERRORS as exc:
            raise _BadFile(f"entry {key!r} is corrupt or truncated ({_reason(exc)})") from None
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        if array.dtype.kind == "U":
            codes = array.view(np.uint32)
            if np.any((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))):
                raise _BadFile(f"entry {key!r} is not valid Unicode text")
        if header.fortran_order:
            return np.ascontiguousarray(array.reshape(header.shape[::-1]).T)
        return array.reshape(header.shape)

    def scalar(self, key):
        """A scalar entry's value (its shape and dtype are checked by `header`)."""
        return self.read(key)[()]

    def cost(self, key):
        """Bytes that entry `key` takes once loaded, Python objects included."""
        header = self.header(key)
        count = math.prod(header.shape)
        if key == "lower_bounds_":
            return header.nbytes + _SCALAR_OBJECT_BYTES * count
        if key == "feature_names_in_":
            return 2 * header.nbytes + _STR_OBJECT_BYTES * count
        if header.dtype.kind == "U":
            return _JSON_EXPANSION * header.nbytes
        return header.nbytes


def _check_dtype(key, header):
    """Refuse a dtype (or, for a scalar entry, a shape) that the layout does not allow."""
    dtype = header.dtype
    kind = dtype.kind if dtype.fields is None and dtype.subdtype is None else "V"
    if key in _SCALARS:
        kinds, what = _SCALARS[key]
        ok = kind in kinds and (kind != "f" or dtype.itemsize in (4, 8))
        if not ok or header.shape != ():
            raise _BadFile(f"entry {key!r} should be {what}, got shape {header.shape} "
                           f"dtype {dtype}")
        if kind == "U":
            if dtype.itemsize == 0:
                raise _BadFile(f"entry {key!r} has dtype {dtype}, an empty string type")
            if key in _MAX_CHARS and dtype.itemsize // 4 > _MAX_CHARS[key]:
                raise _BadFile(
                    f"entry {key!r} holds {dtype.itemsize // 4} characters, more than the "
                    f"{_MAX_CHARS[key]} it may hold"
                )
    elif key in _FITTED_ARRAYS:
        if kind != "f" or dtype.itemsize not in (4, 8):
            raise _BadFile(f"entry {key!r} has dtype {dtype}, expected floating point "
                           "(float32 or float64)")
    elif key in _INIT_ARRAYS:
        if kind not in "fiu" or dtype.itemsize > 8:
            raise _BadFile(f"entry {key!r} has dtype {dtype}, expected numbers")
    elif key == "lower_bounds_":
        if kind != "f" or dtype.itemsize not in (4, 8) or len(header.shape) != 1:
            raise _BadFile(f"entry 'lower_bounds_' should be a 1-d float array, got shape "
                           f"{header.shape} dtype {dtype}")
    elif key == "feature_names_in_":
        if kind != "U" or dtype.itemsize == 0 or len(header.shape) != 1:
            raise _BadFile(f"entry 'feature_names_in_' should be a 1-d array of strings, "
                           f"got shape {header.shape} dtype {dtype}")
    elif kind != "f" or dtype.itemsize not in (4, 8):
        # An entry of an estimator's own (_file_entry_names): floats.
        raise _BadFile(f"entry {key!r} has dtype {dtype}, expected floating point "
                       "(float32 or float64)")


def read_model_state(path, estimator):
    """Read and check a model file; return ``(state, info)``.

    Parameters
    ----------
    path : str or os.PathLike
        A model file.
    estimator : type or dict of str to type
        The estimator class the file is for, or the classes it may be for by
        name (the file's ``estimator`` entry chooses; absent:
        ``GaussianMixture``). Its hyper-parameters are checked through it
        (``_get_param_names``, ``_checked_params``, ``_check_init_arrays``),
        so that a file is refused exactly where ``fit`` would refuse the
        same values; nothing is built here.

    Returns
    -------
    state : dict
        ``"params"``: the hyper-parameters (every one, defaults included,
        ``*_init`` arrays as read), ``"estimator"``: the class, then the
        fitted attributes by name, for the estimator's ``_set_fitted``.
    info : dict
        ``format_version`` and ``fastgmm_version``, the file's metadata, for
        ``fastgmm info``.

    Raises
    ------
    OSError
        If the file cannot be opened (``FileNotFoundError`` when absent).
    ValueError
        If the file is not a fastgmm model file, is truncated or corrupt,
        lacks an entry, has an entry of the wrong shape, dtype or value
        (checked as ``fit`` would leave it), would take more than 16 times
        its size in memory, or was written by a newer fastgmm (format
        version above ``FORMAT_VERSION``). The message names the file and
        the problem.

    """
    name = os.fspath(path)
    classes = estimator if isinstance(estimator, dict) else {estimator.__name__: estimator}
    with open(name, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
        f.seek(0)
        if magic.startswith(_NPY_MAGIC):
            raise ValueError(f"{name}: not a fastgmm model file: it holds a single .npy "
                             "array, not an .npz archive")
        if not magic.startswith(_ZIP_MAGIC):
            what = "empty" if not magic else "not a zip archive"
            raise ValueError(f"{name}: not a fastgmm model file ({what}; model files are "
                             ".npz archives)")
        file_size = os.fstat(f.fileno()).st_size
        try:
            try:
                archive = zipfile.ZipFile(f)
            except _ZIP_ERRORS as exc:
                raise _BadFile(f"corrupt or truncated .npz archive ({_reason(exc)})") from None
            with archive:
                entries = _ENTRIES.union(*(getattr(c, "_file_entry_names", ())
                                           for c in classes.values()))
                return _read_model(_Reader(archive, entries), file_size, classes)
        except _BadFile as exc:
            raise ValueError(f"{name}: {exc}") from None


def _read_model(reader, file_size, classes):
    """The state held by `reader`'s archive, every entry checked as fit would leave it."""
    if "format_version" not in reader:
        raise _BadFile("not a fastgmm model file: no 'format_version' entry")
    version = int(reader.scalar("format_version"))
    if version > FORMAT_VERSION:
        raise _BadFile(
            f"written in model file format version {version}, newer than this "
            f"fastgmm ({_fastgmm_version()}) reads (up to {FORMAT_VERSION}); "
            "upgrade fastgmm to load it"
        )
    if version < 1:
        raise _BadFile(f"invalid format version {version}")
    if "estimator" in reader:
        kind = str(reader.scalar("estimator"))
    else:  # a GaussianMixture file (or one of a subclass asked for by name)
        kind = next(iter(classes)) if len(classes) == 1 else "GaussianMixture"
    if kind not in classes:
        raise _BadFile(f"a {kind} model, not a {' or '.join(classes)} (fastgmm.load reads "
                       "every kind)")
    estimator = classes[kind]
    missing = [key for key in _REQUIRED if key not in reader]
    if missing:
        raise _BadFile(f"missing entr{'ies' if len(missing) > 1 else 'y'} "
                       f"{', '.join(map(repr, missing))}")

    # The small entries first: they bound the shapes of the others.
    fastgmm_version = str(reader.scalar("fastgmm_version"))
    if not fastgmm_version.isprintable():
        raise _BadFile(f"entry 'fastgmm_version' holds unprintable characters: "
                       f"{fastgmm_version!r}")
    params, covariance_type = _params_from_json(str(reader.scalar("params")), estimator)
    n_features = int(reader.scalar("n_features_in_"))
    if n_features < 1:
        raise _BadFile(f"entry 'n_features_in_' is {n_features}, expected a positive integer")
    n_iter = int(reader.scalar("n_iter_"))
    if n_iter < 0:
        raise _BadFile(f"entry 'n_iter_' is {n_iter}, expected a non-negative integer")
    converged = bool(reader.scalar("converged_"))
    lower_bound = reader.scalar("lower_bound_")
    if np.isnan(lower_bound) or lower_bound == np.inf:
        raise _BadFile(f"entry 'lower_bound_' is {lower_bound}")

    means_shape = reader.header("means_").shape
    if len(means_shape) != 2 or means_shape[1] != n_features:
        raise _BadFile(f"entry 'means_' has shape {means_shape}, expected "
                       f"(n_components, {n_features})")
    n_components = means_shape[0]
    if n_components < 1:
        raise _BadFile(f"entry 'means_' has shape {means_shape}: no components")
    n_requested = params["n_components"]
    # on_degenerate='drop' may leave fewer components than requested.
    if n_requested != n_components and not (
            params.get("on_degenerate") == "drop" and n_components < n_requested):
        raise _BadFile(f"params say n_components={n_requested!r} but 'means_' has "
                       f"{n_components} rows")
    cov_shape = _covariance.get(covariance_type).shape(n_components, n_features)
    expected = {
        "weights_": (n_components,),
        "means_": (n_components, n_features),
        "covariances_": cov_shape,
        "precisions_": cov_shape,
        "precisions_cholesky_": cov_shape,
        "weights_init": (n_requested,),
        "means_init": (n_requested, n_features),
        "precisions_init": _covariance.get(covariance_type).shape(n_requested, n_features),
        "feature_names_in_": (n_features,),
    }
    for key, shape in expected.items():
        if key in reader and reader.header(key).shape != shape:
            what = f"{covariance_type} covariance, " if key in _FITTED_ARRAYS[2:] else ""
            raise _BadFile(
                f"entry {key!r} has shape {reader.header(key).shape}, expected {shape} "
                f"({what}{n_components} components, {n_features} features)"
            )
    n_bounds = reader.header("lower_bounds_").shape[0]
    if n_bounds != n_iter:
        raise _BadFile(f"entry 'lower_bounds_' has {n_bounds} values but n_iter_ is "
                       f"{n_iter} (one value per EM iteration)")

    # Nothing large has been decompressed yet: check what the rest would take.
    costs = {key: reader.cost(key) for key in reader.members}
    budget = max(_LOAD_FLOOR, _LOAD_RATIO * file_size)
    if sum(costs.values()) > budget:
        largest = max(costs, key=costs.get)
        raise _BadFile(
            f"its entries would take {sum(costs.values()) / 2**20:.1f} MiB once loaded, "
            f"more than {_LOAD_RATIO} times the file's size ({file_size / 2**20:.2f} MiB); "
            f"the largest is {largest!r} of shape {reader.header(largest).shape}. Refusing "
            "to decompress it: the file is corrupt or hostile"
        )

    fitted = {key: reader.read(key) for key in _FITTED_ARRAYS}
    _check_fitted(fitted, covariance_type)
    fitted.update(_read_own_entries(reader, estimator, params, n_components, n_features))
    lower_bounds = reader.read("lower_bounds_")
    if np.any(np.isnan(lower_bounds) | (lower_bounds == np.inf)):
        raise _BadFile("entry 'lower_bounds_' holds NaN or +inf")
    for key in _INIT_ARRAYS:
        if key in reader:
            params[key] = _checked_init(key, reader.read(key), params, n_features, estimator)
    events = []
    if "degenerate_events_" in reader:
        events = _parse_json("degenerate_events_", str(reader.scalar("degenerate_events_")))
        if not (isinstance(events, list) and all(isinstance(e, dict) for e in events)):
            raise _BadFile("entry 'degenerate_events_' is not a JSON array of objects")

    state = {"params": params, "estimator": estimator, **fitted}
    state.update(converged_=converged, n_iter_=n_iter, lower_bound_=lower_bound,
                 lower_bounds_=list(lower_bounds), n_features_in_=n_features,
                 n_components_=n_components, degenerate_events_=events)
    if "feature_names_in_" in reader:
        state["feature_names_in_"] = reader.read("feature_names_in_").astype(object)
    return state, {"format_version": version, "fastgmm_version": fastgmm_version}


def _read_own_entries(reader, estimator, params, n_components, n_features):
    """The entries of an estimator's own (see the layout), shapes and values checked;
    the array hyper-parameters go into ``params``."""
    if not hasattr(estimator, "_file_entries"):
        return {}
    entries = estimator._file_entries(params, n_components, n_features)
    arrays = {}
    for key, (shape, required) in entries.items():
        if key not in reader:
            if required:
                raise _BadFile(f"missing entry {key!r}")
            continue
        if reader.header(key).shape != shape:
            raise _BadFile(f"entry {key!r} has shape {reader.header(key).shape}, expected "
                           f"{shape} ({n_components} components, {n_features} features)")
        arrays[key] = reader.read(key)
        if not np.all(np.isfinite(arrays[key])):
            raise _BadFile(f"entry {key!r} holds NaN or infinite values")
    try:
        fitted = estimator._check_file_arrays(arrays, params)
    except ValueError as exc:
        raise _BadFile(str(exc)) from None
    for key in getattr(estimator, "_file_param_arrays", ()):
        if key in fitted:
            params[key] = fitted.pop(key)
    return fitted


def _parse_json(key, text):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits
        raise _BadFile(f"entry {key!r} is not valid JSON ({type(exc).__name__}: "
                       f"{str(exc)[:200]})") from None


def _params_from_json(text, estimator):
    """The hyper-parameters of entry 'params', validated by `estimator`, and the covariance type."""
    params = _parse_json("params", text)
    if not isinstance(params, dict):
        raise _BadFile("entry 'params' is not a JSON object")
    covariance_type = params.get("covariance_type", "full")
    if covariance_type not in COVARIANCE_TYPES:
        raise _BadFile(f"unknown covariance_type {covariance_type!r}")
    unknown = sorted(set(params) - set(estimator._get_param_names()))
    if unknown:
        raise _BadFile(f"entry 'params' has a hyper-parameter this fastgmm does not know "
                       f"({', '.join(map(repr, unknown))})")
    try:
        params = estimator._checked_params(params)
    except (ValueError, TypeError) as exc:
        raise _BadFile(f"entry 'params': {exc}") from None
    return params, covariance_type


def _checked_init(key, value, params, n_features, estimator):
    """An *_init array, checked as fit checks it (with those read before it)."""
    try:
        estimator._check_init_arrays({**params, key: value}, n_features)
    except ValueError as exc:
        raise _BadFile(f"entry {key!r}: {exc}") from None
    return value


def _check_fitted(fitted, covariance_type):
    """Refuse fitted arrays that fit could not have produced.

    Finite values; weights in [0, 1] summing to 1; positive (diagonals of)
    Cholesky factors, upper triangular for 'full' and 'tied'; symmetric
    covariances with positive variances; precisions_ equal to U U^T and
    covariances_ their inverse, to the tolerance ``_RTOL``.
    """
    for key, value in fitted.items():
        if not np.all(np.isfinite(value)):
            raise _BadFile(f"entry {key!r} holds NaN or infinite values")
    weights = fitted["weights_"]
    if np.any(weights < 0) or np.any(weights > 1):
        raise _BadFile(f"entry 'weights_' has values outside [0, 1] (min {weights.min():.5g}, "
                       f"max {weights.max():.5g})")
    total = float(np.sum(weights, dtype=np.float64))
    if abs(total - 1.0) > (1e-6 if weights.dtype == np.float32 else 1e-8):
        raise _BadFile(f"entry 'weights_' sums to {total!r}, not 1")
    chol, precisions, covariances = (fitted[key] for key in _FITTED_ARRAYS[2:][::-1])
    rtol = max(_RTOL[a.dtype] for a in (chol, precisions, covariances))
    try:
        _covariance.get(covariance_type).check_fitted(chol, precisions, covariances, rtol)
    except ValueError as exc:
        raise _BadFile(str(exc)) from None
