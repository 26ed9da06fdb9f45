"""Display-name sanitising: properties over arbitrary text, and the known tricks."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlock.core.names import MAX_NAME_BYTES, extension, sanitize_name


@given(st.text())
def test_sanitized_names_hold_no_separators_or_controls(raw: str) -> None:
    name = sanitize_name(raw)
    assert name
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)
    assert not name.startswith(".")
    assert name not in (".", "..")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@given(st.text())
def test_sanitizing_is_idempotent(raw: str) -> None:
    once = sanitize_name(raw)
    assert sanitize_name(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("фото.jpg", "фото.jpg"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/etc/shadow.txt", "shadow.txt"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("evil\x00.txt", "evil.txt"),
        ("a\r\nContent-Type: text/html.txt", "a Content-Type: text/html.txt".split("/")[-1]),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        (".htaccess", "htaccess"),
        ("...", "file"),
        ("", "file"),
        ("   ", "file"),
        ("name. ", "name"),
    ],
)
def test_known_tricks(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = sanitize_name("я" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.startswith("я")


@pytest.mark.parametrize(
    ("name", "ext"), [("a.PnG", "png"), ("a.tar.gz", "gz"), ("noext", ""), ("a.", "")]
)
def test_extension(name: str, ext: str) -> None:
    assert extension(name) == ext


@given(st.text())
def test_no_name_becomes_a_path_or_a_dot_name_under_nfkc(raw: str) -> None:
    folded = unicodedata.normalize("NFKC", sanitize_name(raw))
    assert "/" not in folded and "\\" not in folded
    assert not folded.startswith(".")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\uff0e\uff0e\uff0fetc\uff0fpasswd.txt", "passwd.txt"),  # fullwidth ../etc/passwd
        ("\uff0ebashrc.txt", "bashrc.txt"),  # fullwidth full stop: a dot-name
        ("a\uff3cb.txt", "b.txt"),  # fullwidth reverse solidus
        ("\u2025\uff0fx.txt", "x.txt"),  # two-dot leader
        ("\uff21\uff22.txt", "\uff21\uff22.txt"),  # fullwidth letters are only letters
    ],
)
def test_fullwidth_path_tricks_are_neutralised_like_their_ascii_twins(raw: str,
                                                                       expected: str) -> None:
    assert sanitize_name(raw) == expected
