"""cross-check answers: where each was signed, so a hub above can check the node's approver

Revision ID: 0007_answer_origins
Revises: 0006_finding_closures
Create Date: 2026-11-30 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_answer_origins"
down_revision: str | None = "0006_finding_closures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crosscheck_answer_origins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_answer_origins")),
        sa.UniqueConstraint("key", name=op.f("uq_crosscheck_answer_origins_key")),
    )
    with op.batch_alter_table("crosscheck_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_crosscheck_answers_origin_id_crosscheck_answer_origins"),
            "crosscheck_answer_origins",
            ["origin_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("crosscheck_answers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_crosscheck_answers_origin_id_crosscheck_answer_origins"),
            type_="foreignkey",
        )
        batch_op.drop_column("origin_id")
    op.drop_table("crosscheck_answer_origins")
