"""What ``muster hub status`` shows: the scheduled jobs, the stream positions up and
down, and what waits in each queue. Read from the store, so it works beside a running
hub (jobs keep their runs in ``hub_state``: hub/scheduler.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from hub.config import HubConfig
from hub.scheduler import JOB_PREFIX, JobStatus
from hub.store import Store
from hub.store.models import (
    BundleRow,
    CertificateRow,
    DownBundle,
    HubState,
    OpBatch,
    StreamRow,
    UpBundle,
)
from hub.upward.oplog import UPWARD_SOURCES, get_cursor
from protocol.trust import Role

__all__ = ["HubStatus", "StreamInfo", "format_status", "hub_status"]

_NONE: Final = "-"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamInfo:
    """One stream: its peer, the last sequence number, and bundles by state."""

    peer: str
    last_seq: int
    states: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HubStatus:
    """The hub's jobs, streams and queues (ids and counts only)."""

    site: str
    parent: str | None
    parent_url: str
    jobs: tuple[JobStatus, ...]
    pipeline: tuple[tuple[str, int], ...]
    up: StreamInfo | None
    unpackaged_ops: int
    from_parent: int | None
    down: tuple[StreamInfo, ...]


def _counts(rows: Iterable[Sequence[Any]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(state), int(n)) for state, n in rows))


def hub_status(config: HubConfig, store: Store) -> HubStatus:
    """Read the hub's status from its store (no key is needed: it runs beside the hub)."""
    site = config.site
    with store.read() as session:
        own = session.scalars(
            sa.select(CertificateRow)
            .where(CertificateRow.subject == site, CertificateRow.role == Role.HUB.value)
            .order_by(CertificateRow.not_before.desc(), CertificateRow.not_after.desc())
            .limit(1)
        ).first()
        parent = own.issuer if own is not None and "/" not in own.issuer else None
        jobs = tuple(
            JobStatus.from_json(key[len(JOB_PREFIX) :], value)
            for key, value in session.execute(
                sa.select(HubState.key, HubState.value)
                .where(HubState.key.startswith(JOB_PREFIX))
                .order_by(HubState.key)
            ).all()
        )
        pipeline = _counts(
            session.execute(
                sa.select(BundleRow.state, sa.func.count()).group_by(BundleRow.state)
            ).all()
        )
        streams = {
            (s.sender, s.recipient): s.last_seq for s in session.scalars(sa.select(StreamRow))
        }
        up = None
        if parent is not None:
            up = StreamInfo(
                peer=parent,
                last_seq=streams.get((site, parent), 0),
                states=_counts(
                    session.execute(
                        sa.select(UpBundle.state, sa.func.count()).group_by(UpBundle.state)
                    ).all()
                ),
            )
        cursor = get_cursor(session)
        waiting = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OpBatch.count), 0)).where(
                OpBatch.id >= cursor.batch, OpBatch.source.in_(UPWARD_SOURCES)
            )
        )
        down_states: dict[str, list[tuple[str, int]]] = {}
        for recipient, state, n in session.execute(
            sa.select(DownBundle.recipient, DownBundle.state, sa.func.count()).group_by(
                DownBundle.recipient, DownBundle.state
            )
        ).all():
            down_states.setdefault(recipient, []).append((state, n))
        down = tuple(
            StreamInfo(peer=child, last_seq=seq, states=_counts(down_states.get(child, [])))
            for (sender, child), seq in sorted(streams.items())
            if sender == site and child != parent
        )
        from_parent = streams.get((parent, site)) if parent is not None else None
    return HubStatus(
        site=site,
        parent=parent,
        parent_url=config.parent_url,
        jobs=jobs,
        pipeline=pipeline,
        up=up,
        unpackaged_ops=max(0, int(waiting or 0) - cursor.offset),
        from_parent=from_parent,
        down=down,
    )


def _states(states: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{state} {n}" for state, n in states) or "none"


def format_status(status: HubStatus) -> str:
    """The status as the command prints it."""
    lines = [f"hub {status.site}"]
    if status.parent is None:
        lines.append("parent: none (the province, or not enrolled yet)")
    else:
        lines.append(f"parent: {status.parent} at {status.parent_url or '(USB only)'}")
    lines.append("jobs:")
    if not status.jobs:
        lines.append("  (none has run yet)")
    for job in status.jobs:
        result = f"error {job.last_error}" if job.last_error else "ok"
        lines.append(
            f"  {job.name}: {job.schedule or _NONE}; last run {job.last_finished or _NONE} "
            f"({result}); next run {job.next_run or _NONE}; runs {job.runs}, "
            f"failures {job.failures}"
        )
    lines.append(f"pipeline: {_states(status.pipeline)}")
    if status.up is not None:
        lines.append(
            f"up stream to {status.up.peer}: last seq {status.up.last_seq}; "
            f"{_states(status.up.states)}; ops not packaged yet {status.unpackaged_ops}"
        )
    if status.from_parent is not None:
        lines.append(f"down stream from {status.parent}: last seq {status.from_parent}")
    lines.extend(
        f"down stream to {stream.peer}: last seq {stream.last_seq}; {_states(stream.states)}"
        for stream in status.down
    )
    return "\n".join(lines) + "\n"
