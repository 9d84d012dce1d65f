"""What every hub service needs, built once per process: config, store, keys, trust."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from crypto.sign import SigningKey
from hub.config import HubConfig
from hub.errors import StoppingError
from hub.store.engine import Store
from hub.store.models import CertificateRow, HubState, RevocationRow
from node.services.stopping import Stopping
from protocol.divisions import Divisions
from protocol.schema import Schema
from protocol.trust import Certificate, RevocationList, TrustAnchor, TrustStore

__all__ = [
    "HubContext",
    "bump_trust_version",
    "get_state",
    "give_up_if_stopping",
    "set_state",
    "utc_now",
]

_TRUST_VERSION = "trust_version"


def utc_now() -> datetime:
    """The wall clock (the production default of ``HubContext.now``)."""
    return datetime.now(UTC)


@dataclass(slots=True, kw_only=True)
class HubContext:
    """One hub process's collaborators. Services take it as their first argument.

    Attributes:
        config: the settings.
        store: the database.
        keys: the hub's unlocked signing key and age identity.
        anchor: the province root.
        now: the wall clock (tests pass a fixed one).
        worker: this process's name in work claims.
        admin_key: the hub's own administrator key (``<site>/auto``, hub/upward/adminkey.py),
            when unlocked: it authorises packages under the ``auto`` policy.
        retired_ages: age identities of keys rotated away (hub/rotation.py), kept to open
            bundles sealed to them before the rotation.
        stopping: set when ``hub run`` begins to stop (SIGTERM, Ctrl-C): no bundle is
            claimed any more, a step in progress gives up between two merge chunks and
            the scheduled jobs between two of their transactions (docs/hub.md §7).
    """

    config: HubConfig
    store: Store
    keys: KeyPair
    anchor: TrustAnchor
    schema: Schema = field(default_factory=Schema.default)
    divisions: Divisions = field(default_factory=Divisions.default)
    now: Callable[[], datetime] = utc_now
    worker: str = "hub"
    admin_key: SigningKey | None = None
    retired_ages: tuple[AgeIdentity, ...] = ()
    stopping: Stopping = field(default_factory=Stopping)
    _trust: tuple[str, TrustStore] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def site(self) -> str:
        """The hub's site code, which is also its subject id and node id."""
        return self.config.site

    @property
    def identities(self) -> list[AgeIdentity]:
        """The age identities that open bundles sealed to this hub: current key first."""
        return [self.keys.age, *self.retired_ages]

    def trust(self, session: Session) -> TrustStore:
        """The trust store: the anchor, every known certificate and revocation list.

        Rebuilt only when the stored material changed (``trust_version``).
        """
        version = get_state(session, _TRUST_VERSION) or "0"
        with self._lock:
            cached = self._trust
        if cached is not None and cached[0] == version:
            return cached[1]
        certs = [
            Certificate.from_bytes(text)
            for text in session.scalars(sa.select(CertificateRow.statement)).all()
        ]
        store = TrustStore(self.anchor).with_certificates(certs)
        for text in session.scalars(sa.select(RevocationRow.statement)).all():
            store = store.with_revocation_list(RevocationList.from_bytes(text))
        with self._lock:
            self._trust = (version, store)
        return store


def give_up_if_stopping(ctx: HubContext, what: str) -> None:
    """A safe point of long work (between two merge chunks, two job steps): raise if the
    hub has begun to stop, so the work's open transaction is rolled back there.

    Raises:
        StoppingError: ``ctx.stopping`` is set; the message says what was given up.
    """
    if ctx.stopping.is_set():
        raise StoppingError(f"the hub is stopping: {what} was given up")


def get_state(session: Session, key: str) -> str | None:
    row = session.get(HubState, key)
    return None if row is None else row.value


def set_state(session: Session, key: str, value: str) -> None:
    row = session.get(HubState, key)
    if row is None:
        session.add(HubState(key=key, value=value))
    else:
        row.value = value
    session.flush()


def bump_trust_version(session: Session) -> None:
    """Mark the trust material changed (every process rebuilds its trust store).

    The version is a fresh random token, not a counter: a bump made in a transaction
    that is rolled back (a package staged for review installs the certificates it
    carries, then rolls back) must never name a store again, and a counter would come
    back to the same number with other contents.
    """
    set_state(session, _TRUST_VERSION, secrets.token_hex(8))
