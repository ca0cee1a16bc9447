"""Sphinx configuration of the fastgmm documentation.

Build with::

    sphinx-build -W -b html docs docs/_build/html

The gallery (``docs/examples``) is executed at build time, and so is
``docs/measured.py``, which writes the tables of measured numbers and the
command-line help that the pages include. Everything generated lands in
``docs/generated/``, ``docs/auto_examples/`` and
``docs/sg_execution_times.rst``.
"""

import os
import sys

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, DOCS_DIR)  # measured.py and gallery_order.py
sys.path.insert(0, os.path.dirname(DOCS_DIR))  # fastgmm itself, if not installed

import fastgmm  # noqa: E402

# -- project -----------------------------------------------------------------

project = "fastgmm"
author = "the fastgmm developers"
copyright = "the fastgmm developers"
release = fastgmm.__version__
version = release

# -- general -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# Constants of the installed fastgmm, quoted on the pages as substitutions so
# that they cannot drift from the code.
from fastgmm import _config  # noqa: E402

rst_prolog = f"""
.. |chunk_size| replace:: {_config.CHUNK_SIZE}
.. |low_d_chunk_size| replace:: {_config.LOW_D_CHUNK_SIZE}
.. |low_d_max_features| replace:: {_config.LOW_D_MAX_FEATURES}
.. |part_mib| replace:: {_config.PART_BYTES // 2**20}
.. |max_chunk_size| replace:: {_config.MAX_CHUNK_SIZE}
.. |float32_pass_max_abs| replace:: {_config.FLOAT32_PASS_MAX_ABS:.4g}
"""

# -- autodoc / autosummary / numpydoc ---------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"

# numpydoc would add its own autosummary of the class members to every class
# page, duplicating the methods that the class template documents.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No mapping: the documentation builds without network access. References
# to numpy, scipy or scikit-learn render as plain code.
intersphinx_mapping = {}

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"fastgmm {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": [], "benchmarks": []}
html_show_sourcelink = True

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # Run every example (the default only runs files starting with 'plot').
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("fastgmm",),
    "backreferences_dir": "generated/backreferences",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "download_all_examples": False,
}

# -- build-time measurements -------------------------------------------------


def _write_measured(app):
    import measured

    measured.write_all(os.path.join(app.srcdir, "generated"))


def setup(app):
    # Before the sources are read, so that the ``include`` directives find
    # the files.
    app.connect("builder-inited", _write_measured)
