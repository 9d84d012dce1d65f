"""Cards for the simulator: loaded from JSON or generated with valid ID numbers.

Generated cards look like the census's people: born 1930-1975, realistic
names and Shandong-first addresses, ID numbers with the right check digit,
birth-date digits and sex parity, validity periods following the issuing rules
(10, 20 years or 长期 by age at issue). Nothing here is a real person.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from node.collector.card import PHOTO_SIZE
from node.collector.card_text import LONG_TERM, CardText, ValidTo
from node.collector.errors import CardDataError
from node.collector.textblock import CardType
from protocol.divisions import Divisions
from protocol.idnumber import make_id_number

__all__ = ["APPENDED_ADDRESS_CHARS", "SimCard", "generate_cards", "load_cards"]

#: The appended address is 70 bytes of UCS-2.
APPENDED_ADDRESS_CHARS = 35

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "建国", "志强", "秀英", "桂兰", "玉珍", "德明", "文华", "海燕", "立新", "卫东",
    "红梅", "国庆", "建华", "淑芬", "振华", "凤英", "永刚", "丽华", "明", "军",
    "伟", "芳", "勇", "静", "强", "敏", "磊", "洋", "杰", "涛", "秀兰", "玉兰",
    "保国", "爱民", "援朝", "胜利", "继承", "光荣", "学军", "向阳",
)  # fmt: skip
_STREETS = (
    "解放路", "人民路", "和平路", "建设路", "胜利街", "文化路", "泉城路", "经十路",
    "朝阳路", "幸福街", "中山路", "青年路", "光明街", "新华路",
)  # fmt: skip
#: County-level places for addresses and ID numbers; Shandong first, like the pilot.
_PLACES = ("370102", "370103", "370211", "370602", "371302", "370303", "110105", "310115")
#: Ethnicity codes drawn for generated cards: mostly Han, some others.
_ETHNICITIES = ("01",) * 12 + ("02", "03", "05", "08", "10", "12", "97")
_HMT_REGIONS = (("810000", "H"), ("820000", "M"), ("830000", ""))
_NATIONALITIES = (("USA", "SMITH, JOHN"), ("GBR", "BROWN, EMMA"), ("KOR", "KIM, MINJUN"))


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SimCard:
    """A card the simulator can place on its antenna."""

    text: CardText
    photo: bytes
    appended_address: str | None = None

    def __post_init__(self) -> None:
        if len(self.photo) != PHOTO_SIZE:
            raise CardDataError(f"card photo of {len(self.photo)} bytes: expected {PHOTO_SIZE}")
        if self.appended_address is not None and len(self.appended_address) > (
            APPENDED_ADDRESS_CHARS
        ):
            raise CardDataError(
                f"appended address of {len(self.appended_address)} characters: "
                f"expected at most {APPENDED_ADDRESS_CHARS}"
            )

    def __repr__(self) -> str:
        return f"SimCard(card_type={self.text.card_type.value}, <personal fields hidden>)"

    def to_json_dict(self) -> dict[str, Any]:
        """Return the card as the JSON objects :func:`load_cards` reads."""
        text = self.text
        data: dict[str, Any] = {
            "card_type": text.card_type.value,
            "name": text.name,
            "sex_code": text.sex_code,
            "birth_date": text.birth_date.isoformat(),
            "id_number": text.id_number,
            "issuing_authority": text.issuing_authority,
            "valid_from": text.valid_from.isoformat(),
            "valid_to": text.valid_to
            if isinstance(text.valid_to, str)
            else (text.valid_to.isoformat()),
            "ethnicity_code": text.ethnicity_code,
            "address": text.address,
            "name_en": text.name_en,
            "nationality_code": text.nationality_code,
            "card_version": text.card_version,
            "pass_number": text.pass_number,
            "issue_count": text.issue_count,
            "appended_address": self.appended_address,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> SimCard:
        """Build a card from one JSON object; the photo defaults to stable pseudo-bytes.

        Raises:
            CardDataError: a key is missing, a value has the wrong type, or a field
                is not what a card holds.
        """
        try:
            valid_to: ValidTo = (
                LONG_TERM if data["valid_to"] == LONG_TERM else _iso(data["valid_to"])
            )
            optional = {
                key: data[key]
                for key in (
                    "ethnicity_code",
                    "address",
                    "name_en",
                    "nationality_code",
                    "card_version",
                    "pass_number",
                    "issue_count",
                )
                if data.get(key) is not None
            }
            text = CardText(
                card_type=CardType(data.get("card_type", CardType.RESIDENT.value)),
                name=str(data["name"]),
                sex_code=str(data["sex_code"]),
                birth_date=_iso(data["birth_date"]),
                id_number=str(data["id_number"]),
                issuing_authority=str(data["issuing_authority"]),
                valid_from=_iso(data["valid_from"]),
                valid_to=valid_to,
                **optional,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CardDataError(
                f"simulated card: expected the keys and types of docs/collector.md ({exc!r})"
            ) from exc
        return cls(
            text=text,
            photo=_photo_for(text.id_number),
            appended_address=data.get("appended_address"),
        )


def _iso(value: object) -> date:
    if not isinstance(value, str):
        raise TypeError("expected a YYYY-MM-DD string")
    return date.fromisoformat(value)


def _photo_for(seed: str) -> bytes:
    # Stable bytes per card, so a re-read gives the same blob; not a real WLT image.
    return hashlib.shake_256(b"muster/sim-photo/v1" + seed.encode()).digest(PHOTO_SIZE)


def load_cards(path: Path) -> tuple[SimCard, ...]:
    """Read a JSON list of card objects.

    Raises:
        CardDataError: the file is not a JSON list of valid card objects.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CardDataError(f"cards file: expected readable JSON ({type(exc).__name__})") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise CardDataError("cards file: expected a JSON list of objects")
    return tuple(SimCard.from_json_dict(item) for item in data)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _validity(rng: random.Random, birth: date, today: date) -> tuple[date, ValidTo]:
    issued = today - timedelta(days=rng.randrange(30, 9 * 365))
    age = issued.year - birth.year
    if age >= 46:
        return issued, LONG_TERM
    return issued, _add_years(issued, 20 if age >= 26 else 10)


