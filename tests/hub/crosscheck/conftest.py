"""Shared helpers of the cross-check tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hub.crosscheck import (
    ColumnMapping,
    Dataset,
    MemoryDatasets,
    SourceKind,
    import_register,
    propose_mapping,
    read_headers,
)

ASSETS = Path(__file__).resolve().parent / "assets"
IMPORTED_AT = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
AS_OF = date(2026, 5, 31)
DATASET_ID = "d" * 32


def mapping_for(path: Path, kind: SourceKind = SourceKind.PUBLIC_SECURITY) -> ColumnMapping:
    return propose_mapping(read_headers(path), source=path.stem, source_kind=kind)


def import_into(
    store: MemoryDatasets, path: Path, mapping: ColumnMapping | None = None, **options: object
) -> Dataset:
    return import_register(
        path,
        mapping or mapping_for(path),
        store,
        dataset_id=str(options.pop("dataset_id", DATASET_ID)),
        imported_by="admin01",
        imported_at=IMPORTED_AT,
        as_of=AS_OF,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def store() -> MemoryDatasets:
    return MemoryDatasets()
