"""Administrative division codes (GB/T 2260, GB/T 10114) and node ids.

A code names a division; its *jurisdiction* is the code's significant prefix:
province 2 digits, city 4, county 6, town 9, village 12. Codes longer than 6
digits may be padded with ``000`` groups (NBS 12-digit form), so
``370102000000`` is the county ``370102``.

The table of county-level and higher codes (every Ministry of Civil Affairs
revision 1980-2019, updated with the Shandong sample's 2023 statuses) ships with
the package; a deployment can load a newer official list. Town and village
codes are not listed: they are valid when their county prefix is known and
their own digits fall in the GB/T 10114 / NBS ranges.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Final

from crypto.errors import UsageError
from protocol.errors import DivisionCodeError

__all__ = [
    "Divisions",
    "Level",
    "NodeId",
    "Status",
    "contains",
    "jurisdiction_prefix",
    "level_of",
    "parent_code",
    "parse_node_id",
]

_DATA: Final = "protocol.schema.data"
_GB2260: Final = "admin_divisions_gb2260.csv"
_SHANDONG: Final = "admin_division_sample_shandong.csv"
_RULES: Final = "admin_division_code_rules.csv"

#: Municipalities directly under the central government: their districts and
#: counties sit directly under the province-level code (110100 only groups them).
_MUNICIPALITIES: Final = frozenset({"11", "12", "31", "50"})
#: City digits 90 group county-level units administered by the province itself.
_PROVINCE_DIRECT: Final = "90"
_CODE: Final = re.compile(r"[0-9]{6}(?:[0-9]{3}){0,2}")
_NODE_ID: Final = re.compile(r"([0-9]{6}|[0-9]{9})(?:-([0-9]{2}))?")


class Level(Enum):
    """The level of a division, from its code's digits."""

    PROVINCE = 2
    CITY = 4
    COUNTY = 6
    TOWN = 9
    VILLAGE = 12


class Status(Enum):
    """Where a six-digit code stands in the loaded table."""

    CURRENT = "current"
    #: In an earlier revision only; still valid inside old ID numbers.
    HISTORICAL = "historical"
    #: NBS statistics-only zone (development zone etc.), not a GB/T 2260 division.
    STATISTICS_ONLY = "statistics_only"


def _significant(code: str) -> str:
    """Return the significant prefix of a well-formed code, or raise."""
    if _CODE.fullmatch(code) is None or code.startswith("00"):
        raise DivisionCodeError(
            f"division code: expected 6, 9 or 12 digits, saw {len(code)} characters",
            length=len(code),
        )
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    if len(code) > 6:
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def level_of(code: str) -> Level:
    """Return the level of a 6-, 9- or 12-digit code.

    Raises:
        DivisionCodeError: the code is not 6, 9 or 12 digits.
    """
    return Level(len(_significant(code)))


def jurisdiction_prefix(code: str) -> str:
    """Return the prefix every code inside ``code``'s jurisdiction starts with.

    ``370000`` → ``37``, ``370100`` → ``3701``, ``370102`` → ``370102``,
    ``370102001`` → itself, a 12-digit village code → itself.

    Raises:
        DivisionCodeError: the code is not 6, 9 or 12 digits.
    """
    return _significant(code)


def contains(outer: str, inner: str) -> bool:
    """Return whether ``inner`` lies inside ``outer``'s jurisdiction (inclusive).

    Raises:
        DivisionCodeError: either code is malformed.
    """
    return _significant(inner).startswith(_significant(outer))


def _as_code(prefix: str) -> str:
    """Return the canonical code of a significant prefix (6 digits at county level and above)."""
    return prefix.ljust(6, "0") if len(prefix) < 6 else prefix


