"""The trust store: the configured root, the certificates and revocation lists a party
holds, and the checks that decide whether a key may act (docs/security.md §2).

Chain validation, for a certificate used at time ``at``:

1. walk issuer links up to the root anchor (at most ``MAX_CHAIN`` certificates);
2. each certificate's signature verifies under its issuer's key;
3. each issuer is the root or holds a ``hub`` certificate;
4. name constraints: each subject's site lies inside its issuer's jurisdiction;
5. each certificate is inside its validity window at ``at``;
6. no certificate in the chain is revoked by its issuer's newest valid list, as of ``at``
   (a ``key_compromise`` revocation applies whatever ``at`` says).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from crypto.sign import PublicKey
from protocol.bundle.header import BundleHeader, BundleKind
from protocol.divisions import contains
from protocol.errors import (
    CertificateExpiredError,
    CertificateRevokedError,
    ChainError,
    NameConstraintError,
    TrustError,
)
from protocol.trust.certificate import Certificate, Role
from protocol.trust.revocation import RevocationList, RevocationReason

__all__ = ["MAX_CHAIN", "SENDER_ROLES", "CertificateTrust", "TrustAnchor", "TrustStore"]

#: Root → province → city → district → town, plus a person: five links is the most.
MAX_CHAIN: Final = 6

#: Which roles may send which bundle kinds.
SENDER_ROLES: Final[Mapping[BundleKind, frozenset[Role]]] = {
    BundleKind.DELTA: frozenset({Role.NODE}),
    BundleKind.PACKAGE: frozenset({Role.HUB}),
    BundleKind.BASELINE: frozenset({Role.HUB}),
    BundleKind.PROBLEMS: frozenset({Role.HUB}),
    BundleKind.DECISIONS: frozenset({Role.HUB}),
    BundleKind.TRUST: frozenset({Role.HUB}),
    BundleKind.RECEIPT: frozenset({Role.HUB, Role.NODE}),
}


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """The province root: its public key and the province's division code, set out of band."""

    key: PublicKey
    site: str
    subject: str = ""

    def __post_init__(self) -> None:
        if not self.subject:
            object.__setattr__(self, "subject", f"{self.site}/root")


