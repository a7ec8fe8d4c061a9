"""What a document printed, images of its pages, and receipts without a verification code

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Verification shows what a sealed document says: the printed answers as text (documents.printed) and
images of its pages (document_revisions.page_images, SHA-256 of PNG blobs). A receipt carries no seal,
so it prints no verification code: the column becomes nullable. Existing rows keep what they have.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('printed', sa.JSON(), nullable=True))
        batch_op.alter_column('verification_code', existing_type=sa.String(length=16), nullable=True)
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('page_images', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.drop_column('page_images')
    # Receipts rendered without a code get one again (never printed): the column is required before 0009.
    connection = op.get_bind()
    from secrets import token_bytes

    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for (document_id,) in connection.execute(sa.text("SELECT id FROM documents WHERE verification_code IS NULL")):
        number = int.from_bytes(token_bytes(10), "big")
        code = "".join(alphabet[(number >> (5 * i)) & 31] for i in reversed(range(16)))
        connection.execute(sa.text("UPDATE documents SET verification_code = :code WHERE id = :id"),
                           {"code": code, "id": document_id})
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('verification_code', existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column('printed')
