"""``muster demo --cores``: walk a batch through the pure cores and say what happened.

The demo proper (``muster demo``) runs the whole province on loopback; this walk shows
the cores doing the job end to end in one process, without a network or a database:
a province PKI; a town node collecting realistic records; an approver authorising
the batch; a signed, encrypted delta bundle (with an escrow recipient); the district
hub verifying it in the documented order, checking the authorisation and merging the
ops, with a conflicting edit and a cross-town duplicate found on the way; and the
stock minisign and age tools checking the same file.
"""

from __future__ import annotations

import argparse
import io
import random
import secrets
import shutil
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crypto.keys import KeyPair
from protocol.bundle import BundleKind, open_bundle, seal_bundle
from protocol.divisions import Divisions
from protocol.entries import Manifest, decode_entry, encode_entry
from protocol.hlc import HybridClock
from protocol.merge import (
    DEFAULT_POLICY,
    OutcomeKind,
    RecordState,
    apply_op,
    find_duplicates,
    held_number,
)
from protocol.ops import Op, OpKind
from protocol.sample import realistic_record
from protocol.schema import Schema
from protocol.trust import (
    CertificateTrust,
    Role,
    TrustAnchor,
    TrustStore,
    authorise,
    issue_certificate,
    verify_authorisation,
)
from protocol.validation import validate_record

CATEGORIES = (
    "retired_soldier",
    "retired_officer",
    "martyr_survivor",
    "active_duty_family",
    "disabled_militia",
    "disabled_soldier",
    "red_army_veteran",
    "military_retiree",
)


