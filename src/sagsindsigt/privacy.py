"""Personal data never lands in clear: keyed pseudonyms for citizen ids, CPR masking in text."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import polars as pl

# DDMMYY-XXXX, DDMMYYXXXX or DDMMYY XXXX, not inside a longer number.
_CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}(?![0-9])")
_CPR_RUST = r"(^|[^0-9])[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}([^0-9]|$)"
MASK = "XXXXXX-XXXX"
CPR_ANYWHERE = _CPR_RUST  # a CPR-shaped number anywhere in a text, for Polars' str.contains


class SecretError(RuntimeError):
    pass


def mask_cpr(text: str | None) -> str | None:
    """Replace every CPR-shaped number in a text by XXXXXX-XXXX."""
    if text is None:
        return None
    return _CPR.sub(MASK, text)


# The whole (stripped) value is CPR-shaped: for vectorised tests (Rust regex).
CPR_FULL = r"^\s*[0-3][0-9][01][0-9][0-9]{2}[- ]?[0-9]{4}\s*$"


def is_cpr_shaped(text: str) -> bool:
    return bool(_CPR.fullmatch(text.strip()))


def mask_cpr_expr(expr: pl.Expr) -> pl.Expr:
    """The same masking, vectorised (Rust regex has no look-around: keep the neighbours)."""
    # Applied twice so that two numbers separated by one character are both caught.
    once = expr.str.replace_all(_CPR_RUST, "${1}" + MASK + "${2}")
    return once.str.replace_all(_CPR_RUST, "${1}" + MASK + "${2}")


def normalise_id(value: str) -> str:
    """The id as the pseudonym sees it: without spaces and hyphens, so that DDMMYY-XXXX,
    DDMMYYXXXX and DDMMYY XXXX are the same citizen."""
    return re.sub(r"[\s-]", "", value)


class Pseudonymiser:
    """HMAC-SHA-256 with the instance secret: the same citizen always gets the same pseudonym
    in this instance, and nobody without the secret can get back to the id."""

    def __init__(self, key: bytes):
        self.key = key
        self.fingerprint = hmac.new(key, b"sagsindsigt-fingerprint",
                                    hashlib.sha256).hexdigest()[:16]
        # HMAC-SHA-256 (RFC 2104) with the key's two padded blocks hashed once: each id then
        # costs two copies of a hash state instead of a new HMAC context (about 2 × faster,
        # the same bytes as hmac.digest; a test compares them)
        block = hashlib.sha256(key).digest() if len(key) > 64 else key
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, value: str) -> str:
        return self._digest(normalise_id(value))

    def _digest(self, normalised: str) -> str:
        inner = self._inner.copy()
        inner.update(normalised.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return "p_" + outer.hexdigest()[:32]

    def series(self, s: pl.Series, memo: dict[str, str] | None = None) -> pl.Series:
        """The same pseudonyms for a whole column: normalised in one pass, and each distinct
        id hashed once (once per file read in parts, with one ``memo`` for the file)."""
        norm = s.str.replace_all(r"[\s-]", "")
        uniq = norm.drop_nulls().unique()
        digest = self._digest
        if memo is None:
            hashed = [digest(v) for v in uniq.to_list()]
        else:
            get, put = memo.get, memo.setdefault
            hashed = [get(v) or put(v, digest(v)) for v in uniq.to_list()]
        # the ids and their pseudonyms as two columns (not a dict: Polars makes a dict's keys
        # and values into columns one value at a time)
        return norm.replace_strict(uniq, pl.Series(hashed, dtype=pl.Utf8), default=None,
                                   return_dtype=pl.Utf8).alias(s.name)


def create_secret(path: Path) -> bool:
    """Create the secret file (0600) unless it exists. Returns True when created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return True


def load_secret(path: Path, given: str | None = None) -> Pseudonymiser:
    if given:
        return Pseudonymiser(given.encode())
    if not path.exists():
        raise SecretError(
            f"Nøglen til pseudonymisering ({path}) findes ikke: kør 'sagsindsigt init', "
            "eller sæt SAGSINDSIGT_SECRET_FILE til den rigtige fil."
        )
    return Pseudonymiser(path.read_text().strip().encode())
