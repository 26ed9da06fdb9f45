"""A Flask-Login app whose users each keep private files, with Airlock under ``/uploads``.

The app signs its users in; ``@airlock.user_loader`` tells Airlock who that is. Airlock makes
each user's owner record on first sight, so quotas and visibility apply to them: ``/``
uploads through an upload set and through Airlock's widget (tus, with progress, under a
strict CSP), and Airlock's own API (``/uploads/files``, ``/uploads/me``…)
answers the same session, with Airlock's CSRF token for unsafe requests (the page hands it
to its scripts in a ``<meta>`` tag).

    AIRLOCK_DATA_DIR=/tmp/login-data flask --app login_app run
"""

from __future__ import annotations

import os

from flask import Flask, abort, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from airlock import Airlock, UploadSet
from airlock.errors import AirlockError

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "change me"),
    AIRLOCK_DATA_DIR="login-data",
    AIRLOCK_DEFAULT_QUOTA="50MB",
)
# Deployment settings (AIRLOCK_STORAGE=s3, AIRLOCK_DATABASE_URL, …) from the environment.
app.config.update({k: v for k, v in os.environ.items() if k.startswith("AIRLOCK_")})
# The app's own users (a database in a real app).
USERS = {name: generate_password_hash(password)
         for name, password in (("alice", "alice's password"), ("bob", "bob's password"))}


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


logins = LoginManager(app)
logins.login_view = "login"
logins.user_loader(lambda name: User(name) if name in USERS else None)

airlock = Airlock(app, url_prefix="/uploads")
documents = UploadSet("documents", types={"pdf", "txt", "md", "png", "jpg"})


@airlock.user_loader
def signed_in() -> str | None:
    return current_user.get_id() if current_user.is_authenticated else None


@app.after_request
def strict_policy(response: Response) -> Response:
    # No inline script or style anywhere: the widget loads its module from Airlock's assets.
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'")
    return response


PAGE = """<!doctype html>
{% from "airlock/widget.html" import upload_widget %}
<meta name="airlock-csrf" content="{{ airlock_csrf_token() }}">
<title>My files</title>
<p>Signed in as {{ name }}. <a href="{{ url_for('logout') }}">Sign out</a></p>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<h2>A plain form</h2>
<form method="post" action="{{ url_for('upload') }}" enctype="multipart/form-data">
  <input type="file" name="file"> <input type="submit" value="Upload">
</form>
<h2>Airlock's widget (drop, progress, resumable)</h2>
{{ upload_widget(owner=name) }}
<p>Your files, as Airlock's API lists them: <a href="/uploads/files">/uploads/files</a></p>
"""

LOGIN = """<!doctype html>
<title>Sign in</title>
<form method="post">
  <input name="username"> <input name="password" type="password">
  <input type="submit" value="Sign in">
</form>
"""


@app.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        name = request.form.get("username", "")
        if name in USERS and check_password_hash(USERS[name], request.form.get("password", "")):
            login_user(User(name))
            return redirect(url_for("index"))
        abort(401)
    return LOGIN


@app.get("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("login"))


@app.get("/")
@login_required
def index() -> str:
    return render_template_string(PAGE, name=current_user.get_id(), error=request.args.get("e"))


@app.post("/upload")
@login_required
def upload() -> Response:
    try:
        documents.receive()  # owned by the signed-in user, private
    except AirlockError as exc:
        return redirect(url_for("index", e=exc.message))
    return redirect(url_for("index"))
