"""The collector's pure core does no I/O, and nothing in the collector reaches the hub."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import node.collector

PACKAGE = Path(node.collector.__file__).parent
#: Modules that must stay sans-I/O: bytes and values in, bytes and values out.
PURE = (
    "errors",
    "frames",
    "commands",
    "status",
    "textblock",
    "card_text",
    "card",
    "faults",
    "simmodel",
)
IO_MODULES = {"serial", "os", "time", "threading", "select", "socket", "asyncio", "subprocess"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for item in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(item, ast.Import):
            names.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module:
            names.add(item.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_core_modules_import_no_io(module: str) -> None:
    roots = {name.split(".")[0] for name in imported(PACKAGE / f"{module}.py")}
    assert not roots & IO_MODULES


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_collector_module_imports_the_hub(path: Path) -> None:
    assert not {name for name in imported(path) if name.split(".")[0] == "hub"}
