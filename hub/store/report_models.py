"""The reports' tables in the hub store (docs/reports.md §8).

- ``report_facts``: one row per live record, what the reports count of it
  (household town, categories, collection day, empty required fields), kept by
  :mod:`hub.reports.storefacts` from the merged op batches, so the figures come
  from ``GROUP BY`` over short columns instead of every record's JSON;
- ``report_expected``: an administrator's expected people per region and
  category (the baseline's come from the baseline records' facts);
- ``report_phases``: the campaign's phases and deadlines;
- ``report_snapshots``: the daily snapshots (``Snapshot.to_json``);
- ``report_narratives``: the administrator's narrative per region and period.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base
from hub.store.types import UtcDateTime

__all__ = [
    "ExpectedRow",
    "FactsRow",
    "NarrativeRow",
    "PhaseRow",
    "SnapshotStoreRow",
]


class FactsRow(Base):
    """What the reports know of one live record (``hub.reports.factrules.FactRow``)."""

    __tablename__ = "report_facts"

    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    #: The collecting node's site (``records.site``): what account scopes filter on.
    site: Mapped[str] = mapped_column(sa.String(12), index=True)
    #: The household town (9 digits) or county (6), where the person counts.
    region: Mapped[str] = mapped_column(sa.String(12))
    #: Category keys, sorted, joined with ``|``.
    categories: Mapped[str] = mapped_column(sa.String(400))
    collected_on: Mapped[date | None] = mapped_column(sa.Date())
    #: Conditional fields that apply to this record, joined with ``|``.
    extra: Mapped[str] = mapped_column(sa.String(400))
    #: Required fields left empty, joined with ``|``.
    missing: Mapped[str] = mapped_column(sa.Text())
    #: Created by a baseline import: the person is *expected*; collected once the
    #: record has a collection date.
    baseline: Mapped[bool] = mapped_column(sa.Boolean(), default=False)


class ExpectedRow(Base):
    """An administrator's expected people of a region (and category; ``""``: any category).

    It replaces the count the baseline records give for the same region and category.
    """

    __tablename__ = "report_expected"

    region: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger)
    #: The region's name when the division table cannot give it (towns).
    region_name: Mapped[str | None] = mapped_column(sa.String(200))
    set_by: Mapped[str] = mapped_column(sa.String(80))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PhaseRow(Base):
    """A phase of the campaign (``collection`` or ``cross_check``) and its deadline."""

    __tablename__ = "report_phases"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    starts: Mapped[date] = mapped_column(sa.Date())
    deadline: Mapped[date] = mapped_column(sa.Date())
    set_by: Mapped[str] = mapped_column(sa.String(80))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SnapshotStoreRow(Base):
    """One day's figures of the hub (``Snapshot.to_json``), the latest of the day."""

    __tablename__ = "report_snapshots"

    root: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())
    body: Mapped[str] = mapped_column(sa.Text())


class NarrativeRow(Base):
    """The narrative an administrator wrote for a region's report of a period."""

    __tablename__ = "report_narratives"

    root: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text())
    updated_by: Mapped[str] = mapped_column(sa.String(80))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
