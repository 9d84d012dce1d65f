"""Running several coroutines at once, with one plain error when one of them fails."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from crypto.errors import MusterError

__all__ = ["together"]


def _first_failure(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first failure of a task group, a Muster error if there is one (one line, no trace)."""
    leaves: list[Exception] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop(0)
        if isinstance(item, BaseExceptionGroup):
            pending.extend(item.exceptions)
        elif isinstance(item, Exception):
            leaves.append(item)
    return next((e for e in leaves if isinstance(e, MusterError)), leaves[0])


async def together(*work: Coroutine[Any, Any, object]) -> None:
    """Run ``work`` at once; the first failure cancels the rest and is raised alone.

    Raises:
        Exception: the first failure (a Muster error if any failed so).
    """
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(item)
    except ExceptionGroup as failed:
        raise _first_failure(failed) from None
