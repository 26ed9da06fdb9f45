"""``airlock check``: each part Airlock needs, checked in turn and explained in plain words."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

from airlock import datadir
from airlock.config import Settings
from airlock.errors import ConfigError

Check = tuple[str, bool, str]


def run_checks(data_dir: str | None) -> Iterator[Check]:
    """Yield ``(part, ok, message)`` for configuration, data directory, database, storage and
    scanner. Stops early when a later check could only fail for the same reason."""
    try:
        settings = Settings.load(os.environ, data_dir=data_dir)
    except ConfigError as exc:
        yield "config", False, str(exc)
        return
    yield "config", True, (
        f"max file size {settings.max_file_size} bytes, allowed types "
        f"{', '.join(settings.allowed_types)}"
    )
    try:
        root = datadir.prepare(settings.data_dir, sqlite=not settings.database_url)
        probe = root / f".check-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        yield "data directory", False, (
            f"{root} is not writable ({exc.strerror}); fix its owner or permissions"
        )
        return
    wide = datadir.widened(root)
    if wide:
        yield "data directory", False, (
            f"readable by other local users: {'; '.join(wide)}; chmod them (0700 for the "
            "directory, 0600 for the files)"
        )
        return
    free = shutil.disk_usage(root).free
    low = free < 2 * settings.max_file_size
    yield "data directory", not low, (
        f"{root}, {free // 2**20} MiB free"
        + ("; that is less than two of the largest uploads, free some space" if low else "")
    )

    from airlock.db.engine import Database

    db = Database(settings.database)
    shown = db.engine.url.render_as_string(hide_password=True)
    try:
        db.ping()
    except Exception as exc:
        yield "database", False, (
            f"cannot connect to {shown}: {type(exc).__name__}; is the server running and the "
            "URL right?"
        )
        return
    try:
        db.migrate(lock_dir=root)
        yield "database", True, f"{shown}, schema at revision {db.current_revision()}"
    except Exception as exc:
        yield "database", False, (
            f"{shown} answers but its schema cannot be brought up to date: {exc}"
        )
        return
    finally:
        db.dispose()

    from airlock.runtime import build_storage
    from airlock.storage.capabilities import Capabilities
    from airlock.storage.conformance import check_staging, check_storage

    storage = build_storage(settings)
    caps = Capabilities.of(storage)
    prober = caps.probe
    where = prober.describe() if prober is not None else type(storage).__name__
    try:
        if prober is not None:
            prober.probe()
        rules = check_storage(storage)
        if caps.stager is not None:  # uploads stage in the store itself: check that too
            rules += check_staging(caps.stager.staging(), storage)
        yield "storage", True, f"{where}; {len(rules)} conformance rules pass"
    except Exception as exc:  # whatever the store answers (a refusal, a timeout) is reported
        yield "storage", False, f"{where} failed: {_reason(exc)}"

    yield _scanner(settings)


def _scanner(settings: Settings) -> tuple[str, bool, str]:
    """clamd answers, and with which engine and signatures; a failure fails the check only
    when scanning is required."""
    from airlock.runtime import build_scanning
    from airlock.scan.clamd import ClamdError

    scanning = build_scanning(settings)
    if scanning is None or scanning.clamd is None:
        return "scanner", True, "scanning is off (AIRLOCK_SCAN=off): uploads are not scanned"
    clamd = scanning.clamd
    try:
        clamd.ping()
        version = clamd.version()
    except ClamdError as exc:
        if scanning.mode == "required":
            return "scanner", False, f"{exc}; with AIRLOCK_SCAN=required every upload is refused"
        return "scanner", True, f"{exc}; AIRLOCK_SCAN=optional: uploads are stored unscanned"
    engine, _, signatures = version.partition("/")
    sigs = signatures.replace("/", " of ") if signatures else "no daily signature version"
    where = f"clamd at {clamd.address}"
    return "scanner", True, f"{where}: {engine}, signatures {sigs} ({scanning.mode} scanning)"


def _reason(exc: BaseException) -> str:
    """What went wrong, in words: the store's own complaint when there is one."""
    cause = exc.__cause__
    text = str(exc) or type(exc).__name__
    if cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return text
