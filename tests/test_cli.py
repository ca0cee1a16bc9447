"""The ``fastgmm`` command line.

Each subcommand runs once as a real subprocess (``python -m fastgmm``), as
do the error paths, checking exit status and output; the CSV reader and the
progress bar are also tested in-process, where it is cheaper. Numba caches
its compiled kernels on disk, so only the first subprocess pays the compile.
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
from fastgmm.cli import data as cli_data
from fastgmm.cli import progress
from fastgmm import load as load_model
from fastgmm._io import save_model
from fastgmm.datasets import load_old_faithful
from fastgmm.gaussian_mixture import GaussianMixture

REPO = os.path.dirname(os.path.dirname(os.path.abspath(fastgmm.__file__)))
DATA = os.path.join(REPO, "fastgmm", "datasets", "data")
FAITHFUL_CSV = os.path.join(DATA, "old_faithful.csv")
PENGUINS_CSV = os.path.join(DATA, "palmer_penguins.csv")


def run_cli(*args, cwd, input=None, code=None):
    """Run ``python -m fastgmm ARGS`` (or ``python -c CODE ARGS``) in `cwd`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "fastgmm"]
    return subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd, env=env, input=input, capture_output=True, text=True, timeout=120,
    )


def assert_one_line_error(result, status, pattern):
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fastgmm: error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert result.stdout == ""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def faithful_model(workdir):
    """``fastgmm fit`` of Old Faithful, run once for the predict/score/info tests."""
    path = workdir / "faithful.npz"
    result = run_cli("fit", FAITHFUL_CSV, "-k", "2", "--random-state", "0", "-o", path, cwd=workdir)
    assert result.returncode == 0, result.stderr
    return path, result


# -- demo --------------------------------------------------------------------


