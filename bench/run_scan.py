#!/usr/bin/env python3
"""Malware-scanning benchmark: does the clamd scan overlap the upload or follow it?

    .venv/bin/python bench/run_scan.py [--sizes 100M,1G] [--repeat 3] [--out bench/RESULTS.md]

One run starts ONE clamd (Debian's, through tests/support/clamd.py: a unix socket in the temp
work dir, the small test signature database written at start, StreamMaxLength/MaxFileSize/
MaxScanSize 4000M) with ``DisableCache yes`` added to its config (clamd otherwise remembers the
MD5 of every clean file and answers the second scan of the same bytes from its cache), and two
Airlock servers, each as bench/run.py starts it (``airlock serve --workers 2``, bench user and
bearer token, ``AIRLOCK_MAX_FILE_SIZE``/``AIRLOCK_MAX_REQUEST_SIZE`` 2GB, local storage, data
dir on the same filesystem as /work):

* ``scan=off``: ``AIRLOCK_SCAN=off``;
* ``scan=required``: ``AIRLOCK_SCAN=required``, ``AIRLOCK_CLAMD`` = that clamd,
  ``AIRLOCK_SCAN_TIMEOUT`` = ``--scan-timeout`` (default 600). Before measuring, an EICAR
  upload to it must be refused with 422 ``malware_detected``.

For each size, the same test file (``--file-type txt``, default: printable random text lines;
or ``zip``: run.py's stored ZIP of one random member) goes three ways:

* multipart ``POST /api/v1/files`` to each Airlock with ``curl`` (bench/run.py's ``measure``
  and checks: 201, the File's size and sha256 equal the file's);
* "clamd alone": this script streams the file to the same clamd over ``INSTREAM`` with
  Airlock's own client (``airlock.scan.clamd.Clamd(Address.parse(url), timeout=600)``,
  ``stream()``, ``send()`` of 1 MiB chunks, ``verdict()``), which must answer clean.

Per measurement: wall time and MiB/s, CPU seconds of Airlock's process tree, of clamd, of the
client (curl, or this script), of the kernel, of other processes; peak RSS of Airlock's largest
worker and of clamd (sampled every 20 ms). For clamd alone also the time to send the last chunk
and the wait for the verdict after it; for it and the scanned upload, when clamd had every byte
(the file it spools the stream into, in its temp dir, watched every 20 ms) and the machine's busy
cores until then. The targets: scanned wall time ≤ 1.2 × max(unscanned upload, clamd alone)
at the largest size, and Airlock's peak worker RSS ≤ 64 MiB (run.py's bound on local storage). Helpers come from bench/run.py, bench/run_tus.py and bench/run_s3.py.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import random
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(1, ROOT)

import run as rb  # noqa: E402  bench/run.py: Bench (prefault, Airlock uploads and checks), measure, samplers
from run import GiB, MiB, AirlockServer, cmd_output, log, parse_size, size_label, system_busy  # noqa: E402
from run_s3 import disturbed, pick_median, with_seaweed  # noqa: E402
from run_tus import TusBench, add_run_arguments, airlock_delete  # noqa: E402

import psutil  # noqa: E402  (run.py exits with a hint when it is missing)

from airlock.scan.clamd import CHUNK, Address, Clamd, ClamdError  # noqa: E402
from tests.support.clamd import EICAR, MAX_BYTES  # noqa: E402
from tests.support.clamd import Clamd as ClamdDaemon  # noqa: E402

WARMUP_SIZE = 1 * MiB
RATIO_TARGET = 1.2
RSS_MAX = 64 * MiB  # bench/run.py's target for Airlock's peak worker RSS on local storage
CLIENT_TIMEOUT = 600.0
KINDS = ("scan=off", "scan=required", "clamd alone")
TEXT_LINE = 100
# random bytes -> printable ASCII: letters (lower case twice as often), digits, ',' '.' and about
# one space in seven, so "words" of random letters; a newline every TEXT_LINE bytes
TEXT_CHARS = b"etaoinshrdlucmfwypvbgkjqxz" * 2 + b"ETAOINSHRDLU0123456789,." + b" " * 12
TEXT_TABLE = bytes(TEXT_CHARS[i % len(TEXT_CHARS)] for i in range(256))


# ------------------------------------------------------------------------ clamd


class BenchClamd(ClamdDaemon):
    """tests/support/clamd.py's clamd with its result cache off: every measurement here sends
    the same bytes again, and a cached clean MD5 would skip the scan itself."""

    def _write_config(self) -> Path:
        conf = super()._write_config()
        with open(conf, "a") as f:
            f.write("DisableCache yes\n")
        return conf


class ScanAirlock(AirlockServer):
    """run.py's Airlock under a name of its own (its dir, its rows)."""

    def __init__(self, base: str, name: str, env_extra: dict[str, str], max_size: int):
        self.name = name
        super().__init__(base, env_extra, max_size=max_size)