def _place(divisions: Divisions, code: str) -> tuple[str, str]:
    """Return (address prefix, issuing police office) for a county code."""
    province = divisions.name(code[:2] + "0000") or ""
    city = divisions.name(code[:4] + "00")
    county = divisions.name(code) or ""
    if city in (None, "市辖区", province):
        city = ""
    return province + city + county, f"{city or province}公安局{county}分局"


def _person(rng: random.Random) -> tuple[str, str, date]:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    sex = rng.choice(("1", "2"))
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 46 * 365))
    return name, sex, born


def _street(rng: random.Random) -> str:
    return f"{rng.choice(_STREETS)}{rng.randrange(1, 300)}号"


def _resident(rng: random.Random, divisions: Divisions, today: date) -> SimCard:
    name, sex, born = _person(rng)
    code = rng.choice(_PLACES)
    prefix, authority = _place(divisions, code)
    valid_from, valid_to = _validity(rng, born, today)
    number = make_id_number(code, born, rng.randrange(100), sex)
    moved = rng.random() < 0.2
    return SimCard(
        text=CardText(
            card_type=CardType.RESIDENT,
            name=name,
            sex_code=sex,
            birth_date=born,
            id_number=number,
            issuing_authority=authority,
            valid_from=valid_from,
            valid_to=valid_to,
            ethnicity_code=rng.choice(_ETHNICITIES),
            address=(prefix + _street(rng))[:35],
        ),
        photo=_photo_for(number),
        appended_address=(prefix + _street(rng))[:35] if moved else None,
    )


def _hmt(rng: random.Random, divisions: Divisions, today: date) -> SimCard:
    name, sex, born = _person(rng)
    region, letter = rng.choice(_HMT_REGIONS)
    prefix, authority = _place(divisions, rng.choice(_PLACES))
    valid_from = today - timedelta(days=rng.randrange(30, 4 * 365))
    number = make_id_number(region, born, rng.randrange(100), sex)
    return SimCard(
        text=CardText(
            card_type=CardType.HMT_RESIDENCE_PERMIT,
            name=name,
            sex_code=sex,
            birth_date=born,
            id_number=number,
            issuing_authority=authority,
            valid_from=valid_from,
            valid_to=_add_years(valid_from, 5),
            address=(prefix + _street(rng))[:35],
            pass_number=f"{letter}{rng.randrange(10**7, 10**8)}",
            issue_count=f"{rng.randrange(1, 4):02d}",
        ),
        photo=_photo_for(number),
    )


def _foreign(rng: random.Random, today: date) -> SimCard:
    _, sex, born = _person(rng)
    nationality, name_en = rng.choice(_NATIONALITIES)
    valid_from = today - timedelta(days=rng.randrange(30, 5 * 365))
    number = f"{nationality}37{born:%y%m%d}{rng.randrange(10**4):04d}"
    return SimCard(
        text=CardText(
            card_type=CardType.FOREIGN_PERMANENT_RESIDENT,
            name=name_en,
            name_en=name_en,
            sex_code=sex,
            birth_date=born,
            id_number=number,
            nationality_code=nationality,
            issuing_authority="3700",
            valid_from=valid_from,
            valid_to=_add_years(valid_from, 10),
            card_version="17",
        ),
        photo=_photo_for(number),
    )


def generate_cards(
    count: int,
    *,
    seed: int,
    today: date,
    card_types: Sequence[CardType] = (CardType.RESIDENT,),
    expired: bool = False,
) -> tuple[SimCard, ...]:
    """Generate ``count`` cards, cycling through ``card_types``; same seed, same cards.

    With ``expired`` every card's validity ended before ``today``.
    """
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    divisions = Divisions.default()
    cards: list[SimCard] = []
    for index in range(count):
        card_type = card_types[index % len(card_types)]
        if card_type is CardType.RESIDENT:
            card = _resident(rng, divisions, today)
        elif card_type is CardType.HMT_RESIDENCE_PERMIT:
            card = _hmt(rng, divisions, today)
        else:
            card = _foreign(rng, today)
        if expired:
            end = today - timedelta(days=rng.randrange(1, 365))
            text = replace(card.text, valid_from=_add_years(end, -10), valid_to=end)
            card = replace(card, text=text)
        cards.append(card)
    return tuple(cards)