@dataclass(frozen=True, slots=True)
class TrustStore:
    """An immutable view of what a party trusts. ``with_…`` methods return a new store."""

    anchor: TrustAnchor
    certificates: tuple[Certificate, ...] = ()
    revocations: Mapping[str, RevocationList] = field(default_factory=dict)

    def with_certificates(self, certs: Iterable[Certificate]) -> TrustStore:
        known = {c.serial for c in self.certificates}
        new = tuple(c for c in certs if c.serial not in known)
        return TrustStore(self.anchor, self.certificates + new, self.revocations)

    def with_revocation_list(self, crl: RevocationList) -> TrustStore:
        """Add a revocation list after checking its signature; older numbers are ignored.

        Raises:
            TrustError: the list's issuer is unknown or its signature fails.
        """
        crl.verify_signature(self._issuer_key(crl.issuer, crl.issuer_key_id))
        current = self.revocations.get(crl.issuer)
        if current is not None and current.number >= crl.number:
            return self
        return TrustStore(self.anchor, self.certificates, {**self.revocations, crl.issuer: crl})

    def _issuer_key(self, issuer: str, key_id: bytes) -> PublicKey:
        if issuer == self.anchor.subject and key_id == self.anchor.key.key_id:
            return self.anchor.key
        for cert in self.certificates:
            if cert.subject == issuer and cert.sign_key.key_id == key_id:
                return cert.sign_key
        raise ChainError(f"issuer {issuer} with key {key_id[::-1].hex().upper()} is not known")

    def certificates_of(self, subject: str) -> tuple[Certificate, ...]:
        return tuple(c for c in self.certificates if c.subject == subject)

    def find(self, subject: str, key_id: bytes) -> tuple[Certificate, ...]:
        """Certificates binding ``subject`` to the key with ``key_id`` (any validity)."""
        return tuple(
            c for c in self.certificates if c.subject == subject and c.sign_key.key_id == key_id
        )

    def validate(self, cert: Certificate, at: datetime) -> tuple[Certificate, ...]:
        """Validate ``cert``'s chain at time ``at``; return it, leaf first.

        Raises:
            ChainError: no path to the root, or a signature in it fails.
            NameConstraintError: an issuer certified outside its jurisdiction or role.
            CertificateExpiredError: a certificate is outside its validity window.
            CertificateRevokedError: a certificate is revoked.
        """
        chain: list[Certificate] = []
        current = cert
        while True:
            if len(chain) >= MAX_CHAIN:
                raise ChainError(f"certificate {cert.serial}: chain longer than {MAX_CHAIN}")
            chain.append(current)
            self._check_validity(current, at)
            if current.issuer == self.anchor.subject:
                if current.issuer_key_id != self.anchor.key.key_id:
                    raise ChainError(f"certificate {current.serial}: not signed by the root key")
                current.verify_signature(self.anchor.key)
                if not contains(self.anchor.site, current.site):
                    raise NameConstraintError(
                        f"certificate {current.serial}: site {current.site} is outside the "
                        f"root's jurisdiction {self.anchor.site}"
                    )
                self._check_revocation(current, at)
                return tuple(chain)
            issuer = self._issuer_certificate(current, at)
            if issuer.role is not Role.HUB:
                raise NameConstraintError(
                    f"certificate {current.serial}: issuer {issuer.subject} is a {issuer.role}, "
                    "only hubs issue certificates"
                )
            if not contains(issuer.site, current.site):
                raise NameConstraintError(
                    f"certificate {current.serial}: site {current.site} is outside issuer "
                    f"{issuer.subject}'s jurisdiction {issuer.site}"
                )
            self._check_revocation(current, at)
            current = issuer

    def _issuer_certificate(self, cert: Certificate, at: datetime) -> Certificate:
        candidates = self.find(cert.issuer, cert.issuer_key_id)
        if not candidates:
            raise ChainError(
                f"certificate {cert.serial}: issuer {cert.issuer} is not known to this store"
            )
        failure: TrustError | None = None
        for candidate in candidates:
            try:
                cert.verify_signature(candidate.sign_key)
            except TrustError as exc:
                failure = exc
                continue
            return candidate
        raise ChainError(f"certificate {cert.serial}: issuer signature does not verify") from (
            failure
        )

    @staticmethod
    def _check_validity(cert: Certificate, at: datetime) -> None:
        if not cert.valid_at(at):
            raise CertificateExpiredError(
                f"certificate {cert.serial} of {cert.subject} is valid from "
                f"{cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}, not at {at:%Y-%m-%d}"
            )

    def _check_revocation(self, cert: Certificate, at: datetime) -> None:
        crl = self.revocations.get(cert.issuer)
        if crl is None:
            return
        entry = crl.find(cert.serial)
        if entry is None:
            return
        if entry.reason is RevocationReason.KEY_COMPROMISE or entry.revoked_at <= at:
            raise CertificateRevokedError(
                f"certificate {cert.serial} of {cert.subject} was revoked by {cert.issuer} on "
                f"{entry.revoked_at:%Y-%m-%d} ({entry.reason})"
            )


@dataclass(frozen=True, slots=True)
class CertificateTrust:
    """The bundle signer policy of a hub or node (implements ``SignerTrust``).

    A bundle is trusted when the sender holds a certificate for the signing key whose
    chain validates at the bundle's creation time, whose role may send this kind of
    bundle, and which had not expired more than ``grace`` before ``now`` (USB sticks
    arrive late). Bundles claiming a creation time more than ``max_skew`` ahead of
    ``now`` are refused.
    """

    store: TrustStore
    now: datetime
    grace: timedelta = timedelta(days=30)
    max_skew: timedelta = timedelta(hours=24)

    def candidate_key(self, header: BundleHeader, key_id: bytes) -> PublicKey | None:
        found = self.store.find(header.sender, key_id)
        return found[0].sign_key if found else None

    def check_signer(self, header: BundleHeader, key: PublicKey) -> None:
        if header.created > self.now + self.max_skew:
            raise CertificateExpiredError(
                f"bundle claims creation at {header.created:%Y-%m-%d %H:%M}, in the future"
            )
        allowed = SENDER_ROLES[header.kind]
        failure: TrustError | None = None
        for cert in self.store.find(header.sender, key.key_id):
            if cert.role not in allowed:
                failure = NameConstraintError(
                    f"a {cert.role} certificate may not send {header.kind} bundles"
                )
                continue
            if self.now > cert.not_after + self.grace:
                failure = CertificateExpiredError(
                    f"certificate {cert.serial} expired on {cert.not_after:%Y-%m-%d}"
                )
                continue
            try:
                self.store.validate(cert, header.created)
            except TrustError as exc:
                failure = exc
                continue
            return
        if failure is None:
            failure = ChainError(f"no certificate binds {header.sender} to this key")
        raise failure
