"""The first schema: tokens, test sessions, answers, certificates, the append-only audit log, the demo issuer.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "test_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("person_ref", sa.String(200), nullable=False, index=True),
        sa.Column("areas", sa.Text, nullable=False),
        sa.Column("profile", sa.String(100), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.Text, nullable=True),
        sa.Column("n_steps", sa.Integer, nullable=False),
        sa.Column("current_item", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("purged_at", TS, nullable=True),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("test_sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("response", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("session_id", "step", name="uq_answers_session_step"),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("person_ref", sa.String(200), nullable=True, index=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("credential", sa.Text, nullable=True),
        sa.Column("pdf", sa.LargeBinary, nullable=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        sa.Column("revocation_reason", sa.Text, nullable=True),
    )
    op.create_index(
        "uq_certificates_active",
        "certificates",
        ["session_id"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "demo_issuer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    # the audit log is append-only: the database itself refuses to change or delete an entry
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    for table in ("demo_issuer", "audit_log", "certificates", "answers", "test_sessions", "api_tokens"):
        op.drop_table(table)
