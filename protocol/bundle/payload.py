"""The bundle payload: a zstd-compressed msgpack stream, encoded and decoded as a stream.

Layout of the decrypted payload (docs/protocol.md §3)::

    zstd frame 1: msgpack map  {"muster": 1, "id": <bundle id>, "from": <sender>, "kind": <kind>}
    zstd frame 2: msgpack objects, one per entry, back to back

The preamble repeats the bundle id and sender so that a relay cannot pass a payload
off as its own; it has a frame of its own so a reader can check it from the first
few bytes. Entries are opaque to this layer: the node or hub that applies them
checks what they mean.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, Final

import msgpack
import zstandard

from protocol.bundle.header import FORMAT_VERSION, BundleKind
from protocol.bundle.limits import BundleLimits
from protocol.errors import EntryLimitError, PayloadMismatchError

__all__ = [
    "ZSTD_LEVEL",
    "PayloadEncoder",
    "Preamble",
    "decode_preamble",
    "iter_entries",
]

#: zstd level 3: the library default, about 4x on realistic records at hundreds of MB/s.
ZSTD_LEVEL: Final = 3
#: Target size of each chunk handed to the encryptor (near 1 MiB: see ARCHITECTURE §11).
_CHUNK: Final = 1 << 20
_READ_SIZE: Final = 1 << 20
_MAX_PREAMBLE: Final = 4096

Preamble = dict[str, Any]


def _preamble(bundle_id: str, sender: str, kind: BundleKind) -> bytes:
    body = {"muster": FORMAT_VERSION, "id": bundle_id, "from": sender, "kind": kind.value}
    packed: bytes = msgpack.packb(body)
    return packed


class PayloadEncoder:
    """A readable stream of the compressed payload, produced lazily from entries.

    ``read(n)`` pulls entries only as needed, so sealing holds about one chunk in
    memory. After the last read, ``count`` and ``size`` describe what was produced.
    """

    def __init__(
        self,
        entries: Iterable[Any],
        *,
        bundle_id: str,
        sender: str,
        kind: BundleKind,
        limits: BundleLimits,
    ) -> None:
        self._entries = iter(entries)
        self._limits = limits
        self._packer = msgpack.Packer(autoreset=True)
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self._buffer = bytearray(compressor.compress(_preamble(bundle_id, sender, kind)))
        self._body = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
        self._done = False
        self.count = 0
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        want = _CHUNK if size is None or size < 0 else size
        while len(self._buffer) < want and not self._done:
            self._fill()
        chunk = bytes(self._buffer[:want])
        del self._buffer[:want]
        self.size += len(chunk)
        return chunk

    def _fill(self) -> None:
        pending = 0
        pack = self._packer.pack
        compress = self._body.compress
        for entry in self._entries:
            try:
                packed = pack(entry)
            except (TypeError, ValueError, OverflowError) as exc:
                raise EntryLimitError(
                    f"entry {self.count}: cannot be encoded ({type(exc).__name__})",
                    entry=self.count,
                ) from exc
            if len(packed) > self._limits.max_entry_bytes:
                raise EntryLimitError(
                    f"entry {self.count}: {len(packed)} bytes, limit "
                    f"{self._limits.max_entry_bytes}",
                    entry=self.count,
                )
            self.count += 1
            if self.count > self._limits.max_entries:
                raise EntryLimitError(f"more than {self._limits.max_entries} entries")
            self._buffer += compress(packed)
            pending += len(packed)
            if pending >= _CHUNK:
                return
        self._buffer += self._body.flush()
        self._done = True


def _unpacker(source: Any, limits: BundleLimits) -> msgpack.Unpacker:
    return msgpack.Unpacker(
        source,
        read_size=_READ_SIZE,
        raw=False,
        strict_map_key=True,
        use_list=True,
        max_buffer_size=max(limits.max_entry_bytes, _READ_SIZE),
        max_str_len=limits.max_string_bytes,
        max_bin_len=limits.max_binary_bytes,
        max_array_len=limits.max_container_items,
        max_map_len=limits.max_container_items,
        max_ext_len=0,
    )


def decode_preamble(prefix: bytes) -> Preamble:
    """Decode the preamble from the first bytes of a decrypted payload.

    Raises:
        PayloadMismatchError: the payload does not start with a well-formed preamble.
    """
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(prefix), read_across_frames=False
        )
        raw = reader.read(_MAX_PREAMBLE)
        body = msgpack.unpackb(raw, raw=False, strict_map_key=True, max_ext_len=0)
    except (zstandard.ZstdError, ValueError, TypeError, msgpack.UnpackException) as exc:
        raise PayloadMismatchError("payload does not start with a bundle preamble") from exc
    if not isinstance(body, dict) or set(body) != {"muster", "id", "from", "kind"}:
        raise PayloadMismatchError("payload preamble must be {muster, id, from, kind}")
    return body


class _Counted:
    """Counts decompressed bytes and stops a decompression bomb at the payload limit."""

    __slots__ = ("_inner", "_limit", "total")

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self.total = 0

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._inner.read(size if size and size > 0 else _READ_SIZE)
        self.total += len(data)
        if self.total > self._limit:
            raise EntryLimitError(f"payload expands beyond {self._limit} bytes")
        return data


def iter_entries(source: Any, *, expected_count: int, limits: BundleLimits) -> Iterator[Any]:
    """Yield the entries of a decrypted payload read from ``source`` (a ``read(n)`` object).

    The preamble frame is skipped (check it first with :func:`decode_preamble`).

    Raises:
        EntryLimitError: an entry is malformed or breaks a limit (docs/protocol.md step 7).
        PayloadMismatchError: more or fewer entries than the header's count.
    """
    try:
        stream = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
        counted = _Counted(stream, limits.max_payload_bytes)
        unpacker = _unpacker(counted, limits)
        preamble = next(unpacker)
    except (
        zstandard.ZstdError,
        ValueError,
        TypeError,
        StopIteration,
        msgpack.UnpackException,
    ) as exc:
        raise EntryLimitError("payload cannot be decompressed or decoded") from exc
    if not isinstance(preamble, dict):
        raise PayloadMismatchError("payload preamble is not a map")
    max_depth = limits.max_nesting
    index = 0
    while True:
        try:
            entry = next(unpacker)
        except StopIteration:
            break
        except msgpack.BufferFull as exc:
            raise EntryLimitError(
                f"entry {index}: larger than {limits.max_entry_bytes} bytes", entry=index
            ) from exc
        except (zstandard.ZstdError, ValueError, TypeError, msgpack.UnpackException) as exc:
            raise EntryLimitError(
                f"entry {index}: cannot be decoded ({_why(exc)})", entry=index
            ) from exc
        if index >= expected_count:
            raise PayloadMismatchError(
                f"payload holds more entries than the header's count {expected_count}"
            )
        kind = type(entry)
        if (kind is dict or kind is list) and _depth_exceeds(entry, max_depth):
            raise EntryLimitError(
                f"entry {index}: nested deeper than {max_depth} levels", entry=index
            )
        index += 1
        yield entry
    if counted.total != unpacker.tell():
        raise EntryLimitError(f"payload ends inside entry {index}")
    if index != expected_count:
        raise PayloadMismatchError(f"payload holds {index} entries, header says {expected_count}")


def _depth_exceeds(value: Any, budget: int) -> bool:
    """True when ``value`` nests containers more than ``budget`` levels deep.

    Recursion is bounded by ``budget`` (at most ``max_nesting``, far below Python's
    limit); it is the cheapest walk in CPython, and this runs on every entry.
    """
    if budget <= 0:
        return True
    for child in value.values() if type(value) is dict else value:
        kind = type(child)
        if (kind is dict or kind is list) and _depth_exceeds(child, budget - 1):
            return True
    return False


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
