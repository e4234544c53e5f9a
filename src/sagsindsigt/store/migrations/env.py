"""Alembic environment for the store on PostgreSQL.

Run programmatically by :func:`sagsindsigt.store.migrations.upgrade`, which hands over an
open SQLAlchemy connection in ``config.attributes["connection"]`` (inside its transaction,
holding the migration lock). Without one, a connection is made from the ``sqlalchemy.url``
option, so ``alembic`` can also be pointed at this folder by hand.

``target_metadata`` is the store's one schema declaration (``store/schema.py``): a new
revision is generated from it with ``make migration m="what changed"`` (autogenerate against
a scratch database at head), then checked by hand and frozen.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sagsindsigt.store.schema import metadata

config = context.config


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate compares the store's tables only (not Alembic's own version table)."""
    return not (type_ == "table" and name == "alembic_version")


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata(),
                      include_object=_ours, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      target_metadata=metadata())
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
