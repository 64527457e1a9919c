"""finding.ticket: the GitHub issue URL or Jira issue key opened for a finding (`sce findings ticket`),
so a finding gets one ticket and `sce findings sync` knows which to poll

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("ticket", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.drop_column("ticket")
