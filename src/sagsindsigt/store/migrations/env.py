"""Alembic environment for the store on PostgreSQL.

Run programmatically by :func:`sagsindsigt.store.migrations.upgrade`, which hands over an
open SQLAlchemy connection in ``config.attributes["connection"]`` (inside its transaction,
holding the migration lock). Without one, a connection is made from the ``sqlalchemy.url``
option, so ``alembic`` can also be pointed at this folder by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run(connection) -> None:
    # the store's SQL is hand-written: no metadata, no autogenerate
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        run(given)
    else:
        engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                run(connection)
        finally:
            engine.dispose()
