"""The ``[crosscheck]`` table of hub.toml: authority per field, matching and the fix loop.

::

    [crosscheck]
    min_score = 0.85          # MatchConfig fields, flat
    recheck_minutes = 30

    [crosscheck.authority]    # source kind (or "record") -> fields; replaces the default
    public_security = ["name", "sex", "birth_date", "hukou_division_code", "living_status"]
    record = ["subject_category", "disability_level"]

Every key is documented in docs/crosscheck.md §10 (a test checks it). Environment
variables ``MUSTER_HUB_CROSSCHECK_<KEY>`` override the scalar keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.crosscheck.authority import DEFAULT_AUTHORITY, AuthorityPolicy
from hub.crosscheck.errors import CrosscheckConfigError
from hub.crosscheck.matching import MatchConfig
from protocol.schema import Schema

__all__ = ["AUTHORITY_KEY", "CrosscheckConfig"]

#: The sub-table naming the authoritative side of each field.
AUTHORITY_KEY: Final = "authority"
_MATCH_FIELDS: Final = tuple(f.name for f in dataclasses.fields(MatchConfig))
_BOUNDS: Final[dict[str, tuple[int, int]]] = {
    "chunk_rows": (100, 100_000),
    "problems_per_bundle": (1, 100_000),
    "recheck_minutes": (0, 7 * 24 * 60),
    "max_upload_mib": (1, 4096),
    "abandoned_import_minutes": (5, 7 * 24 * 60),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CrosscheckConfig:
    """The cross-check's settings (one per hub process, inside ``HubConfig``).

    Attributes:
        authority: which side is authoritative for which field.
        match: how fuzzy proposals are scored (``min_score``, weights, ``max_block`` …).
        chunk_rows: register rows written per transaction during an import.
        problems_per_bundle: ``problem`` entries per ``problems`` bundle sent down.
        recheck_minutes: how often open findings are re-checked against the newest
            dataset and the records as they now are (0: only on import or by hand).
        max_upload_mib: the largest register the console takes (the CLI has no limit).
        abandoned_import_minutes: an import whose last chunk is older than this is
            taken for dead and its rows are deleted.
    """

    authority: AuthorityPolicy = DEFAULT_AUTHORITY
    match: MatchConfig = field(default_factory=MatchConfig)
    chunk_rows: int = 5_000
    problems_per_bundle: int = 5_000
    recheck_minutes: int = 60
    max_upload_mib: int = 512
    abandoned_import_minutes: int = 60

    def __post_init__(self) -> None:
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise CrosscheckConfigError(
                    f"crosscheck.{name}: expected a value from {low} to {high}, got {value}"
                )

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, schema: Schema | None = None
    ) -> CrosscheckConfig:
        """Read a ``[crosscheck]`` table (values from the environment are text).

        Raises:
            CrosscheckConfigError: an unknown key, a wrong type, a value out of range,
                or an authority table naming an unknown source kind or field.
        """
        known = set(_MATCH_FIELDS) | set(_BOUNDS) | {AUTHORITY_KEY}
        unknown = sorted(set(table) - known)
        if unknown:
            raise CrosscheckConfigError(
                f"crosscheck settings {unknown}: not known (see docs/crosscheck.md)"
            )
        authority = DEFAULT_AUTHORITY
        if AUTHORITY_KEY in table:
            given = table[AUTHORITY_KEY]
            if not isinstance(given, Mapping):
                raise CrosscheckConfigError("crosscheck.authority: expected a table")
            authority = AuthorityPolicy.from_mapping(given)
        authority.check(schema or Schema.default())
        defaults = MatchConfig()
        match = MatchConfig(
            **{
                name: _number(name, table[name], type(getattr(defaults, name)))
                for name in _MATCH_FIELDS
                if name in table
            }
        )
        scalars = {name: _number(name, table[name], int) for name in _BOUNDS if name in table}
        return cls(authority=authority, match=match, **scalars)

    def to_table(self) -> dict[str, Any]:
        """The settings that differ from the defaults, as a TOML-able table."""
        table: dict[str, Any] = {}
        defaults = MatchConfig()
        for name in _MATCH_FIELDS:
            if getattr(self.match, name) != getattr(defaults, name):
                table[name] = getattr(self.match, name)
        for name in _BOUNDS:
            if getattr(self, name) != getattr(_DEFAULTS, name):
                table[name] = getattr(self, name)
        if self.authority != DEFAULT_AUTHORITY:
            table[AUTHORITY_KEY] = self.authority.to_mapping()
        return table


def _number(name: str, value: object, kind: type) -> Any:
    """A number setting; text (from the environment) is parsed."""
    found: Any = None
    if isinstance(value, str):
        try:
            found = kind(value.strip().replace("_", ""))
        except ValueError:
            found = None
    elif not isinstance(value, bool) and isinstance(value, int | float):
        found = float(value) if kind is float else value if isinstance(value, int) else None
    if found is None:
        what = "a number" if kind is float else "a whole number"
        raise CrosscheckConfigError(f"crosscheck.{name}: expected {what}")
    return found


_DEFAULTS: Final = CrosscheckConfig()
