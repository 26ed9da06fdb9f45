"""The Flask extension reads ``AIRLOCK_*`` keys of the host app's config with the same rules as
the environment: an unknown key or an unusable value stops ``init_app``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask

from airlock.errors import ConfigError
from airlock.ext import Airlock


def test_an_unknown_config_key_stops_init_app(tmp_path: Path) -> None:
    app = Flask("host")
    app.config.update(AIRLOCK_DATA_DIR=str(tmp_path / "d"), AIRLOCK_MAX_FILE_SIZ="10MB")
    with pytest.raises(ConfigError, match="Did you mean AIRLOCK_MAX_FILE_SIZE"):
        Airlock(app)
    assert "airlock" not in app.extensions


def test_values_from_app_config_may_be_python_values(tmp_path: Path) -> None:
    app = Flask("host")
    app.config.update(AIRLOCK_DATA_DIR=str(tmp_path / "d"), AIRLOCK_MAX_FILE_SIZE=10**6,
                      AIRLOCK_COOKIE_SECURE=True)  # fmt: skip
    Airlock(app)
    st = app.extensions["airlock"]
    assert st.settings.max_file_size == 10**6 and st.settings.cookie_secure is True
    other = Flask("other")
    other.config.update(AIRLOCK_DATA_DIR=str(tmp_path / "e"), AIRLOCK_SESSION_LIFETIME="a week")
    with pytest.raises(ConfigError, match="AIRLOCK_SESSION_LIFETIME='a week' is not valid"):
        Airlock(other)


def test_the_data_dir_and_its_database_are_private(tmp_path: Path) -> None:
    app = Flask("host")
    app.config.update(AIRLOCK_DATA_DIR=str(tmp_path / "private"))
    Airlock(app)
    root = tmp_path / "private"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "airlock.db").stat().st_mode) == 0o600
