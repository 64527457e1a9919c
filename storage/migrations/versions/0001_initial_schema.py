"""initial schema

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_gameday_id"), ["gameday_id"], unique=False)

    op.create_table(
        "gameday",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scenario_id", sa.String(length=128), nullable=False),
        sa.Column("scenario_text", sa.Text(), nullable=False),
        sa.Column("scenario_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gameday", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gameday_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_gameday_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gameday_scenario_id"), ["scenario_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gameday_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_gameday_thread_ts"), ["thread_ts"], unique=False)

    op.create_table(
        "page_message",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("channel", "message_ts"),
    )
    with op.batch_alter_table("page_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_message_gameday_id"), ["gameday_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(precision=53), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gameday_id"],
            ["gameday.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gameday_id", "seq", name="uq_event_gameday_seq"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_gameday_id"), ["gameday_id"], unique=False)

    op.create_table(
        "timer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gameday_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.Float(precision=53), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gameday_id"],
            ["gameday.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timer_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_timer_gameday_id"), ["gameday_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_timer_state"), ["state"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timer_state"))
        batch_op.drop_index(batch_op.f("ix_timer_gameday_id"))
        batch_op.drop_index(batch_op.f("ix_timer_due_at"))

    op.drop_table("timer")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_gameday_id"))

    op.drop_table("event")
    with op.batch_alter_table("page_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_message_gameday_id"))

    op.drop_table("page_message")
    with op.batch_alter_table("gameday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gameday_thread_ts"))
        batch_op.drop_index(batch_op.f("ix_gameday_status"))
        batch_op.drop_index(batch_op.f("ix_gameday_scenario_id"))
        batch_op.drop_index(batch_op.f("ix_gameday_created_at"))
        batch_op.drop_index(batch_op.f("ix_gameday_channel"))

    op.drop_table("gameday")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_gameday_id"))

    op.drop_table("delivery")
