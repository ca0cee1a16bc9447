"""The scikit-learn estimator protocol, without importing scikit-learn.

``get_params``/``set_params`` read the constructor's signature, so
``sklearn.base.clone``, ``Pipeline`` and ``GridSearchCV`` work when
scikit-learn is installed, and nothing here needs it otherwise.
"""

import inspect
import sys

import numpy as np

from .exceptions import NotFittedError, compatible

_OUTPUTS = ("default", "pandas")


class _ParamsMixin:
    """get_params, set_params, a readable repr and scikit-learn's tags."""

    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            p.name for p in signature.parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        )

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators (there are
            none; accepted for scikit-learn compatibility).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.

        Raises
        ------
        ValueError
            For a name that is not a parameter of the estimator.
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except Exception:  # arrays compare elementwise
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        # Called by scikit-learn only, so it is installed when this runs.
        from sklearn.utils import Tags, TargetTags, InputTags

        return Tags(
            estimator_type=getattr(self, "_estimator_type", None),
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
            input_tags=InputTags(),
        )

    def _check_is_fitted(self, attribute):
        if not hasattr(self, attribute):
            raise compatible(NotFittedError)(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )


class _TransformerOutputMixin:
    """``set_output`` and ``get_feature_names_out``, as scikit-learn's mixins.

    The output configuration lives in ``_sklearn_output_config``, the
    attribute scikit-learn's ``clone`` copies; without a ``set_output``
    call, scikit-learn's global ``transform_output`` applies when
    scikit-learn is already imported (it is never imported here, nor pandas
    until a DataFrame is asked for). Subclasses define ``_n_features_out()``
    (the number of output columns; it raises NotFittedError before fit) and
    pass what ``transform`` and ``fit_transform`` return through
    :meth:`_wrap_output`.
    """

    def set_output(self, *, transform=None):
        """Set the container ``transform`` and ``fit_transform`` return.

        Parameters
        ----------
        transform : {'default', 'pandas'} or None, default=None
            'default': a numpy array; 'pandas': a DataFrame whose columns
            are :meth:`get_feature_names_out` (and whose index is that of X
            when X is a DataFrame); None leaves the configuration unchanged.

        Returns
        -------
        self : estimator instance
        """
        if transform is None:
            return self
        if transform not in _OUTPUTS:
            raise ValueError(
                f"The 'transform' output of {type(self).__name__} must be in "
                f"{list(_OUTPUTS)} (or None), got {transform!r}."
            )
        self._sklearn_output_config = dict(getattr(self, "_sklearn_output_config", {}),
                                           transform=transform)
        return self

    def _transform_output(self):
        config = getattr(self, "_sklearn_output_config", {})
        if "transform" in config:
            return config["transform"]
        sklearn = sys.modules.get("sklearn")
        if sklearn is not None and hasattr(sklearn, "get_config"):
            return sklearn.get_config().get("transform_output", "default")
        return "default"

    def _wrap_output(self, data, X):
        """``data`` in the configured container; ``X`` is the input as given."""
        output = self._transform_output()
        if output == "default":
            return data
        if output != "pandas":
            raise ValueError(
                f"{type(self).__name__} outputs a numpy array ('default') or a pandas "
                f"DataFrame ('pandas'); the configured transform output is "
                f"{output!r}. Use set_output(transform='pandas') or 'default'."
            )
        import pandas as pd

        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(data, index=index, columns=self.get_feature_names_out(),
                            copy=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: the class name lower-cased, then the index.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Checked against ``feature_names_in_`` (when set) and
            ``n_features_in_``; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["kmeans0", "kmeans1", ...]`` for ``KMeans``, as scikit-learn.
        """
        n_features_out = self._n_features_out()
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            names_in = getattr(self, "feature_names_in_", None)
            if names_in is not None and not np.array_equal(names_in, input_features):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(input_features)}"
                )
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(n_features_out)], dtype=object)
