"""Flask's file-upload tutorial app, with Airlock doing the hard parts.

The tutorial reads ``request.files``, runs ``secure_filename`` and an extension list, and
saves into a folder it then serves. Here the same page hands the request to an upload set:
the bytes are streamed through Airlock's checks (the type comes from the bytes, the name is
neutralised, bombs and mislabelled files are refused) and stored in Airlock's data directory,
then served from Airlock's public route with safe headers.

    AIRLOCK_DATA_DIR=/tmp/tutorial-data flask --app tutorial_app run
"""

from __future__ import annotations

import os

from flask import Flask, flash, get_flashed_messages, redirect, render_template_string, request
from werkzeug.wrappers import Response

from airlock import Airlock, UploadSet
from airlock.errors import AirlockError

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "change me"),
    AIRLOCK_DATA_DIR="tutorial-data",
    AIRLOCK_ALLOWED_TYPES="txt,pdf,png,jpg,jpeg,gif",
    AIRLOCK_MAX_FILE_SIZE="16MB",
)
# Deployment settings (AIRLOCK_STORAGE=s3, AIRLOCK_DATABASE_URL, …) from the environment.
app.config.update({k: v for k, v in os.environ.items() if k.startswith("AIRLOCK_")})
Airlock(app)
# The tutorial has no users: every upload is stored for one owner, and public, so that the
# page can link to it.
uploads = UploadSet("uploads", visibility="public")
OWNER = "tutorial"

PAGE = """<!doctype html>
<title>Upload new File</title>
<h1>Upload new File</h1>
{% for message in messages %}<p class="error">{{ message }}</p>{% endfor %}
<form method="post" enctype="multipart/form-data">
  <input type="file" name="file">
  <input type="submit" value="Upload">
</form>
"""


@app.route("/", methods=["GET", "POST"])
def upload_file() -> str | Response:
    if request.method == "POST":
        try:
            stored = uploads.receive(owner=OWNER)
        except AirlockError as exc:  # API.md's reasons: type_not_allowed, content_mismatch, …
            flash(exc.message)
            return redirect(request.url)
        return redirect(uploads.url(stored))
    return render_template_string(PAGE, messages=get_flashed_messages())
