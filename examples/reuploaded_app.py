"""Flask-Reuploaded's photo-album example, migrated: only the import changed.

It was ``from flask_uploads import ...``. Now every photo's bytes are checked too: a ``.jpg``
that is really a PHP script is refused with ``UploadNotAllowed`` instead of being stored and
served to the next visitor, and autoserved photos get Airlock's safe headers.

    UPLOADED_PHOTOS_DEST=/tmp/photos flask --app reuploaded_app run
"""

from __future__ import annotations

import os

from flask import Flask, redirect, render_template_string, request, url_for
from werkzeug.wrappers import Response

from airlock.flask_uploads import IMAGES, UploadNotAllowed, UploadSet, configure_uploads

app = Flask(__name__)
app.config["UPLOADED_PHOTOS_DEST"] = os.environ.get("UPLOADED_PHOTOS_DEST", "photos")
app.config["UPLOADS_AUTOSERVE"] = True

photos = UploadSet("photos", IMAGES)
configure_uploads(app, photos)

FORM = """<!doctype html>
<form method="post" enctype="multipart/form-data">
  <input type="file" name="photo"> <input type="submit" value="Upload">
</form>
"""


@app.route("/upload", methods=["GET", "POST"])
def upload() -> str | Response | tuple[str, int]:
    if request.method == "POST" and "photo" in request.files:
        try:
            filename = photos.save(request.files["photo"])
        except UploadNotAllowed:
            return "This file is not allowed.", 400
        return redirect(url_for("show", filename=filename))
    return FORM


@app.get("/photo/<filename>")
def show(filename: str) -> str:
    return render_template_string('<img src="{{ url }}" alt="{{ name }}">',
                                  url=photos.url(filename), name=filename)
