"""A small province PKI for tests: root → province → city → district hub → town node,
with an approver at the town and an administrator at the district.

Signing keys come from fixed seeds, so certificates and signatures are reproducible.
age identities are generated (pyrage offers no seed), except where a test needs
fixed ones (tests/vectors keeps its own).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto.age import AgeIdentity
from crypto.keys import KeyPair
from crypto.sign import SigningKey
from protocol.bundle import DEFAULT_LIMITS, BundleKind, BundleLimits, seal_bundle
from protocol.bundle.seal import SealedBundle
from protocol.trust import (
    Certificate,
    CertificateTrust,
    Role,
    TrustAnchor,
    TrustStore,
    issue_certificate,
)
from protocol.trust.escrow import EscrowStatement, issue_escrow

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
#: The default certificates' validity: from a year before ``NOW`` to decades after it.
#: Tests on the fixed ``NOW`` do not care how long it is; tests that run a hub or a
#: node as a real process, or a server on the real clock, check these certificates
#: against the day they run, which is not ``NOW``. A test about expiry takes the
#: certificate's own ``not_after`` (or issues one with its own validity).
VALID_FROM = NOW - YEAR
VALID_UNTIL = NOW + 50 * YEAR


def seeded_key(label: str) -> SigningKey:
    return SigningKey(hashlib.blake2b(label.encode(), digest_size=32).digest())


def serial_for(label: str) -> str:
    return hashlib.blake2b(label.encode(), digest_size=16).hexdigest()


@dataclass
class Party:
    subject: str
    keys: KeyPair
    cert: Certificate | None = None


@dataclass
class Pki:
    """Everyone in a three-level tree, with certificates valid from ``VALID_FROM`` to
    ``VALID_UNTIL``."""

    root: Party
    anchor: TrustAnchor
    parties: dict[str, Party] = field(default_factory=dict)
    #: Fixed age identities by party name (golden vectors); others are generated.
    ages: dict[str, AgeIdentity] = field(default_factory=dict)
    #: The province recovery identity (escrow), kept offline in a deployment.
    recovery: AgeIdentity = field(default_factory=AgeIdentity.generate)

    @classmethod
    def build(
        cls, ages: dict[str, AgeIdentity] | None = None, *, until: datetime = VALID_UNTIL
    ) -> Pki:
        """The tree, every certificate valid from ``VALID_FROM`` to ``until``."""
        ages = ages or {}
        root_age = ages.get("root") or AgeIdentity.generate()
        root = Party("370000/root", KeyPair(seeded_key("root"), root_age))
        pki = cls(root=root, anchor=TrustAnchor(root.keys.signing.public_key, "370000"), ages=ages)
        pki.add("province", "370000", Role.HUB, issuer=root, not_after=until)
        pki.add("city", "370100", Role.HUB, issuer="province", not_after=until)
        pki.add("district", "370102", Role.HUB, issuer="city", not_after=until)
        pki.add("node", "370102001-01", Role.NODE, issuer="district", not_after=until)
        pki.add("approver", "370102001/li.na", Role.APPROVER, issuer="district", not_after=until)
        pki.add("admin", "370102/wang.fang", Role.ADMIN, issuer="district", not_after=until)
        pki.add("other_district", "370103", Role.HUB, issuer="city", not_after=until)
        pki.add("other_node", "370103001-01", Role.NODE, issuer="other_district", not_after=until)
        return pki

    def add(
        self,
        name: str,
        subject: str,
        role: Role,
        *,
        issuer: str | Party,
        not_before: datetime = VALID_FROM,
        not_after: datetime = VALID_UNTIL,
    ) -> Party:
        parent = issuer if isinstance(issuer, Party) else self.parties[issuer]
        keys = KeyPair(seeded_key(name + subject), self.ages.get(name) or AgeIdentity.generate())
        party = Party(subject, keys)
        party.cert = issue_certificate(
            issuer_key=parent.keys.signing,
            issuer=parent.subject,
            serial=serial_for(name + subject + str(not_after)),
            subject=subject,
            role=role,
            sign_key=keys.signing.public_key,
            age=keys.age.recipient if role in (Role.HUB, Role.NODE) else None,
            not_before=not_before,
            not_after=not_after,
            name=name,
        )
        self.parties[name] = party
        return party

    def __getitem__(self, name: str) -> Party:
        return self.parties[name]

    def escrow(self) -> EscrowStatement:
        """The province's escrow statement, signed by the root as the key ceremony does."""
        return issue_escrow(
            key=self.root.keys.signing,
            by=self.root.subject,
            site=self.anchor.site,
            recipients=[self.recovery.recipient],
            issued_at=NOW - YEAR,
        )

    def certificates(self) -> list[Certificate]:
        return [p.cert for p in self.parties.values() if p.cert is not None]

    def store(self) -> TrustStore:
        return TrustStore(self.anchor).with_certificates(self.certificates())

    def trust(self, now: datetime = NOW) -> CertificateTrust:
        return CertificateTrust(self.store(), now)


def seal(
    entries: Iterable[Any],
    *,
    sender: Party,
    to: Party,
    kind: BundleKind = BundleKind.DELTA,
    seq: int = 1,
    prev: str | None = None,
    created: datetime = NOW,
    bundle_id: str = "0123456789abcdef0123456789abcdef",
    auth: dict[str, Any] | None = None,
    limits: BundleLimits = DEFAULT_LIMITS,
    extra_recipients: Iterable[AgeIdentity] = (),
) -> tuple[bytes, SealedBundle]:
    """Seal entries from ``sender`` to ``to`` in memory."""
    out, spool = io.BytesIO(), io.BytesIO()
    sealed = seal_bundle(
        entries,
        kind=kind,
        sender=sender.subject,
        recipient=to.subject,
        seq=seq,
        prev=prev,
        created=created,
        bundle_id=bundle_id,
        signer=sender.keys.signing,
        recipients=[to.keys.age.recipient, *(i.recipient for i in extra_recipients)],
        out=out,
        spool=spool,
        auth=auth,
        limits=limits,
    )
    return out.getvalue(), sealed
