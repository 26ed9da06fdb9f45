"""Resumable (tus) uploads in flight.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("length", sa.BigInteger, nullable=True),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.String(4096), nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("concat", sa.String(16), nullable=False),
        sa.Column("parts", sa.String(4096), nullable=False),
        sa.Column("head_checked", sa.Boolean, nullable=False),
        sa.Column("lock_token", sa.String(64), nullable=True),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("file_id", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_uploads_owner_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_uploads_expires_at", "uploads", ["expires_at"])


def downgrade() -> None:
    op.drop_table("uploads")
