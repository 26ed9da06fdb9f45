"""What a host app's pages need of Airlock: the upload widget's ES modules (served under the
API prefix, ``<prefix>/static/js/widget.js``) and its Jinja macro (``airlock/widget.html``).
The service's own pages and templates stay the UI blueprint's."""

from __future__ import annotations

from flask import Blueprint

assets = Blueprint(
    "airlock_assets", __name__,
    static_folder="static", static_url_path="/static", template_folder="ext_templates",
)  # fmt: skip
