"""Opening the encrypted store: SQLCipher through SQLAlchemy's ``sqlite+pysqlcipher`` dialect.

The dialect imports the ``sqlcipher3`` module (the ``sqlcipher3-binary`` wheel) and sends
``PRAGMA key`` first on every connection. The key is the node's 32-byte store key, given
to SQLCipher as a raw key (``x'…'``), so no passphrase stretching runs per connection;
the key itself lives in the node keystore, under the node passphrase.

Every connection then runs in WAL mode with ``synchronous=FULL`` and foreign keys on, and
every transaction starts with ``BEGIN IMMEDIATE``: the writer lock is taken at the start,
so two writers (the scheduler and the UI) queue instead of failing half-way, and a crash
at any point leaves the last committed state.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from crypto.errors import UsageError
from node.errors import StoreError

__all__ = ["STORE_KEY_BYTES", "open_engine", "store_errors", "transaction"]

STORE_KEY_BYTES: Final = 32
_BUSY_TIMEOUT_MS: Final = 30_000
_log = logging.getLogger("muster.node.store")
#: What SQLite says when a write cannot reach the disk, and when the key is wrong.
_WRITE_FAILURES: Final = re.compile(r"disk I/O error|database or disk is full|readonly database")
_NOT_A_DATABASE: Final = re.compile(r"file is not a database|file is encrypted")
_LOCKED: Final = re.compile(r"database is locked|database table is locked")


def _url(path: Path, key: bytes) -> URL:
    if len(key) != STORE_KEY_BYTES:
        raise UsageError(f"store key: expected {STORE_KEY_BYTES} bytes, got {len(key)}")
    # The dialect quotes the password as an identifier: PRAGMA key = "x'<hex>'" is
    # SQLCipher's form for a raw 256-bit key.
    return URL.create("sqlite+pysqlcipher", password=f"x'{key.hex()}'", database=str(path))


def open_engine(path: Path, key: bytes) -> Engine:
    """Return an engine on the encrypted store at ``path`` (created when missing).

    Raises:
        StoreError: the file exists but ``key`` does not open it, or it cannot be read.
        UsageError: ``key`` is not 32 bytes.
    """
    engine = create_engine(
        _url(path, key),
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver: BEGIN IMMEDIATE below, every time.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # SQLCipher would print decryption failures to stderr; StoreError says it.
            cursor.execute("PRAGMA cipher_log_level = NONE")
            cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    with store_errors(path), engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
    return engine


@contextlib.contextmanager
def store_errors(path: Path | str) -> Iterator[None]:
    """Turn SQLite's disk and key failures into :class:`StoreError` (the rest pass through).

    Raises:
        StoreError: the disk is full or failing, the file is read-only, the key is wrong,
            or another writer held the store for longer than the busy timeout.
    """
    try:
        yield
    except (OperationalError, DatabaseError) as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        if _NOT_A_DATABASE.search(reason):
            raise StoreError(
                f"store {path}: cannot be opened with this node's key (wrong key or not a "
                "Muster store)"
            ) from exc
        if _LOCKED.search(reason):
            raise StoreError(
                f"store {path}: busy with a long step (an authorisation or a large download) "
                "for longer than 30 s; nothing of this step was saved, try again",
                reason=reason,
            ) from exc
        if _WRITE_FAILURES.search(reason):
            _log.error("store write failed: %s", reason)
            raise StoreError(
                f"store {path}: could not write ({reason}); nothing of this step was saved",
                reason=reason,
            ) from exc
        raise


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: a session in a transaction, committed at the end or rolled back.

    Raises:
        StoreError: the store could not be written; the transaction was rolled back.
    """
    factory = sessionmaker(engine, expire_on_commit=False)
    with store_errors(engine.url.database or "?"), factory.begin() as session:
        yield session
