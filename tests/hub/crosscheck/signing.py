"""Answers as a node's approver signs them, for tests that hand answers to the hub
directly (the hub's callers verify the signature; these tests are about what follows)."""

from __future__ import annotations

from collections.abc import Sequence

from protocol.entries import AnswerOrigin, ProblemAnswer, entry_bytes
from protocol.trust import answer_digest, authorise
from tests.pki import NOW, seeded_key

APPROVER = "370102001/li.na"


def origins_at(node: str, answers: Sequence[ProblemAnswer], batch: int = 1) -> list[AnswerOrigin]:
    """The origin of ``answers`` given together in one batch at ``node``."""
    encoded = [entry_bytes(answer) for answer in answers]
    auth = authorise(
        key=seeded_key("approver" + APPROVER),
        by=APPROVER,
        batch_id=f"{batch:032x}",
        origin=node,
        op_ids=[],
        signed_at=NOW,
        answers=encoded,
    )
    return [AnswerOrigin(auth=auth, digests=tuple(map(answer_digest, encoded)))]
