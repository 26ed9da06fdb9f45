"""The assembled parts of one Airlock: database, storage, staging, inspector, service. Built once
per process (per app) from ``Settings``; the web layer and the CLI both use it."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.accounts import Accounts
from airlock.admin import Admin
from airlock.config import Settings
from airlock.db.engine import Database
from airlock.metrics import Metrics
from airlock.pipeline.detect import Detector
from airlock.pipeline.inspect import Inspector
from airlock.pipeline.receive import Limits
from airlock.pipeline.staging import Staging
from airlock.resumable import Resumable
from airlock.service import Service, utcnow
from airlock.sessions import Sessions
from airlock.storage.base import Storage
from airlock.storage.local import LocalStorage


@dataclass(frozen=True)
class AirlockState:
    """Everything one Airlock needs."""

    settings: Settings
    db: Database
    storage: Storage
    staging: Staging
    service: Service
    accounts: Accounts
    metrics: Metrics
    resumable: Resumable
    sessions: Sessions
    admin: Admin

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            request=s.request_limit, file=s.max_file_size, parts=s.max_parts,
            part_header=s.max_part_header_size, field=s.max_field_size,
        )  # fmt: skip


def build_state(settings: Settings, storage: Storage | None = None) -> AirlockState:
    """Create the data directory if needed, open (and migrate) the database, storage (local
    files under the data dir unless another ``Storage`` is given) and staging."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database)
    db.migrate(lock_dir=data_dir)
    storage = storage if storage is not None else LocalStorage(data_dir / "files")
    staging = Staging(data_dir / "staging")
    metrics = Metrics()
    inspector = Inspector(
        Detector(), settings.allowed_types, settings.max_file_size,
        max_pixels=settings.max_image_pixels,
    )  # fmt: skip
    service = Service(settings, db, storage, inspector, metrics, clock=utcnow)
    accounts = Accounts(db, clock=utcnow)
    resumable = Resumable(settings, db, staging, service, inspector, clock=utcnow)
    sessions = Sessions(settings, db, accounts, clock=utcnow)
    admin = Admin(settings, db, accounts, clock=utcnow)
    return AirlockState(
        settings, db, storage, staging, service, accounts, metrics, resumable, sessions, admin
    )
