"""Who receives a case and with what consent; how to reach an office

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

destinations.external marks a receiver outside the city government (法務局, a private care office):
a document goes there only with the resident's consent, asked on the check page and recorded with
the submission (submissions.destination_consents, {code: true|false}). offices.contact holds what
offices.yaml says about reaching an office (phone, opening hours, the counter's address), for the
contact page and the "how to receive" parts of a form's pages.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.alter_column('external', server_default=None)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('destination_consents', sa.JSON(), nullable=True))
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_column('contact')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('destination_consents')
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.drop_column('external')
