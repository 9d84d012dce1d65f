"""An unlocked node: its configuration, keys, store, clock, schema and trust anchor.

:func:`open_node` is what ``muster node run`` (and every other command that touches
the store) does first: read node.toml, unlock the keystore with the node passphrase
(which also holds the store key), open the encrypted store, migrate it, and clear the
scratch directory of anything a crash left behind.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crypto.age import AgeIdentity
from crypto.errors import InputError, KeystoreError
from crypto.keys import KeyPair
from crypto.keystore import open_keystore
from node.collector.card import CardRead
from node.config import NodeConfig
from node.errors import ConfigError, StoppingError, StoreError
from node.keyfiles import retired_identities
from node.services.stopping import Stopping
from node.store import migrate, open_engine
from node.store.models import NodeStateRow
from protocol.divisions import Divisions
from protocol.hlc import HybridClock, Timestamp
from protocol.schema import Schema
from protocol.trust.anchor import anchor_from_bytes
from protocol.trust.store import TrustAnchor

__all__ = [
    "STORE_KEY_SECRET",
    "CardSource",
    "NodeClock",
    "NodeContext",
    "build_context",
    "load_divisions",
    "load_schema",
    "open_node",
    "utc_now",
]

#: The keystore secret holding the store's 32-byte SQLCipher key (hex).
STORE_KEY_SECRET: Final = "store_key"  # noqa: S105 - a secret's name, not a secret
#: Reads one card within a timeout (seconds); the collector's ``Reader.wait_for_card``.
CardSource = Callable[[float], CardRead]


def utc_now() -> datetime:
    """The wall clock, as an aware UTC datetime."""
    return datetime.now(UTC)


class NodeClock:
    """The node's hybrid logical clock, shared by every thread, persisted in node_state.

    ``tick(session)`` stamps a new op and saves the reading in the same transaction,
    so a restart (even after a wall clock that stepped back) never reuses a time.
    """

    __slots__ = ("_clock", "_lock", "_now")

    def __init__(
        self, node_id: str, now: Callable[[], datetime], last: Timestamp | None, drift_ms: int
    ) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._clock = HybridClock(
            node_id,
            lambda: int(self._now().timestamp() * 1000),
            max_drift_ms=drift_ms,
            last=last,
        )

    def tick(self, session: Session) -> Timestamp:
        """A timestamp for a new local op, saved with the caller's transaction."""
        with self._lock:
            stamp = self._clock.now()
        _save_clock(session, stamp)
        return stamp

    def observe(self, session: Session, remote: Timestamp) -> Timestamp:
        """Fold in a received op's time (raises ``OpError`` beyond the allowed drift)."""
        with self._lock:
            stamp = self._clock.observe(remote)
        _save_clock(session, stamp)
        return stamp


def _save_clock(session: Session, stamp: Timestamp) -> None:
    row = session.get(NodeStateRow, 1)
    if row is not None:
        row.hlc_last = stamp.encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeContext:
    """Everything the services need, unlocked. One per process.

    Attributes:
        config: the node's settings.
        keys: the node's signing key and age identity.
        engine: the encrypted store (migrated).
        anchor: the province root anchor the node was set up with.
        schema: the record schema (packaged tables, or the deployment's override).
        divisions: the division-code table validation uses.
        clock: the node's hybrid logical clock.
        now: the wall clock (aware UTC); tests pass a fixed one.
        rng: random bytes (batch and bundle ids, record ids, tokens).
        card_source: reads an ID card; None when no reader is configured.
        retired_ages: age identities of keys rotated away, kept to open bundles sealed to
            them before the rotation.
        stopping: set when the agent begins to stop; long waits give up on it.
    """

    config: NodeConfig
    keys: KeyPair
    engine: Engine
    anchor: TrustAnchor
    schema: Schema
    divisions: Divisions
    clock: NodeClock
    now: Callable[[], datetime] = utc_now
    rng: Callable[[int], bytes] = secrets.token_bytes
    card_source: CardSource | None = None
    retired_ages: tuple[AgeIdentity, ...] = ()
    stopping: Stopping = dataclasses.field(default_factory=Stopping)

    @property
    def identities(self) -> list[AgeIdentity]:
        """The age identities that open bundles sealed to this node: current key first."""
        return [self.keys.age, *self.retired_ages]

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @property
    def site(self) -> str:
        return self.config.site

    def person_subject(self, login: str) -> str:
        """The id an account signs and authors ops as (``370102001/li.na``)."""
        return f"{self.config.site}/{login}"


def load_schema(config: NodeConfig) -> Schema:
    """The packaged schema, or the deployment's tables from ``schema_dir`` laid over it.

    Raises:
        ConfigError: ``schema_dir`` cannot be read.
        SchemaDefinitionError: its tables are inconsistent.
    """
    if config.schema_dir is None:
        return Schema.default()
    try:
        tables = {p.name: p.read_text("utf-8") for p in sorted(config.schema_dir.glob("*.csv"))}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"schema_dir {config.schema_dir}: cannot read the tables") from exc
    if not tables:
        raise ConfigError(f"schema_dir {config.schema_dir}: no .csv tables in it")
    return Schema.from_tables(tables, name=config.schema_dir.name or "deployment")


