"""Which storage holds a File's bytes: null for the service's own (``AIRLOCK_STORAGE``), else
the name of the Flask extension's upload set whose storage of its own holds them.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("store", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("store")
