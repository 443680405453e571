"""Alembic environment: migrations run on the connection aims passes in."""

from __future__ import annotations

from alembic import context

from aims.storage.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - aims always passes its connection
    raise RuntimeError("aims migrations run through aims.storage.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
