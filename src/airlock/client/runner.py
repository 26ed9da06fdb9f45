"""Many files in one run: up to ``parallel`` at once, each File's URL on stdout as it is done,
one line per failed file on stderr, and the exit status (0 all done, 1 any failed, 130 when
interrupted)."""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TextIO

from airlock.client.progress import Progress
from airlock.client.state import ResumeStore, default_state_path, fingerprint_file
from airlock.client.transport import Transport
from airlock.client.tus import TusClient
from airlock.client.upload import Cancelled, Failed, FileUpload, Job, Policy


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    server: str
    token: str
    public: bool = False
    chunk_size: int = 8 * 2**20
    parallel: int = 1
    expires_in: int | None = None  # seconds until the Files expire; None: never


def label(name: str) -> str:
    """``name`` safe to print on a terminal: undecodable bytes and control characters (escape
    sequences, bidi overrides) become ``?``."""
    text = name.encode("utf-8", "replace").decode("utf-8")
    return "".join("?" if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)


def run_uploads(
    paths: Sequence[str], options: Options, *, stdout: TextIO, stderr: TextIO,
    environ: Mapping[str, str], tty: bool | None = None,
) -> int:  # fmt: skip
    """Upload ``paths``; the exit status."""
    visibility = "public" if options.public else "private"
    failed = 0
    jobs: list[Job] = []
    seen: set[str] = set()
    for path in paths:
        name = os.path.basename(path)
        if os.path.realpath(path) in seen:
            continue
        seen.add(os.path.realpath(path))
        try:
            # Another lifetime is another upload, not a resume of the one before.
            kind = visibility + (f"/{options.expires_in}" if options.expires_in else "")
            key, st = fingerprint_file(options.server, path, kind)
        except OSError as exc:
            stderr.write(f"{label(name)}: cannot read the file: {exc.strerror or exc}\n")
            failed += 1
            continue
        jobs.append(Job(path, name, label(name), key, st.st_size, st.st_mtime_ns))

    progress = Progress(stderr, {job.key: (job.label, job.size) for job in jobs}, tty=tty)
    store = ResumeStore(default_state_path(environ), warn=progress.message)
    cancel = threading.Event()
    policy = Policy(chunk_size=options.chunk_size)

    def upload(job: Job) -> str:
        transport = Transport()
        try:
            client = TusClient(transport, options.server, options.token)
            url = FileUpload(client, job, visibility, store, progress, cancel, policy,
                             options.expires_in).run()  # fmt: skip
            return client.shown_url(url) if visibility == "public" else url
        finally:
            transport.close()

    pool = ThreadPoolExecutor(max_workers=options.parallel, thread_name_prefix="upload")
    try:
        futures: dict[Future[str], Job] = {pool.submit(upload, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                url = future.result()
            except Failed as exc:
                progress.finish(job.key, ok=False)
                progress.message(f"{job.label}: {exc.reason}")
                failed += 1
            except Cancelled:  # pragma: no cover - only after an interrupt, handled below
                continue
            except Exception as exc:
                progress.finish(job.key, ok=False)
                progress.message(f"{job.label}: unexpected error: {type(exc).__name__}: {exc}")
                failed += 1
            else:
                progress.finish(job.key, ok=True)
                progress.output(stdout, url)
    except KeyboardInterrupt:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
        stderr.write("interrupted: run the same command again to resume\n")
        return 130
    finally:
        pool.shutdown(wait=True)
    progress.close()
    if failed and len(seen) > 1:
        stderr.write(f"{failed} of {len(seen)} files failed\n")
    return 1 if failed else 0
