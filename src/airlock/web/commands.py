"""``flask airlock …``: the maintenance commands of ``airlock`` (``gc``, ``rescan``), run with
the host app's Airlock, so that they reach the storages its upload sets registered (which
the ``airlock`` command, knowing only the environment, cannot)."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from airlock import cli


class _HostState:
    """What ``airlock``'s commands ask of their context object, from the current app."""

    def __init__(self, st: Any) -> None:
        self._state = st

    def state(self) -> Any:
        return self._state


@click.group("airlock")
@with_appcontext
@click.pass_context
def host_commands(ctx: click.Context) -> None:
    """Airlock's maintenance, with this app's settings and upload sets."""
    ctx.obj = _HostState(current_app.extensions["airlock"])


host_commands.add_command(cli.gc)
host_commands.add_command(cli.rescan)
