"""Reading a process's settings: a TOML file, then ``MUSTER_<ROLE>_<FIELD>`` overrides.

The node (:mod:`node.config`) and the hub (``hub.config``) each keep one frozen
config dataclass; this module is the part they share. A :class:`ConfigSource`
describes one file (its name, main table, other tables, environment prefix, the
command that writes it, the error class to raise), reads it, collects the
environment's overrides, and turns a table of settings into typed constructor
arguments by the dataclass's type hints. Environment values are text and are
parsed (lists comma-separated, booleans ``true``/``false``); file values must
already have the field's type.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, get_type_hints

from crypto.errors import MusterError

__all__ = ["ConfigSource", "toml_value"]

_BOOLS: Final = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSource:
    """Where one kind of process finds its settings.

    Attributes:
        file_name: the file in the data directory (``node.toml``).
        table: the settings' table in it (``node``).
        other_tables: further tables the file may hold (``collector``).
        env_prefix: environment variables with this prefix override the table.
        init_command: the command that writes the file, named when it is missing.
        docs: the page that lists every setting, named when a key is unknown.
        error: the error class raised for anything wrong (a ``UsageError``).
    """

    file_name: str
    table: str
    other_tables: tuple[str, ...] = ()
    env_prefix: str
    init_command: str
    docs: str
    error: Callable[[str], MusterError]

    def read(self, path: Path) -> dict[str, dict[str, Any]]:
        """Read the file (``path``, or ``file_name`` in the directory ``path``): the tables
        it holds, by name (the main table always, maybe empty).

        A ``path`` that does not exist is taken for a data directory unless its name
        ends in ``.toml``.

        Raises:
            MusterError: (``error``) the file is missing (the message says whether the
                data directory does not exist or holds no such file), unreadable, not
                TOML, or holds an unknown table.
        """
        path = Path(path)
        if path.is_dir() or (path.suffix != ".toml" and not path.exists()):
            path = path / self.file_name
        try:
            document = tomllib.loads(path.read_text("utf-8"))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._missing(path) from exc
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise self.error(f"{path}: not readable TOML ({exc})") from exc
        tables = (self.table, *self.other_tables)
        unknown = sorted(set(document) - set(tables))
        if unknown:
            expected = " and ".join(f"a [{t}]" for t in tables)
            raise self.error(f"{path}: unknown tables {unknown}; expected only {expected} table")
        found: dict[str, dict[str, Any]] = {self.table: {}}
        for name, table in document.items():
            if not isinstance(table, dict):
                raise self.error(f"{path}: {name} must be a table")
            found[name] = dict(table)
        return found

    def _missing(self, path: Path) -> MusterError:
        """The error for a settings file ``path`` that is not there: it names the data
        directory that does not exist, or that holds no such file, and the command that
        makes one."""
        directory, what = path.parent, f"a {self.table}'s data directory"
        make = f"run `{self.init_command}` to make one"
        if path.name != self.file_name:
            return self.error(
                f"no config file {path}: expected {what} or its {self.file_name}; {make}"
            )
        if not directory.exists():
            return self.error(f"data directory {directory} does not exist: {make}")
        if not directory.is_dir():
            return self.error(f"{directory} is a file, not {what}: {make}")
        return self.error(f"{directory} holds no {self.file_name}, so it is not {what}: {make}")

    def environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The overrides in ``environ``: field name (lowercase) → text."""
        prefix = self.env_prefix
        return {k[len(prefix) :].lower(): v for k, v in environ.items() if k.startswith(prefix)}

    def arguments(
        self, cls: type[Any], values: Mapping[str, Any], *, not_in_file: frozenset[str]
    ) -> dict[str, Any]:
        """Typed constructor arguments of ``cls`` from a table of settings.

        Raises:
            MusterError: (``error``) an unknown key, or a value of the wrong type.
        """
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)} - not_in_file
        unknown = sorted(set(values) - known)
        if unknown:
            raise self.error(f"{self.table} settings {unknown}: not known (see {self.docs})")
        return {name: self.typed(name, hints[name], value) for name, value in values.items()}

    def typed(self, name: str, hint: Any, value: Any) -> Any:
        """One setting checked against its field's type hint (text from the environment
        parsed).

        Raises:
            MusterError: (``error``) the value does not fit the type.
        """
        wanted = hint.__name__ if isinstance(hint, type) else str(hint)
        try:
            return _parse(wanted, value)
        except (TypeError, ValueError) as exc:
            raise self.error(f"{name}: expected {_describe(wanted)}") from exc

    def between(self, name: str, value: float, low: float, high: float) -> None:
        """Raises:
        MusterError: (``error``) ``value`` lies outside ``low..high``.
        """
        if not low <= value <= high:
            raise self.error(f"{name}: expected a value from {low} to {high}, got {value}")


def _parse(wanted: str, value: Any) -> Any:
    text = isinstance(value, str)
    if wanted == "bool":
        if not text:
            return _exact(value, bool)
        word = value.strip().lower()
        if word not in _BOOLS:
            raise ValueError(value)
        return _BOOLS[word]
    if wanted in ("int", "float") and isinstance(value, bool):
        raise TypeError(wanted)
    if wanted == "int":
        return int(value.replace("_", "")) if text else _exact(value, int)
    if wanted == "float":
        return float(value) if text else float(_exact(value, int | float))
    if "tuple[str" in wanted:
        items = value.split(",") if text else _exact(value, list | tuple)
        return tuple(s for s in (_exact(i, str).strip() for i in items) if s)
    value = _exact(value, str)
    if "Path" in wanted:
        return Path(value) if value else None
    if "None" in wanted:
        return value or None
    return value


def _exact(value: Any, kind: Any) -> Any:
    if not isinstance(value, kind):
        raise TypeError(type(value).__name__)
    return value


def _describe(hint: str) -> str:
    if "tuple" in hint:
        return "a list of text"
    if hint == "bool":
        return "true or false"
    if "int" in hint:
        return "a whole number"
    if "float" in hint:
        return "a number"
    return "text"


def toml_value(value: object) -> str:
    """``value`` written as TOML (text as a basic string, tuples as arrays, None as "")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if value is None:
        return '""'
    # A JSON string is a TOML basic string (quotes, backslashes and controls escaped).
    # DEL is the one control character JSON leaves as it is and TOML refuses.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
