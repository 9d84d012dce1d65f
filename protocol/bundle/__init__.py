"""Bundles: one signed, encrypted file per batch, verifiable with stock tools.

See docs/protocol.md for the exact bytes and the numbered verification steps.
"""

from protocol.bundle.header import FORMAT_VERSION, BundleHeader, BundleKind
from protocol.bundle.limits import DEFAULT_LIMITS, BundleLimits
from protocol.bundle.open import (
    OpenedBundle,
    SignerTrust,
    StaticTrust,
    VerifiedBundle,
    inspect_bundle,
    open_bundle,
    verify_bundle,
)
from protocol.bundle.seal import SealedBundle, bundle_file_hash, seal_bundle

__all__ = [
    "DEFAULT_LIMITS",
    "FORMAT_VERSION",
    "BundleHeader",
    "BundleKind",
    "BundleLimits",
    "OpenedBundle",
    "SealedBundle",
    "SignerTrust",
    "StaticTrust",
    "VerifiedBundle",
    "bundle_file_hash",
    "inspect_bundle",
    "open_bundle",
    "seal_bundle",
    "verify_bundle",
]