# --------------------------------------------------------------------- test files


def make_test_text(path: str, total: int, seed: int) -> tuple[int, str]:
    """Printable random text (TEXT_CHARS), a newline every TEXT_LINE bytes, written in 1 MiB chunks.
    Returns (size, sha256)."""
    rng = random.Random(seed)
    h = hashlib.sha256()
    done = 0
    with open(path, "wb") as f:
        while done < total:
            n = min(MiB, total - done)
            block = bytearray(rng.randbytes(n).translate(TEXT_TABLE))
            first = (TEXT_LINE - 1 - done) % TEXT_LINE
            block[first::TEXT_LINE] = b"\n" * len(range(first, n, TEXT_LINE))
            f.write(block)
            h.update(block)
            done += n
        f.flush()
        os.fsync(f.fileno())
    return os.path.getsize(path), h.hexdigest()


def make_files(files_dir: str, sizes: list[int], kind: str):
    """(warm-up file, {size: test file}), each (path, size, sha256)."""
    if kind == "zip":
        return rb.make_test_files(files_dir, sizes, WARMUP_SIZE)
    warm_path = os.path.join(files_dir, "warmup.txt")
    warm = (warm_path, *make_test_text(warm_path, WARMUP_SIZE, seed=1))
    files = {}
    for s in sizes:
        p = os.path.join(files_dir, f"bench-{size_label(s).replace(' ', '')}.txt")
        t0 = time.monotonic()
        files[s] = (p, *make_test_text(p, s, seed=s))
        log(f"test file {p}: {files[s][1]} bytes, sha256 {files[s][2][:16]}…, made in "
            f"{time.monotonic() - t0:.1f}s")
    return warm, files


# ---------------------------------------------------------------------- measuring


def clamd_alone(clamd: Clamd, path: str, size: int) -> rb.Result:
    """One INSTREAM of the file by this script, timed from connecting to the verdict. Shaped as
    run.measure's Result with no server: ``cpu`` 0, ``client_cpu`` this script's CPU (sending,
    and the sampler thread), ``other_cpu`` the rest of the machine's busy time (clamd's share
    is taken out by with_seaweed)."""
    r = rb.Result("clamd", "INSTREAM", size)
    r.send_s = r.wait_s = 0.0
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0 = system_busy()
    t0 = time.monotonic()
    try:
        scan = clamd.stream()
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(CHUNK):
                scan.send(chunk)
        t1 = time.monotonic()
        verdict = scan.verdict()
        t2 = time.monotonic()
    except (ClamdError, OSError) as e:
        r.error = f"INSTREAM failed: {e}"
        verdict = None
    busy1 = system_busy()
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    r.client_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    r.other_cpu = max(0.0, (busy1 - busy0) - r.client_cpu)
    if verdict is None:
        return r
    if verdict.infected:
        r.error = f"clamd found {verdict.signature}"
        return r
    r.seconds, r.send_s, r.wait_s = t2 - t0, t1 - t0, t2 - t1
    r.mibps = size / r.seconds / MiB if r.seconds > 0 else 0.0
    r.ok = True
    return r


