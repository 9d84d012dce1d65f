"""Baseline rows into create ops: the import's sink (:mod:`hub.baseline`).

The cross-check's importer streams the file's rows here in chunks; each row becomes a
record's values, is checked (a baseline is incomplete by nature: only missing fields a
collector will fill are let through), skipped when its ID number is held already, or
made a ``create`` op. The ops wait in a temporary SQLite file, by town of household
registration, so a province's baseline never sits in memory.
"""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgpack

from hub.context import HubContext, get_state
from hub.crosscheck.dataset import Dataset, RegisterRow
from hub.crosscheck.problems import RowProblem
from hub.routing import HOUSEHOLD_FIELD, home_site
from hub.store.bulk import live_holders
from protocol.divisions import contains
from protocol.errors import DivisionCodeError
from protocol.hlc import HybridClock, Timestamp
from protocol.ops import Op, OpKind
from protocol.schema import CATEGORY_FIELD
from protocol.validation import ID_NUMBER_FIELD, validate_record

__all__ = ["HLC_KEY", "BaselineIssue", "OpCollector"]

_MAX_ISSUES: Final = 1000
#: The hub's hybrid clock reading in hub_state (shared with hub/review.py's resolutions).
HLC_KEY: Final = "hlc_last"
_BATCH_QUERY: Final = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineIssue:
    """A row refused or skipped: its number, the field and the rule (never a value)."""

    row: int
    field: str | None
    code: str


class OpCollector:
    """The import's sink: rows become create ops in a temporary SQLite file, by town."""

    def __init__(self, ctx: HubContext, author: str, scratch: Path) -> None:
        self.ctx = ctx
        self.author = author
        self._file = tempfile.NamedTemporaryFile(dir=scratch, suffix=".db")  # noqa: SIM115
        self.db = sqlite3.connect(self._file.name)
        self.db.execute(
            "CREATE TABLE ops (town TEXT, seq INTEGER, id_number TEXT, op_id TEXT, data BLOB)"
        )
        self.db.execute("CREATE UNIQUE INDEX ops_id ON ops (id_number)")
        self.issues: list[BaselineIssue] = []
        self.refused = self.already_held = self.records = 0
        self._seq = 0
        with ctx.store.read() as session:
            last = get_state(session, HLC_KEY)
        self.clock = HybridClock(
            ctx.site,
            lambda: int(ctx.now().timestamp() * 1000),
            last=Timestamp.decode(last) if last else None,
        )

    def close(self) -> None:
        self.db.close()
        self._file.close()

    # DatasetSink
    def begin(self, dataset_id: str) -> None:
        return None

    def commit(self, dataset: Dataset) -> None:
        return None

    def abort(self, dataset_id: str) -> None:
        return None

    def add_rows(
        self, dataset_id: str, rows: Sequence[RegisterRow], problems: Sequence[RowProblem]
    ) -> None:
        refused_rows = {p.row for p in problems}
        for problem in problems:
            self._issue(problem.row, problem.field.value if problem.field else None, problem.code)
        self.refused += len(refused_rows)
        wanted = [r for r in rows if r.row not in refused_rows]
        numbers = [r.id_number for r in wanted if r.id_number]
        with self.ctx.store.read() as session:
            held = live_holders(session, numbers)
        earlier = self._seen(numbers)
        today = self.ctx.now().date()
        made: list[tuple[str, int, str, str, bytes]] = []
        in_chunk: set[str] = set()
        for row in wanted:
            values = self._values(row)
            code = self._refusal(values, today)
            if code is not None:
                self.refused += 1
                self._issue(row.row, code[0], code[1])
                continue
            number = str(values[ID_NUMBER_FIELD])
            if number in held or number in earlier or number in in_chunk:
                self.already_held += 1
                self._issue(row.row, ID_NUMBER_FIELD, "already_held")
                continue
            op = Op(
                kind=OpKind.CREATE,
                record_id=_new_record_id(),
                value=values,
                hlc=self.clock.now(),
                author=self.author,
                site=self.ctx.site,
            )
            town = home_site(values[HOUSEHOLD_FIELD])
            assert town is not None
            self._seq += 1
            in_chunk.add(number)
            made.append((town, self._seq, number, op.op_id, op.canonical_bytes))
        self.db.executemany("INSERT INTO ops VALUES (?, ?, ?, ?, ?)", made)
        self.records += len(made)

    def _seen(self, numbers: Sequence[str]) -> set[str]:
        """The ID numbers earlier rows of the file already made records for."""
        found: set[str] = set()
        for start in range(0, len(numbers), _BATCH_QUERY):
            part = numbers[start : start + _BATCH_QUERY]
            marks = ",".join("?" * len(part))
            query = f"SELECT id_number FROM ops WHERE id_number IN ({marks})"  # noqa: S608 - placeholders only
            found.update(n for (n,) in self.db.execute(query, part))
        return found

    def _values(self, row: RegisterRow) -> dict[str, Any]:
        schema = self.ctx.schema
        values: dict[str, Any] = {k: v for k, v in row.values if schema.has_field(k)}
        if row.id_number is not None:
            values[ID_NUMBER_FIELD] = row.id_number
        return values

    def _refusal(self, values: dict[str, Any], today: Any) -> tuple[str | None, str] | None:
        for key in (ID_NUMBER_FIELD, "name", HOUSEHOLD_FIELD, CATEGORY_FIELD):
            if not values.get(key):
                return key, "required"
        try:
            inside = contains(self.ctx.site, str(values[HOUSEHOLD_FIELD]))
        except DivisionCodeError:
            return HOUSEHOLD_FIELD, "invalid_division"
        if not inside:
            return HOUSEHOLD_FIELD, "outside_jurisdiction"
        problems = validate_record(
            values, self.ctx.schema, today=today, divisions=self.ctx.divisions, complete=False
        )
        return (problems[0].field, problems[0].code) if problems else None

    def _issue(self, row: int, field: str | None, code: str) -> None:
        if len(self.issues) < _MAX_ISSUES:
            self.issues.append(BaselineIssue(row=row, field=field, code=code))

    def towns(self) -> list[str]:
        return [t for (t,) in self.db.execute("SELECT DISTINCT town FROM ops ORDER BY town")]

    def op_ids_of(self, town: str) -> list[str]:
        query = "SELECT op_id FROM ops WHERE town = ? ORDER BY seq"
        return [op_id for (op_id,) in self.db.execute(query, (town,))]

    def ops_of(self, town: str) -> Iterator[Op]:
        cursor = self.db.execute("SELECT data FROM ops WHERE town = ? ORDER BY seq", (town,))
        while batch := cursor.fetchmany(_BATCH_QUERY):
            for (data,) in batch:
                yield Op.from_entry(msgpack.unpackb(data, raw=False))


def _new_record_id() -> str:
    return str(uuid.uuid4())
