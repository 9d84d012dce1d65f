"""The downward and trust commands, run as a real process (``python -m hub``)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crypto.keys import KeyPair
from crypto.keystore import KDF_INTERACTIVE, seal_keystore
from hub.rotation import submit_rotation
from hub.sites import enrollment_status
from hub.store import Store
from hub.store.models import CertificateRow, DownBundle, ParentBundle
from node.keyfiles import KeyDir
from protocol.bundle import BundleKind
from protocol.entries import Problem, encode_entry
from protocol.trust import Role
from protocol.trust.enrollment import EnrollmentAnswer, make_enrollment_request
from protocol.trust.rotation import make_rotation_request
from tests.hub.conftest import make_hub
from tests.hub.datadir import PASSPHRASE, make_data_dir, run_hub
from tests.hub.federation.downtree import baseline_rows, write_csv
from tests.pki import NOW, Pki, seal


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.build()


def _rows(url: str, *columns: sa.orm.InstrumentedAttribute[Any]) -> list[tuple[str, ...]]:
    store = Store(url)
    try:
        with store.read() as session:
            return [tuple(str(v) for v in row) for row in session.execute(sa.select(*columns))]
    finally:
        store.dispose()


def test_baseline_import_revoke_escrow_and_a_parent_bundle_from_usb(
    tmp_path: Path, pki: Pki
) -> None:
    data = tmp_path / "hub"
    config = make_data_dir(data, pki)
    admin = KeyDir(tmp_path / "admin")
    admin.path.mkdir()
    admin.keystore.write_bytes(
        seal_keystore(
            pki["admin"].keys.to_secrets(), PASSPHRASE, rng=os.urandom, cost=KDF_INTERACTIVE
        )
    )
    admin.write_public(pki["admin"].keys, "370102/wang.fang")
    csv = write_csv(tmp_path / "baseline.csv", baseline_rows([("370102001", 3), ("370102", 1)]))

    done = run_hub(
        "baseline",
        "import",
        str(csv),
        "--source",
        "国家系统",
        "--admin-key",
        str(admin.path),
        "--admin-passphrase-file",
        str(data / "passphrase"),
        data=data,
    )
    assert done.returncode == 0, done.stderr
    assert "4 rows read, 4 records, 0 refused" in done.stdout
    assert "370102001-01: 1 baseline bundle(s)" in done.stdout
    assert "1 kept here" in done.stdout  # a county-level code: no town node serves it

    shown = run_hub("escrow", "show", data=data)
    assert shown.returncode == 0, shown.stderr
    assert pki.recovery.recipient.text in shown.stdout

    revoked = run_hub("revoke", "--subject", "370102001-01", "--reason", "cessation", data=data)
    assert revoked.returncode == 0, revoked.stderr
    assert "revocation list 1 sent down" in revoked.stdout
    node = pki["node"].cert
    assert node is not None
    held = _rows(config.database_url, CertificateRow.serial, CertificateRow.revocation_reason)
    assert (node.serial, "cessation") in held
    kinds = sorted(k for (k,) in _rows(config.database_url, DownBundle.kind))
    assert kinds.count("trust") >= 1

    bundle, _ = seal(
        [encode_entry(Problem(body={"id": "p", "division": "370102001"}))],
        sender=pki["city"],
        to=pki["district"],
        kind=BundleKind.PROBLEMS,
        created=NOW,
    )
    usb = tmp_path / "from-city.bundle"
    usb.write_bytes(bundle)
    imported = run_hub("import", str(usb), data=data)
    assert imported.returncode == 0, imported.stderr
    assert "applied (problems 1 from the parent)" in imported.stdout
    again = run_hub("import", str(usb), data=data)
    assert "duplicate (problems 1 from the parent)" in again.stdout
    assert _rows(config.database_url, ParentBundle.state) == [("applied",)]


def test_revoke_needs_a_serial_or_a_subject(tmp_path: Path, pki: Pki) -> None:
    data = tmp_path / "hub"
    make_data_dir(data, pki)
    done = run_hub("revoke", "--reason", "cessation", data=data)
    assert done.returncode == 2
    assert "give a SERIAL or --subject ID" in done.stderr


def test_a_hub_rolls_its_keys_from_the_command_line(tmp_path: Path, pki: Pki) -> None:
    data = tmp_path / "hub"
    config = make_data_dir(data, pki)
    before = KeyDir(config.keys_dir).public_key()
    started = run_hub("rotate-keys", data=data)
    assert started.returncode == 0, started.stderr
    request = (data / "rotation-request.json").read_bytes()
    city = make_hub(
        tmp_path / "city", f"sqlite:///{tmp_path / 'city.db'}", pki, site="370100", party="city"
    )
    # The hub process checks the new certificate on the real clock: the city certifies
    # on it too (on NOW, the certificate would end NOW + certificate_days).
    city = replace(city, now=lambda: datetime.now(UTC))
    info = submit_rotation(city, request)
    _state, answer, _reason = enrollment_status(city, info.id)
    assert answer is not None
    answer_file = tmp_path / "answer.json"
    answer_file.write_bytes(answer.to_bytes())
    finished = run_hub("rotate-keys", "--answer", str(answer_file), data=data)
    assert finished.returncode == 0, finished.stderr
    assert f"new certificate {answer.certificate.serial} installed" in finished.stdout
    after = KeyDir(config.keys_dir).public_key()
    assert after != before
    assert after == answer.certificate.sign_key
    city.store.dispose()


def test_a_parent_certifies_a_rotation_brought_on_a_usb_stick(tmp_path: Path, pki: Pki) -> None:
    data = tmp_path / "hub"
    make_data_dir(data, pki)
    node = pki["node"]
    assert node.cert is not None
    fresh = KeyPair.generate(os.urandom)
    inner = make_enrollment_request(
        fresh.signing,
        subject=node.subject,
        role=Role.NODE,
        name="x",
        at=NOW,
        age=fresh.age.recipient,
    )
    request = tmp_path / "rotation-request.json"
    request.write_bytes(
        make_rotation_request(
            inner, old_key=node.keys.signing, old_serial=node.cert.serial
        ).to_bytes()
    )
    done = run_hub("certify-rotation", str(request), "--out", str(tmp_path / "a.json"), data=data)
    assert done.returncode == 0, done.stderr
    answer = EnrollmentAnswer.from_bytes((tmp_path / "a.json").read_bytes())
    assert answer.certificate.sign_key == fresh.signing.public_key
    assert answer.escrow == pki.escrow()