class SpoolWatch(threading.Thread):
    """Watches clamd's TemporaryDirectory every 20 ms for the file it spools an INSTREAM into:
    ``full_at`` = seconds from start until that file held all ``size`` bytes (clamd had the
    whole stream; its scan starts then), None if never seen; ``busy`` = the machine's busy cores
    (all processes) over that time."""

    def __init__(self, tmp: str, size: int):
        super().__init__(daemon=True)
        self.tmp, self.size = tmp, size
        self.full_at: float | None = None
        self.busy = 0.0
        self.stop_evt = threading.Event()
        self.busy0, self.t0 = system_busy(), time.monotonic()

    def run(self) -> None:
        while self.full_at is None and not self.stop_evt.is_set():
            try:
                with os.scandir(self.tmp) as it:
                    for e in it:
                        if e.is_file(follow_symlinks=False) and e.stat().st_size >= self.size:
                            self.full_at = time.monotonic() - self.t0
                            self.busy = (system_busy() - self.busy0) / max(self.full_at, 1e-6)
                            break
            except OSError:  # a file deleted while listed
                pass
            self.stop_evt.wait(rb.SAMPLE_INTERVAL)

    def finish(self) -> float | None:
        self.stop_evt.set()
        self.join(timeout=5)
        return self.full_at


class ScanBench(rb.Bench):
    """run.py's Bench (prefault, the Airlock multipart upload and its checks) with clamd's CPU
    and RSS counted apart (run_s3's with_seaweed, given clamd's process), every Airlock File
    deleted right after its upload, and run_tus's quiet-second wait and retry of disturbed
    measurements."""

    wait_quiet = TusBench.wait_quiet

    def __init__(self, args, work: str, clamd: Clamd, clamd_ps: psutil.Process, clamd_tmp: str):
        super().__init__(args, work)
        self.clamd = clamd
        self.clamd_ps = clamd_ps
        self.clamd_tmp = clamd_tmp

    def forget(self, srv: ScanAirlock) -> None:
        for fid in self.airlock_ids:
            st = airlock_delete(srv, fid)
            if st != "204":
                self.note(f"{srv.name}: DELETE {fid} answered {st}")
        self.airlock_ids.clear()

    def transfer(self, kind: str, srv: ScanAirlock | None, path: str, size: int, sha: str):
        watch = SpoolWatch(self.clamd_tmp, size)
        watch.start()
        try:
            if srv is None:
                r = with_seaweed(self.clamd_ps, clamd_alone, self.clamd, path, size)
            else:
                r = with_seaweed(self.clamd_ps, self.up_airlock_post, srv, path, size, sha)
        finally:
            spooled = watch.finish()
        if srv is not None:
            self.forget(srv)
            r.send_s = r.wait_s = 0.0
        r.kind = kind
        # when clamd had every byte, and how long the verdict took after that
        r.spooled = spooled if kind != "scan=off" and r.ok else None
        r.after = r.seconds - spooled if r.spooled is not None else None
        r.spool_busy = watch.busy
        r.clamd_cpu, r.clamd_rss = r.weed_cpu, r.weed_rss
        return r

    def one(self, kind: str, srv: ScanAirlock | None, path: str, size: int, sha: str,
            warm: tuple[str, int, str], rep: int) -> list:
        """One measurement after a quiet second, prefault and a warm-up of the same kind;
        measured again when other processes disturbed it. Returns every attempt."""
        attempts = []
        for attempt in range(1 + max(0, self.args.retry_disturbed)):
            if self.args.quiet_each > 0:
                busy = self.wait_quiet(self.args.quiet_each)
                if busy > 0.25:
                    log(f"machine still busy ({busy:.2f} cores) after {self.args.quiet_each:.0f}s; "
                        "measuring anyway")
            if self.args.prefault > 0:
                self.prefault(int(size * self.args.prefault))
            w = self.transfer(kind, srv, *warm)
            if not w.ok:
                self.note(f"warm-up of {kind} failed: {w.error}")
            r = self.transfer(kind, srv, path, size, sha)
            r.rep, r.attempt = rep, attempt
            attempts.append(r)
            tag = ("ok" + (" (DISTURBED)" if disturbed(r) else "")) if r.ok else f"FAILED: {r.error}"
            own = (f"send {r.send_s:5.2f}s  verdict wait {r.wait_s:5.2f}s" if srv is None else
                   f"airlock cpu {r.cpu:6.2f}s  worker rss {r.rss_worker / MiB:6.1f} MiB")
            if r.spooled is not None:
                own += f"  all bytes at clamd after {r.spooled:5.2f}s, verdict {r.after:5.2f}s later"
            log(f"{size_label(size):>8} {kind:14} {r.seconds:7.2f}s {r.mibps:7.1f} MiB/s  {own}  clamd cpu "
                f"{r.clamd_cpu:6.2f}s  client {r.client_cpu:5.2f}s  kernel {r.kthread_cpu:4.2f}s  other "
                f"{r.other_procs_cpu:4.2f}s  clamd rss {r.clamd_rss / MiB:6.1f} MiB  {tag}")
            if not (r.ok and disturbed(r)):
                break
            if attempt < self.args.retry_disturbed:
                log("disturbed by other processes: measuring again")
        return attempts

    def probe_eicar(self, srv: ScanAirlock) -> tuple[bool, str]:
        """The scanning server must refuse the EICAR test file (422 malware_detected)."""
        path = os.path.join(self.files_dir, "eicar.txt")
        with open(path, "wb") as f:
            f.write(EICAR + b"\n")
        p = rb.run_cmd(["curl", "-sS", "--max-time", "60", "-o", self.resp, "-w", "%{http_code}",
                        *srv.auth(), "-H", "Expect:", "-F", f"file=@{path}", srv.url + "/api/v1/files"],
                       timeout=90)
        try:
            with open(self.resp, "rb") as f:
                body = f.read(4000).decode("utf-8", "replace")
        except OSError:
            body = ""
        status = p.stdout.strip()
        try:
            code = json.loads(body).get("error", {}).get("code", "")
        except (ValueError, AttributeError):
            code = ""
        ok = status == "422" and code == "malware_detected"
        return ok, f"EICAR upload to {srv.name} answered {status} {code or body[:200]!r}"


