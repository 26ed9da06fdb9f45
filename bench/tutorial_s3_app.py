"""The tutorials' "upload to S3 from Flask" pattern, the S3 peer of bench/run_s3.py.

What the usual Flask + boto3 tutorials show, with nothing added for speed or memory:

* ``POST /upload``: ``f = request.files["file"]`` (Werkzeug parses the whole multipart body
  first, spooling the file part to a temporary file), then
  ``client.upload_fileobj(f, bucket, key)`` with boto3's default ``TransferConfig``
  (8 MiB parts, 10 threads);
* ``PUT /upload/<name>``: ``client.upload_fileobj(request.stream, bucket, key)``, i.e. the
  request body streamed into a multipart upload (boto3 reads the non-seekable stream in
  8 MiB parts into memory).

Both answer ``201`` with ``{"key": ..., "size": ...}``; the size is the stored object's, from a
``head_object`` after the upload. No auth, no checks, no hashing.

Configured from the environment:

* ``S3_ENDPOINT`` (e.g. ``http://127.0.0.1:8333``), ``S3_BUCKET``, ``S3_REGION`` (default
  ``us-east-1``), ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``; the client uses path-style
  addressing and signature v4.

Run it like Airlock runs (gunicorn gthread workers)::

    S3_ENDPOINT=... S3_BUCKET=... S3_ACCESS_KEY_ID=... S3_SECRET_ACCESS_KEY=... \
        gunicorn --workers 2 --worker-class gthread --threads 8 --timeout 30 \
        -b 127.0.0.1:8002 --chdir bench tutorial_s3_app:app
"""
import os

import boto3
from botocore.config import Config
from flask import Flask, jsonify, request
from werkzeug.utils import secure_filename

S3_BUCKET = os.environ.get("S3_BUCKET", "uploads")

app = Flask(__name__)

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ.get("S3_ENDPOINT") or None,
    region_name=os.environ.get("S3_REGION", "us-east-1"),
    aws_access_key_id=os.environ.get("S3_ACCESS_KEY_ID") or None,
    aws_secret_access_key=os.environ.get("S3_SECRET_ACCESS_KEY") or None,
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)


def stored(key):
    size = s3.head_object(Bucket=S3_BUCKET, Key=key)["ContentLength"]
    return jsonify({"key": key, "size": size}), 201


@app.route("/upload", methods=["POST"])
def upload():
    if "file" not in request.files:
        return jsonify({"error": "no file part"}), 400
    f = request.files["file"]
    if f.filename == "":
        return jsonify({"error": "no selected file"}), 400
    key = secure_filename(f.filename)
    s3.upload_fileobj(f, S3_BUCKET, key)
    return stored(key)


@app.route("/upload/<name>", methods=["PUT"])
def upload_put(name):
    key = secure_filename(name)
    s3.upload_fileobj(request.stream, S3_BUCKET, key)
    return stored(key)


@app.route("/health")
def health():
    return "ok"
