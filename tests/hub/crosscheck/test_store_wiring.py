"""Datasets in the hub's store: the same rows as the engine's in-memory store, on SQLite and
PostgreSQL; nothing visible before the commit, nothing left by a failed or abandoned import."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crypto.errors import UsageError
from hub.context import HubContext
from hub.crosscheck import MemoryDatasets, RegisterFileError, SourceKind, propose_mapping
from hub.crosscheck.storedatasets import DatasetWriter, StoreDatasets, sweep_abandoned
from hub.store.crosscheck_models import DatasetRow, RegisterRowRow, RowProblemRow
from tests.hub.crosscheck.assets import make_assets as assets
from tests.hub.crosscheck.conftest import ASSETS, DATASET_ID, import_into, mapping_for
from tests.pki import NOW


def _writer(hub: HubContext, source: str = "household_mixed") -> DatasetWriter:
    return DatasetWriter(
        hub.store, source=source, source_kind=SourceKind.PUBLIC_SECURITY, now=hub.now
    )


def _counts(hub: HubContext) -> tuple[int, int, int]:
    with hub.store.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (DatasetRow, RegisterRowRow, RowProblemRow)
        )


def test_the_store_holds_what_the_engine_s_memory_store_holds(hub: HubContext) -> None:
    path = ASSETS / "household_mixed.csv"
    dataset = import_into(_writer(hub), path, chunk_rows=2)  # type: ignore[arg-type]
    memory = MemoryDatasets()
    import_into(memory, path)
    reader = StoreDatasets(hub.store)
    assert reader.dataset(DATASET_ID) == dataset
    assert list(reader.rows(DATASET_ID)) == list(memory.rows(DATASET_ID))
    assert list(reader.problems(DATASET_ID)) == list(memory.problems(DATASET_ID))
    assert list(reader.problems(DATASET_ID, limit=2)) == list(memory.problems(DATASET_ID))[:2]
    assert reader.rows_with_id(DATASET_ID, assets.WANG) == (memory.row(DATASET_ID, 3),)
    assert reader.row(DATASET_ID, 4) == memory.row(DATASET_ID, 4)
    assert reader.row(DATASET_ID, 999) is None
    assert reader.newest("household_mixed") == dataset
    assert reader.newest("another register") is None


def test_duplicate_id_numbers_are_counted_by_the_store(hub: HubContext, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        f"身份证号,姓名\n{assets.WANG},王芳\n{assets.LI},李秀英\n{assets.WANG.lower()},王芳\n",
        encoding="utf-8",
    )
    import_into(_writer(hub, "dup"), path)  # type: ignore[arg-type]
    assert list(StoreDatasets(hub.store).duplicate_id_numbers(DATASET_ID)) == [assets.WANG]


def test_a_dataset_being_written_is_invisible_to_readers(hub: HubContext) -> None:
    writer = _writer(hub)
    writer.begin(DATASET_ID)
    reader = StoreDatasets(hub.store)
    with pytest.raises(KeyError):
        reader.dataset(DATASET_ID)
    with pytest.raises(KeyError):
        list(reader.rows(DATASET_ID))
    assert reader.newest("household_mixed") is None
    writer.abort(DATASET_ID)
    assert _counts(hub) == (0, 0, 0)


def test_a_file_that_fails_halfway_leaves_nothing(hub: HubContext, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    head = "身份证号,姓名\n".encode() + b"".join(
        f"{assets.WANG},wang{i}\n".encode() for i in range(40_000)
    )
    path.write_bytes(head + f"{assets.LI},李秀英\n".encode("gbk"))
    mapping = propose_mapping(["身份证号", "姓名"], source="x", source_kind=SourceKind.OTHER)
    with pytest.raises(RegisterFileError, match="is not utf-8"):
        import_into(_writer(hub, "x"), path, mapping=mapping, chunk_rows=1000)  # type: ignore[arg-type]
    assert _counts(hub) == (0, 0, 0)


def test_a_dataset_id_is_written_once(hub: HubContext) -> None:
    import_into(_writer(hub), ASSETS / "household_gbk.csv")  # type: ignore[arg-type]
    before = _counts(hub)
    with pytest.raises(UsageError, match=f"dataset {DATASET_ID}: already exists"):
        import_into(_writer(hub), ASSETS / "household_gbk.csv")  # type: ignore[arg-type]
    assert _counts(hub) == before


def test_an_abandoned_import_is_swept_away_and_cannot_commit(hub: HubContext) -> None:
    writer = _writer(hub)
    mapping = mapping_for(ASSETS / "household_gbk.csv")
    writer.begin(DATASET_ID)
    # The process "dies" here; a later sweep finds the heartbeat stopped.
    assert (
        sweep_abandoned(hub.store, now=NOW + timedelta(minutes=5), older_than=timedelta(hours=1))
        == ()
    )
    swept = sweep_abandoned(hub.store, now=NOW + timedelta(hours=2), older_than=timedelta(hours=1))
    assert swept == (DATASET_ID,)
    assert _counts(hub) == (0, 0, 0)
    with pytest.raises(UsageError, match="swept away as abandoned"):
        writer.add_rows(DATASET_ID, [], [])
    assert mapping.source == "household_gbk"


def test_a_writer_refuses_a_dataset_it_is_not_writing(hub: HubContext) -> None:
    writer = _writer(hub)
    with pytest.raises(UsageError, match="not being written by this writer"):
        writer.add_rows(DATASET_ID, [], [])
    writer.abort(DATASET_ID)  # nothing to abort: no error, nothing changed
    assert _counts(hub) == (0, 0, 0)
