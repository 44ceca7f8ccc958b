"""Revocation a verifier can check: each certificate's index on the service's status list.

``certificates.status_index``: the credential's index on the W3C Bitstring Status List the service publishes at
``GET /v1/status/revocation``; unique (two credentials never share a bit), and NULL for the certificates issued before
this migration (their credentials carry no ``credentialStatus``: only ``POST /v1/verify`` knows their revocation). An
index on ``revoked_at`` keeps the list's fingerprint (count and latest time of the revocations) a short index scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("status_index", sa.Integer, nullable=True))
    op.create_index("uq_certificates_status_index", "certificates", ["status_index"], unique=True)
    op.create_index("ix_certificates_revoked_at", "certificates", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_certificates_revoked_at", "certificates")
    op.drop_index("uq_certificates_status_index", "certificates")
    op.drop_column("certificates", "status_index")
