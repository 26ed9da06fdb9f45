#!/usr/bin/env python3
"""Which server should run Airlock: gunicorn (what ``airlock serve`` runs) or granian? Measured.

    .venv/bin/python bench/run_servers.py [--repeat 3] [--size 1G] [--out bench/RESULTS.md]

One run starts the same app twice on 127.0.0.1, each with its own data dir, user and token
(``airlock user add bench --password-stdin``, ``airlock token create bench``):

* ``gunicorn``: ``airlock serve --workers 2`` (src/airlock/server.py: gunicorn with
  ``airlock.worker.AirlockWorker``, gthread, the default threads);
* ``granian``: ``granian --interface wsgi --workers 2 --blocking-threads N granian_app:app``
  (N = the same threads), from a venv of its own (``--granian-venv``, made with pip when
  missing; never Airlock's .venv); bench/granian_app.py builds
  ``airlock.create_app(Settings.load(os.environ))`` with ``PROMETHEUS_MULTIPROC_DIR`` set to an
  empty dir first and ``MALLOC_ARENA_MAX=2`` (what ``airlock serve``'s post_fork sets).

Both get ``AIRLOCK_SCAN=off``, ``AIRLOCK_MAX_FILE_SIZE`` / ``AIRLOCK_MAX_REQUEST_SIZE`` 2GB and
``AIRLOCK_BODY_TIMEOUT=5``. Measured, interleaved (order rotated per round): a 1 GiB multipart
upload and a 1 GiB raw PUT (one curl each, bench/run.py's ``measure``: prefault, 1 MiB warm-up,
size and sha256 checked), a 1 GiB download and a 100 MiB Range download of the PUT File,
16 KiB uploads/s (wrk as bench/run_small.py), peak worker RSS. Then, once per server, slow
clients for at most ``--slow-window`` s: connections that trickle a PUT body at 5 bytes/s and
connections that send one byte of a request line and stop, while ``GET /healthz`` is asked
every 0.5 s; which of them the server cuts, when, and with what answer. See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import math
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import run as rb  # noqa: E402
from run import GiB, MiB, log, size_label  # noqa: E402
import run_small as rs  # noqa: E402

DEFAULT_GRANIAN_VENV = "/tmp/airlock-bench-granian"
BODY_TIMEOUT = 5
RANGE_SIZE = 100 * MiB
SERVERS = ("gunicorn", "granian")


# ----------------------------------------------------------------------- servers


class BenchAirlock(rs.PlainAirlock):
    """run_small.py's Airlock with ``slow_users`` more users (``slow1``…, a token each) for the
    slow-client test: Airlock admits ``AIRLOCK_MAX_UPLOADS_PER_USER`` (8 by default) upload
    bodies per user at once and answers 429 to the rest, so the tricklers are spread over
    several users to reach the body reader at all."""

    slow_users = 3

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.slow_tokens: list[str] = []

    def prepare(self):
        super().prepare()
        for i in range(1, self.slow_users + 1):
            name = f"slow{i}"
            p = self.cli("user", "add", name, "--password-stdin", stdin=f"slow-{os.urandom(12).hex()}\n")
            t = self.cli("token", "create", name)
            lines = [ln.strip() for ln in t.stdout.splitlines() if ln.strip()]
            if p.returncode != 0 or t.returncode != 0 or not lines:
                raise RuntimeError(f"airlock user add/token create {name} failed:\n{p.stderr}{t.stderr}")
            self.slow_tokens.append(lines[-1])


class GunicornAirlock(BenchAirlock):
    name = "gunicorn"


class GranianAirlock(BenchAirlock):
    name = "granian"

    def __init__(self, base, env_extra, granian_bin: str, threads: int, max_size: int = GiB):
        super().__init__(base, env_extra, max_size=max_size)
        self.granian_bin = granian_bin
        self.threads = threads
        self.metrics = os.path.join(self.dir, "metrics")
        self._serving = False

    def env(self):
        e = super().env()
        if self._serving:  # not for the `airlock user add` / `token create` before
            e["PROMETHEUS_MULTIPROC_DIR"] = self.metrics
            e["MALLOC_ARENA_MAX"] = "2"
        return e

    def prepare(self):
        super().prepare()
        shutil.rmtree(self.metrics, ignore_errors=True)
        os.makedirs(self.metrics)
        self._serving = True

    def argv(self):
        return [self.granian_bin, "--interface", "wsgi", "--workers", "2", "--blocking-threads",
                str(self.threads), "--host", "127.0.0.1", "--port", str(self.port), "--no-ws",
                "--working-dir", BENCH_DIR, "granian_app:app"]


def ensure_granian(venv: str, spec: str) -> tuple[str | None, str]:
    """(granian's command, its version), making the venv with pip when it is missing;
    (None, why) when that fails. The venv uses Airlock's Python (granian_app.py adds Airlock's
    site-packages, so the versions must match)."""
    gbin = os.path.join(venv, "bin", "granian")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(gbin):
        log(f"making a granian venv at {venv} (pip install {spec})")
        try:
            for argv in ([os.path.join(rb.VENV_BIN, "python"), "-m", "venv", venv],
                         [py, "-m", "pip", "install", "--quiet", spec]):
                p = rb.run_cmd(argv, timeout=600)
                if p.returncode != 0:
                    return None, f"`{' '.join(argv)}` failed: {(p.stderr or p.stdout).strip()[-400:]}"
        except (OSError, subprocess.SubprocessError) as e:
            return None, f"making the granian venv failed: {e}"
    want = rb.cmd_output([os.path.join(rb.VENV_BIN, "python"), "-c",
                          "import sys; print(sys.version_info[:2])"])
    have = rb.cmd_output([py, "-c", "import sys; print(sys.version_info[:2])"])
    if want != have:
        return None, f"{venv} has Python {have}, Airlock's .venv {want}: remove {venv} to remake it"
    return gbin, rb.cmd_output([gbin, "--version"]).strip()


# ------------------------------------------------------------------ slow clients


class SlowResult:
    def __init__(self, server: str):
        self.server = server
        self.groups: dict[str, list[dict]] = {}
        self.probes: list[tuple[float, bool, float, str]] = []  # (t, ok, seconds, status/error)
        self.after: list[str] = []  # checks after the slow clients left
        self.after_ok = True
        self.window = 0.0
        self.rss_worker = 0
        self.cpu = 0.0
        self.error = ""
        self.per_worker: dict[int, int] = {}  # established client connections per worker at 3 s


def worker_connections(srv) -> dict[int, int]:
    """Established TCP connections on the server's port, per worker (leaf) process."""
    out = {}
    for p in rb.tree(srv.ps):
        try:
            if p.children():
                continue
            out[p.pid] = sum(1 for c in p.net_connections(kind="tcp")
                             if c.status == "ESTABLISHED" and c.laddr and c.laddr.port == srv.port)
        except Exception:  # noqa: BLE001  (psutil.Error, or a process gone meanwhile)
            pass
    return out


