"""Record-level export: chosen fields, labels for choices, owner-only file, an audit summary."""

from __future__ import annotations

import hashlib
import random
import re
import stat
from pathlib import Path

import openpyxl
import pytest

from node.reports import ExportSummary, ReportModelError, ReportWriteError, export_records
from protocol.sample import realistic_record
from protocol.schema import Schema
from tests.node.reports.data import TODAY

SCHEMA = Schema.default()


def _people(count: int) -> list[dict[str, object]]:
    rng = random.Random(11)
    return [
        realistic_record(rng, category="retired_soldier", division_code="370102", today=TODAY)
        for _ in range(count)
    ]


def test_export_writes_the_chosen_fields_with_labels(tmp_path: Path) -> None:
    people = _people(3)
    people[1]["phone"] = None
    path = tmp_path / "export.xlsx"
    summary = export_records(
        people, SCHEMA, path, fields=("name", "sex", "phone", "is_disabled", "other_insurance")
    )
    assert summary == ExportSummary(
        records=3,
        fields=("name", "sex", "phone", "is_disabled", "other_insurance"),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "性别", "联系电话", "是否评定残疾等级", "其他保险")
    first = people[0]
    assert rows[1][0] == first["name"]
    assert rows[1][1] == {"1": "男性", "2": "女性"}[str(first["sex"])]
    assert rows[1][3] == ("是" if first["is_disabled"] else "否")
    assert rows[2][2] is None
    insurance = first.get("other_insurance")
    assert rows[1][4] == ("、".join(insurance) if isinstance(insurance, tuple) else insurance)


def test_export_in_english(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    export_records(_people(1), SCHEMA, path, fields=("sex",), lang="en")
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["Sex"]
    assert sheet["A2"].value in ("Male", "Female")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((), "export: expected at least one field"),
        (("name", "name"), "export: expected each field once"),
        (("name", "favourite_colour"), "export: unknown field"),
        (("name", "portrait_photo"), "export: photo field portrait_photo is never exported"),
    ],
)
def test_export_refuses_bad_field_lists_and_writes_nothing(
    tmp_path: Path, fields: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ReportModelError, match=re.escape(message)):
        export_records(_people(1), SCHEMA, tmp_path / "x.xlsx", fields=fields)
    assert list(tmp_path.iterdir()) == []


def test_export_that_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ReportWriteError, match=re.escape("export file: cannot write x.xlsx")):
        export_records(_people(1), SCHEMA, tmp_path / "gone" / "x.xlsx", fields=("name",))
    assert list(tmp_path.iterdir()) == []


def test_export_error_messages_never_carry_values(tmp_path: Path) -> None:
    people = _people(1)
    with pytest.raises(ReportModelError) as caught:
        export_records(people, SCHEMA, tmp_path / "x.xlsx", fields=("name", "portrait_photo"))
    assert str(people[0]["name"]) not in caught.value.message
