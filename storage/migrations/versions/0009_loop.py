"""the learning loop: standing approvals for unattended runs, one weekly digest per channel, the
regression run that verified a finding, and the programme report's facts kept in each run summary

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standing_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=128), nullable=False),
        sa.Column("scenario_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.Float(precision=53), nullable=False),
        sa.Column("expires_at", sa.Float(precision=53), nullable=False),
        sa.Column("revoked_at", sa.Float(precision=53), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_standing_approval_scenario", "standing_approval", ["scenario_id", "scenario_hash"])
    op.create_table(
        "finding_digest",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("channel", "week"),
    )
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("verified_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("gameday_summary") as batch:
        batch.add_column(sa.Column("detected", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("dry_run", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gameday_summary") as batch:
        batch.drop_column("dry_run")
        batch.drop_column("detected")
    with op.batch_alter_table("finding") as batch:
        batch.drop_column("verified_by")
    op.drop_table("finding_digest")
    op.drop_index("ix_standing_approval_scenario", table_name="standing_approval")
    op.drop_table("standing_approval")
