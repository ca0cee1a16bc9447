"""Numeric data from CSV text, for the command line.

:func:`read_csv` turns a text stream into a float array, its column names
and notes for the user. It decides the layout from a sample of the first
lines, then parses the rest in blocks of whole lines:

* **Layout** (from the first ``SAMPLE_LINES`` lines): the delimiter (``,``
  ``;`` tab, or runs of whitespace), whether the first record is a header,
  and which columns hold numbers and which text. Anything the sample cannot
  settle is refused with a message that says which option settles it
  (``--delimiter``, ``--decimal``, ``--header``/``--no-header``); a file is
  never read on a guess.
* **Blocks** of about ``BLOCK_CHARS`` characters are parsed by a fast engine:
  pandas' C parser when pandas is installed (up to ``PANDAS_MAX_COLUMNS``
  columns), ``numpy.loadtxt`` otherwise (for files without text columns).
  A block that the engine rejects, or whose result holds a NaN or an
  infinity, is parsed again by the reference parser (the ``csv`` module
  and :func:`parse_field`), which alone decides values, missing values and
  errors, with the line and the column of the offending field; when the
  engine gave one row per line, only the rows with a NaN are read again.
  Fields quoted whole (``"1.5"``, ``"a, b"``) are left to the engines; once
  a block holds any other quote (a doubled quote, a newline inside quotes,
  a stray quote) the reference parser reads the rest of the file. Both
  engines therefore give the same array and the same errors.
* **Memory**: rows are written into one preallocated array (sized from the
  sample's line length and the file size, grown by half when needed), so
  the peak is about the array plus one block's parse.

A number is what Python's ``float`` reads, in ASCII, without ``_``; with
``decimal=","`` it has a comma where ``float`` wants a point. Fields in
``MISSING_VALUES`` (any case) and NaNs are missing; an infinity is an error.
"""

import csv
import io
import itertools
import math
import re
import warnings

import numpy as np

__all__ = ["read_csv", "parse_field", "CSVError", "MISSING_VALUES", "WHITESPACE", "ENGINES"]

# Fields read as a missing value (compared in lower case, after stripping).
MISSING_VALUES = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})

# The delimiter that stands for runs of spaces and tabs.
WHITESPACE = "whitespace"

# Delimiters tried, in this order, when none is given.
CANDIDATE_DELIMITERS = (",", ";", "\t")

ENGINES = ("pandas", "numpy")

# The layout is decided from at most this many non-blank lines or characters.
SAMPLE_LINES = 1000
SAMPLE_CHARS = 1 << 18

# Characters per fast-engine call. 1 MiB: on 1e6 x 3 random floats (28 MB)
# the time is flat from 256 KiB to 8 MiB blocks (asv_benchmarks/csv_read.py)
# and the parse of a block stays small beside the array.
BLOCK_CHARS = 1 << 20

# pandas builds a DataFrame per block at a cost per column: above this many
# columns numpy.loadtxt parses a 1 MiB block faster (measured on random
# floats: pandas 27-49 ms against loadtxt 80-96 ms for 3-300 columns; 128 ms
# against 31 ms for 1000 columns).
PANDAS_MAX_COLUMNS = 300

# Records per chunk when the reference parser reads the rest of a file.
CHUNK_RECORDS = 1 << 14

# Longest field text quoted in a message.
_SHOWN_CHARS = 40


class CSVError(ValueError):
    """Bad or ambiguous CSV input; the message names the file, line and column."""


def parse_field(text, decimal="."):
    """A CSV field as a float, ``None`` when missing, or the stripped text.

    Parameters
    ----------
    text : str
        The field, as the ``csv`` module returns it (quotes removed).
    decimal : {".", ","}
        The decimal mark. With ``","``, a field with a point is text.

    Returns
    -------
    value : float, None or str
        A finite or infinite float; ``None`` for a field in
        ``MISSING_VALUES`` or a NaN; the stripped text for anything else.
    """
    text = text.strip()
    if text.lower() in MISSING_VALUES:
        return None
    number = text
    if decimal != ".":
        if "." in text:
            return text
        number = text.replace(decimal, ".")
    if not number.isascii() or "_" in number:
        return text
    try:
        value = float(number)
    except ValueError:
        return text
    return None if value != value else value


