"""What the scenario's steps share: the province, the launcher, the plan and the ledger.

The :class:`Ledger` is the scenario's own account of what happened, written as it
happens: every record a town saved (its record id, categories and ID number), how many
bundles each node has sealed, and the facts of each planted event (which record, which
bundle, what the hub answered). It is saved as ``ledger.json``; the demo's test checks
the province against the towns' own stores and this ledger, never against the summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from hub.demo.errors import TopologyError
from hub.demo.launcher import Launcher
from hub.demo.layout import DemoLayout
from hub.demo.records import PlannedRecord
from hub.demo.topology import Province, Site
from node.fsutil import write_atomic
from protocol.schema import Schema

__all__ = ["MIN_PER_TOWN", "DemoOptions", "Ledger", "SavedRecord", "World"]

#: Six towns times three records cover the 16 subject categories.
MIN_PER_TOWN: Final = 3
MAX_PER_TOWN: Final = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    """The demo's command-line choices."""

    per_town: int = 8
    seed: int = 2026
    keep: bool = False

    def __post_init__(self) -> None:
        if not MIN_PER_TOWN <= self.per_town <= MAX_PER_TOWN:
            raise TopologyError(
                f"--records: expected {MIN_PER_TOWN} to {MAX_PER_TOWN} records per town, "
                f"got {self.per_town}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedRecord:
    """A record a town saved: the node's record id for a planned person."""

    key: str
    node: str
    record_id: str
    categories: tuple[str, ...]
    id_number: str
    by_card: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "node": self.node,
            "record_id": self.record_id,
            "categories": list(self.categories),
            "id_number": self.id_number,
            "by_card": self.by_card,
        }


@dataclass(slots=True)
class Ledger:
    """The scenario's account of what happened (see the module docstring)."""

    records: dict[str, SavedRecord] = field(default_factory=dict)
    sealed: dict[str, int] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    def saved(self, record: SavedRecord) -> None:
        self.records[record.key] = record

    def of(self, node: str) -> list[SavedRecord]:
        return [r for r in self.records.values() if r.node == node]

    def sealed_one(self, node: str) -> int:
        """Count a bundle the node sealed; return its sequence number."""
        self.sealed[node] = self.sealed.get(node, 0) + 1
        return self.sealed[node]

    def event(self, name: str, **facts: Any) -> None:
        self.events.setdefault(name, {}).update(facts)

    def to_json(self) -> bytes:
        document = {
            "records": [r.to_dict() for r in self.records.values()],
            "sealed": self.sealed,
            "events": self.events,
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode()


@dataclass(slots=True, kw_only=True)
class World:
    """Everything the steps act on (one per demo run)."""

    province: Province
    layout: DemoLayout
    options: DemoOptions
    launcher: Launcher
    plan: tuple[PlannedRecord, ...]
    schema: Schema
    today: date
    note: Callable[[str], None]
    ledger: Ledger = field(default_factory=Ledger)
    #: When the run began (``time.monotonic()``), for the elapsed time.
    started: float = 0.0
    #: The summary block printed after the steps (the last step fills it).
    summary_lines: list[str] = field(default_factory=list)

    @property
    def towns(self) -> tuple[Site, ...]:
        """The collection points' first machines (the towns of the summary)."""
        return tuple(s for s in self.province.nodes if s.ident.endswith("-01"))

    @property
    def spare_machines(self) -> tuple[Site, ...]:
        """Second machines at a town (the demo's lost laptop)."""
        return tuple(s for s in self.province.nodes if not s.ident.endswith("-01"))

    def planned(self, label: str, node: str | None = None) -> list[PlannedRecord]:
        prefix = f"{label}/" + (f"{node}#" if node else "")
        return [p for p in self.plan if p.key.startswith(prefix)]

    def save_ledger(self) -> None:
        write_atomic(self.layout.ledger, self.ledger.to_json(), mode=0o644)
