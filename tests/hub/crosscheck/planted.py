"""A generated register with planted problems, and the findings it must give.

2,000 people over four towns; 1,600 of them collected. The household register
lists all 2,000, with planted disagreements (names, addresses), deaths,
rows whose ID number was left out (some with a mistyped name), invalid and
repeated ID numbers. A pension list names 200 collected people and 20 who were
never collected: those 20 are the *missing*.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from hub.crosscheck import (
    ColumnMapping,
    ColumnRule,
    Dataset,
    MemoryDatasets,
    RecordIndex,
    RegisterField,
    SourceKind,
    compared_fields,
    import_register,
    propose_mapping,
)
from hub.crosscheck.synthetic import (
    REGISTER_HEADERS,
    SyntheticPerson,
    record_values,
    register_cells,
    synthetic_people,
)
from tests.hub.crosscheck.conftest import AS_OF, IMPORTED_AT

TOWNS = ("370102001", "370102002", "370103001", "370112100")
PEOPLE = 2_000
COLLECTED = 1_600


@dataclass
class Planted:
    people: list[SyntheticPerson]
    records: dict[str, dict[str, object]]
    mismatches: set[tuple[str, str]] = field(default_factory=set)
    deceased: set[str] = field(default_factory=set)
    no_id_rows: dict[int, str] = field(default_factory=dict)  # row → record id
    invalid_rows: set[int] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)  # ID numbers


def _typo(name: str, rng: random.Random) -> str:
    replacement = rng.choice("明华军红伟")
    while replacement == name[-1]:
        replacement = rng.choice("明华军红伟")
    return name[:-1] + replacement


def _line(cells: tuple[str, ...]) -> str:
    return ",".join(cells) + "\n"


def make_household(tmp: Path, seed: int = 7) -> tuple[Path, Planted]:
    rng = random.Random(seed)
    people = list(synthetic_people(rng, PEOPLE, towns=TOWNS))
    records = {p.record_id: record_values(p) for p in people[:COLLECTED]}
    planted = Planted(people=people, records=records)
    lines = [_line(REGISTER_HEADERS)]
    row = 1
    for i, person in enumerate(people):
        cells = list(register_cells(person))
        collected = i < COLLECTED
        if collected and i % 50 == 1:
            cells[1] = person.name + "某"
            planted.mismatches.add((person.record_id, "name"))
        elif collected and i % 50 == 2:
            cells[5] = "新村" + person.address
            planted.mismatches.add((person.record_id, "hukou_address"))
        elif collected and i % 160 == 3:
            cells[6] = "死亡"
            planted.deceased.add(person.record_id)
        elif collected and i % 50 == 4:
            cells[0] = ""  # ID number left out
            if len(person.name) == 3 and i % 100 == 4:
                cells[1] = _typo(person.name, rng)
            planted.no_id_rows[row + 1] = person.record_id
        elif i % 400 == 5:
            cells[0] = person.id_number[:17] + ("1" if person.id_number[17] == "0" else "0")
            planted.invalid_rows.add(row + 1)
        lines.append(_line(tuple(cells)))
        row += 1
        if i % 700 == 6:
            lines.append(_line(tuple(cells)))  # the same person twice
            planted.duplicated.add(person.id_number)
            row += 1
    path = tmp / "household.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path, planted


def make_pension_list(tmp: Path, planted: Planted) -> Path:
    lines = ["姓名,身份证号,优抚对象类别\n"]
    lines.extend(f"{p.name},{p.id_number},退役士兵\n" for p in planted.people[:200])
    for person in planted.people[COLLECTED : COLLECTED + 20]:
        lines.append(f"{person.name},{person.id_number},残疾军人\n")
        planted.missing.add(person.id_number)
    path = tmp / "pension.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def import_csv(
    store: MemoryDatasets, path: Path, kind: SourceKind, dataset_id: str
) -> tuple[Dataset, ColumnMapping]:
    mapping = propose_mapping(REGISTER_HEADERS if "household" in path.name else
                              ("姓名", "身份证号", "优抚对象类别"),
                              source=path.stem, source_kind=kind)  # fmt: skip
    if kind is not SourceKind.PUBLIC_SECURITY:
        columns = tuple(r for r in mapping.columns if r.field is not RegisterField.ID_NUMBER)
        mapping = ColumnMapping(
            source=mapping.source, source_kind=kind,
            columns=(*columns, ColumnRule(header="身份证号", field=RegisterField.ID_NUMBER)),
        )  # fmt: skip
    dataset = import_register(path, mapping, store, dataset_id=dataset_id, imported_by="admin01",
                              imported_at=IMPORTED_AT, as_of=AS_OF)  # fmt: skip
    return dataset, mapping


def index_for(planted: Planted, mapping: ColumnMapping) -> RecordIndex:
    return RecordIndex.build(planted.records.items(), compared=compared_fields(mapping))
