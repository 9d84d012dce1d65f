"""Raw bundles on disk: written once, atomically, named by their BLAKE2b-256.

An upload streams into a temporary file while its hash and size are counted; past
the size limit it stops and the file is removed (HTTP 413). A complete upload is
fsynced and renamed to ``DATA/bundles/<hash>.bundle``; an identical resend finds
the file already there. Nothing ever rewrites a stored bundle. A disk that refuses
the write (full, over quota, a file-size limit, an I/O error) is a
:class:`~hub.errors.BundleStorageError` (HTTP 507), and the partial file goes too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from hub.errors import BundleStorageError
from node.fsutil import fsync_dir
from protocol.errors import BundleTooLargeError

__all__ = ["StoredFile", "bundle_path", "store_async", "store_file"]

_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFile:
    """A raw bundle now on disk."""

    bundle_hash: str
    size: int
    path: Path


def bundle_path(directory: Path, bundle_hash: str) -> Path:
    return directory / f"{bundle_hash}.bundle"


class _Writer:
    def __init__(self, directory: Path, scratch: Path, limit: int) -> None:
        self.directory, self.limit = directory, limit
        scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=scratch)
        self.tmp = Path(name)
        self.handle: IO[bytes] = os.fdopen(fd, "wb")
        self.hash = hashlib.blake2b(digest_size=32)
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BundleTooLargeError(f"bundle is larger than {self.limit} bytes", limit=self.limit)
        self.hash.update(data)
        try:
            self.handle.write(data)
        except OSError as exc:
            raise _storage_error(exc) from exc

    def finish(self) -> StoredFile:
        try:
            return self._finish()
        except OSError as exc:
            raise _storage_error(exc) from exc

    def _finish(self) -> StoredFile:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        digest = self.hash.hexdigest()
        final = bundle_path(self.directory, digest)
        self.directory.mkdir(parents=True, exist_ok=True)
        if final.exists():
            self.tmp.unlink()
        else:
            os.chmod(self.tmp, 0o440)
            os.replace(self.tmp, final)
            fsync_dir(self.directory)
        return StoredFile(bundle_hash=digest, size=self.size, path=final)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


@contextlib.contextmanager
def _writing(directory: Path, scratch: Path, limit: int) -> Iterator[_Writer]:
    """A writer whose failures to write are :class:`BundleStorageError`.

    Only the writer's own calls are guarded: an ``OSError`` from reading the source
    (``muster hub import`` of an unreadable file) is the caller's to report.
    """
    try:
        writer = _Writer(directory, scratch, limit)
    except OSError as exc:
        raise _storage_error(exc) from exc
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise


def _storage_error(exc: OSError) -> BundleStorageError:
    return BundleStorageError(
        f"the hub could not store the bundle: {exc.strerror or type(exc).__name__}",
        errno=exc.errno,
    )


def store_file(source: IO[bytes], *, directory: Path, scratch: Path, limit: int) -> StoredFile:
    """Copy a bundle from a file (``muster hub import``).

    Raises:
        BundleTooLargeError: it is larger than ``limit``.
    """
    with _writing(directory, scratch, limit) as writer:
        while chunk := source.read(_CHUNK):
            writer.write(chunk)
        return writer.finish()


async def store_async(
    chunks: AsyncIterator[bytes], *, directory: Path, scratch: Path, limit: int
) -> StoredFile:
    """Copy a bundle from an HTTP body as it arrives, never holding it whole.

    Raises:
        BundleTooLargeError: it is larger than ``limit`` (reading stops there).
    """
    with _writing(directory, scratch, limit) as writer:
        async for chunk in chunks:
            writer.write(chunk)
        return writer.finish()
