"""The ``airlock`` command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.server import AIRLOCK, LiveServer, cli


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [*AIRLOCK, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
        input=stdin, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_commands_create_the_data_dir_and_database(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    out = cli(data, "user", "add", "first", "--admin", "--password-stdin", stdin="long enough pw\n")
    assert "Created admin 'first'" in out
    assert (data / "airlock.db").exists()
    token = cli(data, "token", "create", "first").strip().splitlines()[-1]
    assert token.startswith("al_") and len(token) > 40
    dup = run(data, "user", "add", "first")
    assert dup.returncode != 0 and "exists already" in dup.stderr
    short = run(data, "user", "add", "second", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "8 characters" in short.stderr
    missing = run(data, "token", "create", "nobody")
    assert missing.returncode != 0 and "No user" in missing.stderr


def test_check_says_what_is_wrong(tmp_path: Path) -> None:
    ok = run(tmp_path / "d", "check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok   database" in ok.stdout and "ok   storage" in ok.stdout
    bad = run(tmp_path / "d", "check", env={"AIRLOCK_MAX_FILE_SIZE": "lots"})
    assert bad.returncode == 1 and "FAIL config" in bad.stdout and "is not a size" in bad.stdout
    nodb = run(tmp_path / "d", "check",
               env={"AIRLOCK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})  # fmt: skip
    assert nodb.returncode == 1 and "FAIL database" in nodb.stdout
    assert "is the server running" in nodb.stdout


def test_serve_first_run_explains_itself_and_refuses_bad_settings(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data").start()
    try:
        log = live.log()
        assert "Created the data directory" in log
        # The hint names the command as it can be run from anywhere, and this data dir.
        assert f"--data-dir {tmp_path / 'data'} user add admin --admin" in log
        for name, mode in (("", 0o700), ("secret_key", 0o600), ("airlock.db", 0o600)):
            assert (tmp_path / "data" / name).stat().st_mode & 0o777 == mode, name
        assert requests.get(live.url + "/readyz", timeout=5).status_code == 200
    finally:
        live.stop()
    bad = run(tmp_path / "data", "serve", "--port", "1",
              env={"AIRLOCK_MAX_REQUEST_SIZE": "1KB"})  # fmt: skip
    assert bad.returncode != 0 and "AIRLOCK_MAX_REQUEST_SIZE" in bad.stderr
    for command in (["serve", "--port", "1"], ["check"], ["gc"], ["user", "add", "x"]):
        typo = run(tmp_path / "data", *command, env={"AIRLOCK_MAX_FILE_SIZ": "1GB"})
        assert typo.returncode != 0, command
        assert "AIRLOCK_MAX_FILE_SIZ is not a setting" in typo.stdout + typo.stderr, command
        assert "Did you mean AIRLOCK_MAX_FILE_SIZE?" in typo.stdout + typo.stderr, command
        assert "Traceback" not in typo.stderr, command


def test_check_says_when_the_data_dir_is_readable_by_others(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert run(data, "check").returncode == 0
    os.chmod(data, 0o755)
    os.chmod(data / "airlock.db", 0o644)
    wide = run(data, "check")
    assert wide.returncode == 1 and "FAIL data directory" in wide.stdout
    assert "airlock.db is 0644 (want 0600)" in wide.stdout and "is 0755 (want 0700)" in wide.stdout


def test_gc_removes_expired_files_stale_staging_and_orphans(server: LiveServer) -> None:
    auth = server.auth("alice")
    keep = requests.put(server.url + "/api/v1/files/keep.txt", data=b"keep\n", headers=auth,
                        timeout=10).json()  # fmt: skip
    gone = requests.put(server.url + "/api/v1/files/gone.txt?expires_in=1", data=b"gone\n",
                        headers=auth, timeout=10).json()  # fmt: skip
    stale = server.data_dir / "staging" / "crashed-upload.part"
    stale.write_bytes(b"half an upload")
    old = time.time() - 3 * 86400
    os.utime(stale, (old, old))
    orphan_dir = server.data_dir / "files" / "zz" / "zz"
    orphan_dir.mkdir(parents=True)
    orphan = orphan_dir / "zzzzzzzzzzzzzzzzzzzzzzzz"
    orphan.write_bytes(b"bytes without a row")
    os.utime(orphan, (old, old))
    time.sleep(1.5)

    out = cli(server.data_dir, "gc")
    assert "expired files removed: 1" in out
    assert "stale staging files removed: 1" in out
    assert "orphaned stored objects removed: 1" in out
    assert not stale.exists() and not orphan.exists()
    assert requests.get(server.url + gone["links"]["self"], headers=auth, timeout=10).status_code == 404
    kept = requests.get(server.url + keep["links"]["content"], headers=auth, timeout=10)
    assert kept.status_code == 200 and kept.content == b"keep\n"


@pytest.mark.s3
def test_check_runs_the_storage_conformance_suite_on_s3(tmp_path: Path, s3_env: dict[str, str]) -> None:
    ok = run(tmp_path / "d", "check", env=s3_env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"ok   storage: S3 bucket '{s3_env['AIRLOCK_S3_BUCKET']}'" in ok.stdout
    assert "conformance rules pass" in ok.stdout
    assert s3_env["AIRLOCK_S3_SECRET_ACCESS_KEY"] not in ok.stdout + ok.stderr
    wrong = run(tmp_path / "d", "check", env={**s3_env, "AIRLOCK_S3_SECRET_ACCESS_KEY": "wrong"})
    assert wrong.returncode == 1 and "FAIL storage" in wrong.stdout, wrong.stdout
    nobucket = run(tmp_path / "d", "check", env={**s3_env, "AIRLOCK_S3_BUCKET": "no-such-bucket"})
    assert nobucket.returncode == 1 and "FAIL storage" in nobucket.stdout, nobucket.stdout
    unset = run(tmp_path / "d", "check", env={**s3_env, "AIRLOCK_S3_BUCKET": ""})
    assert unset.returncode == 1 and "AIRLOCK_S3_BUCKET" in unset.stdout
    stray = run(tmp_path / "d", "check", env={"AIRLOCK_S3_CONTENT_ORIGIN": "https://files.example"})
    assert stray.returncode == 1 and "AIRLOCK_STORAGE=s3" in stray.stdout


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path / "data", "serve", "--port", str(port))
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use; try another with --port" in result.stderr
    assert "Serving on" not in result.stderr and "gunicorn" not in result.stderr.lower()


def test_a_command_says_when_it_makes_a_new_data_dir(tmp_path: Path) -> None:
    first = run(tmp_path / "elsewhere", "gc")
    assert first.returncode == 0, first.stderr
    assert f"Created a new data directory {tmp_path / 'elsewhere'}" in first.stderr
    again = run(tmp_path / "elsewhere", "gc")
    assert "Created a new data directory" not in again.stderr
