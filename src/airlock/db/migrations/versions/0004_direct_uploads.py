"""Direct (browser-to-S3) uploads awaiting their completion.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "direct_uploads",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("storage_key", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("file_expires_in", sa.BigInteger, nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("file_id", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_direct_uploads"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_direct_uploads_owner_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_direct_uploads_expires_at", "direct_uploads", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_direct_uploads_expires_at", "direct_uploads")
    op.drop_table("direct_uploads")
