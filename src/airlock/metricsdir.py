"""Where the workers' metrics live under ``airlock serve``: prometheus_client's multiprocess
files, one set per worker, summed when scraped.

prometheus_client writes them through ``mmap``. A page of a sparse file that the filesystem
cannot find a block for is not an error but ``SIGBUS``: on a full data disk every worker died
on its first metric, and so did every replacement. So the files live off the data disk (in
``/dev/shm``, memory, when it is there), and each worker's are allocated in full before it
serves (``posix_fallocate``): no later write needs a new block, wherever they are. A worker
whose files cannot be allocated keeps its metrics to itself (they are missing from the scrape,
which the log says) rather than risk the signal.

Each ``airlock serve`` has a directory of its own, named with its process id; one left behind
by a server that is gone (killed, say) is removed when the next one starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from airlock import datadir
from airlock.config import Settings
from airlock.procs import alive

log = logging.getLogger("airlock.metrics")

ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "airlock-metrics-"
# prometheus_client's files per worker: one per kind of metric Airlock has (metrics.py).
KINDS = ("counter", "histogram")
# A worker's file of each kind; prometheus_client grows one (sparse again) only past this.
# Airlock's label values are bounded (routes, statuses, outcomes), so it does not get there.
FILE_SIZE = 1 << 20
SHM = Path("/dev/shm")


def prepare(settings: Settings) -> Path:
    """Create this server's metrics directory and point prometheus_client at it. Must run
    before anything imports prometheus_client: it picks its value store once, at import."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the metrics dir was set")
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        base = SHM
    else:
        base = datadir.prepare(settings.data_dir) / "run"
        base.mkdir(mode=0o700, exist_ok=True)
    sweep(base)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    os.environ[ENV] = str(path)
    return path


def sweep(base: Path) -> None:
    """Remove the metrics directories in ``base`` of servers that are no longer running."""
    for entry in base.glob(f"{PREFIX}*"):
        pid = entry.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def remove(path: Path) -> None:
    """Remove this server's metrics directory (at its end)."""
    shutil.rmtree(path, ignore_errors=True)


def reserve(pid: int) -> None:
    """Allocate worker ``pid``'s metrics files in full, in a freshly forked worker (before
    prometheus_client is imported there). If that fails, the worker records its metrics in
    memory only."""
    root = os.environ.get(ENV)
    if not root:
        return
    try:
        for kind in KINDS:
            fd = os.open(os.path.join(root, f"{kind}_{pid}.db"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, FILE_SIZE)
            finally:
                os.close(fd)
    except OSError as exc:
        del os.environ[ENV]
        log.warning("worker %d keeps its metrics to itself: cannot allocate them in %s (%s)",
                    pid, root, exc.strerror)  # fmt: skip
        for kind in KINDS:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(root, f"{kind}_{pid}.db"))
