"""scheduled game days

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scenario_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("next_at", sa.Float(precision=53), nullable=False),
        sa.Column("every_seconds", sa.Float(precision=53), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_gameday_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_schedule_next_at"), ["next_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_schedule_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("schedule")
