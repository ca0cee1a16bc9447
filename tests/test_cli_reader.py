"""The command line's CSV reader (``fastgmm.cli._csv``) and its use of column names.

Most tests call the reader in-process with both engines, pandas and numpy,
and check they agree: same array (bit for bit), same names, notes and error
messages. The references are ``numpy.loadtxt`` and plain Python parsing of
the test's own text, never the reader. A few tests run ``python -m fastgmm``
as a subprocess for what only the command line does (exit status, model
files, column names checked by predict and score).
"""

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import reference
import fastgmm
from fastgmm import cli
from fastgmm.cli import _csv, arguments, messages
from fastgmm.cli import data as cli_data
from fastgmm import load as load_model

pytest.importorskip("pandas")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(fastgmm.__file__)))
ENGINES = ("pandas", "numpy")


def read(text, engine="pandas", on_missing="skip", dtype=np.float64, **options):
    """``(X, names, notes)`` of CSV `text`, read as a file opened by the CLI would be."""
    stream = io.TextIOWrapper(io.BytesIO(text.encode() if isinstance(text, str) else text),
                              encoding="utf-8-sig")
    return _csv.read_csv(stream, "t.csv", on_missing=on_missing, dtype=dtype,
                         engine=engine, **options)


def read_both(text, **options):
    """Read `text` with both engines; check they agree; return pandas' result."""
    results = []
    for engine in ENGINES:
        try:
            results.append(read(text, engine, **options))
        except _csv.CSVError as exc:
            results.append(exc)
    a, b = results
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b) and str(a) == str(b), (a, b)
        raise a
    assert a[0].dtype == b[0].dtype and a[0].flags.c_contiguous and b[0].flags.c_contiguous
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    return a


def refused(text, pattern, **options):
    with pytest.raises(_csv.CSVError, match=pattern):
        read_both(text, **options)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines and a short sample: every path meets a block boundary."""
    monkeypatch.setattr(_csv, "BLOCK_CHARS", 40)
    monkeypatch.setattr(_csv, "SAMPLE_LINES", 3)
    monkeypatch.setattr(_csv, "CHUNK_RECORDS", 4)


def run_cli(*args, cwd, input=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "fastgmm", *map(str, args)], cwd=cwd,
                          env=env, input=input, capture_output=True, text=True, timeout=120)


# -- values ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter, written", [(",", ","), (";", ";"), ("\t", "\t"),
                                                (_csv.WHITESPACE, "  ")])
def test_random_floats_read_exactly(delimiter, written, small_blocks):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) * 10.0 ** rng.integers(-300, 300, size=(50, 3))
    text = "x" + written + "y" + written + "z\n" + "".join(
        written.join(repr(v) for v in row) + "\n" for row in X.tolist())
    got, names, notes = read_both(text)
    np.testing.assert_array_equal(got, X)
    assert names == ["x", "y", "z"] and notes == []
    # The same file given the delimiter it was detected with.
    np.testing.assert_array_equal(read_both(text, delimiter=delimiter)[0], X)
    reference = np.loadtxt(io.StringIO(text), skiprows=1,
                           delimiter=None if delimiter == _csv.WHITESPACE else delimiter)
    np.testing.assert_array_equal(got, reference)


def test_fast_engines_parse_clean_blocks_and_fall_back_per_block(small_blocks, monkeypatch):
    calls = []
    reference = _csv._parse_records

    def spy(layout, records):
        records = list(records)
        calls.append([line for line, _ in records])
        return reference(layout, records)

    monkeypatch.setattr(_csv, "_parse_records", spy)
    rows = [f"{i},{i / 7!r}\n" for i in range(40)]
    expected = [[i, i / 7] for i in range(40)]
    for engine in ENGINES:
        calls.clear()
        assert read("a,b\n" + "".join(rows), engine)[0].tolist() == expected
        assert calls == []
        # A missing value: the reference parser reads that line again.
        damaged = rows.copy()
        damaged[25] = "25,NA\n"
        calls.clear()
        X, _, notes = read("a,b\n" + "".join(damaged), engine)
        assert X.tolist() == expected[:25] + expected[26:]
        assert calls == [[27]]
        assert notes == ["t.csv: skipped 1 row with missing values (line 27)"]


def test_simply_quoted_fields_go_to_the_fast_engines(small_blocks, monkeypatch):
    calls = []
    reference = _csv._parse_records
    monkeypatch.setattr(_csv, "_parse_records",
                        lambda layout, records: calls.append(1) or reference(layout, records))
    text = '"x","y","note"\n' + "".join(f'"{i}",{i / 3!r}, "a, b"\n' for i in range(20))
    expected = [[i, i / 3] for i in range(20)]
    X, names, _ = read(text, "pandas")
    assert X.tolist() == expected and names == ["x", "y"] and calls == []
    # loadtxt reads files without text columns only.
    X, _, _ = read(text.replace(', "a, b"', "").replace(',"note"', ""), "numpy")
    assert X.tolist() == expected and calls == []
    # A doubled quote inside a field: the csv module reads from that block on.
    X, _, _ = read_both(text.replace('"a, b"', '"a ""b"""'))
    assert X.tolist() == expected and calls
    # Between whitespace-separated fields a quote is a character like any other.
    refused('1 2 3\n4 5 6\n7 8 "9\n', r"line 3: '\"9' in column 3 is not a number")


