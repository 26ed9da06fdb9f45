"""The shape the code promises: import directions, and the error table against API.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from airlock.errors import all_error_classes

SRC = Path(__file__).resolve().parents[1] / "src" / "airlock"
API_MD = Path(__file__).resolve().parents[2] / "shared" / "API.md"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    base = SRC / package if package else SRC
    return sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_nothing_of_ours_but_errors(path: Path) -> None:
    ours = {m for m in imports_of(path) if m.startswith("airlock")}
    assert ours <= {"airlock.errors"} | {m for m in ours if m.startswith("airlock.core")}


@pytest.mark.parametrize(
    "path", modules("pipeline") + modules("storage") + modules("db"), ids=lambda p: p.name
)
def test_lower_layers_do_not_reach_up(path: Path) -> None:
    allowed = ("airlock.core", "airlock.errors", "airlock.pipeline", "airlock.storage",
               "airlock.db")  # fmt: skip
    for module in imports_of(path):
        if module.startswith("airlock"):
            assert module.startswith(allowed), f"{path.name} imports {module}"


def test_only_the_edge_imports_flask() -> None:
    # flask_uploads.py: the drop-in for Flask-Reuploaded's module, a Flask API by definition.
    edge = {SRC / "ext.py", SRC / "app.py", SRC / "flask_uploads.py"} | set(
        (SRC / "web").rglob("*.py")
    )
    for path in SRC.rglob("*.py"):
        if path in edge:
            continue
        flask = {m for m in imports_of(path) if m == "flask" or m.startswith("flask.")}
        assert not flask, f"{path.relative_to(SRC)} imports Flask"


def test_error_classes_match_api_md() -> None:
    assert API_MD.exists(), f"API.md is expected at {API_MD}"
    table = set(re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", API_MD.read_text(), re.M))
    ours = {(str(c.status), c.code) for c in all_error_classes()}
    assert table, "no error table found in API.md"
    assert ours == table
    for cls in all_error_classes():
        camel = "".join(part.capitalize() for part in cls.code.split("_"))
        assert cls.__name__ == camel, f"{cls.__name__} should be called {camel}"