def _probe(url_host: str, port: int, timeout: float = 2.0) -> tuple[bool, float, str]:
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        return r.status == 200, time.monotonic() - t0, str(r.status)
    except (OSError, http.client.HTTPException) as e:
        return False, time.monotonic() - t0, type(e).__name__
    finally:
        conn.close()


def slow_clients(srv, n_trickle: int, n_stall: int, window: float, after_file: str, rate: int = 5,
                 body_len: int = 10**6) -> SlowResult:
    """``n_trickle`` connections send a PUT's headers (``Content-Length: body_len``) and then
    ``rate`` bytes of body a second (round robin over the server's ``slow_tokens``, so that no
    user has more than Airlock's per-user cap of bodies at once); ``n_stall`` connections send ``P`` and nothing more. For at
    most ``window`` seconds (or until the server has cut all of them, plus 2 s) it records, per
    connection, when the server answered or closed and how, and asks ``GET /healthz`` every
    0.5 s on a fresh connection (2 s timeout). Then it closes whatever is left and checks that
    /healthz and a 16 KiB upload work."""
    res = SlowResult(srv.name)
    host, port = "127.0.0.1", srv.port
    tokens = srv.slow_tokens or [srv.token]

    def head(i: int) -> bytes:
        return (f"PUT /api/v1/files/slow-{i}.txt HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {tokens[i % len(tokens)]}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {body_len}\r\n\r\n").encode()
    conns: list[dict] = []
    sampler = rb.RssSampler(srv.ps)
    cpu0 = rb.tree_cpu(srv.ps)
    sampler.start()
    t0 = time.monotonic()
    stop = threading.Event()

    def probes():
        while not stop.is_set():
            t = time.monotonic() - t0
            ok, secs, what = _probe(host, port)
            res.probes.append((t, ok, secs, what))
            stop.wait(max(0.0, 0.5 - secs))

    prober = threading.Thread(target=probes, daemon=True)
    try:
        for kind, n, first in (("trickle PUT body 5 B/s", n_trickle, head),
                               ("1 byte of request line", n_stall, lambda i: b"P")):
            for i in range(n):
                c = {"kind": kind, "t_open": time.monotonic() - t0, "cut": None, "how": "",
                     "sent": 0, "resp": b""}
                try:
                    s = socket.create_connection((host, port), timeout=5)
                    s.sendall(first(i))
                    s.setblocking(False)
                    c["sock"] = s
                except OSError as e:
                    c["cut"], c["how"], c["sock"] = time.monotonic() - t0, f"connect: {type(e).__name__}", None
                conns.append(c)
        prober.start()
        next_tick = time.monotonic() + 1.0
        all_cut_at = None
        counted = False
        while True:
            now = time.monotonic()
            if not counted and now - t0 >= 3.0:
                counted = True
                res.per_worker = worker_connections(srv)
            if now - t0 >= window:
                break
            open_ = [c for c in conns if c["cut"] is None]
            if not open_:
                all_cut_at = all_cut_at or now
                if now - all_cut_at >= 2.0:
                    break
            rl = [c["sock"] for c in open_]
            try:
                ready, _, _ = select.select(rl, [], [], max(0.0, min(next_tick - now, 0.25)))
            except (OSError, ValueError):
                ready = []
            for c in open_:
                if c["sock"] not in ready:
                    continue
                try:
                    data = c["sock"].recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    c["cut"], c["how"] = time.monotonic() - t0, type(e).__name__
                    continue
                c["cut"] = time.monotonic() - t0
                if data:
                    c["resp"] = data
                    line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
                    c["how"] = " ".join(line.split(" ")[1:2]) or line[:20]
                else:
                    c["how"] = "closed, no answer"
            if time.monotonic() >= next_tick:
                next_tick += 1.0
                for c in conns:
                    if c["cut"] is None and c["kind"].startswith("trickle"):
                        try:
                            c["sock"].send(b"a" * rate)
                            c["sent"] += rate
                        except BlockingIOError:
                            pass
                        except OSError as e:
                            c["cut"], c["how"] = time.monotonic() - t0, f"send: {type(e).__name__}"
        res.window = time.monotonic() - t0
    finally:
        stop.set()
        for c in conns:
            if c.get("sock") is not None:
                try:
                    c["sock"].close()
                except OSError:
                    pass
        prober.join(timeout=5)
        res.cpu = rb.tree_cpu(srv.ps) - cpu0
        sampler.finish()
        res.rss_worker = sampler.max_worker
    for c in conns:
        c["t_cut"] = None if c["cut"] is None else c["cut"] - c["t_open"]
        res.groups.setdefault(c["kind"], []).append(c)
    # after: the server must serve again once the slow clients are gone
    time.sleep(1.0)
    ok, secs, what = _probe(host, port, timeout=5)
    res.after.append(f"/healthz {what} in {secs * 1000:.0f} ms")
    res.after_ok = ok
    p = rb.run_cmd(["curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}",
                    "-H", "Expect:", "-H", f"Authorization: Bearer {srv.token}", "--data-binary",
                    "@" + after_file, "-X", "PUT",
                    f"{srv.url}/api/v1/files/after-slow.txt"], timeout=40)
    res.after.append(f"16 KiB PUT {p.stdout.strip() or p.stderr.strip()[-80:]}")
    res.after_ok = res.after_ok and p.stdout.strip() == "201"
    return res


