"""Instance settings: one typed object, read from the environment (SAGSINDSIGT_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAGSINDSIGT_")

    db: str = "sagsindsigt.duckdb"
    # a lake the figures are read from by Spark, beside the store (spark:PATH; docs/scale.md)
    lake: str | None = None
    # The key for pseudonymising citizen ids. Given directly, or read from a file that
    # `sagsindsigt init` creates (default: beside a DuckDB file, else ./sagsindsigt.secret).
    secret: SecretStr | None = None
    secret_file: Path | None = None
    # Days closed besides public holidays, for working-day deadlines:
    # any of grundlovsdag, juleaften, nytaarsaften.
    closed_days: set[str] = set()
    # a deadline in days, weeks or months that ends on a non-working day moves to the next
    # working day (calendar.Deadline.due; retsplejelovens § 148, stk. 2 by analogy)
    deadline_roll_forward: bool = True
    # Web sign-in: the key that signs session cookies (default: derived from the secret above,
    # so all workers agree), and whether cookies require HTTPS (turn off only on loopback).
    session_secret: SecretStr | None = None
    # True: the session cookie is always Secure. False (loopback): Secure only for requests
    # that came over HTTPS, which behind a TLS proxy uvicorn learns from X-Forwarded-Proto of
    # a trusted proxy (trusted_proxies, uvicorn's forwarded_allow_ips).
    secure_cookies: bool = True
    trusted_proxies: str = "127.0.0.1"
    # the largest request body outside file uploads (forms, JSON), in kB
    max_request_kb: int = 1024
    # PostgreSQL: connections per worker that compute figures at once (a pool; DuckDB: one)
    pool_size: int = 4
    session_hours: int = 8
    # OpenID Connect (SSO), e.g. Entra ID: see docs/access.md
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_group_claim: str = "groups"
    # group id → "role:scope", e.g. {"3f2a...": "leder:BIF"}
    oidc_groups: dict[str, str] = {}
    # Limits on one imported file (CLI, web API, audit answers; docs/data.md "Limits"): its
    # size, an Excel file's size unpacked and its packing ratio (a zip bomb), rows, the
    # characters of one value, and the rejected rows kept for one file.
    import_max_file_mb: int = 2048
    import_max_unzipped_mb: int = 2048
    import_max_zip_ratio: int = 100
    import_max_rows: int = 50_000_000
    import_max_field_chars: int = 32_767  # Excel's own limit for one cell
    import_max_rejected_rows: int = 100_000
    # an import reads, checks and stages its file in parts of at most this many rows
    import_chunk_rows: int = 50_000
    # the memory DuckDB may use during an import; the rest spills to its temporary directory
    import_memory_mb: int = 96
    # The weekly digest by e-mail (`sagsindsigt digest send`, docs/server.md "E-mail"): the
    # SMTP server, STARTTLS before signing in, the account (the password only from the
    # environment or a secrets file), the sender, the dashboard's public address for the links,
    # and user name → e-mail address for leaders whose user name is not an address.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str | None = None
    smtp_timeout: int = 30
    base_url: str = "http://127.0.0.1:8000"
    digest_addresses: dict[str, str] = {}
    # The citizens' processing times (/borger/sagsbehandlingstider) and their open data
    # (docs/server.md "Citizens' page and open data"): case types held back (CODE or
    # ADMINISTRATION:CODE), administrations that publish figures per unit too, the open data's
    # licence (a URL) and update frequency (the EU vocabulary: DAILY, WEEKLY, MONTHLY,
    # QUARTERLY, ANNUAL), and the sites that may show the page in a frame (CSP
    # frame-ancestors; "*" any).
    citizen_withheld: set[str] = set()
    citizen_unit_figures: set[str] = set()
    open_data_licence: str = "https://creativecommons.org/licenses/by/4.0/"
    open_data_frequency: str = "MONTHLY"
    embed_origins: str = "*"

    def secret_path(self, db: str | None = None) -> Path:
        if self.secret_file:
            return self.secret_file
        db = db or self.db
        if "://" not in db and db != ":memory:":
            return Path(db).with_suffix(".secret")
        return Path("sagsindsigt.secret")
