"""The data sets shipped in fastgmm/datasets/data and their loaders."""

import doctest
from importlib import resources

import numpy as np

import fastgmm.datasets
from fastgmm.datasets import load_old_faithful, load_penguins


def test_data_files_are_package_resources():
    data = resources.files("fastgmm.datasets").joinpath("data")
    for name in ("old_faithful.csv", "palmer_penguins.csv", "README.md"):
        assert data.joinpath(name).is_file(), name
    readme = data.joinpath("README.md").read_text(encoding="utf-8")
    assert "public domain" in readme and "CC0" in readme


def test_old_faithful():
    X = load_old_faithful()
    assert X.shape == (272, 2)
    assert X.dtype == np.float64
    assert X.flags.c_contiguous
    np.testing.assert_array_equal(X[0], [3.6, 79.0])
    np.testing.assert_array_equal(X[-1], [4.467, 74.0])
    # Ranges of R's datasets::faithful.
    assert (X.min(axis=0) == [1.6, 43.0]).all()
    assert (X.max(axis=0) == [5.1, 96.0]).all()


def test_old_faithful_returns_a_fresh_array():
    X = load_old_faithful()
    X[0, 0] = -1.0
    assert load_old_faithful()[0, 0] == 3.6


def test_penguins():
    X, y, feature_names, target_names = load_penguins()
    assert X.shape == (342, 4)
    assert X.dtype == np.float64
    assert y.shape == (342,)
    assert y.dtype.kind == "i"
    assert feature_names == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    assert target_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert np.bincount(y).tolist() == [151, 68, 123]
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[0], [39.1, 18.7, 181.0, 3750.0])
    assert y[0] == 0
    # Body mass in grams, bill lengths in millimetres.
    assert 2500 < X[:, 3].min() and X[:, 3].max() < 6500
    assert 30 < X[:, 0].min() and X[:, 0].max() < 60
    # Gentoos have the longest flippers.
    means = np.array([X[y == k, 2].mean() for k in range(3)])
    assert means.argmax() == 2


def test_docstring_examples():
    result = doctest.testmod(fastgmm.datasets, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4
    assert result.failed == 0


def test_penguins_keep_missing():
    X, y, _, _ = load_penguins(dropna=False)
    assert X.shape == (344, 4) and y.shape == (344,)
    missing = np.isnan(X).any(axis=1)
    assert missing.sum() == 2 and np.isnan(X[missing]).all()
    np.testing.assert_array_equal(X[~missing], load_penguins()[0])