def test_numpy_engine_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    X, names, _ = _csv.read_csv(io.StringIO("a,b\n1,2.5\n3,NA\n"), "t.csv")
    assert X.tolist() == [[1.0, 2.5]] and names == ["a", "b"]
    with pytest.raises(ValueError, match="engine must be one of"):
        _csv.read_csv(io.StringIO("1\n"), "t.csv", engine="arrow")


def test_float32_is_float64_parse_then_cast():
    X, _, _ = read_both("0.1,0.2\n1e-50,3.4028235e38\n", dtype=np.float32)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, np.array([[0.1, 0.2], [1e-50, 3.4028235e38]]).astype(np.float32))


def test_quotes_crlf_bom_blank_lines_and_spaces():
    text = '\ufeff"x 1", y2\r\n\r\n"1.5", 2e3 \r\n\n-3,"4"\r\n'
    X, names, _ = read_both(text)
    assert names == ["x 1", "y2"] and X.tolist() == [[1.5, 2000.0], [-3.0, 4.0]]


def test_quoted_field_spanning_a_block_boundary(small_blocks):
    rows = [f"{i},{i + 0.5},word{i}\n" for i in range(30)]
    rows[20] = '20,20.5,"two\nlines, and a comma"\n'
    X, names, notes = read_both("a,b,c\n" + "".join(rows))
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[i, i + 0.5] for i in range(30)])
    assert notes == ["t.csv: skipped non-numeric column 'c'"]


# -- delimiters and decimal marks ---------------------------------------------


def test_semicolons_with_decimal_commas_are_refused_or_read_as_asked():
    # Before: read at ',' into columns "1", "5;2", "3" and fitted on two fake columns.
    text = "1,5;2,25\n3,5;-4,0\n2,0;1e3\n"
    refused(text[:18], r"cannot tell the delimiter: the first line splits into 3 fields at "
                       r"',' and 2 fields at ';'.*--delimiter ';' --decimal ','")
    # Split consistently only at ';': the decimal commas are seen.
    refused(text, r"column 1 holds numbers with decimal commas \(like '3,5'\); "
                  r"pass --decimal ','")
    expected = [[1.5, 2.25], [3.5, -4.0], [2.0, 1000.0]]
    for options in ({"delimiter": ";", "decimal": ","}, {"decimal": ","}):
        X, names, _ = read_both(text, **options)
        assert X.tolist() == expected and names is None
    # With a header the delimiter is clear, the decimal mark is not.
    refused("a;b\n" + text, r"column 'a' holds numbers with decimal commas \(like '1,5'\); "
                            r"pass --decimal ','")
    assert read_both("a;b\n" + text, decimal=",")[0].tolist() == expected
    # A point is not a decimal mark when the mark is ','.
    refused("a;b\n1,5;2\n2.5;3\n", r"line 3: '2.5' in column 'a' is not a number", decimal=",")


def test_explicit_delimiters():
    assert read_both("a|b\n1|2\n", delimiter="|")[0].tolist() == [[1, 2]]
    assert read_both("a b\t c\n1 2 3\n", delimiter=_csv.WHITESPACE)[1] == ["a", "b", "c"]
    # One column: no delimiter in the file.
    X, names, _ = read_both("v\n1\n2.5\n")
    assert names == ["v"] and X.tolist() == [[1.0], [2.5]]


def test_ambiguous_delimiter_lists_the_options():
    refused("1;2,3\n4;5,6\n", r"pass --delimiter ',' or --delimiter ';'")


# -- header --------------------------------------------------------------------


