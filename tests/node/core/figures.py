"""A collection point's campaign for the report tests (the node's status page figures).

A ready node (town 370102001) receives a baseline of three people from the district hub
(no collection date yet), then its collectors work:

    record  how                                             stage
    b1      baseline, corrected by a collector (a draft)    collected
    b2, b3  baseline, untouched                             expected only
    r1      collected, authorised, exported, receipted      merged
    r2      collected, authorised                           authorised
    r3      collected                                       collected

Expected: 3 people (the baseline), all retired soldiers. Collected 4 (b1 r1 r2 r3):
133 % of the baseline, which the figures show as it is. Authorised 2, merged 1.
Quality: a rejected batch from the hub, open.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from node.reports import Period
from node.services.inbox import accept_down
from node.store import transaction
from node.store.models import InboxRow
from protocol.bundle import BundleKind
from protocol.entries import Decision, DecisionStatus
from protocol.ops import Op, OpKind
from tests.node.core.helpers import (
    APPROVER,
    COLLECTOR,
    NOW,
    TODAY,
    NodeUnderTest,
    down_bundle,
    form_for,
    hub_create,
    hub_trust,
    png_bytes,
)
from tests.node.core.standin_hub import StandInHub

__all__ = ["PERIOD", "collection_campaign"]

PERIOD = Period(start=TODAY - timedelta(days=29), end=TODAY)


def _baseline(node: NodeUnderTest) -> list[str]:
    """Three baseline people without a collection date, applied at the node."""
    ops = []
    for seed in (11, 12, 13):
        made = hub_create(node, seed, counter=seed)
        values = {k: v for k, v in made.create_values() if k != "collect_date"}
        ops.append(Op(kind=OpKind.CREATE, record_id=made.record_id, value=values, hlc=made.hlc,
                      author=made.author, site=made.site))  # fmt: skip
    data, _ = down_bundle(node, ops, kind=BundleKind.BASELINE, seq=1, prev=None)
    assert accept_down(node.services.context, data, source="usb").outcome == "applied"
    return [op.record_id for op in ops]


def _collect(node: NodeUnderTest, seed: int) -> str:
    categories, values = form_for(node.services, seed=seed)
    result = node.services.save_record(None, categories, values, COLLECTOR[0])
    assert result.saved
    assert result.record_id is not None
    return result.record_id


def collection_campaign(node: NodeUnderTest, tmp_path: Path) -> dict[str, str]:
    services = node.services
    b1, _, _ = _baseline(node)
    r1 = _collect(node, 1)
    services.authorise(APPROVER[0], APPROVER[2])
    usb = tmp_path / "usb"
    usb.mkdir()
    hub = StandInHub(party=node.pki["district"], trust=hub_trust(node), now=node.clock)
    receipts = []
    for number, path in enumerate(Path(p) for p in services.export_to(usb).files):
        _, body = hub.take(path.read_bytes())
        receipts.append(usb / f"receipt-{number}.json")
        receipts[-1].write_text(json.dumps(body["receipt"]), "utf-8")
    services.import_files(receipts)
    r2 = _collect(node, 2)
    services.authorise(APPROVER[0], APPROVER[2])
    r3 = _collect(node, 3)
    view = services.get_record(b1)
    completed = {
        "collect_date": TODAY.isoformat(),
        "portrait_photo": services.store_blob(png_bytes(5), "image/png").blob_id,
        "subject_signature": services.store_blob(png_bytes(6), "image/png").blob_id,
    }
    fixed = services.save_record(b1, view.categories, completed, COLLECTOR[0],
                                 versions=view.versions)  # fmt: skip
    assert fixed.saved
    rejection = Decision(bundle_id="9" * 32, status=DecisionStatus.REJECTED, reason="照片不清",
                         by="370102/wang.fang", decided_at=NOW)  # fmt: skip
    data, _ = down_bundle(node, [rejection], kind=BundleKind.DECISIONS, seq=2,
                          prev=_previous(node))  # fmt: skip
    assert accept_down(services.context, data, source="usb").outcome == "applied"
    return {"b1": b1, "r1": r1, "r2": r2, "r3": r3}


def _previous(node: NodeUnderTest) -> str:
    with transaction(node.services.context.engine) as session:
        row = session.query(InboxRow).filter(InboxRow.seq == 1).one()
        return row.bundle_hash
