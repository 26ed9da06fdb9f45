"""What every ``airlock`` command shares: its context object (settings, and the assembled
Airlock built on first use) and how an error becomes the command's failure."""

from __future__ import annotations

import os
from typing import Any

import click

from airlock.config import Settings
from airlock.errors import ConfigError


class Context:
    """Settings and, on first use, the assembled Airlock (built lazily: ``serve`` must set up
    multi-process metrics before anything imports the metrics library)."""

    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        self._state: Any = None

    def settings(self, **overrides: Any) -> Settings:
        try:
            return Settings.load(os.environ, data_dir=self.data_dir, **overrides)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    def state(self) -> Any:
        if self._state is None:
            from airlock.runtime import build_state

            settings = self.settings()
            fresh = not settings.data_dir.exists()
            try:
                self._state = build_state(settings)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
            if fresh:  # a command run from another directory must not go unnoticed
                click.echo(
                    f"Created a new data directory {settings.data_dir.resolve()} (another "
                    "one: --data-dir DIR or AIRLOCK_DATA_DIR).", err=True,
                )  # fmt: skip
        return self._state


def fail(exc: Exception) -> click.ClickException:
    """``exc`` as the command's failure: its message for people, exit status 1."""
    message = getattr(exc, "message", None) or str(exc)
    return click.ClickException(message)
