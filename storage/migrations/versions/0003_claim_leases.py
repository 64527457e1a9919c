"""when a timer or a scheduled start was claimed, so a dead replica's claims can be taken back

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.Float(precision=53), nullable=True))
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
