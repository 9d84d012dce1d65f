"""The upward jobs of a hub's scheduler (hub/scheduler.py): one call each.

- ``package``: :func:`package_job`, the ops merged since the last package made into
  packages (nothing to do for a hub without a parent: the province, or one not
  enrolled yet);
- ``sync``: :func:`sync_job`, one sync with the parent at ``parent_url`` (packages up,
  down bundles through ``down``, receipts); a run whose parent refused something fails,
  so the status shows why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from crypto.errors import StateError
from hub.context import HubContext, give_up_if_stopping
from hub.errors import StoppingError
from hub.scheduler import JobSpec
from hub.upward.building import build_packages
from hub.upward.parent import parent_of
from hub.upward.port import DownHalf, sync_with_parent
from node.services.stopping import unless_stopping
from node.services.values import SyncReport

__all__ = ["PACKAGE_JOB", "SYNC_JOB", "package_job", "sync_job", "upward_jobs"]

PACKAGE_JOB = "package"
SYNC_JOB = "sync"

#: Makes the down half of the sync for a hub (hub/fromparent.py's ``ParentDownPort``).
DownFactory = Callable[[HubContext], DownHalf]


def package_job(ctx: HubContext) -> int:
    """One packaging run; return how many packages it made."""
    with ctx.store.read() as session:
        if parent_of(ctx, session) is None:
            return 0
    return len(build_packages(ctx))


def sync_job(ctx: HubContext, down: DownFactory) -> SyncReport:
    """One sync with the parent.

    Raises:
        StateError: the parent refused a package or we refused a down bundle (why is in
            the message); every other failure of :func:`hub.upward.sync_with_parent`.
        StoppingError: the hub began to stop; the sync was given up.
    """
    give_up_if_stopping(ctx, "the sync with the parent")
    given_up = "the hub is stopping: the sync with the parent was given up"
    report = asyncio.run(
        unless_stopping(
            ctx.stopping, sync_with_parent(ctx, down(ctx)), lambda: StoppingError(given_up)
        )
    )
    if report.error is not None:
        raise StateError(f"sync with the parent: {report.error}")
    return report


def upward_jobs(ctx: HubContext, down: DownFactory) -> list[JobSpec]:
    """The package job, and the sync job when ``parent_url`` is set."""
    config = ctx.config
    specs = [
        JobSpec(
            name=PACKAGE_JOB,
            call=lambda: package_job(ctx),
            seconds=config.package_interval_seconds,
        )
    ]
    if config.parent_url:
        specs.append(
            JobSpec(
                name=SYNC_JOB,
                call=lambda: sync_job(ctx, down),
                seconds=config.sync_interval_seconds,
            )
        )
    return specs
