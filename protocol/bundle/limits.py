"""Bounds on everything a bundle may contain; every bound is a typed error when exceeded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from crypto.errors import UsageError

__all__ = ["DEFAULT_LIMITS", "BundleLimits"]

_MIB: Final = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleLimits:
    """Limits applied when opening (and sealing) bundles.

    The defaults fit a town's largest realistic batch with room to spare: a
    realistic record compresses to about 320 bytes, so 256 MiB holds hundreds of
    thousands of records plus their photos.
    """

    #: The whole bundle file (signature lines + ciphertext).
    max_bundle_bytes: int = 256 * _MIB
    #: The header (the trusted comment): stock minisign accepts up to 8 KiB.
    max_header_bytes: int = 4096
    #: The decrypted payload after decompression (guards against decompression bombs).
    max_payload_bytes: int = 1024 * _MIB
    #: Entries in one bundle.
    max_entries: int = 1_000_000
    #: One entry, encoded.
    max_entry_bytes: int = 8 * _MIB
    #: One text string.
    max_string_bytes: int = 64 * 1024
    #: One binary string (a photo or a scanned confirmation sheet).
    max_binary_bytes: int = 8 * _MIB
    #: Items in one list or map.
    max_container_items: int = 100_000
    #: Depth of nested lists and maps inside one entry (the entry itself is depth 1).
    max_nesting: int = 16

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"bundle limit {name} must be a positive integer, got {value!r}")
        if self.max_header_bytes > 8192:
            raise UsageError("max_header_bytes above 8192: stock minisign could not verify")


DEFAULT_LIMITS: Final = BundleLimits()
