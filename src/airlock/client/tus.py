"""The tus 1.0.0 requests ``airlock upload`` makes, and what Airlock's answers to them mean.

``TusClient`` sends one request per call and turns the answer into a value or into one of the
exceptions below; what to do next (retry, resync, start over, give up) is ``upload``'s business.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from airlock import __version__
from airlock.client.transport import Reply, Transport, origin

TUS_VERSION = "1.0.0"
TUS_PATH = "/api/v1/tus/"
FILES_PATH = "/api/v1/files/"

# Error codes that end an upload for good. Anything else from a 5xx (internal_error, a proxy's
# 502) is worth another try. scanner_unavailable is final: Airlock fails closed and has deleted
# the upload by the time it says so.
FINAL_CODES = frozenset({
    "bad_request", "unauthorized", "forbidden", "method_not_allowed", "precondition_failed",
    "too_large", "type_not_allowed", "unsupported_media_type", "content_mismatch", "empty_file",
    "malware_detected", "unsafe_content", "scanner_unavailable", "quota_exceeded", "storage_full",
})  # fmt: skip


@dataclass(frozen=True)
class Finished:
    """The upload is a File now; ``url`` is the File's API URL."""

    url: str


class TusError(Exception):
    """Base of the answers that are not plain success; ``code`` is Airlock's error code when
    the answer carried one."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Gone(TusError):
    """The upload no longer exists on the server (404, 410): start a new one."""


class OutOfSync(TusError):
    """Our offset is not the server's (409), or the chunk arrived damaged (460): re-read the
    offset and send again."""


class Transient(TusError):
    """Try again later (5xx without a final code, 423, 429, a bad answer); ``delay`` is the
    server's ``Retry-After`` when it sent one."""

    def __init__(self, reason: str, code: str | None = None, delay: float | None = None) -> None:
        super().__init__(reason, code)
        self.delay = delay


class Refused(TusError):
    """The server said no for good: ``reason`` is ``"<message> (<code>)"``."""


def encode_metadata(pairs: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` value: ``key base64(utf-8 value)`` pairs joined by commas."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8', 'replace')).decode('ascii')}"
        for key, value in pairs.items()
    )


def checksum_header(digest: bytes) -> str:
    """The ``Upload-Checksum`` value for a SHA-256 ``digest`` of one chunk."""
    return "sha256 " + base64.b64encode(digest).decode("ascii")


def classify(reply: Reply) -> TusError:
    """What an unexpected answer means, as the exception to raise."""
    status = reply.status
    err = reply.error()
    code, message = err if err else (f"http_{status}", f"HTTP {status} {reply.reason}".strip())
    reason = f"{message} ({code})"
    if status in (404, 410):
        return Gone(reason, code)
    if status in (409, 460):
        return OutOfSync(reason, code)
    if err and code in FINAL_CODES:
        return Refused(reason, code)
    if status >= 500 or status in (423, 429):
        return Transient(reason, code, retry_after(reply.header("Retry-After")))
    return Refused(reason, code)


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delay-seconds form (dates are ignored)."""
    if value and value.strip().isdigit():
        return float(min(int(value.strip()), 300))
    return None


def parse_offset(value: str | None) -> int:
    """A byte offset header; ``Transient`` when missing or not a plain number."""
    if value is None or not value.isascii() or not value.isdigit():
        raise Transient(f"the server sent a bad offset ({value!r})")
    return int(value)


class TusClient:
    """Requests against one Airlock server, as one user."""

    def __init__(self, transport: Transport, server: str, token: str) -> None:
        self.transport = transport
        self.server = server.rstrip("/")
        self._headers = {
            "Tus-Resumable": TUS_VERSION,
            "Authorization": f"Bearer {token}",
            "User-Agent": f"airlock-upload/{__version__}",
        }

    @property
    def endpoint(self) -> str:
        return self.server + TUS_PATH

    def file_url(self, file_id: str) -> str:
        """The API URL of File ``file_id``."""
        return self.server + FILES_PATH + file_id

    def shown_url(self, file_url: str) -> str:
        """Where people read the File at ``file_url``: its public address when it is public
        (anyone may open it), else its API URL (for its owner)."""
        try:
            reply = self.transport.request("GET", file_url, self._headers)
            public = json.loads(reply.body)["links"].get("public") if reply.status == 200 else None
        except Exception:  # the File is stored: its API URL is a fine answer still
            public = None
        return urljoin(self.server + "/", public) if isinstance(public, str) else file_url

    def create(self, length: int, metadata: Mapping[str, str]) -> str | Finished:
        """``POST`` a new upload of ``length`` bytes; its URL (or, for zero bytes, the File)."""
        headers = {**self._headers, "Upload-Length": str(length), "Content-Length": "0",
                   "Upload-Metadata": encode_metadata(metadata)}  # fmt: skip
        reply = self.transport.request("POST", self.endpoint, headers)
        if reply.status == 404 and reply.error() is None:
            raise Refused(f"no tus endpoint at {self.endpoint} (is this an Airlock server?)")
        if reply.status not in (200, 201, 204):
            raise classify(reply)
        if file_id := reply.header("Upload-File-Id"):
            return Finished(self.file_url(file_id))
        location = reply.header("Location")
        if not location:
            raise Transient("the server created an upload but sent no Location")
        url = urljoin(self.endpoint, location)
        if origin(url) != origin(self.endpoint):
            # The bearer token goes to the server we were given, never to a host it names.
            raise Refused(f"the server put the upload on another host ({url}); not following")
        return url

    def head(self, url: str) -> tuple[int, int] | Finished:
        """``(offset, length)`` of the upload at ``url``, or the File it has become."""
        reply = self.transport.request("HEAD", url, self._headers)
        if reply.status in (301, 302, 303, 307, 308) and reply.header("Location"):
            return Finished(urljoin(url, reply.header("Location") or ""))
        if reply.status not in (200, 204):
            raise classify(reply)
        return parse_offset(reply.header("Upload-Offset")), parse_offset(
            reply.header("Upload-Length")
        )

    def patch(
        self, url: str, offset: int, length: int, body: Iterable[bytes | memoryview],
        digest: bytes, *, last: bool, on_sent: Callable[[int], None] | None = None,
    ) -> int | Finished:  # fmt: skip
        """Send ``length`` bytes of ``body`` at ``offset``; the server's new offset, or the File
        when this chunk completed the upload and it passed every check."""
        headers = {**self._headers, "Content-Type": "application/offset+octet-stream",
                   "Upload-Offset": str(offset), "Content-Length": str(length),
                   "Upload-Checksum": checksum_header(digest)}  # fmt: skip
        # The chunk with the last byte is answered only after every check, a malware scan of
        # the whole file included: give it time.
        reply = self.transport.request(
            "PATCH", url, headers, body, reply_timeout=600.0 if last else None, on_sent=on_sent
        )
        if reply.status not in (200, 204):
            raise classify(reply)
        if file_id := reply.header("Upload-File-Id"):
            return Finished(self.file_url(file_id))
        return parse_offset(reply.header("Upload-Offset"))
