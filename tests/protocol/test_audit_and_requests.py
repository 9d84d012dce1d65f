"""The audit hash chain and signed HTTP requests."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from protocol.audit import GENESIS, AuditEntry, chain_hash, verify_chain
from protocol.errors import AuditChainError, CertificateExpiredError, RequestAuthError
from protocol.requestauth import sign_request, verify_request
from tests.pki import NOW, Pki

PKI = Pki.build()


def _chain(n: int) -> list[tuple[AuditEntry, str]]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(seq=seq, at=NOW, actor="370102/wang.fang", action="review.approved",
                           subject=f"{seq:032x}", details={"ops": seq}, prev=prev)  # fmt: skip
        prev = chain_hash(entry)
        rows.append((entry, prev))
    return rows


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) == 5


def test_an_altered_entry_is_found() -> None:
    rows = _chain(5)
    entry, stored = rows[2]
    rows[2] = (dataclasses.replace(entry, details={"ops": 999}), stored)
    with pytest.raises(AuditChainError, match="entry 3 was altered"):
        verify_chain(rows)


def test_a_removed_entry_is_found() -> None:
    rows = _chain(5)
    del rows[1]
    with pytest.raises(AuditChainError, match="expected entry 2, found 3"):
        verify_chain(rows)


def test_a_rewritten_tail_is_found() -> None:
    rows = _chain(5)
    entry, _ = rows[3]
    forged = dataclasses.replace(entry, prev="f" * 64)
    rows[3] = (forged, chain_hash(forged))
    with pytest.raises(AuditChainError, match="entry 4 does not follow entry 3"):
        verify_chain(rows)


def _signed(at=NOW, party="node", target="/api/v1/down?after=3", body=b""):
    return sign_request(PKI[party].keys.signing, subject=PKI[party].subject, method="GET",
                        target=target, body=body, at=at)  # fmt: skip


def test_a_signed_request_names_its_caller() -> None:
    caller = verify_request(_signed(), method="GET", target="/api/v1/down?after=3", body=b"",
                            store=PKI.store(), now=NOW + timedelta(seconds=30))  # fmt: skip
    assert caller.subject == "370102001-01"
    assert caller.certificate == PKI["node"].cert


@pytest.mark.parametrize(
    ("header", "target", "now", "message"),
    [
        (None, "/api/v1/down?after=3", NOW, "not signed"),
        ("Bearer abc", "/api/v1/down?after=3", NOW, "not a Muster-Signature"),
        ("sig", "/api/v1/down?after=4", NOW, "does not verify"),
        ("sig", "/api/v1/down?after=3", NOW + timedelta(minutes=6), "more than 300 s"),
    ],
)
def test_bad_request_signatures_are_refused(header, target, now, message) -> None:
    value = _signed() if header == "sig" else header
    with pytest.raises(RequestAuthError, match=message):
        verify_request(value, method="GET", target=target, body=b"", store=PKI.store(), now=now)


def test_an_expired_callers_request_is_refused() -> None:
    late = PKI["node"].cert.not_after + timedelta(days=2)
    header = _signed(at=late)
    with pytest.raises(CertificateExpiredError):
        verify_request(header, method="GET", target="/api/v1/down?after=3", body=b"",
                       store=PKI.store(), now=late)  # fmt: skip
