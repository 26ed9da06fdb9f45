"""The assembled parts of one Airlock: database, storage, staging, inspector, service. Built once
per process (per app) from ``Settings``; the web layer and the CLI both use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from airlock import datadir
from airlock.accounts import Accounts
from airlock.admin import Admin
from airlock.config import Settings
from airlock.db.engine import Database
from airlock.direct import DirectUploads
from airlock.drops import Drops
from airlock.links import Links
from airlock.metrics import Metrics
from airlock.pipeline.detect import Detector
from airlock.pipeline.inspect import Inspector
from airlock.pipeline.receive import Limits
from airlock.pipeline.reencode import Reencoder
from airlock.pipeline.staging import Stager
from airlock.resumable import Resumable
from airlock.scan.clamd import Address, Clamd
from airlock.scan.scanning import Scanning
from airlock.service import Service, utcnow
from airlock.sessions import Sessions
from airlock.slots import Admission
from airlock.storage.base import Staging, Storage, Sweeper
from airlock.storage.capabilities import Capabilities
from airlock.storage.local import LocalStorage
from airlock.storage.local_staging import LocalStaging
from airlock.writers import Writers


@dataclass
class Host:
    """What the host app tells Airlock through the Flask extension. One object per extension,
    shared by every app it initialised, so that a hook set after ``init_app`` counts."""

    # The name of the host app's signed-in user, or None; Airlock makes its owner record on
    # first sight.
    user_loader: Callable[[], str | None] | None = None
    # Who checks CSRF on unsafe requests the host's session authenticates: "airlock" (its own
    # token, ``Airlock.csrf_token()``) or "flask-wtf" (Flask-WTF's token, validated by Airlock).
    csrf: str = "airlock"


@dataclass(frozen=True)
class AirlockState:
    """Everything one Airlock needs."""

    settings: Settings
    db: Database
    storage: Storage
    caps: Capabilities
    staging: Staging  # resumable (tus) uploads
    stager: Stager  # bodies that arrive in one pass (multipart, PUT)
    service: Service
    accounts: Accounts
    metrics: Metrics
    resumable: Resumable
    sessions: Sessions
    admin: Admin
    links: Links
    drops: Drops
    direct: DirectUploads | None  # only when the storage can presign
    # Every place bytes in flight may be left by a crash, for gc: the staging directory and,
    # where the storage has them, its own leftovers (temp files, unfinished multipart uploads).
    sweepers: tuple[Sweeper, ...]
    admission: Admission  # caps on upload bodies arriving at once, per user and address
    writers: Writers  # this process's writer lease; judges whose leftovers may go
    host: Host = field(default_factory=Host)  # the host app's hooks (the Flask extension's)

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            request=s.request_limit, file=s.max_file_size, parts=s.max_parts,
            part_header=s.max_part_header_size, field=s.max_field_size,
        )  # fmt: skip


def build_storage(settings: Settings) -> Storage:
    """The storage backend the settings name (nothing is contacted yet)."""
    if settings.storage == "s3":
        from airlock.storage.s3 import S3Storage  # boto3 is loaded only when it is used

        return S3Storage(
            settings.s3_bucket, settings.s3_endpoint, settings.s3_region,
            settings.s3_access_key_id, settings.s3_secret_access_key,
            public_endpoint=settings.s3_public_endpoint,
            content_origin=settings.s3_content_origin,
        )  # fmt: skip
    return LocalStorage(settings.data_dir.resolve() / "files")


def build_scanning(settings: Settings, metrics: Metrics | None = None) -> Scanning | None:
    """The malware scanning policy the settings ask for (None when off)."""
    if settings.scan == "off":
        return None
    clamd = Clamd(Address.parse(settings.clamd), timeout=settings.scan_timeout)
    return Scanning(settings.scan, clamd, metrics)


def build_state(
    settings: Settings, storage: Storage | None = None,
    clock: Callable[[], dt.datetime] = utcnow, host: Host | None = None,
) -> AirlockState:  # fmt: skip
    """Create the data directory if needed, open (and migrate) the database, storage (as the
    settings say, unless another ``Storage`` is given) and staging; find what the storage can
    do, once. ``clock`` is what every part takes as now (tests move it instead of sleeping)."""
    data_dir = datadir.prepare(settings.data_dir, sqlite=not settings.database_url)
    db = Database(settings.database)
    db.migrate(lock_dir=data_dir)
    storage = storage if storage is not None else build_storage(settings)
    caps = Capabilities.of(storage, settings.s3_content_origin)
    writers = Writers(db, clock)
    # Resumable uploads wait in the object store when it can hold them (any instance may then
    # take any PATCH), else in the data dir.
    staging: Staging = (
        caps.stager.resumable_staging(writers.new_key)
        if caps.stager is not None
        else LocalStaging(data_dir / "staging", storage, writers.new_key)
    )
    # One-pass bodies wait in the object store itself when it can stage (no copy on the
    # instance that received them), else beside the files on local disk.
    metrics = Metrics()
    scanning = build_scanning(settings, metrics)
    stager = Stager(
        caps.stager.staging(writers.new_key) if caps.stager is not None else staging,
        ThreadPoolExecutor(8, thread_name_prefix="airlock-hash"),
        scanning.start if scanning is not None else None,
    )
    inspector = Inspector(
        Detector(), settings.allowed_types, settings.max_file_size,
        max_pixels=settings.max_image_pixels,
        allow_active_pdf=settings.pdf_active_content == "attachment",
    )  # fmt: skip
    reencoder = (
        Reencoder(stager.staging, settings.max_file_size) if settings.image_reencode else None
    )
    service = Service(settings, db, storage, inspector, metrics, writers, clock=clock,
                      scanning=scanning, reencoder=reencoder)  # fmt: skip
    accounts = Accounts(db, clock=clock)
    resumable = Resumable(settings, db, staging, service, inspector, clock=clock)
    sessions = Sessions(settings, db, accounts, clock=clock)
    admin = Admin(settings, db, accounts, clock=clock, storage_of=service.storage_of)
    links = Links(settings, db, service, clock=clock)
    drops = Drops(settings, db, accounts, clock=clock)
    direct = None
    if caps.presigner is not None:
        direct = DirectUploads(
            settings, db, storage, caps.presigner, stager.staging, service, inspector,
            clock=clock,
        )  # fmt: skip
    return AirlockState(
        settings, db, storage, caps, staging, stager, service, accounts, metrics, resumable,
        sessions, admin, links, drops, direct,
        tuple(s for s in (staging, caps.sweeper) if isinstance(s, Sweeper)),
        Admission(data_dir / "run" / "slots", settings.max_uploads_per_user,
                  settings.max_uploads_per_address),
        writers, host if host is not None else Host(),
    )  # fmt: skip