def test_demo_is_the_default(workdir):
    result = run_cli(cwd=workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # One line per EM iteration, the log-likelihood never decreasing.
    iterations = re.findall(r"^\s+(\d+)\s+(-\d+\.\d+)", out, flags=re.MULTILINE)
    assert len(iterations) >= 2
    assert [int(n) for n, _ in iterations] == list(range(1, len(iterations) + 1))
    lls = [float(ll) for _, ll in iterations]
    assert all(b >= a - reference.PRINTED_LL_ATOL for a, b in zip(lls, lls[1:]))
    assert f"converged after {len(iterations)} iterations" in out
    # Two components near (2.0 min, 54 min) and (4.3 min, 80 min).
    weights = [float(w) for w in re.findall(r"^component \d+\s+weight ([\d.]+)", out, flags=re.MULTILINE)]
    means = sorted(
        (float(a), float(b))
        for a, b in re.findall(r"^\s+mean\s+([\d.]+)\s+([\d.]+)\s*$", out, flags=re.MULTILINE)
    )
    assert len(weights) == len(means) == 2
    assert sum(weights) == pytest.approx(1.0, abs=reference.PRINTED_WEIGHT_ATOL)
    for (eruption, waiting), (want_eruption, want_waiting) in zip(means, [(2.0, 54.0), (4.3, 80.0)]):
        assert abs(eruption - want_eruption) <= 0.15
        assert abs(waiting - want_waiting) <= 2.0
    assert re.search(r"^BIC\s+\d+\.\d+", out, flags=re.MULTILINE)
    assert re.search(r"^wall time\s+\d+\.\d+ s", out, flags=re.MULTILINE)


def test_demo_plot(workdir):
    pytest.importorskip("matplotlib")
    path = workdir / "faithful.png"
    result = run_cli("demo", "--plot", path, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert f"figure saved to {path}" in result.stdout
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


def test_demo_plot_without_matplotlib(workdir):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from fastgmm.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = run_cli("demo", "--plot", workdir / "x.png", cwd=workdir, code=code)
    assert_one_line_error(result, 1, r"--plot needs matplotlib, which is not installed")


# -- fit / predict / score / info --------------------------------------------


def test_fit_csv_summary(faithful_model):
    path, result = faithful_model
    assert re.search(r"^n_iter\s+\d+$", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^converged\s+yes$", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^lower bound\s+-4\.1\d+", result.stdout, flags=re.MULTILINE)
    assert re.search(r"^BIC\s+232\d", result.stdout, flags=re.MULTILINE)
    assert "272 samples x 2 features" in result.stdout
    # stderr is not a terminal here: no progress bar, no notes for a clean file.
    assert result.stderr == ""
    model = load_model(path)
    assert model.n_components == 2 and model.random_state == 0
    reference = GaussianMixture(n_components=2, random_state=0).fit(load_old_faithful())
    np.testing.assert_array_equal(model.means_, reference.means_)


def test_fit_csv_with_text_columns_and_missing_values(workdir):
    path = workdir / "penguins.npz"
    result = run_cli(
        "fit", PENGUINS_CSV, "-k", "3", "--covariance-type", "diag", "--n-init", "2",
        "--max-iter", "200", "--tol", "1e-4", "--init-params", "k-means++",
        "--random-state", "1", "--threads", "1", "-o", path, cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    notes = result.stderr.splitlines()
    assert notes == [
        f"fastgmm: note: {PENGUINS_CSV}: skipped non-numeric columns 'species', 'island', 'sex'",
        f"fastgmm: note: {PENGUINS_CSV}: skipped 2 rows with missing values (lines 5, 273)",
    ]
    assert "342 samples x 5 features" in result.stdout
    model = load_model(path)
    assert model.get_params()["covariance_type"] == "diag"
    assert (model.n_init, model.max_iter, model.tol, model.init_params, model.n_threads) == (
        2, 200, 1e-4, "k-means++", 1)


def test_fit_npy_float32_quiet_and_stdin(workdir):
    X = load_old_faithful()
    np.save(workdir / "faithful.npy", X)
    result = run_cli("fit", "faithful.npy", "-k", "2", "--float32", "--quiet",
                     "--covariance-type", "spherical", "-o", "f32.npz", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    model = load_model(workdir / "f32.npz")
    assert model.means_.dtype == np.float32
    assert model.covariance_type == "spherical"

    csv_text = "".join(f"{a},{b}\n" for a, b in X)  # no header
    result = run_cli("fit", "-", "-k", "2", "--random-state", "0", "-o", "stdin.npz",
                     cwd=workdir, input=csv_text)
    assert result.returncode == 0, result.stderr
    assert "<stdin>: 272 samples x 2 features" in result.stdout
    reference = GaussianMixture(n_components=2, random_state=0).fit(X)
    np.testing.assert_array_equal(load_model(workdir / "stdin.npz").means_, reference.means_)


def test_predict_labels_to_stdout(faithful_model, workdir):
    path, _ = faithful_model
    result = run_cli("predict", path, FAITHFUL_CSV, cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "label"
    expected = load_model(path).predict(load_old_faithful())
    assert [int(v) for v in lines[1:]] == expected.tolist()


def test_predict_proba_to_files(faithful_model, workdir):
    path, _ = faithful_model
    X = load_old_faithful()
    np.save(workdir / "faithful.npy", X)
    expected = load_model(path).predict_proba(X)
    result = run_cli("predict", path, "faithful.npy", "--proba", "-o", "proba.npy", cwd=workdir)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(workdir / "proba.npy"), expected)

    result = run_cli("predict", path, FAITHFUL_CSV, "--proba", "-o", "proba.csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    text = (workdir / "proba.csv").read_text()
    assert text.splitlines()[0] == "proba_0,proba_1"
    # Shortest round-trip repr: the CSV holds the exact float64 values.
    np.testing.assert_array_equal(np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1), expected)


def test_score(faithful_model, workdir):
    path, _ = faithful_model
    result = run_cli("score", path, FAITHFUL_CSV, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == load_model(path).score(load_old_faithful())


def test_info(faithful_model, workdir):
    path, _ = faithful_model
    result = run_cli("info", path, cwd=workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "format       version 1, written by fastgmm" in out
    assert re.search(r"^  covariance_type\s+full$", out, flags=re.MULTILINE)
    assert re.search(r"^  random_state\s+0$", out, flags=re.MULTILINE)
    assert re.search(r"^  converged_\s+True$", out, flags=re.MULTILINE)
    assert out.count("component ") == 2 and out.count("covariance ") >= 2


def test_help_reads_like_a_man_page(workdir):
    result = run_cli("--help", cwd=workdir)
    assert result.returncode == 0
    for text in ("usage: fastgmm", "commands:", "demo", "fit", "predict", "score", "info",
                 "exit status:", "examples:", "data files:"):
        assert text in result.stdout, text


# -- bench -------------------------------------------------------------------


def test_bench_prints_a_table(workdir):
    result = run_cli("bench", "--shapes", "a", "--scale", "0.002", "--n-iter", "1",
                     "--repeat", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| a |")]
    libraries = [row.split("|")[7].strip() for row in rows]
    # Further peers (oneDAL, GMMX) follow where they are installed.
    assert libraries[:2] == ["fastgmm", "scikit-learn"]
    assert set(libraries[2:]) <= {"oneDAL", "GMMX"}
    # Both timed the same computation: the final lower bounds agree.
    assert float(rows[1].split("|")[10]) < reference.PEER_RTOL[np.float64]


def test_bench_roofline_prints_fractions(workdir):
    result = run_cli("bench", "--roofline", "--shapes", "ae", "--scale", "0.001",
                     "--n-iter", "1", "--repeat", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "FMA peak (Numba FMA loop)" in result.stdout
    assert "copy bandwidth (read + write)" in result.stdout
    assert "| × FMA peak | GB/s (X read) | × copy bandwidth |" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| a |", "| e |"))]
    assert [row.split("|")[5].strip() for row in rows] == ["full", "diag"]
    for row in rows:
        assert float(row.split("|")[10]) >= 0 and float(row.split("|")[12]) >= 0


# -- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, status, pattern",
    [
        (["fit", "absent.csv", "-k", "2", "-o", "m.npz"], 1, r"absent\.csv: No such file or directory"),
        (["fit", "ragged.csv", "-k", "2", "-o", "m.npz"], 1, r"ragged\.csv: line 3 has 1 field, expected 2"),
        (["fit", "empty.csv", "-k", "2", "-o", "m.npz"], 1, r"empty\.csv: empty, no data rows"),
        (["fit", "words.csv", "-k", "2", "-o", "m.npz"], 1, r"words\.csv: no numeric columns"),
        (["fit", "tiny.csv", "-k", "5", "-o", "m.npz"], 1, r"n_samples >= n_components"),
        (["predict", "{model}", "three.csv"], 1, r"three\.csv has 3 feature columns but the model .* expects 2"),
        (["predict", "{model}", "missing.csv"], 1, r"missing\.csv: line 3: missing value in column 'b'"),
        (["score", "bad.npz", "tiny.csv"], 1, r"bad\.npz: not a fastgmm model file"),
        (["info", "tiny.csv"], 1, r"tiny\.csv: not a fastgmm model file"),
        (["fit", "tiny.csv", "-k", "1", "-o", "absent/m.npz"], 1, r"-o absent/m\.npz: no such directory"),
        (["fit", "tiny.csv", "-o", "m.npz"], 2, r"required: -k/--n-components .*fastgmm fit --help"),
        (["fit", "tiny.csv", "-k", "0", "-o", "m.npz"], 2, r"-k/--n-components: must be a positive integer"),
        (["fit", "tiny.txt", "-k", "1", "-o", "m.npz"], 2, r"unsupported data file type '\.txt'"),
        (["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
        (["bench", "--shapes", "xyz"], 1, r"--shapes takes letters among abc"),
        (["bench", "--roofline", "--shapes", "xyz"], 1,
         r"--shapes takes letters among abcdef with --roofline"),
    ],
)
def test_errors_are_one_line(faithful_model, workdir, args, status, pattern):
    files = {
        "ragged.csv": "a,b\n1,2\n3\n",
        "empty.csv": "",
        "words.csv": "a,b\nx,y\nz,w\n",
        "tiny.csv": "1,2\n3,4\n5,7\n",
        "three.csv": "1,2,3\n4,5,6\n",
        "missing.csv": "a,b\n1,2\n3,NA\n",
        "bad.npz": "this is not a model\n",
    }
    for name, text in files.items():
        (workdir / name).write_text(text)
    args = [str(faithful_model[0]) if a == "{model}" else a for a in args]
    assert_one_line_error(run_cli(*args, cwd=workdir), status, pattern)


# -- in-process: parser, CSV reader, progress bar ----------------------------


def test_main_in_process(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("fastgmm ")
    assert cli.main(["fit"]) == 2
    assert capsys.readouterr().err.startswith("fastgmm: error: the following arguments are required")
    subcommands = cli.build_parser()._subparsers._group_actions[0].choices
    assert list(subcommands) == ["demo", "fit", "predict", "score", "info", "select", "bench"]


def _read(text, on_missing="skip"):
    return cli_data.read_csv(io.StringIO(text), "t.csv", on_missing=on_missing, dtype=np.float64, notes=True)


def test_csv_header_detection(capsys):
    X, names = _read("x,y\n1,2\n3,4\n")
    assert names == ["x", "y"] and X.tolist() == [[1, 2], [3, 4]]
    X, names = _read("1,2\n3,4\n")
    assert names is None and X.tolist() == [[1, 2], [3, 4]]
    # A text column in a headerless file is skipped, not taken for a header.
    X, names = _read("a,1,2\nb,3,4\n")
    assert names is None and X.tolist() == [[1, 2], [3, 4]]
    assert "skipped non-numeric column 1" in capsys.readouterr().err
    # Quoted fields, spaces, blank lines, digits in column names.
    X, names = _read('"x 1", y2\n\n"1.5", 2e3 \n\n-3,4\n')
    assert names == ["x 1", "y2"] and X.tolist() == [[1.5, 2000.0], [-3, 4]]


def test_csv_missing_values(capsys):
    X, _ = _read("a,b\n1,2\n3,NA\n,4\n5,nan\n6,?\n7,8\n")
    assert X.tolist() == [[1, 2], [7, 8]]
    assert "skipped 4 rows with missing values (lines 3, 4, 5, 6)" in capsys.readouterr().err
    with pytest.raises(cli.CLIError, match="line 3: missing value in column 'b'"):
        _read("a,b\n1,2\n3,NA\n", on_missing="error")
    with pytest.raises(cli.CLIError, match="no rows without missing values"):
        _read("a,b\n1,NA\nNA,2\n")
    with pytest.raises(cli.CLIError, match="line 2: infinite value in column 'a'"):
        _read("a,b\ninf,2\n")
    with pytest.raises(cli.CLIError, match="only a header"):
        _read("a,b\n")


class _Stream(io.StringIO):
    pass


def test_progress_bar_draws_and_erases():
    stream = _Stream()
    bar = progress.ProgressBar(stream, max_iter=5, n_init=2, delay=0.0, interval=0.0, width=10)
    for n_iter in (1, 2, 1):  # the second start begins at n_iter 1
        bar(n_iter, -1.5)
    bar.close()
    text = stream.getvalue()
    assert "fitting [#---------] init 1/2 iteration 1/5 lower bound -1.5" in text
    assert "fitting [######----] init 2/2 iteration 1/5" in text
    assert text.endswith("\r")
    assert bar(3, -1.0) is False  # never stops the fit, draws nothing once closed
    assert stream.getvalue() == text


def test_model_file_written_by_save_model_works_with_cli(workdir):
    model = GaussianMixture(n_components=3, covariance_type="tied", random_state=0).fit(load_old_faithful())
    save_model(model, workdir / "tied.npz")
    result = run_cli("info", "tied.npz", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "covariance shared by all components (tied)" in result.stdout
