"""``muster hub report`` and ``muster hub export-records`` (registered by ``hub.cli``).

- ``hub report --data DIR --period 2025-06 [--format xlsx|html|both] [--out DIR]
  [--scope CODE] [--narrative-file FILE] [--lang zh-CN|en] [--ministry [--key DIR]]``:
  the summary report of the hub (or of a division inside it) as a workbook and/or a
  printable page; ``--ministry`` also writes the province's package of all merged
  records for the ministry (hub/reports/ministry.py), authorised by the administrator
  whose keys are in ``--key`` (default: the hub's own administrator key). Prints the
  paths written.
- ``hub export-records --data DIR --login LOGIN --password-file FILE --out FILE
  [--fields a,b,c] [--scope CODE] [--lang …]``: the record-level export, for
  accounts allowed to (administrators), audited.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from crypto.errors import InputError
from hub.accounts import authenticate
from hub.config import HubConfig
from hub.context import HubContext
from hub.reports.exportservice import DEFAULT_EXPORT_FIELDS, export_scope
from hub.reports.ministry import require_recipient, write_ministry_output
from hub.reports.service import report_for
from hub.runtime import open_context
from hub.upward.adminkey import AdminSigner, auto_signer
from node.keyfiles import KeyDir, read_passphrase
from node.reports.html import write_html
from node.reports.period import parse_period
from node.reports.report import Report
from node.reports.xlsx import write_xlsx

__all__ = ["register", "write_report"]

_FORMATS: Final = ("xlsx", "html", "both")
_MAX_FILE: Final = 1 << 20


def register(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` and ``export-records`` to the ``hub`` command group."""
    report = cmds.add_parser("report", help="the summary report (XLSX workbook, HTML page)")
    _hub_args(report)
    report.add_argument("--period", required=True, help="2025-06, 2025-06-30 or START..END")
    report.add_argument("--format", choices=_FORMATS, default="both", help="default: both")
    report.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    report.add_argument("--scope", help="a division inside the hub (default: the whole hub)")
    report.add_argument(
        "--narrative-file", type=Path, help="the narrative (default: the saved one)"
    )
    report.add_argument("--lang", choices=("zh-CN", "en"), default="zh-CN", help="the workbook's")
    report.add_argument(
        "--ministry",
        action="store_true",
        help="also the province's package of all merged records for the ministry",
    )
    report.add_argument("--key", type=Path, help="--ministry: an administrator's key directory")
    report.add_argument("--key-passphrase-file", help="the administrator key's passphrase")
    report.set_defaults(func=_report)

    export = cmds.add_parser("export-records", help="record-level export (audited)")
    _hub_args(export)
    export.add_argument("--login", required=True, help="an account allowed to export records")
    export.add_argument("--password-file", required=True, type=Path)
    export.add_argument("--out", required=True, type=Path, help="the XLSX file to write")
    export.add_argument(
        "--fields",
        default=",".join(DEFAULT_EXPORT_FIELDS),
        help="field keys, comma-separated (default: %(default)s)",
    )
    export.add_argument("--scope", help="a division inside the account's scope")
    export.add_argument("--lang", choices=("zh-CN", "en"), default="zh-CN")
    export.set_defaults(func=_export)


def _hub_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="the hub's data directory")
    parser.add_argument("--config", type=Path, help="hub.toml (instead of --data)")
    parser.add_argument("--passphrase-file", help="file whose first line is the key passphrase")


def _context(args: argparse.Namespace) -> HubContext:
    path = args.config or args.data
    if path is None:
        raise InputError("give --data DIR or --config FILE")
    config = HubConfig.load(Path(path))
    return open_context(config, read_passphrase(args.passphrase_file))


def _read_text(path: Path, what: str) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what} file ({exc.strerror})") from exc
    if len(data) > _MAX_FILE:
        raise InputError(f"the {what} file: expected at most {_MAX_FILE} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} file: expected UTF-8 text") from exc


def write_report(
    report: Report, out: Path, *, fmt: str = "both", lang: str = "zh-CN"
) -> list[Path]:
    """Write the report's workbook and/or pages into ``out``; return the paths written.

    Raises:
        ReportWriteError: a file cannot be written.
    """
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{report.site_code}-{report.period}".replace("..", "_")
    written: list[Path] = []
    if fmt in ("xlsx", "both"):
        path = out / f"{stem}.xlsx"
        write_xlsx(report, path, lang=lang)
        written.append(path)
    if fmt in ("html", "both"):
        written.append(write_html(report, out, stem=stem))
    return written


def _report(args: argparse.Namespace) -> int:
    period = parse_period(args.period)
    narrative = None
    if args.narrative_file is not None:
        narrative = _read_text(args.narrative_file, "narrative")
    ctx = _context(args)
    try:
        # Refused before anything is written: the ministry's output needs both.
        signer = _signer(ctx, args) if args.ministry else None
        report = report_for(ctx, period, scope=args.scope, narrative=narrative)
        for path in write_report(report, args.out, fmt=args.format, lang=args.lang):
            print(f"report written: {path}")
        if signer is not None:
            output = write_ministry_output(ctx, report, args.out, signer=signer)
            print(
                f"ministry output written: {output.folder} ({len(output.bundles)} package "
                f"bundles, {output.ops} ops of {output.records} records, and the workbook)"
            )
    finally:
        ctx.store.dispose()
    return 0


def _signer(ctx: HubContext, args: argparse.Namespace) -> AdminSigner:
    """The administrator who authorises the ministry's package: ``--key``, or the hub's own.

    Raises:
        StateError: no ``ministry_recipient`` is configured, or the hub has no key of its own.
    """
    require_recipient(ctx)
    if args.key is None:
        with ctx.store.write() as session:
            return auto_signer(ctx, session)
    keydir = KeyDir(args.key)
    subject = keydir.owner()
    if subject is None or "/" not in subject:
        raise InputError(f"{args.key}: its id file must name a person (site/login)")
    return AdminSigner(
        key=keydir.unlock(read_passphrase(args.key_passphrase_file)).signing, subject=subject
    )


def _export(args: argparse.Namespace) -> int:
    password = _read_text(args.password_file, "password").split("\n", 1)[0]
    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
    ctx = _context(args)
    try:
        account = authenticate(ctx, args.login, password)
        summary = export_scope(
            ctx, account, args.out, fields=fields, scope=args.scope, lang=args.lang
        )
    finally:
        ctx.store.dispose()
    print(
        f"exported {summary.records} records ({len(summary.fields)} fields) to {args.out}; "
        f"sha256 {summary.sha256}"
    )
    return 0
