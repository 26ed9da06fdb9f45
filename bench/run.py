#!/usr/bin/env python3
"""Airlock throughput / CPU / memory benchmark against three peers.

    .venv/bin/python bench/run.py [--sizes 100M,1G] [--out bench/RESULTS.md]

Servers (each on an ephemeral 127.0.0.1 port, each with its own data dir on the
same filesystem as /work):

* ``tutorial``: bench/tutorial_app.py (Flask docs upload pattern) under gunicorn,
  2 sync workers, --timeout 600;
* ``nginx``: Debian's nginx, WebDAV ``PUT`` + static ``GET``, 2 workers;
* ``airlock``: ``airlock serve --workers 2`` (skipped, with a message, when the
  ``airlock`` command does not work yet).

Every transfer is made by ``curl`` so the client is the same for every server.
For each transfer we record MiB/s (2**20 bytes per second, file size / curl's
time_total), CPU seconds of the server's whole process tree, and the peak RSS of
the largest single worker process and of the whole tree (sampled every 20 ms).
See bench/README.md.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
import datetime as _dt
import hashlib
import json
import os
import random
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile

try:
    import psutil
except ImportError:  # pragma: no cover
    sys.exit("run.py: psutil is missing; run: bash bench/setup.sh")

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
AIRLOCK_BIN = os.path.join(VENV_BIN, "airlock")
GUNICORN_BIN = os.path.join(VENV_BIN, "gunicorn")
MiB = 1 << 20
GiB = 1 << 30
SAMPLE_INTERVAL = 0.020
WARMUP_SIZE = 1 * MiB
READY_TIMEOUT = 60.0
CLI_TIMEOUT = 120.0

# --------------------------------------------------------------------------- utils


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def checked_sizes(ap: argparse.ArgumentParser, args: argparse.Namespace, warmup: int) -> list[int]:
    """The ``--sizes`` to run, after checking them and ``--repeat`` (``ap.error`` otherwise)."""
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if not sizes or any(s < 2 * warmup for s in sizes):
        ap.error(f"sizes must be at least {2 * warmup} bytes")
    return sizes


def this_command() -> str:
    """The command line of this run, as RESULTS.md records it."""
    argv_str = shlex.join([os.path.relpath(sys.executable, os.getcwd())
                           if sys.executable.startswith(os.getcwd()) else sys.executable, *sys.argv])
    return f"cd {shlex.quote(os.getcwd())} && {argv_str}"


def append_results(out: str, text: str, rewrite: bool = False) -> None:
    """Append one run's report to the results file (made, with its heading, when missing)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if rewrite or not os.path.exists(out):
        with open(out, "w") as f:
            f.write("# Airlock benchmark results\n\nNewest run last.\n\n" + text + "\n")
    else:
        with open(out, "a") as f:
            f.write("\n" + text + "\n")
    log(f"wrote {out}")


def report_tail(md: list[str], memories: list[tuple[str, dict[str, str]]], targets: list[str],
                notes: list[str], failed: list[str], logs: dict[str, str]) -> None:
    """Append the end every benchmark's section shares: worker memory (``(heading, lines)``
    per snapshot), targets, and notes (with the failures and, when there are any, the servers'
    log tails)."""
    for heading, mem in memories:
        if mem:
            md.extend([heading, ""])
            md.extend(f"- {key}: {line}" for key, line in mem.items())
            md.append("")
    md.extend(["Targets:", "", *targets, ""])
    if notes or failed:
        md.extend(["Notes:", ""])
        md.extend("- " + n.replace("\n", "\n  ") for n in notes)
        md.extend(f"- FAILED {line}" for line in failed)
        if failed:
            md.extend(f"- {key} log tail:\n\n```\n{tail}\n```" for key, tail in logs.items() if tail)
        md.append("")


def stop_servers(servers: dict, bench, label=lambda key, srv: key) -> dict[str, str]:
    """Stop every server, newest first; note any that died during the run. Their log tails."""
    tails = {}
    for key in reversed(list(servers)):
        srv = servers[key]
        name = label(key, srv)
        if srv.proc and srv.proc.poll() is not None and bench:
            bench.note(f"{name} exited during the run with code {srv.proc.returncode}; "
                       f"log tail:\n{srv.log_tail(10)}")
        log(f"stopping {name}")
        srv.stop()
        tails[key] = srv.log_tail(30)
    return tails


def publish(md: list[str], out: str, write: bool = True, rewrite: bool = False) -> None:
    """Print the section and (unless told not to) append it to the results file."""
    text = "\n".join(md)
    print()
    print(text)
    if write:
        append_results(out, text, rewrite=rewrite)


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": MiB, "G": GiB}
    if t and t[-1] in mult:
        return int(float(t[:-1]) * mult[t[-1]])
    return int(t)


def size_label(n: int) -> str:
    if n % GiB == 0:
        return f"{n // GiB} GiB"
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    return f"{n} B"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cmd(argv, timeout=CLI_TIMEOUT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def cmd_output(argv, timeout=20.0) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return (p.stdout + p.stderr).strip("\n").rstrip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"({' '.join(argv)}: {e})"


def mount_fstype(path: str) -> str:
    best, fstype = "", "?"
    real = os.path.realpath(path)
    for part in psutil.disk_partitions(all=True):
        mp = part.mountpoint
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) > len(best):
            best, fstype = mp, part.fstype
    return fstype


def pick_work_base(explicit: str | None) -> str:
    """A directory on the same filesystem as /work, not tmpfs."""
    ref = "/work" if os.path.isdir("/work") else ROOT
    ref_dev = os.stat(ref).st_dev
    cands = [explicit] if explicit else [tempfile.gettempdir(), "/var/tmp", BENCH_DIR]
    for c in cands:
        if not c or not os.path.isdir(c):
            continue
        if os.stat(c).st_dev == ref_dev and mount_fstype(c) not in ("tmpfs", "ramfs"):
            return c
    if explicit:
        sys.exit(f"run.py: --work-base {explicit} is not on the filesystem of {ref} (or is tmpfs)")
    return BENCH_DIR


