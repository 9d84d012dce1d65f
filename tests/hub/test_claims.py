"""Two hub processes share one PostgreSQL store: every bundle is merged exactly once."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.audit import verify_audit
from hub.claims import claim_next
from hub.context import HubContext
from hub.errors import ClaimLostError
from hub.pipeline import stage
from hub.store.models import BundleRow, OpBatch, RecordRow
from tests.hub.datadir import ROOT, context_for, hub_command, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import submit
from tests.pki import Pki


@pytest.mark.slow
@pytest.mark.postgres
def test_two_hub_processes_on_one_postgresql_store_merge_every_bundle_once(
    tmp_path: Path, pg_url: str
) -> None:
    pki = Pki.build()
    data = tmp_path / "hub"
    config = make_data_dir(data, pki, db_url=pg_url)
    factory = DeltaFactory(pki)
    files = []
    for b in range(12):
        path = tmp_path / f"b{b}.bundle"
        path.write_bytes(
            factory.bundle([factory.create(record_id(b * 100 + i)) for i in range(25)])[0]
        )
        files.append(path)
    taken = run_hub("import", *map(str, files), data=data)
    assert taken.returncode == 0, taken.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            hub_command("process", data=data),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    ctx = context_for(config, pki)
    with ctx.store.read() as session:
        assert sorted(session.scalars(sa.select(BundleRow.state))) == ["merged"] * 12
        assert session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) == 300
        batches = session.execute(
            sa.select(OpBatch.bundle, sa.func.count()).group_by(OpBatch.bundle)
        ).all()
        assert sorted(n for _, n in batches) == [1] * 12
    assert verify_audit(ctx.store) == 24
    ctx.store.dispose()


def test_a_claimed_bundle_is_not_claimed_again_until_its_lease_ends(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    result = submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    first = claim_next(hub)
    assert first is not None
    assert first.row_id == result.row_id
    other = dataclasses.replace(hub, worker="another")
    assert claim_next(other) is None
    lease = timedelta(seconds=hub.config.claim_lease_seconds + 1)
    later = dataclasses.replace(other, now=lambda: hub.now() + lease)
    again = claim_next(later)
    assert again is not None
    assert again.row_id == result.row_id


def test_a_worker_whose_claim_was_taken_over_commits_nothing(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    claim = claim_next(hub)
    assert claim is not None
    with hub.store.write() as session:
        session.execute(sa.update(BundleRow).values(claimed_by="another"))
    with pytest.raises(ClaimLostError):
        stage(hub, claim.row_id)
    with hub.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) == 0
