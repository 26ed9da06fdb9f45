"""A real ``airlock serve`` in a subprocess on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

AIRLOCK = [sys.executable, "-m", "airlock"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run an ``airlock`` command; its stdout (raises on failure)."""
    result = subprocess.run(
        [*AIRLOCK, "--data-dir", str(data_dir), *args],
        input=stdin, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"airlock {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@dataclass
class LiveServer:
    """A running ``airlock serve``: its URL, data dir and the tokens of two users."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    # With S3 storage: lists what the server's bucket holds (objects and unfinished uploads).
    bucket_contents: Callable[[], set[str]] | None = None
    bucket_sizes: Callable[[], dict[str, int]] | None = None  # object key -> size

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.port = free_port()
        self.log_path = self.data_dir.parent / f"serve-{self.port}.log"
        env = {**os.environ, **self.env}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*AIRLOCK, "--data-dir", str(self.data_dir), "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"airlock serve exited: {self.log()}")
                try:
                    if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return self
                except requests.RequestException:  # not listening yet, or busy booting
                    pass
                time.sleep(0.1)
            raise RuntimeError(f"airlock serve did not become healthy: {self.log()}")
        except BaseException:
            self.stop()
            raise

    def add_user(self, name: str, admin: bool = False, quota: str | None = None) -> str:
        args = ["user", "add", name, "--password-stdin"] + (["--admin"] if admin else [])
        if quota:
            args += ["--quota", quota]
        cli(self.data_dir, *args, stdin="correct horse battery\n", env=self.env)
        token = cli(self.data_dir, "token", "create", name, env=self.env).strip().splitlines()[-1]
        self.tokens[name] = token
        return token

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> None:
        stop_group(self.proc, grace=30)
        self.proc = None


def stop_group(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """End a process started in its own session and everything it started: SIGTERM, then
    SIGKILL after ``grace`` seconds. A no-op for None or a process that has exited."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
