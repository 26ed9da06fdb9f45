"""The tutorial-style Flask upload/download app, used as the baseline peer.

This is the "Uploading Files" pattern from the Flask documentation
(https://flask.palletsprojects.com/en/stable/patterns/fileuploads/), unchanged
except for three things the benchmark needs:

* the upload folder comes from the ``UPLOAD_DIR`` environment variable;
* ``zip`` is on the allowed-extension list (the benchmark uploads a ZIP);
* no ``MAX_CONTENT_LENGTH`` (the docs show it as an optional 16 MB limit;
  the benchmark uploads 1 GiB).

Run it the way tutorials do, under gunicorn with sync workers::

    UPLOAD_DIR=/tmp/up gunicorn -w 2 --timeout 600 -b 127.0.0.1:8001 \
        --chdir bench tutorial_app:app
"""
import os

from flask import Flask, flash, redirect, request, send_from_directory, url_for
from werkzeug.utils import secure_filename

UPLOAD_DIR = os.environ.get("UPLOAD_DIR", "/tmp/uploads")
ALLOWED_EXTENSIONS = {"txt", "pdf", "png", "jpg", "jpeg", "gif", "zip"}

app = Flask(__name__)
app.config["UPLOAD_FOLDER"] = UPLOAD_DIR


def allowed_file(filename):
    return "." in filename and filename.rsplit(".", 1)[1].lower() in ALLOWED_EXTENSIONS


@app.route("/", methods=["GET", "POST"])
def upload_file():
    if request.method == "POST":
        # check if the post request has the file part
        if "file" not in request.files:
            flash("No file part")
            return redirect(request.url)
        f = request.files["file"]
        # If the user does not select a file, the browser submits an
        # empty file without a filename.
        if f.filename == "":
            flash("No selected file")
            return redirect(request.url)
        if f and allowed_file(f.filename):
            filename = secure_filename(f.filename)
            f.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))
            return redirect(url_for("download_file", name=filename))
    return """
    <!doctype html>
    <title>Upload new File</title>
    <h1>Upload new File</h1>
    <form method=post enctype=multipart/form-data>
      <input type=file name=file>
      <input type=submit value=Upload>
    </form>
    """


@app.route("/uploads/<name>")
def download_file(name):
    return send_from_directory(app.config["UPLOAD_FOLDER"], name)
