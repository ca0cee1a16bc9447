"""Hostile and corrupt model files: fastgmm.load must stay safe.

Two promises are checked. Memory: a small file never makes the loader
allocate much more than the file's size (zip bombs, huge declared shapes,
members the format does not define); peak RSS is measured in a subprocess.
Errors: whatever the bytes, loading either gives a model that validates as
``fit`` would leave it, or a ``ValueError`` naming the file and the
problem; never another exception, never a model that scores NaN or -inf.
The hostile files are built by ``tests/crafted_models.py``.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import reference
import fastgmm
from crafted_models import (
    deflated_zeros,
    model_members,
    npy_bytes,
    npy_header,
    replace,
    stored,
    write_zip,
)
from fastgmm import load as load_model
from fastgmm._io import save_model
from fastgmm.datasets import load_old_faithful
from fastgmm.gaussian_mixture import GaussianMixture

REPO = os.path.dirname(os.path.dirname(os.path.abspath(fastgmm.__file__)))
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
MIB = 1 << 20


@pytest.fixture(scope="module")
def X():
    return load_old_faithful()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, X):
    """Fitted models of every covariance type, saved: {covariance_type: (model, path)}."""
    directory = tmp_path_factory.mktemp("io_safety")
    models = {}
    for covariance_type in ("full", "tied", "diag", "spherical"):
        model = GaussianMixture(n_components=2, covariance_type=covariance_type,
                                random_state=0).fit(X)
        path = directory / f"{covariance_type}.npz"
        save_model(model, path)
        models[covariance_type] = (model, path)
    return models


def entries_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def rewritten(saved, tmp_path, covariance_type="full", **replace_entries):
    """The saved model's file with some entries replaced."""
    entries = entries_of(saved[covariance_type][1])
    entries.update(replace_entries)
    return write_zip(tmp_path / "edited.npz", model_members(entries))


def assert_same_model(loaded, model, X):
    for name in FITTED:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


# -- memory: hostile files are refused or ignored before decompressing -------

CHILD = r"""
import json, sys, time
from fastgmm import load as load_model

def kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

load_model(sys.argv[1])  # warm-up: every import the loader makes
base = kib("VmHWM")
outcomes = {}
for path in sys.argv[2:]:
    started = time.perf_counter()
    try:
        load_model(path)
        outcome = "loaded"
    except ValueError as exc:
        outcome = "ValueError: " + str(exc)
    except BaseException as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    outcomes[path] = [outcome, time.perf_counter() - started]
print(json.dumps({"rise_mib": (kib("VmHWM") - base) / 1024, "outcomes": outcomes}))
"""


