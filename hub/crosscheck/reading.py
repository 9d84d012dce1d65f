"""Reading register files as streams of raw rows: CSV in any usual encoding, and XLSX.

The I/O shell of the import. Nothing here holds a file or its rows in memory:
CSV is decoded and split as it is read (through a reader that hashes the bytes
on the way), XLSX is read with openpyxl's read-only mode, row by row. Every
failure of the file as a whole (unknown format, undecodable text, damaged zip,
no header row) is a :class:`RegisterFileError`; cells are not judged here.

Encodings: a byte-order mark decides (UTF-8, UTF-16); otherwise the first
megabyte must decode as UTF-8, or else GB 18030 (a superset of GBK and GB 2312)
is used. The caller can force any encoding Python knows. A file that stops
decoding later (UTF-8 at first, GBK further down) is an error naming the row,
never a silent mix.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from hub.crosscheck.dataset import FileFormat
from hub.crosscheck.errors import RegisterFileError
from hub.crosscheck.fields import field_for_header

__all__ = ["RegisterFile", "content_hash", "open_register", "read_headers"]

_SAMPLE: Final = 1 << 20
_BUFFER: Final = 1 << 20
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0"
#: The longest line of a CSV register, in characters: a real row is a few hundred.
_MAX_LINE: Final = 1 << 20
#: How far down a title block may push the header row.
_HEADER_SEARCH: Final = 20

RawRow = tuple[object, ...]


def content_hash(path: Path) -> str:
    """``b2:`` + the BLAKE2b-256 hex digest of the file, as ``b2sum -l 256`` prints it."""
    digest = hashlib.blake2b(digest_size=32)
    with path.open("rb") as source:
        while chunk := source.read(_BUFFER):
            digest.update(chunk)
    return "b2:" + digest.hexdigest()


class _HashingReader(io.RawIOBase):
    """Passes a binary file through while hashing every byte read."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.blake2b(digest_size=32)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()

    def drain(self) -> None:
        while self.readinto(memoryview(bytearray(_BUFFER))):
            pass


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise RegisterFileError("register file: expected CSV text, saw binary data")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
    except UnicodeDecodeError:
        raise RegisterFileError(
            "register file: expected UTF-8 or GBK/GB18030 text, saw neither; "
            "give the encoding explicitly"
        ) from None
    return "gb18030"


def _known_encoding(name: str) -> str:
    try:
        found = codecs.lookup(name).name
    except LookupError:
        raise RegisterFileError(f"register file: unknown encoding {name[:40]!r}") from None
    try:
        # Python knows codecs that are no text encoding (rot13, hex, zlib) or that
        # refuse the lenient decoding the delimiter guess uses (idna, undefined).
        b"a,b".decode(found, errors="ignore")
    except (LookupError, UnicodeError):
        raise RegisterFileError(
            f"register file: {name[:40]!r} is not a text encoding a CSV can be read in"
        ) from None
    return found


class RegisterFile:
    """An open register file: its format, header row and a one-pass stream of rows.

    Use :func:`open_register`; close it (or use it as a context manager).

    Attributes:
        file_format: CSV or XLSX.
        encoding: the text encoding of a CSV (``None`` for XLSX).
        headers: the header row's cells as text.
        header_row: the header row's number (1 unless a title block sits above it).
    """

    def __init__(
        self,
        *,
        file_format: FileFormat,
        encoding: str | None,
        rows: Iterator[tuple[int, RawRow]],
        finish: Callable[[], str],
        close: Callable[[], None],
        is_header: Callable[[Sequence[str]], bool],
    ) -> None:
        self.file_format = file_format
        self.encoding = encoding
        self._rows = rows
        self._finish = finish
        self._close = close
        self.header_row, self.headers = self._find_header(is_header)

    def _find_header(
        self, is_header: Callable[[Sequence[str]], bool]
    ) -> tuple[int, tuple[str, ...]]:
        first: tuple[int, tuple[str, ...]] | None = None
        seen = 0
        for number, cells in self._rows:
            texts = tuple("" if cell is None else str(cell).strip() for cell in cells)
            if not any(texts):
                continue
            first = first or (number, texts)
            if is_header(texts):
                return number, texts
            seen += 1
            if seen >= _HEADER_SEARCH:
                break
        if first is None:
            raise RegisterFileError("register file: expected a header row, the file is empty")
        raise RegisterFileError(
            f"register file: expected a header row naming the mapped columns within the "
            f"first {_HEADER_SEARCH} rows, found none",
            header_row=first[0],
        )

    def rows(self) -> Iterator[tuple[int, RawRow]]:
        """The rows after the header, with their row numbers; blank rows included."""
        return self._rows

    def finish(self) -> str:
        """Read to the end and return the file's content hash (``b2:`` + hex)."""
        return self._finish()

    def close(self) -> None:
        self._close()

    def __enter__(self) -> RegisterFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _has_known_headers(texts: Sequence[str]) -> bool:
    return sum(field_for_header(text) is not None for text in texts) >= 2


def open_register(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    is_header: Callable[[Sequence[str]], bool] = _has_known_headers,
) -> RegisterFile:
    """Open a CSV or XLSX register and find its header row.

    Args:
        path: the file.
        encoding: force a CSV's text encoding (``gbk``, ``utf-8``); detected when ``None``.
        sheet: the XLSX worksheet to read; the first one when ``None``.
        is_header: tells the header row from a title block above it; by default
            the first row naming at least two known fields.

    Raises:
        RegisterFileError: the file cannot be opened, is of an unknown format,
            cannot be decoded, or has no header row.
    """
    try:
        with path.open("rb") as probe:
            sample = probe.read(_SAMPLE)
    except OSError as exc:
        raise RegisterFileError(f"register file: cannot be read ({exc.strerror})") from None
    if sample.startswith(_OLE_MAGIC):
        raise RegisterFileError(
            "register file: XLS (Excel 97-2003) is not supported; save it as XLSX or CSV"
        )
    if sample.startswith(_ZIP_MAGIC):
        return _open_xlsx(path, sheet, is_header)
    chosen = _known_encoding(encoding) if encoding else _detect_encoding(sample)
    return _open_csv(path, chosen, sample, is_header)


