"""`sce history` without reading game day rows or decoding JSON: an index that holds what it looks for
in a scenario's game days (each row carries its scenario's whole text), and the summaries in typed
columns. The summaries are a cache of what the timelines say: the table is made anew, and the first
`sce history` of each scenario computes them again, once.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _summaries(*columns: sa.Column[object]) -> None:
    op.create_table(
        "gameday_summary",
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["gameday_id"], ["gameday.id"]),
        sa.PrimaryKeyConstraint("gameday_id"),
    )


def upgrade() -> None:
    op.create_index("ix_gameday_history", "gameday", ["scenario_id", "status", "channel", "id"])
    op.drop_table("gameday_summary")
    _summaries(
        sa.Column("started_at", sa.Float(precision=53), nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("mtta", sa.Float(precision=53), nullable=True),
        sa.Column("ttd", sa.Float(precision=53), nullable=True),
        sa.Column("ttc", sa.Float(precision=53), nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ix_gameday_history", table_name="gameday")
    op.drop_table("gameday_summary")
    _summaries(sa.Column("data", sa.JSON(), nullable=False))
