"""Security (ASVS L2 review): the security event log, shared rate-limit counters, verification lookup
counters, staff role grants and the My Number designation, staff-set passwords, an append-only ledger
enforced by the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

- ``security_events``: what was tried and refused (written on its own connection, app/security_log.py).
- ``rate_limit_counters``: Flask-Limiter's counters shared by every process (app/rate_limits.py).
- ``verification_lookups``: anonymous lookups counted per code and day (app/api/lookups.py).
- ``staff``: ``pending_roles`` and ``roles_requested_by_id`` (a second administrator confirms approver
  and admin), ``mynumber_handler`` (個人番号事務取扱担当者), ``password_set_at`` (None until the member used
  their enrolment link; existing accounts set theirs when they were created).
- ``destinations``: ``pending_change`` and ``change_requested_by_id`` (a second administrator confirms a
  change of where documents go).
- ``audit_events``: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ledger rows.
  Maintenance that must delete (the tests empty their tables) bypasses them as only an owner of the
  database can: on PostgreSQL ``SET LOCAL session_replication_role = replica`` (superuser), on SQLite a
  connection that registers ``madoguchi_audit_maintenance()`` returning 1 (the app's return 0).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_append_only_{verb.lower()} BEFORE {verb} ON audit_events
    WHEN (SELECT madoguchi_audit_maintenance()) IS NOT 1
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: rows are never updated or deleted'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: rows are never updated or deleted (%)', TG_OP;
END $$"""
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
]


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)

    op.create_table('security_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('actor_type', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index('ix_security_events_event_created_at', ['event', 'created_at'], unique=False)

    op.create_table('verification_lookups',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('how', sa.String(length=12), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'code', 'how', name=op.f('pk_verification_lookups'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_roles', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('roles_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mynumber_handler', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('password_set_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_staff_roles_requested_by_id_staff'), 'staff',
                                    ['roles_requested_by_id'], ['id'])
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_change', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('change_requested_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_destinations_change_requested_by_id_staff'), 'staff',
                                    ['change_requested_by_id'], ['id'])
    # Accounts made before enrolment links had a password from the start.
    op.execute("UPDATE staff SET password_set_at = created_at")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('mynumber_handler', server_default=None)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_append_only_delete")
        op.execute("DROP TRIGGER audit_events_append_only_update")
    with op.batch_alter_table('destinations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_destinations_change_requested_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('change_requested_by_id')
        batch_op.drop_column('pending_change')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_roles_requested_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('password_set_at')
        batch_op.drop_column('mynumber_handler')
        batch_op.drop_column('roles_requested_by_id')
        batch_op.drop_column('pending_roles')

    op.drop_table('verification_lookups')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('ix_security_events_event_created_at')

    op.drop_table('security_events')
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_expires_at'))

    op.drop_table('rate_limit_counters')
