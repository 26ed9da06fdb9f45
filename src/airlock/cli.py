"""The ``airlock`` command line.

Every command takes the data directory from ``--data-dir`` or ``AIRLOCK_DATA_DIR`` (default
``./airlock-data``) and any setting from ``AIRLOCK_<SETTING>``; any command creates the data
directory and database when they are missing.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from typing import Any

import click

from airlock.cli_accounts import token, user
from airlock.cli_context import Context
from airlock.cli_context import fail as _fail
from airlock.config import Settings, parse_size
from airlock.errors import ConfigError


@click.group()
@click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Data directory (default: $AIRLOCK_DATA_DIR or ./airlock-data).",
)  # fmt: skip
@click.version_option(package_name="airlock")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None) -> None:
    """Airlock: secure, fast file upload and file serving."""
    ctx.obj = Context(data_dir)


main.add_command(user)
main.add_command(token)




@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--workers", default=max(2, os.cpu_count() or 1), show_default="cores, at least 2", type=int,
    help="Worker processes.",
)  # fmt: skip
@click.option("--threads", default=32, show_default=True, type=int,
              help="Threads per worker (each serves one request at a time).")
@click.pass_obj
def serve(obj: Context, host: str, port: int, workers: int, threads: int) -> None:
    """Run the production server."""
    from airlock import metricsdir
    from airlock.server import run

    settings = obj.settings()  # a setting it cannot use is said first
    _check_port(host, port)
    metrics = metricsdir.prepare(settings)
    try:
        # Set-up runs in a short-lived child: what it loads (Alembic, libmagic, SQLAlchemy)
        # would otherwise sit in the server's master process and in every forked worker.
        facts = run_in_child(lambda: _prepare(settings))
    except Exception as exc:  # a database that cannot be reached, a data dir we cannot write
        metricsdir.remove(metrics)
        raise click.ClickException(f"cannot start: {exc}") from None
    data_dir = settings.data_dir.resolve()
    if facts["first_run"]:
        click.echo(f"Created the data directory {data_dir}", err=True)
    click.echo(f"Data directory: {data_dir}", err=True)
    click.echo(f"Database: {facts['database']}", err=True)
    if facts["users"] == 0:
        click.echo(
            "No user exists yet. Create the first (admin) user with:\n"
            f"  {command_name()} --data-dir {shlex.quote(str(data_dir))} user add admin --admin",
            err=True,
        )
    click.echo(f"Serving on http://{host}:{port}/ with {workers} workers", err=True)
    sweep_in_background(settings)
    run(settings, host, port, workers, threads)


def _check_port(host: str, port: int) -> None:
    """One clear line, before anything starts, when the address is taken (rather than the
    start-up banner and a screenful of the server's own errors)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is in use; try another with --port"
                ) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def command_name() -> str:
    """How to run this ``airlock`` again from any directory: ``airlock`` when that is the
    one on the PATH, else its full path (or ``python -m airlock``)."""
    argv0 = sys.argv[0] if sys.argv else "airlock"
    if argv0.endswith("__main__.py"):
        return f"{shlex.quote(sys.executable)} -m airlock"
    found = shutil.which("airlock")
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "airlock"
    return shlex.quote(os.path.abspath(argv0)) if os.sep in argv0 else "airlock"


def sweep_in_background(settings: Settings) -> None:
    """Remove what crashed requests of earlier runs left (``gc.sweep_leftovers``), in a child
    that the server does not wait for: serving starts at once, and a large store's listing
    takes what it takes. The server's arbiter reaps the child."""
    if os.fork() != 0:
        return
    try:  # pragma: no cover - runs in the child
        from airlock.gc import sweep_leftovers
        from airlock.runtime import build_state

        staged, stored = sweep_leftovers(build_state(settings))
        print(json.dumps({"event": "startup_sweep", "staging_removed": staged,
                          "orphans_removed": stored}), file=sys.stderr, flush=True)  # fmt: skip
    except BaseException as exc:  # pragma: no cover - gc retries what this could not do
        print(json.dumps({"event": "startup_sweep", "error": str(exc) or type(exc).__name__}),
              file=sys.stderr, flush=True)  # fmt: skip
    finally:
        os._exit(0)


