"""The database blob store: content-addressed blobs in chunks

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-10

MADOGUCHI_BLOB_STORE=database keeps documents, uploads and the kinds added later in these two tables,
so every node reads what any node wrote. On PostgreSQL the chunks are stored EXTERNAL: out of line but
not compressed, since PDFs and images are compressed already and pglz would only spend CPU on them.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('blobs',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'sha256', name=op.f('pk_blobs'))
    )
    op.create_table('blob_chunks',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['kind', 'sha256'], ['blobs.kind', 'blobs.sha256'], name=op.f('fk_blob_chunks_kind_blobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'sha256', 'seq', name=op.f('pk_blob_chunks'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL')


def downgrade():
    op.drop_table('blob_chunks')
    op.drop_table('blobs')
