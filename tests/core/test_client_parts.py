"""The pure parts of ``airlock upload``: metadata, fingerprints, answers, backoff, progress."""

from __future__ import annotations

import base64
import io
import json
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlock.client.progress import Progress, format_bytes, format_eta, format_line, shorten
from airlock.client.runner import label
from airlock.client.state import ResumeStore, default_state_path, fingerprint
from airlock.client.transport import Reply
from airlock.client.tus import (
    Gone, OutOfSync, Refused, Transient, checksum_header, classify, encode_metadata, retry_after,
)  # fmt: skip
from airlock.client.upload import Policy, backoff


def reply(status: int, body: object = b"", **headers: str) -> Reply:
    msg = Message()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    assert isinstance(raw, bytes)
    return Reply(status, "Reason", msg, raw)


def error(code: str, message: str = "Nope.") -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": {}}}


# -- tus values ---------------------------------------------------------------------------------


@given(st.text())
def test_metadata_values_round_trip(name: str) -> None:
    header = encode_metadata({"filename": name, "visibility": "public"})
    pairs = dict(item.split(" ") for item in header.split(","))
    assert set(pairs) == {"filename", "visibility"}
    assert base64.b64decode(pairs["filename"]).decode() == name.encode("utf-8", "replace").decode()
    assert base64.b64decode(pairs["visibility"]) == b"public"


def test_checksum_header_is_algorithm_and_base64_digest() -> None:
    assert checksum_header(b"\x00" * 32) == "sha256 " + "A" * 43 + "="


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (reply(404, error("not_found")), Gone),
        (reply(410, error("gone")), Gone),
        (reply(409, error("conflict")), OutOfSync),
        (reply(460, error("checksum_mismatch")), OutOfSync),
        (reply(415, error("type_not_allowed")), Refused),
        (reply(401, error("unauthorized")), Refused),
        (reply(503, error("scanner_unavailable")), Refused),
        (reply(507, error("quota_exceeded")), Refused),
        (reply(500, error("internal_error")), Transient),
        (reply(502, b"<html>bad gateway</html>"), Transient),
        (reply(429, error("rate_limited"), Retry_After="7"), Transient),
        (reply(423), Transient),
        (reply(400, b"not json"), Refused),
    ],
)
def test_answers_are_classified(answer: Reply, kind: type) -> None:
    assert type(classify(answer)) is kind


def test_a_refusal_reads_message_then_code() -> None:
    refused = classify(reply(422, error("content_mismatch", "The extension lies.")))
    assert refused.reason == "The extension lies. (content_mismatch)"
    assert refused.code == "content_mismatch"
    assert classify(reply(418, b"")).reason == "HTTP 418 Reason (http_418)"


def test_retry_after_takes_seconds_only() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("100000") == 300.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after(None) is None
    transient = classify(reply(429, error("rate_limited"), Retry_After="2"))
    assert isinstance(transient, Transient) and transient.delay == 2.0


# -- resume state -------------------------------------------------------------------------------


def test_fingerprint_changes_with_everything_it_covers() -> None:
    base = ("http://h", "/a/b.zip", 10, 123, b"head", "private")
    key = fingerprint(*base)
    assert key == fingerprint("http://h/", *base[1:])  # a trailing slash is the same server
    for i, other in enumerate(("http://g", "/a/c.zip", 11, 124, b"heae", "public")):
        changed = list(base)
        changed[i] = other
        assert fingerprint(*changed) != key  # type: ignore[arg-type]
    # Only the first 64 KiB are hashed.
    assert fingerprint(*base[:4], b"x" * 65536 + b"a", base[5]) == fingerprint(
        *base[:4], b"x" * 65536 + b"b", base[5]
    )


def test_state_path_honours_override_then_xdg_then_home() -> None:
    assert default_state_path({"AIRLOCK_UPLOAD_STATE": "/s.json"}) == Path("/s.json")
    assert default_state_path({"XDG_CACHE_HOME": "/c"}) == Path("/c/airlock/uploads.json")
    assert default_state_path({}).parts[-3:] == (".cache", "airlock", "uploads.json")


