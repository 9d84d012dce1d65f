"""The exception tree drawn in crypto/errors.py is the real one."""

from __future__ import annotations

import importlib
import re

import crypto.errors
from crypto.errors import InputError, MusterError, StateError, UsageError

_LINE = re.compile(r"^    (?P<indent>[│ ]*)(?:[├└]── )?(?P<name>[A-Za-z_.]+Error)\b")


def _drawn_tree() -> list[tuple[int, str]]:
    doc = crypto.errors.__doc__ or ""
    body = doc.split("the whole tree is::", 1)[1]
    rows = []
    for line in body.splitlines():
        match = _LINE.match(line)
        if match:
            depth = len(match.group("indent")) // 4 + (
                0 if match.group("name") == "MusterError" else 1
            )
            rows.append((depth, match.group("name")))
    return rows


def _resolve(name: str) -> type[BaseException]:
    if "." not in name:
        for module in ("crypto.errors", "protocol.errors"):
            found = getattr(importlib.import_module(module), name, None)
            if found is not None:
                return found
        raise AssertionError(f"{name} is drawn but not defined")
    package, cls = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"{package}.errors"), cls)


def test_every_drawn_class_exists_under_its_drawn_parent() -> None:
    rows = _drawn_tree()
    assert rows[0] == (0, "MusterError")
    parents: dict[int, type[BaseException]] = {}
    for depth, name in rows:
        cls = _resolve(name)
        if depth > 0:
            assert issubclass(cls, parents[depth - 1]), (
                f"{name} should derive from {parents[depth - 1]}"
            )
        parents[depth] = cls


def test_every_error_class_of_the_cores_is_drawn() -> None:
    drawn = {name.rsplit(".", 1)[-1] for _depth, name in _drawn_tree()}
    defined = set()
    for module_name in ("crypto.errors", "protocol.errors"):
        module = importlib.import_module(module_name)
        defined |= {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, MusterError)
        }
    assert defined - drawn == set()


def test_the_three_branches_and_their_http_hints() -> None:
    assert (InputError.http_status, UsageError.http_status, StateError.http_status) == (
        400,
        500,
        409,
    )
    for branch in (InputError, UsageError, StateError):
        assert issubclass(branch, MusterError)


def test_errors_carry_fields_and_render_without_secrets() -> None:
    error = InputError("bundle seq 41 from 370102001-01: expected 43", seq=41, raw=b"\x01")
    assert error.to_dict() == {
        "error": "bad_input",
        "message": "bundle seq 41 from 370102001-01: expected 43",
        "details": {"seq": 41, "raw": "01"},
    }
