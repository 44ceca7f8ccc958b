"""Alembic environment of the digiskill service (online migrations only)."""

from __future__ import annotations

from alembic import context

from digiskill.service.db import Base, make_engine

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url"))
try:
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
