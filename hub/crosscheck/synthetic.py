"""Generated people, records and register rows, for the cross-check tests, bench and demo.

:func:`synthetic_people` makes people fast (a million in seconds) with valid,
unique ID numbers, common names, a town and an address; :func:`record_values`
gives a person's collected record (the fields a cross-check compares) and
:func:`register_cells` the same person as a register row would show them.
Everything comes from the ``Random`` passed in: a seed gives the same people on
every machine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

from crypto.errors import UsageError
from protocol.idnumber import make_id_number

__all__ = [
    "PLANTED_HEADERS",
    "REGISTER_HEADERS",
    "PlantedRegister",
    "SyntheticPerson",
    "planted_register",
    "record_values",
    "register_cells",
    "synthetic_people",
]

_SURNAMES: Final = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩"
    + "唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
_GIVEN: Final = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华玉兰志强红梅海燕"
    "文斌立新春生德明国庆振华淑珍金凤晓东宏伟永刚"
)
_STREETS: Final = ("解放路", "建设路", "人民路", "和平路", "胜利街", "新华街", "文化路", "中山路")
_FIRST_BIRTH: Final = date(1925, 1, 1)
_BIRTH_DAYS: Final = 29_000
_SEQUENCES: Final = 100
_CATEGORIES: Final = ("retired_soldier", "retired_officer", "disabled_soldier",
                      "martyr_survivor", "active_duty_family", "old_demobilized")  # fmt: skip

#: The register columns :func:`register_cells` fills, in this order.
REGISTER_HEADERS: Final = ("公民身份号码", "姓名", "性别", "出生日期", "户籍地区划代码",
                           "户籍地址", "人员状态")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticPerson:
    """A generated person; ``record_id`` is the record they would be collected under."""

    record_id: str
    id_number: str
    name: str
    sex: str
    birth_date: date
    town_code: str
    address: str
    living_status: str = "健在"
    categories: tuple[str, ...] = ()
    minimum_allowance: bool = False

    def with_changes(self, **changes: object) -> SyntheticPerson:
        return replace(self, **changes)  # type: ignore[arg-type]


def _given(rng: random.Random) -> str:
    size = 1 if rng.random() < 0.3 else 2
    return "".join(rng.choice(_GIVEN) for _ in range(size))


def synthetic_people(
    rng: random.Random, count: int, *, towns: Sequence[str], start: int = 0
) -> Iterator[SyntheticPerson]:
    """Yield ``count`` people with unique ID numbers, spread over ``towns`` (9-digit codes).

    People ``start`` .. ``start + count - 1`` of the same ``towns`` never share an
    ID number, so separate calls with disjoint ranges give disjoint people.

    Raises:
        UsageError: no towns, a town code that is not 9 digits, or too many people.
    """
    if not towns or any(len(t) != 9 or not t.isdigit() for t in towns):
        raise UsageError("synthetic people: expected 9-digit town codes")
    if start + count > _BIRTH_DAYS * _SEQUENCES:
        raise UsageError("synthetic people: too many for the towns given")
    for i in range(start, start + count):
        town = towns[i % len(towns)]
        # Each (birth day, sequence) pair is used once, so every ID number is unique.
        born = _FIRST_BIRTH + timedelta(days=i % _BIRTH_DAYS)
        sex = rng.choice("12")
        number = make_id_number(town[:6], born, i // _BIRTH_DAYS, sex)
        yield SyntheticPerson(
            record_id=f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
            id_number=number,
            name=rng.choice(_SURNAMES) + _given(rng),
            sex=sex,
            birth_date=born,
            town_code=town,
            address=f"{rng.choice(_STREETS)}{rng.randint(1, 300)}号",
            categories=(rng.choice(_CATEGORIES),),
            minimum_allowance=rng.random() < 0.1,
        )


def record_values(person: SyntheticPerson) -> dict[str, object]:
    """The person's collected record, in canonical values (the fields cross-checks use)."""
    return {
        "id_number": person.id_number,
        "name": person.name,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat(),
        "hukou_division_code": person.town_code,
        "hukou_address": person.address,
        "living_status": person.living_status,
        "subject_category": person.categories,
        "receives_minimum_living_allowance": person.minimum_allowance,
    }


