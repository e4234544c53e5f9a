"""Logging that never writes a CPR number: every handler the product installs masks
CPR-shaped numbers in the formatted message, whichever module logged it."""

from __future__ import annotations

import logging
import sys

LOGGER = "sagsindsigt"


class CprMaskingFilter(logging.Filter):
    """Masks CPR-shaped numbers in the message and its arguments before any handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .privacy import mask_cpr

        record.msg = mask_cpr(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_cpr(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class _Handler(logging.StreamHandler):
    """The product's own handler (so a second ``configure`` finds it)."""


def configure(level: int = logging.INFO, stream=None) -> logging.Handler:
    """One handler on the root logger with the masking filter (idempotent)."""
    root = logging.getLogger()
    logging.getLogger(LOGGER).setLevel(level)
    for h in root.handlers:
        if isinstance(h, _Handler):
            h.setLevel(level)
            if stream is not None:
                try:
                    h.setStream(stream)
                except ValueError:  # the old stream is closed (a finished CLI call's stderr)
                    h.stream = stream
            return h
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CprMaskingFilter())
    handler.setLevel(level)
    root.addHandler(handler)
    return handler


def get(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}")
