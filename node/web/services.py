"""What the pages need from the node: the :class:`UiServices` protocol.

The node core's ``NodeServices`` facade (``node/services/``) implements it: every
method is synchronous, runs one transaction, returns frozen values
(``node.services.values``) and raises typed ``MusterError`` subclasses. The pages
call it in a worker thread (:func:`call`) so the event loop never waits on the
store, a password hash or the card reader.

Naming the subset here keeps the pages honest about what they use, and lets the
kit's own tests and the browser tests run the pages against the real facade.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import ParamSpec, Protocol, TypeVar

from node.services.context import NodeContext
from node.services.values import (
    Account,
    AccountRole,
    BatchResult,
    BlobRef,
    CardResult,
    EnrollmentState,
    NodeStatus,
    OutboxItem,
    PendingRecord,
    ProblemItem,
    RecordSummary,
    RecordView,
    SaveResult,
    SyncReport,
)
from node.web.kit.sessions import SessionStore

__all__ = ["UiServices", "call"]

P = ParamSpec("P")
T = TypeVar("T")


class UiServices(Protocol):
    """The node services the pages call (see ``node.services.NodeServices`` for errors)."""

    @property
    def context(self) -> NodeContext:
        """The unlocked node: the pages read its schema."""
        ...

    def session_store(self, *, idle: timedelta | None = None) -> SessionStore:
        """The node store's sessions table, as the kit's session store."""
        ...

    def authenticate(self, login: str, password: str) -> Account: ...
    def account(self, login: str) -> Account | None: ...
    def accounts(self) -> list[Account]: ...
    def create_account(
        self, login: str, display_name: str, role: AccountRole | str, password: str, *, by: str
    ) -> Account: ...
    def set_account_active(self, login: str, active: bool, *, by: str) -> Account: ...

    def search(self, query: str) -> list[RecordSummary]: ...
    def get_record(self, record_id: str) -> RecordView: ...
    def save_record(
        self,
        record_id: str | None,
        categories: Sequence[str],
        raw_values: Mapping[str, object],
        author: str,
        *,
        versions: Mapping[str, Sequence[str]] | None = None,
        record_version: str | None = None,
    ) -> SaveResult: ...
    def set_flags(
        self,
        record_id: str,
        *,
        author: str,
        home_visit: bool | None = None,
        deceased: bool | None = None,
        unreachable: bool | None = None,
    ) -> SaveResult: ...
    def store_blob(self, data: bytes, media_type: str) -> BlobRef: ...
    def get_blob(self, blob_id: str) -> tuple[str, bytes]: ...
    def read_card_into(self, record_id: str | None, *, timeout: float = 30.0) -> CardResult: ...
    def confirm_baseline(self, record_id: str, *, author: str) -> None: ...

    def pending_changes(self) -> list[PendingRecord]: ...
    def return_to_collector(self, record_id: str, note: str, approver: str) -> int: ...
    def authorise(
        self, approver_login: str, password: str, record_ids: Sequence[str] | None = None
    ) -> BatchResult: ...
    def outbox(self) -> list[OutboxItem]: ...

    def sync_now(self) -> SyncReport: ...
    def status(self) -> NodeStatus: ...
    def problems(self, *, include_closed: bool = False) -> list[ProblemItem]: ...
    def answer_problem(
        self, problem_id: str, answer: str, *, author: str, reason: str | None = None
    ) -> ProblemItem: ...
    def apply_proposed(self, problem_id: str, *, author: str) -> SaveResult: ...
    def enrollment(self) -> EnrollmentState: ...


async def call(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous service method in a worker thread and return its result."""
    return await asyncio.to_thread(function, *args, **kwargs)
