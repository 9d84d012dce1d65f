"""A small campaign loaded into the district hub 370102 through its real pipeline, with
every figure the store must give worked out by hand below.

The test PKI's town node (370102001-01) sends realistic records; their household
town, categories, collection day and blank fields are set here::

    id  household  categories                         day    blank  arrives in
    a1  370102001  retired_soldier                    11-20         bundle 1 (clean: merged)
    a2  370102001  retired_soldier                    11-25  phone  bundle 2 (warned: approved)
    a3  370102001  disabled_soldier, retired_soldier  11-28         bundle 1
    a4  370102001  martyr_survivor                    11-29  phone  bundle 2
    a5  370102002  retired_soldier                    11-29         bundle 1
    a6  370102002  martyr_survivor                    11-10         bundle 1
    a7  370103001  retired_soldier                    11-29         bundle 1 (outside 370102)
    a8  370102002  retired_soldier                    11-27         bundle 4 (staged: authorised)
    a9  = a5's ID number                                            bundle 5 (rejected)

Bundle 3 sets a1's phone; bundle 4 sets it again from the same base (a conflict)
and creates a8, so it waits for review. Bundle 5 creates a9 holding a5's ID number
(a duplicate) and a reviewer rejects it. Every bundle arrives on 2026-11-29 (the
test clock), which is "today".

Corrections (an administrator): 370102001 expects 10 people, of whom 6 retired
soldiers; 370102002 expects 4 people.

By hand, as of 2026-11-29:

- 370102001: merged a1–a4 (4); authorised a8 (it waits in a bundle from the node of
  370102001, so it counts there): collected 5, authorised 5, merged 4, verified 0;
  expected 10: progress 50 %. Retired soldiers: a1, a2, a3 → 3 of 6.
  Collected in the 7 days 11-23..11-29: a2, a3, a4 → rate 3/7.
  Phone required 4 times (a1–a4), missing twice (a2, a4).
- 370102002: merged a5, a6: collected 2, expected 4: 50 %; rate 1/7 (a5).
- 370102 (root): collected 7, authorised 7, merged 6, expected 14: 50 %; rate 4/7.
- outside: a7, collected 1.
- quality: the conflict (open, filed under a1's town 370102001), the duplicate
  (dismissed on 11-29 with its bundle), the rejection (open, 370102001): open
  items conflict 1, duplicate 0, finding 0, rejection 1.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from hub.accounts import AccountInfo, Role
from hub.context import HubContext
from hub.reports.storesettings import set_expected
from hub.review import approve, reject
from hub.store.models import BundleRow
from protocol.ops import Op
from protocol.sample import realistic_record
from tests.hub.factory import TODAY, DeltaFactory, record_id
from tests.hub.helpers import drain, submit

__all__ = ["ADMIN", "Loaded", "load_campaign", "values_of"]

ADMIN = AccountInfo(
    login="admin", display_name="管理员", role=Role.ADMIN, scope="370102", disabled=False
)
REVIEWER = "370102/wang.fang"

_PLAN = {
    "a1": ("370102001", "retired_soldier", 20, ()),
    "a2": ("370102001", "retired_soldier", 25, ("phone",)),
    "a3": ("370102001", "disabled_soldier", 28, ()),
    "a4": ("370102001", "martyr_survivor", 29, ("phone",)),
    "a5": ("370102002", "retired_soldier", 29, ()),
    "a6": ("370102002", "martyr_survivor", 10, ()),
    "a7": ("370103001", "retired_soldier", 29, ()),
    "a8": ("370102002", "retired_soldier", 27, ()),
}


def values_of(name: str, rng: random.Random) -> dict[str, object]:
    """The canonical values of record ``name`` of the table above."""
    town, category, day, blank = _PLAN[name]
    values = realistic_record(rng, category=category, division_code=town, today=TODAY)
    values["collect_date"] = date(2026, 11, day).isoformat()
    for field in blank:
        values[field] = ""
    return values


@dataclass(frozen=True, slots=True)
class Loaded:
    """What was loaded: record ids by name, the bundle rows, and every record's values."""

    ids: dict[str, str]
    values: dict[str, dict[str, object]]
    staged: int
    rejected: int


def _create(deltas: DeltaFactory, ids: dict[str, str], values: dict[str, dict[str, object]],
            name: str) -> Op:  # fmt: skip
    return deltas.create(ids[name], values[name])


def load_campaign(hub: HubContext, deltas: DeltaFactory) -> Loaded:
    """Load the campaign of the module docstring into ``hub``."""
    rng = random.Random(2026)
    ids = {name: record_id(n, "report") for n, name in enumerate(sorted(_PLAN))}
    values = {name: values_of(name, rng) for name in sorted(_PLAN)}
    first = {n: _create(deltas, ids, values, n) for n in ("a1", "a3", "a5", "a6", "a7")}
    submit(hub, deltas.bundle(list(first.values()))[0])
    warned = submit(hub, deltas.bundle([_create(deltas, ids, values, n) for n in ("a2", "a4")])[0])
    base = [first["a1"].op_id]
    submit(hub, deltas.bundle([deltas.set(ids["a1"], "phone", "13800000001", base)])[0])
    conflict = deltas.set(ids["a1"], "phone", "13800000002", base)
    staged = submit(hub, deltas.bundle([conflict, _create(deltas, ids, values, "a8")])[0])
    twin = {**values["a5"], "name": "重复人"}
    duplicate = submit(hub, deltas.bundle([deltas.create(record_id(99, "report"), twin)])[0])
    drain(hub)
    approve(hub, warned.row_id, by=REVIEWER)
    reject(hub, duplicate.row_id, by=REVIEWER, reason="与已有记录重复")
    drain(hub)
    with hub.store.read() as session:
        states = dict(session.execute(sa.select(BundleRow.id, BundleRow.state)).all())
    assert states[staged.row_id] == "staged", states
    assert states[duplicate.row_id] == "rejected", states
    set_expected(hub, ADMIN, region="370102001", category=None, count=10)
    set_expected(hub, ADMIN, region="370102001", category="retired_soldier", count=6)
    set_expected(hub, ADMIN, region="370102002", category=None, count=4)
    return Loaded(ids=ids, values=values, staged=staged.row_id, rejected=duplicate.row_id)
