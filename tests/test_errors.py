"""The exception tree drawn in crypto/errors.py is the real one, for every package."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import crypto.errors
from crypto.errors import InputError, MusterError, StateError, UsageError

ROOT = Path(__file__).resolve().parents[1]
BRANCHES = {"MusterError", "InputError", "StateError", "UsageError"}
_LINE = re.compile(r"^    (?P<indent>[│ ]*)(?:[├└]── )?(?P<name>[A-Za-z_.]+Error)\b")


def _drawn_tree() -> list[tuple[int, str]]:
    doc = crypto.errors.__doc__ or ""
    body = doc.split("the whole tree is::", 1)[1]
    rows = []
    for line in body.splitlines():
        match = _LINE.match(line)
        if match:
            name = match.group("name")
            depth = 0 if name == "MusterError" else len(match.group("indent")) // 4 + 1
            rows.append((depth, name))
    return rows


def _resolve(name: str) -> type[BaseException]:
    if name in BRANCHES:
        return getattr(crypto.errors, name)
    package, cls = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"{package}.errors"), cls)


def _errors_modules() -> list[str]:
    paths = [
        p for pkg in ("crypto", "protocol", "node", "hub") for p in (ROOT / pkg).rglob("errors.py")
    ]
    return sorted(".".join(path.relative_to(ROOT).with_suffix("").parts) for path in paths)


def test_every_drawn_class_exists_under_its_drawn_parent() -> None:
    rows = _drawn_tree()
    assert rows[0] == (0, "MusterError")
    parents: dict[int, type[BaseException]] = {}
    for depth, name in rows:
        cls = _resolve(name)
        if depth > 0:
            assert cls.__bases__[0] is parents[depth - 1], f"{name} is drawn under the wrong parent"
        parents[depth] = cls


def test_every_error_class_of_every_package_is_drawn() -> None:
    drawn = {name for _depth, name in _drawn_tree()}
    defined = set()
    for module_name in _errors_modules():
        module = importlib.import_module(module_name)
        package = module_name.rsplit(".errors", 1)[0]
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, MusterError)
                and value.__module__ == module_name
            ):
                defined.add(name if name in BRANCHES else f"{package}.{name}")
    assert defined - drawn == set()


def test_the_three_branches_and_their_http_hints() -> None:
    statuses = (InputError.http_status, UsageError.http_status, StateError.http_status)
    assert statuses == (400, 500, 409)
    for branch in (InputError, UsageError, StateError):
        assert issubclass(branch, MusterError)


def test_errors_carry_fields_and_render_without_secrets() -> None:
    error = InputError("bundle seq 41 from 370102001-01: expected 43", seq=41, raw=b"\x01")
    assert error.to_dict() == {
        "error": "bad_input",
        "message": "bundle seq 41 from 370102001-01: expected 43",
        "details": {"seq": 41, "raw": "01"},
    }