def test_header_detection():
    assert read_both("x,y\n1,2\n")[1] == ["x", "y"]
    assert read_both("1,2\n3,4\n")[1] is None
    # A first row of text in text columns is data, as before.
    X, names, notes = read_both("a,1,2\nb,3,4\n")
    assert names is None and X.tolist() == [[1, 2], [3, 4]]
    assert notes == ["t.csv: skipped non-numeric column 1"]
    # Text above numbers beside numbers: a header with a numeric name, or a
    # bad first row? Refused, naming the options.
    refused("x,5\n1,2\n3,4\n", r"cannot tell whether line 1 is a header: it has text \('x'\) "
                               r"above numbers and numbers \('5'\); pass --header or --no-header")
    X, names, _ = read_both("x,5\n1,2\n3,4\n", header=True)
    assert names == ["x", "5"] and X.tolist() == [[1, 2], [3, 4]]
    refused("x,5\n1,2\n3,4\n", r"line 1: 'x' in column 1 is not a number", header=False)


def test_numeric_header_needs_the_option():
    # A header of numbers cannot be told from data: it is read as data
    # unless --header says otherwise.
    text = "2019,2020\n1.5,2\n3,4\n"
    X, names, _ = read_both(text)
    assert names is None and X.shape == (3, 2)
    X, names, _ = read_both(text, header=True)
    assert names == ["2019", "2020"] and X.tolist() == [[1.5, 2], [3, 4]]


def test_header_followed_by_an_all_missing_row():
    # Before: the NA row hid the header, which then failed as data.
    X, names, notes = read_both("a,b\nNA,NA\n1,2\n3,4.5\n")
    assert names == ["a", "b"] and X.tolist() == [[1, 2], [3, 4.5]]
    assert notes == ["t.csv: skipped 1 row with missing values (line 2)"]
    refused("a,b\nNA,NA\n1,2\n", r"line 2: missing value in column 'a'", on_missing="error")
    refused("a,b\n,\n", r"no rows without missing values")


# -- bad cells, missing values, shapes -----------------------------------------


def test_one_bad_cell_is_an_error_naming_line_and_column(small_blocks):
    # Before: column b was dropped with a note and the fit went on.
    refused("a,b\n1,2\n3,x\n5,6\n", r"t\.csv: line 3: 'x' in column 'b' is not a number")
    # Beyond the sample and in a later block.
    rows = "".join(f"{i},{i}\n" for i in range(40))
    refused("a,b\n" + rows + "7,1..2\n", r"line 42: '1\.\.2' in column 'b' is not a number")
    refused(rows + "7,1_0\n", r"line 41: '1_0' in column 2 is not a number")
    refused("a,b\n1,2\n3,inf\n", r"line 3: infinite value in column 'b'")
    refused("a,b\n1,2\n3,4,5\n", r"line 3 has 3 fields, expected 2 like the first row")
    refused("a,b\n" + rows + "3\n", r"line 42 has 1 field, expected 2 like the first row")


def test_missing_values_across_blocks(small_blocks):
    rows = [f"{i},{i + 1}\n" for i in range(30)]
    for i in (3, 17, 29):
        rows[i] = f"{i},NA\n"
    rows[10] = f"null,{11}\n"
    X, _, notes = read_both("a,b\n" + "".join(rows))
    kept = [i for i in range(30) if i not in (3, 10, 17, 29)]
    np.testing.assert_array_equal(X, [[i, i + 1] for i in kept])
    assert notes == ["t.csv: skipped 4 rows with missing values (lines 5, 12, 19, 31)"]
    refused("a,b\n" + "".join(rows), r"line 5: missing value in column 'b'", on_missing="error")


def test_column_without_values_is_skipped():
    # A trailing delimiter on every line: an empty last column.
    X, names, notes = read_both("a,b,\n1,2,\n3,4,\n")
    assert X.tolist() == [[1, 2], [3, 4]] and names == ["a", "b"]
    assert notes == ["t.csv: skipped column without values 3"]


def test_text_columns_are_skipped_with_a_note():
    X, names, notes = read_both("id,x,label\n1,2.5,a\n2,3.5,NA\n3,,c\n")
    assert names == ["id", "x"] and X.tolist() == [[1, 2.5], [2, 3.5]]
    assert notes == ["t.csv: skipped non-numeric column 'label'",
                     "t.csv: skipped 1 row with missing values (line 4)"]
    # One numeric column between text ones (pandas hands out a read-only view).
    X, names, _ = read_both("name,x,label\na,1.5,u\nb,NA,v\nc,2,w\n")
    assert names == ["x"] and X.tolist() == [[1.5], [2.0]]


