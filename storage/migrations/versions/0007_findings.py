"""findings: what each finished game day leaves to fix, numbered (F-<id>, 64 bits), one row per game
day and key

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scenario_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("technique", sa.String(length=16), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("due", sa.Float(precision=53), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("fixing_at", sa.Float(precision=53), nullable=True),
        sa.Column("fixed_at", sa.Float(precision=53), nullable=True),
        sa.Column("verified_at", sa.Float(precision=53), nullable=True),
        sa.Column("accepted_until", sa.Float(precision=53), nullable=True),
        sa.Column("accepted_reason", sa.Text(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gameday_id"], ["gameday.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gameday_id", "key", name="uq_finding_gameday_key"),
        sqlite_autoincrement=True,
    )
    for column in ("gameday_id", "scenario_id", "channel", "state", "owner"):
        op.create_index(f"ix_finding_{column}", "finding", [column])


def downgrade() -> None:
    op.drop_table("finding")
