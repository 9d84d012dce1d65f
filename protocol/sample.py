"""Realistic sample records for benchmarks, the demo and tests.

:func:`realistic_record` draws a person of one category, with a plausible life
(birth, enlistment, discharge, injury or a relative's death in order), a common
Chinese name, an address in the given division and a valid ID number, and fills
every required field plus most optional ones with canonical values. It is pure:
all randomness comes from the ``Random`` passed in, so a seed gives the same
record on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from crypto.errors import UsageError
from protocol.divisions import Divisions, Level, jurisdiction_prefix, level_of
from protocol.idnumber import make_id_number
from protocol.schema import CATEGORY_FIELD, FieldDef, FieldType, Schema
from protocol.values import format_date

__all__ = ["realistic_record"]

# The most frequent surnames, with rough weights (per cent of the population).
_SURNAMES: Final = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.7),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("赵", 2.3),
    ("黄", 2.2),
    ("周", 2.1),
    ("吴", 2.0),
    ("徐", 1.7),
    ("孙", 1.5),
    ("胡", 1.3),
    ("朱", 1.3),
    ("高", 1.2),
    ("林", 1.2),
    ("何", 1.2),
    ("郭", 1.2),
    ("马", 1.1),
    ("罗", 0.9),
    ("梁", 0.9),
    ("宋", 0.8),
    ("郑", 0.8),
    ("谢", 0.7),
    ("韩", 0.7),
    ("唐", 0.6),
    ("冯", 0.6),
    ("于", 0.6),
    ("董", 0.6),
    ("萧", 0.5),
    ("程", 0.5),
    ("曹", 0.5),
    ("袁", 0.5),
    ("邓", 0.5),
    ("许", 0.5),
    ("傅", 0.4),
    ("沈", 0.4),
    ("曾", 0.4),
    ("彭", 0.4),
    ("吕", 0.4),
    ("苏", 0.4),
    ("卢", 0.4),
    ("蒋", 0.4),
    ("蔡", 0.4),
    ("贾", 0.3),
    ("丁", 0.3),
    ("魏", 0.3),
    ("薛", 0.3),
    ("叶", 0.3),
    ("阎", 0.3),
    ("孔", 0.3),
    ("欧阳", 0.1),
    ("司马", 0.02),
)
_MALE_CHARS: Final = "伟强军勇建国志明永刚海平东辉杰斌鹏涛成华兵利民庆林峰春德胜文武良"
_FEMALE_CHARS: Final = "芳娜敏静丽艳娟霞秀英兰玉萍红梅琳燕婷雪慧颖桂珍凤洁琴云莲翠"
_ROADS: Final = ("人民路", "解放路", "建设路", "和平街", "胜利街", "新华路", "中山路", "泉城路")
#: Town names with the GB/T 10114 digits 7-9 range of their kind.
_TOWNS: Final = (
    ("城关街道", 1, 99),
    ("新华街道", 1, 99),
    ("王庄镇", 100, 199),
    ("李集镇", 100, 199),
    ("柳河乡", 200, 399),
)
_UNITS: Final = ("陆军某部", "海军某部", "空军某部", "火箭军某部", "武警某部", "战略支援部队某部")
_AUTHORITIES: Final = ("县民政局", "市民政局", "省民政厅", "县退役军人事务局")

#: (youngest, oldest) age in years of a person of each category on ``today``.
_AGES: Final = {
    "retired_officer": (30, 80),
    "retired_soldier": (20, 75),
    "military_retiree": (50, 95),
    "nonmil_retired_cadre": (75, 98),
    "nonmil_retired_staff": (55, 90),
    "old_demobilized": (86, 99),
    "red_army_veteran": (99, 108),
    "west_route_red_army": (101, 108),
    "red_army_scattered": (101, 108),
    "disabled_soldier": (22, 85),
    "disabled_militia": (25, 85),
    "wrongly_executed_child": (76, 100),
}
#: Realistic ranges of the number fields.
_NUMBERS: Final = {
    "household_size": (1, 6),
    "household_income_per_capita": (3000, 60000),
    "periodic_benefit_monthly_amount": (300, 5000),
}
_DEFAULT_AGES: Final = (1, 95)
#: Latest enlistment date that a category's definition allows.
_ENLISTED_BY: Final = {
    "old_demobilized": date(1954, 10, 31),
    "red_army_veteran": date(1937, 7, 6),
    "west_route_red_army": date(1937, 3, 1),
    "red_army_scattered": date(1937, 7, 6),
}
_DECEASED_KIND: Final = {
    "martyr_survivor": "烈士",
    "wrongly_executed_child": "建国前错杀后被平反人员",
    "duty_death_survivor": "因公牺牲军人",
    "illness_death_survivor": "病故军人",
}
#: Share of optional fields filled in.
_OPTIONAL_FILL: Final = 0.6


@dataclass(slots=True, kw_only=True)
class _Person:
    rng: random.Random
    today: date
    categories: tuple[str, ...]
    county: str
    sex: str
    birth: date
    divisions: Divisions
    dates: dict[str, date] = field(default_factory=dict)

    def between(self, low: date, high: date) -> date:
        high = min(high, self.today)
        low = min(low, high)
        return low + timedelta(days=self.rng.randint(0, (high - low).days))

    def years_after(self, start: date, low: int, high: int) -> date:
        return self.between(_add_years(start, low), _add_years(start, high))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def _name(rng: random.Random, sex: str) -> str:
    surname = rng.choices([s for s, _ in _SURNAMES], weights=[w for _, w in _SURNAMES])[0]
    chars = _MALE_CHARS if sex == "1" else _FEMALE_CHARS
    return surname + "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))


def _county(rng: random.Random, divisions: Divisions, code: str) -> str:
    """Return a current county-level code inside ``code`` (its own if county or below)."""
    while level_of(code).value < Level.COUNTY.value:
        children = divisions.children(code)
        if not children:
            raise UsageError("sample: expected a division with a listed county below it")
        code = rng.choice(children)
    if not divisions.is_known(code[:6]):
        raise UsageError("sample: expected a division code inside a listed county")
    return code[:6]


def _town(rng: random.Random, division_code: str, county: str) -> tuple[str, str]:
    """Return a town's 9-digit code and name: the given town, or one drawn in the county."""
    name, low, high = rng.choice(_TOWNS)
    prefix = jurisdiction_prefix(division_code)
    if len(prefix) >= 9:
        return prefix[:9], name
    return f"{county}{rng.randint(low, high):03d}", name


