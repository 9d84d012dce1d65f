"""Which child of this hub serves which division code, and sealing work down to it.

A hub's children are the nodes and hubs it certified (its certificate table): a city
hub's children are its district hubs, a district hub's its town nodes (several
machines may serve one town). :class:`ChildDirectory` answers "who serves this
division code": the children of the most specific site whose jurisdiction contains
it (a town's nodes rather than the district around them). It is also the cross-check's
:class:`~hub.crosscheck.routing.SiteDirectory`.

:class:`DownRouter` collects entries for many children at once (spooled to disk, so a
baseline of a whole city never sits in memory) and seals each child's share as the
next bundles of its down stream (:func:`hub.downward.queue_down`), splitting large
shares at batch boundaries. :func:`route_down` is the one-call form for a few entries
about one division (a problem, a decision).

Where the child is itself a hub, it applies what is for itself and routes the rest
on in its own bundles, under its own signature (:mod:`hub.fromparent`), so work reaches
the town node through every hub in between, each hop verifying and applying it once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Final

import msgpack
from sqlalchemy.orm import Session

from hub.context import HubContext
from hub.crosscheck.routing import SiteRoute
from hub.downward import queue_down
from hub.store.models import DownBundle
from protocol.bundle import BundleKind
from protocol.divisions import contains, jurisdiction_prefix
from protocol.entries import EntryTag, encode_entry
from protocol.errors import DivisionCodeError, TrustError
from protocol.trust import Role

__all__ = [
    "HOUSEHOLD_FIELD",
    "Child",
    "ChildDirectory",
    "DownRouter",
    "children",
    "home_site",
    "route_down",
]

#: The record field holding the division code of the person's household registration.
HOUSEHOLD_FIELD: Final = "hukou_division_code"
#: Entries per down bundle before a child's share is split (at a batch boundary).
DEFAULT_BUNDLE_ENTRIES: Final = 20_000
_TOWN_DIGITS: Final = 9


@dataclass(frozen=True, slots=True, kw_only=True)
class Child:
    """A node or hub this hub certified, with a certificate valid now.

    Attributes:
        subject: its id (``370102001-01`` for a node, ``370102`` for a hub).
        site: its division code.
        role: ``node`` or ``hub``.
    """

    subject: str
    site: str
    role: Role


def children(ctx: HubContext, session: Session, *, at: datetime | None = None) -> tuple[Child, ...]:
    """The nodes and hubs this hub certified whose certificate is valid (and unrevoked)."""
    store = ctx.trust(session)
    moment = at or ctx.now()
    found: dict[str, Child] = {}
    for cert in store.certificates:
        if cert.issuer != ctx.site or cert.role not in (Role.NODE, Role.HUB):
            continue
        if cert.subject in found:
            continue
        try:
            store.validate(cert, moment)
        except TrustError:
            continue
        found[cert.subject] = Child(subject=cert.subject, site=cert.site, role=cert.role)
    return tuple(sorted(found.values(), key=lambda c: c.subject))


def home_site(division_code: object) -> str | None:
    """The site a division belongs to: its town (9 digits) or the code itself if shorter.

    Returns None for anything that is not a division code.
    """
    if not isinstance(division_code, str) or not (
        division_code.isascii() and division_code.isdigit()
    ):
        return None
    if len(division_code) not in (6, 9, 12):
        return None
    return division_code[:_TOWN_DIGITS]


class ChildDirectory:
    """Children by jurisdiction, most specific first.

    Implements :class:`hub.crosscheck.routing.SiteDirectory` (``route``).
    """

    __slots__ = ("_children", "_served")

    def __init__(self, found: Iterable[Child]) -> None:
        self._children = sorted(found, key=lambda c: (-len(jurisdiction_prefix(c.site)), c.subject))
        self._served: dict[str, tuple[str, ...]] = {}

    @classmethod
    def of(cls, ctx: HubContext, session: Session) -> ChildDirectory:
        """The directory of this hub's children now."""
        return cls(children(ctx, session))

    @property
    def subjects(self) -> tuple[str, ...]:
        """Every child, by id."""
        return tuple(sorted(c.subject for c in self._children))

    def serving(self, division_code: str) -> tuple[str, ...]:
        """The children serving ``division_code``: all of the most specific site holding it.

        Empty when no child's jurisdiction contains it (or it is not a division code).
        """
        known = self._served.get(division_code)
        if known is None:
            known = self._served[division_code] = self._serving(division_code)
        return known

    def _serving(self, division_code: str) -> tuple[str, ...]:
        best: str | None = None
        found: list[str] = []
        for child in self._children:
            try:
                inside = contains(child.site, division_code)
            except DivisionCodeError:
                return ()
            if not inside:
                continue
            if best is None:
                best = child.site
            if child.site != best:
                break
            found.append(child.subject)
        return tuple(found)

    def route(self, division_code: str) -> SiteRoute | None:
        """The most specific child site containing ``division_code``, and its children."""
        serving = self.serving(division_code)
        if not serving:
            return None
        site = next(c.site for c in self._children if c.subject == serving[0])
        return SiteRoute(site_code=site, node_ids=serving)