def register_cells(person: SyntheticPerson, *, with_id: bool = True) -> tuple[str, ...]:
    """The person as a household-register row (:data:`REGISTER_HEADERS`), as text cells."""
    return (
        person.id_number if with_id else "",
        person.name,
        "男" if person.sex == "1" else "女",
        f"{person.birth_date:%Y/%m/%d}",
        person.town_code,
        person.address,
        "正常" if person.living_status == "健在" else "死亡",
    )


#: The columns of :func:`planted_register`: the household register's, and the category.
PLANTED_HEADERS: Final = (*REGISTER_HEADERS, "人员类别")
#: Where generated missing people's ID numbers start (far from any demo's records).
_MISSING_START: Final = 2_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedRegister:
    """A register made from collected records, with known problems planted in it.

    Attributes:
        headers: :data:`PLANTED_HEADERS`.
        rows: the text cells, one tuple per person.
        disagreements: ``(record id, field)`` pairs whose value the register changed.
        deceased: records the register says have died.
        missing: ID numbers of people on the register, of a collected category, with
            no record.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    disagreements: tuple[tuple[str, str], ...]
    deceased: tuple[str, ...]
    missing: tuple[str, ...]

    def csv(self) -> str:
        """The register as CSV text (UTF-8 when written; no cell holds a comma)."""
        return "".join(",".join(cells) + "\n" for cells in (self.headers, *self.rows))


def _text(values: Mapping[str, object], key: str) -> str:
    value = values.get(key)
    return value if isinstance(value, str) else ""


def _cells(values: Mapping[str, object]) -> list[str]:
    born = _text(values, "birth_date").replace("-", "/")
    categories = values.get("subject_category")
    held = categories if isinstance(categories, list | tuple) else ()
    return [
        _text(values, "id_number"),
        _text(values, "name"),
        {"1": "男", "2": "女"}.get(_text(values, "sex"), ""),
        born,
        _text(values, "hukou_division_code"),
        _text(values, "hukou_address"),
        "死亡" if values.get("living_status") == "已故" else "正常",
        "、".join(str(c) for c in held),
    ]


def _other_name(name: str, rng: random.Random) -> str:
    replacement = rng.choice(_GIVEN)
    while replacement == name[-1:]:
        replacement = rng.choice(_GIVEN)
    return name[:-1] + replacement


def planted_register(
    records: Sequence[tuple[str, Mapping[str, object]]],
    rng: random.Random,
    *,
    disagreements: int = 3,
    deceased: int = 1,
    missing: int = 1,
) -> PlantedRegister:
    """A household register listing ``records`` (canonical values) with planted problems.

    The first ``disagreements`` records get another name or household address (in
    turn), the next ``deceased`` are marked dead, and ``missing`` people of a collected
    category who have no record are added, in the first record's town.

    Raises:
        UsageError: fewer records than problems to plant, or records without an ID number.
    """
    planted = disagreements + deceased
    usable = [(rid, values) for rid, values in records if _text(values, "id_number")]
    if len(usable) < max(planted, 1):
        raise UsageError(f"planted register: expected at least {max(planted, 1)} records "
                         f"with an ID number, saw {len(usable)}")  # fmt: skip
    rows: list[tuple[str, ...]] = []
    changed: list[tuple[str, str]] = []
    dead: list[str] = []
    for i, (record_id, values) in enumerate(usable):
        cells = _cells(values)
        if i < disagreements:
            if i % 2 == 0:
                cells[1], field = _other_name(cells[1], rng), "name"
            else:
                cells[5], field = cells[5] + "附1号", "hukou_address"
            changed.append((record_id, field))
        elif i < planted:
            cells[6] = "死亡"
            dead.append(record_id)
        rows.append(tuple(cells))
    town = (_text(usable[0][1], "hukou_division_code") or "370102001")[:9]
    absent = []
    for person in synthetic_people(rng, missing, towns=(town,), start=_MISSING_START):
        cells = [*register_cells(person), "残疾军人"]
        cells[4] = town
        rows.append(tuple(cells))
        absent.append(person.id_number)
    return PlantedRegister(headers=PLANTED_HEADERS, rows=tuple(rows),
                           disagreements=tuple(changed), deceased=tuple(dead),
                           missing=tuple(absent))  # fmt: skip