def _address(person: _Person, town: str) -> str:
    names = []
    for prefix in (person.county[:2] + "0000", person.county[:4] + "00", person.county):
        name = person.divisions.name(prefix)
        if name and name not in names:
            names.append(name)
    road = person.rng.choice(_ROADS)
    return f"{''.join(names)}{town}{road}{person.rng.randint(1, 300)}号"


def _timeline(person: _Person) -> None:
    """Fill ``person.dates`` with an ordered life for the record's date fields."""
    rng, dates, birth = person.rng, person.dates, person.birth
    dates["birth_date"] = birth
    dates["collect_date"] = person.between(person.today - timedelta(days=60), person.today)
    dates["id_card_valid_from"] = person.between(
        max(birth, person.today - timedelta(days=7300)), person.today
    )
    # At least two years of service, all of it before today.
    enlisted_by = min(
        _add_years(person.today, -2),
        *(_ENLISTED_BY.get(c, person.today) for c in person.categories),
    )
    enlist = person.between(_add_years(birth, 17), min(_add_years(birth, 22), enlisted_by))
    dates["enlist_date"] = enlist
    dates["discharge_date"] = person.between(_add_years(enlist, 2), _add_years(enlist, 30))
    dates["placement_date"] = person.between(
        dates["discharge_date"], dates["discharge_date"] + timedelta(days=365)
    )
    dates["injury_date"] = person.years_after(birth, 18, 40)
    dates["disability_assess_date"] = person.between(
        dates["injury_date"], dates["injury_date"] + timedelta(days=700)
    )
    # The deceased serviceman was an adult; a parent is older, a child younger.
    deceased_birth = min(
        birth - timedelta(days=rng.randint(-3650, 12000)),
        person.today - timedelta(days=365 * 18),
    )
    dates["deceased_birth_date"] = deceased_birth
    death = person.years_after(deceased_birth, 18, 45)
    dates["death_date"] = max(death, deceased_birth + timedelta(days=1))
    dates["deceased_enlist_date"] = person.between(
        _add_years(deceased_birth, 16), dates["death_date"]
    )
    dates["approval_date"] = person.between(
        dates["death_date"], dates["death_date"] + timedelta(days=700)
    )
    dates["rehabilitation_date"] = person.between(date(1979, 1, 1), date(1990, 12, 31))
    dates["soldier_enlist_date"] = person.between(person.today - timedelta(days=5000), person.today)


