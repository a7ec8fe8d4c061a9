"""Documents and their revisions; the seal PKI, imprints, CRLs and seal records

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crl_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=10), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('crl_der', sa.LargeBinary(), nullable=False),
    sa.Column('this_update', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_update', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crl_publications')),
    sa.UniqueConstraint('issuer', 'number', name='uq_crl_publications_issuer_number')
    )
    op.create_table('seal_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=400), nullable=False),
    sa.Column('cert_pem', sa.Text(), nullable=False),
    sa.Column('key_pem_enc', sa.LargeBinary(), nullable=True),
    sa.Column('key_label', sa.String(length=100), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_seal_certificates_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seal_certificates')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_seal_certificates_fingerprint'))
    )
    with op.batch_alter_table('seal_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_seal_certificates_kind_staff_id', ['kind', 'staff_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('verification_code', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('render_error', sa.Text(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_documents_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_documents_verification_code'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_submission_id_kind', ['submission_id', 'kind'], unique=False)

    op.create_table('imprints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('svg', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['seal_certificates.id'], name=op.f('fk_imprints_certificate_id_seal_certificates')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_imprints_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imprints'))
    )
    with op.batch_alter_table('imprints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imprints_staff_id'), ['staff_id'], unique=False)

    op.create_table('document_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_revisions_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_revisions')),
    sa.UniqueConstraint('document_id', 'seq', name='uq_document_revisions_document_id_seq')
    )
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_revisions_sha256'), ['sha256'], unique=False)

    op.create_table('seal_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.Column('field_name', sa.String(length=80), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signed_revision_sha256', sa.String(length=64), nullable=False),
    sa.Column('result_revision_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'], name=op.f('fk_seal_records_approval_id_approvals')),
    sa.ForeignKeyConstraint(['certificate_id'], ['seal_certificates.id'], name=op.f('fk_seal_records_certificate_id_seal_certificates')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_seal_records_document_id_documents')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_seal_records_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seal_records')),
    sa.UniqueConstraint('hash', name=op.f('uq_seal_records_hash')),
    sa.UniqueConstraint('submission_id', 'seq', name='uq_seal_records_submission_id_seq')
    )
    with op.batch_alter_table('seal_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seal_records_submission_id'), ['submission_id'], unique=False)



def downgrade():
    with op.batch_alter_table('seal_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seal_records_submission_id'))

    op.drop_table('seal_records')
    with op.batch_alter_table('document_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_revisions_sha256'))

    op.drop_table('document_revisions')
    with op.batch_alter_table('imprints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imprints_staff_id'))

    op.drop_table('imprints')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_submission_id_kind')

    op.drop_table('documents')
    with op.batch_alter_table('seal_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_seal_certificates_kind_staff_id')

    op.drop_table('seal_certificates')
    op.drop_table('crl_publications')
