"""What the configured backends can do, found once at start-up.

Routes, the tus ``OPTIONS`` answer, ``/readyz``, gc and serving consult this one value instead of
probing the backend at each call site, so what is advertised is exactly what is routed.
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.storage.base import (
    Lister,
    LocalPaths,
    Presigner,
    Probe,
    StagesInPlace,
    Storage,
    Sweeper,
)


@dataclass(frozen=True)
class Capabilities:
    """The optional abilities of one storage backend (``None``: the backend lacks it)."""

    lister: Lister | None = None
    local_paths: LocalPaths | None = None
    presigner: Presigner | None = None
    probe: Probe | None = None
    sweeper: Sweeper | None = None
    stager: StagesInPlace | None = None
    # Redirect downloads to presigned URLs on this origin (opt-in; needs a presigner).
    content_origin: str = ""

    @classmethod
    def of(cls, storage: Storage, content_origin: str = "") -> Capabilities:
        """Discover what ``storage`` can do (each capability is a one-method protocol)."""
        presigner = storage if isinstance(storage, Presigner) else None
        return cls(
            lister=storage if isinstance(storage, Lister) else None,
            local_paths=storage if isinstance(storage, LocalPaths) else None,
            presigner=presigner,
            probe=storage if isinstance(storage, Probe) else None,
            sweeper=storage if isinstance(storage, Sweeper) else None,
            stager=storage if isinstance(storage, StagesInPlace) else None,
            content_origin=content_origin if presigner is not None else "",
        )

    @property
    def direct_uploads(self) -> bool:
        """Whether clients may upload straight to the store (presigned POST)."""
        return self.presigner is not None

    @property
    def redirects(self) -> bool:
        """Whether downloads answer with a redirect to a presigned URL."""
        return bool(self.content_origin)