# --------------------------------------------------------------------- test file


def make_test_zip(path: str, total: int, seed: int) -> tuple[int, str]:
    """ZIP_STORED archive with one member of random bytes, ~`total` bytes in all.

    Written in 1 MiB chunks, never held in memory. Returns (size, sha256)."""
    name = "random.bin"
    overhead = 30 + len(name) + 46 + len(name) + 22  # local hdr + central dir + EOCD
    member = max(1, total - overhead)
    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.file_size = member
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        with zf.open(zi, "w", force_zip64=member > 0x7FFF0000) as w:
            left = member
            while left:
                n = min(MiB, left)
                w.write(rng.randbytes(n))
                left -= n
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return os.path.getsize(path), h.hexdigest()


# ------------------------------------------------------------ process-tree stats


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


def system_busy() -> float:
    """CPU seconds the whole machine spent not idle (all cores)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)




def worker_memory(srv: "Server") -> str:
    """RSS, PSS and USS of each worker (each leaf process) of a server, for the report."""
    parts = []
    procs = tree(srv.ps)
    parents = set()
    for p in procs:
        try:
            parents.add(p.ppid())
        except psutil.Error:
            pass
    for p in procs:
        if p.pid in parents and len(procs) > 1:
            continue
        try:
            m = p.memory_full_info()
            parts.append(f"[{p.pid}] rss {m.rss / MiB:.1f} / pss {m.pss / MiB:.1f} / uss {m.uss / MiB:.1f}")
        except psutil.Error:
            pass
    return "; ".join(parts)


def prepare_work_dir(base_arg: str | None, need: int, prog: str, prefix: str) -> str:
    """A fresh temp dir on the same filesystem as /work with ``need`` bytes free (exits
    otherwise); SIGTERM and SIGHUP are turned into exits, so ``finally`` clauses still stop the
    servers."""
    base = pick_work_base(base_arg)
    free = shutil.disk_usage(base).free
    if free < need:
        sys.exit(f"{prog}: {base} has {free / GiB:.1f} GiB free; this run needs ~{need / GiB:.1f} GiB")
    work = tempfile.mkdtemp(prefix=prefix, dir=base)
    log(f"work dir {work} ({mount_fstype(work)}, same filesystem as /work)")

    def _sig(signum, _frame):
        raise SystemExit(f"{prog}: got signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _sig)
    return work

def wait_for_quiet(seconds: float, note: Callable[[str], None]) -> None:
    """Wait up to ``seconds`` for the machine to go idle (other processes' CPU), so that the
    measurements are not disturbed; ``note`` what was found when it stayed busy."""
    quiet_deadline = time.monotonic() + seconds
    while True:
        b0, t0 = system_busy(), time.monotonic()
        time.sleep(2.0)
        busy = (system_busy() - b0) / (time.monotonic() - t0)
        log(f"machine busy before the run: {busy:.2f} of {psutil.cpu_count()} cores")
        if busy <= 0.25 or time.monotonic() >= quiet_deadline:
            break
        log(f"waiting for the machine to go quiet (up to {seconds:.0f}s, --wait-quiet)")
        time.sleep(3.0)
    if busy > 0.25:
        note(f"the machine was busy before the run ({busy:.2f} cores in use by other processes); "
             "numbers may be disturbed")


def make_test_files(
    files_dir: str, sizes: list[int], warmup_size: int
) -> tuple[tuple[str, int, str], dict[int, tuple[str, int, str]]]:
    """The warm-up file and one test file per size: (path, real size, sha256) each."""
    wpath = os.path.join(files_dir, "warmup.zip")
    wsize, wsha = make_test_zip(wpath, warmup_size, seed=1)
    test_files: dict[int, tuple[str, int, str]] = {}
    for s in sizes:
        p = os.path.join(files_dir, f"bench-{size_label(s).replace(' ', '')}.zip")
        t0 = time.monotonic()
        real, sha = make_test_zip(p, s, seed=s)
        test_files[s] = (p, real, sha)
        log(f"test file {p}: {real} bytes, sha256 {sha[:16]}…, made in {time.monotonic() - t0:.1f}s")
    return (wpath, wsize, wsha), test_files

def tree_cpu(root: psutil.Process) -> float:
    """user+system CPU of every live process in the tree, plus what the tree's
    processes have collected from children they already reaped."""
    total = 0.0
    for p in tree(root):
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


class RssSampler(threading.Thread):
    """Samples RSS of every process in the tree (or trees: a list of roots, e.g. several
    instances of one server) every SAMPLE_INTERVAL seconds.

    A "worker" is a process of the tree with no children of its own (gunicorn
    and nginx workers; whatever Airlock's serve forks last)."""

    def __init__(self, root: psutil.Process | list[psutil.Process]):
        super().__init__(daemon=True)
        self.roots = root if isinstance(root, list) else [root]
        self.stop_evt = threading.Event()
        self.max_worker = 0
        self.max_worker_desc = ""
        self.max_tree = 0
        self.samples = 0

    def sample(self) -> None:
        procs = [p for root in self.roots for p in tree(root)]
        rss: dict[int, int] = {}
        parents: set[int] = set()
        names: dict[int, str] = {}
        for p in procs:
            try:
                rss[p.pid] = p.memory_info().rss
                pp = p.ppid()
                parents.add(pp)
                if p.pid not in names:
                    names[p.pid] = p.name()
            except psutil.Error:
                pass
        if not rss:
            return
        self.samples += 1
        self.max_tree = max(self.max_tree, sum(rss.values()))
        workers = [pid for pid in rss if pid not in parents] or list(rss)
        for pid in workers:
            if rss[pid] > self.max_worker:
                self.max_worker = rss[pid]
                self.max_worker_desc = f"{names.get(pid, '?')}[{pid}]"

    def run(self) -> None:
        while not self.stop_evt.is_set():
            self.sample()
            self.stop_evt.wait(SAMPLE_INTERVAL)

    def finish(self) -> None:
        self.stop_evt.set()
        self.join(timeout=5)
        self.sample()


# ----------------------------------------------------------------------- servers


class Server:
    name = "?"

    def __init__(self, base: str, env_extra: dict[str, str] | None = None):
        self.dir = os.path.join(base, self.name)
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.ps: psutil.Process | None = None
        self.seen_pids: set[int] = set()
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = None
        self.env_extra = env_extra or {}

    # subclasses: argv(), env(), ready_path, prepare()
    ready_path = "/"
    ready_statuses = (200,)

    def env(self) -> dict[str, str]:
        e = dict(os.environ)
        e["TMPDIR"] = self.tmp
        e.update(self.env_extra)
        return e

    def prepare(self) -> None:
        pass

    def start(self) -> None:
        self.prepare()
        self._log = open(self.log_path, "ab")
        log(f"starting {self.name} on {self.url}: {shlex.join(self.argv())}")
        self.proc = subprocess.Popen(
            self.argv(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env(), cwd=self.dir, start_new_session=True)
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + READY_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"log tail:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as r:
                    if r.status in self.ready_statuses:
                        break
                    last = str(r.status)
            except urllib.error.HTTPError as e:
                if e.code in self.ready_statuses:
                    break
                last = str(e.code)
            except (OSError, urllib.error.URLError) as e:
                last = str(e)
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT:.0f}s ({last}); "
                               f"log tail:\n{self.log_tail()}")
        self.note_pids()
        log(f"{self.name} ready (pids {sorted(self.seen_pids)})")

    def note_pids(self) -> None:
        if self.ps:
            for p in tree(self.ps):
                self.seen_pids.add(p.pid)

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if not self.proc:
            return
        self.note_pids()
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; make sure nothing of the group is left either
            alive = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pgid]
            if not alive:
                break
        # stragglers that left the process group (setsid) but were seen in the tree
        for pid in self.seen_pids:
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE and p.create_time() >= self.ps.create_time() - 1:
                    p.kill()
            except (psutil.Error, AttributeError):
                pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self._log:
            self._log.close()
        self.proc = None


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


