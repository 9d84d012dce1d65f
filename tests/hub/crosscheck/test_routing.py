"""Routing findings to the site of the household registration, and the problem entry body."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crosscheck import (
    Authority,
    Finding,
    FindingKind,
    ProblemBodyError,
    SourceKind,
    StaticSiteDirectory,
    finding_id,
    problem_body,
    read_problem_body,
    route_findings,
    to_problem,
)
from protocol.entries import Problem, decode_entry, encode_entry

DIRECTORY = StaticSiteDirectory(
    {
        "370102001": ("370102001-01", "370102001-02"),
        "370102002": ("370102002-01",),
        "370102": ("370102-01",),  # the district's own collection point
    }
)


def _finding(division: str | None, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "finding_id": finding_id(source="户籍", subject=f"record:{division}", field="name",
                                 kind=FindingKind.VALUE_MISMATCH),
        "kind": FindingKind.VALUE_MISMATCH, "source": "户籍",
        "source_kind": SourceKind.PUBLIC_SECURITY, "dataset_id": "a" * 32, "row": 7,
        "record_id": "r-1", "field": "name", "register_value": "王芳", "record_value": "王方",
        "authority": Authority.REGISTER, "proposed_value": "王芳", "division_code": division,
    }  # fmt: skip
    values.update(changes)
    return Finding(**values)


def test_findings_go_to_the_most_specific_site_serving_their_division() -> None:
    routing = route_findings(
        [_finding("370102001005"), _finding("370102002"), _finding("370102003"),
         _finding("370103001"), _finding(None)],
        DIRECTORY,
    )  # fmt: skip
    assert [(g.route.site_code, g.route.node_ids, len(g.findings)) for g in routing.groups] == [
        ("370102", ("370102-01",), 1),  # town 003 has no site of its own: its district's
        ("370102001", ("370102001-01", "370102001-02"), 1),  # a village inside the town
        ("370102002", ("370102002-01",), 1),
    ]
    assert [f.division_code for f in routing.unrouted] == ["370103001", None]


def test_a_malformed_division_is_unrouted_not_an_error() -> None:
    routing = route_findings([_finding("37x")], DIRECTORY)
    assert routing.groups == ()
    assert len(routing.unrouted) == 1


def test_problem_body_carries_everything_the_node_shows() -> None:
    body = problem_body(_finding("370102001"))
    assert body == {
        "v": 1, "id": body["id"], "kind": "value_mismatch", "source": "户籍",
        "source_kind": "public_security", "dataset": "a" * 32, "row": 7, "record": "r-1",
        "field": "name", "register_value": "王芳", "record_value": "王方",
        "authority": "register", "proposed": "王芳", "division": "370102001",
        "person": {}, "details": {},
        "message_key": "crosscheck.value_mismatch",
        "message_zh": "“户籍”登记的姓名与采集信息不一致",
        "message_en": "户籍 records a different name",
    }  # fmt: skip


def test_problem_entry_survives_the_bundle_entry_codec() -> None:
    finding = _finding("370102001", register_value=("a", "b"), record_value=None,
                       proposed_value=("a", "b"), person=(("name", "王芳"),))  # fmt: skip
    wire = msgpack.unpackb(msgpack.packb(encode_entry(to_problem(finding))))
    entry = decode_entry(wire)
    assert isinstance(entry, Problem)
    assert read_problem_body(entry.body) == finding


_values = st.one_of(st.none(), st.text(max_size=20), st.booleans(), st.integers(0, 10**6),
                    st.lists(st.text(max_size=5), max_size=3).map(tuple))  # fmt: skip


@given(
    kind=st.sampled_from(FindingKind),
    register=_values,
    record=_values,
    row=st.one_of(st.none(), st.integers(1, 10**6)),
    division=st.one_of(st.none(), st.sampled_from(["370102001", "370102"])),
    person=st.dictionaries(st.sampled_from(["name", "sex", "id_number"]), st.text(min_size=1,
                           max_size=10)),
)  # fmt: skip
def test_problem_body_round_trips(
    kind: FindingKind, register: Any, record: Any, row: int | None, division: str | None,
    person: dict[str, str],
) -> None:  # fmt: skip
    finding = _finding(division, kind=kind, register_value=register, record_value=record,
                       authority=Authority.NONE, proposed_value=None, row=row,
                       record_id="r-1" if row is None else None,
                       person=tuple(sorted(person.items())))  # fmt: skip
    wire = msgpack.unpackb(msgpack.packb(problem_body(finding)))
    assert read_problem_body(wire) == finding


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"v": 2}, "problem body: expected format 1, saw '2'"),
        ({"kind": "gossip"}, "problem body: unknown kind, source kind or authority "
                             "('gossip' is not a valid FindingKind)"),
        ({"id": ""}, "problem body: id must be text of 1..500 characters"),
        ({"row": 0}, "problem body: row must be a row number or null"),
        ({"row": None, "record": None}, "problem body: finding "),
        ({"register_value": {"a": 1}}, "problem body: register_value must be a value (text, "
                                       "number, true/false or a list of text)"),
        ({"person": []}, "problem body: person must be an object"),
        ({"authority": "record", "proposed": "x"}, "problem body: finding "),
    ],
)  # fmt: skip
def test_malformed_problem_bodies_are_refused(change: dict[str, Any], message: str) -> None:
    body = problem_body(_finding("370102001"))
    body.update(change)
    with pytest.raises(ProblemBodyError) as caught:
        read_problem_body(body)
    assert caught.value.message.startswith(message)


def test_a_body_with_a_missing_or_extra_key_is_refused() -> None:
    body = problem_body(_finding("370102001"))
    del body["message_en"]
    with pytest.raises(ProblemBodyError, match="expected an object with keys"):
        read_problem_body(body)
    with pytest.raises(ProblemBodyError, match="expected an object with keys"):
        read_problem_body([1, 2])