def load_in_child(base_path, paths):
    """Load each file in one fresh process; the peak-RSS rise over all of them."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(base_path), *map(str, paths)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak RSS read from /proc")
def test_hostile_files_load_in_bounded_memory(saved, tmp_path):
    """The issue's files, at sizes that take hundreds of MiB unguarded."""
    model, path = saved["full"]
    members = model_members(entries_of(path))
    n_iter = len(model.lower_bounds_)
    files = {}
    # A member the format does not define: 200 MiB of zeros in 0.2 MB.
    files["extra_member"] = write_zip(tmp_path / "extra.npz", members + [
        deflated_zeros("junk.npy", b"", 200 * MIB)])
    # lower_bounds_ of 2e7 entries (and an n_iter_ to match) in 0.15 MB.
    n_bounds = 20_000_000
    files["long_lower_bounds"] = write_zip(tmp_path / "bounds.npz", replace(
        replace(members, stored("n_iter_.npy", npy_bytes(np.int64(n_bounds)))),
        deflated_zeros("lower_bounds_.npy", npy_header((n_bounds,), "<f8"), 8 * n_bounds)))
    # A header declaring 10**12 entries (8 TB), followed by a few bytes.
    files["huge_shape"] = write_zip(tmp_path / "huge.npz", replace(
        members, stored("lower_bounds_.npy", npy_header((10**12,), "<f8") + bytes(64))))
    # Arrays of the shapes n_features_in_ allows: 192 MiB of zeros in 0.2 MB.
    n_features = 2048
    bomb = [m for m in members if m.name not in {f"{k}.npy" for k in FITTED}]
    bomb = replace(bomb, stored("n_features_in_.npy", npy_bytes(np.int64(n_features))))
    for key, shape in [("weights_", (2,)), ("means_", (2, n_features)),
                       ("covariances_", (2, n_features, n_features)),
                       ("precisions_", (2, n_features, n_features)),
                       ("precisions_cholesky_", (2, n_features, n_features))]:
        header = npy_header(shape, "<f8")
        bomb.append(deflated_zeros(f"{key}.npy", header, 8 * int(np.prod(shape))))
    files["legal_shapes_bomb"] = write_zip(tmp_path / "bomb.npz", bomb)
    for name, file in files.items():
        assert os.path.getsize(file) < 1.5 * MIB, name

    report = load_in_child(path, files.values())
    outcomes = {name: report["outcomes"][str(file)] for name, file in files.items()}
    assert outcomes["extra_member"][0] == "loaded", outcomes
    assert n_iter > 0
    for name in ("long_lower_bounds", "huge_shape", "legal_shapes_bomb"):
        assert outcomes[name][0].startswith("ValueError: "), (name, outcomes[name])
        assert str(files[name]) in outcomes[name][0]
    assert "'lower_bounds_'" in outcomes["long_lower_bounds"][0]
    assert "'lower_bounds_'" in outcomes["huge_shape"][0]
    assert report["rise_mib"] < 100, report
    for name, (outcome, seconds) in outcomes.items():
        assert seconds < 2.0, (name, outcome, seconds)


def test_extra_member_is_not_read(saved, tmp_path, X):
    """An entry the format does not define is ignored unread: even a corrupt one."""
    model, path = saved["full"]
    bad = stored("notes.npy", b"\x93NUMPY garbage")
    bad.crc ^= 1  # reading it would fail its CRC check
    file = write_zip(tmp_path / "extra.npz", model_members(entries_of(path)) + [bad])
    assert_same_model(load_model(file), model, X)


@pytest.mark.parametrize("key, shape", [
    ("means_", (10**6, 10**6)),
    ("covariances_", (2, 10**9, 10**9)),
    ("weights_", (2**62,)),
    ("params", (10**9,)),
])
def test_declared_shape_is_checked_before_reading(saved, tmp_path, key, shape):
    members = model_members(entries_of(saved["full"][1]))
    file = write_zip(tmp_path / "huge.npz", replace(
        members, stored(f"{key}.npy", npy_header(shape, "<f8") + bytes(16))))
    with pytest.raises(ValueError, match=f"'{key}'") as info:
        load_model(file)
    assert str(file) in str(info.value)


def test_member_size_must_match_its_header(saved, tmp_path):
    entries = entries_of(saved["full"][1])
    members = model_members(entries)
    payload = npy_bytes(entries["means_"]) + bytes(8)  # one value too many
    file = write_zip(tmp_path / "long.npz", replace(members, stored("means_.npy", payload)))
    with pytest.raises(ValueError, match="'means_'.* size"):
        load_model(file)


def test_string_entries_are_bounded(saved, tmp_path):
    params = json.loads(str(entries_of(saved["full"][1])["params"]))
    params["init_params"] = "x" * 300_000
    file = rewritten(saved, tmp_path, params=np.array(json.dumps(params)))
    with pytest.raises(ValueError, match="'params' holds 3003.. characters, more than the 65536"):
        load_model(file)


# -- legitimate variants still load ------------------------------------------


def test_compressed_model_file_loads(saved, tmp_path, X):
    """np.savez_compressed of the same entries: deflated members are fine."""
    model, path = saved["diag"]
    file = tmp_path / "compressed.npz"
    np.savez_compressed(file, **entries_of(path))
    assert_same_model(load_model(file), model, X)


