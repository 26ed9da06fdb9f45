"""Drop links: addresses where anyone may upload Files into their owner's space, within an
expiry and limits on files and bytes; and which drop link a File (or an upload in flight)
came through.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drops",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_files", sa.Integer, nullable=True),
        sa.Column("max_bytes", sa.BigInteger, nullable=True),
        sa.Column("files", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_drops"),
        sa.UniqueConstraint("token_hash", name="uq_drops_token_hash"),
    )
    op.create_index("ix_drops_owner_id", "drops", ["owner_id"])
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("drop_id", sa.String(32), nullable=True))
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("drop_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("drop_id")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("drop_id")
    op.drop_index("ix_drops_owner_id", "drops")
    op.drop_table("drops")
