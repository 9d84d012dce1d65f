"""The cross-check in the console: what the pages show, and what their forms do.

The work is :mod:`hub.crosscheck`'s; this module adds the account's permissions and
jurisdiction (a finding, a proposal or an import outside the account's scope does
not exist for it), and the upload's two steps: a file kept under ``DATA/tmp``, and
its column mapping, proposed from the headers or the source's saved one, confirmed
by the administrator once per source. Imports and checks run in the background
(:class:`Background`), because a province's register takes minutes; their pages
show how far they got.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from crypto.errors import MusterError
from hub.accounts import AccountInfo, require
from hub.console.errors import FormError
from hub.context import HubContext
from hub.crosscheck import (
    ColumnMapping,
    ColumnRule,
    MappingError,
    RegisterField,
    SourceKind,
    propose_mapping,
    read_headers,
)
from hub.crosscheck.dispatch import SendSummary, send_problems
from hub.crosscheck.fixloop import (
    RecheckSummary,
    accept_answer,
    confirm_proposal,
    recheck_findings,
    refuse_proposal,
    reject_answer,
    withdraw,
)
from hub.crosscheck.overview import (
    DatasetItem,
    FindingFilter,
    FindingsPage,
    ProposalItem,
    Tally,
    dataset_item,
    datasets,
    list_findings,
    pending_proposals,
    tally,
)
from hub.crosscheck.service import import_file, run_check
from hub.crosscheck.storedatasets import StoreDatasets
from hub.errors import NotFoundError
from hub.scope import sees_site, whole_hub
from hub.store.crosscheck_models import DatasetRow, FindingRow, MappingRow, ProposalRow
from hub.store.models import RecordRow

__all__ = [
    "FIELD_CHOICES",
    "Background",
    "CrosscheckHome",
    "ImportPage",
    "MappingStep",
    "ProposalView",
    "accept",
    "confirm",
    "findings",
    "home",
    "import_page",
    "known_sources",
    "mapping_from_form",
    "mapping_step",
    "new_upload",
    "proposals",
    "recheck",
    "refuse",
    "reject",
    "send",
    "start_check",
    "start_import",
    "upload_path",
    "withdraw_finding",
]

#: The fields an administrator may map a column to, in the order the form offers them.
FIELD_CHOICES: Final = tuple(f.value for f in RegisterField)
_TOKEN: Final = re.compile(r"[0-9a-f]{32}")
_PROBLEMS_SHOWN: Final = 200
_MAX_SOURCE: Final = 100
_MAX_REASON: Final = 500


class Background:
    """Imports and checks running in worker threads, and how each ended (kept per process)."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.outcomes: dict[str, str] = {}

    def running(self, key: str) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    def start(self, key: str, work: Callable[[], object]) -> None:
        """Run ``work`` in a thread; its error (a message, no personal data) is kept."""

        async def run() -> None:
            try:
                await asyncio.to_thread(work)
            except MusterError as exc:
                self.outcomes[key] = exc.message
            else:
                self.outcomes.pop(key, None)

        self._tasks[key] = asyncio.create_task(run())

    async def wait(self) -> None:
        """Let every running task finish (tests; the app's shutdown)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def _scope_of(ctx: HubContext, account: AccountInfo) -> str | None:
    return None if whole_hub(account, ctx.site) else account.scope


@dataclass(frozen=True, slots=True, kw_only=True)
class CrosscheckHome:
    """The overview: tallies, imports, and what waits for an administrator."""

    regions: tuple[Tally, ...]
    sources: tuple[Tally, ...]
    imports: tuple[DatasetItem, ...]
    proposals: int
    unrouted: int
    #: Open findings not sent yet, and closures not sent after their findings.
    unsent: int
    #: Findings hubs above made and this hub passed down, per region (mirrors).
    above: tuple[Tally, ...] = ()


def home(ctx: HubContext, account: AccountInfo) -> CrosscheckHome:
    require(account, "read_records")
    scope = _scope_of(ctx, account)
    regions = tally(ctx, by="region", scope=scope)
    with ctx.store.read() as session:
        # What the next send takes down: open findings not sent, and closures not announced.
        waiting = sa.or_(
            sa.and_(FindingRow.state == "open", FindingRow.sent_at.is_(None)),
            sa.and_(FindingRow.state == "closed", FindingRow.sent_at.is_not(None),
                    FindingRow.closure_sent_at.is_(None)),
        )  # fmt: skip
        unsent = session.scalar(
            sa.select(sa.func.count())
            .select_from(FindingRow)
            .where(FindingRow.origin == ctx.site, waiting, FindingRow.division_code.is_not(None))
        )
    return CrosscheckHome(
        regions=regions,
        sources=tally(ctx, by="source", scope=scope),
        imports=datasets(ctx) if whole_hub(account, ctx.site) else (),
        proposals=len(pending_proposals(ctx, scope=scope)),
        unrouted=next((t.open + t.answered for t in regions if t.key == ""), 0),
        unsent=int(unsent or 0) if scope is None else 0,
        above=tally(ctx, by="region", scope=scope, made="above"),
    )


def findings(ctx: HubContext, account: AccountInfo, flt: FindingFilter) -> FindingsPage:
    require(account, "read_records")
    return list_findings(ctx, FindingFilter(
        state=flt.state, source=flt.source, region=flt.region, kind=flt.kind,
        scope=_scope_of(ctx, account), made=flt.made, offset=flt.offset, limit=flt.limit,
    ))  # fmt: skip


def _finding_in_scope(ctx: HubContext, account: AccountInfo, finding_id: str) -> None:
    with ctx.store.read() as session:
        row = session.get(FindingRow, finding_id) if _TOKEN.fullmatch(finding_id) else None
        division = row.division_code if row is not None else None
    visible = row is not None and (
        whole_hub(account, ctx.site) or (division is not None and sees_site(account, division))
    )
    if not visible:
        raise NotFoundError(f"no finding {finding_id[:40]}")


def accept(ctx: HubContext, account: AccountInfo, finding_id: str) -> None:
    require(account, "review")
    _finding_in_scope(ctx, account, finding_id)
    accept_answer(ctx, finding_id, by=account.login)


def reject(ctx: HubContext, account: AccountInfo, finding_id: str, reason: str) -> None:
    require(account, "review")
    _finding_in_scope(ctx, account, finding_id)
    text = reason.strip()
    if not 1 <= len(text) <= _MAX_REASON:
        raise FormError(f"reason: expected 1 to {_MAX_REASON} characters",
                        key="crosscheck.reason_required")  # fmt: skip
    reject_answer(ctx, finding_id, by=account.login, reason=text)


def withdraw_finding(ctx: HubContext, account: AccountInfo, finding_id: str) -> None:
    require(account, "manage_crosscheck")
    _finding_in_scope(ctx, account, finding_id)
    withdraw(ctx, finding_id, by=account.login)


def send(ctx: HubContext, account: AccountInfo) -> SendSummary:
    require(account, "manage_crosscheck")
    return send_problems(ctx, by=account.login)


def recheck(ctx: HubContext, account: AccountInfo) -> RecheckSummary:
    require(account, "manage_crosscheck")
    return recheck_findings(ctx, by=account.login)


# -- proposals -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalView:
    """A proposal with what both sides say (personal data: administrators in scope only)."""

    proposal: ProposalItem
    register: Mapping[str, Any]
    record: Mapping[str, Any]


_SHOWN_FIELDS: Final = ("name", "sex", "birth_date", "hukou_division_code", "id_number")


def proposals(ctx: HubContext, account: AccountInfo) -> tuple[ProposalView, ...]:
    require(account, "manage_crosscheck")
    reader = StoreDatasets(ctx.store)
    shown = []
    for item in pending_proposals(ctx, scope=_scope_of(ctx, account)):
        row = reader.row(item.dataset_id, item.row)
        with ctx.store.read() as session:
            record = session.get(RecordRow, item.record_id)
            values = dict(record.data) if record is not None else {}
        register = {k: row.get(k) for k in _SHOWN_FIELDS} if row is not None else {}
        if row is not None:
            register["id_number"] = row.id_number or row.bad_id_number
        shown.append(ProposalView(proposal=item, register=register,
                                  record={k: values.get(k) for k in _SHOWN_FIELDS}))  # fmt: skip
    return tuple(shown)


def _proposal_in_scope(ctx: HubContext, account: AccountInfo, dataset_id: str, row: int,
                       record_id: str) -> None:  # fmt: skip
    """A pending proposal inside the account's jurisdiction (by the record's site), or 404."""
    with ctx.store.read() as session:
        found = session.get(ProposalRow, (dataset_id, row, record_id))
        pending = found is not None and found.state == "pending"
        site = found.division_code if found is not None else None
    visible = whole_hub(account, ctx.site) or (site is not None and sees_site(account, site))
    if not (pending and visible):
        raise NotFoundError("no such proposal")


def confirm(ctx: HubContext, account: AccountInfo, dataset_id: str, row: int,
            record_id: str) -> int:  # fmt: skip
    require(account, "manage_crosscheck")
    _proposal_in_scope(ctx, account, dataset_id, row, record_id)
    return confirm_proposal(ctx, dataset_id, row, record_id, by=account.login)


def refuse(ctx: HubContext, account: AccountInfo, dataset_id: str, row: int,
           record_id: str) -> int:  # fmt: skip
    require(account, "manage_crosscheck")
    _proposal_in_scope(ctx, account, dataset_id, row, record_id)
    return refuse_proposal(ctx, dataset_id, row, record_id, by=account.login)


# -- upload, mapping, import ------------------------------------------------------------------


def upload_path(ctx: HubContext, token: str) -> Path:
    """Where an uploaded register waits for its mapping (``DATA/tmp``).

    Raises:
        NotFoundError: the token is malformed, or no such upload waits.
    """
    if not _TOKEN.fullmatch(token):
        raise NotFoundError("no such upload")
    return ctx.config.scratch_dir / f"register-{token}.upload"


def new_upload(ctx: HubContext) -> tuple[str, Path]:
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    return token, upload_path(ctx, token)


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingStep:
    """The mapping form: the file's headers, each with the field proposed (or saved) for it."""

    token: str
    source: str
    source_kind: str
    file_name: str
    as_of: str
    headers: tuple[str, ...]
    chosen: tuple[str, ...]
    saved: bool
    known_sources: tuple[str, ...]


