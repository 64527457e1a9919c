"""what `sce history` shows of each finished game day, so it need not rebuild every debrief

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gameday_summary",
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["gameday_id"], ["gameday.id"]),
        sa.PrimaryKeyConstraint("gameday_id"),
    )


def downgrade() -> None:
    op.drop_table("gameday_summary")
