"""The scikit-learn estimator protocol, without importing scikit-learn.

``get_params``/``set_params`` read the constructor's signature, so
``sklearn.base.clone``, ``Pipeline`` and ``GridSearchCV`` work when
scikit-learn is installed, and nothing here needs it otherwise.
"""

import inspect

from .exceptions import NotFittedError, compatible


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
