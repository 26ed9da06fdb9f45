"""``airlock serve``: Airlock under gunicorn's threaded workers.

Why gthread: its main loop keeps telling the arbiter it is alive while request threads run, so a
slow 1 GiB upload is never killed by the worker timeout (sync workers would be); gunicorn hands
chunked bodies to the app (``wsgi.input_terminated``) and sends files with sendfile().
The worker is ``airlock.worker.AirlockWorker``: gthread, with gunicorn's own error answers
(a request line too long, headers it cannot parse) in API.md's JSON envelope.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from airlock import metricsdir, worker
from airlock.config import Settings
from airlock.worker import AirlockWorker


class AirlockServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application that builds ``create_app(settings)`` in every worker."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        logging.basicConfig(
            level=self.settings.log_level.upper(), stream=sys.stderr, format="%(message)s"
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from airlock.app import create_app

        return create_app(self.settings)


_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _post_fork(_server: Any, _worker: Any) -> None:
    """In a new worker: allocate its metrics files (``metricsdir.reserve``), and cap glibc's
    malloc arenas at two. Every request and hashing thread would otherwise get an arena of its
    own, each keeping freed 1 MiB chunk buffers, and a worker's memory creeps up with the
    number of threads that ever ran."""
    metricsdir.reserve(os.getpid())
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        libc.mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass


def _on_exit(_server: Any) -> None:
    root = os.environ.get(metricsdir.ENV)
    if root:
        metricsdir.remove(Path(root))


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def run(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped (call ``metricsdir.prepare`` first; its directory is removed when
    the server stops)."""
    worker.HEADER_TIMEOUT = float(settings.header_timeout)  # inherited by the forked workers
    worker_tmp = "/dev/shm" if Path("/dev/shm").is_dir() else None
    options: dict[str, Any] = {
        "bind": f"{host}:{port}" if ":" not in host else f"[{host}]:{port}",
        "workers": workers,
        # By name: gunicorn's start-up line ("Using worker: ...") shows a class object as None.
        "worker_class": f"{AirlockWorker.__module__}.{AirlockWorker.__qualname__}",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 30,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "child_exit": _child_exit,
        "on_exit": _on_exit,
        "post_fork": _post_fork,
        "proc_name": "airlock",
        # gunicorn's control socket lives at one fixed path per user: two servers would fight.
        "control_socket_disable": True,
    }
    if worker_tmp:
        options["worker_tmp_dir"] = worker_tmp
    AirlockServer(settings, options).run()
