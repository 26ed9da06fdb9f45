"""Each user's bytes in use kept as a counter, so a quota check reads one row instead of
summing every File of the user.

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
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("used_bytes", sa.BigInteger, nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE users SET used_bytes = "
        "(SELECT COALESCE(SUM(files.size), 0) FROM files WHERE files.owner_id = users.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("used_bytes")
