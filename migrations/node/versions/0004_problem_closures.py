"""problems: when and why the hub closed a cross-check finding

Revision ID: 0004_problem_closures
Revises: 0003_problem_answers
Create Date: 2026-11-30 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import node.store.models

revision: str = "0004_problem_closures"
down_revision: str | None = "0003_problem_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("closed_at", node.store.models.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("resolution")
