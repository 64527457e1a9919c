"""signed requests already taken, so a replay within the 5-minute window has no second effect

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_request",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("seen_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_request_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("seen_request")
