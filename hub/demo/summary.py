"""The province summary the demo prints at the end.

Figures come from the hubs' admin JSON API where it has them (bundles and their states,
findings, resolutions, rejections) and from their stores, opened read-only, for what the
API does not give (records counted by city and category, bundles by how they came,
down bundles). Records are counted where they are held at the top: the province hub once
packages reach it (once it holds any record), otherwise the district hubs (the line
says which).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.demo.http import HubAdmin
from hub.demo.launcher import Launcher
from hub.demo.topology import Province
from protocol.ops import STATUS_LIVE
from protocol.schema import CATEGORY_FIELD, Schema

__all__ = ["ProvinceSummary", "gather_summary", "read_only_engine"]


def read_only_engine(database: Path) -> sa.Engine:
    """A SQLAlchemy engine that can only read a SQLite store (``mode=ro``)."""
    return sa.create_engine(f"sqlite+pysqlite:///file:{database}?mode=ro&uri=true")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvinceSummary:
    """What the province holds and what happened on the way (no personal data)."""

    counted_at: str
    by_city: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...]
    persons: int
    conflicts_resolved: int
    duplicates_merged: int
    rejected_by_reviewers: int
    refused_at_intake: int
    bundles_up: tuple[tuple[str, int], ...]
    bundles_down: tuple[tuple[str, int], ...]
    elapsed_seconds: float
    #: Cross-check findings per hub that made them, by state (``open``, ``answered``, ``closed``).
    crosscheck: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()

    def lines(self, province: Province, schema: Schema) -> list[str]:
        name = {c.key: c.name_zh for c in schema.categories}
        out = [f"Province summary — records counted at {self.counted_at}:"]
        totals: Counter[str] = Counter()
        for city, count, categories in self.by_city:
            totals.update(dict(categories))
            out.append(f"  {province.site(city).name} {city}: {count} persons")
            held = dict(categories)
            out.append("      " + ", ".join(f"{name[k]} {held[k]}" for k in name if k in held))
        out.append(f"  {self.persons} persons in {len(totals)} categories:")
        out.append("      " + ", ".join(f"{name[k]} {totals[k]}" for k in name if totals[k]))
        out.append(
            f"  conflicts resolved {self.conflicts_resolved}, duplicates merged "
            f"{self.duplicates_merged}, batches rejected by reviewers "
            f"{self.rejected_by_reviewers}, bundles refused at intake {self.refused_at_intake}"
        )
        up = ", ".join(f"{n} {how}" for how, n in self.bundles_up)
        down = ", ".join(f"{n} {kind}" for kind, n in self.bundles_down)
        out.append(
            f"  bundles moved: {sum(n for _, n in self.bundles_up)} up ({up}); "
            f"{sum(n for _, n in self.bundles_down)} down ({down})"
        )
        for hub, states in self.crosscheck:
            counts = dict(states)
            out.append(
                f"  cross-check findings at {province.site(hub).name} {hub}: "
                f"{sum(counts.values())} (open {counts.get('open', 0)}, answered "
                f"{counts.get('answered', 0)}, closed {counts.get('closed', 0)})"
            )
        minutes, seconds = divmod(round(self.elapsed_seconds), 60)
        out.append(f"  elapsed: {minutes} min {seconds:02d} s")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "counted_at": self.counted_at,
            "by_city": {city: {"persons": n, "categories": dict(c)} for city, n, c in self.by_city},
            "persons": self.persons,
            "conflicts_resolved": self.conflicts_resolved,
            "duplicates_merged": self.duplicates_merged,
            "rejected_by_reviewers": self.rejected_by_reviewers,
            "refused_at_intake": self.refused_at_intake,
            "bundles_up": dict(self.bundles_up),
            "bundles_down": dict(self.bundles_down),
            "elapsed_seconds": round(self.elapsed_seconds, 1),
            "crosscheck": {hub: dict(states) for hub, states in self.crosscheck},
        }


async def _all_bundles(admin: HubAdmin) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await admin.get("/api/v1/admin/bundles", after=after, limit=500))["bundles"]
        if not page:
            return found
        found.extend(page)
        if len(page) < 500:
            return found
        after = max(b["row"] for b in page)


def _store_figures(database: Path) -> tuple[list[tuple[str, str, Any]], Counter[str], Counter[str]]:
    """``(site, status, categories)`` of every record, up bundles by source, down by kind."""
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            records = [
                (str(site), str(status), data)
                for site, status, data in connection.execute(
                    sa.text("SELECT site, status, data FROM records")
                )
            ]
            sources = Counter(
                {str(s): int(n) for s, n in connection.execute(
                    sa.text("SELECT source, count(*) FROM bundles GROUP BY source")
                )}
            )  # fmt: skip
            down = Counter(
                {str(k): int(n) for k, n in connection.execute(
                    sa.text("SELECT kind, count(*) FROM down_bundles GROUP BY kind")
                )}
            )  # fmt: skip
    finally:
        engine.dispose()
    return records, sources, down


def _categories(data: Any) -> Sequence[str]:
    values = json.loads(data) if isinstance(data, str) else data
    found = values.get(CATEGORY_FIELD) if isinstance(values, dict) else None
    return [str(c) for c in found] if isinstance(found, list) else []


def _findings_by_state(database: Path) -> tuple[tuple[str, int], ...]:
    """A hub's cross-check findings counted by state (none for a store without them)."""
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT state, count(*) FROM crosscheck_findings GROUP BY state")
            ).all()
    finally:
        engine.dispose()
    return tuple(sorted((str(state), int(count)) for state, count in rows))


