"""Model files: fastgmm._io.save_model / fastgmm.load, and pickling.

A saved and reloaded model must predict bit-identically (exact equality,
no tolerance): the file stores the fitted arrays unchanged. Every way a
file can be wrong must give a ValueError that names the problem.
"""

import doctest
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import reference
import fastgmm._io
from fastgmm import load as load_model
from fastgmm._io import FORMAT_VERSION, save_model
from fastgmm.datasets import load_old_faithful
from fastgmm.gaussian_mixture import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def X():
    return load_old_faithful()


@pytest.fixture(scope="module", params=[(c, d) for c in COVARIANCE_TYPES for d in ("float64", "float32")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def fitted(request, X):
    covariance_type, dtype = request.param
    Xd = X.astype(dtype)
    model = GaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(Xd)
    return model, Xd


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, X):
    """A saved full-covariance model: the base of the corrupt-file cases."""
    path = tmp_path_factory.mktemp("io") / "model.npz"
    save_model(GaussianMixture(n_components=2, random_state=0).fit(X), path)
    return path


def _entries(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _rewrite(path, out, drop=(), **replace):
    """Copy the model file `path` to `out`, dropping or replacing entries."""
    entries = _entries(path)
    for key in drop:
        del entries[key]
    entries.update(replace)
    np.savez(out, **entries)
    return out


def _assert_same_model(loaded, model, X):
    for name in FITTED:
        a, b = getattr(loaded, name), getattr(model, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert loaded.converged_ == model.converged_
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.lower_bound_ == model.lower_bound_
    assert type(loaded.lower_bound_) is type(model.lower_bound_)
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert loaded.n_features_in_ == model.n_features_in_
    params, expected = loaded.get_params(), model.get_params()
    expected["callback"] = None
    assert params == expected
    # Bit-identical predictions.
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert loaded.score(X) == model.score(X)
    assert loaded.bic(X) == model.bic(X)


# -- round trip --------------------------------------------------------------


def test_round_trip(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert type(loaded) is GaussianMixture
    _assert_same_model(loaded, model, X)


def test_layout(model_file):
    entries = _entries(model_file)
    assert entries["format_version"].shape == ()
    assert int(entries["format_version"]) == FORMAT_VERSION == 1
    assert entries["fastgmm_version"].dtype.kind == "U"
    params = json.loads(str(entries["params"]))
    assert params["n_components"] == 2 and params["covariance_type"] == "full"
    assert "callback" not in params and "means_init" not in params
    assert entries["means_"].shape == (2, 2)
    assert entries["covariances_"].shape == (2, 2, 2)
    for key in ("converged_", "n_iter_", "lower_bound_", "n_features_in_"):
        assert entries[key].shape == (), key
    assert entries["lower_bounds_"].ndim == 1


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
def test_path_is_used_as_given_and_no_temporary_file_is_left(X, tmp_path):
    model = GaussianMixture(n_components=2, random_state=0, max_iter=5, tol=0).fit(X)
    path = tmp_path / "model.bin"
    save_model(model, str(path))
    assert os.listdir(tmp_path) == ["model.bin"]
    save_model(model, path)  # replaces
    assert os.listdir(tmp_path) == ["model.bin"]
    assert load_model(str(path)).n_iter_ == 5


def test_save_errors_name_the_path(X, tmp_path):
    model = GaussianMixture(n_components=2, random_state=0).fit(X)
    target = tmp_path / "absent" / "m.npz"
    with pytest.raises(FileNotFoundError) as info:
        save_model(model, target)
    assert info.value.filename == str(target)
    with pytest.raises(IsADirectoryError):
        save_model(model, tmp_path)


def test_sample_after_load_is_reproducible(X, tmp_path):
    model = GaussianMixture(n_components=2, random_state=3).fit(X)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    a, b = model.sample(50), loaded.sample(50)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_init_arrays_are_stored_as_arrays(X, tmp_path):
    means_init = np.array([[2.0, 55.0], [4.3, 80.0]])
    weights_init = np.array([0.4, 0.6])
    model = GaussianMixture(n_components=2, means_init=means_init, weights_init=weights_init).fit(X)
    save_model(model, tmp_path / "m.npz")
    entries = _entries(tmp_path / "m.npz")
    np.testing.assert_array_equal(entries["means_init"], means_init)
    assert "precisions_init" not in entries
    loaded = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.means_init, means_init)
    np.testing.assert_array_equal(loaded.weights_init, weights_init)
    assert loaded.precisions_init is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_callback_and_random_state_instance_are_not_stored(X, tmp_path):
    model = GaussianMixture(
        n_components=2, random_state=np.random.RandomState(0), callback=lambda n, lb: False
    ).fit(X)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.callback is None
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        save_model(GaussianMixture(n_components=2), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_sklearn_model_can_be_saved(X, tmp_path):
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    model = sklearn_mixture.GaussianMixture(n_components=2, random_state=0).fit(X)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.means_, model.means_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X),
                               rtol=reference.REORDER_RTOL)


def test_pickle_round_trip(fitted):
    model, X = fitted
    clone = pickle.loads(pickle.dumps(model))
    _assert_same_model(clone, model, X)


def test_pickle_of_a_loaded_model(model_file, X):
    loaded = load_model(model_file)
    clone = pickle.loads(pickle.dumps(loaded))
    _assert_same_model(clone, loaded, X)


def test_docstring_examples():
    result = doctest.testmod(fastgmm._io)
    assert result.attempted >= 3
    assert result.failed == 0


# -- bad files ---------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.npz")


def test_newer_format_version(model_file, tmp_path):
    path = _rewrite(model_file, tmp_path / "new.npz", format_version=np.array(FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"format version 2, newer .* upgrade fastgmm"):
        load_model(path)


@pytest.mark.parametrize("value", [np.array(0), np.array(1.0), np.array([1])])
def test_invalid_format_version(model_file, tmp_path, value):
    path = _rewrite(model_file, tmp_path / "bad.npz", format_version=value)
    with pytest.raises(ValueError, match="format.version"):
        load_model(path)


def test_no_format_version(model_file, tmp_path):
    path = _rewrite(model_file, tmp_path / "bad.npz", drop=["format_version"])
    with pytest.raises(ValueError, match="not a fastgmm model file: no 'format_version'"):
        load_model(path)


@pytest.mark.parametrize(
    "key",
    ["params", "weights_", "means_", "covariances_", "precisions_cholesky_", "converged_",
     "lower_bounds_", "n_features_in_", "fastgmm_version"],
)
def test_missing_entry(model_file, tmp_path, key):
    path = _rewrite(model_file, tmp_path / "bad.npz", drop=[key])
    with pytest.raises(ValueError, match=f"missing entry '{key}'") as info:
        load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("covariances_", np.ones((2, 2)), r"'covariances_' has shape \(2, 2\), expected \(2, 2, 2\) \(full"),
        ("precisions_cholesky_", np.ones((3, 2, 2)), r"'precisions_cholesky_' has shape \(3, 2, 2\)"),
        ("weights_", np.ones(3) / 3, r"'weights_' has shape \(3,\), expected \(2,\)"),
        ("means_", np.ones((2, 3)), r"'means_' has shape \(2, 3\), expected \(n_components, 2\)"),
        ("means_", np.ones(4), r"'means_' has shape \(4,\)"),
        ("lower_bounds_", np.ones((2, 2)), "'lower_bounds_' should be a 1-d float array"),
        ("n_iter_", np.array([3]), "'n_iter_' should be an integer"),
        ("converged_", np.array(1.0), "'converged_' should be a boolean"),
        ("means_", np.ones((2, 2), dtype=np.int64), "'means_' has dtype int64, expected floating"),
        ("params", np.array("{not json"), "'params' is not valid JSON"),
        ("params", np.array("[1, 2]"), "'params' is not a JSON object"),
        ("params", np.array(json.dumps({"covariance_type": "round"})), "unknown covariance_type 'round'"),
        ("params", np.array(json.dumps({"n_components": 3})), "n_components=3 but 'means_' has 2 rows"),
        ("params", np.array(json.dumps({"n_components": 2, "colour": "red"})), "hyper-parameter"),
        ("params", np.array(3), "'params' should be a JSON string"),
    ],
)
def test_wrong_entry(model_file, tmp_path, key, value, message):
    path = _rewrite(model_file, tmp_path / "bad.npz", **{key: value})
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_object_array_is_never_unpickled(model_file, tmp_path):
    entries = _entries(model_file)
    entries["means_"] = np.array([{"evil": 1}, None], dtype=object)
    path = tmp_path / "bad.npz"
    np.savez(path, **entries)  # allow_pickle defaults to True when saving
    with pytest.raises(ValueError, match="'means_' holds Python objects"):
        load_model(path)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_truncated_file(model_file, tmp_path, fraction):
    content = model_file.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_model(path)


def test_flipped_bit_in_an_array(model_file, tmp_path):
    content = bytearray(model_file.read_bytes())
    with zipfile.ZipFile(model_file) as archive:
        info = archive.getinfo("means_.npy")
    name_length, extra_length = struct.unpack("<HH", content[info.header_offset + 26:info.header_offset + 30])
    data_start = info.header_offset + 30 + name_length + extra_length
    content[data_start + info.compress_size - 1] ^= 0x40
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="'means_' is corrupt"):
        load_model(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a fastgmm model file .empty"),
        (b"weights,means\n1,2\n", "not a fastgmm model file .not a zip archive"),
        (b"\x80\x04K\x01.", "not a fastgmm model file .not a zip archive"),  # a pickle
    ],
)
def test_not_a_model_file(tmp_path, content, message):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_npy_file_is_not_a_model_file(tmp_path):
    path = tmp_path / "model.npy"
    np.save(path, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="single .npy array, not an .npz archive"):
        load_model(path)


def test_public_save_and_load(tmp_path):
    import fastgmm

    X = load_old_faithful()
    model = GaussianMixture(n_components=2, random_state=0).fit(X)
    path = tmp_path / "public.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(fastgmm.NotFittedError):
        GaussianMixture().save(tmp_path / "unfitted.npz")
