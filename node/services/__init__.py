"""The node's services: everything the operator UI, the CLI and the scheduler do.

:class:`NodeServices` is the facade, one per process, built on an unlocked
:class:`NodeContext` (:func:`open_node`). Its methods are synchronous, take plain
values, return the frozen values of :mod:`node.services.values`, raise typed errors
(:mod:`node.errors`, :mod:`protocol.errors`), and each runs in one transaction of the
encrypted store, so a failure leaves nothing half-done. Slow ones (password checks,
authorisation, sync, card reads) should be called from a worker thread by async code
(``await asyncio.to_thread(services.sync_now)``).

Who does what is checked here, by account role (:class:`AccountRole`): collectors and
approvers change records; approvers return and authorise; site administrators manage
accounts and enrollment. ``author``, ``approver`` and ``by`` arguments are logins.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from node.config import NodeConfig
from node.errors import AuthenticationError, ConflictError, FormError, StoppingError
from node.services import accounts as _accounts
from node.services import approval as _approval
from node.services import problems as _problems
from node.services import records as _records
from node.services import rotation as _rotation
from node.services import status as _status
from node.services.audit import append_audit, verify_audit
from node.services.cards import read_card
from node.services.client import EnrollmentPoll, HubClient, RetryPolicy
from node.services.context import CardSource, NodeContext, open_node, utc_now
from node.services.enrollment import REQUEST_FILE, enroll, enrollment_state, init_node
from node.services.sessions import NodeSessionStore
from node.services.state import require_parent
from node.services.stopping import Stopping, unless_stopping
from node.services.sync import NodeSyncPort, run_sync
from node.services.transfer import export_bundles, import_paths
from node.services.values import (
    Account,
    AccountRole,
    BatchResult,
    BlobRef,
    CardResult,
    EnrollmentState,
    ExportReport,
    HistoryItem,
    ImportItem,
    ImportReport,
    NodeStatus,
    OutboxItem,
    PendingRecord,
    ProblemItem,
    RecordFlag,
    RecordSummary,
    RecordView,
    SaveResult,
    SyncReport,
)
from node.store import transaction
from node.store.models import AccountRow, SyncRunRow
from node.web.kit.sessions import SessionPolicy

__all__ = [
    "Account",
    "AccountRole",
    "BatchResult",
    "BlobRef",
    "CardResult",
    "EnrollmentState",
    "ExportReport",
    "HistoryItem",
    "ImportItem",
    "ImportReport",
    "NodeContext",
    "NodeServices",
    "NodeStatus",
    "OutboxItem",
    "PendingRecord",
    "ProblemItem",
    "RecordFlag",
    "RecordSummary",
    "RecordView",
    "SaveResult",
    "SyncReport",
    "init_node",
    "open_node",
]

#: Who may change records (read cards, fill forms, attach photos, answer problems).
_EDITORS: Final = (AccountRole.COLLECTOR, AccountRole.APPROVER)
_SYNC_LOCK_FILE: Final = "sync.lock"


class NodeServices:
    """The node's services (see the module docstring)."""

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._sync_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        passphrase: bytes,
        *,
        now: Callable[[], datetime] = utc_now,
        card_source: CardSource | None = None,
    ) -> NodeServices:
        """Unlock the node in ``data_dir`` (see :func:`open_node`).

        Raises:
            ConfigError: node.toml or the keystore is missing or wrong.
            WrongPassphraseError: the passphrase does not open the keystore.
            StoreError: the store cannot be opened or migrated.
        """
        return cls(open_node(data_dir, passphrase, now=now, card_source=card_source))

    @property
    def context(self) -> NodeContext:
        return self._ctx

    @property
    def stopping(self) -> Stopping:
        """Set by the agent when it begins to stop: a card wait or a sync then gives up."""
        return self._ctx.stopping

    @property
    def config(self) -> NodeConfig:
        return self._ctx.config

    def close(self) -> None:
        """Close the store's connections."""
        self._ctx.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with transaction(self._ctx.engine) as session:
            yield session

    def _editor(self, session: Session, login: str) -> str:
        _accounts.require_role(session, login, *_EDITORS)
        return self._ctx.person_subject(login)

    # -- accounts ---------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> Account:
        """Check a login and password (audited either way).

        Raises:
            AuthenticationError: unknown login, wrong password, or disabled account.
        """
        with self._tx() as session:
            account = _accounts.authenticate(self._ctx, session, login, password)
        if account is None:
            raise AuthenticationError("login or password is wrong, or the account is disabled")
        return account

    def account(self, login: str) -> Account | None:
        """The account ``login`` as it is now, or None."""
        with self._tx() as session:
            row = session.get(AccountRow, login)
            return None if row is None else _accounts.account_of(self._ctx, row)

    def accounts(self) -> list[Account]:
        """Every account, by login."""
        with self._tx() as session:
            return _accounts.list_accounts(self._ctx, session)

    def create_account(
        self,
        login: str,
        display_name: str,
        role: AccountRole | str,
        password: str,
        *,
        by: str | None = None,
    ) -> Account:
        """Make an account; an approver also gets a personal key and a certificate request.

        Args:
            by: the site administrator doing it; None for the local command line.

        Raises:
            NotPermittedError: ``by`` is not an active site administrator.
            FormError: the login, name, role or password breaks a rule.
            ConflictError: the login is taken.
        """
        with self._tx() as session:
            actor = self._admin(session, by)
            return _accounts.create_account(
                self._ctx,
                session,
                login=login,
                display_name=display_name,
                role=role,
                password=password,
                by=actor,
            )

    def _admin(self, session: Session, by: str | None) -> str:
        if by is None:
            return "cli"
        _accounts.require_role(session, by, AccountRole.SITE_ADMIN)
        return by

    def set_account_active(self, login: str, active: bool, *, by: str | None = None) -> Account:
        """Enable or disable an account; disabling ends its sessions.

        Raises:
            NotPermittedError: ``by`` is not an active site administrator.
            NotFoundError: no such account.
            ConflictError: it is the last active site administrator.
        """
        with self._tx() as session:
            actor = self._admin(session, by)
            account = _accounts.set_active(self._ctx, session, login, active, actor)
        if not active:
            self.session_store().end_sessions_of(login)
        return account

    def change_password(self, login: str, old: str, new: str) -> Account:
        """Change a password (an approver's key is re-sealed under the new one).

        Raises:
            AuthenticationError: ``old`` is wrong.
            FormError: ``new`` is too short or too long.
        """
        with self._tx() as session:
            return _accounts.change_password(self._ctx, session, login, old, new)

    def approver_request(self, login: str) -> bytes:
        """The approver's certificate request for the parent hub (a JSON statement).

        Raises:
            NotFoundError: no such approver.
        """
        with self._tx() as session:
            return _accounts.approver_request(session, login)

    def install_approver_certificate(self, data: bytes, *, by: str | None = None) -> Account:
        """Install the parent's answer to an approver's certificate request.

        Raises:
            TrustError: it does not chain to the root anchor or is not an approver's.
            NotFoundError: it certifies no approver of this node.
        """
        with self._tx() as session:
            actor = self._admin(session, by)
            return _accounts.install_approver_certificate(self._ctx, session, data, actor)

    def session_store(self, *, idle: timedelta | None = None) -> NodeSessionStore:
        """Database-backed sessions for the operator UI (idle logout from the config)."""
        idle = idle or timedelta(minutes=self.config.session_idle_minutes)
        policy = SessionPolicy(idle=idle, lifetime=max(idle, timedelta(hours=12)))
        return NodeSessionStore(self._ctx.engine, policy, self._ctx.rng)

    # -- records ----------------------------------------------------------------------

    def search(self, query: str) -> list[RecordSummary]:
        """Records by ID number (prefix) or name (part), at most 50, newest first."""
        with self._tx() as session:
            return _records.search(session, query)

    def get_record(self, record_id: str) -> RecordView:
        """The record page: values, versions, conflicts, flags, history.

        Raises:
            NotFoundError: no such record.
        """
        with self._tx() as session:
            return _records.get_record(self._ctx, session, record_id)

    def save_record(
        self,
        record_id: str | None,
        categories: Sequence[str] | str,
        raw_values: Mapping[str, object],
        author: str,
        *,
        versions: Mapping[str, Sequence[str]] | None = None,
        record_version: str | None = None,
    ) -> SaveResult:
        """Coerce, validate and save a form (``node.services.records.save_record``).

        Returns field problems (nothing saved), or the ops written.

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: ``record_id`` names no record.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            return _records.save_record(
                self._ctx,
                session,
                record_id=record_id,
                categories=categories,
                raw_values=raw_values,
                author=subject,
                versions=versions,
                record_version=record_version,
            )

    def set_flags(
        self,
        record_id: str,
        *,
        author: str,
        home_visit: bool | None = None,
        deceased: bool | None = None,
        unreachable: bool | None = None,
    ) -> SaveResult:
        """Set or clear a record's flags (None leaves one as it is).

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: no such record.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            return _records.set_flags(
                self._ctx,
                session,
                record_id,
                author=subject,
                home_visit=home_visit,
                deceased=deceased,
                unreachable=unreachable,
            )

    def store_blob(self, data: bytes, media_type: str) -> BlobRef:
        """Keep a photo, signature or scan; reference it in a form as its ``blob_id``.

        Raises:
            FormError: unknown type, empty, too large, or not what its type says.
        """
        with self._tx() as session:
            return _records.store_blob(self._ctx, session, data, media_type)

    def attach_blob(
        self, record_id: str, field: str, data: bytes, media_type: str, *, author: str
    ) -> BlobRef:
        """Store a file and set it on (or add it to) a record's photo field.

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: no such record.
            FormError: not a photo field, or the file is refused.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            return _records.attach_blob(
                self._ctx,
                session,
                record_id,
                field=field,
                data=data,
                media_type=media_type,
                author=subject,
            )

    def get_blob(self, blob_id: str) -> tuple[str, bytes]:
        """A blob's media type and bytes.

        Raises:
            NotFoundError: no such blob.
        """
        with self._tx() as session:
            return _records.get_blob(session, blob_id)

    def read_card_into(self, record_id: str | None, *, timeout: float = 30.0) -> CardResult:
        """Read an ID card into a form: its identity fields, and for an ID number already
        held here, that record and the differences (nothing is overwritten).

        Raises:
            NotFoundError: ``record_id`` names no record.
            FormError: no reader is configured.
            CollectorError: the reader failed or no card came within ``timeout``.
        """
        return read_card(self._ctx, record_id, timeout=timeout)

    def confirm_baseline(self, record_id: str, *, author: str) -> None:
        """A collector checked a baseline record and found it right.

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: no such record.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            _records.confirm_baseline(self._ctx, session, record_id, subject)

    # -- approval ---------------------------------------------------------------------

    def pending_changes(self) -> list[PendingRecord]:
        """Records with changes waiting for an approver, each with an old → new diff."""
        with self._tx() as session:
            return _approval.pending_changes(self._ctx, session)

    def return_to_collector(self, record_id: str, note: str, approver: str) -> int:
        """Send a record's pending changes back to the collector; return how many ops.

        Raises:
            NotPermittedError: ``approver`` is not an active approver.
            FormError: the note is empty or too long.
            NothingToDoError: nothing of the record is pending.
        """
        with self._tx() as session:
            return _approval.return_to_collector(self._ctx, session, record_id, note, approver)

    def authorise(
        self, approver_login: str, password: str, record_ids: Sequence[str] | None = None
    ) -> BatchResult:
        """Authorise pending changes (of ``record_ids``, or all) and seal them for the
        parent hub and the escrow recipients, written atomically to the outbox.

        Raises:
            NotEnrolledError: the node is not enrolled.
            NotPermittedError: not an active approver.
            AuthenticationError: the password is wrong.
            NoCertificateError: the approver's key is not certified by the parent yet.
            NothingToDoError: nothing is pending.
            StoreError: the disk is full; nothing was authorised.
        """
        try:
            with self._tx() as session:
                return _approval.authorise_batches(
                    self._ctx, session, approver_login, password, record_ids
                )
        except AuthenticationError:
            with self._tx() as session:  # the attempt is audited, the rest rolled back
                append_audit(
                    session,
                    at=self._ctx.now(),
                    actor=approver_login,
                    action="authorise.failed",
                    subject=approver_login,
                )
            raise

    # -- outbox, inbox, sync ------------------------------------------------------------

    def outbox(self) -> list[OutboxItem]:
        """The outbox, newest bundle first."""
        with self._tx() as session:
            return _approval.outbox_items(session)

    def sync_now(self) -> SyncReport:
        """Sync with the parent hub now (blocking; never two at once, in any process).

        Raises:
            ConflictError: a sync is already running.
            NotEnrolledError: the node is not enrolled.
            FormError: no ``parent_url`` is configured.
            StoppingError: the agent is stopping (the run was given up, or not started).
        """
        url = self.config.parent_url
        if url is None:
            raise FormError("no parent_url in node.toml: this node syncs by USB only")
        if self._ctx.stopping.is_set():
            raise StoppingError("the node is stopping: no sync is started")
        with self._tx() as session:
            require_parent(session)
        with self._exclusive_sync():
            return self._sync(url)

    @contextmanager
    def _exclusive_sync(self) -> Iterator[None]:
        if not self._sync_lock.acquire(blocking=False):
            raise ConflictError("a sync is already running")
        try:
            path = self.config.data_dir / _SYNC_LOCK_FILE
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError as exc:
                    raise ConflictError("a sync is already running (another process)") from exc
                yield
            finally:
                os.close(fd)
        finally:
            self._sync_lock.release()

    def _sync(self, url: str) -> SyncReport:
        ctx = self._ctx
        with self._tx() as session:
            run = SyncRunRow(started_at=ctx.now(), via="http")
            session.add(run)
            session.flush()
            run_id = run.id
        config = ctx.config
        retry = RetryPolicy(
            attempts=config.retry_attempts,
            base_seconds=config.retry_base_seconds,
            max_seconds=config.retry_max_seconds,
            timeout_seconds=config.http_timeout_seconds,
        )

        async def go() -> SyncReport:
            async with HubClient(
                url,
                subject=ctx.node_id,
                key=ctx.keys.signing,
                now=ctx.now,
                retry=retry,
                max_bundle_bytes=config.max_bundle_bytes,
                rng=random.Random(int.from_bytes(ctx.rng(8), "big")),  # noqa: S311 - jitter
            ) as client:
                return await unless_stopping(
                    ctx.stopping,
                    run_sync(NodeSyncPort(ctx), client),
                    lambda: StoppingError("the node is stopping: the sync was given up"),
                )

        report: SyncReport | None = None
        failure: Exception | None = None
        try:
            report = asyncio.run(go())
        except Exception as exc:  # recorded for the status page, then raised again
            failure = exc
        error = report.error if report else _describe(failure)
        with self._tx() as session:
            row = session.get(SyncRunRow, run_id)
            if row is not None:
                row.finished_at = ctx.now()
                row.error = error
                if report is not None:
                    row.uploaded, row.downloaded = report.uploaded, report.downloaded
            append_audit(
                session,
                at=ctx.now(),
                actor="system",
                action="sync",
                subject=ctx.node_id,
                details={
                    "ok": error is None,
                    "uploaded": report.uploaded if report else 0,
                    "downloaded": report.downloaded if report else 0,
                },
            )
        if failure is not None:
            raise failure
        assert report is not None
        return report

    def export_to(self, directory: Path | str, *, by: str = "cli") -> ExportReport:
        """Write every bundle on its way to the parent into ``directory`` (a USB stick).

        Raises:
            NotEnrolledError: the node is not enrolled.
            TransferFileError: the directory is missing or full.
        """
        return export_bundles(self._ctx, Path(directory), actor=by)

    def import_files(self, paths: Iterable[Path | str], *, by: str = "cli") -> ImportReport:
        """Import down bundles and receipts brought back on a USB stick; each file is
        applied once or refused alone (see the report).

        Raises:
            NotEnrolledError: the node is not enrolled.
        """
        return import_paths(self._ctx, [Path(p) for p in paths], actor=by)

    def status(self) -> NodeStatus:
        """Counts by category and state, outbox states, last sync and its errors."""
        with self._tx() as session:
            return _status.node_status(self._ctx, session)

    def problems(self, *, include_closed: bool = False) -> list[ProblemItem]:
        """Problems and rejections sent down by the hub, as a to-do list."""
        with self._tx() as session:
            return _status.list_problems(session, include_closed=include_closed)

    def answer_problem(
        self, problem_id: str, answer: str, *, author: str, reason: str | None = None
    ) -> ProblemItem:
        """Keep a collector's answer to a problem. A cross-check finding's answer needs a
        reason (``register_wrong``, ``person_moved`` …; ``answer`` is then the note) and
        goes up with the next authorised batch.

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: no such problem.
            ConflictError: the problem is closed.
            FormError: a finding's reason is missing, or the answer is empty or too long.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            return _status.answer_problem(
                self._ctx, session, problem_id, answer, subject, reason=reason
            )

    def apply_proposed(self, problem_id: str, *, author: str) -> SaveResult:
        """Take the value a cross-check finding proposes into its record (an ordinary
        edit, authorised and sent like any other) and answer ``record_fixed``.

        Raises:
            NotPermittedError: ``author`` may not change records.
            NotFoundError: no such problem, or its record is not here.
            ConflictError: the problem is closed or proposes no value.
            FormError: the value does not fit the field; nothing changed.
        """
        with self._tx() as session:
            subject = self._editor(session, author)
            return _problems.apply_proposed(self._ctx, session, problem_id, author=subject)

    # -- enrollment, audit ---------------------------------------------------------------

    def enrollment(self) -> EnrollmentState:
        """The node's standing with its parent."""
        return enrollment_state(self._ctx)

    def enroll(self, answer: bytes, *, by: str | None = None) -> EnrollmentState:
        """Install the parent's enrollment answer.

        Raises:
            TrustError: it certifies other keys, or its chain does not reach the anchor.
            ConflictError: already enrolled under another parent.
        """
        with self._tx() as session:
            actor = self._admin(session, by)
        return enroll(self._ctx, answer, actor=actor)

    def enroll_online(self, login: str | None = None) -> str:
        """Send this node's enrollment request (or approver ``login``'s certificate request)
        to the parent hub and install the answer if it has come; return the request's
        state: ``pending``, ``approved`` (installed now) or ``refused: <reason>``.

        Sending again is safe: the hub keeps one request per statement.

        Raises:
            FormError: no ``parent_url`` is configured.
            HubUnreachableError, HubResponseError: the hub did not answer usefully.
            TrustError: the answer does not check out (see :meth:`enroll`).
        """
        if login is None:
            request = (self.config.data_dir / REQUEST_FILE).read_bytes()
        else:
            request = self.approver_request(login)
        poll = self._ask_parent(request)
        if poll.status == "refused":
            return f"refused: {poll.reason}"
        if poll.status == "approved" and poll.answer is not None:
            data = json.dumps(poll.answer).encode("utf-8")
            if login is None:
                self.enroll(data)
            else:
                self.install_approver_certificate(data)
        return poll.status

    def _ask_parent(self, request: bytes) -> EnrollmentPoll:
        """Send an enrollment or rotation request to the parent; return its state there.

        Raises:
            FormError: no ``parent_url`` is configured.
            HubUnreachableError, HubResponseError: the hub did not answer usefully.
        """
        url = self.config.parent_url
        if url is None:
            raise FormError("no parent_url in node.toml: send the request file on a USB stick")
        ctx = self._ctx

        async def ask() -> EnrollmentPoll:
            retry = RetryPolicy(
                attempts=self.config.retry_attempts,
                base_seconds=self.config.retry_base_seconds,
                max_seconds=self.config.retry_max_seconds,
                timeout_seconds=self.config.http_timeout_seconds,
            )
            async with HubClient(
                url, subject=ctx.node_id, key=ctx.keys.signing, now=ctx.now, retry=retry
            ) as client:
                ident = await client.post_enrollment(request)
                return await client.enrollment(ident)

        return asyncio.run(ask())

    # -- key rotation ---------------------------------------------------------------------

    def begin_key_rotation(self, passphrase: bytes, *, by: str | None = None) -> bytes:
        """Make new keys and the rotation request for the parent (node/services/rotation.py).

        Raises:
            NotEnrolledError: the node has no certificate to vouch for new keys.
            WrongPassphraseError: the passphrase is wrong.
        """
        with self._tx() as session:
            self._admin(session, by)
        return _rotation.begin_rotation(self._ctx, passphrase)

    def finish_key_rotation(
        self, passphrase: bytes, answer: bytes, *, by: str | None = None
    ) -> EnrollmentState:
        """Install the parent's answer for the new keys; they become the node's keys.
        Reopen the services afterwards (this one still holds the old keys).

        Raises:
            ConflictError: no rotation was begun.
            TrustError: the answer does not certify the new keys.
        """
        with self._tx() as session:
            actor = self._admin(session, by)
        return _rotation.finish_rotation(self._ctx, passphrase, answer, actor=actor)

    def rotate_keys_online(self, passphrase: bytes, *, by: str | None = None) -> str:
        """Begin a rotation (unless one waits), ask the parent, and install its answer;
        return ``approved`` (reopen the services), ``pending`` or ``refused: <reason>``.

        Raises:
            FormError: no ``parent_url`` is configured.
            HubUnreachableError, HubResponseError: the hub did not answer usefully.
            TrustError: the answer does not check out.
        """
        pending = self.config.data_dir / _rotation.ROTATION_FILE
        request = (
            pending.read_bytes() if pending.exists() else self.begin_key_rotation(passphrase, by=by)
        )
        poll = self._ask_parent(request)
        if poll.status == "refused":
            return f"refused: {poll.reason}"
        if poll.status == "approved" and poll.answer is not None:
            answer = json.dumps(poll.answer).encode("utf-8")
            self.finish_key_rotation(passphrase, answer, by=by)
        return poll.status

    def verify_audit(self) -> int:
        """Check the audit log's hash chain; return how many entries it holds.

        Raises:
            AuditChainError: an entry was altered, removed or reordered.
        """
        with self._tx() as session:
            return verify_audit(session)


def _describe(error: Exception | None) -> str | None:
    if error is None:
        return None
    message = getattr(error, "message", None)
    return str(message) if message else type(error).__name__
