"""Exceptions and warnings raised by fastgmm.

They subclass the built-in types scikit-learn's own classes subclass, so
``except ValueError`` and warning filters on ``UserWarning`` work alike.
When scikit-learn is already imported in the process, the error or warning
actually raised is also an instance of scikit-learn's class of the same
name (``sklearn.exceptions.NotFittedError``, ``ConvergenceWarning``), so
code written against scikit-learn catches it too; fastgmm never imports
scikit-learn itself.
"""

import functools
import sys


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has an invalid type or value."""


class ConvergenceWarning(UserWarning):
    """EM (or k-means) stopped at ``max_iter`` before meeting ``tol``."""


class FitFailedWarning(RuntimeWarning):
    """One fit of a sweep (``select_model``) failed; the sweep went on without it."""


@functools.lru_cache(maxsize=None)
def _with_sklearn_twin(cls, sklearn_cls):
    return type(cls.__name__, (cls, sklearn_cls), {"__module__": cls.__module__,
                                                    "__doc__": cls.__doc__})


def compatible(cls):
    """``cls``, or a subclass of it and of scikit-learn's class of that name
    when scikit-learn is already imported."""
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    sklearn_cls = getattr(sk_exceptions, cls.__name__, None)
    if sklearn_cls is None:
        return cls
    return _with_sklearn_twin(cls, sklearn_cls)
