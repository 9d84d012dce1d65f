"""Column mappings (JSON, validation), cell parsing, authority and match configuration."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crosscheck import (
    DEFAULT_AUTHORITY,
    Authority,
    AuthorityPolicy,
    ColumnMapping,
    ColumnRule,
    CrosscheckConfigError,
    Finding,
    FindingKind,
    MappingError,
    MatchConfig,
    RecordIndex,
    RegisterField,
    RegisterRow,
    SourceKind,
    check_dataset,
    propose_mapping,
)
from hub.crosscheck.cells import CellParser, CellReject, parse_date_cell, parse_id_cell
from hub.crosscheck.fields import field_for_header, header_key, synonyms
from hub.crosscheck.findings import FindingScope
from protocol.divisions import Divisions
from protocol.idnumber import make_id_number
from protocol.schema import Schema

F = RegisterField
NUMBER = make_id_number("370102", date(1956, 3, 12), 11, "1")


def test_every_synonym_names_one_field_only() -> None:
    owner: dict[str, RegisterField] = {}
    for field in RegisterField:
        for text in synonyms(field):
            assert owner.setdefault(header_key(text), field) is field, text


@pytest.mark.parametrize(
    ("header", "field"),
    [("公民身份号码（18位）*", F.ID_NUMBER), ("ID  Number", F.ID_NUMBER),
     ("出生日期：", F.BIRTH_DATE), ("Date of Birth", F.BIRTH_DATE), ("是否死亡", F.DECEASED),
     ("备注", None)],
)  # fmt: skip
def test_headers_are_recognised_with_their_decorations(header: str, field: F | None) -> None:
    assert field_for_header(header) is field


_rules = st.lists(st.sampled_from(list(RegisterField)), min_size=1, unique=True).filter(
    lambda fs: not {F.DECEASED, F.LIVING_STATUS} <= set(fs) and (F.NAME in fs or F.ID_NUMBER in fs)
)


@given(
    fields=_rules,
    source=st.text(min_size=1, max_size=30).filter(str.strip),
    kind=st.sampled_from(SourceKind),
    categories=st.lists(st.sampled_from(["disabled_soldier", "retired_soldier"]), unique=True),
)
def test_mapping_json_round_trips(
    fields: list[RegisterField], source: str, kind: SourceKind, categories: list[str]
) -> None:
    mapping = ColumnMapping(
        source=source, source_kind=kind,
        columns=tuple(ColumnRule(header=f"列{i}", field=f) for i, f in enumerate(fields)),
        required=(fields[0],), categories=tuple(categories),
        implied=((F.MINIMUM_LIVING_ALLOWANCE, True), (F.PENSION_INSURANCE, "未参保")),
    )  # fmt: skip
    assert ColumnMapping.from_json(mapping.to_json()) == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "column mapping: expected JSON"),
        ("[" * 100_000 + "]" * 100_000, "column mapping: expected JSON"),
        ("[]", "column mapping: expected an object with keys categories, columns, format, "
               "implied, required, source, source_kind"),
        ('{"format":2,"source":"x","source_kind":"other","columns":[],"required":[],'
         '"categories":[],"implied":[]}', "column mapping: expected format 1, saw 2"),
        ('{"format":1,"source":"x","source_kind":"police","columns":[["a","name"]],'
         '"required":[],"categories":[],"implied":[]}',
         "column mapping: unknown field or source kind ('police' is not a valid SourceKind)"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["a","name"],["b","name"]],'
         '"required":[],"categories":[],"implied":[]}',
         "column mapping x: field name is mapped from two columns"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["a","sex"]],'
         '"required":[],"categories":[],"implied":[]}',
         "column mapping x: expected an ID number or a name column"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["a","name"]],'
         '"required":["id_number"],"categories":[],"implied":[]}',
         "column mapping x: required field id_number has no column"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["a","name"]],'
         '"required":[],"categories":[],"implied":[["name","王芳"]]}',
         "column mapping x: field name cannot be implied for a whole register"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["a","name"]],'
         '"required":[],"categories":[],"implied":[["pension_insurance",{"a":1}]]}',
         "column mapping: an implied value must be text, a number, true/false or a list of text"),
        ('{"format":1,"source":"x","source_kind":"other","columns":[["  ","name"]],'
         '"required":[],"categories":[],"implied":[]}',
         "column mapping: expected a header of 1..200 characters"),
    ],
)  # fmt: skip
def test_bad_mappings_are_refused(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        ColumnMapping.from_json(text)
    assert caught.value.message == message


def test_proposing_from_headers_without_names_or_numbers_fails() -> None:
    with pytest.raises(MappingError, match="no header is a known field name"):
        propose_mapping(["甲", "乙"], source="x", source_kind=SourceKind.OTHER)


_DATE_FORMS = (
    lambda d: d.isoformat(), lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d:%Y.%m.%d}", lambda d: f"{d:%Y%m%d}", lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.isoformat()} 00:00:00", lambda d: datetime(d.year, d.month, d.day), lambda d: d,
)  # fmt: skip


@given(day=st.dates(date(1900, 3, 1), date(2026, 5, 31)), form=st.sampled_from(_DATE_FORMS))
def test_every_usual_date_form_reads_back(day: date, form: object) -> None:
    assert parse_date_cell(form(day)) == day  # type: ignore[operator]


@given(day=st.dates(date(1900, 3, 1), date(2100, 1, 1)))
def test_excel_serial_numbers(day: date) -> None:
    serial = (day - date(1899, 12, 30)).days
    assert parse_date_cell(serial) == day
    assert parse_date_cell(float(serial)) == day


@pytest.mark.parametrize(
    ("cell", "code"),
    [("1956-02-30", "invalid_date"), ("1956年3月", "invalid_date"), ("1799-12-31", "invalid_date"),
     (0, "invalid_date"), ("2027-01-01", "future_date"), (True, "invalid_date")],
)  # fmt: skip
def test_unreadable_dates(cell: object, code: str) -> None:
    with pytest.raises(CellReject) as caught:
        parse_date_cell(cell, as_of=date(2026, 5, 31))
    assert caught.value.code == code


@pytest.mark.parametrize(
    "cell",
    [NUMBER, NUMBER.lower(), f" {NUMBER[:6]} {NUMBER[6:]} ", f"'{NUMBER}",
     "".join(chr(ord(c) + 0xFEE0) for c in NUMBER)],
)  # fmt: skip
def test_id_number_cells(cell: str) -> None:
    assert parse_id_cell(cell).value == NUMBER


def test_fifteen_digit_numbers_as_text_or_number() -> None:
    assert parse_id_cell("370102520417031").value == "370102195204170314"
    assert parse_id_cell(370102520417031).value == "370102195204170314"
    assert parse_id_cell(370102520417031.0).value == "370102195204170314"


@pytest.mark.parametrize(
    ("cell", "code"),
    [(float(NUMBER[:17] + "1"), "id_number_numeric"), ("3.70102E+17", "id_number_numeric"),
     ("12345", "id_number_length"), (NUMBER[:17] + "A", "id_number_characters"),
     (NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1"), "id_number_check_digit")],
)  # fmt: skip
def test_bad_id_number_cells(cell: object, code: str) -> None:
    with pytest.raises(CellReject) as caught:
        parse_id_cell(cell)
    assert caught.value.code == code


def test_a_column_parser_remembers_rejections_too() -> None:
    parser = CellParser(schema=Schema.default(), divisions=Divisions.default(), as_of=None)
    sex = parser.column(F.SEX)
    assert [sex("男"), sex("男"), sex(2), sex(2.0)] == ["1", "1", "2", "2"]
    for _ in range(2):
        with pytest.raises(CellReject, match="unknown_value"):
            sex("x")
    assert parser.column(F.MINIMUM_LIVING_ALLOWANCE)(True) is True


# --- authority and match configuration ---------------------------------------------------


def test_authority_table_round_trips_and_is_checked() -> None:
    policy = AuthorityPolicy.from_mapping(DEFAULT_AUTHORITY.to_mapping())
    assert policy.to_mapping() == DEFAULT_AUTHORITY.to_mapping()
    assert policy.check(Schema.default()) is policy
    assert policy.authority(SourceKind.PUBLIC_SECURITY, "name") is Authority.REGISTER
    assert policy.authority(SourceKind.CIVIL_AFFAIRS, "name") is Authority.NONE
    assert policy.authority(SourceKind.CIVIL_AFFAIRS, "subject_category") is Authority.RECORD


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"police": ["name"]}, "authority: unknown source kind 'police'; expected one of "
         "public_security, civil_affairs, hr_social, medical, housing, petitions, military, "
         "other or record"),
        ({"public_security": "name"}, "authority.public_security: expected a list of fields"),
        ({"public_security": ["name"], "record": ["name"]},
         "authority: field name is given to both public_security and the record"),
    ],
)  # fmt: skip
def test_bad_authority_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(CrosscheckConfigError) as caught:
        AuthorityPolicy.from_mapping(table)  # type: ignore[arg-type]
    assert caught.value.message == message


def test_authority_over_an_unknown_field() -> None:
    with pytest.raises(CrosscheckConfigError, match="authority: unknown field 'shoe_size'"):
        AuthorityPolicy.from_mapping({"other": ["shoe_size"]}).check(Schema.default())


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"min_score": 0}, "match config: expected 0 < min_score <= 1, saw 0"),
     ({"name_weight": 0}, "match config: weights must be >= 0, the name's > 0"),
     ({"max_block": 0}, "match config: max_proposals and max_block must be >= 1")],
)  # fmt: skip
def test_bad_match_configs(changes: dict[str, float], message: str) -> None:
    with pytest.raises(CrosscheckConfigError) as caught:
        MatchConfig(**changes)  # type: ignore[arg-type]
    assert caught.value.message == message


# --- a complete register and the records it does not list ---------------------------------


def test_a_record_claiming_a_listed_benefit_but_absent_from_a_complete_list() -> None:
    scope = FindingScope(
        source="低保名单", source_kind=SourceKind.CIVIL_AFFAIRS, dataset_id="a" * 32
    )
    key = F.MINIMUM_LIVING_ALLOWANCE.value
    index = RecordIndex.build(
        [("listed", {"id_number": NUMBER, key: True, "hukou_division_code": "370102001"}),
         ("claims", {"id_number": "x", key: True, "hukou_division_code": "370102002"}),
         ("elsewhere", {"id_number": "y", key: True, "hukou_division_code": "370103001"}),
         ("honest", {"id_number": "z", key: False, "hukou_division_code": "370102002"})],
        compared=(key,),
    )  # fmt: skip
    rows = [RegisterRow(row=2, id_number=NUMBER, values=((key, True),))]
    found = [f for f in check_dataset(scope, rows, index, coverage="370102",
                                      implied={key: True}) if isinstance(f, Finding)]  # fmt: skip
    seen = [(f.kind, f.record_id, f.register_value, f.record_value, f.proposed_value)
            for f in found]  # fmt: skip
    assert seen == [(FindingKind.BENEFIT_ONE_SIDE, "claims", False, True, False)]