def _text(person: _Person, key: str) -> str:
    rng = person.rng
    makers: dict[str, Callable[[], str]] = {
        "phone": lambda: (
            "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        ),
        "id_card_issuer": lambda: f"{person.divisions.name(person.county) or ''}公安局",
        "id_card_valid_to": lambda: (
            "长期"
            if person.birth.year < person.today.year - 46
            else _ymd(_add_years(person.dates["id_card_valid_from"], 20))
        ),
        "former_unit": lambda: rng.choice(_UNITS),
        "deceased_unit": lambda: rng.choice(_UNITS),
        "soldier_branch": lambda: rng.choice(("陆军", "海军", "空军", "火箭军", "武警")),
        "enlist_place": lambda: person.divisions.name(person.county) or "本县",
        "last_rank_or_grade": lambda: rng.choice(
            ("上士", "中士", "下士", "上等兵", "少校", "上尉")
        ),
        "approval_authority": lambda: rng.choice(_AUTHORITIES),
        "bank_name": lambda: rng.choice(
            ("中国农业银行", "中国工商银行", "中国建设银行", "农村信用社")
        ),
        "bank_account": lambda: "62" + "".join(rng.choice("0123456789") for _ in range(17)),
        "death_cause": lambda: rng.choice(("作战牺牲", "执行任务牺牲", "因病医治无效")),
        "burial_place": lambda: f"{person.divisions.name(person.county) or ''}烈士陵园",
        "informant_relation": lambda: rng.choice(("子女", "配偶", "兄弟姐妹")),
        "awards": lambda: rng.choice(("三等功", "嘉奖", "优秀士兵")),
    }
    if key in makers:
        return makers[key]()
    if key.endswith("_name") or key in ("name", "former_name"):
        return _name(rng, rng.choice("12"))
    if key.endswith("_no"):
        return f"{rng.choice('ABCDEFGH')}{rng.randint(100000, 999999)}"
    return rng.choice(("无", "情况良好", "见附件", "已核实"))


def _ymd(day: date) -> str:
    return f"{day:%Y%m%d}"


def _choices(person: _Person, spec: FieldDef) -> object:
    rng = person.rng
    options = [c.value for c in spec.allowed if not c.exclusive]
    if spec.key == "ethnicity":
        return "01" if rng.random() < 0.9 else rng.choice(options)
    if spec.key == "sex":
        return person.sex
    if spec.multi:
        return tuple(sorted(rng.sample(options, rng.randint(1, min(3, len(options))))))
    return rng.choice(options)


def _value(person: _Person, spec: FieldDef, town_code: str) -> object:
    rng = person.rng
    kind = spec.type
    if kind is FieldType.DATE:
        return format_date(person.dates.get(spec.key, person.dates["collect_date"]))
    if kind is FieldType.BOOL:
        return rng.random() < 0.3
    if kind is FieldType.PHOTO:
        blob = f"b2:{rng.getrandbits(256):064x}"
        return (blob,) if spec.multi else blob
    if kind is FieldType.NUMBER:
        low = int(spec.minimum or 0)
        return rng.randint(*_NUMBERS.get(spec.key, (low, low + 100)))
    if spec.division_lengths:
        return town_code if len(town_code) in spec.division_lengths else town_code[:6]
    if kind in (FieldType.ENUM, FieldType.CODE):
        return _choices(person, spec)
    return _text(person, spec.key)


def _fixups(person: _Person, record: dict[str, object], schema: Schema) -> None:
    """Make the fields that depend on each other agree."""
    rng = person.rng
    applicable = {f.key for f in schema.fields_for(person.categories)}
    record["consent_given"] = True
    record["informant_is_self"] = rng.random() < 0.85
    if not record["informant_is_self"]:
        record["informant_name"] = _name(rng, rng.choice("12"))
    if "is_disabled" in applicable:
        disabled = bool({"disabled_soldier", "disabled_militia"} & set(person.categories))
        record["is_disabled"] = disabled
        if disabled:
            record["disability_level"] = str(rng.randint(1, 10))
    kind = next((_DECEASED_KIND[c] for c in person.categories if c in _DECEASED_KIND), None)
    if kind is not None and "deceased_kind" in applicable:
        record["deceased_kind"] = kind
    if "soldier_id_number" in record:
        born = person.years_after(person.today - timedelta(days=365 * 40), 0, 22)
        record["soldier_id_number"] = make_id_number(person.county, born, rng.randint(0, 99), "1")
    record["living_status"] = "健在"
    if "benefit_start_year" in record:
        record["benefit_start_year"] = rng.randint(max(1949, person.birth.year), person.today.year)


def realistic_record(
    rng: random.Random, *, category: str, division_code: str, today: date
) -> dict[str, object]:
    """Return the canonical values of a realistic, valid record of one person.

    Args:
        rng: the only source of randomness.
        category: a category key (``retired_soldier``); a disabled soldier also
            gets ``retired_soldier``, as most do.
        division_code: where the person is registered: a province, city or
            county code (a current county inside it is drawn), or a town or
            village code inside a listed county.
        today: the collection date's upper bound; all dates are on or before it.

    Raises:
        UsageError: the category is unknown, or the division has no listed county.
        DivisionCodeError: the division code is malformed.
    """
    schema, divisions = Schema.default(), Divisions.default()
    categories = tuple(
        sorted(
            {schema.category(category).key}
            | ({"retired_soldier"} if category == "disabled_soldier" else set())
        )
    )
    low, high = next((_AGES[c] for c in categories if c in _AGES), _DEFAULT_AGES)
    veteran = schema.category(category).form in ("veteran", "disabled_militia")
    sex = "1" if veteran and rng.random() < 0.95 else rng.choice("12")
    birth = today - timedelta(days=rng.randint(low * 365 + 1, high * 365))
    county = _county(rng, divisions, division_code)
    person = _Person(
        rng=rng,
        today=today,
        categories=categories,
        county=county,
        sex=sex,
        birth=birth,
        divisions=divisions,
    )
    _timeline(person)
    town, town_name = _town(rng, division_code, county)
    town_code = town + f"{rng.randint(1, 399):03d}"
    record: dict[str, object] = {}
    for spec in schema.fields_for(categories):
        if spec.required or spec.required_when is not None or rng.random() < _OPTIONAL_FILL:
            record[spec.key] = _value(person, spec, town_code)
    record.pop("informant_name", None)
    record.pop("disability_level", None)
    record.update(
        {
            CATEGORY_FIELD: categories,
            "name": _name(rng, sex),
            "birth_date": format_date(birth),
            "id_number": make_id_number(county, birth, rng.randint(0, 99), sex),
            "hukou_address": _address(person, town_name),
            "residence_address": _address(person, town_name),
        }
    )
    _fixups(person, record, schema)
    return record