def describe_group(cs: list[dict], window: float) -> tuple[str, str, str]:
    """(cut count, cut times since connect min/median/max, answers) for one group."""
    cut = [c for c in cs if c["t_cut"] is not None]
    times = sorted(c["t_cut"] for c in cut)
    hows: dict[str, int] = {}
    for c in cut:
        hows[c["how"]] = hows.get(c["how"], 0) + 1
    left = len(cs) - len(cut)
    n = f"{len(cut)}/{len(cs)}" + (f" ({left} still open after {window:.0f} s)" if left else "")
    t = (f"{times[0]:.1f} / {statistics.median(times):.1f} / {times[-1]:.1f}" if times else "–")
    how = ", ".join(f"{k} ×{v}" for k, v in sorted(hows.items(), key=lambda kv: -kv[1])) or "–"
    return n, t, how


def probe_summary(res: SlowResult) -> str:
    n = len(res.probes)
    ok = sum(1 for p in res.probes if p[1])
    worst = max((p[2] for p in res.probes if p[1]), default=0.0)
    fails = [p for p in res.probes if not p[1]]
    txt = f"{ok}/{n} answered 200, slowest {worst * 1000:.0f} ms"
    if fails:
        txt += (f"; failed from {fails[0][0]:.1f} s to {fails[-1][0]:.1f} s ("
                + ", ".join(sorted({p[3] for p in fails})) + ")")
    return txt


