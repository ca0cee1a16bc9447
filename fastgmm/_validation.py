"""Input validation at the API boundary: clear errors, no silent copies.

Error classes and messages follow scikit-learn's where it raises, with
more detail where that helps (which rows hold NaN, how many).
"""

import numbers
import warnings

import numpy as np

from ._outofcore import finite_largest, is_mapped, nonfinite_positions
from .exceptions import InvalidParameterError


def _describe_positions(mask=None, rows=None, cols=None):
    if mask is not None:
        rows, cols = np.nonzero(mask)
    uniq_rows = np.unique(rows)
    uniq_cols = np.unique(cols)
    shown_rows = ", ".join(str(r) for r in uniq_rows[:5]) + (", ..." if uniq_rows.size > 5 else "")
    shown_cols = ", ".join(str(c) for c in uniq_cols[:5]) + (", ..." if uniq_cols.size > 5 else "")
    return (f"{rows.size} value(s) in {uniq_rows.size} row(s) (rows {shown_rows}; "
            f"columns {shown_cols})")


_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def is_plain_array(X, ensure_min_samples=1, n_features=None):
    """Whether X is what :func:`check_array` returns as it is once its values
    are known to be finite: an in-memory 2-D float32/float64 ndarray with
    the rows and features asked for (the check of its values, a read of all
    of X, is the caller's, which may make it with other work)."""
    return (type(X) is np.ndarray and X.ndim == 2 and X.dtype in _KEPT_DTYPES
            and X.shape[0] >= ensure_min_samples and X.shape[1] >= 1
            and (n_features is None or X.shape[1] == n_features)
            and not is_mapped(X))


def check_array(X, *, estimator_name, ensure_min_samples=1, n_features=None,
                name="X", keep_mapped_dtype=False, allow_nan=False, return_largest=False,
                largest=None):
    """Validate a data matrix: 2-D, finite, real; float32 kept, anything else float64.

    A float32/float64 array in native byte order is returned as it is,
    whatever its layout (C, Fortran or strided: the kernels index
    ``X[row, j]`` and are compiled for each layout), so no copy is made;
    other dtypes are converted once to float64. A memory-mapped X
    (``np.memmap``, or a view of one) is read in segments of rows, and its
    pages handed back after each (see ``_outofcore``), so validating it
    needs no memory that grows with its size; with ``keep_mapped_dtype`` a
    memory-mapped X of another real dtype (integers, say) is returned
    unconverted, for the passes to convert one segment at a time. With
    ``allow_nan`` NaN values are let through (``nan_policy`` other than
    'raise'); infinity never is. With ``return_largest``, returns ``(X,
    largest)``: ``max|X|`` where the finiteness check read it (a large
    in-memory float32/float64 X), else None. ``largest``: ``max|X|`` from a
    sweep of the caller's that found every value finite
    (``_spurious.checked_variances``); an in-memory float32/float64 X is then
    not read again.

    Raises
    ------
    TypeError
        Sparse matrices, or data that is not numeric.
    ValueError
        Wrong dimensions, complex values, NaN or infinity, too few rows, or
        a number of features other than ``n_features``.
    """
    if is_plain_array(X, ensure_min_samples, n_features):
        # The common case, checked in a few microseconds (a pipeline scoring
        # a row at a time pays this per call); anything else takes the full
        # path below, which names the problem.
        if largest is not None:
            return (X, largest) if return_largest else X
        finite, largest = finite_largest(X)
        if finite:
            return (X, largest) if return_largest else X
    X = _check_array(X, estimator_name, ensure_min_samples, n_features, name,
                     keep_mapped_dtype, allow_nan)
    return (X, None) if return_largest else X


