"""PostgreSQL: the session state compressed with lz4 instead of pglz.

Every answer rewrites the session's state (the whole CAT session as JSON, about 25 KB at the end of a test), which
PostgreSQL compresses into TOAST; with its default method (pglz) that compression was about a quarter of the server's
CPU per answer. lz4 compresses the same JSON several times faster at a similar size (PostgreSQL's CPU per answer
0.73–0.80 ms with pglz against 0.56–0.60 ms with lz4, benchmarks/README.md). Rows written before keep their pglz
values until their next write; both read the same. A PostgreSQL built without lz4 keeps pglz (the statement is skipped
with a notice); SQLite stores the text uncompressed either way, so there is nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SET = """
DO $$
BEGIN
    ALTER TABLE test_sessions ALTER COLUMN state SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'compression method {method} is not supported by this PostgreSQL build; state keeps its method';
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="lz4"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="pglz"))