# ------------------------------------------------------------------------ report


def fmt_table(rows: list, runs) -> str:
    head = ("| size | run | MiB/s | MiB/s min–max (attempts) | seconds | all bytes at clamd s / verdict after s "
            "| Airlock CPU s | clamd CPU s | client CPU s | kernel CPU s | other procs CPU s | cores busy "
            "| Airlock peak worker RSS MiB (before) | clamd peak RSS MiB | status |")
    sep = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    lines = [head, sep]
    for r in rows:
        status, spread = rb.status_and_spread(r, runs.get((r.size, r.kind), [r]), 200, disturbed)
        used = r.cpu + r.clamd_cpu + r.client_cpu + r.kthread_cpu
        phases = "–" if r.spooled is None else f"{r.spooled:.2f} / {r.after:.2f}"
        rss = "–" if r.kind == "clamd alone" else f"{r.rss_worker / MiB:.1f} ({r.rss_before / MiB:.1f})"
        lines.append(
            f"| {size_label(r.size)} | {r.kind} | {r.mibps:.1f} | {spread} | {r.seconds:.2f} | {phases} | "
            + ("–" if r.kind == "clamd alone" else f"{r.cpu:.2f}")
            + f" | {r.clamd_cpu:.2f} | {r.client_cpu:.2f} | {r.kthread_cpu:.2f} | {r.other_procs_cpu:.2f} | "
            f"{used / r.seconds if r.seconds > 0 else 0:.2f} | {rss} | {r.clamd_rss / MiB:.1f} | {status} |")
    return "\n".join(lines)


def ratio_of(req, off, alone) -> float | None:
    if not (req and off and alone and req.ok and off.ok and alone.ok):
        return None
    return req.seconds / max(off.seconds, alone.seconds)