def parent_code(code: str) -> str | None:
    """Return the code of the division directly above ``code``, or ``None`` for a province.

    Districts of municipalities (``110101``) and county-level units under a
    province's ``90`` group (``429004``) have the province as parent: the
    grouping codes ``110100`` and ``429000`` are not offices.

    Raises:
        DivisionCodeError: the code is malformed.
    """
    prefix = _significant(code)
    if len(prefix) == 2:
        return None
    if len(prefix) == 4:
        return _as_code(prefix[:2])
    if len(prefix) == 6:
        if prefix[:2] in _MUNICIPALITIES or prefix[2:4] == _PROVINCE_DIRECT:
            return _as_code(prefix[:2])
        return _as_code(prefix[:4])
    return _as_code(_significant(prefix[:-3]))


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeId:
    """A node: the site's division code plus a machine number (0 for a bare site).

    ``str()`` gives ``370102001-01``, or just the site code when ``machine`` is 0
    (a hub named by its code, e.g. ``370100``).

    Raises:
        DivisionCodeError: on construction, if the site code is not 6 or 9 digits
            or the machine number is outside 0..99.
    """

    site_code: str
    machine: int = 0

    def __post_init__(self) -> None:
        if len(self.site_code) not in (6, 9):
            raise DivisionCodeError(
                f"node id: expected a 6- or 9-digit site code, saw {len(self.site_code)} characters"
            )
        _significant(self.site_code)
        if not 0 <= self.machine <= 99:
            raise DivisionCodeError(f"node id: expected machine 0..99, saw {self.machine}")

    def __str__(self) -> str:
        return f"{self.site_code}-{self.machine:02d}" if self.machine else self.site_code


def parse_node_id(text: str) -> NodeId:
    """Parse ``370102001-01`` (site code and two-digit machine) or a bare site code.

    Raises:
        DivisionCodeError: the text is not of that form, or the machine is ``00``.
    """
    match = _NODE_ID.fullmatch(text)
    if match is None:
        raise DivisionCodeError(
            "node id: expected a 6- or 9-digit site code with an optional -NN machine "
            f"suffix, saw {len(text)} characters"
        )
    site, machine = match.groups()
    if machine == "00":
        raise DivisionCodeError("node id: expected machine 01..99, saw 00")
    return NodeId(site_code=site, machine=int(machine or 0))


def _segment_digits(text: str, segment: str) -> frozenset[str]:
    """Return every 3-digit group the rules table allows for ``segment`` (town, village)."""
    found: set[str] = set()
    for row in csv.DictReader(io.StringIO(text)):
        if row["segment"] == segment:
            for part in row["range"].split("|"):
                low, high = part.split("-")
                found.update(f"{n:03d}" for n in range(int(low), int(high) + 1))
    return frozenset(found)


def _read_data(name: str) -> str:
    return resources.files(_DATA).joinpath(name).read_text(encoding="utf-8")


class Divisions:
    """An immutable table of six-digit division codes with names and statuses.

    Build it with :meth:`default` or :meth:`from_csv_text`; do not call the
    constructor directly.
    """

    __slots__ = ("_children", "_names", "_statuses", "_town_digits", "_village_digits")

    def __init__(
        self,
        names: Mapping[str, str],
        statuses: Mapping[str, Status],
        *,
        town_digits: frozenset[str],
        village_digits: frozenset[str],
    ) -> None:
        self._names = dict(names)
        self._statuses = dict(statuses)
        self._town_digits = town_digits
        self._village_digits = village_digits
        self._children: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def default(cls) -> Divisions:
        """Return the packaged table (GB/T 2260 1980-2019 plus Shandong 2023), loaded once."""
        return _default_divisions()

    @classmethod
    def from_csv_text(cls, text: str, *, base: Divisions | None = None) -> Divisions:
        """Build a table from CSV text with at least ``code`` and ``name_zh`` columns.

        An ``in_latest`` column (``y``/``n``, as in the packaged GB/T 2260 table) or
        a ``status`` column (``current``/``abolished``/``statistics_only``) gives
        each code's status; without either every listed code is current. With
        ``base`` (usually :meth:`default`), the new list is laid over it: its codes
        become current under their new names, and base codes it does not list
        become historical, so ID numbers issued under them stay valid.

        Raises:
            UsageError: a row has a malformed code, an empty name or an unknown status.
        """
        names, statuses = _parse_table(text)
        if base is None:
            town, village = _default_digits()
            return cls(names, statuses, town_digits=town, village_digits=village)
        return base._overlay(names, statuses, demote=True)

    def _overlay(
        self, names: Mapping[str, str], statuses: Mapping[str, Status], *, demote: bool
    ) -> Divisions:
        """Return a table with ``names`` and ``statuses`` laid over this one.

        With ``demote``, codes current here but absent from the overlay become
        historical (the overlay is a complete newer list).
        """
        merged = dict(self._statuses)
        if demote:
            merged = {
                code: Status.HISTORICAL if status is Status.CURRENT else status
                for code, status in merged.items()
            }
        merged.update(statuses)
        return Divisions(
            self._names | dict(names),
            merged,
            town_digits=self._town_digits,
            village_digits=self._village_digits,
        )

    def codes(self) -> tuple[str, ...]:
        """Return every listed six-digit code, in code order."""
        return tuple(sorted(self._statuses))

    def __len__(self) -> int:
        return len(self._names)

    def name(self, code: str) -> str | None:
        """Return the Chinese name of a code (its latest name), or ``None`` if unlisted.

        Padded codes (``370102000``) name their county; town and village codes are
        not listed and give ``None``.
        """
        try:
            return self._names.get(_as_code(_significant(code)))
        except DivisionCodeError:
            return None

    def status(self, code6: str) -> Status | None:
        """Return the status of a six-digit code, or ``None`` if it was never listed."""
        return self._statuses.get(code6)

    def is_known(self, code6: str) -> bool:
        """Return whether a six-digit code appears in any revision (historical included)."""
        return code6 in self._statuses

    def is_current(self, code6: str) -> bool:
        """Return whether a six-digit code is a division in the latest loaded list."""
        return self._statuses.get(code6) is Status.CURRENT

    def is_valid(self, code: str) -> bool:
        """Return whether a 6-, 9- or 12-digit code names a possible division.

        Six digits: listed in some revision. Nine: the county prefix is listed
        and digits 7-9 fall in the GB/T 10114 town ranges. Twelve: the town part
        is valid and digits 10-12 fall in the NBS village ranges. ``000`` groups
        pad a code to a higher level (``370102000`` is the county).
        """
        # Cheaper than the regex: this runs for every division field of every record.
        if len(code) not in (6, 9, 12) or not (code.isascii() and code.isdigit()):
            return False
        if code[:6] not in self._statuses:
            return False
        town, village = code[6:9], code[9:12]
        if town and town != "000" and town not in self._town_digits:
            return False
        if village and village != "000":
            return town != "000" and village in self._village_digits
        return True

    def children(self, code: str, *, include_historical: bool = False) -> tuple[str, ...]:
        """Return the listed codes whose parent is ``code``, in code order.

        Only current codes unless ``include_historical``; statistics-only zones
        count as current here. Town codes have no listed children.

        Raises:
            DivisionCodeError: the code is malformed.
        """
        key = _as_code(_significant(code))
        if self._children is None:
            self._children = _children_index(self._statuses)
        found = self._children.get(key, ())
        if include_historical:
            return found
        return tuple(c for c in found if self._statuses[c] is not Status.HISTORICAL)