class TutorialServer(Server):
    name = "tutorial"

    def __init__(self, base, env_extra=None):
        super().__init__(base, env_extra)
        self.upload_dir = os.path.join(self.dir, "uploads")
        os.makedirs(self.upload_dir, exist_ok=True)

    def env(self):
        e = super().env()
        e["UPLOAD_DIR"] = self.upload_dir
        return e

    def argv(self):
        return [GUNICORN_BIN, "--workers", "2", "--worker-class", "sync", "--timeout", "600",
                "--bind", f"127.0.0.1:{self.port}", "--chdir", BENCH_DIR, "tutorial_app:app"]

    def stored_path(self, name: str) -> str:
        return os.path.join(self.upload_dir, name)


class NginxServer(Server):
    name = "nginx"
    ready_statuses = (200, 403, 404)

    def __init__(self, base, env_extra=None):
        super().__init__(base, env_extra)
        self.root = os.path.join(self.dir, "root")
        self.body_tmp = os.path.join(self.dir, "client_body_temp")
        self.conf = os.path.join(self.dir, "nginx.conf")
        for d in (self.root, self.body_tmp):
            os.makedirs(d, exist_ok=True)

    def prepare(self):
        user_line = ""
        if os.geteuid() == 0:
            # nginx workers drop root; let them write the root and temp dirs
            try:
                import pwd
                pw = pwd.getpwnam("www-data")
                user_line = "user www-data;"
                for d in (self.root, self.body_tmp, self.tmp):
                    os.chown(d, pw.pw_uid, pw.pw_gid)
                # the workers must be able to traverse down to them (mkdtemp makes 0700)
                for d in (os.path.dirname(self.dir), self.dir):
                    os.chmod(d, os.stat(d).st_mode | 0o711)
            except KeyError:
                user_line = "user root;"
        d = self.dir
        conf = f"""
{user_line}
worker_processes 2;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {self.body_tmp};
    proxy_temp_path {self.tmp}/proxy;
    fastcgi_temp_path {self.tmp}/fastcgi;
    uwsgi_temp_path {self.tmp}/uwsgi;
    scgi_temp_path {self.tmp}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        t = run_cmd(["nginx", "-t", "-p", d, "-c", self.conf, "-e", f"{d}/error.log"], timeout=30)
        if t.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{t.stdout}{t.stderr}")

    def argv(self):
        d = self.dir
        return ["nginx", "-p", d, "-c", self.conf, "-e", f"{d}/error.log"]

    def stored_path(self, name: str) -> str:
        return os.path.join(self.root, name)


class AirlockServer(Server):
    name = "airlock"
    ready_path = "/healthz"

    def __init__(self, base, env_extra=None, max_size: int = GiB):
        super().__init__(base, env_extra)
        self.data = os.path.join(self.dir, "data")
        self.token = ""
        limit = "2GB" if max_size <= 18 * 10**8 else str(2 * max_size)
        self.limits = {"AIRLOCK_MAX_FILE_SIZE": limit, "AIRLOCK_MAX_REQUEST_SIZE": limit}

    def env(self):
        e = dict(os.environ)
        e["TMPDIR"] = self.tmp
        e["AIRLOCK_DATA_DIR"] = self.data
        e.update(self.limits)
        e.update(self.env_extra)
        return e

    def cli(self, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run_cmd([AIRLOCK_BIN, "--data-dir", self.data, *args], input=stdin,
                       env=self.env(), cwd=self.dir)

    def prepare(self):
        password = "bench-" + os.urandom(12).hex()
        p = self.cli("user", "add", "bench", "--admin", "--password-stdin",
                     "--quota", str(1 << 40), stdin=password + "\n")
        if p.returncode != 0:
            log(f"airlock user add with --quota failed ({p.returncode}): "
                f"{(p.stderr or p.stdout).strip()[-300:]}; retrying without --quota")
            p = self.cli("user", "add", "bench", "--admin", "--password-stdin",
                         stdin=password + "\n")
        if p.returncode != 0:
            raise RuntimeError(f"airlock user add failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        t = self.cli("token", "create", "bench")
        lines = [ln.strip() for ln in t.stdout.splitlines() if ln.strip()]
        if t.returncode != 0 or not lines:
            raise RuntimeError(f"airlock token create failed ({t.returncode}):\n{t.stdout}{t.stderr}")
        self.token = lines[-1]

    def argv(self):
        return [AIRLOCK_BIN, "--data-dir", self.data, "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", "2"]

    def auth(self) -> list[str]:
        return ["-H", f"Authorization: Bearer {self.token}"]


def airlock_available() -> tuple[bool, str]:
    if not os.path.exists(AIRLOCK_BIN):
        return False, f"{AIRLOCK_BIN} does not exist (package not installed yet?)"
    try:
        p = run_cmd([AIRLOCK_BIN, "--help"], timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"`airlock --help` failed: {e}"
    if p.returncode != 0:
        return False, f"`airlock --help` exited {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}"
    return True, ""


# --------------------------------------------------------------------- transfers


class Result:
    def __init__(self, server: str, op: str, size: int):
        self.server, self.op, self.size = server, op, size
        self.ok = False
        self.error = ""
        self.http = 0
        self.seconds = 0.0
        self.mibps = 0.0
        self.cpu = 0.0
        self.client_cpu = 0.0
        self.bench_cpu = 0.0
        self.other_cpu = 0.0
        self.rss_worker = 0
        self.rss_worker_desc = ""
        self.rss_tree = 0
        self.rss_before = 0
        self.body = b""
        self.extra = ""


def curl_timeout(size: int) -> int:
    # generous: 1 MiB/s floor plus a minute; bounded
    return int(60 + size / MiB)


def measure(server: Server, op: str, size: int, curl_args: list[str], body_out: str | None,
            ok_status: tuple[int, ...]) -> Result:
    """Runs one curl transfer against `server` and measures the server tree."""
    res = Result(server.name, op, size)
    max_time = curl_timeout(size)
    argv = ["curl", "-sS", "--connect-timeout", "10", "--max-time", str(max_time),
            "-o", body_out or "/dev/null",
            "-w", "%{http_code} %{time_total} %{size_upload} %{size_download}", *curl_args]
    root = server.ps
    server.note_pids()
    sampler = RssSampler(root)
    sampler.sample()
    rss_before = sampler.max_worker
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    sys0 = system_busy()
    cpu0 = tree_cpu(root)
    sampler.start()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=max_time + 30)
    except subprocess.TimeoutExpired:
        p = None
    finally:
        cpu1 = tree_cpu(root)
        sampler.finish()
    sys1 = system_busy()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    server.note_pids()
    res.cpu = cpu1 - cpu0
    res.client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    res.bench_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    # whatever else ran on the machine meanwhile (kernel threads, other processes)
    res.other_cpu = max(0.0, (sys1 - sys0) - res.cpu - res.client_cpu - res.bench_cpu)
    res.rss_worker, res.rss_worker_desc, res.rss_tree = (
        sampler.max_worker, sampler.max_worker_desc, sampler.max_tree)
    res.rss_before = rss_before
    if p is None:
        res.error = f"curl timed out after {max_time + 30}s"
        return res
    if body_out and os.path.exists(body_out):
        with open(body_out, "rb") as f:
            res.body = f.read(1 << 20)
    fields = p.stdout.strip().split()
    if p.returncode != 0 or len(fields) != 4:
        res.error = f"curl exit {p.returncode}: {p.stderr.strip()[-300:]} {p.stdout.strip()[-100:]}"
        return res
    res.http = int(fields[0])
    res.seconds = float(fields[1])
    up, down = int(float(fields[2])), int(float(fields[3]))
    if res.http not in ok_status:
        res.error = f"HTTP {res.http}: {res.body[:300].decode('utf-8', 'replace')}"
        return res
    if op.startswith("download") and down != size:
        res.error = f"downloaded {down} bytes, expected {size}"
        return res
    if op.startswith("upload") and up < size:
        res.error = f"uploaded {up} bytes, expected >= {size}"
        return res
    res.mibps = size / res.seconds / MiB if res.seconds > 0 else 0.0
    res.ok = True
    return res


class Bench:
    def __init__(self, args, work: str):
        self.args = args
        self.work = work
        self.files_dir = os.path.join(work, "files")
        os.makedirs(self.files_dir, exist_ok=True)
        self.resp = os.path.join(work, "response.json")
        self.results: list[Result] = []
        self.notes: list[str] = []
        self.airlock_ids: list[str] = []

    def note(self, msg: str) -> None:
        log("NOTE: " + msg)
        self.notes.append(msg)

    def prefault(self, nbytes: int) -> None:
        """Writes and deletes a scratch file of `nbytes` in the work dir.

        On this VM, page-cache pages that were freed more than ~2 s ago have been handed
        back to the hypervisor (virtio-balloon free page reporting); writing into them
        costs the writer ~1-3 s of system CPU per GiB, against ~0.2 s for pages freed just
        before. Which state an upload meets otherwise depends on what ran before it, so
        every measured upload is preceded by this step: the server then writes into
        recently freed pages, whichever server it is."""
        path = os.path.join(self.work, "prefault.tmp")
        buf = b"\0" * MiB
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            left = nbytes
            while left > 0:
                left -= os.write(fd, buf[:min(MiB, left)])
        finally:
            os.close(fd)
            os.unlink(path)

    # ---- one transfer of each kind -------------------------------------------

    def up_tutorial(self, srv: TutorialServer, path: str, size: int, sha: str, measured=True):
        r = measure(srv, "upload multipart", size, ["-H", "Expect:", "-F", f"file=@{path}",
                                                   srv.url + "/"], self.resp, (200, 201, 302, 303))
        if r.ok:
            stored = srv.stored_path(os.path.basename(path))
            if not os.path.exists(stored) or os.path.getsize(stored) != size:
                r.ok, r.error = False, f"stored file {stored} missing or wrong size"
        return r

    def up_nginx(self, srv: NginxServer, path: str, size: int, sha: str, measured=True):
        name = os.path.basename(path)
        r = measure(srv, "upload PUT", size, ["-H", "Expect:", "-T", path, f"{srv.url}/{name}"],
                    self.resp, (200, 201, 204))
        if r.ok:
            stored = srv.stored_path(name)
            if not os.path.exists(stored) or os.path.getsize(stored) != size:
                r.ok, r.error = False, f"stored file {stored} missing or wrong size"
        return r

    def _check_airlock_file(self, r: Result, obj, size: int, sha: str):
        if not isinstance(obj, dict) or "id" not in obj:
            r.ok, r.error = False, f"no File object in response: {r.body[:300]!r}"
            return
        self.airlock_ids.append(obj["id"])
        r.extra = obj["id"]
        if obj.get("size") != size:
            r.ok, r.error = False, f"File.size {obj.get('size')} != {size}"
        elif str(obj.get("sha256", "")).lower() != sha:
            r.ok, r.error = False, f"File.sha256 {obj.get('sha256')} != {sha}"

    def up_airlock_post(self, srv: AirlockServer, path: str, size: int, sha: str, measured=True):
        r = measure(srv, "upload multipart", size,
                    [*srv.auth(), "-H", "Expect:", "-F", f"file=@{path}",
                     srv.url + "/api/v1/files"], self.resp, (201,))
        if r.ok:
            try:
                doc = json.loads(r.body)
                files = doc.get("files") or []
                self._check_airlock_file(r, files[0] if files else doc, size, sha)
                if doc.get("rejected"):
                    self.note(f"airlock POST answered 201 with rejected={doc['rejected']!r}")
            except (ValueError, AttributeError) as e:
                r.ok, r.error = False, f"bad JSON from POST: {e}: {r.body[:200]!r}"
        return r

    def up_airlock_put(self, srv: AirlockServer, path: str, size: int, sha: str, measured=True):
        name = os.path.basename(path)
        r = measure(srv, "upload PUT", size,
                    [*srv.auth(), "-H", "Expect:", "-T", path,
                     f"{srv.url}/api/v1/files/{name}"], self.resp, (201,))
        if r.ok:
            try:
                self._check_airlock_file(r, json.loads(r.body), size, sha)
            except ValueError as e:
                r.ok, r.error = False, f"bad JSON from PUT: {e}: {r.body[:200]!r}"
        return r

    def down(self, srv: Server, url: str, size: int, extra: list[str] | None = None, op="download"):
        return measure(srv, op, size, [*(extra or []), url], None, (200,))

    # ---- a whole size -----------------------------------------------------------

    def run_size(self, size: int, path: str, sha: str, warm: tuple[str, int, str],
                 servers: dict[str, Server], rep: int) -> list[Result]:
        tut: TutorialServer = servers["tutorial"]
        ngx: NginxServer = servers["nginx"]
        air: AirlockServer | None = servers.get("airlock")
        wpath, wsize, wsha = warm
        out: list[Result] = []

        def warm_then(fn, srv, label):
            if label == "upload" and self.args.prefault > 0:
                self.prefault(int(size * self.args.prefault))
            w = fn(srv, wpath, wsize, wsha, measured=False)
            if not w.ok:
                self.note(f"warm-up {label} on {srv.name} failed: {w.error}")
            r = fn(srv, path, size, sha)
            tag = ("ok" + (" (DISTURBED)" if disturbed(r) else "")) if r.ok else f"FAILED: {r.error}"
            log(f"{size_label(size):>8} {srv.name:9} {r.op:17} "
                f"{r.mibps:8.1f} MiB/s  cpu {r.cpu:6.2f}s  other cpu {r.other_cpu:5.2f}s  "
                f"worker rss {r.rss_worker / MiB:7.1f} MiB  {tag}")
            out.append(r)
            return r

        uploads = [(self.up_tutorial, tut, "upload"), (self.up_nginx, ngx, "upload")]
        if air:
            uploads[1:1] = [(self.up_airlock_post, air, "upload"), (self.up_airlock_put, air, "upload")]
        # rotate the order on repeats so no server is always first
        k = rep % len(uploads)
        uploads = uploads[k:] + uploads[:k]
        put_id = None
        for fn, srv, label in uploads:
            r = warm_then(fn, srv, label)
            if fn == self.up_airlock_put and r.ok:
                put_id = r.extra

        name = os.path.basename(path)
        wname = os.path.basename(wpath)
        downloads = []
        if air and put_id:
            wid = None
            # a warm-up File to download: the last successful small PUT
            w = self.up_airlock_put(air, wpath, wsize, wsha, measured=False)
            wid = w.extra if w.ok else put_id

            def dl_air(srv, p, s, h, measured=True, _fid=None):
                fid = put_id if measured else wid
                return self.down(srv, f"{srv.url}/api/v1/files/{fid}/content", s, srv.auth())
            downloads.append((dl_air, air))
        elif air:
            self.note(f"{size_label(size)}: no Airlock PUT File id; Airlock download skipped")

        def dl_ngx(srv, p, s, h, measured=True):
            return self.down(srv, f"{srv.url}/{name if measured else wname}", s)

        def dl_tut(srv, p, s, h, measured=True):
            return self.down(srv, f"{srv.url}/uploads/{name if measured else wname}", s)
        downloads += [(dl_ngx, ngx), (dl_tut, tut)]
        k = rep % len(downloads)
        downloads = downloads[k:] + downloads[:k]
        for fn, srv in downloads:
            warm_then(fn, srv, "download")
        return out

    def cleanup_size(self, servers: dict[str, Server], names: list[str]) -> None:
        """Frees disk between sizes: deletes the Files/bytes the size left behind."""
        air = servers.get("airlock")
        if air and self.airlock_ids:
            for fid in self.airlock_ids:
                try:
                    p = run_cmd(["curl", "-sS", "--max-time", "120", "-o", "/dev/null", "-w",
                                 "%{http_code}", "-X", "DELETE", *air.auth(),
                                 f"{air.url}/api/v1/files/{fid}"], timeout=150)
                    if p.stdout.strip() != "204":
                        self.note(f"airlock DELETE {fid} answered {p.stdout.strip()} {p.stderr.strip()}")
                except subprocess.TimeoutExpired:
                    self.note(f"airlock DELETE {fid} timed out")
            self.airlock_ids.clear()
        for key in ("tutorial", "nginx"):
            srv = servers.get(key)
            for n in names:
                try:
                    os.unlink(srv.stored_path(n))
                except OSError:
                    pass


# ------------------------------------------------------------------------ report


def disturbed(r: Result) -> bool:
    """Other processes took a lot of CPU during this transfer (see `other CPU s`)."""
    return r.other_cpu > 0.5 and r.other_cpu > 0.5 * r.seconds


def pick_median(rs: list[Result]) -> Result:
    """The run with the median throughput, among the undisturbed successful runs if there are any."""
    ok = [r for r in rs if r.ok]
    if not ok:
        return rs[-1]
    ok = [r for r in ok if not disturbed(r)] or ok
    ok.sort(key=lambda r: r.mibps)
    return ok[(len(ok) - 1) // 2]


def status_and_spread(r, all_runs, error_width: int, is_disturbed=None) -> tuple[str, str]:
    """A table row's status cell and its "min–max (ok/attempts, disturbed)" cell; shared by the
    upload/download and the tus tables (each with its own idea of a disturbed run)."""
    is_disturbed = is_disturbed or disturbed
    status = "ok" if r.ok else ("FAILED: " + r.error.replace("|", "/").replace("\n", " ")[:error_width])
    ok = [x.mibps for x in all_runs if x.ok]
    nd = sum(1 for x in all_runs if x.ok and is_disturbed(x))
    spread = f"{min(ok):.0f}–{max(ok):.0f} ({len(ok)}/{len(all_runs)} ok" if ok else f"– (0/{len(all_runs)} ok"
    spread += f", {nd} disturbed)" if nd else ")"
    return status, spread


def fmt_table(rows: list[Result], runs: dict[tuple[int, str, str], list[Result]]) -> str:
    head = ("| size | server | operation | MiB/s | MiB/s min–max (runs) | seconds | server CPU s | curl CPU s "
            "| other CPU s | peak worker RSS MiB | peak tree RSS MiB | status |")
    sep = "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    lines = [head, sep]
    for r in rows:
        status, spread = status_and_spread(r, runs.get((r.size, r.server, r.op), [r]), 160)
        lines.append(
            f"| {size_label(r.size)} | {r.server} | {r.op} | "
            f"{r.mibps:.1f} | {spread} | {r.seconds:.2f} | {r.cpu:.2f} | {r.client_cpu:.2f} | {r.other_cpu:.2f} | "
            f"{r.rss_worker / MiB:.1f} | {r.rss_tree / MiB:.1f} | {status} |")
    return "\n".join(lines)


def ratio(a: Result | None, b: Result | None) -> float | None:
    if not a or not b or not a.ok or not b.ok or b.mibps <= 0:
        return None
    return a.mibps / b.mibps


def paired_ratio(runs, size, s1, o1, s2, o2) -> float | None:
    """Median over repeats of (Airlock / peer) measured in the same repeat."""
    a, b = runs.get((size, s1, o1), []), runs.get((size, s2, o2), [])
    rs = [ratio(x, y) for x, y in zip(a, b) if not (disturbed(x) or disturbed(y))]
    rs = sorted(r for r in rs if r is not None)
    if not rs:
        return None
    return rs[(len(rs) - 1) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2


def analyse(sizes: list[int], table: dict[tuple[int, str, str], Result], airlock_on: bool,
            runs: dict[tuple[int, str, str], list[Result]]):
    """Returns (ratio lines, memory lines, target lines)."""
    g = lambda size, srv, op: table.get((size, srv, op))  # noqa: E731
    ratio_lines, target_lines = [], []
    specs = [
        ("multipart upload vs tutorial app", "airlock", "upload multipart", "tutorial", "upload multipart", 3.0),
        ("multipart upload vs nginx PUT", "airlock", "upload multipart", "nginx", "upload PUT", 0.4),
        ("PUT upload vs nginx PUT", "airlock", "upload PUT", "nginx", "upload PUT", 0.5),
        ("download vs nginx static", "airlock", "download", "nginx", "download", 0.8),
    ]
    ratio_lines.append("| Airlock / peer | " + " | ".join(size_label(s) for s in sizes) + " | target |")
    ratio_lines.append("|---|" + "---:|" * len(sizes) + "---|")
    paired_cells = {}
    for label, s1, o1, s2, o2, tgt in specs:
        cells, verdicts = [], []
        for s in sizes:
            r = ratio(g(s, s1, o1), g(s, s2, o2))
            cells.append("n/a" if r is None else f"{r:.2f}×")
            verdicts.append(None if r is None else r >= tgt)
            pr = paired_ratio(runs, s, s1, o1, s2, o2)
            paired_cells.setdefault(label, []).append("n/a" if pr is None else f"{pr:.2f}×")
        ratio_lines.append(f"| {label} | " + " | ".join(
            f"{c} (paired {p})" for c, p in zip(cells, paired_cells[label])) + f" | ≥ {tgt}× |")
        if not airlock_on:
            mark = "not measured (Airlock skipped)"
        elif any(v is None for v in verdicts):
            mark = "not measured (a transfer failed)" if all(v is None for v in verdicts) else "partly measured"
            if any(v is False for v in verdicts):
                mark = "**missed** (" + mark + ")"
        else:
            mark = "met" if all(verdicts) else "**missed**"
        target_lines.append(f"- {label}: ≥ {tgt}× — {mark} (" + ", ".join(
            f"{size_label(s)}: {c}" for s, c in zip(sizes, cells)) + ")")

    # memory targets: Airlock peak worker RSS during uploads
    mem_lines = []
    per_op = {}
    before = {}
    for op in ("upload multipart", "upload PUT"):
        vals = {}
        for s in sizes:
            r = g(s, "airlock", op)
            if r and r.ok:
                vals[s] = r.rss_worker
                before[(op, s)] = r.rss_before
        per_op[op] = vals
        if vals:
            mem_lines.append(f"- Airlock peak worker RSS, {op}: " + ", ".join(
                f"{size_label(s)}: {v / MiB:.1f} MiB (largest worker just before: "
                f"{before[(op, s)] / MiB:.1f} MiB)" for s, v in vals.items()))
    all_vals = [v for vals in per_op.values() for v in vals.values()]
    if not airlock_on or not all_vals:
        target_lines.append("- peak worker RSS ≤ 64 MiB — not measured")
        target_lines.append("- peak worker RSS within 8 MiB between the smallest and largest upload — not measured")
    else:
        mx = max(all_vals)
        target_lines.append(f"- peak worker RSS ≤ 64 MiB — {'met' if mx <= 64 * MiB else '**missed**'} "
                            f"(max over Airlock uploads: {mx / MiB:.1f} MiB)")
        small, big = min(sizes), max(sizes)
        diffs = []
        for op, vals in per_op.items():
            if small in vals and big in vals and small != big:
                d = vals[big] - vals[small]
                diffs.append(d)
                mem_lines.append(f"- {op}: {size_label(big)} − {size_label(small)} = {d / MiB:+.1f} MiB")
        if diffs:
            worst = max(diffs, key=abs)
            target_lines.append(
                f"- peak worker RSS within 8 MiB between {size_label(small)} and {size_label(big)} uploads — "
                f"{'met' if abs(worst) <= 8 * MiB else '**missed**'} (largest difference {worst / MiB:+.1f} MiB)")
        else:
            target_lines.append("- peak worker RSS growth with size — not measured (needs two sizes)")
    return ratio_lines, mem_lines, target_lines


def host_lines(work: str) -> list[str]:
    """What every bench script reports of the machine: date, CPU, kernel, memory, and the
    filesystem of the work dir."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    df = cmd_output(["df", "-hT", work]).splitlines()
    return [
        f"- date: `{cmd_output(['date', '-u'])}`",
        f"- nproc: {cmd_output(['nproc'])}; CPU: {model}; kernel: {cmd_output(['uname', '-r'])}",
        "- memory (`free -h`):",
        "",
        "```",
        cmd_output(["free", "-h"]),
        "```",
        "",
        f"- work dir filesystem: `{df[-1] if df else '?'}`",
    ]