def _holds_records(database: Path) -> bool:
    engine = read_only_engine(database)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(sa.text("SELECT count(*) FROM records")).scalar())
    finally:
        engine.dispose()


async def gather_summary(launcher: Launcher, *, elapsed_seconds: float) -> ProvinceSummary:
    """Ask every hub's admin API, and read their stores, for the summary."""
    province = launcher.province
    hubs = [s.ident for s in province.hubs]
    top: Iterable[str]
    root = province.root.ident
    if _holds_records(launcher.layout.hub_dir(root) / "hub.db"):
        top, counted_at = [root], f"the province hub {root}"
    else:
        top = [
            s.ident for s in province.hubs if any(not c.is_hub for c in province.children(s.ident))
        ]
        counted_at = (
            f"the {len(list(top))} district hubs ({', '.join(top)}): "
            "packages up to the province are not available yet"
        )
    resolutions: Counter[str] = Counter()
    rejected = refused = 0
    sources: Counter[str] = Counter()
    down: Counter[str] = Counter()
    by_city: dict[str, Counter[str]] = {}
    persons: Counter[str] = Counter()
    crosscheck: list[tuple[str, tuple[tuple[str, int], ...]]] = []
    for hub in hubs:
        async with launcher.admin(hub) as admin:
            bundles = await _all_bundles(admin)
        for bundle in bundles:
            summary = bundle.get("summary") or {}
            resolutions.update(r["kind"] for r in summary.get("resolutions", []))
            if bundle["state"] == "rejected":
                if bundle.get("reason_code") == "rejected_by_reviewer":
                    rejected += 1
                else:
                    refused += 1
        records, hub_sources, hub_down = _store_figures(launcher.layout.hub_dir(hub) / "hub.db")
        sources.update(hub_sources)
        down.update(hub_down)
        findings = _findings_by_state(launcher.layout.hub_dir(hub) / "hub.db")
        if findings:
            crosscheck.append((hub, findings))
        if hub not in top:
            continue
        for site, status, data in records:
            if status != STATUS_LIVE:
                continue
            city = site[:4] + "00"
            persons[city] += 1
            by_city.setdefault(city, Counter()).update(_categories(data))
    return ProvinceSummary(
        counted_at=counted_at,
        by_city=tuple(
            (city, persons[city], tuple(sorted(by_city[city].items()))) for city in sorted(by_city)
        ),
        persons=sum(persons.values()),
        conflicts_resolved=resolutions["set"],
        duplicates_merged=resolutions["merge"],
        rejected_by_reviewers=rejected,
        refused_at_intake=refused,
        bundles_up=tuple(
            sorted({"by HTTP" if k == "http" else f"by {k}": n for k, n in sources.items()}.items())
        ),
        bundles_down=tuple(sorted(down.items())),
        elapsed_seconds=elapsed_seconds,
        crosscheck=tuple(crosscheck),
    )