def _children_index(statuses: Mapping[str, Status]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for code in sorted(statuses):
        parent = parent_code(code)
        if parent is not None:
            index.setdefault(parent, []).append(code)
    return {k: tuple(v) for k, v in index.items()}


_STATUS_WORDS: Final = {
    "current": Status.CURRENT,
    "abolished": Status.HISTORICAL,
    "historical": Status.HISTORICAL,
    "statistics_only": Status.STATISTICS_ONLY,
}


def _parse_table(text: str) -> tuple[dict[str, str], dict[str, Status]]:
    names: dict[str, str] = {}
    statuses: dict[str, Status] = {}
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    fields = reader.fieldnames or ()
    if "code" not in fields or "name_zh" not in fields:
        raise UsageError("division table: expected columns code and name_zh")
    for row in reader:
        where = f"division table line {reader.line_num}"
        code, name = (row["code"] or "").strip(), (row["name_zh"] or "").strip()
        if len(code) != 6 or _CODE.fullmatch(code) is None or not name:
            raise UsageError(f"{where}: expected a six-digit code and a name", line=reader.line_num)
        names[code] = name
        statuses[code] = _row_status(row, where)
    return names, statuses


def _row_status(row: Mapping[str, str | None], where: str) -> Status:
    word = (row.get("status") or "").strip()
    if word:
        if word not in _STATUS_WORDS:
            raise UsageError(f"{where}: expected status current, abolished or statistics_only")
        return _STATUS_WORDS[word]
    latest = (row.get("in_latest") or "y").strip()
    return Status.CURRENT if latest == "y" else Status.HISTORICAL


@cache
def _default_digits() -> tuple[frozenset[str], frozenset[str]]:
    rules = _read_data(_RULES)
    return _segment_digits(rules, "town"), _segment_digits(rules, "village")


@cache
def _default_divisions() -> Divisions:
    national = Divisions.from_csv_text(_read_data(_GB2260))
    # The Shandong sample is newer than 2019-04 for its province only: lay its
    # statuses over the national table without demoting other provinces.
    names, statuses = _parse_table(_read_data(_SHANDONG))
    return national._overlay(names, statuses, demote=False)
