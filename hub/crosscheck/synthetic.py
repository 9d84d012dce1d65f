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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

from crypto.errors import UsageError
from protocol.idnumber import make_id_number

__all__ = [
    "REGISTER_HEADERS",
    "SyntheticPerson",
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
