"""Deliveries carry what they print: receipt number, form, verification code, the sending office

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

The outbox and its channels no longer load the case they deliver: the facts a delivery prints and
sends are written into its row when the case is approved. Existing rows are filled from their case.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = (
    ("receipt_number", sa.String(length=20)),
    ("form_slug", sa.String(length=80)),
    ("form_title", sa.String(length=200)),
    ("verification_code", sa.String(length=16)),
    ("office_id", sa.Integer()),
    ("office_name", sa.String(length=200)),
)

BACKFILL = {
    "receipt_number": "SELECT s.receipt_number FROM submissions s WHERE s.id = deliveries.submission_id",
    "form_slug": "SELECT f.slug FROM submissions s JOIN form_versions f ON f.id = s.form_version_id "
                 "WHERE s.id = deliveries.submission_id",
    "form_title": "SELECT f.title_ja FROM submissions s JOIN form_versions f ON f.id = s.form_version_id "
                  "WHERE s.id = deliveries.submission_id",
    "verification_code": "SELECT d.verification_code FROM documents d WHERE d.id = deliveries.document_id",
    "office_id": "SELECT f.office_id FROM submissions s JOIN form_versions f ON f.id = s.form_version_id "
                 "WHERE s.id = deliveries.submission_id",
    "office_name": "SELECT o.name_ja FROM submissions s JOIN form_versions f ON f.id = s.form_version_id "
                   "JOIN offices o ON o.id = f.office_id WHERE s.id = deliveries.submission_id",
}


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    for name, query in BACKFILL.items():
        op.execute(f"UPDATE deliveries SET {name} = ({query})")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_deliveries_office_id_offices'), 'offices', ['office_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_deliveries_office_id'), ['office_id'], unique=False)


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_office_id'))
        batch_op.drop_constraint(batch_op.f('fk_deliveries_office_id_offices'), type_='foreignkey')
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