def test_fortran_order_and_big_endian_members_load(saved, tmp_path, X):
    model, path = saved["full"]
    entries = entries_of(path)
    entries["means_"] = np.asfortranarray(entries["means_"].astype(">f8"))
    entries["covariances_"] = np.asfortranarray(entries["covariances_"])
    file = write_zip(tmp_path / "orders.npz", model_members(entries))
    loaded = load_model(file)
    assert loaded.means_.dtype == np.float64 and loaded.means_.flags.c_contiguous
    assert loaded.covariances_.flags.c_contiguous
    assert_same_model(loaded, model, X)


def test_feature_names_round_trip(saved, tmp_path, X):
    named = GaussianMixture(n_components=2, random_state=0).fit(X)
    named.feature_names_in_ = np.array(["eruptions", "waiting"], dtype=object)
    save_model(named, tmp_path / "named.npz")
    loaded = load_model(tmp_path / "named.npz")
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == ["eruptions", "waiting"]
    assert all(type(name) is str for name in loaded.feature_names_in_)
    assert not hasattr(load_model(saved["full"][1]), "feature_names_in_")
    named.feature_names_in_ = None
    save_model(named, tmp_path / "unnamed.npz")
    assert not hasattr(load_model(tmp_path / "unnamed.npz"), "feature_names_in_")


def test_feature_names_must_be_strings_of_the_right_length(saved, tmp_path, X):
    named = GaussianMixture(n_components=2, random_state=0).fit(X)
    named.feature_names_in_ = np.array(["a", 3], dtype=object)
    with pytest.raises(ValueError, match="feature_names_in_"):
        save_model(named, tmp_path / "m.npz")
    file = rewritten(saved, tmp_path, feature_names_in_=np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="'feature_names_in_'"):
        load_model(file)


# -- errors: always a ValueError naming the file -----------------------------


def zip_with_patched_field(path, out, name, offset, value):
    """Copy of the zip `path` with a 16-bit field of `name`'s central directory entry set."""
    content = bytearray(path.read_bytes())
    start = content.index(b"PK\x01\x02")
    while content[start + 46:start + 46 + len(name)] != name.encode():
        start = content.index(b"PK\x01\x02", start + 4)
    content[start + offset:start + offset + 2] = value.to_bytes(2, "little")
    out.write_bytes(bytes(content))
    return out


@pytest.mark.parametrize("field, offset, value, message", [
    ("compression method 99", 10, 99, "compression method"),
    ("encrypted flag", 8, 1, "encrypted"),
])
def test_odd_zip_headers_are_value_errors(saved, tmp_path, field, offset, value, message):
    out = zip_with_patched_field(saved["full"][1], tmp_path / "odd.npz", "means_.npy",
                                 offset=offset, value=value)
    with pytest.raises(ValueError, match=message) as info:
        load_model(out)
    assert str(out) in str(info.value)


@pytest.mark.parametrize("payload, message", [
    (b"hello, not an array", "not a .npy array"),
    (b"\x93NUMPY\x03\x00\x10\x00" + b"{}" + b" " * 14, "'means_'"),
    (b"\x93NUMPY\x01\x00\x10\x00" + b"{'descr': '<f8'", "'means_'"),
    (npy_header((2, 2), "<f8")[:-1] + b"\x00", "'means_'"),
    (npy_header((2, 2), "O"), "Python objects"),
    (npy_header((2, 2), "<f8") + bytes(8), "'means_'"),
    (npy_header((2, 2), [("a", "<f4"), ("b", "<f4")]) + bytes(32), "'means_' has dtype"),
    (npy_header((2, -2), "<f8"), "'means_'"),
], ids=["text", "npy 3.0", "header cut", "header NUL", "object dtype", "too short",
        "structured dtype", "negative shape"])
def test_wrong_payload_under_a_required_name(saved, tmp_path, payload, message):
    members = model_members(entries_of(saved["full"][1]))
    file = write_zip(tmp_path / "payload.npz", replace(members, stored("means_.npy", payload)))
    with pytest.raises(ValueError, match=message) as info:
        load_model(file)
    assert str(file) in str(info.value)


