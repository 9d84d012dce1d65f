"""The bundle state machine driven through the real services (Hypothesis stateful test).

Random sequences of inputs (clean bundles, identity edits that wait for review,
approvals, rejections, decisions on bundles that are not waiting, resends) run against
a hub on SQLite; after each step every bundle's state is the model's, the records are
the model's, and the audit chain verifies.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hub.audit import verify_audit
from hub.errors import AlreadyDecidedError
from hub.review import approve, reject
from hub.store.models import BundleRow, RecordRow
from tests.hub.conftest import make_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import Pki

PKI = Pki.build()


class HubMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="muster-sm-"))
        self.hub = make_hub(self.dir / "data", f"sqlite:///{self.dir / 'hub.db'}", PKI)
        self.deltas = DeltaFactory(PKI)
        self.expected: dict[int, str] = {}
        self.sent: dict[int, bytes] = {}
        self.records: dict[str, str] = {}  # record id -> create op id
        self.next_record = 0

    def teardown(self) -> None:
        self.hub.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _send(self, data: bytes, expected: str) -> None:
        result = submit(self.hub, data)
        assert result.status == "accepted"
        drain(self.hub)
        self.expected[result.row_id] = expected
        self.sent[result.row_id] = data

    @rule(count=st.integers(1, 3))
    def send_clean_creates(self, count: int) -> None:
        ops = []
        for _ in range(count):
            rid = record_id(self.next_record, "sm")
            self.next_record += 1
            op = self.deltas.create(rid)
            ops.append(op)
            self.records[rid] = op.op_id
        self._send(self.deltas.bundle(ops)[0], "merged")

    @precondition(lambda self: bool(self.records))
    @rule(data=st.data())
    def send_identity_edit(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.records)))
        base = self.records[rid]
        edit = self.deltas.set(rid, "name", "王小明", [base], base)
        self._send(self.deltas.bundle([edit])[0], "staged")

    def _staged(self) -> list[int]:
        return sorted(r for r, s in self.expected.items() if s == "staged")

    @precondition(lambda self: bool(self._staged()))
    @rule(data=st.data())
    def approve_a_staged_bundle(self, data: st.DataObject) -> None:
        row = data.draw(st.sampled_from(self._staged()))
        approve(self.hub, row, by="wang.fang")
        drain(self.hub)
        self.expected[row] = "merged"

    @precondition(lambda self: bool(self._staged()))
    @rule(data=st.data())
    def reject_a_staged_bundle(self, data: st.DataObject) -> None:
        row = data.draw(st.sampled_from(self._staged()))
        reject(self.hub, row, by="wang.fang", reason="请核对")
        self.expected[row] = "rejected"

    @precondition(lambda self: any(s != "staged" for s in self.expected.values()))
    @rule(data=st.data())
    def decide_a_bundle_that_is_not_waiting(self, data: st.DataObject) -> None:
        row = data.draw(
            st.sampled_from(sorted(r for r, s in self.expected.items() if s != "staged"))
        )
        with pytest.raises(AlreadyDecidedError):
            approve(self.hub, row, by="wang.fang")
        with pytest.raises(AlreadyDecidedError):
            reject(self.hub, row, by="wang.fang", reason="x")

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def resend_a_bundle(self, data: st.DataObject) -> None:
        row = data.draw(st.sampled_from(sorted(self.sent)))
        result = submit(self.hub, self.sent[row])
        assert result.row_id == row
        assert result.status == "duplicate"
        drain(self.hub)

    @invariant()
    def states_and_records_are_the_models(self) -> None:
        with self.hub.store.read() as session:
            states = dict(session.execute(sa.select(BundleRow.id, BundleRow.state)).all())
            live = session.scalar(sa.select(sa.func.count()).select_from(RecordRow))
        assert states == self.expected
        assert live == len(self.records)
        verify_audit(self.hub.store)


HubMachine.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_bundle_state_machine_through_the_services = HubMachine.TestCase