def load_divisions(config: NodeConfig) -> Divisions:
    """The packaged division codes, or ``divisions_file`` laid over them.

    Raises:
        ConfigError: the file cannot be read.
    """
    base = Divisions.default()
    if config.divisions_file is None:
        return base
    try:
        text = config.divisions_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"divisions_file {config.divisions_file}: cannot read it") from exc
    return Divisions.from_csv_text(text, base=base)


def unlock_keystore(
    config: NodeConfig, passphrase: bytes
) -> tuple[KeyPair, bytes, tuple[AgeIdentity, ...]]:
    """Open the node keystore: the node's keys, the store key, and the age identities of
    keys rotated away (node/services/rotation.py).

    Raises:
        WrongPassphraseError: the passphrase is wrong.
        KeystoreError: the keystore is damaged or lacks the store key.
        ConfigError: there is no keystore in the data directory.
    """
    try:
        data = (config.keys_dir / "keystore.json").read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"no keystore in {config.keys_dir}: run `muster node init`") from exc
    found = open_keystore(data, passphrase)
    try:
        store_key = bytes.fromhex(found[STORE_KEY_SECRET])
    except (KeyError, ValueError) as exc:
        raise KeystoreError("keystore: the store key is missing or malformed") from exc
    return KeyPair.from_secrets(found), store_key, retired_identities(found)


def read_anchor(path: Path) -> TrustAnchor:
    """Read a root anchor file.

    Raises:
        InputError: the file cannot be read.
        TrustError: it is not a valid anchor.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read root anchor {path}: {exc.strerror}") from exc
    return anchor_from_bytes(data)


def open_node(
    data_dir: Path,
    passphrase: bytes,
    *,
    now: Callable[[], datetime] = utc_now,
    rng: Callable[[int], bytes] = secrets.token_bytes,
    environ: Mapping[str, str] | None = None,
    card_source: CardSource | None = None,
) -> NodeContext:
    """Unlock the node in ``data_dir``: config, keys, store (migrated), clock, schema.

    Raises:
        ConfigError: node.toml or the keystore is missing or wrong.
        WrongPassphraseError: the passphrase does not open the keystore.
        StoreError: the store cannot be opened with the key, or cannot be migrated.
    """
    config = NodeConfig.load(data_dir, environ)
    keys, store_key, retired = unlock_keystore(config, passphrase)
    anchor = read_anchor(config.anchor_path)
    engine = open_engine(config.store_path, store_key)
    migrate(engine)
    shutil.rmtree(config.scratch_dir, ignore_errors=True)
    config.scratch_dir.mkdir(mode=0o700, exist_ok=True)
    with Session(engine) as session:
        state = session.execute(select(NodeStateRow)).scalar_one_or_none()
    if state is None:
        raise StoreError(f"store {config.store_path}: no node state; was `node init` finished?")
    if state.node_id != config.node_id:
        raise ConfigError(
            f"node_id {config.node_id} in node.toml differs from the store's {state.node_id}"
        )
    last = Timestamp.decode(state.hlc_last) if state.hlc_last else None
    stopping = Stopping()
    if card_source is None and config.collector is not None:
        card_source = _reader_source(config, stopping)
    context = build_context(
        config,
        keys,
        engine,
        anchor,
        now=now,
        rng=rng,
        last=last,
        card_source=card_source,
        stopping=stopping,
    )
    return dataclasses.replace(context, retired_ages=retired)


def build_context(
    config: NodeConfig,
    keys: KeyPair,
    engine: Engine,
    anchor: TrustAnchor,
    *,
    now: Callable[[], datetime] = utc_now,
    rng: Callable[[int], bytes] = secrets.token_bytes,
    last: Timestamp | None = None,
    card_source: CardSource | None = None,
    stopping: Stopping | None = None,
) -> NodeContext:
    """Assemble a context from its unlocked parts (schema and divisions from the config).

    Raises:
        ConfigError: the schema or division override cannot be read.
    """
    return NodeContext(
        config=config,
        keys=keys,
        engine=engine,
        anchor=anchor,
        schema=load_schema(config),
        divisions=load_divisions(config),
        clock=NodeClock(config.node_id, now, last, config.clock_max_drift_ms),
        now=now,
        rng=rng,
        card_source=card_source,
        stopping=stopping or Stopping(),
    )


def _reader_source(config: NodeConfig, stopping: Stopping) -> CardSource:
    collector = config.collector
    assert collector is not None

    def pause(seconds: float) -> None:
        # The wait between two polls is where a card read is given up when the agent
        # stops: no card is half-read there, and nothing is written before a whole card
        # is (read_card stores it afterwards, in one transaction).
        if stopping.wait(seconds):
            raise StoppingError("the node is stopping: the card read was given up")

    def read(timeout: float) -> CardRead:
        from node.collector.reader import Reader  # noqa: PLC0415 - opens a serial port

        if stopping.is_set():
            raise StoppingError("the node is stopping: no card read is started")
        with Reader(collector, sleep=pause) as reader:
            return reader.wait_for_card(timeout)

    return read
