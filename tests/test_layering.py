"""The layering of ARCHITECTURE §2: hub → node → protocol → crypto, nothing upward.

Also: the pure cores import no I/O framework (aiohttp, sqlalchemy, serial, apscheduler,
asyncio), so they stay testable without I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("crypto", "protocol", "node", "hub")
ALLOWED: dict[str, set[str]] = {
    "crypto": {"crypto"},
    "protocol": {"crypto", "protocol"},
    "node": {"crypto", "protocol", "node"},
    "hub": {"crypto", "protocol", "node", "hub"},
}
IO_FRAMEWORKS = {"aiohttp", "sqlalchemy", "alembic", "serial", "apscheduler", "asyncio", "socket"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", OURS)
def test_packages_import_only_downward(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted((_imports(path) & set(OURS)) - ALLOWED[package])
        for path in _modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", ["crypto", "protocol"])
def test_pure_cores_import_no_io_framework(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & IO_FRAMEWORKS)
        for path in _modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from hub.app import create_app\nimport node.store\n")
    assert _imports(bad) == {"hub", "node"}