# -------------------------------------------------------------------------- main


def med(vals):
    return statistics.median(vals) if vals else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--size", default="1G", help="size of the large upload/download (default 1G)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    ap.add_argument("--slow-window", type=float, default=40.0, help="bound of the slow-client test, s")
    ap.add_argument("--slow-trickle", type=int, default=24, help="connections trickling a PUT body")
    ap.add_argument("--slow-stall", type=int, default=24, help="connections sending 1 byte then nothing")
    ap.add_argument("--slow-users", type=int, default=3,
                    help="users the tricklers are spread over (default 3: 8 each, Airlock's per-user cap)")
    ap.add_argument("--granian-venv", default=DEFAULT_GRANIAN_VENV,
                    help="granian's own venv (made with pip when missing; default %(default)s)")
    ap.add_argument("--granian-spec", default="granian", help="what pip installs there (default granian)")
    ap.add_argument("--prefault", type=float, default=2.0, help="as run.py (0 disables)")
    ap.add_argument("--wait-quiet", type=float, default=60.0, metavar="SECONDS")
    ap.add_argument("--airlock-bin", default=rb.AIRLOCK_BIN)
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "RESULTS.md"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--work-base")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    size = rb.parse_size(args.size)
    if args.repeat < 1 or size < 2 * RANGE_SIZE or not 5 <= args.slow_window <= 120:
        ap.error("--repeat >= 1, --size >= 200M, --slow-window within 5..120 s")
    for tool in ("curl", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"run_servers.py: {tool} not found; run: bash bench/setup.sh")
    rb.AIRLOCK_BIN = args.airlock_bin
    BenchAirlock.slow_users = max(1, args.slow_users)
    ok, why = rb.airlock_available()
    if not ok:
        sys.exit(f"run_servers.py: {why}")
    command = rb.this_command()
    threads = rs.serve_threads()
    gbin, gver = ensure_granian(args.granian_venv, args.granian_spec)
    env = {"AIRLOCK_SCAN": "off", "AIRLOCK_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    limits = {"AIRLOCK_MAX_FILE_SIZE": "2GB", "AIRLOCK_MAX_REQUEST_SIZE": "2GB"}  # run.py's AirlockServer

    work = rb.prepare_work_dir(args.work_base, 6 * size + 2 * GiB, "run_servers.py", "airlock-servers-")
    bench = rb.Bench(argparse.Namespace(prefault=args.prefault), work)
    started = time.time()
    git_start = rb.git_state()
    servers: dict = {}
    results: dict[tuple[str, str], list] = {}
    small: dict[str, list[rs.WrkResult]] = {}
    slow: dict[str, SlowResult] = {}
    memory_end: dict[str, str] = {}
    granian_problem = "" if gbin else gver
    rc = 0
    rb.wait_for_quiet(args.wait_quiet, bench.note)
    try:
        (wpath, wsize, wsha), files = rb.make_test_files(bench.files_dir, [size], rb.WARMUP_SIZE)
        path, real, sha = files[size]
        text = os.path.join(work, "bench.txt")
        rs.make_text_file(text)
        servers["gunicorn"] = GunicornAirlock(work, env, max_size=real)
        limits = servers["gunicorn"].limits
        if gbin:
            servers["granian"] = GranianAirlock(work, env, gbin, threads, max_size=real)
        for key in list(servers):
            try:
                servers[key].start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                if key != "granian":
                    raise
                granian_problem = f"granian did not start: {e}"
                bench.note(granian_problem)
                servers.pop(key).stop()
        luas = {k: rs.write_lua(os.path.join(work, f"{k}.lua"), f"{k} upload", "POST", "/api/v1/files",
                                text, srv.token) for k, srv in servers.items()}
        keys = list(servers)

        ids: dict[str, list[str]] = {k: [] for k in keys}

        def add(key, op, r):
            ids[key].extend(bench.airlock_ids)  # the Files made so far (warm-ups too), per server
            bench.airlock_ids.clear()
            results.setdefault((key, op), []).append(r)
            tag = "ok" if r.ok else f"FAILED: {r.error}"
            log(f"{key:9} {op:24} {r.mibps:8.1f} MiB/s  cpu {r.cpu:6.2f}s  other {r.other_cpu:5.2f}s  "
                f"worker rss {r.rss_worker / MiB:6.1f} MiB  {tag}")

        for key in keys:  # warm-up of the small uploads (a first request loads libmagic etc.)
            rs.upload_airlock(servers[key], luas[key], "warm-up", -1, 1.0, "w")
        for rep in range(args.repeat):
            order = keys[rep % len(keys):] + keys[:rep % len(keys)]
            put_ids: dict[str, str] = {}
            for key in order:
                srv = servers[key]
                if args.prefault > 0:
                    bench.prefault(int(real * args.prefault))
                bench.up_airlock_post(srv, wpath, wsize, wsha, measured=False)
                add(key, f"upload multipart {size_label(real)}", bench.up_airlock_post(srv, path, real, sha))
            for key in order[::-1]:
                srv = servers[key]
                if args.prefault > 0:
                    bench.prefault(int(real * args.prefault))
                bench.up_airlock_put(srv, wpath, wsize, wsha, measured=False)
                r = bench.up_airlock_put(srv, path, real, sha)
                add(key, f"upload PUT {size_label(real)}", r)
                if r.ok:
                    put_ids[key] = r.extra
            for key in order:
                srv = servers[key]
                if key not in put_ids:
                    continue
                url = f"{srv.url}/api/v1/files/{put_ids[key]}/content"
                bench.down(srv, url, real, srv.auth())  # warm-up: the page cache and the route
                add(key, f"download {size_label(real)}", bench.down(srv, url, real, srv.auth()))
                start = (real // 2) - (RANGE_SIZE // 2)
                add(key, f"download Range {size_label(RANGE_SIZE)}", rb.measure(
                    srv, "download range", RANGE_SIZE,
                    [*srv.auth(), "-r", f"{start}-{start + RANGE_SIZE - 1}", url], None, (206,)))
            for key in order[::-1]:
                r = rs.upload_airlock(servers[key], luas[key], "upload 16 KiB", rep, args.duration, f"r{rep}")
                rs.log_result(r)
                small.setdefault(key, []).append(r)
            # the large Files of this round
            for key in order:
                srv = servers[key]
                for fid in ids[key]:
                    p = rb.run_cmd(["curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code}",
                                    "-X", "DELETE", *srv.auth(), f"{srv.url}/api/v1/files/{fid}"], timeout=90)
                    if p.stdout.strip() != "204":
                        bench.note(f"{key}: DELETE {fid} answered {p.stdout.strip() or p.stderr.strip()[-80:]}")
                ids[key].clear()
        for key in keys:
            log(f"slow clients against {key} (up to {args.slow_window:.0f} s)")
            slow[key] = slow_clients(servers[key], args.slow_trickle, args.slow_stall, args.slow_window, text)
            s = slow[key]
            for kind, cs in s.groups.items():
                log(f"  {kind}: cut {describe_group(cs, s.window)}")
            log(f"  /healthz: {probe_summary(s)}; after: {'; '.join(s.after)}; "
                f"connections per worker at 3 s: {s.per_worker}")
        for key, srv in servers.items():
            memory_end[key] = rb.worker_memory(srv)
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        tails = rb.stop_servers(servers, bench)
        if args.keep:
            log(f"keeping {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    git_end = rb.git_state()
    if not results:
        log("nothing was measured")
        return rc or 1

    # ---- report ---------------------------------------------------------------
    keys = [k for k in SERVERS if any(k == key for key, _ in results)]
    ops = list(dict.fromkeys(op for _, op in results))
    md = [f"## Server choice: gunicorn vs granian (bench/run_servers.py), "
          f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC}", "", "Command:", "", "```", command, "```", ""]
    md.extend(rb.host_lines(work if os.path.exists(work) else os.path.dirname(work)))
    md.append(f"- {rs.wrk_version()}; gunicorn {rb.cmd_output([sys.executable, '-c', 'import gunicorn; print(gunicorn.__version__)'])}; "
              f"{gver if gbin else 'granian: ' + gver} (venv {args.granian_venv})")
    md.extend(rb.git_lines(git_start, git_end))
    md.append(f"- servers: gunicorn = `airlock serve --workers 2` (AirlockWorker, gthread, {threads} threads); granian = "
              f"`granian --interface wsgi --workers 2 --blocking-threads {threads} --no-ws granian_app:app` "
              "(bench/granian_app.py: `create_app(Settings.load(os.environ))`, `PROMETHEUS_MULTIPROC_DIR` = an empty "
              "dir, `MALLOC_ARENA_MAX=2`); both with " + ", ".join(
                  f"`{k}={v}`" for k, v in {**limits, **env}.items()))
    md.append(f"- large transfers: one curl each as bench/run.py (`-F file=@` to `POST /api/v1/files`, `-T` to "
              f"`PUT /api/v1/files/NAME`, `GET …/content`, and `-r` for a {size_label(RANGE_SIZE)} Range from the middle, "
              f"206 and length checked); test file: stored ZIP of random bytes, {real if files else '?'} bytes; each "
              f"upload preceded by a {args.prefault:g}× prefault and a 1 MiB warm-up, each download by an unmeasured "
              "download of the same File; Files deleted after each round. 16 KiB uploads: wrk as bench/run_small.py "
              f"(2 threads, 8 connections, {args.duration:g} s; statuses and stored Files checked). {args.repeat} rounds, "
              "server order rotated")
    md.append(f"- slow clients (once per server, after the rounds): {args.slow_trickle} connections send a PUT's "
              "headers (Content-Length 1000000, bearer tokens of "
              f"{args.slow_users} users round robin: Airlock admits 8 bodies per user at once by default) then 5 body "
              "bytes a second; "
              f"{args.slow_stall} connections send `P` and nothing more; `GET /healthz` on a fresh connection every "
              f"0.5 s (2 s timeout); bounded at {args.slow_window:.0f} s; then /healthz and one PUT must work")
    md.append(f"- wall time of the run: {time.time() - started:.0f}s")
    md.append("")
    if granian_problem:
        md.extend([f"**granian could not run the app: {granian_problem}**", ""])

    def cell(rs_, fmt="{:.0f}"):
        ok = [r.mibps for r in rs_ if r.ok]
        if not ok:
            return "FAILED" if rs_ else "–"
        return f"{fmt.format(statistics.median(ok))} ({fmt.format(min(ok))}–{fmt.format(max(ok))})"

    hdr = "| measurement | " + " | ".join(f"{k} MiB/s or /s" for k in keys) + " | granian / gunicorn | " + \
        " | ".join(f"{k} server CPU s" for k in keys) + " | " + " | ".join(f"{k} peak worker RSS MiB" for k in keys) + " |"
    md.extend([hdr, "|---|" + "---:|" * (3 * len(keys) + 1)])
    ratios = {}
    for op in ops:
        row = [cell(results.get((k, op), [])) for k in keys]
        meds = {k: med([r.mibps for r in results.get((k, op), []) if r.ok]) for k in keys}
        if meds.get("gunicorn") and meds.get("granian"):
            ratios[op] = meds["granian"] / meds["gunicorn"]
        cpu = [f"{med([r.cpu for r in results.get((k, op), []) if r.ok]) or 0:.2f}" for k in keys]
        rss = [f"{max((r.rss_worker for r in results.get((k, op), [])), default=0) / MiB:.1f}" for k in keys]
        md.append(f"| {op} | " + " | ".join(row) + f" | {ratios.get(op, 0):.2f}× | " + " | ".join(cpu)
                  + " | " + " | ".join(rss) + " |")
    op = "16 KiB uploads/s (wrk)"
    row, cpu, rss, meds = [], [], [], {}
    for k in keys:
        good = [r for r in small.get(k, []) if r.ok]
        row.append(rs.spread([r.rate for r in good]) if good else ("FAILED" if small.get(k) else "–"))
        meds[k] = med([r.rate for r in good])
        cpu.append(f"{med([r.cpu_ms for r in good]) or 0:.2f} ms/upload")
        rss.append(f"{max((r.rss_worker for r in small.get(k, [])), default=0) / MiB:.1f}")
    if meds.get("gunicorn") and meds.get("granian"):
        ratios[op] = meds["granian"] / meds["gunicorn"]
    md.append(f"| {op} | " + " | ".join(row) + f" | {ratios.get(op, 0):.2f}× | " + " | ".join(cpu) + " | "
              + " | ".join(rss) + " |")
    md.append("")
    md.append("MiB/s: median (min–max) over the rounds; CPU: the server's process tree, median run; peak worker RSS: "
              "max over the rounds. Every run, round by round:")
    md.append("")
    md.append("| measurement | server | per round |")
    md.append("|---|---|---|")
    for op in ops:
        for k in keys:
            md.append(f"| {op} | {k} | " + ", ".join(
                (f"{r.mibps:.0f} (other CPU {r.other_cpu:.1f} s)" if r.ok else "FAILED: " + r.error[:120].replace("|", "/"))
                for r in results.get((k, op), [])) + " |")
    for k in keys:
        md.append(f"| 16 KiB uploads/s | {k} | " + ", ".join(
            (f"{r.rate:.0f} ({r.cpu_ms:.1f} ms, p99 {r.lat_us.get('p99', 0) / 1000:.0f} ms, other CPU {r.other_cpu:.1f} s)"
             if r.ok else "FAILED: " + r.error[:120].replace("|", "/")) for r in small.get(k, [])) + " |")
    md.append("")
    if slow:
        md.append(f"Slow clients (`AIRLOCK_BODY_TIMEOUT={BODY_TIMEOUT}`; cut = the server answered or closed; "
                  "times from each connection's connect, min / median / max):")
        md.append("")
        md.append("| server | clients | cut | cut after s | how | /healthz meanwhile | after they left | connections per "
                  "worker at 3 s | server CPU s | peak worker RSS MiB |")
        md.append("|---|---|---|---:|---|---|---|---|---:|---:|")
        for k in keys:
            s = slow.get(k)
            if not s:
                continue
            for kind, cs in s.groups.items():
                n, t, how = describe_group(cs, s.window)
                md.append(f"| {k} | {len(cs)} × {kind} | {n} | {t} | {how} | {probe_summary(s)} | "
                          f"{'; '.join(s.after)} | {' / '.join(map(str, s.per_worker.values())) or '?'} | "
                          f"{s.cpu:.2f} | {s.rss_worker / MiB:.1f} |")
        md.append("")

    # ---- verdict --------------------------------------------------------------
    criteria = ("tricklers cut within BODY_TIMEOUT + 3 s", "1-byte clients cut within the window",
                "/healthz answered throughout and after")

    def slow_ok(k) -> tuple[bool, bool, bool]:
        s = slow.get(k)
        if not s:
            return (False, False, False)
        trick = [c["t_cut"] for c in s.groups.get("trickle PUT body 5 B/s", [])]
        stall = [c["t_cut"] for c in s.groups.get("1 byte of request line", [])]
        return (all(t is not None and t <= BODY_TIMEOUT + 3 for t in trick),
                all(t is not None for t in stall),
                all(p[1] for p in s.probes) and s.after_ok)

    verdict = []
    geo = None
    if ratios:
        geo = math.exp(sum(math.log(x) for x in ratios.values() if x > 0) / len(ratios))
        fast = ", ".join(f"{op} {x:.2f}×" for op, x in ratios.items())
        verdict.append(f"Throughput granian / gunicorn (medians): {fast} (geometric mean {geo:.2f}×).")
    safe = {k: slow_ok(k) for k in keys}
    for k in keys:
        if k in slow:
            verdict.append(f"{k}, slow clients: " + "; ".join(
                (c if ok else f"**not: {c}**") for c, ok in zip(criteria, safe[k], strict=True)) + ".")
    if "granian" not in keys:
        choice = f"gunicorn (granian could not be measured: {granian_problem or 'not started'})"
    elif sum(safe["gunicorn"]) != sum(safe["granian"]):
        better = max(keys, key=lambda k: sum(safe[k]))
        worse = "granian" if better == "gunicorn" else "gunicorn"
        missed = [c for c, a, b in zip(criteria, safe[better], safe[worse], strict=True) if a and not b]
        choice = (f"{better}: under {worse} these did not hold: " + "; ".join(missed)
                  + (" (the app gets no socket under granian, so Airlock's body reader cannot cut a client "
                     "off)" if worse == "granian" and not safe["granian"][0] else "")
                  + (f", whatever the speed (geometric mean {geo:.2f}×)" if geo else ""))
    elif geo is not None and geo >= 1.10:
        choice = f"granian: as safe with slow clients here and {geo:.2f}× on the geometric mean"
    elif geo is not None and geo <= 1 / 1.10:
        choice = f"gunicorn: as safe with slow clients here and granian only {geo:.2f}× on the geometric mean"
    else:
        choice = "gunicorn: equally safe here and granian not clearly (≥ 10 %) faster, so no reason to change"
    verdict.append(f"Choice by these rules (slow-client safety first, then ≥ 10 % on the geometric mean of "
                   f"throughput): **{choice}**.")
    md.extend(["Verdict (computed from the figures above):", "", " ".join(verdict), ""])

    failed = [f"{k} {op}: {r.error}" for (k, op), rs_ in results.items() for r in rs_ if not r.ok]
    failed += [f"{k} 16 KiB round {r.rep + 1}: {r.error}" for k, rs_ in small.items() for r in rs_ if not r.ok]
    rb.report_tail(md, [("Worker memory at the end of the run (MiB):", memory_end)],
                   ["- none: a comparison; the verdict above is the outcome"], bench.notes, failed,
                   {f"{k} server": v for k, v in tails.items()})
    rb.publish(md, args.out, write=not args.no_write)
    return rc or (2 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