@pytest.mark.parametrize("text, pattern", [
    ("", r"empty, no data rows"),
    ("\n \n", r"empty, no data rows"),
    ("a,b\n", r"no data rows, only a header"),
    ("a,b\nx,y\n", r"no numeric columns"),
    (b"\xff\xfe\x00\x01", r"not a UTF-8 text file"),
])
def test_empty_and_unreadable(text, pattern):
    refused(text, pattern)


def test_array_grows_in_place_beyond_the_estimate(small_blocks):
    # size_hint far too small: the array grows; far too big: it shrinks.
    text = "a,b\n" + "".join(f"{i},{-i}\n" for i in range(150))
    for size_hint in (10, 10**7, None):
        X, _, _ = read_both(text, size_hint=size_hint)
        np.testing.assert_array_equal(X, np.column_stack([np.arange(150), -np.arange(150)]))


# -- the command line: read_csv through cli, options, names --------------------


def test_cli_read_csv_prints_notes_and_raises_cli_errors(capsys):
    X, names = cli_data.read_csv(io.StringIO("a,b,c\n1,2,x\n3,NA,y\n"), "t.csv", on_missing="skip",
                                 dtype=np.float64, notes=True, engine="numpy")
    assert X.tolist() == [[1, 2]] and names == ["a", "b"]
    assert capsys.readouterr().err.splitlines() == [
        "fastgmm: note: t.csv: skipped non-numeric column 'c'",
        "fastgmm: note: t.csv: skipped 1 row with missing values (line 3)"]
    with pytest.raises(cli.CLIError, match="line 2: 'x' in column 'b' is not a number"):
        cli_data.read_csv(io.StringIO("a,b\n1,x\n2,3\n"), "t.csv", on_missing="skip",
                          dtype=np.float64, notes=True)


def test_cli_options_parse():
    parser = cli.build_parser()
    args = parser.parse_args(["fit", "d.csv", "-k", "2", "-o", "m.npz", "--delimiter", "tab",
                              "--decimal", ",", "--no-header"])
    assert arguments.csv_options(args) == {"delimiter": "\t", "decimal": ",", "header": False}
    args = parser.parse_args(["score", "m.npz", "d.csv", "--header", "--delimiter", "whitespace"])
    assert arguments.csv_options(args) == {"delimiter": _csv.WHITESPACE, "decimal": None, "header": True}
    assert cli.main(["predict", "m.npz", "d.csv", "--delimiter", "x"]) == 2


