"""A real HAProxy (Debian's ``haproxy``) on 127.0.0.1 balancing round robin, with no
stickiness, over a set of backends: what several Airlock instances sit behind in production."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import free_port, stop_group

CONFIG = """\
global
    maxconn 512

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-request 30s

frontend airlock
    bind 127.0.0.1:{port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""


@dataclass
class HAProxy:
    """``haproxy -db`` in the foreground with a generated configuration under ``work_dir``."""

    work_dir: Path
    backends: list[str]  # "127.0.0.1:PORT" of each instance
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HAProxy:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise RuntimeError("haproxy is not installed (scripts/setup installs Debian's haproxy)")
        self.port = free_port()
        servers = "\n".join(
            f"    server i{n} {addr} check inter 1s" for n, addr in enumerate(self.backends)
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "haproxy.cfg"
        config.write_text(CONFIG.format(port=self.port, servers=servers))
        with open(self.work_dir / "haproxy.log", "wb") as log:  # the child keeps its own fd
            self.proc = subprocess.Popen(
                [binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.work_dir / "haproxy.log").read_text())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("haproxy did not start listening")

    def stop(self) -> None:
        stop_group(self.proc, grace=10)
        self.proc = None