def _say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    out: Path = args.dir
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    rng = random.Random(20261129)  # noqa: S311 - reproducible demo data, not secrets

    _say("== 1. A province PKI: root → province 370000 → city 370100 → district 370102")
    root = KeyPair.generate(secrets.token_bytes)
    anchor = TrustAnchor(root.signing.public_key, "370000")
    keys: dict[str, KeyPair] = {}
    certs = []

    def certify(subject: str, role: Role, issuer: str) -> None:
        pair = KeyPair.generate(secrets.token_bytes)
        keys[subject] = pair
        issuer_keys = root if issuer == anchor.subject else keys[issuer]
        certs.append(
            issue_certificate(
                issuer_key=issuer_keys.signing,
                issuer=issuer,
                serial=secrets.token_hex(16),
                subject=subject,
                role=role,
                sign_key=pair.signing.public_key,
                age=pair.age.recipient if role in (Role.HUB, Role.NODE) else None,
                not_before=now - timedelta(days=1),
                not_after=now + timedelta(days=365),
            )
        )

    certify("370000", Role.HUB, anchor.subject)
    certify("370100", Role.HUB, "370000")
    certify("370102", Role.HUB, "370100")
    certify("370102001-01", Role.NODE, "370102")
    certify("370102001/li.na", Role.APPROVER, "370102")
    store = TrustStore(anchor).with_certificates(certs)
    for cert in certs:
        store.validate(cert, now)
    _say(
        f"   {len(certs)} certificates issued and validated against the root, name constraints held"
    )

    _say(f"== 2. Town node 370102001-01 collects {args.records} realistic records")
    schema, divisions = Schema.default(), Divisions.default()
    clock = HybridClock("370102001-01", lambda: int(time.time() * 1000))
    ops: list[Op] = []
    by_category: Counter[str] = Counter()
    problems = 0
    for i in range(args.records):
        category = CATEGORIES[i % len(CATEGORIES)]
        values = realistic_record(rng, category=category, division_code="370102001", today=today)
        problems += len(validate_record(values, schema, today=today, divisions=divisions))
        by_category[category] += 1
        ops.append(
            Op(
                kind=OpKind.CREATE,
                record_id=str(uuid.UUID(int=rng.getrandbits(128))),
                value=values,
                hlc=clock.now(),
                author="zhang.wei",
                site="370102001-01",
            )
        )
    _say(
        f"   {len(ops)} create ops; validation problems: {problems}; categories: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_category.items()))
    )

    _say("== 3. Approver 370102001/li.na authorises the batch (one signature over the manifest)")
    batch_id = secrets.token_hex(16)
    op_ids = [op.op_id for op in ops]
    auth = authorise(
        key=keys["370102001/li.na"].signing,
        by="370102001/li.na",
        batch_id=batch_id,
        origin="370102001-01",
        op_ids=op_ids,
        signed_at=now,
    )
    _say(f"   batch {batch_id}: {len(op_ids)} op ids, manifest {auth.manifest[:16]}…")

    _say("== 4. The node seals a delta bundle for the district hub and the escrow key")
    escrow = KeyPair.generate(secrets.token_bytes)
    entries = [
        encode_entry(Manifest(batch_id=batch_id, origin="370102001-01", op_ids=tuple(op_ids))),
        *(encode_entry(op) for op in ops),
    ]
    bundle_path = out / "delta-000001.bundle"
    with bundle_path.open("wb") as handle:
        sealed = seal_bundle(
            entries,
            kind=BundleKind.DELTA,
            sender="370102001-01",
            recipient="370102",
            seq=1,
            prev=None,
            created=now,
            bundle_id=secrets.token_hex(16),
            signer=keys["370102001-01"].signing,
            recipients=[keys["370102"].age.recipient, escrow.age.recipient],
            out=handle,
            spool=io.BytesIO(),
            schema=schema.version,
            auth=auth.to_dict(),
        )
    _say(
        f"   {bundle_path}: {sealed.size:,} bytes for {sealed.header.count} entries "
        f"(hash {sealed.bundle_hash[:16]}…)"
    )

    _say("== 5. The district hub opens it: the seven steps of docs/protocol.md")
    with bundle_path.open("rb") as source:
        opened = open_bundle(
            source, trust=CertificateTrust(store, now), identities=[keys["370102"].age]
        )
        decoded = [decode_entry(entry, i) for i, entry in enumerate(opened.entries())]
    manifest = decoded[0]
    assert isinstance(manifest, Manifest)
    received = [entry for entry in decoded[1:] if isinstance(entry, Op)]
    verify_authorisation(
        auth, op_ids=[op.op_id for op in received], store=store, origin="370102001-01"
    )
    _say(
        f"   signature, signer certificate, decryption, payload hash, {len(decoded)} entries "
        "and the approver's authorisation all check out"
    )

    _say("== 6. Merge, with a concurrent edit and a duplicate from another town")
    states: dict[str, RecordState] = {}
    outcomes: Counter[OutcomeKind] = Counter()
    for op in received:
        result = apply_op(states.get(op.record_id), op, DEFAULT_POLICY)
        states[op.record_id] = result.state
        outcomes.update(o.kind for o in result.outcomes)
    first = received[0]
    phone_base = (first.op_id,)
    edits = [
        Op(
            kind=OpKind.SET,
            record_id=first.record_id,
            field="phone",
            value="13800000001",
            base=phone_base,
            hlc=clock.now(),
            author="zhang.wei",
            site="370102001-01",
        ),
        Op(
            kind=OpKind.SET,
            record_id=first.record_id,
            field="phone",
            value="13800000002",
            base=phone_base,
            hlc=HybridClock("370102002-01", lambda: int(time.time() * 1000)).now(),
            author="wang.li",
            site="370102002-01",
        ),
    ]
    for op in edits:
        result = apply_op(states[op.record_id], op, DEFAULT_POLICY)
        states[op.record_id] = result.state
        outcomes.update(o.kind for o in result.outcomes)
    twin_values = dict(first.create_values())
    other_town = HybridClock("370103001-01", lambda: int(time.time() * 1000))
    twin = Op(
        kind=OpKind.CREATE,
        record_id=str(uuid.UUID(int=rng.getrandbits(128))),
        value=twin_values,
        hlc=other_town.now(),
        author="zhao.min",
        site="370103001-01",
    )
    holders: dict[str, list[str]] = {}
    for rid, state in states.items():
        number = held_number(state)
        if number:
            holders.setdefault(number, []).append(rid)
    result = apply_op(None, twin, DEFAULT_POLICY, holder_of=lambda n: holders.get(n, []))
    outcomes.update(o.kind for o in result.outcomes)
    states[twin.record_id] = result.state
    duplicates = find_duplicates(states.values())
    conflicts = sum(1 for s in states.values() if s.open_conflicts())
    tally = ", ".join(f"{kind.value} {count}" for kind, count in outcomes.most_common())
    _say(f"   {len(states)} records; outcomes: {tally}")
    _say(f"   open conflicts: {conflicts}; duplicate ID numbers: {len(duplicates)}")

    _say("== 7. An auditor checks the same file with stock tools")
    _stock_tools(out, bundle_path, keys["370102001-01"], keys["370102"])

    _say(f"== done in {time.monotonic() - started:.1f} s; files in {out}/")
    if not args.keep:
        _say("   (run `muster demo --keep` to keep them; removing now)")
        shutil.rmtree(out, ignore_errors=True)
    return 0


def _stock_tools(out: Path, bundle: Path, sender: KeyPair, receiver: KeyPair) -> None:
    minisign, age = shutil.which("minisign"), shutil.which("age")
    if not (minisign and age):
        _say("   minisign or age not installed: skipped (make demo installs them)")
        return
    data = bundle.read_bytes()
    head, _, _ = data.partition(b"age-encryption.org/v1\n")
    (out / "B.minisig").write_bytes(head)
    (out / "B.age").write_bytes(data[len(head) :])
    (out / "sender.pub").write_text(sender.signing.public_key.to_minisign())
    (out / "hub.key").write_text(receiver.age.to_file_text())
    (out / "hub.key").chmod(0o600)
    checked = subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [
            minisign,
            "-Vm",
            str(out / "B.age"),
            "-x",
            str(out / "B.minisig"),
            "-p",
            str(out / "sender.pub"),
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    decrypted = subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [age, "-d", "-i", str(out / "hub.key"), str(out / "B.age")],
        capture_output=True,
        check=False,
    )
    _say(
        f"   minisign -Vm B.age -x B.minisig -p sender.pub: "
        f"{'verified' if checked.returncode == 0 else 'FAILED'}"
    )
    _say(
        f"   age -d -i hub.key B.age: {len(decrypted.stdout):,} bytes of payload"
        if decrypted.returncode == 0
        else "   age -d: FAILED"
    )
