"""Settings: one frozen dataclass, filled from defaults < ``AIRLOCK_*`` environment < flags.

Field ``max_file_size`` is env ``AIRLOCK_MAX_FILE_SIZE`` is flag ``--max-file-size``,
mechanically. Bad values and bad combinations raise ``ConfigError`` at start-up with a message
that says what to do, never on the first request.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airlock.core import filetypes
from airlock.errors import ConfigError

DEFAULT_ALLOWED_TYPES = (
    "png", "jpg", "jpeg", "gif", "webp", "pdf", "txt", "csv", "md", "json", "zip",
    "docx", "xlsx", "pptx", "odt", "ods", "mp3", "mp4", "webm",
)  # fmt: skip

SCAN_MODES = ("off", "optional", "required")
PDF_ACTIVE_CONTENT = ("refuse", "attachment")
# ``AIRLOCK_*`` variables that are not settings of the server: read by ``airlock upload`` (the
# client) and by scripts/setup. Any other unknown ``AIRLOCK_*`` name is refused: a typo must
# not leave a limit silently at its default.
NOT_SETTINGS = frozenset({"AIRLOCK_SERVER", "AIRLOCK_TOKEN", "AIRLOCK_UPLOAD_STATE",
                          "AIRLOCK_EXTRAS"})  # fmt: skip

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """Bytes from ``"100MB"`` (10**6), ``"1GiB"``/``"1G"`` (2**30) or a plain number."""
    if isinstance(text, int):
        return text
    m = _SIZE_RE.match(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ConfigError(f"{text!r} is not a size; write bytes or e.g. 100MB, 2GiB, 512K.")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _parse_int(value: str | int) -> int:
    if isinstance(value, bool):
        raise ValueError("write a whole number")
    if isinstance(value, int):
        return value
    text = value.strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError("write a whole number (of seconds, or a count)")
    return int(text)


def _parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("write true or false")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of Airlock. See the README's settings table for what each one does."""

    data_dir: Path = Path("airlock-data")
    database_url: str = ""  # empty: SQLite at DATA_DIR/airlock.db
    max_file_size: int = 100 * 10**6
    max_request_size: int = 0  # 0: max(1 GB, max_file_size + 1 MiB)
    max_parts: int = 100
    max_part_header_size: int = 16 * 1024
    max_field_size: int = 64 * 1024
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    max_image_pixels: int = 100_000_000
    image_reencode: bool = False  # rewrite accepted raster images, dropping metadata and tails
    pdf_active_content: str = "refuse"  # refuse, or attachment: stored, never shown inline
    default_quota: int = 0  # 0: no quota for users created without --quota
    staging_max_age: int = 24 * 3600  # seconds an unfinished upload's bytes are kept
    max_link_lifetime: int = 365 * 24 * 3600  # 0: no longest; links may then never expire
    cors_origins: tuple[str, ...] = ()  # origins allowed to use the tus endpoint from a browser
    session_lifetime: int = 7 * 24 * 3600  # seconds a browser sign-in lasts
    login_attempts: int = 10  # failed sign-ins per user name per 15 minutes (5x per address)
    drop_uploads_per_address: int = 100  # uploads per client address per drop link, 15 minutes
    cookie_secure: bool = False  # mark the session cookie Secure even on plain-HTTP requests
    header_timeout: int = 20  # seconds a client may take to send a request's headers
    body_timeout: int = 20  # seconds a body may take, plus one per BODY_MIN_RATE bytes received
    body_min_rate: int = 500  # bytes per second a body must keep up, on average, past that
    max_uploads_per_user: int = 8  # upload bodies arriving at once per account (0: no cap)
    max_uploads_per_address: int = 32  # and per client address, per instance
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-For/-Proto are believed
    log_level: str = "INFO"
    storage: str = "local"  # local: files under DATA_DIR/files; s3: an S3-compatible bucket
    s3_endpoint: str = ""  # empty: AWS's own endpoint for the region
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty: the standard AWS credential chain
    s3_secret_access_key: str = dataclasses.field(default="", repr=False)
    s3_public_endpoint: str = ""  # where browsers reach the store for direct uploads
    s3_content_origin: str = ""  # set: downloads redirect to presigned URLs on this origin
    direct_uploads: bool = False  # the web UI uploads straight to the store (S3 only)
    presign_lifetime: int = 3600  # seconds a direct upload's presigned POST stays valid
    scan: str = "off"  # off, optional (skipped when clamd is away) or required (fail closed)
    clamd: str = ""  # unix:///path/to/clamd.sock or tcp://host:port
    scan_timeout: int = 120  # seconds clamd may take to take bytes or to answer (it scans
    # only once the last byte is in: about 10 s per GiB of text on one core, more for archives)

    # Fields that take sizes with unit suffixes.
    _SIZES = ("max_file_size", "max_request_size", "max_part_header_size", "max_field_size",
              "default_quota")  # fmt: skip

    @property
    def request_limit(self) -> int:
        """The per-request body limit in force."""
        return self.max_request_size or max(10**9, self.max_file_size + 2**20)

    @property
    def database(self) -> str:
        """The SQLAlchemy URL in force."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'airlock.db'}"

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Settings from the environment (``AIRLOCK_*``), then ``overrides`` (flags) on top."""
        environ = environ if environ is not None else {}
        cls._refuse_unknown(environ)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get("AIRLOCK_" + field.name.upper())
            if raw is not None and raw != "":
                values[field.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        settings = cls(**{k: cls._coerce(k, v) for k, v in values.items()})
        settings.validate()
        return settings

    @classmethod
    def _refuse_unknown(cls, environ: Mapping[str, Any]) -> None:
        known = {"AIRLOCK_" + f.name.upper() for f in dataclasses.fields(cls)}
        for key in sorted(environ):
            if key.startswith("AIRLOCK_") and key not in known and key not in NOT_SETTINGS:
                names = sorted(k.removeprefix("AIRLOCK_") for k in known)
                close = difflib.get_close_matches(key.removeprefix("AIRLOCK_"), names, n=1,
                                                  cutoff=0.75)  # fmt: skip
                hint = f" Did you mean AIRLOCK_{close[0]}?" if close else ""
                raise ConfigError(
                    f"{key} is not a setting of Airlock.{hint} The settings are listed in the "
                    "README; remove it or correct its name."
                )

    @classmethod
    def _coerce(cls, name: str, value: Any) -> Any:
        try:
            if name in cls._SIZES:
                try:
                    return parse_size(value)
                except ConfigError as exc:
                    raise ValueError(str(exc).rstrip(".")) from None
            if name == "data_dir":
                return Path(value)
            if name == "allowed_types":
                items = value.split(",") if isinstance(value, str) else value
                return tuple(sorted({i.strip().lower().lstrip(".") for i in items if i.strip()}))
            if name == "cors_origins":
                items = value.split(",") if isinstance(value, str) else value
                return tuple(i.strip().rstrip("/") for i in items if i.strip())
            default = {f.name: f.default for f in dataclasses.fields(cls)}[name]
            if isinstance(default, bool):
                return _parse_bool(value)
            if isinstance(default, int):
                return _parse_int(value)
            return str(value)
        except ValueError as exc:
            raise ConfigError(f"AIRLOCK_{name.upper()}={value!r} is not valid: {exc}.") from None

    def validate(self) -> None:
        """Refuse combinations that could only fail later."""
        if self.max_file_size <= 0:
            raise ConfigError("AIRLOCK_MAX_FILE_SIZE must be positive (e.g. 100MB).")
        if self.max_request_size and self.max_request_size < self.max_file_size:
            raise ConfigError(
                "AIRLOCK_MAX_REQUEST_SIZE is smaller than AIRLOCK_MAX_FILE_SIZE, so no file of the "
                "largest allowed size could be sent; raise it or leave it unset."
            )
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError(
                "AIRLOCK_TRUSTED_PROXIES is how many proxies stand in front (0 to 5)."
            )
        for name in ("header_timeout", "body_timeout"):
            if not 1 <= getattr(self, name) <= 3600:
                raise ConfigError(f"AIRLOCK_{name.upper()} is in seconds, from 1 to 3600.")
        for name in ("max_uploads_per_user", "max_uploads_per_address"):
            if not 0 <= getattr(self, name) <= 10_000:
                raise ConfigError(f"AIRLOCK_{name.upper()} is a count from 0 (no cap) to 10000.")
        if not 1 <= self.body_min_rate <= 10**9:
            raise ConfigError("AIRLOCK_BODY_MIN_RATE is in bytes per second, at least 1.")
        if self.max_link_lifetime < 0:
            raise ConfigError(
                "AIRLOCK_MAX_LINK_LIFETIME is in seconds (0: no longest lifetime, and links "
                "may never expire)."
            )
        if self.drop_uploads_per_address < 1:
            raise ConfigError("AIRLOCK_DROP_UPLOADS_PER_ADDRESS must be at least 1.")
        if self.login_attempts < 1:
            raise ConfigError("AIRLOCK_LOGIN_ATTEMPTS must be at least 1.")
        if self.session_lifetime < 60:
            raise ConfigError("AIRLOCK_SESSION_LIFETIME is in seconds and must be at least 60.")
        if self.max_parts < 1:
            raise ConfigError("AIRLOCK_MAX_PARTS must be at least 1.")
        if not self.allowed_types:
            raise ConfigError("AIRLOCK_ALLOWED_TYPES is empty: no upload could ever be accepted.")
        bad = [t for t in self.allowed_types if not re.fullmatch(r"[a-z0-9]{1,16}", t)]
        if bad:
            raise ConfigError(f"AIRLOCK_ALLOWED_TYPES has entries that are not extensions: {bad}")
        unknown = sorted(set(self.allowed_types) - filetypes.known_extensions())
        if unknown:
            raise ConfigError(
                f"AIRLOCK_ALLOWED_TYPES names types Airlock cannot detect: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(filetypes.known_extensions()))}."
            )
        for origin in self.cors_origins:
            if origin != "*" and not re.fullmatch(r"https?://[^\s/:]+(:\d{1,5})?", origin):
                raise ConfigError(
                    f"AIRLOCK_CORS_ORIGINS has {origin!r}, which is not an origin: write "
                    "https://host or https://host:port (no path), or *."
                )
        if not (self.database_url == "" or "://" in self.database_url):
            raise ConfigError("AIRLOCK_DATABASE_URL must be a URL such as postgresql://host/db.")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("AIRLOCK_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR.")
        if self.pdf_active_content not in PDF_ACTIVE_CONTENT:
            raise ConfigError(
                "AIRLOCK_PDF_ACTIVE_CONTENT must be refuse or attachment, not "
                f"{self.pdf_active_content!r}."
            )
        self._validate_storage()
        self._validate_scan()

    def _validate_scan(self) -> None:
        from airlock.scan.clamd import Address

        if self.scan not in SCAN_MODES:
            raise ConfigError(
                f"AIRLOCK_SCAN must be one of {', '.join(SCAN_MODES)}, not {self.scan!r}."
            )
        if self.clamd:
            try:
                Address.parse(self.clamd)
            except ValueError as exc:
                raise ConfigError(f"AIRLOCK_CLAMD={self.clamd!r} is not valid: {exc}.") from None
        elif self.scan != "off":
            raise ConfigError(
                f"AIRLOCK_SCAN={self.scan} needs AIRLOCK_CLAMD (unix:///path or tcp://host:port)."
            )
        if not 1 <= self.scan_timeout <= 3600:
            raise ConfigError("AIRLOCK_SCAN_TIMEOUT is in seconds, from 1 to 3600.")

    def _validate_storage(self) -> None:
        if self.storage not in ("local", "s3"):
            raise ConfigError("AIRLOCK_STORAGE must be 'local' or 's3'.")
        s3_only = {
            "s3_endpoint": self.s3_endpoint, "s3_bucket": self.s3_bucket,
            "s3_public_endpoint": self.s3_public_endpoint,
            "s3_content_origin": self.s3_content_origin, "direct_uploads": self.direct_uploads,
        }  # fmt: skip
        if self.storage == "local":
            stray = [f"AIRLOCK_{k.upper()}" for k, v in s3_only.items() if v]
            if stray:
                raise ConfigError(
                    f"{', '.join(stray)} only take effect with AIRLOCK_STORAGE=s3; set that or "
                    "remove them."
                )
            return
        if not self.s3_bucket:
            raise ConfigError("AIRLOCK_STORAGE=s3 needs AIRLOCK_S3_BUCKET (an existing bucket).")
        for name in ("s3_endpoint", "s3_public_endpoint", "s3_content_origin"):
            value = getattr(self, name)
            if value and not re.fullmatch(r"https?://[^\s/]+/?", value):
                raise ConfigError(
                    f"AIRLOCK_{name.upper()} must be an origin such as https://host:port "
                    f"(no path), not {value!r}."
                )
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key):
            raise ConfigError(
                "Set both AIRLOCK_S3_ACCESS_KEY_ID and AIRLOCK_S3_SECRET_ACCESS_KEY, or neither "
                "(then the standard AWS credential chain is used)."
            )
        if self.direct_uploads and not (self.s3_public_endpoint or self.s3_endpoint):
            raise ConfigError(
                "AIRLOCK_DIRECT_UPLOADS needs AIRLOCK_S3_PUBLIC_ENDPOINT (the store's address as "
                "browsers reach it), so pages may send files there."
            )
        if not 60 <= self.presign_lifetime <= 7 * 24 * 3600:
            raise ConfigError("AIRLOCK_PRESIGN_LIFETIME is in seconds, from 60 to 604800.")