def _blank(fields):
    """Whether a record is a blank line (no field, or one of whitespace)."""
    return len(fields) <= 1 and (not fields or not fields[0].strip())


def _shown(text):
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...")


def _delimiter_name(delimiter):
    return {"\t": "tab", WHITESPACE: "whitespace"}.get(delimiter, repr(delimiter))


def _delimiter_option(delimiter):
    return {"\t": "tab", WHITESPACE: "whitespace"}.get(delimiter, f"'{delimiter}'")


class _Layout:
    """What the sample settled: delimiter, decimal mark, header, column kinds."""

    def __init__(self, name, delimiter, decimal, n_columns, header, numeric, text):
        self.name = name
        self.delimiter = delimiter
        self.decimal = decimal
        self.n_columns = n_columns
        self.header = header  # list of stripped names, or None
        self.numeric = numeric  # column indices read as numbers
        self.text = text  # column indices skipped

    def label(self, j):
        """Column `j` in a message: its quoted name, else its 1-based number."""
        if self.header is not None and self.header[j]:
            return repr(self.header[j])
        return str(j + 1)

    def records(self, lines, first_line=1):
        """``(line number, fields)`` of the non-blank records of `lines`."""
        if self.delimiter == WHITESPACE:
            for number, line in enumerate(lines, first_line):
                fields = line.split()
                if fields:
                    yield number, fields
            return
        reader = csv.reader(lines, delimiter=self.delimiter, skipinitialspace=True)
        try:
            for fields in reader:
                if not _blank(fields):
                    yield first_line - 1 + reader.line_num, fields
        except csv.Error as exc:
            raise CSVError(
                f"{self.name}: line {first_line - 1 + reader.line_num}: bad CSV ({exc})") from None


# ---------------------------------------------------------------------------
# The layout, from a sample


def _read_sample(stream):
    """The first lines of `stream` (newlines normalised) and whether it ended."""
    chunks, n_chars, n_lines = [], 0, 0
    while n_lines < SAMPLE_LINES and n_chars < SAMPLE_CHARS:
        # The first two lines whole (up to 64 sample sizes): a header can be long.
        line = stream.readline(SAMPLE_CHARS * (64 if n_lines < 2 else 1))
        if not line:
            break
        chunks.append(line)
        n_chars += len(line)
        if line.strip():
            n_lines += 1
    at_end = n_lines < SAMPLE_LINES and n_chars < SAMPLE_CHARS
    text = _normalise_newlines("".join(chunks)).removeprefix("\ufeff")
    # Lines end at "\n" only, as in the blocks (str.splitlines also splits at
    # "\x0b", "\x1c", "\u2028" and others).
    return io.StringIO(text).readlines(), at_end


def _normalise_newlines(text):
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _sample_records(layout, lines, at_end):
    records = list(layout.records(lines))
    if not at_end and len(records) > 1:
        records.pop()  # may be cut short by the end of the sample
    return records


def _choose_delimiter(name, lines, at_end, decimal, decimal_given):
    """The delimiter that splits the sample consistently, or an error saying why not."""
    splits = {}
    for delimiter in CANDIDATE_DELIMITERS:
        layout = _Layout(name, delimiter, decimal, 0, None, [], [])
        try:
            records = _sample_records(layout, lines, at_end)
        except CSVError:
            continue
        if records and len(records[0][1]) >= 2:
            splits[delimiter] = [len(fields) for _, fields in records]
    if decimal_given and decimal in splits and len(splits) > 1:
        del splits[decimal]  # "1,5;2,5" with --decimal ','
    if not splits:
        layout = _Layout(name, WHITESPACE, decimal, 0, None, [], [])
        records = _sample_records(layout, lines, at_end)
        if records and len(records[0][1]) >= 2:
            return WHITESPACE
        return ","  # one column
    if len(splits) == 1:
        return next(iter(splits))
    consistent = [d for d, counts in splits.items() if len(set(counts)) == 1]
    if len(consistent) == 1:
        return consistent[0]
    shown = " and ".join(
        f"{counts[0]} fields at {_delimiter_name(d)}" for d, counts in splits.items())
    options = " or ".join(f"--delimiter {_delimiter_option(d)}" for d in splits)
    hint = ""
    if ";" in splits and "," in splits and not decimal_given:
        hint = (" A ';'-separated file with decimal commas (1,5) is read with "
                "--delimiter ';' --decimal ','.")
    raise CSVError(
        f"{name}: cannot tell the delimiter: the first line splits into {shown}; "
        f"pass {options}.{hint}")