def git_state() -> tuple[str, str]:
    """(HEAD as "hash subject", files with uncommitted changes under src/)."""
    head = cmd_output(["git", "-C", ROOT, "log", "-1", "--format=%h %s"])
    if "fatal" in head or not head:
        head = "(no commits yet)"
    dirty = cmd_output(["git", "-C", ROOT, "status", "--short", "--", "src"])
    return head, ", ".join(ln.split()[-1] for ln in dirty.splitlines()[:8] if ln.strip())


def git_lines(start: tuple[str, str], end: tuple[str, str]) -> list[str]:
    """The code the servers ran: HEAD when they started, and whether it moved during the run
    (the servers kept what they had loaded)."""
    line = f"- repository HEAD when the servers started: {start[0]}"
    if start[1]:
        line += f" (uncommitted changes under src/: {start[1]})"
    if end != start:
        line += (f"; **the tree moved during the run** to {end[0]}"
                 + (f" (uncommitted under src/: {end[1]})" if end[1] else "")
                 + "; the servers kept the code they loaded at start")
    return [line]


def machine_info(work: str) -> list[str]:
    try:
        from importlib.metadata import version
        gver = version("gunicorn")
    except Exception:  # noqa: BLE001
        gver = "?"
    head, dirty = git_state()
    return host_lines(work) + [
        f"- {cmd_output(['nginx', '-v'])}; gunicorn {gver}; {' '.join(cmd_output(['curl', '--version']).split()[:2])}; "
        f"Python {sys.version.split()[0]}",
        f"- repository HEAD: {head}" + (f" (with uncommitted changes under src/: {dirty})" if dirty else ""),
    ]


