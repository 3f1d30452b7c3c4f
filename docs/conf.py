"""Sphinx configuration: the API reference from the docstrings (numpydoc), the guides in
Markdown, and the four notebooks of ``notebooks/`` executed into example pages (myst-nb).
"""

from pathlib import Path

import jupytext

import tradeflows

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"


def _examples() -> None:
    """The notebooks (jupytext percent files) as ``docs/examples/*.ipynb``, run by the build.

    They run in ``docs/examples`` on the kernel of the Python that builds the docs
    (``python3``), with the defaults of their parameters cell.
    """
    EXAMPLES.mkdir(exist_ok=True)
    for source in sorted((HERE.parent / "notebooks").glob("[0-9]*.py")):
        notebook = jupytext.read(source)
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        jupytext.write(notebook, EXAMPLES / f"{source.stem}.ipynb")


_examples()

project = "tradeflows"
release = version = tradeflows.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "api/generated/*.md", "examples/*.html", "examples/.ipynb_checkpoints"]
autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The Markdown guides link to files of the repository (README, RESULTS) that are not pages.
# A plotly figure's output carries its JSON (for JupyterLab) beside its HTML (plotly.js
# embedded once per page, as the notebook renderer writes it); the pages show the HTML and
# myst-nb says it skips the JSON: not a fault.
suppress_warnings = ["myst.xref_missing", "myst.header", "mystnb.unknown_mime_type"]
html_theme = "alabaster"
html_static_path = []
templates_path = ["_templates"]
# Every example notebook runs at each build; an error in one fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_merge_streams = True
