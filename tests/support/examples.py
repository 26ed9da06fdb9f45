"""The apps in ``examples/``, served by gunicorn on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.server import free_port, stop_group

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def serving(module: str, env: dict[str, str], chdir: Path = EXAMPLES) -> Iterator[str]:
    """``module:app`` under gunicorn on a free 127.0.0.1 port; its base URL."""
    port = free_port()
    log = open(env["LOG"], "wb")  # noqa: SIM115 - closed below, after the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(chdir), "-b", f"127.0.0.1:{port}",
         "-w", "1", "--threads", "4", f"{module}:app"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, Path(env["LOG"]).read_text(errors="replace")
            try:
                requests.get(url + "/", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or its first request slow
                assert time.monotonic() < deadline, "the example did not start"
                time.sleep(0.1)
        yield url
    finally:
        stop_group(proc, grace=10)
        log.close()
