"""Share links their owners manage: the address is kept so that it can be copied again, a
link may never expire, and may need a password (kept hashed like account passwords).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.drop_column("password_hash")
        batch.drop_column("token")
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
