"""problems: a cross-check answer's reason code and the batch it went up in

Revision ID: 0003_problem_answers
Revises: 0002_escrow
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_problem_answers"
down_revision: str | None = "0002_escrow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("answer_batch", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_column("answer_batch")
        batch_op.drop_column("answer_reason")
