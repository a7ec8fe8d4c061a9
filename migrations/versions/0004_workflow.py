"""Approval workflow: route snapshot, rounds, approvals per office and step, internal history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('step_index', sa.Integer(), nullable=False),
        sa.Column('step_key', sa.String(length=40), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], name=op.f('fk_approvals_assignee_id_staff')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_approvals_decided_by_id_staff')),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_approvals_office_id_offices')),
        sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                                name=op.f('fk_approvals_submission_id_submissions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_office_id_state_created_at_id',
                              ['office_id', 'state', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_approvals_submission_id_round_step_index',
                              ['submission_id', 'round', 'step_index'], unique=False)

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('current_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('filed_by_staff_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_submissions_filed_by_staff_id_staff'), 'staff',
                                    ['filed_by_staff_id'], ['id'])
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.alter_column('round', server_default=None)

    with op.batch_alter_table('submission_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('internal', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('submission_history', schema=None) as batch_op:
        batch_op.alter_column('internal', server_default=None)


def downgrade():
    with op.batch_alter_table('submission_history', schema=None) as batch_op:
        batch_op.drop_column('internal')
        batch_op.drop_column('step_key')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submissions_filed_by_staff_id_staff'), type_='foreignkey')
        batch_op.drop_column('filed_by_staff_id')
        batch_op.drop_column('round')
        batch_op.drop_column('current_step')
        batch_op.drop_column('route')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_submission_id_round_step_index')
        batch_op.drop_index('ix_approvals_office_id_state_created_at_id')
    op.drop_table('approvals')
