"""Model files: a fitted GaussianMixture saved as a plain ``.npz`` archive.

A model file is a zip of ``.npy`` arrays written by :func:`numpy.savez` and
read back with ``np.load(..., allow_pickle=False)``: it holds numbers and
strings only, never pickled Python objects, so loading a file from an
untrusted source cannot run code. Every array is checked on load; a file
that is not a model file, is truncated or corrupt, lacks an entry, has an
entry of the wrong shape or dtype, or was written by a newer fastgmm raises
a ``ValueError`` that names the file and the problem.

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
=========================  ==============  =====================================

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

A reader accepts files with ``format_version`` up to its own and refuses
newer ones, asking for an upgrade. The format version changes only when an
older fastgmm could no longer read new files correctly.
"""

import errno
import json
import numbers
import os
import tempfile
import zipfile
import zlib

import numpy as np

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT_VERSION = 1

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
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


def _covariance_shape(covariance_type, n_components, n_features):
    """Shape of ``covariances_`` (and of the precisions) for a covariance type."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


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
        If `model` is not fitted, or a hyper-parameter cannot be stored.

    See Also
    --------
    load_model : Read the file back.

    Notes
    -----
    The layout is documented in the docstring of :mod:`fastgmm._io`.

    Examples
    --------
    See :func:`load_model`.
    """
    missing = [name for name in _REQUIRED[3:] if not hasattr(model, name)]
    if missing:
        raise ValueError(
            f"cannot save {type(model).__name__}: it is not fitted (no {missing[0]} "
            "attribute); call fit() first"
        )
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "fastgmm_version": np.array(_fastgmm_version()),
    }
    params = {}
    for name, value in model.get_params(deep=False).items():
        if name in _NOT_STORED:
            continue
        if name in _INIT_ARRAYS:
            if value is not None:
                arrays[name] = np.ascontiguousarray(value, dtype=np.asarray(value).dtype)
                if arrays[name].dtype.kind not in "fiu":
                    raise ValueError(f"cannot save {name}: it is not a numeric array")
            continue
        params[name] = _json_param(name, value)
    arrays["params"] = np.array(json.dumps(params, sort_keys=True))
    for name in _FITTED_ARRAYS:
        arrays[name] = np.ascontiguousarray(getattr(model, name))
    arrays["converged_"] = np.array(bool(model.converged_))
    arrays["n_iter_"] = np.array(int(model.n_iter_), dtype=np.int64)
    arrays["lower_bound_"] = _float_array(model.lower_bound_).reshape(())
    arrays["lower_bounds_"] = _float_array(model.lower_bounds_).reshape(-1)
    arrays["n_features_in_"] = np.array(int(model.n_features_in_), dtype=np.int64)
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    if getattr(model, "degenerate_events_", None):
        arrays["degenerate_events_"] = np.array(json.dumps(model.degenerate_events_))

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


def load_model(path):
    """Load a Gaussian mixture saved by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike
        A model file.

    Returns
    -------
    model : fastgmm.gaussian_mixture.GaussianMixture
        A fitted estimator with the saved hyper-parameters and fitted
        attributes; it predicts bit-identically to the saved model.
        ``callback`` is ``None``.

    Raises
    ------
    OSError
        If the file cannot be opened (``FileNotFoundError`` when absent).
    ValueError
        If the file is not a fastgmm model file, is truncated or corrupt,
        lacks an entry, has an entry of the wrong shape or dtype, or was
        written by a newer fastgmm (format version above
        ``FORMAT_VERSION``). The message names the file and the problem.

    See Also
    --------
    save_model : Write a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastgmm.datasets import load_old_faithful
    >>> from fastgmm.gaussian_mixture import GaussianMixture
    >>> from fastgmm._io import load_model, save_model
    >>> X = load_old_faithful()
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "faithful.npz")
    ...     save_model(gm, path)
    ...     loaded = load_model(path)
    >>> loaded.means_.shape
    (2, 2)
    >>> bool((loaded.predict(X) == gm.predict(X)).all())
    True
    """
    model, _ = _load(path)
    return model