# -------------------------------------------------------------------------- main


def main() -> int:
    global WARMUP_SIZE, AIRLOCK_BIN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100M,1G", help="comma-separated sizes (M = MiB, G = GiB)")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "RESULTS.md"), help="results file (markdown)")
    ap.add_argument("--rewrite", action="store_true", help="rewrite --out instead of appending to it")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per size (default 3); the run with the median throughput is reported")
    ap.add_argument("--prefault", type=float, default=2.0, metavar="FACTOR",
                    help="before each measured upload write and delete a scratch file of FACTOR × size "
                         "(default 2: the tutorial app writes every byte twice); 0 disables. See README.")
    ap.add_argument("--wait-quiet", type=float, default=120.0, metavar="SECONDS",
                    help="before starting, wait up to this long for other processes to stop using the CPU")
    ap.add_argument("--warmup-size", default="1M", help="size of the warm-up transfer before each measurement")
    ap.add_argument("--airlock-bin", default=AIRLOCK_BIN, help="the airlock command (default: %(default)s)")
    ap.add_argument("--no-airlock", action="store_true", help="benchmark the peers only")
    ap.add_argument("--airlock-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for Airlock (default adds AIRLOCK_SCAN=off)")
    ap.add_argument("--work-base", help="where to make the temp dir (default: first of $TMPDIR,/tmp,"
                    " /var/tmp, bench/ that is on /work's filesystem and not tmpfs)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = ap.parse_args()

    WARMUP_SIZE = parse_size(args.warmup_size)
    sizes = checked_sizes(ap, args, WARMUP_SIZE)
    command = this_command()

    for tool in ("curl", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"run.py: `{tool}` not found; run: bash bench/setup.sh")
    if not os.path.exists(GUNICORN_BIN):
        sys.exit("run.py: gunicorn not in the venv; run: bash bench/setup.sh")

    AIRLOCK_BIN = args.airlock_bin
    airlock_env = {"AIRLOCK_SCAN": "off"}
    for kv in args.airlock_env:
        k, _, v = kv.partition("=")
        airlock_env[k] = v
    airlock_on, why = (False, "--no-airlock given") if args.no_airlock else airlock_available()
    if not airlock_on:
        log(f"SKIPPING AIRLOCK: {why}. Only the peers are measured; ratios and targets are n/a.")

    need = sum(sizes) + max(sizes) * 8 + GiB
    work = prepare_work_dir(args.work_base, need, "run.py", "airlock-bench-")

    servers: dict[str, Server] = {}
    bench = Bench(args, work)
    runs: dict[tuple[int, str, str], list[Result]] = {}
    test_files: dict[int, tuple[str, int, str]] = {}
    memory_end: dict[str, str] = {}
    started = time.time()
    rc = 0
    wait_for_quiet(args.wait_quiet, bench.note)
    try:
        # test files first, before any server runs
        (wpath, wsize, wsha), test_files = make_test_files(bench.files_dir, sizes, WARMUP_SIZE)

        # servers, started back to back
        servers["tutorial"] = TutorialServer(work)
        servers["nginx"] = NginxServer(work)
        if airlock_on:
            servers["airlock"] = AirlockServer(work, airlock_env, max_size=max(sizes))
        for key in list(servers):
            try:
                servers[key].start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                if key == "airlock":
                    bench.note(f"Airlock failed to start: {e}")
                    servers[key].stop()
                    del servers[key]
                    airlock_on = False
                else:
                    raise

        for s in sizes:
            path, real, sha = test_files[s]
            for rep in range(args.repeat):
                for r in bench.run_size(real, path, sha, (wpath, wsize, wsha), servers, rep):
                    runs.setdefault((real, r.server, r.op), []).append(r)
                if rep < args.repeat - 1 or s != sizes[-1]:
                    bench.cleanup_size(servers, [os.path.basename(path), os.path.basename(wpath)])
        # one detailed look at each server's workers: how much of RSS is their own (USS)
        for key, srv in servers.items():
            memory_end[key] = worker_memory(srv)
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        tails = stop_servers(servers, bench)
        airlock_log = tails.get("airlock", "")
        if args.keep:
            log(f"keeping {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if not runs:
        log("nothing was measured")
        return rc or 1

    # ---- report ---------------------------------------------------------------
    real_sizes = [test_files[s][1] for s in sizes if s in test_files]
    order = [("tutorial", "upload multipart"), ("airlock", "upload multipart"), ("airlock", "upload PUT"),
             ("nginx", "upload PUT"), ("airlock", "download"), ("nginx", "download"),
             ("tutorial", "download")]
    table: dict[tuple[int, str, str], Result] = {}
    rows = []
    for s in real_sizes:
        for srv, op in order:
            rs = runs.get((s, srv, op))
            if rs:
                table[(s, srv, op)] = pick_median(rs)
                rows.append(table[(s, srv, op)])
    ratio_lines, mem_lines, target_lines = analyse(real_sizes, table, airlock_on, runs)
    failures = [r for r in rows if not r.ok]

    md = []
    md.append(f"## Run of {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    md.append("")
    md.append("Command:")
    md.append("")
    md.append("```")
    md.append(command)
    md.append("```")
    md.append("")
    md.extend(machine_info(work if os.path.exists(work) else os.path.dirname(work)))
    air_env = {"AIRLOCK_MAX_FILE_SIZE": "2GB", "AIRLOCK_MAX_REQUEST_SIZE": "2GB", **airlock_env}
    if "airlock" in servers:
        air_env.update(servers["airlock"].limits)
        air_env.update(airlock_env)
    md.append("- servers: tutorial app = gunicorn 2 sync workers --timeout 600; nginx = 2 workers, "
              "dav_methods PUT, sendfile on; Airlock = `airlock serve --workers 2` with "
              + ", ".join(f"`{k}={v}`" for k, v in air_env.items())
              + ("" if airlock_on else f" — **SKIPPED: {why or 'failed to start'}**"))
    md.append(f"- test files: ZIP (stored) of one random member: "
              + ", ".join(f"{size_label(s)} = {test_files[s][1]} bytes" for s in sizes if s in test_files)
              + f"; each measured transfer is preceded by a {size_label(WARMUP_SIZE)} warm-up of the same kind;"
              f" repeats per size: {args.repeat}" + (" (the run with the median MiB/s is shown; its CPU and RSS are from that same run)" if args.repeat > 1 else ""))
    md.append("- MiB/s = file bytes / curl `time_total` / 2^20. Server CPU s = user+sys of the server's whole "
              "process tree during the transfer. Peak RSS sampled every 20 ms; \"worker\" = a process of the "
              "tree with no children (gunicorn/nginx workers). Other CPU s = the machine's busy CPU time during the "
              "transfer minus server, curl and this script: kernel threads (writeback) and anything else "
              "running; a transfer with other CPU > 0.5 s and > half its duration counts as disturbed and is left "
              "out of the median and the paired ratios when undisturbed repeats exist.")
    if args.prefault > 0:
        md.append(f"- before each measured upload a {args.prefault:g}× size scratch file is written and deleted "
                  "(`--prefault`, see README: on this VM writing into pages that were freed seconds ago costs "
                  "~5× less system CPU than writing into pages handed back to the hypervisor)")
    else:
        md.append("- no prefault (`--prefault 0`): upload numbers depend on the VM's page state")
    md.append(f"- wall time of the run: {time.time() - started:.0f}s")
    md.append("")
    md.append(fmt_table(rows, runs))
    md.append("")
    md.append("Ratios (throughput, Airlock / peer): the ratio of the MiB/s shown in the table (median runs) is "
              "what the targets are checked against; \"paired\" is the median over repeats of the ratio "
              "within the same repeat, which cancels slow phases of the VM that hit all servers alike.")
    md.append("")
    md.extend(ratio_lines)
    md.append("")
    if mem_lines:
        md.append("Airlock memory:")
        md.append("")
        md.extend(mem_lines)
        md.append("")
    report_tail(
        md,
        [("Worker memory at the end of the run (MiB; uss = pages only that process has, pss = "
          "its share of the rest):", memory_end)],
        target_lines, bench.notes,
        [f"{r.server} {r.op} {size_label(r.size)}: {r.error}" for r in failures],
        {"Airlock server": airlock_log},
    )
    publish(md, args.out, rewrite=args.rewrite)
    if failures:
        rc = rc or 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
