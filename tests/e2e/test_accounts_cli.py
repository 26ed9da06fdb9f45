"""``airlock user …`` and ``airlock token …``: list, set a password (asked on a terminal, or
read from standard input), delete with the Files, list and revoke tokens; a disabled user
gets no token."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import requests

from tests.support.server import AIRLOCK, LiveServer, cli


def on_a_terminal(data_dir: Path, *args: str, answers: list[str]) -> tuple[int, str]:
    """Run a command with a terminal for its standard input (and output), typing
    ``answers`` at its prompts; its exit status and what it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*AIRLOCK, "--data-dir", str(data_dir), *args], stdin=follower,
                            stdout=follower, stderr=follower, close_fds=True)  # fmt: skip
    os.close(follower)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)  # bounded: never waits forever
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command exited and closed the terminal
            break
        if not chunk:
            break
        out += chunk
        # A prompt is new output ending in ":" (not the echo of an answer already given).
        if pending and chunk.rstrip().endswith(b":"):
            os.write(leader, pending.pop(0).encode() + b"\n")
    os.close(leader)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout=30), out.decode(errors="replace")


def test_user_add_asks_for_the_password_on_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    status, out = on_a_terminal(data, "user", "add", "tess", answers=["tess's password"] * 2)
    assert status == 0, out
    assert "Password" in out and "tess's password" not in out  # not echoed
    live = LiveServer(data).start()
    try:
        r = requests.post(live.url + "/api/v1/session", timeout=10,
                          json={"username": "tess", "password": "tess's password"})  # fmt: skip
        assert r.status_code == 200, r.text
    finally:
        live.stop()


def test_list_passwd_delete_and_tokens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "user", "add", "root", "--admin", "--password-stdin", stdin="root password\n")
    cli(data, "user", "add", "ann", "--password-stdin", stdin="ann's first password\n")
    listed = cli(data, "user", "list")
    assert "root" in listed and "admin" in listed and "ann" in listed

    token = cli(data, "token", "create", "ann", "--label", "laptop").strip().splitlines()[-1]
    tokens = cli(data, "token", "list", "ann")
    assert "laptop" in tokens and token not in tokens  # the secret is not kept
    token_id = tokens.splitlines()[1].split()[0]

    live = LiveServer(data).start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(live.url + "/api/v1/me", headers=auth, timeout=10).status_code == 200
        r = requests.put(live.url + "/api/v1/files/a.txt", data=b"ann's\n", headers=auth,
                         timeout=10)  # fmt: skip
        assert r.status_code == 201
        cli(data, "token", "revoke", "ann", token_id)
        assert requests.get(live.url + "/api/v1/me", headers=auth, timeout=10).status_code == 401

        cli(data, "user", "passwd", "ann", "--password-stdin", stdin="ann's new password\n")
        old = requests.post(live.url + "/api/v1/session", timeout=10,
                            json={"username": "ann", "password": "ann's first password"})  # fmt: skip
        assert old.status_code == 401
        new = requests.post(live.url + "/api/v1/session", timeout=10,
                            json={"username": "ann", "password": "ann's new password"})  # fmt: skip
        assert new.status_code == 200

        refused = subprocess.run([*AIRLOCK, "--data-dir", str(data), "user", "delete", "ann"],
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                 timeout=60)  # fmt: skip
        assert refused.returncode != 0 and "--yes" in refused.stderr
        out = cli(data, "user", "delete", "ann", "--yes")
        assert "Deleted 'ann' and 1 File" in out
        assert "ann" not in cli(data, "user", "list")
        stored = [p for p in (data / "files").rglob("*") if p.is_file()]
        assert stored == []
    finally:
        live.stop()


def test_a_disabled_user_gets_no_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "user", "add", "root", "--admin", "--password-stdin", stdin="root password\n")
    cli(data, "user", "add", "dan", "--password-stdin", stdin="dan's password\n")
    admin = cli(data, "token", "create", "root").strip().splitlines()[-1]
    live = LiveServer(data).start()
    try:
        r = requests.patch(live.url + "/api/v1/admin/users/dan", json={"disabled": True},
                           headers={"Authorization": f"Bearer {admin}"}, timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text
    finally:
        live.stop()
    result = subprocess.run([*AIRLOCK, "--data-dir", str(data), "token", "create", "dan"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0 and "disabled" in result.stderr
