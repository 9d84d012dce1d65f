"""Sending findings down: ``problems`` bundles to the office of the person's household
registration.

Each open finding not sent yet goes, as its ``problem`` entry, to the children of
this hub that serve its division (:class:`hub.routing.ChildDirectory`: a town's
nodes, or the child hub on the way to them). The entries are spooled and sealed
per child as the next bundles of its down stream (:class:`hub.routing.DownRouter`,
``problems_per_bundle`` entries each); a child hub routes them on under its own
signature (:mod:`hub.reissue`), so a finding made at a city reaches the town node
through the district, verified and applied once at each hop. Marking the findings
sent and queueing the bundles are one transaction.

A finding whose division no child serves stays *unrouted* (the console lists it).
A finding sent again after an administrator rejected its answer carries the reason
in its ``details`` (``rejection``).

A finding that closes (fixed, accepted, withdrawn) after it was sent goes down once
more as a ``closure`` entry to the children that got it, so the collector's to-do
item closes too; a finding sent again later is closed again when it closes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from hub.audit import append_audit
from hub.context import HubContext
from hub.crosscheck.lifecycle import FindingState
from hub.routing import ChildDirectory, DownRouter
from hub.store.crosscheck_models import FindingRow
from protocol.bundle import BundleKind
from protocol.entries import ClosureResolution, Problem, ProblemClosure

__all__ = ["SendSummary", "send_problems"]

_REJECTION: Final = "rejection"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendSummary:
    """What a send did: findings and closures sent, the bundles queued per child, findings
    unrouted."""

    sent: int
    bundles: tuple[tuple[str, int], ...]
    unrouted: int
    closures: int = 0


def _entry(row: FindingRow) -> Problem:
    body: dict[str, Any] = dict(row.body)
    if row.rejection:
        body["details"] = {**body.get("details", {}), _REJECTION: row.rejection[:500]}
    return Problem(body=body)


def _closure(row: FindingRow) -> ProblemClosure | None:
    if row.resolution is None or row.closed_at is None:
        return None  # not closed after all (the query asks for closed rows)
    return ProblemClosure(
        finding_id=row.finding_id,
        resolution=ClosureResolution(row.resolution),
        division=row.division_code,
        record_id=row.record_id,
        at=row.closed_at,
    )


def send_problems(ctx: HubContext, *, by: str = "system") -> SendSummary:
    """Seal every open, unsent finding of this hub for the children serving its division,
    and the closure of every finding closed since it was sent."""
    sent = unrouted = closures = 0
    now = ctx.now()
    with ctx.store.write() as session:
        directory = ChildDirectory.of(ctx, session)
        rows = session.scalars(
            sa.select(FindingRow)
            .where(
                FindingRow.origin == ctx.site,
                FindingRow.state == FindingState.OPEN.value,
                FindingRow.sent_at.is_(None),
            )
            .order_by(FindingRow.division_code, FindingRow.finding_id)
            .with_for_update()
        )
        closed = session.scalars(
            sa.select(FindingRow)
            .where(
                FindingRow.origin == ctx.site,
                FindingRow.state == FindingState.CLOSED.value,
                FindingRow.sent_at.is_not(None),
                FindingRow.closure_sent_at.is_(None),
            )
            .order_by(FindingRow.division_code, FindingRow.finding_id)
            .with_for_update()
        ).all()
        limit = ctx.config.crosscheck.problems_per_bundle
        with DownRouter(ctx, session, BundleKind.PROBLEMS, directory=directory,
                        bundle_entries=limit) as router:  # fmt: skip
            for row in rows:
                route = directory.route(row.division_code) if row.division_code else None
                if route is None:
                    unrouted += 1
                    continue
                router.add_to(route.node_ids, _entry(row))
                row.routed_to, row.sent_at = route.site_code, now
                row.closure_sent_at = None  # (sent again) its next closure is news
                sent += 1
            for row in closed:
                # To the children serving its division now: the office that holds the item.
                route = directory.route(row.division_code) if row.division_code else None
                entry = _closure(row)
                if route is None or entry is None:
                    continue  # nobody below to tell (yet): kept for the next send
                router.add_to(route.node_ids, entry)
                row.closure_sent_at = now
                closures += 1
            queued = router.seal()
        summary = SendSummary(
            sent=sent,
            bundles=tuple(sorted((child, len(b)) for child, b in queued.items())),
            unrouted=unrouted,
            closures=closures,
        )
        if sent or unrouted or closures:
            append_audit(session, at=now, actor=by, action="crosscheck.sent", subject=ctx.site,
                         details={"findings": sent, "unrouted": unrouted, "closures": closures,
                                  "bundles": sum(n for _c, n in summary.bundles)})  # fmt: skip
    return summary
