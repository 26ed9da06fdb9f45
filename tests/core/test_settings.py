"""Settings never fail open: unknown names, unusable values and settings that could only fail
later stop start-up with one line that names the setting; clamd addresses parse."""

from __future__ import annotations

import socket

import pytest

from airlock.config import Settings
from airlock.errors import ConfigError
from airlock.scan.clamd import Address


def test_scanning_without_clamd_stops_start_up() -> None:
    for mode in ("required", "optional"):
        with pytest.raises(ConfigError, match="needs AIRLOCK_CLAMD"):
            Settings.load({"AIRLOCK_SCAN": mode})


def test_an_unknown_mode_or_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="AIRLOCK_SCAN must be one of off, optional, required"):
        Settings.load({"AIRLOCK_SCAN": "yes"})
    for bad in ("clamd.sock", "unix://", "tcp://host", "http://host:3310", "tcp://h:1/x"):
        with pytest.raises(ConfigError, match="AIRLOCK_CLAMD"):
            Settings.load({"AIRLOCK_SCAN": "required", "AIRLOCK_CLAMD": bad})
    with pytest.raises(ConfigError, match="AIRLOCK_SCAN_TIMEOUT"):
        Settings.load({"AIRLOCK_SCAN": "off", "AIRLOCK_SCAN_TIMEOUT": "0"})


def test_off_is_the_default_and_needs_nothing() -> None:
    assert Settings.load({}).scan == "off"


def test_addresses() -> None:
    unix = Address.parse("unix:///run/clamav/clamd.ctl")
    assert (unix.family, unix.target, str(unix)) == (
        socket.AF_UNIX, "/run/clamav/clamd.ctl", "unix:///run/clamav/clamd.ctl")
    tcp = Address.parse("tcp://127.0.0.1:3310")
    assert (tcp.family, tcp.target) == (socket.AF_INET, ("127.0.0.1", 3310))
    assert Address.parse("tcp://[::1]:3310").family == socket.AF_INET6


def test_an_unknown_airlock_variable_stops_start_up_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load({"AIRLOCK_MAX_FILE_SIZ": "10MB"})
    assert "AIRLOCK_MAX_FILE_SIZ is not a setting" in str(caught.value)
    assert "Did you mean AIRLOCK_MAX_FILE_SIZE?" in str(caught.value)
    with pytest.raises(ConfigError, match="AIRLOCK_NOPE is not a setting of Airlock. The"):
        Settings.load({"AIRLOCK_NOPE": "1"})
    # The client's own variables are not the server's settings, and are not refused.
    Settings.load({"AIRLOCK_SERVER": "http://x", "AIRLOCK_TOKEN": "t", "AIRLOCK_UPLOAD_STATE": "s"})


def test_an_unusable_value_names_the_setting_and_what_it_accepts() -> None:
    cases = {
        "AIRLOCK_SESSION_LIFETIME": ("abc", "write a whole number"),
        "AIRLOCK_MAX_FILE_SIZE": ("lots", "is not a size"),
        "AIRLOCK_COOKIE_SECURE": ("maybe", "write true or false"),
    }
    for name, (value, accepts) in cases.items():
        with pytest.raises(ConfigError) as caught:
            Settings.load({name: value})
        message = str(caught.value)
        assert message.startswith(f"{name}={value!r} is not valid") and accepts in message
        assert "invalid literal" not in message and "\n" not in message


def test_allowlist_entries_must_be_types_airlock_detects() -> None:
    with pytest.raises(ConfigError, match="cannot detect: foo, pgn; known: "):
        Settings.load({"AIRLOCK_ALLOWED_TYPES": "png,pgn,foo"})
    assert Settings.load({"AIRLOCK_ALLOWED_TYPES": "png,PDF"}).allowed_types == ("pdf", "png")


def test_cors_origins_must_be_origins() -> None:
    for bad in ("app.example", "https://app.example/path", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="AIRLOCK_CORS_ORIGINS"):
            Settings.load({"AIRLOCK_CORS_ORIGINS": bad})
    ok = Settings.load({"AIRLOCK_CORS_ORIGINS": "https://a.example, http://b.example:8080/, *"})
    assert ok.cors_origins == ("https://a.example", "http://b.example:8080", "*")


def test_content_safety_settings_take_only_what_they_name() -> None:
    with pytest.raises(ConfigError, match="AIRLOCK_PDF_ACTIVE_CONTENT must be refuse or attachment"):
        Settings.load({"AIRLOCK_PDF_ACTIVE_CONTENT": "allow"})
    with pytest.raises(ConfigError, match="AIRLOCK_IMAGE_REENCODE='sometimes' is not valid"):
        Settings.load({"AIRLOCK_IMAGE_REENCODE": "sometimes"})
    defaults = Settings.load({})
    assert (defaults.pdf_active_content, defaults.image_reencode) == ("refuse", False)
