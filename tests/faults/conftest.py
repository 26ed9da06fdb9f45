"""Fault-injection fixtures. Each scenario records what it saw in ``fault_report``; the figures
are printed at the end of the run (the README's reliability section quotes them).

The end-to-end fixtures (``backend``, ``serving``) are the e2e suite's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.conftest import backend, pytest_generate_tests  # noqa: F401 - fixtures and hook


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@dataclass
class FaultReport:
    """Figures from the fault scenarios of this run, one row per scenario."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def record(self, scenario: str, **figures: Any) -> None:
        """One scenario's figures, e.g. ``acknowledged=40, lost=0, corrupt=0``."""
        self.rows.append({"scenario": scenario, **figures})


_REPORT = FaultReport()


@pytest.fixture(scope="session")
def fault_report() -> Iterator[FaultReport]:
    yield _REPORT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _REPORT.rows:
        return
    terminalreporter.section("fault suite figures")
    for row in _REPORT.rows:
        rest = ", ".join(f"{k}={v}" for k, v in row.items() if k != "scenario")
        terminalreporter.write_line(f"{row['scenario']}: {rest}")
