"""Links to several Files: who owns a link (copied from its File for the links there are), and
which Files a link of several holds, in order. ``links.file_id`` is null for those.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer, nullable=True))
        batch.alter_column("file_id", existing_type=sa.String(32), nullable=True)
    op.execute(
        "UPDATE links SET owner_id = "
        "(SELECT files.owner_id FROM files WHERE files.id = links.file_id)"
    )
    op.create_table(
        "link_files",
        sa.Column("link_id", sa.String(32), sa.ForeignKey("links.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("file_id", sa.String(32), sa.ForeignKey("files.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("link_id", "file_id", name="pk_link_files"),
    )
    op.create_index("ix_link_files_file_id", "link_files", ["file_id"])
    op.create_index("ix_links_owner_id", "links", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_links_owner_id", "links")
    op.drop_index("ix_link_files_file_id", "link_files")
    op.drop_table("link_files")
    op.execute("DELETE FROM links WHERE file_id IS NULL")
    with op.batch_alter_table("links") as batch:
        batch.alter_column("file_id", existing_type=sa.String(32), nullable=False)
        batch.drop_column("owner_id")
