"""Importing messy registers: mixed headers, encodings, Excel cells, bad and blank rows."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from crypto.errors import UsageError
from hub.crosscheck import (
    MappingError,
    MemoryDatasets,
    RegisterField,
    RegisterFileError,
    SourceKind,
    SqliteDatasets,
    propose_mapping,
    read_headers,
)
from tests.hub.crosscheck.assets import make_assets as assets
from tests.hub.crosscheck.conftest import ASSETS, DATASET_ID, import_into, mapping_for

F = RegisterField


def _problems(store: MemoryDatasets) -> list[tuple[int, str | None, str]]:
    return [(p.row, p.column, p.code) for p in store.problems(DATASET_ID)]


def _rows(store: MemoryDatasets) -> dict[int, dict[str, object]]:
    return {
        row.row: {"id": row.id_number, "bad_id": row.bad_id_number, **dict(row.values)}
        for row in store.rows(DATASET_ID)
    }


def test_committed_assets_are_what_the_script_makes() -> None:
    for name in ("household_mixed.csv", "household_gbk.csv"):
        assert (ASSETS / name).read_bytes() == assets.ASSETS[name](), name
    # XLSX bytes carry zip timestamps; compare the cells instead.
    book = openpyxl.load_workbook(ASSETS / "pension.xlsx")
    sheet = book.worksheets[0]
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    expected = openpyxl.load_workbook(io.BytesIO(assets.pension_xlsx())).worksheets[0]
    assert cells == [list(row) for row in expected.iter_rows(values_only=True)]


def test_mapping_is_proposed_from_mixed_chinese_and_english_headers() -> None:
    headers = read_headers(ASSETS / "household_mixed.csv")
    mapping = propose_mapping(headers, source="历下区户籍", source_kind=SourceKind.PUBLIC_SECURITY)
    assert [(rule.header, rule.field) for rule in mapping.columns] == [
        ("Name", F.NAME),
        ("出生日期", F.BIRTH_DATE),
        ("性别", F.SEX),
        ("公民身份号码（18位）", F.ID_NUMBER),
        ("户籍地址", F.HUKOU_ADDRESS),
        ("人员状态", F.LIVING_STATUS),
    ]
    assert mapping.required == (F.ID_NUMBER,)


def test_mixed_csv_imports_every_usable_row_and_reports_bad_ones(store: MemoryDatasets) -> None:
    dataset = import_into(store, ASSETS / "household_mixed.csv")
    counts = (dataset.rows_read, dataset.rows_stored, dataset.rows_skipped, dataset.blank_rows)
    assert (dataset.encoding, *counts, dataset.problem_count) == ("utf-8-sig", 11, 10, 1, 2, 6)
    rows = _rows(store)
    assert rows[3] == {"id": assets.WANG, "bad_id": None, "name": "王芳", "sex": "1",
                       "birth_date": "1956-03-12", "living_status": "健在",
                       "hukou_address": "山东省济南市历下区解放路街道1号"}  # fmt: skip
    assert rows[4]["living_status"] == "已故"
    assert rows[6]["id"] == assets.ZHANG  # full-width digits
    assert rows[9]["birth_date"] == "1938-01-05"  # with a time part
    assert rows[10]["id"] == assets.X_PERSON  # lowercase x
    assert rows[11]["id"] == "370102195204170314"  # 15 digits, upgraded
    assert rows[12]["bad_id"] == assets.BAD_CHECK
    assert _problems(store) == [
        (12, "公民身份号码（18位）", "id_number_check_digit"),
        (13, "公民身份号码（18位）", "id_number_numeric"),
        (13, "出生日期", "invalid_date"),
        (13, "人员状态", "unknown_value"),
        (14, "公民身份号码（18位）", "blank_required"),
        (14, None, "no_identity"),
    ]


def test_row_problem_messages_name_row_and_column_but_no_personal_value(
    store: MemoryDatasets,
) -> None:
    import_into(store, ASSETS / "household_mixed.csv")
    problems = list(store.problems(DATASET_ID))
    assert problems[0].message_en == (
        "row 12, column 公民身份号码（18位）: the ID number's check character does not match"
    )
    assert problems[0].message_zh == "第12行“公民身份号码（18位）”列身份号码校验码错误"
    personal = [assets.BAD_CHECK, "吴敏", "郑华", "1956-13-40", "3.70102E+17", "迁出"]
    for problem in problems:
        for text in (problem.message_en, problem.message_zh, repr(problem)):
            assert not any(value in text for value in personal)


def test_gbk_csv_is_detected_and_read(store: MemoryDatasets) -> None:
    dataset = import_into(store, ASSETS / "household_gbk.csv")
    assert dataset.encoding == "gb18030"
    rows = _rows(store)
    assert rows[2]["name"] == "王芳"
    assert rows[3]["living_status"] == "已故"
    assert rows[3]["death_date"] == "2025-02-03"
    # A death date alone says the person died.
    assert rows[7]["living_status"] == "已故"
    assert _problems(store) == [(6, "户籍地区划代码", "invalid_division")]


def test_an_encoding_can_be_forced(store: MemoryDatasets) -> None:
    dataset = import_into(store, ASSETS / "household_gbk.csv", encoding="gbk")
    assert dataset.encoding == "gbk"
    assert _rows(store)[2]["name"] == "王芳"


def test_xlsx_with_excel_dates_serials_and_text_dates(store: MemoryDatasets) -> None:
    path = ASSETS / "pension.xlsx"
    dataset = import_into(store, path, mapping_for(path, SourceKind.CIVIL_AFFAIRS))
    assert (dataset.file_format, dataset.encoding, dataset.blank_rows) == ("xlsx", None, 2)
    rows = _rows(store)
    assert {number: row["birth_date"] for number, row in rows.items()} == {
        4: "1956-03-12",  # a date cell
        5: "1949-10-01",  # an Excel serial number
        7: "1960-07-09",  # 1960年7月9日
        8: "1952-04-17",  # 1952.4.17
        9: "1962-12-30",
        10: "1961-02-03",
    }
    assert rows[7]["subject_category"] == ("disabled_soldier", "retired_soldier")
    assert rows[4]["disability_level"] == "3"
    assert rows[8]["id"] == "370102195204170314"  # a 15-digit number stored as a number
    assert _problems(store) == [
        (9, "证件号码", "id_number_numeric"),  # 18 digits as a number: the last ones are lost
        (9, "伤残等级", "unknown_value"),
        (10, "证件号码", "blank_required"),
    ]


def test_dataset_records_source_importer_time_and_content_hash(store: MemoryDatasets) -> None:
    path = ASSETS / "household_gbk.csv"
    dataset = import_into(store, path)
    assert dataset.content_hash == "b2:" + hashlib.blake2b(path.read_bytes(),
                                                           digest_size=32).hexdigest()  # fmt: skip
    assert (dataset.source, dataset.source_kind, dataset.imported_by, dataset.file_name) == (
        "household_gbk", SourceKind.PUBLIC_SECURITY, "admin01", "household_gbk.csv",
    )  # fmt: skip
    assert store.dataset(DATASET_ID) == dataset


def test_columns_may_move_between_extracts(tmp_path: Path, store: MemoryDatasets) -> None:
    mapping = mapping_for(ASSETS / "household_gbk.csv")
    lines = (ASSETS / "household_gbk.csv").read_bytes().decode("gbk").splitlines()
    moved = [",".join(reversed(line.split(","))) for line in lines]
    path = tmp_path / "moved.csv"
    path.write_text("\n".join(moved) + "\n", encoding="utf-8")
    import_into(store, path, mapping)
    assert _rows(store)[2]["name"] == "王芳"


# --- bad files: a typed error, and nothing stored --------------------------------------


def _nothing_stored(path: Path) -> None:
    with SqliteDatasets(path) as db:
        assert db.dataset_ids() == ()
        count = db._db.execute("SELECT COUNT(*) FROM register_rows").fetchone()[0]
        assert count == 0


def _import_fails(
    tmp_path: Path, path: Path, **options: object
) -> RegisterFileError | MappingError:
    db_path = tmp_path / "datasets.sqlite"
    mapping = options.pop("mapping", None) or mapping_for(ASSETS / "household_gbk.csv")
    with SqliteDatasets(db_path) as db, pytest.raises((RegisterFileError, MappingError)) as caught:
        import_into(db, path, mapping, **options)  # type: ignore[arg-type]
    _nothing_stored(db_path)
    assert isinstance(caught.value, RegisterFileError | MappingError)
    return caught.value


def test_old_xls_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    error = _import_fails(tmp_path, path)
    assert isinstance(error, RegisterFileError)
    assert error.message == (
        "register file: XLS (Excel 97-2003) is not supported; save it as XLSX or CSV"
    )


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    error = _import_fails(tmp_path, path)
    assert error.message == "register file: expected CSV text, saw binary data"


def test_damaged_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes((ASSETS / "pension.xlsx").read_bytes()[:3000])
    error = _import_fails(tmp_path, path)
    assert isinstance(error, RegisterFileError)
    assert error.message.startswith("register file: not a readable XLSX workbook")


def _pension_with(member: str, change: Callable[[bytes], bytes]) -> bytes:
    """The pension workbook with one zip member rewritten."""
    source, out = zipfile.ZipFile(ASSETS / "pension.xlsx"), io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info.filename, change(body) if info.filename == member else body)
    return out.getvalue()


def _pension_with_sheet_method(method: int) -> bytes:
    """The pension workbook whose worksheet claims another compression method."""
    data = bytearray((ASSETS / "pension.xlsx").read_bytes())
    at = data.find(b"PK\x01\x02")  # central directory entries, which zipfile trusts
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length] == b"xl/worksheets/sheet1.xml":
            struct.pack_into("<H", data, at + 10, method)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def _pension_with_damaged_deflate() -> bytes:
    data = bytearray((ASSETS / "pension.xlsx").read_bytes())
    with zipfile.ZipFile(ASSETS / "pension.xlsx") as book:
        info = book.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for at in range(start + 5, start + 15):
        data[at] ^= 0x5A
    return bytes(data)


_HUGE_FORMAT_ID = b'numFmtId="' + b"9" * 21 + b'"'


def _workbook_with_a_chart_sheet() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["身份证号", "姓名"])  # type: ignore[union-attr]
    book.create_chartsheet("图表")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Workbooks damaged in ways fuzzing found openpyxl to report with exceptions other
# than the ones the reader caught (ParseError, zlib.error, IndexError,
# NotImplementedError, OverflowError, AttributeError).
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _pension_with("xl/workbook.xml", lambda b: b[:-20]),
         "not a readable XLSX workbook (unclosed token"),
        (lambda: _pension_with("xl/worksheets/sheet1.xml", lambda b: b[:-30]),
         "the workbook is damaged after row"),
        (_pension_with_damaged_deflate, "not a readable XLSX workbook (Error -3"),
        (lambda: _pension_with_sheet_method(99),
         "not a readable XLSX workbook (That compression method is not supported)"),
        (lambda: _pension_with(
            "xl/styles.xml", lambda b: b.replace(b'numFmtId="164"', _HUGE_FORMAT_ID)),
         "not a readable XLSX workbook (Python int too large"),
        (lambda: _pension_with(
            "xl/workbook.xml", lambda b: re.sub(rb"<sheets>.*</sheets>", b"<sheets />", b)),
         "the workbook has no worksheet"),
        (_workbook_with_a_chart_sheet, "the workbook holds a part the XLSX reader cannot read"),
    ],
)  # fmt: skip
def test_a_workbook_damaged_inside_is_refused(
    tmp_path: Path, make: Callable[[], bytes], message: str
) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(make())
    error = _import_fails(tmp_path, path)
    assert isinstance(error, RegisterFileError)
    assert error.message.startswith(f"register file: {message}"), error.message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\n\n")
    error = _import_fails(tmp_path, path)
    assert error.message == "register file: expected a header row, the file is empty"


def test_file_without_the_mapped_headers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("甲,乙\n1,2\n", encoding="utf-8")
    error = _import_fails(tmp_path, path)
    assert error.message == (
        "register file: expected a header row naming the mapped columns within the first "
        "20 rows, found none"
    )


def test_a_mapped_header_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("身份证号,姓名,性别,出生日期,户籍地区划代码,是否死亡,死亡日期,联系电话,姓名\n",
                    encoding="utf-8")  # fmt: skip
    error = _import_fails(tmp_path, path)
    assert isinstance(error, MappingError)
    assert error.message == (
        "register for household_gbk: expected one column '姓名' (name), header row has it 2 times"
    )


def test_text_that_stops_decoding_midway_stores_nothing(tmp_path: Path) -> None:
    # Over a megabyte of ASCII looks like UTF-8; the GBK rows after it are not.
    path = tmp_path / "mixed.csv"
    head = "身份证号,姓名\n".encode() + b"".join(
        f"{assets.WANG},wang{i}\n".encode() for i in range(40_000)
    )
    path.write_bytes(head + f"{assets.LI},李秀英\n".encode("gbk"))
    mapping = propose_mapping(["身份证号", "姓名"], source="x", source_kind=SourceKind.OTHER)
    error = _import_fails(tmp_path, path, mapping=mapping)
    # The decoder reads ahead, so the line named is at or before the first bad one.
    assert re.fullmatch(
        r"register file: text after line \d+ is not utf-8; give the encoding explicitly",
        error.message,
    )
    assert error.fields["line"] <= 40_001


def test_a_line_that_never_ends_is_refused_without_being_held(tmp_path: Path) -> None:
    # Found by fuzzing: the csv module reads a whole line before its field size limit
    # applies, so 100 MiB without a line break took 838 MiB before it was refused.
    path = tmp_path / "one-line.csv"
    with path.open("wb") as out:
        out.write("身份证号,姓名\n".encode())
        out.write(b"x" * (16 << 20))
    mapping = propose_mapping(["身份证号", "姓名"], source="x", source_kind=SourceKind.OTHER)
    tracemalloc.start()
    try:
        error = _import_fails(tmp_path, path, mapping=mapping)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.message == (
        "register file: line 2 is longer than 1048576 characters; expected CSV rows, one a line"
    )
    assert peak < 8 << 20


def test_unknown_forced_encoding_is_refused(tmp_path: Path) -> None:
    error = _import_fails(tmp_path, ASSETS / "household_gbk.csv", encoding="klingon")
    assert error.message == "register file: unknown encoding 'klingon'"


# Codecs Python knows that read no text (found by fuzzing: LookupError, UnicodeError).
@pytest.mark.parametrize("encoding", ["rot13", "hex", "zlib", "idna", "undefined"])
def test_a_forced_codec_that_is_no_text_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    error = _import_fails(tmp_path, ASSETS / "household_gbk.csv", encoding=encoding)
    assert error.message == (
        f"register file: {encoding!r} is not a text encoding a CSV can be read in"
    )


def test_wrongly_forced_encoding_is_refused(tmp_path: Path) -> None:
    error = _import_fails(tmp_path, ASSETS / "household_gbk.csv", encoding="utf-8")
    assert isinstance(error, RegisterFileError)


def test_sqlite_store_keeps_a_committed_dataset(tmp_path: Path) -> None:
    db_path = tmp_path / "datasets.sqlite"
    with SqliteDatasets(db_path) as db:
        dataset = import_into(db, ASSETS / "household_mixed.csv")  # type: ignore[arg-type]
    with SqliteDatasets(db_path) as db:
        assert db.dataset(DATASET_ID) == dataset
        memory = MemoryDatasets()
        import_into(memory, ASSETS / "household_mixed.csv")
        assert list(db.rows(DATASET_ID)) == list(memory.rows(DATASET_ID))
        assert list(db.problems(DATASET_ID)) == list(memory.problems(DATASET_ID))
        assert db.rows_with_id(DATASET_ID, assets.WANG) == (memory.row(DATASET_ID, 3),)
        assert db.row(DATASET_ID, 4) == memory.row(DATASET_ID, 4)


def test_a_dataset_id_is_used_once(store: MemoryDatasets) -> None:
    import_into(store, ASSETS / "household_gbk.csv")
    with pytest.raises(UsageError, match="already exists"):
        import_into(store, ASSETS / "household_gbk.csv")


def test_duplicate_id_numbers_within_a_register(tmp_path: Path, store: MemoryDatasets) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        f"身份证号,姓名\n{assets.WANG},王芳\n{assets.LI},李秀英\n{assets.WANG.lower()},王芳\n",
        encoding="utf-8",
    )
    import_into(store, path)
    assert list(store.duplicate_id_numbers(DATASET_ID)) == [assets.WANG]
    db_path = tmp_path / "d.sqlite"
    with SqliteDatasets(db_path) as db:
        import_into(db, path)  # type: ignore[arg-type]
        assert list(db.duplicate_id_numbers(DATASET_ID)) == [assets.WANG]
