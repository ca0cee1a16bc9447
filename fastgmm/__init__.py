"""fastgmm: Gaussian mixture models fitted by EM on the CPU, fast.

A scikit-learn-compatible ``GaussianMixture`` whose every EM iteration is
one fused, parallel Numba pass over the data.
"""

from .exceptions import ConvergenceWarning, NotFittedError
from .gaussian_mixture import GaussianMixture

__version__ = "0.1.0.dev0"

__all__ = ["GaussianMixture", "ConvergenceWarning", "NotFittedError", "__version__"]
