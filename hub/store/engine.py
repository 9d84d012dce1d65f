"""Opening the hub store: SQLite (one writer, WAL) or PostgreSQL (several processes).

SQLite: every write transaction starts with ``BEGIN IMMEDIATE``, so writers queue for
the lock at the start instead of failing half-way; readers use plain ``BEGIN`` and see
the last committed state (WAL). PostgreSQL: ordinary transactions; work is claimed
with ``FOR UPDATE SKIP LOCKED`` (hub/claims.py) and merges hold an advisory lock.

Sessions are synchronous; the aiohttp handlers run them in worker threads (one
session per task, never shared).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["MERGE_LOCK", "Store", "insert_unless_present"]

_BUSY_TIMEOUT_MS: Final = 120_000
#: The advisory lock key merges hold on PostgreSQL ("muster" in ASCII).
MERGE_LOCK: Final = 0x6D7573746572


class Store:
    """The hub's database: a writer and a reader session factory on one URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.dialect = sa.engine.make_url(url).get_backend_name()
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, immediate=True, echo=echo)
            self._reader = _sqlite_engine(url, immediate=False, echo=echo)
        else:
            self._writer = create_engine(url, pool_pre_ping=True, echo=echo)
            self._reader = self._writer
        self._write = sessionmaker(self._writer, expire_on_commit=False)
        self._read = sessionmaker(self._reader, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def engine(self) -> Engine:
        return self._writer

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on error."""
        with self._write() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def writer(self) -> Iterator[Session]:
        """A writer session whose caller commits or rolls back itself (closed at the end)."""
        with self._write() as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """One read transaction (on SQLite it never waits for the writer)."""
        with self._read() as session, session.begin():
            yield session

    def lock_merges(self, session: Session) -> None:
        """Serialise merges across processes until this transaction ends (PostgreSQL).

        On SQLite the writer lock taken by ``BEGIN IMMEDIATE`` already does it.
        """
        if self.is_postgres:
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MERGE_LOCK})

    def dispose(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()


def insert_unless_present(session: Session, model: type[Any], **values: Any) -> None:
    """Insert one row of ``model`` unless a row with the same unique key exists.

    ``ON CONFLICT DO NOTHING`` in the session's dialect: two hub processes sharing a
    store may insert the same row at once, and neither must fail its transaction.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def _sqlite_engine(url: str, *, immediate: bool, echo: bool) -> Engine:
    engine = create_engine(
        url, echo=echo, connect_args={"check_same_thread": False, "timeout": 120}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver, so BEGIN below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