def test_invalid_code_points_in_a_string_entry(saved, tmp_path):
    payload = npy_header((), "<U2") + b"a\x00\x00\x00\xff\xff\xff\xff"
    members = model_members(entries_of(saved["full"][1]))
    file = write_zip(tmp_path / "utf.npz", replace(members, stored("fastgmm_version.npy", payload)))
    with pytest.raises(ValueError, match="'fastgmm_version'"):
        load_model(file)


def test_duplicate_member_is_refused(saved, tmp_path):
    entries = entries_of(saved["full"][1])
    members = model_members(entries)
    other = stored("means_.npy", npy_bytes(entries["means_"] + 1.0))
    file = write_zip(tmp_path / "dup.npz", members + [other])
    with pytest.raises(ValueError, match="'means_' appears 2 times"):
        load_model(file)


@pytest.mark.parametrize("params, message", [
    ({"n_components": 2, "tol": "abc"}, "'tol' parameter"),
    ({"n_components": 2, "n_threads": -3}, "'n_threads' parameter"),
    ({"n_components": 2, "reg_covar": -1}, "'reg_covar' parameter"),
    ({"n_components": 2, "max_iter": 1.5}, "'max_iter' parameter"),
    ({"n_components": 2, "random_state": "seed"}, "'random_state' parameter"),
    ({"n_components": 2, "online_kappa": 2.0}, "'online_kappa' parameter"),
    ({"n_components": 2, "init_params": "magic"}, "'init_params' parameter"),
    ({"n_components": 0}, "'n_components' parameter"),
    ({"n_components": 2, "verbose": [1]}, "'verbose' parameter"),
])
def test_hyper_parameters_are_validated_as_fit_would(saved, tmp_path, params, message):
    full = json.loads(str(entries_of(saved["full"][1])["params"]))
    full.update(params)
    file = rewritten(saved, tmp_path, params=np.array(json.dumps(full)))
    with pytest.raises(ValueError, match=message) as info:
        load_model(file)
    assert str(file) in str(info.value)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"tol": 1' + "0" * 5000 + "}"],
                         ids=["deeply nested", "5000-digit number"])
def test_pathological_json_is_a_value_error(saved, tmp_path, text):
    file = rewritten(saved, tmp_path, params=np.array(text))
    with pytest.raises(ValueError, match="'params'"):
        load_model(file)


