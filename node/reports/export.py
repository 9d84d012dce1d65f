"""Record-level export: a workbook of chosen fields of chosen records.

Unlike the summary report this holds personal data, so it is a separate
action: the hub calls :func:`export_records` only for a role allowed to
export, with the records of its jurisdiction, and writes the returned
:class:`ExportSummary` (counts, field keys and the file's hash, never values)
to its audit log. Photos and signatures are never exported. The file is
readable by its owner only.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from node.fsutil import write_atomic
from node.reports.errors import ReportModelError, ReportWriteError
from node.reports.labels import Lang, check_lang, pick, text
from protocol.schema import FieldDef, FieldType, Schema

__all__ = ["ExportSummary", "export_records"]

_SEPARATOR: Final = "、"
#: Excel's row limit, less the header.
MAX_ROWS: Final = 1_048_575


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSummary:
    """What an export wrote, for the audit log: no values, only counts and keys.

    Attributes:
        records: the number of records written.
        fields: the field keys exported, in column order.
        sha256: the hex SHA-256 of the file written.
    """

    records: int
    fields: tuple[str, ...]
    sha256: str


def _columns(schema: Schema, fields: Sequence[str]) -> tuple[FieldDef, ...]:
    if not fields:
        raise ReportModelError("export: expected at least one field")
    if len(set(fields)) != len(fields):
        raise ReportModelError("export: expected each field once")
    found = []
    for key in fields:
        if not schema.has_field(key):
            raise ReportModelError("export: unknown field", field=key[:64])
        field = schema.field(key)
        if field.type is FieldType.PHOTO:
            raise ReportModelError(f"export: photo field {key} is never exported", field=key)
        found.append(field)
    return tuple(found)


def _cell_text(field: FieldDef, value: object, lang: Lang) -> object:
    if value is None:
        return None
    if isinstance(value, bool):
        return text("yes" if value else "no", lang)
    if isinstance(value, list | tuple):
        return _SEPARATOR.join(str(_cell_text(field, v, lang)) for v in value)
    if isinstance(value, str) and field.allowed:
        choice = field.choice(value)
        return pick((choice.label_zh, choice.label_en), lang) if choice else value
    if isinstance(value, int | float | str):
        return value
    return str(value)


def export_records(
    rows: Iterable[Mapping[str, object]],
    schema: Schema,
    path: Path,
    *,
    fields: Sequence[str],
    lang: str = "zh-CN",
) -> ExportSummary:
    """Write ``fields`` of each record in ``rows`` (canonical values) to an XLSX file.

    Choices are written as their labels, yes/no fields as 是/否, lists joined
    with ``、``. The file appears whole or not at all, with mode 0600.

    Raises:
        ReportModelError: no fields, a field twice, an unknown field, a photo
            field, more rows than a sheet holds, or an unknown language.
        ReportWriteError: the file cannot be written; nothing is left at ``path``.
    """
    language = check_lang(lang)
    columns = _columns(schema, fields)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=pick(("记录", "Records"), language))
    sheet.freeze_panes = "A2"
    header = []
    for field in columns:
        cell = WriteOnlyCell(sheet, value=pick((field.label_zh, field.label_en), language))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        count += 1
        if count > MAX_ROWS:
            raise ReportModelError(f"export: expected at most {MAX_ROWS} records per file")
        sheet.append([_cell_text(f, row.get(f.key), language) for f in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    try:
        write_atomic(Path(path), data, mode=0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ReportWriteError(
            f"export file: cannot write {Path(path).name} ({reason})", errno=exc.errno
        ) from exc
    return ExportSummary(
        records=count, fields=tuple(f.key for f in columns), sha256=hashlib.sha256(data).hexdigest()
    )
