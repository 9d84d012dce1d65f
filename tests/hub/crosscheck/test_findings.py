"""Findings on a generated register with planted problems: precision and recall, stated."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.crosscheck import (
    Authority,
    Finding,
    FindingKind,
    MatchProposal,
    MemoryDatasets,
    SourceKind,
    check_dataset,
)
from tests.hub.crosscheck.planted import (
    Planted,
    import_csv,
    index_for,
    make_household,
    make_pension_list,
)


def _precision_recall(found: set[object], expected: set[object]) -> tuple[float, float]:
    hits = len(found & expected)
    return (hits / len(found) if found else 1.0), (hits / len(expected) if expected else 1.0)


@pytest.fixture(scope="module")
def household(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Planted, list[Finding], list[MatchProposal]]:
    tmp = tmp_path_factory.mktemp("household")
    path, planted = make_household(tmp)
    store = MemoryDatasets()
    dataset, mapping = import_csv(store, path, SourceKind.PUBLIC_SECURITY, "a" * 32)
    index = index_for(planted, mapping)
    duplicates = set(store.duplicate_id_numbers(dataset.dataset_id))
    results = list(
        check_dataset(dataset, store.rows(dataset.dataset_id), index, duplicates=duplicates)
    )
    findings = [r for r in results if isinstance(r, Finding)]
    proposals = [r for r in results if isinstance(r, MatchProposal)]
    return planted, findings, proposals


def test_value_disagreements_are_found_exactly(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    planted, findings, _proposals = household
    found = {(f.record_id, f.field) for f in findings if f.kind is FindingKind.VALUE_MISMATCH}
    # Expected: every planted disagreement, and nothing else (precision 1.0, recall 1.0).
    assert _precision_recall(found, planted.mismatches) == (1.0, 1.0)  # type: ignore[arg-type]
    assert len(found) == 64


def test_deceased_in_the_register_but_collected_as_alive(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    planted, findings, _proposals = household
    found = {f.record_id for f in findings if f.kind is FindingKind.DECEASED}
    assert _precision_recall(found, planted.deceased) == (1.0, 1.0)  # type: ignore[arg-type]
    finding = next(f for f in findings if f.kind is FindingKind.DECEASED)
    assert (finding.field, finding.register_value, finding.record_value) == (
        "living_status", "已故", "健在",
    )  # fmt: skip
    # Public security is authoritative for living status: its value is proposed.
    assert (finding.authority, finding.proposed_value) == (Authority.REGISTER, "已故")


def test_invalid_and_repeated_id_numbers(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    planted, findings, _proposals = household
    invalid = {f.row for f in findings if f.kind is FindingKind.INVALID_ID_NUMBER}
    repeated = {dict(f.person)["id_number"] for f in findings
                if f.kind is FindingKind.DUPLICATE_ID_NUMBER}  # fmt: skip
    assert invalid == planted.invalid_rows
    assert repeated == planted.duplicated


def test_rows_without_id_number_get_the_right_proposal(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    planted, _findings, proposals = household
    best: dict[int, MatchProposal] = {}
    for proposal in proposals:
        if proposal.row not in best or proposal.score > best[proposal.row].score:
            best[proposal.row] = proposal
    found = {(row, p.record_id) for row, p in best.items() if row in planted.no_id_rows}
    expected = set(planted.no_id_rows.items())
    precision, recall = _precision_recall(found, expected)  # type: ignore[arg-type]
    # Expected: precision 1.0 (a top proposal is the right person), recall >= 0.9 (a
    # mistyped two-character name may score below the threshold).
    assert precision == 1.0
    assert recall >= 0.9
    typo = next(p for p in best.values() if "name_similar" in p.reasons)
    assert typo.score >= 0.8
    assert {"birth_date_equal", "sex_equal", "town_equal"} <= set(typo.reasons)


def test_no_missing_people_from_a_register_of_everyone(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    # The household register lists everyone; only a register of a collected category
    # can say someone is missing.
    _planted, findings, _proposals = household
    assert not [f for f in findings if f.kind is FindingKind.MISSING]


def test_missing_people_on_a_category_register(tmp_path: Path) -> None:
    _path, planted = make_household(tmp_path)
    pension = make_pension_list(tmp_path, planted)
    store = MemoryDatasets()
    dataset, mapping = import_csv(store, pension, SourceKind.MILITARY, "b" * 32)
    index = index_for(planted, mapping)
    findings = [f for f in check_dataset(dataset, store.rows(dataset.dataset_id), index)
                if isinstance(f, Finding)]  # fmt: skip
    missing = {dict(f.person)["id_number"] for f in findings if f.kind is FindingKind.MISSING}
    assert _precision_recall(missing, planted.missing) == (1.0, 1.0)  # type: ignore[arg-type]
    one = next(f for f in findings if f.kind is FindingKind.MISSING)
    assert one.record_id is None
    assert one.division_code is not None
    assert one.register_value == ("disabled_soldier",)
    # The collected people on the list who are not recorded as disabled soldiers:
    # categories are the record's to decide, so the register is only reported.
    category = [f for f in findings if f.kind is FindingKind.VALUE_MISMATCH]
    assert all(f.field == "subject_category" and f.authority is Authority.RECORD
               and f.proposed_value is None for f in category)  # fmt: skip


def test_finding_ids_are_stable_across_runs_and_extracts(tmp_path: Path) -> None:
    runs = []
    for dataset_id in ("c" * 32, "e" * 32):
        path, planted = make_household(tmp_path)
        store = MemoryDatasets()
        dataset, mapping = import_csv(store, path, SourceKind.PUBLIC_SECURITY, dataset_id)
        results = check_dataset(dataset, store.rows(dataset_id), index_for(planted, mapping))
        runs.append({r.finding_id for r in results if isinstance(r, Finding)})
    # A second extract of the same register (a new dataset) gives the same ids.
    assert runs[0] == runs[1]
    assert len(runs[0]) > 50


def test_finding_reprs_hold_no_personal_data(
    household: tuple[Planted, list[Finding], list[MatchProposal]],
) -> None:
    planted, findings, _proposals = household
    names = {p.name for p in planted.people}
    numbers = {p.id_number for p in planted.people}
    for finding in findings:
        text = repr(finding)
        assert not any(n in text for n in numbers)
        assert not any(name in text for name in names if len(name) > 2)