def run_main(capsys, *args, cwd, monkeypatch):
    """``fastgmm ARGS`` in-process: ``(status, stdout, stderr)``."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def named_files(tmp_path_factory):
    """A 3-column CSV with a header, its columns reordered or renamed, and a model fitted on it."""
    workdir = tmp_path_factory.mktemp("names")
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(0, 1, 200), rng.normal(5, 3, 200), rng.normal(-2, 0.1, 200)])
    X[100:] += [4.0, -6.0, 1.0]

    def write(path, names, order):
        lines = [",".join(names[j] for j in order)] if names else []
        lines += [",".join(repr(v) for v in row) for row in X[:, order].tolist()]
        path.write_text("\n".join(lines) + "\n")

    names = ["alpha", "beta", "gamma"]
    write(workdir / "data.csv", names, [0, 1, 2])
    write(workdir / "reordered.csv", names, [2, 0, 1])
    write(workdir / "renamed.csv", ["alpha", "beta", "delta"], [0, 1, 2])
    write(workdir / "plain.csv", None, [0, 1, 2])
    assert cli.main(["fit", str(workdir / "data.csv"), "-k", "2", "--random-state", "0",
                     "-o", str(workdir / "m.npz"), "--quiet"]) == 0
    return workdir, X


def test_fit_stores_the_header_names(named_files, capsys, monkeypatch):
    workdir, _ = named_files
    model = load_model(workdir / "m.npz")
    assert model.feature_names_in_.dtype == object
    assert model.feature_names_in_.tolist() == ["alpha", "beta", "gamma"]
    status, out, _ = run_main(capsys, "info", "m.npz", cwd=workdir, monkeypatch=monkeypatch)
    assert status == 0 and re.search(r"^\s+alpha\s+beta\s+gamma$", out, flags=re.MULTILINE)


def test_score_and_predict_reorder_columns_by_name(named_files, capsys, monkeypatch):
    # Before: exit 0 with the columns taken in file order, a wrong score.
    workdir, X = named_files
    model = load_model(workdir / "m.npz")
    status, out, err = run_main(capsys, "score", "m.npz", "reordered.csv", cwd=workdir,
                                monkeypatch=monkeypatch)
    assert status == 0 and float(out) == model.score(X)
    assert err == ("fastgmm: note: reordered.csv: columns reordered by name to the "
                   "model's order 'alpha', 'beta', 'gamma'\n")
    status, original, err = run_main(capsys, "predict", "m.npz", "data.csv", cwd=workdir,
                                     monkeypatch=monkeypatch)
    assert status == 0 and err == ""
    status, reordered, _ = run_main(capsys, "predict", "m.npz", "reordered.csv", cwd=workdir,
                                    monkeypatch=monkeypatch)
    assert status == 0 and reordered == original
    assert [int(v) for v in original.split()[1:]] == model.predict(X).tolist()


def test_other_names_are_refused_and_no_header_is_positional(named_files, capsys, monkeypatch):
    workdir, X = named_files
    status, out, err = run_main(capsys, "score", "m.npz", "renamed.csv", cwd=workdir,
                                monkeypatch=monkeypatch)
    assert status == 1 and out == ""
    assert err == ("fastgmm: error: renamed.csv: column names differ from those the model "
                   "m.npz was fitted on: missing 'gamma'; not in the model 'delta' (the "
                   "model's columns: 'alpha', 'beta', 'gamma')\n")
    status, out, err = run_main(capsys, "score", "m.npz", "plain.csv", cwd=workdir,
                                monkeypatch=monkeypatch)
    assert status == 0 and float(out) == load_model(workdir / "m.npz").score(X)
    assert err == ("fastgmm: note: plain.csv has no header; its columns are taken in order "
                   "as the model's 'alpha', 'beta', 'gamma'\n")


def test_european_file_and_bad_cell_are_one_line_errors(tmp_path, capsys, monkeypatch):
    # Before: both exited 0, fitted on made-up or dropped columns.
    (tmp_path / "eu.csv").write_text("1,5;2,25\n3,5;-4,0\n")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,x\n5,6\n")
    for data, pattern in [
        ("eu.csv", r"cannot tell the delimiter.*--delimiter ';' --decimal ','"),
        ("bad.csv", r"bad\.csv: line 3: 'x' in column 'b' is not a number"),
    ]:
        status, out, err = run_main(capsys, "fit", data, "-k", "1", "-o", "m.npz",
                                    cwd=tmp_path, monkeypatch=monkeypatch)
        assert status == 1 and out == "" and len(err.splitlines()) == 1
        assert err.startswith("fastgmm: error: ") and re.search(pattern, err), err
    assert not (tmp_path / "m.npz").exists()


def test_european_file_read_as_asked(tmp_path, capsys, monkeypatch):
    (tmp_path / "eu.csv").write_text("1,5;2,25\n3,5;-4,0\n2,0;1e3\n0,5;0,5\n")
    status, _, err = run_main(capsys, "fit", "eu.csv", "-k", "1", "-o", "m.npz", "--delimiter",
                              ";", "--decimal", ",", cwd=tmp_path, monkeypatch=monkeypatch)
    assert status == 0, err
    X = np.array([[1.5, 2.25], [3.5, -4.0], [2.0, 1000.0], [0.5, 0.5]])
    np.testing.assert_allclose(load_model(tmp_path / "m.npz").means_[0], X.mean(axis=0),
                               rtol=reference.REORDER_RTOL)


# -- fuzz ----------------------------------------------------------------------


_SEEDS = (  # (text, options to read it with)
    ('x,"y",z\n1.5,2,3e-2\n-4,NA,6\n7.25,8,"9"\n\n10,11,12\n13,14,15\n', {}),
    ("x,y,z\n1.5,2,3e-2\n-4,5,6\n7.25,8,9\n10,11,12\n13,14,15\n16,17,18\n19,20,21\n", {}),
    ("1 2 3\n4 5 6\n7 8 9\n10 11 12\n13 14 15\n", {}),
    ("id;v;w\nab;1,5;2\ncd;3;-4,25\nef;5;6\ngh;7;8\nij;9;10\n", {"decimal": ","}),
)


def _mutations(rng, n):
    """Damaged variants of small CSV files: ``(bytes, read options)``."""
    alphabet = list(b',;\t "\n\r.-+e0123456789xNA?\x00\xff\xc3')
    yield b"", {}
    yield b"x,y,z\n", {}
    yield bytes(rng.integers(0, 256, 300, dtype=np.uint8)), {}
    yield b"1," * 20_000 + b"1\n2,3\n", {}
    yield b"a,b\n" + b"1" * 200_000 + b",2\n", {}
    yield ('"' * 7 + _SEEDS[0][0]).encode(), {}
    for _ in range(n):
        text, options = _SEEDS[rng.integers(0, len(_SEEDS))]
        data = bytearray(text.encode())
        kind = rng.integers(0, 5)
        if kind == 0:  # byte flips
            for i in rng.integers(0, len(data), rng.integers(1, 4)):
                data[i] = rng.choice(alphabet)
        elif kind == 1:  # truncation
            data = data[:rng.integers(0, len(data))]
        elif kind == 2:  # another delimiter everywhere
            delimiter = bytes([rng.choice(list(b";\t |:"))])
            data = data.replace(b";" if b";" in data else b",", delimiter)
        elif kind == 3:  # stray quotes
            for i in sorted(rng.integers(0, len(data), rng.integers(1, 4)), reverse=True):
                data[i:i] = b'"'
        else:  # insertions and deletions
            for i in sorted(rng.integers(0, len(data), rng.integers(1, 4)), reverse=True):
                if rng.random() < 0.5:
                    del data[i:i + 1]
                else:
                    data[i:i] = bytes([rng.choice(alphabet)])
        yield bytes(data), options


def test_fuzz_reader_in_process(monkeypatch, tmp_path):
    """Every damaged file reads cleanly or fails with the CLI's error, the same for both
    engines and for the reference parser one record at a time."""
    monkeypatch.setattr(_csv, "BLOCK_CHARS", 48)  # two or three blocks
    monkeypatch.setattr(_csv, "SAMPLE_LINES", 3)
    at_once = _csv._parse_records_at_once
    rng = np.random.default_rng(20261130)
    path = tmp_path / "f.csv"
    outcomes = {"read": 0, "error": 0}
    for data, options in _mutations(rng, 160):
        path.write_bytes(data)
        results = []
        for engine, on_missing in (("pandas", "skip"), ("numpy", "skip"), ("each", "skip"),
                                   ("numpy", "error")):
            # "each": numpy, the reference parser one record at a time only.
            monkeypatch.setattr(_csv, "_parse_records_at_once", at_once if engine != "each"
                                else lambda layout, records: None)
            engine = "numpy" if engine == "each" else engine
            try:
                X, names = cli_data.read_data(str(path), on_missing=on_missing, notes=False,
                                              engine=engine, **options)
            except cli.CLIError as exc:
                message = str(exc)
                assert message.startswith(f"{path}: ") and "\n" not in messages.one_line(message)
                results.append(message)
            else:
                assert X.ndim == 2 and X.size and np.isfinite(X).all(), data
                assert names is None or len(names) == X.shape[1]
                results.append((X.tobytes(), X.shape, names))
        assert results[0] == results[1] == results[2], data
        if isinstance(results[3], tuple):
            assert results[3] == results[1], data
        outcomes["read" if isinstance(results[0], tuple) else "error"] += 1
    # The damage reached both outcomes.
    assert outcomes["read"] > 40 and outcomes["error"] > 40, outcomes


def test_fuzz_command_line(tmp_path):
    """A few damaged files through ``fastgmm score``: exit 0, or exit 1 and one error line."""
    rng = np.random.default_rng(7)
    model = fastgmm.GaussianMixture(n_components=1).fit(rng.standard_normal((20, 3)))
    model.save(tmp_path / "m.npz")
    cases = [data for data, options in _mutations(rng, 0)]
    for i, data in enumerate([cases[0], cases[2], cases[5]]):  # empty, binary, stray quotes
        (tmp_path / f"f{i}.csv").write_bytes(data)
        result = run_cli("score", "m.npz", f"f{i}.csv", cwd=tmp_path)
        assert "Traceback" not in result.stderr
        if result.returncode == 0:
            float(result.stdout)
        else:
            assert result.returncode == 1, result.stderr
            errors = [line for line in result.stderr.splitlines()
                      if not line.startswith("fastgmm: note: ")]
            assert len(errors) == 1 and errors[0].startswith("fastgmm: error: "), result.stderr