def route_down(
    ctx: HubContext,
    session: Session,
    *,
    division_code: str,
    entries: Sequence[object],
    kind: BundleKind,
    about: int | None = None,
) -> tuple[DownBundle, ...]:
    """Send ``entries`` down to every child serving ``division_code``, in one bundle each.

    A child hub passes them on to the children below it serving the same division
    (an entry's own division code decides there: a problem's ``division``, an op's
    record's household registration). Runs in the caller's transaction.

    Returns:
        The queued down bundles; empty when no child serves the division (the caller
        keeps such work as unrouted).
    """
    directory = ChildDirectory.of(ctx, session)
    return tuple(
        queue_down(ctx, session, recipient=child, kind=kind, entries=entries, about=about)
        for child in directory.serving(division_code)
    )


class _Spool:
    """One child's share: wire-form entries appended to a temporary file."""

    __slots__ = ("breaks", "count", "file")

    def __init__(self, directory: str) -> None:
        # Closed by DownRouter.close: the spool outlives any one block.
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self.count = 0
        #: Entry positions where a new bundle may start (a manifest's, a batch's first).
        self.breaks: list[int] = []

    def add(self, wire: list[Any], *, breakable: bool) -> None:
        if breakable:
            self.breaks.append(self.count)
        self.file.write(msgpack.packb(wire, use_bin_type=True))
        self.count += 1

    def chunks(self, limit: int) -> Iterator[Iterator[list[Any]]]:
        """The entries in bundles of at most ``limit`` (more if one batch is larger)."""
        self.file.seek(0)
        unpacker = msgpack.Unpacker(self.file, raw=False, strict_map_key=False,
                                    max_buffer_size=64 << 20)  # fmt: skip
        start = 0
        while start < self.count:
            yield (unpacker.unpack() for _ in range(self._end(start, limit) - start))
            start = self._end(start, limit)

    def _end(self, start: int, limit: int) -> int:
        if start + limit >= self.count:
            return self.count
        if not self.breaks:  # no batches: cut anywhere
            return start + limit
        inside = [cut for cut in self.breaks if start < cut <= start + limit]
        if inside:
            return max(inside)
        # One batch larger than the limit stays whole: its manifest and ops travel together.
        return next((cut for cut in self.breaks if cut > start), self.count)


class DownRouter:
    """Entries for many children, spooled, then sealed as one bundle (or a few) per child.

    Use as a context manager inside the caller's transaction; :meth:`seal` queues the
    bundles in that transaction.
    """

    def __init__(
        self,
        ctx: HubContext,
        session: Session,
        kind: BundleKind,
        *,
        directory: ChildDirectory | None = None,
        bundle_entries: int = DEFAULT_BUNDLE_ENTRIES,
    ) -> None:
        self._ctx = ctx
        self._session = session
        self._kind = kind
        self.directory = directory or ChildDirectory.of(ctx, session)
        self._limit = bundle_entries
        self._spools: dict[str, _Spool] = {}
        ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> DownRouter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for spool in self._spools.values():
            spool.file.close()
        self._spools.clear()

    def add_for(self, division_code: str, entry: object, *, starts_batch: bool = False) -> int:
        """Add an entry for the children serving ``division_code``; return how many."""
        serving = self.directory.serving(division_code)
        self.add_to(serving, entry, starts_batch=starts_batch)
        return len(serving)

    def add_to(self, subjects: Iterable[str], entry: object, *, starts_batch: bool = False) -> None:
        """Add an entry for the named children (typed, or already in wire form)."""
        wire = entry if isinstance(entry, list) else encode_entry(entry)
        for subject in subjects:
            spool = self._spools.get(subject)
            if spool is None:
                spool = self._spools[subject] = _Spool(str(self._ctx.config.scratch_dir))
            spool.add(wire, breakable=starts_batch or wire[0] == EntryTag.MANIFEST.value)

    def holders(self) -> tuple[str, ...]:
        """The children that have entries so far."""
        return tuple(sorted(self._spools))

    def seal(self, *, about: int | None = None) -> dict[str, tuple[DownBundle, ...]]:
        """Queue every child's share as its next down bundles; return them by child."""
        queued: dict[str, tuple[DownBundle, ...]] = {}
        for subject in sorted(self._spools):
            spool = self._spools[subject]
            queued[subject] = tuple(
                queue_down(
                    self._ctx,
                    self._session,
                    recipient=subject,
                    kind=self._kind,
                    entries=chunk,
                    about=about,
                )
                for chunk in spool.chunks(self._limit)
            )
        self.close()
        return queued
