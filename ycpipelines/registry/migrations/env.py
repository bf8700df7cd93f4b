"""Alembic environment: migrates the registry on the connection `schema.upgrade` hands over."""

from alembic import context

from ycpipelines.registry.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
