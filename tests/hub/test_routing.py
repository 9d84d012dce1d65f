"""Which site a record's division belongs to (hub/routing.py)."""

from __future__ import annotations

import pytest

from hub.routing import home_site


@pytest.mark.parametrize(
    ("code", "site"),
    [
        ("370102001001", "370102001"),  # a village: its town
        ("370102001", "370102001"),
        ("370102", "370102"),
        ("３７０１０２００１", None),  # full-width digits are digits to str.isdigit
        ("3701020011", None),
        ("", None),
        (370102001, None),
        (None, None),
    ],
)
def test_a_division_code_belongs_to_its_town_or_to_itself(code: object, site: str | None) -> None:
    assert home_site(code) == site
