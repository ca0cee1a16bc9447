"""fastgmm: Gaussian mixture models fitted by EM on the CPU, fast.

A scikit-learn-compatible ``GaussianMixture`` whose every EM iteration is
one fused, parallel Numba pass over the data.
"""

from .exceptions import ConvergenceWarning, NotFittedError
from ._hc import HierarchicalTree, hierarchical_tree
from .bayesian_mixture import BayesianGaussianMixture
from .gaussian_mixture import GaussianMixture
from .kmeans import KMeans
from .model_selection import ModelSelection, select_model

__version__ = "0.1.0.dev0"


def load(path):
    """Load a model saved by :meth:`GaussianMixture.save` or
    :meth:`BayesianGaussianMixture.save` (the file says which).

    The file is read with ``allow_pickle=False``: an untrusted file cannot run
    code. A corrupt, truncated or newer-format file raises ``ValueError``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    GaussianMixture or BayesianGaussianMixture
        The fitted model; it predicts bit-identically to the saved one.
    """
    classes = {cls.__name__: cls for cls in (GaussianMixture, BayesianGaussianMixture)}
    return GaussianMixture._read_model_file(path, classes)[0]


__all__ = ["GaussianMixture", "BayesianGaussianMixture", "KMeans", "ConvergenceWarning",
           "NotFittedError", "load", "select_model", "ModelSelection", "hierarchical_tree",
           "HierarchicalTree", "__version__"]
