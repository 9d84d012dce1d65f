"""Provenance of ops in packages: origin authorisation, and every hub on the way."""

from __future__ import annotations

import uuid

import pytest

from protocol.entries import Manifest
from protocol.errors import ProvenanceError
from protocol.hlc import Timestamp
from protocol.ops import Op, OpKind
from protocol.provenance import ProvenanceIndex, hubs_on_the_way, verify_provenance
from protocol.trust import Role, authorise
from tests.pki import NOW, Party, Pki

PKI = Pki.build()
PKI.add("city_admin", "370100/chen.jie", Role.ADMIN, issuer="city")
STORE = PKI.store()


def _op(n: int, site: str = "370102001-01") -> Op:
    return Op(kind=OpKind.CREATE, record_id=str(uuid.UUID(int=n + 1)), value={"name": f"p{n}"},
              hlc=Timestamp(wall_ms=1_767_225_600_000 + n, counter=0, node=site),
              author="zhang.wei", site=site)  # fmt: skip


def _manifest(ops: list[Op], origin: str, signer: Party | None, batch: str) -> Manifest:
    ids = tuple(op.op_id for op in ops)
    auth = None
    if signer is not None:
        auth = authorise(key=signer.keys.signing, by=signer.subject, batch_id=batch,
                         origin=origin, op_ids=ids, signed_at=NOW)  # fmt: skip
    return Manifest(batch_id=batch, origin=origin, op_ids=ids, auth=auth)


OPS = [_op(n) for n in range(5)]
TOWN = _manifest(OPS, "370102001-01", PKI["approver"], "1" * 32)
DISTRICT = _manifest(OPS, "370102", PKI["admin"], "2" * 32)
CITY = _manifest(OPS, "370100", PKI["city_admin"], "3" * 32)


def _check(ops, manifests) -> int:
    index = ProvenanceIndex.build(manifests, store=STORE)
    return verify_provenance(ops, index=index, receiver="370000", sender="370100", store=STORE)


def test_the_hubs_on_the_way_follow_the_certificate_chain() -> None:
    assert hubs_on_the_way("370102001-01", "370000", STORE) == ("370102", "370100")
    assert hubs_on_the_way("370102", "370100", STORE) == ()


def test_ops_with_full_provenance_pass() -> None:
    assert _check(OPS, [TOWN, DISTRICT, CITY]) == 5


def test_an_op_the_district_never_authorised_is_named() -> None:
    district = _manifest(OPS[:4], "370102", PKI["admin"], "2" * 32)
    with pytest.raises(ProvenanceError, match=f"op {OPS[4].op_id} .*hub 370102 on the way"):
        _check(OPS, [TOWN, district, CITY])


def test_an_op_injected_by_a_hub_without_an_origin_batch_is_named() -> None:
    injected = _op(99)
    city = _manifest([*OPS, injected], "370100", PKI["city_admin"], "3" * 32)
    district = _manifest([*OPS, injected], "370102", PKI["admin"], "2" * 32)
    with pytest.raises(ProvenanceError, match=f"op {injected.op_id} .*no authorised batch"):
        _check([*OPS, injected], [TOWN, district, city])


def test_a_manifest_without_authorisation_is_refused() -> None:
    with pytest.raises(ProvenanceError, match="carries no authorisation"):
        _check(OPS, [TOWN, _manifest(OPS, "370102", None, "2" * 32), CITY])


def test_a_node_key_cannot_authorise_a_batch() -> None:
    forged = _manifest(OPS, "370102001-01", PKI["node"], "1" * 32)
    with pytest.raises(ProvenanceError, match="holds no approver certificate"):
        _check(OPS, [forged, DISTRICT, CITY])


def test_an_approver_cannot_sign_a_hub_package() -> None:
    forged = _manifest(OPS, "370102", PKI["approver"], "2" * 32)
    with pytest.raises(ProvenanceError, match="holds no admin certificate"):
        _check(OPS, [TOWN, forged, CITY])


def test_a_resolution_made_at_a_hub_needs_that_hubs_admin() -> None:
    resolution = _op(50, site="370102")
    batch = _manifest([resolution], "370102", PKI["admin"], "4" * 32)
    city = _manifest([resolution], "370100", PKI["city_admin"], "3" * 32)
    assert _check([resolution], [batch, city]) == 1