def _column_kinds(records, n_columns, decimal):
    """For each column, the set of kinds among its fields: 'number', 'text'."""
    kinds = [set() for _ in range(n_columns)]
    for _, fields in records:
        if len(fields) != n_columns:
            continue  # reported with its line when the data are read
        for j, field in enumerate(fields):
            value = parse_field(field, decimal)
            if value is not None:
                kinds[j].add("text" if isinstance(value, str) else "number")
    return kinds


def _check_decimal_commas(name, records):
    """Refuse columns of numbers written with decimal commas when the mark is '.'.

    Looked for below the first record (a header or not); the column is
    named by the first record's field when that is not such a number.
    """
    first = records[0][1]
    below = records[1:] or records
    for j in range(len(first)):
        texts = [fields[j] for _, fields in below
                 if len(fields) == len(first) and isinstance(parse_field(fields[j]), str)]
        if texts and all(isinstance(parse_field(t, ","), float) for t in texts):
            example = next(t.strip() for t in texts if "," in t)
            title = first[j].strip()
            named = isinstance(parse_field(title, ","), str) and title
            label = repr(title) if named else str(j + 1)
            raise CSVError(
                f"{name}: column {label} holds numbers with decimal commas "
                f"(like {example!r}); pass --decimal ',' to read them as numbers, or "
                "--decimal '.' to skip the column as text")


def _layout(name, lines, at_end, *, delimiter, decimal, header):
    """Decide the layout; return it with the line number where the data start."""
    decimal_given = decimal is not None
    decimal = decimal or "."
    if delimiter is None:
        delimiter = _choose_delimiter(name, lines, at_end, decimal, decimal_given)
    layout = _Layout(name, delimiter, decimal, 0, None, [], [])
    records = _sample_records(layout, lines, at_end)
    if not records:
        raise CSVError(f"{name}: empty, no data rows")
    first_line, first = records[0]
    layout.n_columns = n_columns = len(first)
    if not decimal_given:
        _check_decimal_commas(name, records)

    first_values = [parse_field(field, decimal) for field in first]
    texts = [j for j, v in enumerate(first_values) if isinstance(v, str)]
    numbers = [j for j, v in enumerate(first_values) if isinstance(v, float)]
    kinds = _column_kinds(records[1:], n_columns, decimal)
    if header is None:
        if not texts:
            header = False
        elif not numbers:
            header = True
        elif all(kinds[j] == {"text"} for j in texts):
            header = False  # text columns, whose first field is text too
        else:
            shown_text = ", ".join(_shown(first[j].strip()) for j in texts[:3])
            shown_numbers = ", ".join(_shown(first[j].strip()) for j in numbers[:3])
            raise CSVError(
                f"{name}: cannot tell whether line {first_line} is a header: it has text "
                f"({shown_text}) above numbers and numbers ({shown_numbers}); pass --header "
                "or --no-header")
    if header:
        layout.header = [field.strip() for field in first]
        data_start = first_line + 1
    else:
        kinds = _column_kinds(records, n_columns, decimal)
        data_start = 1
    # A column with text and no number in the sample is skipped; one with
    # both is read as numbers, so that its first text field is reported.
    layout.text = [j for j in range(n_columns) if kinds[j] == {"text"}]
    layout.numeric = [j for j in range(n_columns) if kinds[j] != {"text"}]
    if not layout.numeric:
        raise CSVError(f"{name}: no numeric columns")
    return layout, data_start


# ---------------------------------------------------------------------------
# Parsing blocks


def _parse_records(layout, records):
    """The reference parser: numeric fields of `records` as float64.

    Returns ``(values, missing_lines)``: `values` has one row per record,
    NaN where a field is missing; `missing_lines` pairs the row of each
    record with a missing field with its line number.
    """
    records = records if isinstance(records, list) else list(records)
    result = _parse_records_at_once(layout, records)
    return result if result is not None else _parse_each_record(layout, records)


