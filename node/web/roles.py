"""The node's roles, as the pages check them (``node.services.values.AccountRole``)."""

from __future__ import annotations

from typing import Final

from node.services.values import AccountRole

__all__ = ["ADMINS", "APPROVERS", "COLLECTORS", "EVERYONE"]

#: Who may see and change records: collectors, and approvers (who also collect).
COLLECTORS: Final = (AccountRole.COLLECTOR.value, AccountRole.APPROVER.value)
#: Who may review and authorise batches.
APPROVERS: Final = (AccountRole.APPROVER.value,)
#: Who manages accounts and enrollment.
ADMINS: Final = (AccountRole.SITE_ADMIN.value,)
EVERYONE: Final = tuple(r.value for r in AccountRole)