def _check_array(X, estimator_name, ensure_min_samples, n_features, name, keep_mapped_dtype,
                 allow_nan):
    """:func:`check_array`'s full path, which names what is wrong."""
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{estimator_name} does not accept sparse input: a sparse {name} was "
            "passed. Convert it with X.toarray() if it fits in memory."
        )
    original = X
    if np.ma.isMaskedArray(X) and np.ma.getmaskarray(X).any():
        raise ValueError(
            f"{name} is a masked array with {int(np.ma.getmaskarray(X).sum())} masked "
            f"value(s); {estimator_name} does not accept missing values. Fill them "
            "(X.filled(value)) or drop those rows."
        )
    if np.ma.isMaskedArray(X):
        X = np.ma.getdata(X)  # nothing masked: its data, without a copy
    X = _nullable_frame_as_float(X)
    if hasattr(X, "__array__") and not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Could not convert {name} to a numeric array: {exc}") from None
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported\n" + repr(X)[:200])
    if X.dtype.kind in "US":
        raise ValueError(
            "dtype='numeric' is not compatible with arrays of bytes/strings. "
            f"Convert your data to numeric values explicitly instead ({name} has "
            f"dtype {X.dtype})."
        )
    if X.dtype.kind in "OV":
        try:
            X = X.astype(np.float64)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"{name} must contain numbers only; got an array of dtype {X.dtype} "
                f"that could not be converted to float64 ({exc})."
            ) from None
    elif X.dtype.kind not in "biuf":
        raise TypeError(f"{name} has an unsupported dtype {X.dtype}; pass real numbers.")
    if X.ndim != 2:
        if X.ndim == 0:
            raise ValueError(
                f"Expected 2D array, got scalar array instead:\narray={original!r:.200}.\n"
                "Reshape your data either using array.reshape(-1, 1) if your data has "
                "a single feature or array.reshape(1, -1) if it contains a single sample."
            )
        if X.ndim == 1:
            raise ValueError(
                f"Expected 2D array, got 1D array instead:\n"
                f"array={X!r:.200}.\nReshape your data either using array.reshape(-1, 1) "
                "if your data has a single feature or array.reshape(1, -1) if it "
                "contains a single sample."
            )
        raise ValueError(
            f"Found array with dim {X.ndim}, while dim <= 2 is required by {estimator_name}."
        )
    mapped = is_mapped(X)
    if X.dtype not in (np.float32, np.float64) and not (keep_mapped_dtype and mapped):
        # Integers, booleans, float16, longdouble, non-native byte order.
        X = X.astype(np.float64)
    n_samples = X.shape[0]
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a "
            f"minimum of {ensure_min_samples} is required by {estimator_name}."
        )
    if X.shape[1] < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {estimator_name}."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting "
            f"{n_features} features as input."
        )
    # The sum is NaN or infinite when any value is (NaN and inf propagate,
    # inf - inf is NaN), so a finite sum clears X without an N x d temporary;
    # a sum that overflowed is told apart by the masks below.
    if mapped:
        positions = nonfinite_positions(X)
        if positions is not None:
            (nan_rows, nan_cols), (inf_rows, inf_cols) = positions
            if nan_rows.size and not allow_nan:
                raise ValueError(
                    f"Input {name} contains NaN: "
                    f"{_describe_positions(rows=nan_rows, cols=nan_cols)}. "
                    f"{estimator_name} does not accept missing values; remove or "
                    "impute them."
                )
            if inf_rows.size:
                raise ValueError(
                    f"Input {name} contains infinity or a value too large for "
                    f"dtype('{X.dtype}'): {_describe_positions(rows=inf_rows, cols=inf_cols)}."
                )
    elif not np.isfinite(X.sum()):
        nan_mask = np.isnan(X)
        if nan_mask.any() and not allow_nan:
            raise ValueError(
                f"Input {name} contains NaN: {_describe_positions(nan_mask)}. "
                f"{estimator_name} does not accept missing values; remove or impute them."
            )
        inf_mask = np.isinf(X) if allow_nan else ~np.isfinite(X)
        if inf_mask.any():
            raise ValueError(
                f"Input {name} contains infinity or a value too large for "
                f"dtype('{X.dtype}'): {_describe_positions(inf_mask)}."
            )
    return X


