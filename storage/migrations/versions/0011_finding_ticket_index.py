"""an index on finding.ticket: a tracker's webhook looks its finding up by the ticket's URL or key, which
without it reads the whole table on every delivery

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_finding_ticket", "finding", ["ticket"])


def downgrade() -> None:
    op.drop_index("ix_finding_ticket", table_name="finding")
