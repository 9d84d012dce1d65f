"""``muster hub crosscheck …``: registers of other departments against the hub's records.

- ``crosscheck mapping FILE --source NAME --kind KIND``: the column mapping the hub would
  use for FILE (the source's saved one, else one proposed from the headers), as JSON to
  correct and pass back with ``--mapping``;
- ``crosscheck import FILE --source NAME [--kind KIND] [--mapping JSON] [--as-of DATE]
  [--encoding ENC] [--sheet NAME] [--run]``: a dated, immutable dataset in the store,
  the mapping saved for the source; row problems are printed row by row (the first
  ``--show-problems``), never stopping the import;
- ``crosscheck run (--dataset ID | --source NAME) [--coverage CODE] [--no-send]``: match
  against the records, keep the findings, send the open ones down;
- ``crosscheck findings [--state S] [--source NAME] [--region CODE] [--json]``: the
  findings and their place in the fix loop, with their age;
- ``crosscheck recheck [--source NAME]``, ``crosscheck send``, ``crosscheck accept
  FINDING --by LOGIN``, ``crosscheck reject FINDING --by LOGIN --reason TEXT``.

Every command takes ``--data DIR`` (and ``--passphrase-file``): sending problems down
signs bundles with the hub's key. Messages name rows, columns and ids, never a
person's data (docs/crosscheck.md §9).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Final

from crypto.errors import InputError, UsageError
from hub.config import HubConfig
from hub.context import HubContext
from hub.crosscheck import (
    ColumnMapping,
    MappingError,
    SourceKind,
    propose_mapping,
    read_headers,
)
from hub.crosscheck.dispatch import send_problems
from hub.crosscheck.fixloop import accept_answer, recheck_findings, reject_answer
from hub.crosscheck.overview import MADE, FindingFilter, list_findings
from hub.crosscheck.service import import_file, run_check, saved_mapping
from hub.crosscheck.storedatasets import StoreDatasets
from hub.errors import NotFoundError
from hub.runtime import open_context
from node.keyfiles import read_passphrase

__all__ = ["register_crosscheck"]

_DEFAULT_SHOWN: Final = 20


def register_crosscheck(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``crosscheck`` group to the ``hub`` commands."""
    group = cmds.add_parser("crosscheck", help="other departments' registers: import, match, fix")
    sub = group.add_subparsers(dest="crosscheck_command", metavar="CROSSCHECK_COMMAND")
    sub.required = True

    mapping = sub.add_parser("mapping", help="print the column mapping for a register file")
    mapping.add_argument("file", type=Path)
    _source_args(mapping)
    _data_args(mapping)
    mapping.set_defaults(func=_mapping)

    imp = sub.add_parser("import", help="import a register (CSV or XLSX) as a dataset")
    imp.add_argument("file", type=Path)
    _source_args(imp)
    imp.add_argument("--mapping", type=Path, help="the column mapping as JSON (see `mapping`)")
    imp.add_argument("--as-of", type=date.fromisoformat, help="the extract's date (YYYY-MM-DD)")
    imp.add_argument("--encoding", help="the CSV's encoding, when detection guesses wrong")
    imp.add_argument("--sheet", help="the XLSX worksheet (default: the first)")
    imp.add_argument("--by", default="cli", help="who imports it (audited)")
    imp.add_argument("--run", action="store_true", help="then match it and send the findings")
    imp.add_argument("--show-problems", type=int, default=_DEFAULT_SHOWN, metavar="N",
                     help=f"row problems printed (default {_DEFAULT_SHOWN})")  # fmt: skip
    _data_args(imp)
    imp.set_defaults(func=_import)

    run = sub.add_parser("run", help="match a dataset against the records, send the findings")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="the dataset id")
    which.add_argument("--source", help="the source's newest dataset")
    run.add_argument("--coverage", help="the division the register lists everyone of")
    run.add_argument("--no-send", action="store_true", help="keep the findings here for now")
    run.add_argument("--by", default="cli")
    _data_args(run)
    run.set_defaults(func=_run)

    findings = sub.add_parser("findings", help="list the findings and their state")
    findings.add_argument("--state", choices=["open", "answered", "closed"])
    findings.add_argument("--source")
    findings.add_argument("--region", help="a division code the findings lie in")
    findings.add_argument(
        "--made",
        choices=MADE,
        default="here",
        help="this hub's findings (here), those hubs above made and sent down (above), or all",
    )
    findings.add_argument("--limit", type=int, default=200)
    findings.add_argument("--json", action="store_true", help="one JSON object per line")
    _data_args(findings)
    findings.set_defaults(func=_findings)

    recheck = sub.add_parser("recheck", help="re-check the open and answered findings now")
    recheck.add_argument("--source")
    recheck.add_argument("--by", default="cli")
    _data_args(recheck)
    recheck.set_defaults(func=_recheck)

    send = sub.add_parser(
        "send", help="send the open findings not sent yet, and the closures, down"
    )
    send.add_argument("--by", default="cli")
    _data_args(send)
    send.set_defaults(func=_send)

    accept = sub.add_parser("accept", help="accept a finding's answer (it closes)")
    accept.add_argument("finding")
    accept.add_argument("--by", required=True, help="the administrator's id (audited)")
    _data_args(accept)
    accept.set_defaults(func=_accept)

    reject = sub.add_parser("reject", help="reject a finding's answer (it reopens, goes down)")
    reject.add_argument("finding")
    reject.add_argument("--by", required=True)
    reject.add_argument("--reason", required=True)
    _data_args(reject)
    reject.set_defaults(func=_reject)


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="the hub's data directory")
    parser.add_argument("--passphrase-file", help="file whose first line is the key passphrase")