CORRUPTIONS = {
    "weights NaN": ("full", lambda e: {"weights_": np.array([np.nan, 1.0])}, "'weights_'"),
    "weights negative": ("diag", lambda e: {"weights_": np.array([-0.5, 1.5])}, "'weights_'"),
    "weights sum": ("spherical", lambda e: {"weights_": e["weights_"] * 1.1}, "'weights_'"),
    "means inf": ("tied", lambda e: {"means_": np.where(np.eye(2) > 0, np.inf, e["means_"])},
                  "'means_'"),
    "chol zero full": ("full", lambda e: {"precisions_cholesky_": np.zeros((2, 2, 2))},
                       "'precisions_cholesky_'"),
    "chol NaN full": ("full", lambda e: {"precisions_cholesky_": np.full((2, 2, 2), np.nan)},
                      "'precisions_cholesky_'"),
    "chol negative diagonal tied": (
        "tied", lambda e: {"precisions_cholesky_": -e["precisions_cholesky_"],
                           "precisions_": e["precisions_"]}, "'precisions_cholesky_'"),
    "chol not triangular": (
        "full", lambda e: {"precisions_cholesky_": e["precisions_cholesky_"]
                           + np.array([[0.0, 0.0], [0.3, 0.0]])}, "'precisions_cholesky_'"),
    "chol zero diag": ("diag", lambda e: {"precisions_cholesky_": np.zeros((2, 2))},
                       "'precisions_cholesky_'"),
    "chol zero spherical": ("spherical", lambda e: {"precisions_cholesky_": np.zeros(2)},
                            "'precisions_cholesky_'"),
    "precisions inconsistent": ("full", lambda e: {"precisions_": e["precisions_"] * 1.01},
                                "'precisions_'"),
    "covariances inconsistent": ("tied", lambda e: {"covariances_": e["covariances_"] * 2},
                                 "'covariances_'"),
    "covariances not symmetric": (
        "full", lambda e: {"covariances_": e["covariances_"] + np.array([[0.0, 1e-3], [0.0, 0.0]])},
        "'covariances_'"),
    "covariances inconsistent diag": ("diag", lambda e: {"covariances_": e["covariances_"] + 1.0},
                                      "'covariances_'"),
    "lower_bound NaN": ("full", lambda e: {"lower_bound_": np.array(np.nan)}, "'lower_bound_'"),
    "lower_bounds NaN": ("full", lambda e: {"lower_bounds_": e["lower_bounds_"] * np.nan},
                         "'lower_bounds_'"),
    "lower_bounds length": ("full", lambda e: {"lower_bounds_": e["lower_bounds_"][:-1]},
                            "'lower_bounds_'"),
    "n_iter negative": ("full", lambda e: {"n_iter_": np.array(-1)}, "'n_iter_'"),
    "n_features zero": ("full", lambda e: {"n_features_in_": np.array(0)}, "'n_features_in_'"),
    "float16 weights": ("full", lambda e: {"weights_": e["weights_"].astype(np.float16)},
                        "'weights_' has dtype float16"),
    "events not dicts": ("full", lambda e: {"degenerate_events_": np.array("[1, 2]")},
                         "'degenerate_events_'"),
    "version unprintable": ("full", lambda e: {"fastgmm_version": np.array("1.0\x1b[2J")},
                            "'fastgmm_version'"),
    "weights_init": ("full", lambda e: {"weights_init": np.array([0.2, 0.2])}, "'weights_init'"),
    "precisions_init": ("diag", lambda e: {"precisions_init": -np.ones((2, 2))},
                        "'precisions_init'"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_fitted_values_are_validated(saved, tmp_path, X, case):
    covariance_type, edit, message = CORRUPTIONS[case]
    entries = entries_of(saved[covariance_type][1])
    file = rewritten(saved, tmp_path, covariance_type, **edit(entries))
    with pytest.raises(ValueError, match=message) as info:
        load_model(file)
    assert str(file) in str(info.value)


def test_validated_file_of_each_type_loads(saved, X):
    """The checks accept what fit writes (and the round trip stays exact)."""
    for model, path in saved.values():
        assert_same_model(load_model(path), model, X)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_ill_conditioned_model_loads(tmp_path, dtype, covariance_type):
    """Features on scales from 1e-4 to 1e4, two of them almost collinear
    (covariance condition numbers near 1e14): the consistency checks still
    accept what fit wrote, and the arrays come back exactly.

    score_samples is compared to 1e-13 relative, not exactly: fit leaves
    ``precisions_cholesky_`` in a transposed (not C-contiguous) layout, the
    file stores it in C order, and the kernels compiled for the two layouts
    may round differently in the last bit (seen here for 'tied' float64).
    """
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 12)) * np.logspace(-4, 4, 12)
    X[:, 1] = 3 * X[:, 0] + 1e-9 * rng.normal(size=800)
    X = X.astype(dtype)
    model = GaussianMixture(n_components=3, covariance_type=covariance_type,
                            random_state=0).fit(X)
    assert np.linalg.cond(model.covariances_.astype(np.float64)).max() > 1e12
    save_model(model, tmp_path / "ill.npz")
    loaded = load_model(tmp_path / "ill.npz")
    for name in FITTED:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X),
                               rtol=reference.POSITIVE_SUM_RTOL)


# -- fuzz ----------------------------------------------------------------------


