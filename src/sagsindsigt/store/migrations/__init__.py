"""Schema migrations for the store on PostgreSQL (server mode), with Alembic run from code.

The revision files in ``versions/`` are the schema's history: each one is frozen once it has
run anywhere, and a schema change is a new revision. ``Store.init`` on PostgreSQL calls
:func:`upgrade`; an embedded DuckDB store keeps creating missing tables instead (see
``docs/server.md``).

Alembic works on a connection of its own (a SQLAlchemy engine that is disposed after), in one
transaction: PostgreSQL's DDL is transactional, so a failed upgrade leaves the store as it
was. An advisory lock lets only one process migrate at a time (several workers starting at
once), and a lock timeout turns a long wait for a table another session holds into a plain
error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..engines import StoreError, pg_params

FOLDER = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema the create-missing-tables init made before migrations
LOCK_KEY = 0x5A65_0001  # pg_advisory_xact_lock key for migrating (per database)
LOCK_TIMEOUT = "30s"


@dataclass(frozen=True)
class Upgraded:
    before: str | None  # the revision before; None for an empty database
    after: str
    stamped: bool  # a store made before migrations, adopted at the baseline


def sqlalchemy_url(url: str):
    """The store's ``postgresql://`` URL as a SQLAlchemy URL for psycopg 3, with the same
    defaults as the store's own connection (localhost:5432, database postgres)."""
    from sqlalchemy.engine import URL

    p = pg_params(url)
    return URL.create("postgresql+psycopg", username=p["user"], password=p["password"],
                      host=p["host"], port=p["port"], database=p["database"])


def config(connection=None):
    """An Alembic config for the revisions in this package (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def revision(engine) -> str | None:
    """The store's revision, read on its own connection (None: no alembic_version table)."""
    if "alembic_version" not in engine.table_names():
        return None
    rows = engine.query("SELECT version_num FROM alembic_version")
    return rows[0][0] if rows else None


def upgrade(url: str, target: str = "head") -> Upgraded:
    """Bring the PostgreSQL store at ``url`` to ``target``. A store made by the old init
    (``meta`` exists, no ``alembic_version``) is first stamped at the baseline, so it keeps
    its data."""
    from alembic import command
    from psycopg.errors import LockNotAvailable
    from sqlalchemy import create_engine, inspect, pool, text
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as con:
            # one migrating process at a time: the others wait here, then find nothing to do
            con.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            con.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            tables = set(inspect(con).get_table_names())
            cfg = config(con)
            before = _current(con) if "alembic_version" in tables else None
            stamped = before is None and "meta" in tables
            if stamped:
                command.stamp(cfg, BASELINE)
                before = BASELINE
            command.upgrade(cfg, target)
            after = _current(con)
    except DBAPIError as exc:
        if isinstance(exc.orig, LockNotAvailable):
            raise StoreError("Databasens skema kunne ikke opdateres, fordi en anden forbindelse "
                             "holder en tabel låst: prøv igen, når den er færdig.") from exc
        raise StoreError(f"Databasens skema kunne ikke opdateres: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return Upgraded(before, after, stamped)


def _current(con) -> str | None:
    from sqlalchemy import text

    return con.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
