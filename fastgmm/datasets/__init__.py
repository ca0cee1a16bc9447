"""Small real data sets shipped with fastgmm.

Both are public, under 20 kB, and read from the package itself (no network):
see ``fastgmm/datasets/data/README.md`` for their sources and licences.

``load_old_faithful``
    Old Faithful geyser eruptions: 272 samples x 2 features, two clusters.
``load_penguins``
    Palmer Archipelago penguins: 342 samples x 4 measurements, three species.
"""

import csv
import io
from importlib import resources

import numpy as np

__all__ = ["load_old_faithful", "load_penguins"]

_MISSING = frozenset({"", "NA"})


def _read_csv(filename):
    """Rows of a shipped CSV file: the header, then the data rows, as strings."""
    text = resources.files(__name__).joinpath("data", filename).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def load_old_faithful():
    """Load the Old Faithful geyser data.

    272 eruptions of the Old Faithful geyser in Yellowstone National Park:
    the eruption duration and the waiting time to the next eruption, both in
    minutes. The classic two-cluster example for Gaussian mixtures (short
    eruptions around 2 min followed by ~54 min waits, long ones around
    4.3 min followed by ~80 min waits).

    Returns
    -------
    X : ndarray of shape (272, 2), float64
        Column 0 is the eruption duration (min), column 1 the waiting time
        to the next eruption (min).

    Notes
    -----
    Source: R ``datasets::faithful`` (Haerdle 1991; Azzalini & Bowman 1990),
    public domain.

    Examples
    --------
    >>> from fastgmm.datasets import load_old_faithful
    >>> X = load_old_faithful()
    >>> X.shape, X.dtype
    ((272, 2), dtype('float64'))
    """
    _, rows = _read_csv("old_faithful.csv")
    return np.array([[float(value) for value in row] for row in rows], dtype=np.float64)


def load_penguins(dropna=True):
    """Load the Palmer Archipelago penguins data.

    Bill length, bill depth, flipper length and body mass of penguins of
    three species (Adelie, Chinstrap, Gentoo) from three islands of the
    Palmer Archipelago, Antarctica. The species are ground-truth labels for
    checking a 3-component mixture.

    The file has 344 rows; the 2 rows without any measurement are dropped
    (``dropna=True``), leaving 342 rows (151 Adelie, 68 Chinstrap, 123
    Gentoo). Rows that lack only the sex are kept, since sex is not among
    the returned features.

    Parameters
    ----------
    dropna : bool, default=True
        Drop the rows with a missing measurement. With False, all 344 rows,
        NaN where a measurement is missing (in this file, the 2 rows lack
        all four measurements).

    Returns
    -------
    X : ndarray of shape (342, 4) or (344, 4), float64
        Bill length (mm), bill depth (mm), flipper length (mm), body mass (g).
    y : ndarray of shape (342,) or (344,), int64
        Species index into `target_names`.
    feature_names : list of str
        ``["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
        "body_mass_g"]``.
    target_names : list of str
        ``["Adelie", "Chinstrap", "Gentoo"]``.

    Notes
    -----
    Source: Gorman, Williams & Fraser (2014), via the palmerpenguins package;
    data CC0.

    Examples
    --------
    >>> from fastgmm.datasets import load_penguins
    >>> X, y, feature_names, target_names = load_penguins()
    >>> X.shape, y.shape
    ((342, 4), (342,))
    >>> target_names
    ['Adelie', 'Chinstrap', 'Gentoo']
    """
    header, rows = _read_csv("palmer_penguins.csv")
    feature_names = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    feature_columns = [header.index(name) for name in feature_names]
    species_column = header.index("species")
    target_names = sorted({row[species_column] for row in rows})
    X, y = [], []
    for row in rows:
        values = [row[j] for j in feature_columns]
        if dropna and any(value in _MISSING for value in values):
            continue
        X.append([np.nan if value in _MISSING else float(value) for value in values])
        y.append(target_names.index(row[species_column]))
    return (
        np.array(X, dtype=np.float64),
        np.array(y, dtype=np.int64),
        feature_names,
        target_names,
    )