def known_sources(ctx: HubContext) -> tuple[tuple[str, str], ...]:
    """The sources with a saved mapping: ``(source, kind)``."""
    with ctx.store.read() as session:
        rows = session.execute(
            sa.select(MappingRow.source, MappingRow.source_kind).order_by(MappingRow.source)
        ).all()
    return tuple((row[0], row[1]) for row in rows)


def _source_and_kind(form: Mapping[str, str]) -> tuple[str, SourceKind]:
    source = form.get("source", "").strip()
    if not 1 <= len(source) <= _MAX_SOURCE:
        raise FormError(f"source: expected a name of 1 to {_MAX_SOURCE} characters",
                        key="crosscheck.source_required")  # fmt: skip
    try:
        return source, SourceKind(form.get("kind", ""))
    except ValueError:
        raise FormError("kind: expected one of the departments",
                        key="crosscheck.kind_required") from None  # fmt: skip


def _as_of(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormError("as of: expected a date", key="crosscheck.bad_date") from None


def mapping_step(
    ctx: HubContext, account: AccountInfo, token: str, form: Mapping[str, str]
) -> MappingStep:
    """The mapping an upload would be imported with: the source's saved one if it fits
    the file's headers, else one proposed from them.

    Raises:
        FormError: no source or department; RegisterFileError: the file cannot be read.
    """
    require(account, "manage_crosscheck")
    path = upload_path(ctx, token)
    if not path.exists():
        raise NotFoundError("no such upload")
    source, kind = _source_and_kind(form)
    _as_of(form.get("as_of", ""))
    headers = tuple(read_headers(path))
    saved = _saved(ctx, source)
    mapping = saved if saved is not None and _fits(saved, headers) else None
    if mapping is None:
        mapping = _propose(headers, source, kind)
    by_header = {rule.header: rule.field.value for rule in mapping.columns} if mapping else {}
    return MappingStep(
        token=token, source=source,
        source_kind=mapping.source_kind.value if mapping else kind.value,
        file_name=form.get("file_name", "")[:200], as_of=form.get("as_of", ""),
        headers=headers, chosen=tuple(by_header.get(h, "") for h in headers),
        saved=saved is not None and mapping is saved,
        known_sources=tuple(name for name, _kind in known_sources(ctx)),
    )  # fmt: skip


def _saved(ctx: HubContext, source: str) -> ColumnMapping | None:
    with ctx.store.read() as session:
        row = session.get(MappingRow, source)
        text = row.mapping_json if row is not None else None
    try:
        return ColumnMapping.from_json(text) if text else None
    except MappingError:
        return None


def _fits(mapping: ColumnMapping, headers: tuple[str, ...]) -> bool:
    try:
        mapping.locate(headers)
    except MappingError:
        return False
    return True


def _propose(headers: tuple[str, ...], source: str, kind: SourceKind) -> ColumnMapping | None:
    try:
        return propose_mapping(headers, source=source, source_kind=kind)
    except MappingError:
        return None  # nothing recognisable: the administrator maps every column


def mapping_from_form(form: Mapping[str, str], headers: tuple[str, ...]) -> ColumnMapping:
    """The mapping the administrator chose (``column-<n>`` = a field, or blank to ignore).

    Raises:
        FormError: no source or department; MappingError: the mapping breaks a rule.
    """
    source, kind = _source_and_kind(form)
    rules = []
    for position, header in enumerate(headers):
        chosen = form.get(f"column-{position}", "")
        if not chosen:
            continue
        try:
            field = RegisterField(chosen)
        except ValueError:
            raise FormError("mapping: an unknown field was chosen",
                            key="crosscheck.bad_mapping") from None  # fmt: skip
        rules.append(ColumnRule(header=header, field=field))
    required = (RegisterField.ID_NUMBER,) if any(
        r.field is RegisterField.ID_NUMBER for r in rules) else ()  # fmt: skip
    return ColumnMapping(source=source, source_kind=kind, columns=tuple(rules), required=required)


def start_import(
    ctx: HubContext,
    account: AccountInfo,
    background: Background,
    *,
    token: str,
    form: Mapping[str, str],
    headers: tuple[str, ...],
) -> str:
    """Start importing an upload with the chosen mapping; return the new dataset's id.

    Raises:
        FormError, MappingError: the form or the mapping cannot work; nothing started.
    """
    require(account, "manage_crosscheck")
    path = upload_path(ctx, token)
    if not path.exists():
        raise NotFoundError("no such upload")
    mapping = mapping_from_form(form, headers)
    as_of = _as_of(form.get("as_of", ""))
    dataset_id = secrets.token_hex(16)
    name = form.get("file_name", "")[:200] or None

    def work() -> None:
        try:
            import_file(ctx, path, mapping=mapping, by=account.login, as_of=as_of,
                        file_name=name, dataset_id=dataset_id)  # fmt: skip
        finally:
            path.unlink(missing_ok=True)

    background.start(dataset_id, work)
    return dataset_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportPage:
    """One import: running, failed (with why), or done (with its row problems)."""

    dataset_id: str
    state: str
    item: DatasetItem | None
    error: str | None
    problems: tuple[tuple[int, str, str], ...]
    checking: bool


def import_page(
    ctx: HubContext, account: AccountInfo, background: Background, dataset_id: str
) -> ImportPage:
    """Raises: NotFoundError: no such import, running or done, in this process or stored."""
    require(account, "manage_crosscheck")
    if not _TOKEN.fullmatch(dataset_id):
        raise NotFoundError("no such import")
    item = dataset_item(ctx, dataset_id)
    error = background.outcomes.get(dataset_id)
    if item is None and error is None and not background.running(dataset_id):
        raise NotFoundError("no such import")
    problems: tuple[tuple[int, str, str], ...] = ()
    if item is not None and item.state == "committed":
        problems = tuple(
            (p.row, p.message_zh, p.message_en)
            for p in StoreDatasets(ctx.store).problems(dataset_id, limit=_PROBLEMS_SHOWN)
        )
    state = "failed" if error and item is None else item.state if item else "writing"
    return ImportPage(dataset_id=dataset_id, state=state, item=item, error=error,
                      problems=problems,
                      checking=background.running(f"check:{dataset_id}"))  # fmt: skip


def start_check(
    ctx: HubContext, account: AccountInfo, background: Background, dataset_id: str
) -> None:
    """Match a committed dataset in the background (then send what it found down)."""
    require(account, "manage_crosscheck")
    with ctx.store.read() as session:
        row = session.get(DatasetRow, dataset_id) if _TOKEN.fullmatch(dataset_id) else None
        committed = row is not None and row.state == "committed"
    if not committed:
        raise NotFoundError("no such import")
    key = f"check:{dataset_id}"
    if background.running(key):
        return

    def work() -> None:
        run_check(ctx, dataset_id, by=account.login)
        send_problems(ctx, by=account.login)

    background.start(key, work)