def test_store_remembers_forgets_and_prunes(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = ResumeStore(tmp_path / "sub" / "uploads.json", clock=lambda: now[0])
    assert store.get("k") is None
    store.put("k", "http://h/api/v1/tus/1")
    assert store.get("k") == "http://h/api/v1/tus/1"
    assert (tmp_path / "sub" / "uploads.json").stat().st_mode & 0o777 == 0o600
    now[0] += 30 * 24 * 3600
    store.put("k2", "http://h/api/v1/tus/2")  # a month later the first entry is pruned
    assert store.get("k") is None and store.get("k2") == "http://h/api/v1/tus/2"
    store.drop("k2")
    assert json.loads((tmp_path / "sub" / "uploads.json").read_text()) == {}


def test_store_survives_a_garbled_file_and_warns_once_when_unwritable(tmp_path: Path) -> None:
    path = tmp_path / "uploads.json"
    path.write_text("{not json")
    assert ResumeStore(path).get("k") is None
    warnings: list[str] = []
    blocked = ResumeStore(tmp_path / "a-file" / "uploads.json", warn=warnings.append)
    (tmp_path / "a-file").write_text("in the way")
    blocked.put("k", "u")
    blocked.put("k", "u")
    assert len(warnings) == 1 and "cannot keep resume state" in warnings[0]


# -- backoff ------------------------------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_to_ten_with_jitter() -> None:
    policy = Policy()
    assert [backoff(n, policy, lambda: 1.0) for n in range(1, 8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0
    ]  # fmt: skip
    assert [backoff(n, policy, lambda: 0.0) for n in (1, 6)] == [0.25, 5.0]


# -- progress -----------------------------------------------------------------------------------


def test_formatting() -> None:
    # Decimal units, as the pages and the size settings use them.
    assert format_bytes(0) == "0 B" and format_bytes(999) == "999 B"
    assert format_bytes(1500) == "1.5 kB" and format_bytes(60 * 10**6) == "60.0 MB"
    assert format_eta(None) == "--:--" and format_eta(42) == "0:42"
    assert format_eta(3723) == "1:02:03"
    assert format_eta(float("nan")) == "--:--"
    line = format_line("a.zip", 10**6, 4 * 10**6, 10**6)
    assert line == "a.zip  1.0 MB / 4.0 MB   25%  1.0 MB/s  ETA 0:03"
    assert format_line("e", 0, 0, None, "done").endswith("100%  -- B/s  done")
    assert shorten("abcdefghij", 5) == "ab…ij" and shorten("abc", 5) == "abc"


def test_labels_cannot_drive_the_terminal() -> None:
    assert label("ok \u00e9.txt") == "ok \u00e9.txt"
    assert label("a\x1b[2Jb\u202e.txt\udcff") == "a?[2Jb?.txt?"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_off_a_terminal_prints_snapshots_every_interval_and_a_summary() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, {"a": ("a.zip", 1000), "b": ("b.txt", 10)}, tty=False,
                        interval=5.0, clock=clock)  # fmt: skip
    progress.start("a", 0)
    for step in range(1, 10):
        clock.now += 1.0
        progress.update("a", step * 100)
    lines = out.getvalue().splitlines()
    # Snapshots at t+5 (and not before): the file's line and the total line.
    assert len(lines) == 2, lines
    assert lines[0].startswith("a.zip ") and "500 B / 1.0 kB" in lines[0] and "100 B/s" in lines[0]
    assert "ETA 0:05" in lines[0] and lines[1].startswith("total (2 files)")
    progress.message("resuming b.txt at 3 bytes")
    progress.start("b", 3)
    progress.finish("b", ok=False)
    progress.update("a", 1000)
    progress.finish("a", ok=True)
    progress.close()
    tail = out.getvalue().splitlines()[2:]
    assert tail[0] == "resuming b.txt at 3 bytes"
    assert tail[1].startswith("a.zip ") and tail[1].endswith("done")
    assert tail[-1].startswith("total (2 files)") and tail[-1].endswith("1 done, 1 failed")
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_progress_on_a_terminal_redraws_in_place() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, {"a": ("a.zip", 100)}, tty=True, clock=clock)
    progress.start("a", 0)
    clock.now += 1.0
    progress.update("a", 50)
    progress.output(io.StringIO(), "http://x/api/v1/files/1")
    progress.finish("a", ok=True)
    progress.close()
    text = out.getvalue()
    assert "\x1b[1F\x1b[J" in text  # moved up over the block and cleared it
    assert text.endswith("done\n")  # nothing of the live block left behind
