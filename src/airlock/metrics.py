"""Prometheus metrics, one set per app. Under several worker processes
(``PROMETHEUS_MULTIPROC_DIR`` set by ``airlock serve``) values go to shared files and are summed
when scraped."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


class Metrics:
    """The counters and histograms Airlock records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.uploads = Counter(
            "airlock_uploads", "Upload decisions by outcome and rejection code.",
            ["outcome", "code"], registry=reg,
        )  # fmt: skip
        self.bytes_in = Counter("airlock_bytes_in", "Bytes of accepted uploads.", registry=reg)
        self.bytes_out = Counter("airlock_bytes_out", "File bytes served.", registry=reg)
        self.latency = Histogram(
            "airlock_request_seconds", "Request latency by endpoint and status.",
            ["endpoint", "method", "status"], registry=reg,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )  # fmt: skip

        self.scans = Counter(
            "airlock_scans", "Malware scans by outcome (clean, infected, unavailable).",
            ["outcome"], registry=reg,
        )  # fmt: skip
        self.scan_seconds = Histogram(
            "airlock_scan_seconds", "Time from the last byte to the scan's verdict.",
            registry=reg, buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60),
        )  # fmt: skip

    def render(self) -> bytes:
        """The text exposition of every metric (of all workers, under several processes)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
