"""The store's migrations match its models (both databases); the audit chain catches
tampering; the CLI sets up a hub, takes in a USB bundle and verifies the chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic import command

from hub.audit import verify_audit
from hub.context import HubContext
from hub.store.migrate import alembic_config
from hub.store.models import AuditHead, AuditRow, BundleRow
from protocol.errors import AuditChainError
from protocol.trust import Role, issue_certificate
from protocol.trust.anchor import anchor_to_bytes
from protocol.trust.enrollment import EnrollmentAnswer, EnrollmentRequest
from tests.hub.datadir import PASSPHRASE, ROOT, context_for, make_data_dir, run_hub
from tests.hub.factory import DeltaFactory, record_id
from tests.hub.helpers import drain, submit
from tests.pki import VALID_FROM, VALID_UNTIL, Pki, serial_for
from tests.ports import server_port


def test_migrations_and_models_agree(hub: HubContext) -> None:
    config = alembic_config(hub.store)
    with hub.store.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)


def test_the_audit_chain_verifies_and_an_altered_entry_is_found(
    hub: HubContext, deltas: DeltaFactory
) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    drain(hub)
    assert verify_audit(hub.store) == 2
    with hub.store.write() as session:
        session.execute(sa.update(AuditRow).where(AuditRow.seq == 1).values(actor="someone else"))
    with pytest.raises(AuditChainError, match="entry 1 was altered"):
        verify_audit(hub.store)


def test_removing_the_last_audit_entries_is_found(hub: HubContext, deltas: DeltaFactory) -> None:
    submit(hub, deltas.bundle([deltas.create(record_id(1))])[0])
    drain(hub)
    with hub.store.write() as session:
        session.execute(sa.delete(AuditRow).where(AuditRow.seq == 2))
    with pytest.raises(AuditChainError, match="last entries were removed"):
        verify_audit(hub.store)
    with hub.store.read() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        assert head.seq == 2


@pytest.mark.slow
def test_a_hub_is_set_up_enrolled_fed_from_usb_and_audited_from_the_command_line(
    tmp_path: Path,
) -> None:
    pki = Pki.build()
    anchor = tmp_path / "anchor.json"
    anchor.write_bytes(anchor_to_bytes(pki.anchor))
    (tmp_path / "pass").write_bytes(PASSPHRASE + b"\n")
    data = tmp_path / "hub"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "init",
            "--site",
            "370102",
            "--name",
            "历下区",
            "--data",
            str(data),
            "--root",
            str(anchor),
            "--passphrase-file",
            str(tmp_path / "pass"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    (data / "passphrase").write_bytes(PASSPHRASE + b"\n")
    request = EnrollmentRequest.from_bytes((data / "enrollment-request.json").read_bytes())
    assert request.subject == "370102"
    assert request.role is Role.HUB
    city = pki["city"]
    assert city.cert is not None
    assert pki["province"].cert is not None
    cert = issue_certificate(
        issuer_key=city.keys.signing,
        issuer=city.subject,
        serial=serial_for("cli hub"),
        subject="370102",
        role=Role.HUB,
        sign_key=request.sign_key,
        age=request.age,
        not_before=VALID_FROM,
        not_after=VALID_UNTIL,
        name="历下区",
    )
    answer = EnrollmentAnswer(certificates=(cert, city.cert, pki["province"].cert))
    (tmp_path / "answer.json").write_bytes(answer.to_bytes())
    enrolled = run_hub("enroll", str(tmp_path / "answer.json"), data=data)
    assert enrolled.returncode == 0, enrolled.stderr
    verified = run_hub("audit", "verify", data=data)
    assert verified.returncode == 0
    assert "audit log intact" in verified.stdout


@pytest.mark.slow
def test_import_from_usb_answers_per_file_and_merges(tmp_path: Path) -> None:
    pki = Pki.build()
    data = tmp_path / "hub"
    make_data_dir(data, pki)
    factory = DeltaFactory(pki)
    good = tmp_path / "good.bundle"
    good.write_bytes(factory.bundle([factory.create(record_id(1))])[0])
    junk = tmp_path / "junk.bundle"
    junk.write_bytes(b"not a bundle")
    result = run_hub("import", str(good), str(junk), "--process", data=data)
    assert result.returncode == 1
    assert f"{good}: accepted" in result.stdout
    assert f"{junk}: rejected" in result.stderr
    again = run_hub("import", str(good), data=data)
    assert again.returncode == 0
    assert f"{good}: duplicate" in again.stdout
    assert run_hub("audit", "verify", data=data).returncode == 0


#: How long `hub run` may take to answer, or its workers to merge (a deadline).
_START_SECONDS = 180.0


@pytest.mark.slow
def test_hub_run_serves_the_api_and_merges_with_its_own_workers(tmp_path: Path) -> None:
    pki = Pki.build()
    data = tmp_path / "hub"
    port = server_port()
    config = make_data_dir(data, pki, listen_port=port, poll_seconds=0.2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "run",
            "--config",
            str(data / "hub.toml"),
            "--passphrase-file",
            str(data / "passphrase"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        # Hang guards, each its own: a start (imports, unlocking the keys, migrations)
        # on a loaded machine, then the merge. (One 60 s budget for both, and a 5 s
        # answer, were what the hub's start alone can take there.)
        deadline = time.monotonic() + _START_SECONDS
        while True:
            try:
                status = requests.get(f"{url}/api/v1/status", timeout=30)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "the hub stopped"
                assert time.monotonic() < deadline, "the hub did not start"
                time.sleep(0.2)
        assert status.json()["site"] == "370102"
        factory = DeltaFactory(pki)
        bundle = factory.bundle([factory.create(record_id(i)) for i in range(3)])[0]
        answer = requests.post(f"{url}/api/v1/bundles", data=bundle, timeout=30)
        assert answer.json()["status"] == "accepted"
        ctx = context_for(config, pki)
        deadline = time.monotonic() + _START_SECONDS
        while True:
            with ctx.store.read() as session:
                state = session.scalar(sa.select(BundleRow.state))
            if state == "merged":
                break
            assert time.monotonic() < deadline, f"not merged: {state}"
            time.sleep(0.2)
        ctx.store.dispose()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
