"""Sphinx configuration: the guides in this folder and the API reference from the
docstrings (autodoc). Built by the test command with warnings as errors."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

project = "Airlock"
author = "The Airlock project"
copyright = "2026, the Airlock project"  # noqa: A001 - Sphinx's name for it
release = version = "0.1.0"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
# No network while building: the Python and Flask inventories are not fetched.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
exclude_patterns = ["_build", "screenshots"]
html_theme = "alabaster"
html_static_path: list[str] = []
