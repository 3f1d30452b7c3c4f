"""Sphinx configuration: the API reference from the docstrings (numpydoc), the guides in Markdown."""

import tradeflows

project = "tradeflows"
release = version = tradeflows.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "api/generated/*.md"]
autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The Markdown guides link to files of the repository (README, RESULTS) that are not pages.
suppress_warnings = ["myst.xref_missing", "myst.header"]
html_theme = "alabaster"
html_static_path = []
templates_path = ["_templates"]
