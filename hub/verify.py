"""Intake verification: steps 1–4 of docs/protocol.md, then the hub's own rules.

In order, each failure its own typed error (nothing after a failed check runs):

1–4. :func:`protocol.bundle.verify_bundle` with :class:`CertificateTrust` on the hub's
     trust store at the hub's clock (size, header syntax, signature, signer trusted).
5.   The bundle is addressed to this hub (``WrongRecipientError``).
6.   Its kind is one the hub takes in from below (``KindNotAcceptedError``).
7.   The sender lies inside the hub's jurisdiction (``NameConstraintError``).
8.   A ``delta`` carries an authorisation statement by an approver certified for a
     site containing the sender (``AuthorisationError`` / ``TrustError``); the ops are
     checked against its manifest when the bundle is staged.
9.   A ``package`` comes from a child hub (not this hub itself) and carries an
     authorisation of its own batch by a person of the sender's site
     (``AuthorisationError``); the signer's certificate travels inside the package, so
     the authorisation, and the provenance of every op, are verified when it is staged
     (hub/package_intake.py).

Stream order comes after these, in :mod:`hub.streams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from hub.errors import KindNotAcceptedError, WrongRecipientError
from protocol.bundle import BundleHeader, BundleKind, BundleLimits, inspect_bundle, verify_bundle
from protocol.divisions import contains
from protocol.errors import AuthorisationError, BundleError, NameConstraintError
from protocol.trust import (
    Authorisation,
    CertificateTrust,
    Role,
    TrustStore,
    site_of,
    verify_authorisation,
)

__all__ = ["ACCEPTED_KINDS", "Checked", "peek_header", "verify_intake"]

#: What a hub takes in from below: nodes' deltas, child hubs' packages, and receipts.
ACCEPTED_KINDS: Final = frozenset({BundleKind.DELTA, BundleKind.PACKAGE, BundleKind.RECEIPT})


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """A bundle that passed every intake check but stream order."""

    header: BundleHeader
    bundle_hash: str
    auth: Authorisation | None


def peek_header(path: Path, limits: BundleLimits) -> BundleHeader | None:
    """The unverified header (steps 1–2), to name the sender in a rejection; or None."""
    try:
        with path.open("rb") as source:
            return inspect_bundle(source, limits=limits)[0]
    except BundleError:
        return None


def _package_auth(header: BundleHeader, site: str) -> Authorisation:
    if header.sender == site:
        raise NameConstraintError(f"bundle {header.bundle_id}: a hub sends no package to itself")
    if header.auth is None:
        raise AuthorisationError(
            f"bundle {header.bundle_id} from {header.sender}: a package needs an "
            "administrator's authorisation"
        )
    auth = Authorisation.from_dict(header.auth)
    if auth.origin != header.sender or site_of(auth.by) != site_of(header.sender):
        raise AuthorisationError(
            f"bundle {header.bundle_id}: authorised for {auth.origin} by {auth.by}, "
            f"expected a person of {header.sender}"
        )
    return auth


def verify_intake(
    path: Path, *, site: str, store: TrustStore, now: datetime, limits: BundleLimits
) -> Checked:
    """Run the intake checks on a stored bundle file.

    Raises:
        BundleTooLargeError, HeaderSyntaxError, BadSignatureError, UntrustedSignerError:
            steps 1–4.
        WrongRecipientError: addressed to another site.
        KindNotAcceptedError: a kind this hub does not take in.
        NameConstraintError: the sender is outside this hub's jurisdiction.
        AuthorisationError, TrustError: a delta's authorisation is missing or invalid,
            or a package's is missing or names another site.
    """
    with path.open("rb") as source:
        verified = verify_bundle(source, trust=CertificateTrust(store, now), limits=limits)
    header = verified.header
    if header.recipient != site:
        raise WrongRecipientError(
            f"bundle {header.bundle_id} is addressed to {header.recipient}, not to {site}",
            bundle=header.bundle_id,
        )
    if header.kind not in ACCEPTED_KINDS:
        raise KindNotAcceptedError(
            f"bundle {header.bundle_id}: kind {header.kind} is not taken in here "
            f"(expected {', '.join(sorted(k.value for k in ACCEPTED_KINDS))})",
            bundle=header.bundle_id,
        )
    if not contains(site, site_of(header.sender)):
        raise NameConstraintError(
            f"bundle {header.bundle_id}: sender {header.sender} is outside {site}'s jurisdiction"
        )
    auth = None
    if header.kind is BundleKind.DELTA:
        if header.auth is None:
            raise AuthorisationError(
                f"bundle {header.bundle_id} from {header.sender}: a delta needs an "
                "approver's authorisation"
            )
        auth = Authorisation.from_dict(header.auth)
        verify_authorisation(
            auth, op_ids=None, store=store, origin=header.sender, role=Role.APPROVER
        )
    elif header.kind is BundleKind.PACKAGE:
        auth = _package_auth(header, site)
    return Checked(header=header, bundle_hash=verified.bundle_hash, auth=auth)