def _parse_records_at_once(layout, records):
    """``_parse_records`` for the common case, in a few passes over all fields.

    Applies when every record has its fields and every numeric field is an
    ASCII number ``float`` reads or a missing value spelt as pandas is told
    (``_PANDAS_NA``); the rows that then hold a NaN or an infinity are read
    again by ``_parse_each_record``, which decides what they hold. Returns
    ``None`` where it does not apply.
    """
    numeric, n_columns = layout.numeric, layout.n_columns
    if layout.decimal != "." or not records or any(len(f) != n_columns for _, f in records):
        return None
    flat = [fields[j] for _, fields in records for j in numeric]
    joined = "".join(flat)
    if not joined.isascii() or "_" in joined:
        return None
    try:
        values = np.fromiter(map(float, flat), np.float64, count=len(flat))
    except ValueError:
        missing_spellings = _PANDAS_NA_SET
        try:
            values = np.fromiter(map(float, ["nan" if f in missing_spellings else f for f in flat]),
                                 np.float64, count=len(flat))
        except ValueError:
            return None
    values = values.reshape(len(records), len(numeric))
    again = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if not again.size:
        return values, []
    again_values, again_missing = _parse_each_record(layout, [records[i] for i in again])
    values[again] = again_values
    return values, [(int(again[k]), line) for k, line in again_missing]


def _parse_each_record(layout, records):
    """``_parse_records`` one record at a time."""
    numeric, n_columns, decimal = layout.numeric, layout.n_columns, layout.decimal
    rows, missing = [], []
    for line, fields in records:
        if len(fields) != n_columns:
            s = "s" if len(fields) != 1 else ""
            raise CSVError(
                f"{layout.name}: line {line} has {len(fields)} field{s}, expected "
                f"{n_columns} like the first row")
        try:
            if decimal != ".":
                raise ValueError
            values = [float(fields[j]) for j in numeric]
            total = sum(values)
            if total - total != 0.0:
                raise ValueError  # a NaN or an infinity: look at each field
            joined = "".join([fields[j] for j in numeric])
            if not joined.isascii() or "_" in joined:
                raise ValueError
        except ValueError:
            values = []
            for j in numeric:
                value = parse_field(fields[j], decimal)
                if value is None:
                    value = math.nan
                elif isinstance(value, str):
                    raise CSVError(
                        f"{layout.name}: line {line}: {_shown(value)} in column "
                        f"{layout.label(j)} is not a number (mark missing values NA or "
                        "leave them empty)") from None
                elif math.isinf(value):
                    raise CSVError(
                        f"{layout.name}: line {line}: infinite value in column "
                        f"{layout.label(j)}") from None
                values.append(value)
            if any(v != v for v in values):
                missing.append((len(rows), line))
        rows.append(values)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(numeric))
    return values, missing


# The missing values pandas turns into NaN itself (it compares exactly); other
# spellings make it fail, and the reference parser reads the block.
_PANDAS_NA = sorted({v for t in MISSING_VALUES for v in (t, t.upper(), t.title())} | {"NaN"})
_PANDAS_NA_SET = frozenset(_PANDAS_NA)


def _pandas_block(layout, text):
    """Parse a block with pandas' C parser.

    Returns ``(values, suspect)``, float64 values and the rows that the
    reference parser must read again (a NaN or an infinity, a missing or
    absent text field), or ``None`` when it must read the whole block.
    """
    if layout.n_columns > PANDAS_MAX_COLUMNS:
        return _numpy_block(layout, text)
    if layout.decimal == layout.delimiter:
        return None  # quoted "1,5" in a ','-separated file: the reference parser reads it
    import pandas as pd

    dtypes = np.float64
    if layout.text:
        dtypes = {j: np.float64 for j in layout.numeric}
        dtypes.update({j: "category" for j in layout.text})
    options = {}
    if int(pd.__version__.split(".")[0]) < 3:
        options["float_precision"] = "round_trip"  # correctly rounded, as float()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(
                io.StringIO(text),
                sep=r"\s+" if layout.delimiter == WHITESPACE else layout.delimiter,
                header=None, index_col=False, dtype=dtypes, decimal=layout.decimal,
                keep_default_na=False, na_values=_PANDAS_NA, skipinitialspace=True,
                quoting=csv.QUOTE_MINIMAL if _quoted(layout, text) else csv.QUOTE_NONE,
                comment=None, engine="c", **options,
            )
    except Exception:  # any refusal: the reference parser finds and reports it
        return None
    if frame.shape[1] != layout.n_columns:
        return None
    values = frame[layout.numeric].to_numpy(dtype=np.float64)
    suspect = ~np.isfinite(values).all(axis=1)
    if layout.text:
        suspect |= frame[layout.text].isna().to_numpy().any(axis=1)
    return values, suspect


