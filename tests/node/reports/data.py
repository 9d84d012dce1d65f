"""The small data set the report tests check by hand.

Jinan city (370100) with two districts and three listed towns::

    370100 济南市
    ├── 370102 历下区
    │   ├── 370102001 解放路街道   expected: retired_soldier 10, martyr_survivor 4
    │   └── 370102002 千佛山街道   expected: 8 people (retired_soldier 6)
    └── 370103 市中区
        └── 370103001 大观园街道   expected: retired_soldier 5 → corrected to 10,
                                   active_duty_family 5

Eleven records (today is 2025-06-30; every record requires name, phone and
portrait_photo), one of them from outside the city (r10) and one from a town
the tree does not list (r11, counted in 370103 directly):

    id   town        categories                          stage       collected  missing
    r1   370102001   retired_soldier                     verified    06-01
    r2   370102001   retired_soldier                     merged      06-25      phone
    r3   370102001   disabled_soldier, retired_soldier   authorised  06-28      phone, photo
    r4   370102001   martyr_survivor                     collected   06-30
    r5   370102002   retired_soldier                     merged      06-10
    r6   370102002   retired_soldier                     collected   06-24      phone
    r7   370103001   active_duty_family                  verified    06-05
    r8   370103001   active_duty_family                  verified    06-06
    r9   370103001   retired_soldier                     merged      06-29
    r10  370200001   retired_soldier                     collected   06-30
    r11  370103002   retired_soldier                     collected   06-27

Quality items (q9 is filed outside the city):

    q1 conflict   open       370102001  opened 06-29
    q2 conflict   open       370103001  opened 06-10
    q3 duplicate  resolved   370102002  06-01 → 06-05
    q4 finding    open       370102002  opened 05-20   deceased
    q5 finding    resolved   370103001  06-02 → 06-20  value_mismatch
    q6 finding    dismissed  370102001  06-03 → 06-04  value_mismatch
    q7 rejection  open       370102001  opened 06-25
    q9 conflict   open       370200001  opened 06-28   (outside: counted apart)
"""

from __future__ import annotations

from datetime import date

from node.reports import (
    Campaign,
    Counts,
    Expectations,
    ExpectedCount,
    InMemorySource,
    ItemState,
    Phase,
    PhaseKind,
    QualityItem,
    QualityKind,
    RecordFacts,
    Region,
    RegionTree,
    Snapshot,
    SnapshotRow,
    Stage,
)

TODAY = date(2025, 6, 30)
REQUIRED = frozenset({"name", "phone", "portrait_photo"})

TREE = RegionTree(
    regions=(
        Region(code="370100", name="济南市"),
        Region(code="370102", name="历下区", parent="370100"),
        Region(code="370103", name="市中区", parent="370100"),
        Region(code="370102001", name="解放路街道", parent="370102"),
        Region(code="370102002", name="千佛山街道", parent="370102"),
        Region(code="370103001", name="大观园街道", parent="370103"),
    )
)

EXPECTATIONS = Expectations(
    baseline=(
        ExpectedCount(region="370102001", category="retired_soldier", count=10),
        ExpectedCount(region="370102001", category="martyr_survivor", count=4),
        ExpectedCount(region="370102002", category=None, count=8),
        ExpectedCount(region="370102002", category="retired_soldier", count=6),
        ExpectedCount(region="370103001", category="retired_soldier", count=5),
        ExpectedCount(region="370103001", category="active_duty_family", count=5),
    ),
    corrections=(ExpectedCount(region="370103001", category="retired_soldier", count=10),),
)


def _record(
    town: str, categories: tuple[str, ...], stage: Stage, day: int, *missing: str
) -> RecordFacts:
    return RecordFacts(
        region=town,
        categories=categories,
        stage=stage,
        collected_on=date(2025, 6, day),
        required=REQUIRED,
        missing=frozenset(missing),
    )


RS = ("retired_soldier",)
RECORDS = (
    _record("370102001", RS, Stage.VERIFIED, 1),
    _record("370102001", RS, Stage.MERGED, 25, "phone"),
    _record(
        "370102001",
        ("disabled_soldier", "retired_soldier"),
        Stage.AUTHORISED,
        28,
        "phone",
        "portrait_photo",
    ),
    _record("370102001", ("martyr_survivor",), Stage.COLLECTED, 30),
    _record("370102002", RS, Stage.MERGED, 10),
    _record("370102002", RS, Stage.COLLECTED, 24, "phone"),
    _record("370103001", ("active_duty_family",), Stage.VERIFIED, 5),
    _record("370103001", ("active_duty_family",), Stage.VERIFIED, 6),
    _record("370103001", RS, Stage.MERGED, 29),
    _record("370200001", RS, Stage.COLLECTED, 30),
    _record("370103002", RS, Stage.COLLECTED, 27),
)


def _item(
    kind: QualityKind,
    state: ItemState,
    town: str,
    opened: date,
    closed: date | None = None,
    finding: str | None = None,
) -> QualityItem:
    return QualityItem(
        kind=kind, state=state, region=town, opened_on=opened, closed_on=closed, finding=finding
    )


OPEN, RESOLVED, DISMISSED = ItemState.OPEN, ItemState.RESOLVED, ItemState.DISMISSED
ITEMS = (
    _item(QualityKind.CONFLICT, OPEN, "370102001", date(2025, 6, 29)),
    _item(QualityKind.CONFLICT, OPEN, "370103001", date(2025, 6, 10)),
    _item(QualityKind.DUPLICATE, RESOLVED, "370102002", date(2025, 6, 1), date(2025, 6, 5)),
    _item(QualityKind.FINDING, OPEN, "370102002", date(2025, 5, 20), finding="deceased"),
    _item(
        QualityKind.FINDING,
        RESOLVED,
        "370103001",
        date(2025, 6, 2),
        date(2025, 6, 20),
        "value_mismatch",
    ),
    _item(
        QualityKind.FINDING,
        DISMISSED,
        "370102001",
        date(2025, 6, 3),
        date(2025, 6, 4),
        "value_mismatch",
    ),
    _item(QualityKind.REJECTION, OPEN, "370102001", date(2025, 6, 25)),
    _item(QualityKind.CONFLICT, OPEN, "370200001", date(2025, 6, 28)),
)


def _snapshot(day: int, collected: int, verified: int) -> Snapshot:
    counts = Counts(
        expected=37, collected=collected, authorised=verified, merged=verified, verified=verified
    )
    return Snapshot(
        day=date(2025, 6, day),
        root="370100",
        rows=(SnapshotRow(code="370100", counts=counts, required=3 * collected, missing=0),),
        open_items=(0, 0, 0, 0),
    )


#: Earlier days of the city (root row only): verified 1 on 06-23, 3 today → 2/7 a day.
HISTORY = (_snapshot(2, 1, 1), _snapshot(9, 2, 1), _snapshot(16, 3, 1), _snapshot(23, 4, 1))

CAMPAIGN = Campaign(
    phases=(
        Phase(kind=PhaseKind.COLLECTION, starts=date(2025, 5, 1), deadline=date(2025, 7, 31)),
        Phase(kind=PhaseKind.CROSS_CHECK, starts=date(2025, 8, 1), deadline=date(2025, 10, 31)),
    )
)


def source(**changes: object) -> InMemorySource:
    """The data set as a report source (``changes`` replace its parts)."""
    parts: dict[str, object] = {
        "tree": TREE,
        "expected": EXPECTATIONS,
        "records": RECORDS,
        "items": ITEMS,
        "phases": CAMPAIGN,
    }
    parts.update(changes)
    return InMemorySource(**parts)  # type: ignore[arg-type]