def paired(runs, size) -> float | None:
    """Median over repeats of the ratio within one repeat (its undisturbed successful attempts)."""
    def by_rep(kind):
        return {x.rep: x for x in runs.get((size, kind), []) if x.ok and not disturbed(x)}
    off, req, alone = (by_rep(k) for k in KINDS)
    rs = sorted(ratio_of(req[k], off[k], alone[k]) for k in req if k in off and k in alone)
    if not rs:
        return None
    return rs[(len(rs) - 1) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2


def analyse(sizes, table, runs):
    """(ratio lines, time lines, CPU lines, memory lines, target lines)."""
    ratio_lines = ["| size | scan=required s | scan=off s | clamd alone s | ratio | paired ratio | target |",
                   "|---|---:|---:|---:|---:|---:|---|"]
    time_lines, cpu_lines, mem_lines, target_lines = [], [], [], []
    big = max(sizes)
    ncores = psutil.cpu_count()
    for s in sizes:
        off, req, alone = (table.get((s, k)) for k in KINDS)
        r, pr = ratio_of(req, off, alone), paired(runs, s)
        cells = [f"{x.seconds:.2f}" if x and x.ok else "n/a" for x in (req, off, alone)]
        cells += ["n/a" if x is None else f"{x:.2f}×" for x in (r, pr)]
        cells.append(f"≤ {RATIO_TARGET:g}×" if s == big else "(for comparison)")
        ratio_lines.append(f"| {size_label(s)} | " + " | ".join(cells) + " |")
        if r is not None:
            base = max(off.seconds, alone.seconds)
            serial = off.seconds + alone.seconds
            floor = max(off.seconds, alone.send_s) + alone.wait_s
            time_lines.append(
                f"- {size_label(s)}: scanning added {req.seconds - off.seconds:+.2f} s to the upload "
                f"({off.seconds:.2f} → {req.seconds:.2f} s). clamd alone took {alone.seconds:.2f} s: "
                f"{alone.send_s:.2f} s to take the stream, then {alone.wait_s:.2f} s until the verdict "
                "(clamd spools an INSTREAM to a temp file and scans it after the last chunk). Upload "
                f"then scan, one after the other, would be ≈ {serial:.2f} s (ratio {serial / base:.2f}×); "
                "streaming while the upload arrives can at best reach ≈ max(upload, send) + verdict "
                f"wait = {floor:.2f} s (ratio {floor / base:.2f}×)")
            if req.spooled is not None and alone.spooled is not None:
                time_lines.append(
                    f"- {size_label(s)}, scanned upload: clamd had all bytes {req.spooled:.2f} s after the "
                    f"start (the unscanned upload took {off.seconds:.2f} s; clamd alone had them after "
                    f"{alone.spooled:.2f} s) and answered {req.after:.2f} s later (alone: {alone.after:.2f} s). "
                    f"Until clamd had all bytes the machine kept {req.spool_busy:.2f} of {ncores} cores busy "
                    f"(clamd alone: {alone.spool_busy:.2f})")
            busy_req = (req.cpu + req.clamd_cpu + req.client_cpu + req.kthread_cpu) / req.seconds
            busy_alone = (alone.clamd_cpu + alone.client_cpu + alone.kthread_cpu) / alone.seconds
            cpu_lines.append(
                f"- {size_label(s)}: Airlock {off.cpu:.2f} → {req.cpu:.2f} CPU s with scanning "
                f"({req.cpu - off.cpu:+.2f}: the scan thread feeding clamd); clamd {req.clamd_cpu:.2f} "
                f"CPU s during the scanned upload vs {alone.clamd_cpu:.2f} alone; Airlock + clamd + curl "
                f"+ kernel kept {busy_req:.2f} of {ncores} cores busy during the scanned upload, clamd "
                f"and this script {busy_alone:.2f} during clamd alone")
        if s != big:
            continue
        label = (f"- scanned upload's wall time ≤ {RATIO_TARGET:g} × max(unscanned upload, clamd alone) "
                 f"at {size_label(big)}")
        if r is None:
            target_lines.append(f"{label}: not measured (a measurement failed)")
            continue
        base = max(off.seconds, alone.seconds)
        figures = (f"{r:.2f}×, paired {'n/a' if pr is None else f'{pr:.2f}×'}: {req.seconds:.2f} s vs "
                   f"max({off.seconds:.2f}, {alone.seconds:.2f}) s")
        if r <= RATIO_TARGET:
            target_lines.append(f"{label}: met ({figures})")
        else:
            over = req.seconds - RATIO_TARGET * base
            target_lines.append(f"{label}: **missed** by {r - RATIO_TARGET:.2f}× ({figures}; "
                                f"{over:.2f} s over the {RATIO_TARGET * base:.2f} s allowed)")

    # memory: every successful measured upload counts, not only the median runs
    peak: dict[tuple[str, int], object] = {}
    for kind in KINDS[:2]:
        for s in sizes:
            ok = [x for x in runs.get((s, kind), []) if x.ok]
            if ok:
                peak[(kind, s)] = max(ok, key=lambda x: x.rss_worker)
        row = [(s, peak[(kind, s)]) for s in sizes if (kind, s) in peak]
        if row:
            mem_lines.append(f"- Airlock peak worker RSS, multipart {kind} (max over repeats; largest worker "
                             "just before that upload in parentheses): " + ", ".join(
                                 f"{size_label(s)}: {x.rss_worker / MiB:.1f} MiB ({x.rss_before / MiB:.1f})"
                                 for s, x in row))
    for s in sizes:
        if ("scan=off", s) in peak and ("scan=required", s) in peak:
            d = peak[("scan=required", s)].rss_worker - peak[("scan=off", s)].rss_worker
            mem_lines.append(f"- {size_label(s)}: scan=required − scan=off = {d / MiB:+.1f} MiB")
    clamd_rss = [x.clamd_rss for rs in runs.values() for x in rs if x.ok]
    if clamd_rss:
        mem_lines.append(f"- clamd peak RSS over the run: {max(clamd_rss) / MiB:.1f} MiB (test database)")
    req_peaks = {s: x for (k, s), x in peak.items() if k == "scan=required"}
    label = f"- Airlock peak worker RSS during scanned uploads ≤ {RSS_MAX / MiB:.0f} MiB (bench/run.py's bound)"
    if not req_peaks:
        target_lines.append(f"{label}: not measured")
    else:
        s, x = max(req_peaks.items(), key=lambda kv: kv[1].rss_worker)
        off_peak = [y.rss_worker for (k, _), y in peak.items() if k == "scan=off"]
        context = (f"; the unscanned uploads peaked at {max(off_peak) / MiB:.1f} MiB" if off_peak else "")
        if x.rss_worker <= RSS_MAX:
            target_lines.append(f"{label}: met ({x.rss_worker / MiB:.1f} MiB at {size_label(s)}{context})")
        else:
            target_lines.append(f"{label}: **missed** by {(x.rss_worker - RSS_MAX) / MiB:.1f} MiB "
                                f"({x.rss_worker / MiB:.1f} MiB at {size_label(s)}, "
                                f"{x.rss_before / MiB:.1f} MiB just before it{context})")
    return ratio_lines, time_lines, cpu_lines, mem_lines, target_lines


def machine_info(work: str, clamd_version: str, git_start, git_end) -> list[str]:
    try:
        from importlib.metadata import version
        gver = version("gunicorn")
    except Exception:  # noqa: BLE001
        gver = "?"
    return rb.host_lines(work) + [
        f"- clamd `{cmd_output(['clamd', '--version'])}` (VERSION answers `{clamd_version}`); "
        f"gunicorn {gver}; {' '.join(cmd_output(['curl', '--version']).split()[:2])}; "
        f"Python {sys.version.split()[0]}",
        *rb.git_lines(git_start, git_end),
    ]


# -------------------------------------------------------------------------- main


def main() -> int:
    global WARMUP_SIZE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap)
    ap.add_argument("--file-type", choices=("txt", "zip"), default="txt",
                    help="txt: printable random text lines (default); zip: run.py's stored ZIP of random bytes")
    ap.add_argument("--scan-timeout", type=int, default=600,
                    help="AIRLOCK_SCAN_TIMEOUT of the scanning Airlock (seconds, default 600)")
    ap.add_argument("--airlock-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for both Airlock servers")
    args = ap.parse_args()

    rb.AIRLOCK_BIN = args.airlock_bin
    WARMUP_SIZE = parse_size(args.warmup_size)
    sizes = rb.checked_sizes(ap, args, WARMUP_SIZE)
    command = rb.this_command()
    if not shutil.which("curl"):
        sys.exit("run_scan.py: `curl` not found; run: bash bench/setup.sh")
    airlock_on, why = rb.airlock_available()
    if not airlock_on:
        sys.exit(f"run_scan.py: Airlock is needed: {why}")
    extra_env = dict(kv.partition("=")[::2] for kv in args.airlock_env)

    # test files + prefault scratch + clamd's spooled stream + the Airlock File being stored
    need = int(sum(sizes) + max(sizes) * (args.prefault + 3) + GiB)
    work = rb.prepare_work_dir(args.work_base, need, "run_scan.py", "airlock-scan-bench-")

    daemon = BenchClamd(Path(work) / "clamd")
    servers: dict[str, ScanAirlock] = {}
    bench: ScanBench | None = None
    notes_early: list[str] = []
    runs: dict[tuple[int, str], list] = {}
    test_files: dict[int, tuple[str, int, str]] = {}
    memory_start: dict[str, str] = {}
    memory_end: dict[str, str] = {}
    clamd_version = "?"
    probe = ""
    started = time.time()
    rc = 0
    rb.wait_for_quiet(args.wait_quiet, notes_early.append)
    git_start = rb.git_state()
    try:
        files_dir = os.path.join(work, "files")
        os.makedirs(files_dir, exist_ok=True)
        warm, test_files = make_files(files_dir, sizes, args.file_type)

        git_start = rb.git_state()
        log(f"starting clamd in {daemon.root}")
        daemon.start()
        clamd = Clamd(Address.parse(daemon.url), timeout=CLIENT_TIMEOUT)
        clamd.ping()
        clamd_version = clamd.version()
        log(f"clamd at {daemon.url} (pid {daemon.proc.pid}): {clamd_version}")
        bench = ScanBench(args, work, clamd, psutil.Process(daemon.proc.pid), str(daemon.root / "tmp"))
        bench.notes.extend(notes_early)
        max_size = max(test_files[s][1] for s in sizes)
        servers["scan=off"] = ScanAirlock(work, "airlock-scan-off", {"AIRLOCK_SCAN": "off", **extra_env},
                                          max_size)
        servers["scan=required"] = ScanAirlock(
            work, "airlock-scan-required",
            {"AIRLOCK_SCAN": "required", "AIRLOCK_CLAMD": daemon.url,
             "AIRLOCK_SCAN_TIMEOUT": str(args.scan_timeout), **extra_env}, max_size)
        for srv in servers.values():
            srv.start()
        ok, probe = bench.probe_eicar(servers["scan=required"])
        log(("ok: " if ok else "PROBE FAILED: ") + probe)
        if not ok:
            bench.note(f"the scanning Airlock did not refuse EICAR as expected: {probe}")
        for key, srv in servers.items():
            memory_start[key] = rb.worker_memory(srv)

        for s in sizes:
            path, real, sha = test_files[s]
            for rep in range(args.repeat):
                k = rep % len(KINDS)
                for kind in KINDS[k:] + KINDS[:k]:
                    for r in bench.one(kind, servers.get(kind), path, real, sha, warm, rep):
                        runs.setdefault((real, kind), []).append(r)
        for key, srv in servers.items():
            memory_end[key] = rb.worker_memory(srv)
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        server_logs = rb.stop_servers(servers, bench, lambda key, srv: srv.name)
        clamd_log = daemon.log()
        log("stopping clamd")
        daemon.stop()
        if args.keep:
            log(f"keeping {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if not runs or bench is None:
        log("nothing was measured")
        return rc or 1

    # ---- report ---------------------------------------------------------------
    real_sizes = [test_files[s][1] for s in sizes if s in test_files]
    table, rows = {}, []
    for s in real_sizes:
        for kind in KINDS:
            rs = runs.get((s, kind))
            if rs:
                table[(s, kind)] = pick_median(rs)
                rows.append(table[(s, kind)])
    ratio_lines, time_lines, cpu_lines, mem_lines, target_lines = analyse(real_sizes, table, runs)
    failures = [r for rs in runs.values() for r in rs if not r.ok]
    what = ("text (random words of printable ASCII, a newline every 100 bytes; clamd scans it as "
            "one file, no container to unpack)" if args.file_type == "txt" else
            "ZIP (stored) of one random member (clamd scans the archive and the extracted member)")

    md = [f"## Scan run of {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}", "",
          "Multipart uploads with `AIRLOCK_SCAN=required` vs `AIRLOCK_SCAN=off`, and clamd alone scanning "
          "the same file over INSTREAM (`bench/run_scan.py`, see bench/README.md).", "",
          "Command:", "", "```", command, "```", ""]
    md.extend(machine_info(work if os.path.exists(work) else os.path.dirname(work), clamd_version,
                           git_start, rb.git_state()))
    limits = next(iter(servers.values())).limits if servers else {}
    md.append(f"- clamd: ONE Debian clamd (tests/support/clamd.py) on a unix socket in the temp work dir, the "
              f"test signature database (EICAR + one hash), StreamMaxLength/MaxFileSize/MaxScanSize {MAX_BYTES}, "
              "TemporaryDirectory in the work dir, plus `DisableCache yes` (with the cache, a second scan of "
              "the same bytes is answered from the MD5 of the first)")
    md.append("- servers: two `airlock serve --workers 2` (bench user and bearer token as in run.py, local "
              "storage, data dirs in the work dir) with " + ", ".join(f"`{k}={v}`" for k, v in limits.items())
              + f": scan=off with `AIRLOCK_SCAN=off`; scan=required with `AIRLOCK_SCAN=required`, "
              f"`AIRLOCK_CLAMD=unix://…/clamd.sock`, `AIRLOCK_SCAN_TIMEOUT={args.scan_timeout}`"
              + ("; extra: " + ", ".join(f"`{k}={v}`" for k, v in extra_env.items()) if extra_env else ""))
    md.append(f"- scanning check before measuring: {probe or 'not run'}")
    md.append(f"- test files: {what}: "
              + ", ".join(f"{size_label(s)} = {test_files[s][1]} bytes" for s in sizes if s in test_files)
              + f"; the same file for all three runs of a size; each measurement is preceded by a "
              f"{size_label(WARMUP_SIZE)} warm-up of the same kind; repeats: {args.repeat} (the run with the "
              "median MiB/s is shown, its CPU and RSS from that same run); order rotated per repeat; before each "
              f"measurement up to {args.quiet_each:g} s wait for a quiet second; a disturbed measurement is "
              f"made again up to {args.retry_disturbed} times, every attempt counted in min–max")
    md.append("- uploads: `curl -H 'Expect:' -F file=@FILE` to `POST /api/v1/files` (bench/run.py's measure); "
              "checked: 201, the File's size and sha256 equal the file's; each File is deleted right after. "
              "clamd alone: this script, `airlock.scan.clamd.Clamd(Address.parse(url), timeout=600).stream()`, "
              f"`send()` of {CHUNK // MiB} MiB chunks read from the file, `verdict()` (must be clean); timed from "
              "connecting to the verdict; *send s* = until the last chunk was sent, *verdict wait s* = after it. "
              "*All bytes at clamd s* (scan=required and clamd alone) = when the file clamd spools the stream "
              "into (in its TemporaryDirectory, watched every 20 ms) first held every byte, from the start of "
              "the measurement; *verdict after s* = the rest of the measurement")
    md.append("- MiB/s = file bytes / wall time / 2^20 (curl `time_total` for uploads). Airlock CPU s = user+sys of "
              "the server's process tree; clamd CPU s = clamd's; client CPU s = curl, or this script for clamd "
              "alone; kernel CPU s = kernel threads plus irq/softirq time; other procs CPU s = the machine's busy "
              "time minus all of those (a run with more than 0.5 s of it and more than 10 % of its duration is "
              "*disturbed*: measured again, left out of the median when undisturbed attempts exist); cores busy = "
              "(Airlock + clamd + client + kernel CPU s) / seconds. Peak RSS sampled every 20 ms; Airlock's "
              "worker = a process of its tree with no children, with the largest worker just before the upload "
              "in parentheses")
    if args.prefault > 0:
        md.append(f"- before each measurement a {args.prefault:g}× size scratch file is written and deleted "
                  "(`--prefault`, see README)")
    md.append(f"- wall time of the run: {time.time() - started:.0f}s")
    md.append("")
    md.append(fmt_table(rows, runs))
    md.append("")
    md.append("Ratio = scanned upload's seconds / max(unscanned upload's, clamd alone's), from the median "
              "runs; \"paired\" = median over repeats of the ratio within a repeat:")
    md.append("")
    md.extend(ratio_lines)
    md.append("")
    for title, lines in (("Where the time goes:", time_lines), ("CPU:", cpu_lines), ("Memory:", mem_lines)):
        if lines:
            md.extend([title, "", *lines, ""])
    rb.report_tail(
        md,
        [(f"Worker memory {title} (MiB; uss = pages only that process has):", mem)
         for title, mem in (("right after start, before any upload", memory_start),
                            ("at the end of the run", memory_end))],
        target_lines, bench.notes,
        [f"{r.kind} {size_label(r.size)} (repeat {r.rep + 1}): {r.error}" for r in failures],
        {**server_logs, "clamd": clamd_log[-1500:]},
    )
    rb.publish(md, args.out, write=not args.no_write)
    if failures:
        rc = rc or 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
