"""red whistle summons, schedule marks, deadline indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Statuses whose deadline clocks run (bot.services.cases.transitions.MOVABLE).
RUNNING = "'submitted', 'accepted', 'in_progress', 'returned', 'transferred', 'reopened', 'escalated'"
DEADLINES = (("accept_by", "accepted_at"), ("contact_by", "contacted_at"), ("resolve_by", "resolved_at"))


def upgrade() -> None:
    # Partial indexes for the deadline and reminder sweeps: open, unmet deadlines only.
    with op.batch_alter_table('requests', schema=None) as batch_op:
        for due, met in DEADLINES:
            where = sa.text(f"{met} IS NULL AND status IN ({RUNNING})")
            batch_op.create_index(
                f'ix_requests_open_{due}', [due], unique=False,
                postgresql_where=where, sqlite_where=where,
            )

    op.create_table('schedule_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_marks')),
    sa.UniqueConstraint('job', 'subject_id', 'period', name=op.f('uq_schedule_marks_job_subject_id_period'))
    )
    op.create_table('whistles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('blown_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blown_by_id'], ['persons.id'], name=op.f('fk_whistles_blown_by_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_whistles_request_id_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_whistles_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whistles'))
    )
    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whistles_request_id'), ['request_id'], unique=False)

    op.create_table('whistle_summons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('whistle_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ack_by', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('on_site_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['persons.id'], name=op.f('fk_whistle_summons_acknowledged_by_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['org_units.id'], name=op.f('fk_whistle_summons_department_id_org_units')),
    sa.ForeignKeyConstraint(['whistle_id'], ['whistles.id'], name=op.f('fk_whistle_summons_whistle_id_whistles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whistle_summons')),
    sa.UniqueConstraint('whistle_id', 'department_id', name=op.f('uq_whistle_summons_whistle_id_department_id'))
    )
    with op.batch_alter_table('whistle_summons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whistle_summons_ack_by'), ['ack_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistle_summons_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistle_summons_whistle_id'), ['whistle_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('whistle_summons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whistle_summons_whistle_id'))
        batch_op.drop_index(batch_op.f('ix_whistle_summons_department_id'))
        batch_op.drop_index(batch_op.f('ix_whistle_summons_ack_by'))

    op.drop_table('whistle_summons')
    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whistles_request_id'))

    op.drop_table('whistles')
    op.drop_table('schedule_marks')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        for due, _ in DEADLINES:
            batch_op.drop_index(f'ix_requests_open_{due}')