def read_headers(
    path: Path, *, encoding: str | None = None, sheet: str | None = None
) -> tuple[str, ...]:
    """The header row of a register, for proposing a column mapping.

    Raises:
        RegisterFileError: as :func:`open_register`.
    """
    with open_register(path, encoding=encoding, sheet=sheet) as register:
        return register.headers


def _delimiter(sample: bytes, encoding: str) -> str:
    text = sample[:4096].decode(encoding, errors="ignore")
    line = text.splitlines()[0] if text else ""
    return "\t" if line.count("\t") > line.count(",") else ","


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The lines of ``text``, refusing one longer than ``_MAX_LINE`` characters.

    The csv module reads a whole line before it looks at the fields (and at its field
    size limit): a file with no line break would otherwise be held in memory entire,
    several times over once decoded.
    """
    number = 0
    while line := text.readline(_MAX_LINE + 1):
        number += 1
        if len(line) > _MAX_LINE:
            raise RegisterFileError(
                f"register file: line {number} is longer than {_MAX_LINE} characters; "
                "expected CSV rows, one a line",
                line=number,
            )
        yield line


def _open_csv(
    path: Path, encoding: str, sample: bytes, is_header: Callable[[Sequence[str]], bool]
) -> RegisterFile:
    source = path.open("rb")
    hashing = _HashingReader(source)
    text = io.TextIOWrapper(io.BufferedReader(hashing, _BUFFER), encoding=encoding, newline="")
    reader = csv.reader(_bounded_lines(text), delimiter=_delimiter(sample, encoding))

    def rows() -> Iterator[tuple[int, RawRow]]:
        try:
            for cells in reader:
                yield reader.line_num, tuple(cells)
        except UnicodeDecodeError:
            raise RegisterFileError(
                f"register file: text after line {reader.line_num} is not {encoding}; "
                "give the encoding explicitly",
                line=reader.line_num,
            ) from None
        except csv.Error as exc:
            raise RegisterFileError(
                f"register file: line {reader.line_num} is not valid CSV ({exc})",
                line=reader.line_num,
            ) from None

    def finish() -> str:
        for _row in stream:
            pass
        hashing.drain()
        return "b2:" + hashing.digest.hexdigest()

    stream = rows()
    try:
        return RegisterFile(file_format=FileFormat.CSV, encoding=encoding, rows=stream,
                            finish=finish, close=text.close, is_header=is_header)  # fmt: skip
    except BaseException:
        text.close()
        raise


#: What openpyxl lets through on a damaged workbook, besides the usual ones: its XML
#: parser's ParseError (a SyntaxError: malformed or truncated XML), zlib.error (a
#: damaged deflate stream inside the zip),
#: NotImplementedError (a zip member under a compression method zipfile lacks) and
#: OverflowError (a style index too large for a C long).
_XLSX_FAILURES: Final = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError,
                         TypeError, IndexError, OSError, EOFError, ParseError, zlib.error,
                         NotImplementedError, OverflowError)  # fmt: skip


def _load_workbook(source: IO[bytes]) -> openpyxl.Workbook:
    try:
        return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except _XLSX_FAILURES as exc:
        raise RegisterFileError(f"register file: not a readable XLSX workbook ({exc})") from None
    except AttributeError:
        # openpyxl 3.1 fails so on every workbook that holds a chart sheet, even one it
        # wrote itself; the administrator can still send the register's sheet alone.
        raise RegisterFileError(
            "register file: the workbook holds a part the XLSX reader cannot read (a chart "
            "sheet?); save the register's worksheet alone as XLSX, or as CSV"
        ) from None


def _worksheet(book: openpyxl.Workbook, sheet: str | None) -> Any:
    if sheet is not None and sheet not in book.sheetnames:
        raise RegisterFileError(f"register file: no worksheet named {sheet[:40]!r}")
    if not book.worksheets:
        raise RegisterFileError("register file: the workbook has no worksheet")
    return book[sheet] if sheet is not None else book.worksheets[0]


def _open_xlsx(
    path: Path, sheet: str | None, is_header: Callable[[Sequence[str]], bool]
) -> RegisterFile:
    digest = content_hash(path)
    # Opened here, not by openpyxl, which leaves its file open when a damaged workbook
    # fails to load; closing the book does not close a file it was handed.
    source = path.open("rb")
    try:
        book = _load_workbook(source)
    except BaseException:
        source.close()
        raise

    def close() -> None:
        book.close()
        source.close()

    def rows() -> Iterator[tuple[int, RawRow]]:
        # min_row=1: without it, read-only mode starts where the sheet's stated dimension does.
        number = 0
        try:
            for number, cells in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1):
                yield number, tuple(cells)
        except _XLSX_FAILURES as exc:
            raise RegisterFileError(
                f"register file: the workbook is damaged after row {number} ({exc})",
                row=number,
            ) from None

    def finish() -> str:
        for _row in stream:
            pass
        return digest

    stream = rows()
    try:
        worksheet = _worksheet(book, sheet)
        return RegisterFile(file_format=FileFormat.XLSX, encoding=None, rows=stream,
                            finish=finish, close=close, is_header=is_header)  # fmt: skip
    except BaseException:
        close()
        raise
