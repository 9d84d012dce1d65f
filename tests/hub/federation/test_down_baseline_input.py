"""Baseline import and bad input: each refused row is named by row, field and rule; a file
that cannot be used is refused whole with nothing changed."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from hub.baseline import BaselineAdmin, import_baseline
from hub.context import HubContext
from hub.crosscheck.errors import MappingError, RegisterFileError
from hub.errors import AlreadyDecidedError
from hub.store.models import BundleRow, DownBundle, ManifestRow, OpBatch, RecordRow
from protocol.errors import AuthorisationError
from tests.hub.conftest import make_hub
from tests.hub.federation.downtree import (
    BASELINE_HEADERS,
    PROVINCE_ADMIN,
    baseline_rows,
    tree_pki,
    write_csv,
)
from tests.pki import Pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return tree_pki()


@pytest.fixture
def province(tmp_path: Path, pki: Pki) -> Iterator[HubContext]:
    ctx = make_hub(
        tmp_path / "data", f"sqlite:///{tmp_path / 'p.db'}", pki, site="370000", party="province"
    )
    yield ctx
    ctx.store.dispose()


def _admin(pki: Pki, name: str = "province_admin", subject: str = PROVINCE_ADMIN) -> BaselineAdmin:
    return BaselineAdmin(subject=subject, key=pki[name].keys.signing)


def _nothing_changed(ctx: HubContext) -> None:
    with ctx.store.read() as session:
        for table in (RecordRow, BundleRow, OpBatch, DownBundle, ManifestRow):
            assert session.scalar(sa.select(sa.func.count()).select_from(table)) == 0, table


def test_an_xlsx_baseline_is_read_like_a_csv(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    rows = baseline_rows([("370102001", 2)])
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["某市退役军人基础数据"])  # a title block above the header row
    sheet.append(list(BASELINE_HEADERS))
    for row in rows:
        sheet.append([";".join(v) if isinstance(v, tuple) else v for v in row.values()])
    path = tmp_path / "baseline.xlsx"
    book.save(path)
    report = import_baseline(province, path, admin=_admin(pki), source="国家系统")
    assert (report.rows_read, report.records, report.children) == (2, 2, (("370100", 1),))


def test_bad_rows_are_refused_by_row_field_and_rule(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    rows: list[dict[str, Any]] = baseline_rows([("370102001", 4)])
    rows[1]["id_number"] = rows[1]["id_number"][:-1] + (
        "0" if rows[1]["id_number"][-1] != "0" else "1"
    )
    rows[2]["hukou_division_code"] = "410102001001"  # another province
    rows[3] = dict(rows[0])  # the same person twice
    report = import_baseline(
        province, write_csv(tmp_path / "b.csv", rows), admin=_admin(pki), source="s"
    )
    assert (report.records, report.refused, report.already_held) == (1, 2, 1)
    found = {(i.row, i.field, i.code) for i in report.issues}
    assert (3, "id_number", "id_number_check_digit") in found
    assert (4, "hukou_division_code", "outside_jurisdiction") in found
    assert (5, "id_number", "already_held") in found
    assert all(str(rows[1]["id_number"]) not in repr(i) for i in report.issues)


def test_a_file_without_the_household_registration_column_is_refused(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    path = tmp_path / "no-division.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id_number", "name", "subject_category"])
        writer.writerow(["370102196010116496", "李勇", "retired_soldier"])
    with pytest.raises(MappingError, match="expected columns for hukou_division_code"):
        import_baseline(province, path, admin=_admin(pki), source="s")
    _nothing_changed(province)


def test_a_damaged_file_is_refused_and_nothing_changes(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(RegisterFileError, match="not a readable XLSX workbook"):
        import_baseline(province, path, admin=_admin(pki), source="s")
    _nothing_changed(province)


def test_a_file_imported_twice_is_refused_the_second_time(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "once.csv", baseline_rows([("370102001", 2)]))
    import_baseline(province, path, admin=_admin(pki), source="s")
    with province.store.read() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(RecordRow))
    with pytest.raises(AlreadyDecidedError, match=r"once\.csv was imported already"):
        import_baseline(province, path, admin=_admin(pki), source="s")
    with province.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) == before


def test_someone_who_is_no_administrator_here_cannot_authorise_it(
    province: HubContext, pki: Pki, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "b.csv", baseline_rows([("370102001", 1)]))
    city_admin = _admin(pki, "city_admin", "370100/qian.li")
    with pytest.raises(AuthorisationError, match="may not authorise batches of 370000"):
        import_baseline(province, path, admin=city_admin, source="s")
    _nothing_changed(province)
