"""Operations endpoints: liveness, readiness, Prometheus metrics.

Readiness names each part's state: the database ``ok`` or ``unreachable``; the storage ``ok``,
``full`` (out of space: uploads are refused with ``507 storage_full``, reads go on) or
``unavailable``; the scanner ``ok``, ``off``, ``skipped`` (optional and away) or
``unavailable``. Any state but ``ok``, ``off`` and ``skipped`` answers 503."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from airlock.errors import StorageFull
from airlock.scan.clamd import ClamdError
from airlock.web.state import state

ops = Blueprint("airlock_ops", __name__)
log = logging.getLogger("airlock")


@ops.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@ops.get("/readyz")
def readyz() -> Response:
    st = state()
    checks: dict[str, str] = {}
    try:
        st.db.ping()
        checks["database"] = "ok"
    except Exception:
        log.exception("readiness: database")
        checks["database"] = "unreachable"
    try:
        if st.caps.probe is not None:
            st.caps.probe.probe()
        checks["storage"] = "ok"
    except StorageFull:
        log.warning("readiness: storage is out of space")
        checks["storage"] = "full"
    except Exception:
        log.exception("readiness: storage")
        checks["storage"] = "unavailable"
    scanning = st.service.scanning
    if scanning is None or scanning.clamd is None:
        checks["scanner"] = "off"
    else:
        try:
            scanning.clamd.ping()
            checks["scanner"] = "ok"
        except ClamdError:
            log.warning("readiness: scanner at %s", scanning.clamd.address, exc_info=True)
            # Optional scanning goes on without it (uploads are stored unscanned).
            checks["scanner"] = "unavailable" if scanning.mode == "required" else "skipped"
    ready = all(v in ("ok", "off", "skipped") for v in checks.values())
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@ops.get("/metrics")
def metrics() -> Response:
    return Response(state().metrics.render(), content_type=CONTENT_TYPE_LATEST)
