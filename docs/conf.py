"""Sphinx configuration of the swmrview documentation (``sphinx-build -W docs OUT``).

The screenshots stay in the repository's ``screenshots/`` (made by
``scripts/make_screenshots.py``) and are referenced from here by relative path; the CLI
reference is generated from the argument parsers (``_ext/cliref.py``); the code examples run
as doctests (``sphinx-build -b doctest``) against small scan files written by
``_ext/example_files.py`` in a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))   # document this checkout's swmrview, not another installed one

import swmrview  # noqa: E402

project = "swmrview"
author = "the swmrview authors"
copyright = "the swmrview authors"
release = swmrview.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",      # the numpy-style Parameters / Raises sections of the docstrings
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "cliref",                   # .. cli-reference:: module:parser_function
]

html_theme = "pydata_sphinx_theme"
html_title = f"swmrview {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
exclude_patterns = ["_build"]
nitpicky = False

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
# Sphinx runs offline in the tests: no intersphinx inventories are fetched
intersphinx_mapping: dict = {}

doctest_global_setup = """
import os, tempfile
import example_files
_doc_dir = tempfile.mkdtemp(prefix="swmrview-doctest-")
os.chdir(_doc_dir)
example_files.write_all(_doc_dir)
"""
doctest_global_cleanup = """
import shutil
os.chdir(tempfile.gettempdir())
shutil.rmtree(_doc_dir, ignore_errors=True)
"""