def _numpy_block(layout, text):
    """Parse a block with ``numpy.loadtxt``; as ``_pandas_block``.

    loadtxt knows no missing values: when it refuses a block, the missing
    fields are written ``nan`` (``_missing_as_nan``) and it tries once more.
    """
    if layout.text:
        return None  # loadtxt's usecols would let rows with extra fields through
    if layout.decimal != ".":
        if "." in text or layout.decimal == layout.delimiter:
            return None
        text = text.replace(layout.decimal, ".")
    values = _loadtxt(layout, text)
    if values is None:
        values = _loadtxt(layout, _missing_as_nan(layout, text))
    if values is None or values.shape[1] != layout.n_columns or values.shape[0] == 0:
        return None
    return values, ~np.isfinite(values).all(axis=1)


def _loadtxt(layout, text):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(
                io.StringIO(text), dtype=np.float64, comments=None, ndmin=2,
                delimiter=None if layout.delimiter == WHITESPACE else layout.delimiter,
                quotechar='"' if _quoted(layout, text) else None,
            )
    except Exception:
        return None


_MISSING_PATTERN = "|".join(re.escape(t) for t in sorted(MISSING_VALUES, reverse=True) if t)


def _missing_as_nan(layout, text):
    """`text` with the missing fields written ``nan``, those loadtxt would refuse.

    Only a speed-up, so it need not catch every spelling (the block then
    goes to the reference parser): the rows that hold a NaN afterwards are
    read again by the reference parser, which decides what they hold.
    Fields with spaces around them are left alone; blank lines stay blank.
    """
    if layout.delimiter == WHITESPACE:
        return re.sub(rf"(?<!\S)(?i:{_MISSING_PATTERN})(?!\S)", "nan", text)
    d = layout.delimiter
    text = "\n" + text  # every line starts after a newline
    for token in _PANDAS_NA:
        if token and token in text:
            for _ in range(2):  # "a,NA,NA,b": the second match overlaps the first
                text = text.replace(f"{d}{token}{d}", f"{d}nan{d}")
            text = text.replace(f"{d}{token}\n", f"{d}nan\n").replace(f"\n{token}{d}", f"\nnan{d}")
    for _ in range(2):
        text = text.replace(d + d, f"{d}nan{d}")
    text = text.replace(f"{d}\n", f"{d}nan\n").replace(f"\n{d}", f"\nnan{d}")
    if text.endswith(d):
        text += "nan"
    return text[1:]


_FAST_ENGINES = {"pandas": _pandas_block, "numpy": _numpy_block}


def _reread_rows(layout, text, first_line, n_lines, values, suspect):
    """Read the `suspect` rows of a fast engine's block again, with the reference parser.

    Only when the engine gave one row per line (no blank line skipped), so
    that row ``i`` is line ``first_line + i``. Returns ``(values,
    missing)`` as ``_parse_records`` does, or ``None``.
    """
    if values.shape[0] != n_lines:
        return None
    rows = np.flatnonzero(suspect)
    lines = text.split("\n")
    records = []
    for i in rows.tolist():
        fields = lines[i].split() if layout.delimiter == WHITESPACE else next(
            csv.reader([lines[i]], delimiter=layout.delimiter, skipinitialspace=True), [])
        if _blank(fields):
            return None
        records.append((first_line + i, fields))
    again, missing = _parse_records(layout, records)
    if not values.flags.writeable:
        values = values.copy()  # pandas' copy-on-write view
    values[rows] = again
    return values, [(int(rows[k]), line) for k, line in missing]


def _quoted(layout, text):
    """Whether `text` has quoted fields (a quote is a character like any other
    between whitespace-separated fields)."""
    return layout.delimiter != WHITESPACE and '"' in text


