"""node state: the province's escrow statement

Revision ID: 0002_escrow
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_escrow"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("node_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escrow", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_state", schema=None) as batch_op:
        batch_op.drop_column("escrow")
