"""Crash safety: the hub process is killed (SIGKILL, as ``kill -9``) at every named fault
point of intake, staging and merge, and at random moments; after a restart every bundle
ends merged exactly once and the audit chain verifies.

Each run copies a prepared data directory (SQLite), runs ``python -m hub import … --process``
with ``MUSTER_HUB_FAULT=<point>`` (the process kills itself there), then runs the same
command again without the fault, and checks the store.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.audit import verify_audit
from hub.config import HubConfig
from hub.faults import FAULT_ENV
from hub.review import Resolution, approve
from hub.store.models import BundleRow, DownBundle, OpBatch, RecordRow
from tests.hub.datadir import ROOT, context_for, hub_command, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.pki import Pki

pytestmark = pytest.mark.slow

AUTO_POINTS = [
    "intake.file_written",
    "intake.row_inserted",
    "intake.before_verdict",
    "intake.after_verdict",
    "audit.appended",
    "verify.parked_promoted",
    "claim.taken",
    "stage.opened",
    "stage.chunk_applied",
    "stage.before_commit",
    "stage.after_commit",
]
REVIEW_POINTS = [
    "merge.chunk_applied",
    "merge.resolutions_applied",
    "down.file_written",
    "merge.down_sealed",
    "merge.before_commit",
    "merge.after_commit",
]


#: One PKI for the module: its age identities are random, so every party must share it.
PKI = Pki.build()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four bundles of one stream, written in the order a USB stick might hold them."""
    pki = PKI
    factory = DeltaFactory(pki)
    creates = [[factory.create(record_id(b * 100 + i)) for i in range(40)] for b in range(3)]
    data = [factory.bundle(ops)[0] for ops in creates]
    edits = [
        factory.set(record_id(i), "phone", f"1380000{i:04d}", [op.op_id], op.op_id)
        for i, op in enumerate(creates[0][:10])
    ]
    data.append(factory.bundle(edits)[0])
    folder = tmp_path_factory.mktemp("bundles")
    paths = []
    for number, blob in enumerate(data, start=1):
        path = folder / f"b{number}.bundle"
        path.write_bytes(blob)
        paths.append(path)
    return [paths[0], paths[2], paths[1], paths[3]]  # seq 3 arrives before seq 2


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("template") / "hub"
    make_data_dir(data, PKI)
    return data


@pytest.fixture(scope="module")
def review_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("review") / "hub"
    make_data_dir(data, PKI, auto_approve_levels=())
    return data


def copy_of(template: Path, tmp_path: Path) -> Path:
    data = tmp_path / "hub"
    shutil.copytree(template, data)
    # The config names its own directory; a copy reads it from where it is.
    return data


def check_all_merged_once(data: Path, expected_bundles: int, expected_records: int) -> None:
    config = HubConfig.load(data)
    ctx = context_for(config, PKI)
    with ctx.store.read() as session:
        states = session.scalars(sa.select(BundleRow.state)).all()
        assert sorted(states) == ["merged"] * expected_bundles
        assert session.scalar(sa.select(sa.func.count()).select_from(RecordRow)) == expected_records
        per_bundle = session.execute(
            sa.select(OpBatch.bundle, OpBatch.source, sa.func.count()).group_by(
                OpBatch.bundle, OpBatch.source
            )
        ).all()
        assert all(n == 1 for _, _, n in per_bundle), per_bundle
        phones = session.scalars(
            sa.select(RecordRow.data).where(RecordRow.record_id == record_id(0))
        ).all()
    assert verify_audit(ctx.store) > 0
    ctx.store.dispose()
    if expected_bundles == 4:
        assert phones[0]["phone"] == "13800000000"


def import_all(data: Path, bundles: list[Path], **env: str) -> subprocess.CompletedProcess[str]:
    return run_hub("import", *map(str, bundles), "--process", data=data, env=env)


@pytest.mark.parametrize("point", AUTO_POINTS)
def test_a_kill_at_each_point_of_intake_and_staging_loses_and_repeats_nothing(
    point: str, bundles: list[Path], template: Path, tmp_path: Path
) -> None:
    data = copy_of(template, tmp_path)
    killed = import_all(data, bundles, **{FAULT_ENV: point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = import_all(data, bundles)
    assert again.returncode == 0, again.stderr
    check_all_merged_once(data, 4, 120)


@pytest.mark.parametrize("run", range(4))
def test_a_kill_at_a_random_moment_loses_and_repeats_nothing(
    run: int, bundles: list[Path], template: Path, tmp_path: Path
) -> None:
    data = copy_of(template, tmp_path)
    command = hub_command("import", *map(str, bundles), "--process", data=data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(random.Random(run).uniform(1.0, 4.0))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    again = import_all(data, bundles)
    assert again.returncode == 0, again.stderr
    check_all_merged_once(data, 4, 120)


def approve_first_with_a_resolution(data: Path) -> Any:
    config = HubConfig.load(data)
    ctx = context_for(config, PKI)
    with ctx.store.read() as session:
        row = session.scalar(sa.select(BundleRow).where(BundleRow.seq == 1))
        assert row is not None
        assert row.state == "staged"
    fix = Resolution(
        kind="set", record_id=record_id(5), field="phone", value="13912345678", reason="核实"
    )
    approve(ctx, row.id, by="wang.fang", resolutions=[fix])
    ctx.store.dispose()


@pytest.mark.parametrize("point", ["stage.items_spooled", *REVIEW_POINTS])
def test_a_kill_while_staging_for_review_or_merging_an_approved_bundle_is_safe(
    point: str, bundles: list[Path], review_template: Path, tmp_path: Path
) -> None:
    data = copy_of(review_template, tmp_path)
    first = [bundles[0]]
    staging_env = {FAULT_ENV: point} if point.startswith("stage.") else {}
    staged = import_all(data, first, **staging_env)
    if staging_env:
        assert staged.returncode == -signal.SIGKILL, staged.stderr
        again = import_all(data, first)
        assert again.returncode == 0, again.stderr
    approve_first_with_a_resolution(data)
    killed = run_hub("process", data=data, env={FAULT_ENV: point})
    if not staging_env:
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = run_hub("process", data=data)
    assert again.returncode == 0, again.stderr
    check_all_merged_once(data, 1, 40)
    config = HubConfig.load(data)
    ctx = context_for(config, PKI)
    with ctx.store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DownBundle)) == 1
        row = session.get(RecordRow, record_id(5))
        assert row is not None
        assert row.data["phone"] == "13912345678"
    ctx.store.dispose()
