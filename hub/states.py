"""The bundle state machine (docs/hub.md "Pipeline states").

Every state change of a bundle row goes through :func:`transition`, so the table
below is the whole truth: a pair that is not in it is refused with a
:class:`~crypto.errors.StateError`.

::

    received ──accept──▶ verified ──auto_merge──▶ merged
       │  └────park──▶ parked ──promote──▶ verified
       │                  └──refuse──▶ rejected
       └──refuse──▶ rejected ──resend──▶ received
    verified ──hold──▶ staged ──approve──▶ approved ──merge──▶ merged
    verified ──fail──▶ rejected      staged ──reject──▶ rejected
"""

from __future__ import annotations

import enum
from typing import Final

from crypto.errors import StateError

__all__ = ["HELD", "TRANSITIONS", "BundleState", "Event", "transition"]


class BundleState(enum.StrEnum):
    #: Raw bytes stored; not verified yet (or a resend of a rejected bundle).
    RECEIVED = "received"
    #: Verified, ahead of a gap in its stream: waits for the missing bundles.
    PARKED = "parked"
    #: Verified and in stream order: waits to be staged.
    VERIFIED = "verified"
    #: Staged; an administrator must approve or reject it.
    STAGED = "staged"
    #: Approved (with any resolutions); waits to be merged.
    APPROVED = "approved"
    #: Merged into the canonical records. Final.
    MERGED = "merged"
    #: Refused at intake, at staging or by an administrator. Final, but a resend
    #: of the same bytes is verified again.
    REJECTED = "rejected"


class Event(enum.StrEnum):
    ACCEPT = "accept"
    PARK = "park"
    PROMOTE = "promote"
    REFUSE = "refuse"
    RESEND = "resend"
    AUTO_MERGE = "auto_merge"
    HOLD = "hold"
    FAIL = "fail"
    APPROVE = "approve"
    REJECT = "reject"
    MERGE = "merge"


S, E = BundleState, Event
TRANSITIONS: Final[dict[tuple[BundleState, Event], BundleState]] = {
    (S.RECEIVED, E.ACCEPT): S.VERIFIED,
    (S.RECEIVED, E.PARK): S.PARKED,
    (S.RECEIVED, E.REFUSE): S.REJECTED,
    (S.PARKED, E.PROMOTE): S.VERIFIED,
    (S.PARKED, E.REFUSE): S.REJECTED,
    (S.REJECTED, E.RESEND): S.RECEIVED,
    (S.VERIFIED, E.AUTO_MERGE): S.MERGED,
    (S.VERIFIED, E.HOLD): S.STAGED,
    (S.VERIFIED, E.FAIL): S.REJECTED,
    (S.STAGED, E.APPROVE): S.APPROVED,
    (S.STAGED, E.REJECT): S.REJECTED,
    (S.APPROVED, E.MERGE): S.MERGED,
    (S.APPROVED, E.FAIL): S.REJECTED,
}
del S, E

#: States in which a bundle holds its place in its stream (its seq is used).
HELD: Final = frozenset(
    {
        BundleState.PARKED,
        BundleState.VERIFIED,
        BundleState.STAGED,
        BundleState.APPROVED,
        BundleState.MERGED,
    }
)


def transition(state: str, event: Event) -> BundleState:
    """The state after ``event``.

    Raises:
        StateError: the event is not allowed in ``state``.
    """
    current = BundleState(state)
    after = TRANSITIONS.get((current, event))
    if after is None:
        raise StateError(f"bundle in state {current}: cannot {event}", state=current.value)
    return after
