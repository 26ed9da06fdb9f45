"""The ``airlock upload`` click command. Only ``click`` is imported up front: the client itself
loads when the command runs, so registering it costs the other commands nothing."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import click

DEFAULT_SERVER = "http://127.0.0.1:8000"


def _server(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise click.BadParameter(f"{value!r} is not a server URL like https://files.example.com")
    return value.strip().rstrip("/")


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().lower()
    number, unit = text.rstrip("smhdw"), text[len(text.rstrip("smhdw")):]
    if not number.isdigit() or unit not in _DURATION_UNITS or int(number) < 1:
        raise click.BadParameter("a whole number of seconds, or with m, h, d or w (90m, 7d)")
    return int(number) * _DURATION_UNITS[unit]


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from airlock.config import parse_size
    from airlock.errors import ConfigError

    try:
        size = parse_size(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    if size < 1:
        raise click.BadParameter("must be at least 1 byte")
    return size


@click.command("upload")
@click.argument(
    "files", nargs=-1, required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True),
)  # fmt: skip
@click.option(
    "--server", envvar="AIRLOCK_SERVER", default=DEFAULT_SERVER, show_default=True,
    callback=_server, help="Airlock server URL (or $AIRLOCK_SERVER).",
)  # fmt: skip
@click.option(
    "--token", envvar="AIRLOCK_TOKEN", default=None, show_default=False,
    help="API token (or $AIRLOCK_TOKEN, which keeps it out of the process list).",
)  # fmt: skip
@click.option("--public", is_flag=True, help="Make the Files public (default: private).")
@click.option(
    "--expires", default=None, callback=_duration, metavar="DURATION",
    help="Delete the Files after this long: 3600, 90m, 12h, 7d or 2w (default: keep them).",
)  # fmt: skip
@click.option(
    "--chunk-size", default="8MiB", show_default=True, callback=_size,
    help="Bytes per request, e.g. 8MB or 16MiB.",
)  # fmt: skip
@click.option(
    "--parallel", default=1, show_default=True, type=click.IntRange(1, 64),
    help="Files uploaded at once.",
)  # fmt: skip
def upload_command(
    files: tuple[str, ...], server: str, token: str | None, public: bool, expires: int | None,
    chunk_size: int, parallel: int,
) -> None:  # fmt: skip
    """Upload FILEs (resumable, tus) and print each File's URL.

    An interrupted run picks up where it stopped when started again with the same files.
    Exit status: 0 all uploaded, 1 some failed (one line each on stderr), 2 usage error.
    """
    if not token or not token.strip():
        raise click.UsageError(
            "no API token: pass --token or set AIRLOCK_TOKEN "
            "(make one with `airlock token create NAME` on the server)"
        )
    from airlock.client.runner import Options, run_uploads

    options = Options(server, token.strip(), public, chunk_size, parallel, expires)
    code = run_uploads(files, options, stdout=sys.stdout, stderr=sys.stderr, environ=os.environ)
    sys.exit(code)