def _simple_quotes(layout, text):
    """Whether every quote in `text` opens or closes a field quoted whole, without
    quote or newline inside: fields that the engines and the csv module read alike."""
    d = re.escape(layout.delimiter)
    quoted = rf'(?m)(?:^|(?<={d})) *"[^"\n]*"(?=$|{d})'
    return '"' not in re.sub(quoted, "", text)


def _blocks(stream, prefix):
    """Blocks of whole lines: `prefix`, then the rest of `stream`."""
    first = "".join(prefix)
    while True:
        text = stream.read(BLOCK_CHARS)
        if text and not text.endswith("\n"):
            text += stream.readline()
        if first:
            text, first = first + text, ""
        if not text:
            return
        yield _normalise_newlines(text)


class _Rows:
    """Rows written into one array grown in place (``ndarray.resize``)."""

    def __init__(self, n_columns, dtype, capacity):
        self.array = np.empty((max(int(capacity), 16), n_columns), dtype=dtype)
        self.n = 0

    def append(self, values):
        m = values.shape[0]
        if self.n + m > self.array.shape[0]:
            rows = max(self.n + m, self.array.shape[0] * 3 // 2)
            self.array.resize((rows, self.array.shape[1]), refcheck=False)
        self.array[self.n:self.n + m] = values
        self.n += m

    def finish(self):
        self.array.resize((self.n, self.array.shape[1]), refcheck=False)
        return self.array


def _estimated_rows(lines, data_start, size_hint):
    """Rows to allocate first: the file size over the sample's line length."""
    data_lines = lines[data_start - 1:]
    n_chars = sum(len(line) for line in data_lines)
    if not data_lines or not n_chars:
        return 1024
    if size_hint is None:
        return 4 * len(data_lines)
    # 2% more than the estimate: one allocation for files of even lines.
    return int(1.02 * size_hint * len(data_lines) / n_chars) + 16


# ---------------------------------------------------------------------------
# The reader


def read_csv(stream, name, *, on_missing="skip", dtype=np.float64, delimiter=None,
             decimal=None, header=None, engine=None, size_hint=None):
    """The numeric columns of CSV text as an array.

    Parameters
    ----------
    stream : text stream
        Read once, from its current position, in blocks.
    name : str
        The file's name in messages.
    on_missing : {"skip", "error", "keep"}
        Rows with a missing value are dropped (and listed in a note), are
        an error naming the first one's line and column, or are kept with
        NaN where a value is missing (``fastgmm fit --nan-policy marginalize``).
    dtype : numpy dtype
        float64 or float32; fields are parsed in float64, then cast.
    delimiter : str, optional
        ``","``, ``";"``, ``"\\t"``, ``"|"``, ``":"`` or ``WHITESPACE``;
        detected when ``None``.
    decimal : {".", ","}, optional
        The decimal mark; ``"."`` when ``None``, and a column of numbers
        with commas is then refused with a hint.
    header : bool, optional
        Whether the first record is a header; detected when ``None``: a
        first record without numbers is a header, one whose text lies only
        in text columns is data, anything else is refused.
    engine : {"pandas", "numpy"}, optional
        The fast engine; pandas when it is installed, else numpy. Both give
        the same results and errors.
    size_hint : int, optional
        The size of the file in bytes, to allocate the array once.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), of `dtype`
    names : list of str or None
        The header's names of the columns in `X`; ``None`` without a header.
    notes : list of str
        Skipped columns and rows, for the user.

    Raises
    ------
    CSVError
        On bad or ambiguous input; the message names the file, and the line
        and column where there is one.
    """
    if engine is None:
        try:
            import pandas  # noqa: F401

            engine = "pandas"
        except ImportError:
            engine = "numpy"
    if engine not in _FAST_ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    try:
        return _read(stream, name, on_missing=on_missing, dtype=dtype, delimiter=delimiter,
                     decimal=decimal, header=header, fast=_FAST_ENGINES[engine],
                     size_hint=size_hint)
    except UnicodeDecodeError as exc:
        raise CSVError(f"{name}: not a UTF-8 text file ({exc.reason})") from None


def _read(stream, name, *, on_missing, dtype, delimiter, decimal, header, fast, size_hint):
    lines, at_end = _read_sample(stream)
    if not any(line.strip() for line in lines):
        raise CSVError(f"{name}: empty, no data rows")
    layout, data_start = _layout(name, lines, at_end, delimiter=delimiter, decimal=decimal,
                                 header=header)
    notes = []
    if layout.text:
        s = "s" if len(layout.text) > 1 else ""
        notes.append(f"{name}: skipped non-numeric column{s} "
                     f"{', '.join(layout.label(j) for j in layout.text)}")

    out = _Rows(len(layout.numeric), dtype, _estimated_rows(lines, data_start, size_hint))
    missing = []  # (row in X, line)
    line = data_start
    blocks = _blocks(stream, lines[data_start - 1:])
    for text in blocks:
        if _quoted(layout, text) and not _simple_quotes(layout, text):
            # A quoted field holds a quote or a newline, or a quote is not at
            # the edge of a field: from here on the csv module reads the rest.
            rest = itertools.chain(
                io.StringIO(text), itertools.chain.from_iterable(map(io.StringIO, blocks)))
            records = layout.records(rest, first_line=line)
            while chunk := list(itertools.islice(records, CHUNK_RECORDS)):
                values, chunk_missing = _parse_records(layout, chunk)
                missing.extend((out.n + row, n) for row, n in chunk_missing)
                out.append(values)
            break
        n_lines = text.count("\n") + (not text.endswith("\n"))
        result = fast(layout, text)
        if result is not None:
            values, suspect = result
            result = (_reread_rows(layout, text, line, n_lines, values, suspect)
                      if suspect.any() else (values, []))
        if result is None:
            values, block_missing = _parse_records(
                layout, layout.records(io.StringIO(text), first_line=line))
        else:
            values, block_missing = result
        missing.extend((out.n + row, n) for row, n in block_missing)
        out.append(values)
        line += n_lines
    X = out.finish()
    if X.shape[0] == 0:
        raise CSVError(f"{name}: no data rows, only a header" if layout.header is not None
                       else f"{name}: empty, no data rows")

    names = layout.header
    columns = list(layout.numeric)
    if missing:
        has_value = ~np.isnan(X).all(axis=0)
        if has_value.any() and not has_value.all():
            empty = [j for j, keep in zip(columns, has_value) if not keep]
            s = "s" if len(empty) > 1 else ""
            notes.append(f"{name}: skipped column{s} without values "
                         f"{', '.join(layout.label(j) for j in empty)}")
            columns = [j for j, keep in zip(columns, has_value) if keep]
            X = np.ascontiguousarray(X[:, has_value])
        rows = np.array([row for row, _ in missing], dtype=np.intp)
        incomplete = np.isnan(X[rows]).any(axis=1)
        missing = [m for m, bad in zip(missing, incomplete) if bad]
    if missing and on_missing == "keep":
        s = "s" if len(missing) > 1 else ""
        notes.append(f"{name}: {len(missing)} row{s} with missing values kept (NaN)")
    elif missing:
        if on_missing == "error":
            row, line = missing[0]
            j = columns[int(np.flatnonzero(np.isnan(X[row]))[0])]
            raise CSVError(
                f"{name}: line {line}: missing value in column {layout.label(j)} "
                "(predict writes one row per input row: remove or fill in rows with "
                "missing values first)")
        lines_shown = [n for _, n in missing]
        shown = ", ".join(str(n) for n in lines_shown[:5])
        if len(lines_shown) > 5:
            shown += f", ... ({len(lines_shown)} in all)"
        s = "s" if len(missing) > 1 else ""
        notes.append(f"{name}: skipped {len(missing)} row{s} with missing values "
                     f"(line{s} {shown})")
        X = _drop_rows(X, np.array([row for row, _ in missing], dtype=np.intp))
        if X.shape[0] == 0:
            raise CSVError(f"{name}: no rows without missing values")
    return X, (None if names is None else [names[j] for j in columns]), notes


def _drop_rows(X, rows):
    """`X` without `rows` (sorted), compacted in place in pieces of bounded size."""
    kept = 0
    start = 0
    for stop in itertools.chain(rows.tolist(), [X.shape[0]]):
        for piece in range(start, stop, CHUNK_RECORDS):
            n = min(CHUNK_RECORDS, stop - piece)
            if kept != piece:
                X[kept:kept + n] = X[piece:piece + n]
            kept += n
        start = stop + 1
    X.resize((kept, X.shape[1]), refcheck=False)
    return X