def _prepare(settings: Settings) -> dict[str, Any]:
    """First-run work before serving: data dir, database schema, secret key."""
    from airlock.app import read_secret_key
    from airlock.runtime import build_state

    first_run = not (settings.data_dir / "secret_key").exists()
    state = build_state(settings)
    read_secret_key(settings)
    facts = {
        "first_run": first_run,
        "users": state.accounts.count_users(),
        "database": state.db.engine.url.render_as_string(hide_password=True),
    }
    state.db.dispose()
    return facts


def run_in_child(func: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``func`` in a forked child and return its (JSON-able) result; its error re-raised
    here as ``RuntimeError`` with the child's message."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        try:
            payload: dict[str, Any] = {"ok": func()}
        except BaseException as exc:
            payload = {"error": getattr(exc, "message", None) or str(exc) or type(exc).__name__}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(payload))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as inp:
        raw = inp.read()
    os.waitpid(pid, 0)
    payload = json.loads(raw or '{"error": "set-up process died"}')
    if "error" in payload:
        raise RuntimeError(payload["error"])
    return payload["ok"]  # type: ignore[no-any-return]


@main.command()
@click.pass_obj
def gc(obj: Context) -> None:
    """Remove expired Files, abandoned uploads and orphaned bytes."""
    from airlock.gc import collect

    for line in collect(obj.state()).lines():
        click.echo(line)


@main.command()
@click.option("--since", help="only Files stored at or after this time (RFC 3339, or a date)")
@click.option("--rate", default="50MB", show_default=True,
              help="read at most this many bytes per second (0: no limit)")  # fmt: skip
@click.pass_obj
def rescan(obj: Context, since: str | None, rate: str) -> None:
    """Scan stored Files again; quarantine those the scanner now flags."""
    from airlock.core.timefmt import parse_rfc3339
    from airlock.errors import BadRequest
    from airlock.rescan import rescan as run_rescan
    from airlock.service import utcnow

    try:
        start = None if since is None else parse_rfc3339(
            since if "T" in since else since + "T00:00:00Z"
        )
        limit = parse_size(rate)
    except (BadRequest, ConfigError) as exc:
        raise click.UsageError(str(getattr(exc, "message", exc))) from None
    report = run_rescan(obj.state(), start, limit, clock=utcnow)
    for line in report.lines():
        click.echo(line)
    if report.failed:
        raise SystemExit(1)


@main.group()
def quarantine() -> None:
    """Files a rescan quarantined: list them, release false positives."""


@quarantine.command("list")
@click.pass_obj
def quarantine_list(obj: Context) -> None:
    """List quarantined Files, most recently quarantined first: one a line, tab-separated
    (id, quarantined at, owner, signature, name)."""
    from airlock.core.timefmt import rfc3339

    admin = obj.state().admin
    count, cursor = 0, None
    while True:
        page, cursor = admin.quarantined(500, cursor)
        for f in page:
            click.echo("\t".join((f.id, rfc3339(f.quarantined_at) or "", f.owner,
                                  f.quarantine_reason or "", f.name)))  # fmt: skip
        count += len(page)
        if cursor is None:
            break
    click.echo(f"{count} quarantined file{'' if count == 1 else 's'}", err=True)


@quarantine.command("release")
@click.argument("file_id")
@click.pass_obj
def quarantine_release(obj: Context, file_id: str) -> None:
    """Release quarantined File FILE_ID (a false positive): its bytes are served again."""
    from airlock.errors import AirlockError

    try:
        record, signature = obj.state().admin.release_by(_operator(), file_id, via="cli")
    except AirlockError as exc:
        raise _fail(exc) from None
    click.echo(f"released {record.id} {record.name!r}: {signature}")


def _operator() -> str:
    """Who runs this command, for the log: the login name, else the uid."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry and no LOGNAME/USER
        return f"uid {os.getuid()}"


@main.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Check configuration, database, storage and scanner; say what is wrong."""
    from airlock.checks import run_checks

    problems = 0
    for name, ok, message in run_checks(obj.data_dir):
        click.echo(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
        problems += 0 if ok else 1
    if problems:
        raise SystemExit(1)


# At the bottom, and light: the client package loads when `airlock upload` runs, not before.
from airlock.client.command import upload_command  # noqa: E402

main.add_command(upload_command)