def _load(path):
    """Load a model file; return ``(model, info)``.

    `info` is a dict with ``format_version`` and ``fastgmm_version``, the
    file's metadata, for ``fastgmm info``.
    """
    name = os.fspath(path)

    def fail(problem):
        return ValueError(f"{name}: {problem}")

    with open(name, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
        f.seek(0)
        if magic.startswith(_NPY_MAGIC):
            raise fail("not a fastgmm model file: it holds a single .npy array, not an .npz archive")
        if not magic.startswith(_ZIP_MAGIC):
            what = "empty" if not magic else "not a zip archive"
            raise fail(f"not a fastgmm model file ({what}; model files are .npz archives)")
        try:
            # np.load stops reading a member after its array, before zipfile
            # would check the CRC: check every member's CRC first.
            with zipfile.ZipFile(f) as zf:
                bad_member = zf.testzip()
            f.seek(0)
            archive = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise fail(f"corrupt or truncated .npz archive ({exc})") from None
        if bad_member is not None:
            archive.close()
            raise fail(f"entry {bad_member.removesuffix('.npy')!r} is corrupt (CRC mismatch)")
        data = {}
        with archive:
            for key in archive.files:
                try:
                    data[key] = archive[key]
                except ValueError as exc:
                    if "pickle" in str(exc):
                        raise fail(f"entry {key!r} holds Python objects, which are never loaded") from None
                    raise fail(f"entry {key!r} is corrupt ({exc})") from None
                except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                    raise fail(f"entry {key!r} is corrupt or truncated ({exc})") from None

    if "format_version" not in data:
        raise fail("not a fastgmm model file: no 'format_version' entry")
    version = data["format_version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise fail("'format_version' is not an integer")
    version = int(version)
    if version > FORMAT_VERSION:
        raise fail(
            f"written in model file format version {version}, newer than this "
            f"fastgmm ({_fastgmm_version()}) reads (up to {FORMAT_VERSION}); "
            "upgrade fastgmm to load it"
        )
    if version < 1:
        raise fail(f"invalid format version {version}")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise fail(f"missing entr{'ies' if len(missing) > 1 else 'y'} {', '.join(map(repr, missing))}")

    def scalar(key, kinds, what):
        value = data[key]
        if value.shape != () or value.dtype.kind not in kinds:
            raise fail(f"entry {key!r} should be {what}, got shape {value.shape} dtype {value.dtype}")
        return value[()]

    fastgmm_version = str(scalar("fastgmm_version", "U", "a string"))
    try:
        params = json.loads(str(scalar("params", "U", "a JSON string")))
    except json.JSONDecodeError as exc:
        raise fail(f"entry 'params' is not valid JSON ({exc})") from None
    if not isinstance(params, dict):
        raise fail("entry 'params' is not a JSON object")
    covariance_type = params.get("covariance_type", "full")
    if covariance_type not in _COVARIANCE_TYPES:
        raise fail(f"unknown covariance_type {covariance_type!r}")
    n_features = int(scalar("n_features_in_", "iu", "an integer"))
    means = data["means_"]
    if means.ndim != 2 or means.shape[1] != n_features:
        raise fail(f"entry 'means_' has shape {means.shape}, expected (n_components, {n_features})")
    n_components = means.shape[0]
    if n_components < 1 or n_features < 1:
        raise fail(f"entry 'means_' has shape {means.shape}: no components or no features")
    n_requested = params.get("n_components", n_components)
    # on_degenerate='drop' may leave fewer components than requested.
    dropped = params.get("on_degenerate") == "drop" and isinstance(n_requested, int) \
        and n_components < n_requested
    if n_requested != n_components and not dropped:
        raise fail(
            f"params say n_components={params['n_components']!r} but 'means_' has "
            f"{n_components} rows"
        )
    cov_shape = _covariance_shape(covariance_type, n_components, n_features)
    expected = {
        "weights_": (n_components,),
        "means_": (n_components, n_features),
        "covariances_": cov_shape,
        "precisions_": cov_shape,
        "precisions_cholesky_": cov_shape,
        "weights_init": (n_requested,),
        "means_init": (n_requested, n_features),
        "precisions_init": _covariance_shape(covariance_type, n_requested, n_features),
    }
    for key, shape in expected.items():
        if key not in data:
            continue
        value = data[key]
        kinds = "f" if key.endswith("_") else "fiu"
        if value.dtype.kind not in kinds:
            raise fail(f"entry {key!r} has dtype {value.dtype}, expected floating point")
        if value.shape != shape:
            what = f"{covariance_type} covariance, " if key not in ("weights_", "means_") else ""
            raise fail(
                f"entry {key!r} has shape {value.shape}, expected {shape} "
                f"({what}{n_components} components, {n_features} features)"
            )
    lower_bounds = data["lower_bounds_"]
    if lower_bounds.ndim != 1 or lower_bounds.dtype.kind != "f":
        raise fail(
            f"entry 'lower_bounds_' should be a 1-d float array, got shape "
            f"{lower_bounds.shape} dtype {lower_bounds.dtype}"
        )
    if "feature_names_in_" in data:
        names = data["feature_names_in_"]
        if names.dtype.kind != "U" or names.shape != (n_features,):
            raise fail(f"entry 'feature_names_in_' should be {n_features} strings")

    from fastgmm._stats import n_parameters
    from fastgmm.gaussian_mixture import GaussianMixture

    for key in _INIT_ARRAYS:
        if key in data:
            params[key] = data[key]
    try:
        model = GaussianMixture(**params)
    except TypeError as exc:
        raise fail(f"entry 'params' has a hyper-parameter this fastgmm does not know ({exc})") from None
    for key in _FITTED_ARRAYS:
        setattr(model, key, np.ascontiguousarray(data[key]))
    model.converged_ = bool(scalar("converged_", "b", "a boolean"))
    model.n_iter_ = int(scalar("n_iter_", "iu", "an integer"))
    model.lower_bound_ = scalar("lower_bound_", "f", "a float")
    model.lower_bounds_ = list(lower_bounds)
    model.n_features_in_ = n_features
    model.n_parameters_ = n_parameters(covariance_type, n_components, n_features)
    model.n_components_ = n_components
    model.degenerate_events_ = []
    if "degenerate_events_" in data:
        try:
            model.degenerate_events_ = json.loads(
                str(scalar("degenerate_events_", "U", "a JSON string")))
        except json.JSONDecodeError as exc:
            raise fail(f"entry 'degenerate_events_' is not valid JSON ({exc})") from None
    if "feature_names_in_" in data:
        model.feature_names_in_ = data["feature_names_in_"].astype(object)
    return model, {"format_version": version, "fastgmm_version": fastgmm_version}
