"""Scanning settings refuse what could only fail open later, and clamd addresses parse."""

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