def _nullable_frame_as_float(X):
    """A DataFrame with nullable (extension) columns as float64, missing values NaN.

    pandas' nullable ``Int64``, ``Float64`` and ``boolean`` columns become an
    object array holding ``pd.NA`` under ``np.asarray``, which the numeric
    checks would reject as "numbers only"; as floats, a missing value is a
    NaN and gets the NaN message (scikit-learn converts them the same way).
    Detected by duck typing (extension dtypes are not numpy dtypes and have
    an ``na_value``), so pandas is never imported; anything else, and
    columns that are not numbers, are returned unchanged for the checks
    that follow.
    """
    dtypes = getattr(X, "dtypes", None)
    if not hasattr(X, "columns") or dtypes is None or not hasattr(X, "to_numpy"):
        return X
    try:
        dtypes = list(dtypes)
    except TypeError:
        return X
    extension = [dt for dt in dtypes if not isinstance(dt, np.dtype)]
    if not extension or not all(hasattr(dt, "na_value") for dt in extension):
        return X
    try:
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return X


def feature_names(X):
    """The column names of a DataFrame X, as scikit-learn's ``_get_feature_names``.

    Any object with a ``columns`` attribute (pandas, polars, ...) is read;
    pandas is never imported.

    Returns
    -------
    names : ndarray of shape (n_features,), dtype object, or None
        The names when every one is a ``str``; None for an array, a frame
        without columns, or names of another type (integers, tuples).

    Raises
    ------
    TypeError
        Names that mix ``str`` with other types (scikit-learn's message).
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    try:
        names = np.asarray(columns, dtype=object)
    except (TypeError, ValueError):
        return None
    if names.ndim != 1 or names.shape[0] == 0:
        return None
    types = sorted(t.__qualname__ for t in set(type(v) for v in names))
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type."
        )
    if len(types) == 1 and types[0] == "str":
        return names
    return None


def check_feature_names(X, fitted_names, estimator_name):
    """Check the column names of X against those seen in fit, as scikit-learn.

    A UserWarning when only one of the two has names; a ValueError naming
    the unseen and missing columns (or the change of order) when they
    differ. scikit-learn's messages, word for word.

    Parameters
    ----------
    X : array-like or DataFrame
        The data, before conversion.
    fitted_names : ndarray of str or None
        ``feature_names_in_`` of the fitted estimator.
    estimator_name : str
    """
    names = feature_names(X)
    if fitted_names is None and names is None:
        return
    if fitted_names is None:
        warnings.warn(
            f"X has feature names, but {estimator_name} was fitted without feature names",
            UserWarning, stacklevel=4)
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {estimator_name} was fitted "
            "with feature names", UserWarning, stacklevel=4)
        return
    if len(fitted_names) == len(names) and np.all(fitted_names == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names) - set(fitted_names))
    missing = sorted(set(fitted_names) - set(names))

    def listed(values):
        shown = "".join(f"- {v}\n" for v in values[:5])
        return shown + ("- ...\n" if len(values) > 5 else "")

    if unexpected:
        message += "Feature names unseen at fit time:\n" + listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listed(missing)
    if not missing and not unexpected:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_sample_weight(sample_weight, n_samples, *, rescale=False):
    """Validate per-row weights; returns float64 of shape (n_samples,) or (0,) for None.

    With ``rescale``, the weights are multiplied by the power of two that
    brings the largest into [1, 2) (:func:`rescale_sample_weight`).
    """
    if sample_weight is None:
        return np.empty(0)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, float(sample_weight))
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("sample_weight must be an array of numbers.") from None
    if sw.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {sw.shape}.")
    if sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == ({sw.shape[0]},), expected ({n_samples},)!"
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(sw < 0):
        raise ValueError(
            f"Negative values in data passed to sample_weight: {int((sw < 0).sum())} "
            "negative value(s)."
        )
    largest = float(sw.max(initial=0.0))
    if not largest > 0:
        raise ValueError("sample_weight must have a positive sum; all weights are zero.")
    if rescale:
        return rescale_sample_weight(sw)[0]
    return np.ascontiguousarray(sw)


def rescale_sample_weight(sample_weight):
    """Validated weights times the power of two ``2**e`` that brings the largest
    into [1, 2), and ``e``; ``(sample_weight, 0)`` for none (shape (0,)).

    Exact in floating point: a fit (which does not depend on the scale of
    the weights) with the rescaled weights equals the fit with the weights
    as given, the same bits for weights that differ by a power of two, and
    nothing overflows or underflows for weights of 1e300 or 1e-50.
    Quantities in units of the weights (a weighted inertia, a BIC) are
    scaled back by ``2**-e``, also exact.
    """
    if sample_weight.shape[0] == 0:
        return sample_weight, 0
    exponent = weight_exponent(float(sample_weight.max()),
                               float(sample_weight[sample_weight > 0].min()))
    if exponent == 0:
        return np.ascontiguousarray(sample_weight), 0
    return np.ldexp(sample_weight, exponent), exponent


def weight_exponent(largest, smallest_positive):
    """``e`` such that ``largest * 2**e`` lies in [1, 2): the exact rescaling of
    the sample weights (``np.ldexp(sample_weight, e)``).

    Raises
    ------
    ValueError
        When the smallest positive weight would then fall below float64's
        smallest normal number (2**-1022): the weights span more than float64
        can hold at one scale.
    """
    exponent = 1 - int(np.frexp(largest)[1])  # frexp: largest = m 2**p, 0.5 <= m < 1
    if np.ldexp(smallest_positive, exponent) < np.finfo(np.float64).tiny:
        raise ValueError(
            f"sample_weight spans too wide a range: the largest weight ({largest:.3g}) "
            f"over the smallest positive one ({smallest_positive:.3g}) exceeds about "
            "2**1022 (4.5e307), so float64 cannot hold both at one scale. Set the "
            "negligible weights to 0."
        )
    return exponent


def _type_name(value):
    return type(value).__qualname__


def check_scalar(value, name, estimator_name, kind, low=None, high=None,
                 low_closed=True):
    """Check an int or real constructor parameter against a range.

    Raises InvalidParameterError (a ValueError and TypeError) with
    scikit-learn's message.
    """
    ok_type = (isinstance(value, numbers.Integral) and not isinstance(value, bool)
               if kind == "int" else
               isinstance(value, numbers.Real) and not isinstance(value, bool))
    in_range = ok_type and not (isinstance(value, float) and np.isnan(value))
    if in_range and low is not None:
        in_range = value >= low if low_closed else value > low
    if in_range and high is not None:
        in_range = value <= high
    if not in_range:
        what = "an int" if kind == "int" else "a float"
        bracket = "[" if low_closed else "("
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InvalidParameterError(
            f"The {name!r} parameter of {estimator_name} must be {what} in the range "
            f"{bracket}{lo}, {hi}{']' if high is not None else ')'}. Got {value!r} instead."
        )


def check_option(value, name, estimator_name, options):
    """Check a string parameter against its allowed values."""
    if not isinstance(value, str) or value not in options:
        shown = ", ".join(repr(o) for o in sorted(options))
        raise InvalidParameterError(
            f"The {name!r} parameter of {estimator_name} must be a str among "
            f"{{{shown}}}. Got {value!r} instead."
        )


def validate_random_state(seed, estimator_name="GaussianMixture"):
    """Raise unless ``seed`` is None, an int or a ``np.random.RandomState``
    (scikit-learn's rule); builds nothing (seeding a RandomState from an int
    costs about 0.1 ms, which a fit pays once, in :func:`check_random_state`).

    Raises
    ------
    InvalidParameterError
        For anything else (a ``np.random.Generator`` included).
    """
    if (seed is None or seed is np.random or isinstance(seed, np.random.RandomState)
            or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool))):
        return
    raise InvalidParameterError(
        f"The 'random_state' parameter of {estimator_name} must be an int in the range "
        f"[0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None. "
        f"Got {seed!r} instead."
    )


def check_random_state(seed, estimator_name="GaussianMixture"):
    """A ``np.random.RandomState`` from None, an int or an instance (scikit-learn's rule).

    Raises
    ------
    InvalidParameterError
        For anything else (a ``np.random.Generator`` included).
    """
    validate_random_state(seed, estimator_name)
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.RandomState(seed)
