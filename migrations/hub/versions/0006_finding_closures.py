"""crosscheck findings: when a closed finding's closure went down

Revision ID: 0006_finding_closures
Revises: 0005_reports
Create Date: 2026-11-30 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision: str = "0006_finding_closures"
down_revision: str | None = "0005_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crosscheck_findings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closure_sent_at", hub.store.types.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("crosscheck_findings", schema=None) as batch_op:
        batch_op.drop_column("closure_sent_at")
