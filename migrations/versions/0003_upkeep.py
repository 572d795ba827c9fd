"""steward upkeep plans and runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0003'
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('upkeep_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('category_slug', sa.String(length=40), nullable=False),
    sa.Column('every', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_upkeep_plans_compound_id_compounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upkeep_plans')),
    sa.UniqueConstraint('compound_id', 'kind', name=op.f('uq_upkeep_plans_compound_id_kind'))
    )
    with op.batch_alter_table('upkeep_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upkeep_plans_compound_id'), ['compound_id'], unique=False)

    op.create_table('upkeep_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_upkeep_runs_compound_id_compounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_upkeep_runs_request_id_requests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upkeep_runs')),
    sa.UniqueConstraint('compound_id', 'kind', 'period', name=op.f('uq_upkeep_runs_compound_id_kind_period'))
    )


def downgrade() -> None:
    op.drop_table('upkeep_runs')
    with op.batch_alter_table('upkeep_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upkeep_plans_compound_id'))

    op.drop_table('upkeep_plans')
