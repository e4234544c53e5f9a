"""``python -m sagsindsigt.store.migrations "what changed"`` (``make migration m=...``): write a
new revision generated from the schema declaration (``store/schema.py``).

A scratch PostgreSQL database (on ``SAGSINDSIGT_TEST_PG``, default the local server) is
brought to the current head, Alembic's autogenerate compares it with the declaration, the new
revision file is written to ``versions/``, and the scratch database is dropped. Read the file
before committing it: a rename shows as a drop and a create, and data steps are yours to add.
"""

from __future__ import annotations

import os
import sys
import uuid

import psycopg

from . import config, head, sqlalchemy_url, upgrade


def main(message: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, pool

    admin = os.environ.get("SAGSINDSIGT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"sagsindsigt_revision_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
        with engine.begin() as con:
            number = f"{int(head()) + 1:04d}"
            command.revision(config(con), message, autogenerate=True, rev_id=number)
        engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit('Brug: make migration m="hvad der er ændret"')
    main(sys.argv[1])