def test_fuzz_byte_flips_and_truncations(saved, tmp_path, X):
    """Seeded single-byte flips and truncations: a ValueError or the same model."""
    rng = np.random.default_rng(20261201)
    model, path = saved["full"]
    content = path.read_bytes()
    outcomes = {"loaded": 0, "ValueError": 0}
    file = tmp_path / "fuzz.npz"
    cases = [("flip", int(i), int(v)) for i, v in zip(rng.integers(0, len(content), 300),
                                                       rng.integers(1, 256, 300))]
    cases += [("truncate", int(n), 0) for n in rng.integers(0, len(content), 40)]
    for kind, position, value in cases:
        if kind == "flip":
            edited = bytearray(content)
            edited[position] ^= value
        else:
            edited = content[:position]
        file.write_bytes(bytes(edited))
        try:
            loaded = load_model(file)
        except ValueError as exc:
            assert str(file) in str(exc), (kind, position, value, exc)
            outcomes["ValueError"] += 1
            continue
        # Only bytes no reader uses (timestamps, attributes) were changed.
        assert_same_model(loaded, model, X)
        outcomes["loaded"] += 1
    assert outcomes["ValueError"] > 0 and outcomes["loaded"] > 0, outcomes


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_fuzz_edited_entries(saved, tmp_path, X, covariance_type):
    """Seeded byte flips inside the .npy members, with valid CRCs (an edited file):
    a ValueError, or a model that validates and scores finite numbers."""
    rng = np.random.default_rng(7)
    named = GaussianMixture(n_components=2, covariance_type=covariance_type,
                            on_degenerate="drop", random_state=0).fit(X)
    named.feature_names_in_ = np.array(["eruptions", "waiting"], dtype=object)
    save_model(named, tmp_path / "named.npz")
    members = model_members(entries_of(tmp_path / "named.npz"))
    outcomes = {"loaded": 0, "ValueError": 0}
    file = tmp_path / "edited.npz"
    for _ in range(150):
        member = members[int(rng.integers(len(members)))]
        payload = bytearray(member.data)
        payload[int(rng.integers(len(payload)))] ^= int(rng.integers(1, 256))
        write_zip(file, replace(members, stored(member.name, bytes(payload))))
        try:
            loaded = load_model(file)
        except ValueError as exc:
            assert str(file) in str(exc), exc
            outcomes["ValueError"] += 1
            continue
        assert np.all(np.isfinite(loaded.score_samples(X)))
        np.testing.assert_allclose(loaded.predict_proba(X).sum(axis=1), 1.0,
                                   rtol=reference.OUTPUT_RTOL[np.float64])
        outcomes["loaded"] += 1
    assert outcomes["ValueError"] > 0 and outcomes["loaded"] > 0, outcomes


# -- the command line ----------------------------------------------------------


def test_cli_prints_one_line_for_a_corrupt_model(saved, tmp_path, capsys):
    from fastgmm.cli import main

    members = model_members(entries_of(saved["full"][1]))
    bad = write_zip(tmp_path / "bad.npz", replace(members, stored("means_.npy", b"not an array")))
    odd = zip_with_patched_field(saved["full"][1], tmp_path / "odd.npz", "weights_.npy",
                                 offset=10, value=99)
    data = tmp_path / "data.csv"
    data.write_text("1,2\n3,4\n5,7\n")
    for args in (["predict", bad, data], ["score", odd, data], ["info", bad]):
        assert main(list(map(str, args))) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("fastgmm: error: "), captured.err
        assert str(args[1]) in lines[0]
    # And once as a real process: no traceback.
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-m", "fastgmm", "info", str(odd)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"fastgmm: error: {odd}: entry 'weights_' uses compression")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_fitted_arrays_are_c_contiguous_so_a_loaded_model_scores_identically(
        covariance_type, tmp_path):
    """A model file stores C-ordered arrays; the fitted ones are C-ordered too,
    so the loaded model runs the same compiled kernels on the same layout."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(400, 3)), rng.normal(size=(400, 3)) @ np.diag([1, 3, 0.1]) + 4])
    model = fastgmm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(model, name).flags.c_contiguous, name
    model.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
