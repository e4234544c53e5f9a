"""Instance settings: one typed object, read from the environment (SAGSINDSIGT_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAGSINDSIGT_")

    db: str = "sagsindsigt.duckdb"
    # The key for pseudonymising citizen ids. Given directly, or read from a file that
    # `sagsindsigt init` creates (default: beside a DuckDB file, else ./sagsindsigt.secret).
    secret: SecretStr | None = None
    secret_file: Path | None = None
    # Days closed besides public holidays, for working-day deadlines:
    # any of grundlovsdag, juleaften, nytaarsaften.
    closed_days: set[str] = set()

    def secret_path(self, db: str | None = None) -> Path:
        if self.secret_file:
            return self.secret_file
        db = db or self.db
        if "://" not in db and db != ":memory:":
            return Path(db).with_suffix(".secret")
        return Path("sagsindsigt.secret")
