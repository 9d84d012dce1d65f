"""The root anchor file: the province root's public key, handed to every site out of band.

A node or hub is configured with one anchor file at set-up (``muster node init --root
FILE``); every certificate chain it accepts must end at this key. The file is one line
of canonical JSON (docs/security.md §2)::

    {"key":"<minisign public key, base64>","site":"370000","type":"muster-anchor","v":1}

It carries no signature: it *is* the trust root, and its integrity comes from how it
was delivered (the key ceremony hands it over on paper or a trusted medium, and
operators compare the key id it prints).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from crypto.errors import KeyFormatError
from crypto.sign import PublicKey
from protocol.errors import TrustError
from protocol.trust.statement import canonical_json, load_json
from protocol.trust.store import TrustAnchor

__all__ = ["ANCHOR_TYPE", "anchor_from_bytes", "anchor_to_bytes"]

ANCHOR_TYPE: Final = "muster-anchor"
_VERSION: Final = 1
_SITE: Final = re.compile(r"\d{6}", re.ASCII)
_MAX_BYTES: Final = 4096


def anchor_to_bytes(anchor: TrustAnchor) -> bytes:
    """The anchor file's bytes (one line of canonical JSON and a newline)."""
    document = {
        "type": ANCHOR_TYPE,
        "v": _VERSION,
        "site": anchor.site,
        "key": anchor.key.to_base64(),
    }
    return canonical_json(document) + b"\n"


def anchor_from_bytes(data: bytes | str | Mapping[str, Any]) -> TrustAnchor:
    """Parse a root anchor file.

    Raises:
        TrustError: not an anchor of this version, a malformed site code or key, or
            unknown fields.
    """
    document = load_json(data, "root anchor", _MAX_BYTES) if isinstance(data, bytes | str) else data
    if not isinstance(document, Mapping) or document.get("type") != ANCHOR_TYPE:
        raise TrustError(f"root anchor: expected a {ANCHOR_TYPE} document")
    if document.get("v") != _VERSION:
        raise TrustError(f"root anchor: version {document.get('v')!r} not supported")
    if set(document) != {"type", "v", "site", "key"}:
        raise TrustError("root anchor: expected exactly the keys type, v, site and key")
    site, key = document["site"], document["key"]
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        raise TrustError("root anchor: site must be a 6-digit division code")
    if not isinstance(key, str):
        raise TrustError("root anchor: key must be a minisign public key in base64")
    try:
        public_key = PublicKey.from_minisign(key)
    except KeyFormatError as exc:
        raise TrustError(f"root anchor: {exc.message}") from exc
    return TrustAnchor(public_key, site)