def _source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="the register's name (its mapping's)")
    kinds = [k.value for k in SourceKind]
    parser.add_argument("--kind", choices=kinds, help="the department (the first time only)")


def _context(args: argparse.Namespace) -> HubContext:
    return open_context(HubConfig.load(args.data), read_passphrase(args.passphrase_file))


def _mapping_for(ctx: HubContext, args: argparse.Namespace) -> ColumnMapping:
    """``--mapping``, else the source's saved mapping, else one proposed from the headers."""
    if getattr(args, "mapping", None) is not None:
        try:
            text = args.mapping.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the mapping {args.mapping}") from exc
        mapping = ColumnMapping.from_json(text)
        if mapping.source != args.source:
            raise MappingError(f"the mapping is for source {mapping.source[:100]!r}, "
                               f"not {args.source[:100]!r}")  # fmt: skip
        return mapping
    saved = saved_mapping(ctx, args.source)
    if saved is not None:
        return saved
    if args.kind is None:
        raise UsageError(f"source {args.source[:100]!r} has no saved mapping: give --kind")
    return propose_mapping(read_headers(args.file), source=args.source,
                           source_kind=SourceKind(args.kind))  # fmt: skip


def _mapping(args: argparse.Namespace) -> int:
    ctx = _context(args)
    print(json.dumps(json.loads(_mapping_for(ctx, args).to_json()), ensure_ascii=False, indent=1))
    return 0


def _import(args: argparse.Namespace) -> int:
    ctx = _context(args)
    mapping = _mapping_for(ctx, args)
    dataset = import_file(ctx, args.file, mapping=mapping, by=args.by, as_of=args.as_of,
                          encoding=args.encoding, sheet=args.sheet)  # fmt: skip
    print(f"dataset {dataset.dataset_id}: {dataset.rows_stored} rows stored, "
          f"{dataset.rows_skipped} skipped, {dataset.blank_rows} blank, "
          f"{dataset.problem_count} row problems; {dataset.content_hash}")  # fmt: skip
    reader = StoreDatasets(ctx.store)
    for problem in reader.problems(dataset.dataset_id, limit=max(args.show_problems, 0)):
        print(f"  {problem.message_zh}", file=sys.stderr)
    if args.run:
        return _check(ctx, dataset.dataset_id, by=args.by, coverage=None, send=True)
    return 0


def _check(ctx: HubContext, dataset_id: str, *, by: str, coverage: str | None, send: bool) -> int:
    summary = run_check(ctx, dataset_id, by=by, coverage=coverage)
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.by_kind) or "none"
    print(f"checked against {summary.records} records: {summary.findings} findings ({kinds}), "
          f"{summary.new} new, {summary.reopened} reopened, {summary.fixed} fixed since, "
          f"{summary.proposals} proposals to confirm")  # fmt: skip
    if send:
        _print_sent(ctx, by)
    return 0


def _print_sent(ctx: HubContext, by: str) -> None:
    sent = send_problems(ctx, by=by)
    bundles = ", ".join(f"{child} {n}" for child, n in sent.bundles) or "none"
    print(
        f"sent {sent.sent} findings and {sent.closures} closures down (bundles: {bundles}); "
        f"{sent.unrouted} unrouted"
    )


def _run(args: argparse.Namespace) -> int:
    ctx = _context(args)
    dataset_id = args.dataset
    if dataset_id is None:
        newest = StoreDatasets(ctx.store).newest(args.source)
        if newest is None:
            raise NotFoundError(f"no imported register of source {args.source[:100]!r}")
        dataset_id = newest.dataset_id
    return _check(ctx, dataset_id, by=args.by, coverage=args.coverage, send=not args.no_send)


def _findings(args: argparse.Namespace) -> int:
    ctx = _context(args)
    page = list_findings(ctx, FindingFilter(state=args.state, source=args.source,
                                            region=args.region, made=args.made,
                                            limit=args.limit))  # fmt: skip
    for item in page.items:
        if args.json:
            print(json.dumps(item.to_dict(), ensure_ascii=False))
        else:
            where = item.division_code or "-"
            print(f"{item.finding_id}  {item.state:<8} {item.kind:<19} {item.field or '-':<26} "
                  f"{where:<12} {item.age_days:>4} d  {item.source}")  # fmt: skip
    if not args.json:
        print(f"{len(page.items)} of {page.total} findings")
    return 0


def _recheck(args: argparse.Namespace) -> int:
    summary = recheck_findings(_context(args), source=args.source, by=args.by)
    print(f"re-checked {summary.checked} findings: {summary.closed} closed as fixed"
          + (f"; {summary.no_dataset} have no dataset of their source" if summary.no_dataset
             else ""))  # fmt: skip
    return 0


def _send(args: argparse.Namespace) -> int:
    _print_sent(_context(args), args.by)
    return 0


def _accept(args: argparse.Namespace) -> int:
    status = accept_answer(_context(args), args.finding, by=args.by)
    print(f"finding {status.finding_id}: {status.state.value}")
    return 0


def _reject(args: argparse.Namespace) -> int:
    status = reject_answer(_context(args), args.finding, by=args.by, reason=args.reason)
    print(f"finding {status.finding_id}: {status.state.value} (goes down again)")
    return 0
