"""Small filesystem helpers that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_writer", "fsync_dir", "undone_on_failure", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: int = 0o600) -> Iterator[IO[bytes]]:
    """Write ``path`` through a temporary file in the same directory, then rename.

    The file appears complete or not at all, even after a crash or a full disk; its
    permissions are ``mode`` from the first byte (secrets are never world-readable).
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``."""
    with atomic_writer(path, mode=mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def undone_on_failure(directory: Path) -> Iterator[None]:
    """Run the block; if it raises, remove what it made in ``directory`` and re-raise.

    A directory that did not exist (nor some of its parents) is removed whole, from the
    highest one made; in one that existed, only the files and directories that were not
    there before go, so an empty directory is left empty.
    """
    directory = Path(directory)
    made = next((p for p in reversed((directory, *directory.parents)) if not p.exists()), None)
    before = set() if made is not None else _tree(directory)
    try:
        yield
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        else:
            _remove_new(directory, before)
        raise


def _tree(directory: Path) -> set[str]:
    """Every path under ``directory`` (none when it is not a directory)."""
    found: set[str] = set()
    for root, dirs, files in os.walk(directory):
        found.update(os.path.join(root, name) for name in (*dirs, *files))
    return found


def _remove_new(directory: Path, before: set[str]) -> None:
    for root, dirs, files in os.walk(directory, topdown=True):
        for name in files:
            path = os.path.join(root, name)
            if path not in before:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        for name in list(dirs):
            path = os.path.join(root, name)
            if path not in before:
                dirs.remove(name)  # made by the block: gone with all it holds
                if os.path.islink(path):
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                else:
                    shutil.rmtree(path, ignore_errors=True)
