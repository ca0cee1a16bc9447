"""The order of the examples in the gallery: from EM itself to applications."""

import os

ORDER = [
    "plot_em_steps.py",
    "plot_log_likelihood.py",
    "plot_old_faithful.py",
    "plot_penguins.py",
    "plot_missing_values.py",
    "plot_covariance_types.py",
    "plot_choose_k.py",
    "plot_mclust_bic.py",
    "plot_bayesian_concentration.py",
    "plot_kmeans_cem_em.py",
    "plot_speed.py",
]


class ExampleOrder:
    """Sort key for ``within_subsection_order``: the position in ``ORDER``.

    An example not listed comes after the listed ones, by file name.
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        position = ORDER.index(name) if name in ORDER else len(ORDER)
        return (position, name)

    def __repr__(self):
        return f"{type(self).__name__}()"
