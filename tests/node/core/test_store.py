"""The store: built by alembic, in step with the models, encrypted at rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from node.errors import StoreError
from node.store import migrate, open_engine
from node.store.migrate import alembic_config, current_revision, head_revision
from node.store.models import Base
from tests.node.core.helpers import COLLECTOR, NodeUnderTest, form_for

KEY = bytes(range(32))


def test_a_new_store_is_migrated_to_the_newest_revision(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "n.db", KEY)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    migrate(engine)  # a second run changes nothing
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_and_migrations_agree_alembic_check(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "n.db", KEY)
    migrate(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises if autogenerate would write a new migration
    engine.dispose()


def test_the_store_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "n.db", KEY)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_store_opened_with_another_key_is_refused(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "n.db", KEY)
    migrate(engine)
    engine.dispose()
    with pytest.raises(StoreError, match="cannot be opened with this node's key"):
        open_engine(tmp_path / "n.db", bytes(32))


def test_the_store_file_without_its_key_shows_no_personal_data(node: NodeUnderTest) -> None:
    services = node.services
    categories, values = form_for(services, seed=7)
    saved = services.save_record(None, categories, values, COLLECTOR[0])
    assert saved.saved
    name, number = str(values["name"]), str(values["id_number"])
    services.close()  # checkpoint the WAL into the main file
    raw = b"".join(path.read_bytes() for path in node.data_dir.glob("node.db*") if path.is_file())
    assert raw, "the store files exist"
    for text in (name, number, "retired_soldier"):
        for encoding in ("utf-8", "utf-16-le"):
            assert text.encode(encoding) not in raw
    # Plain SQLite cannot read it either.
    plain = sqlite3.connect(node.data_dir / "node.db")
    with pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    plain.close()
