"""No CPR number reaches a log, whoever logs it."""

from __future__ import annotations

import io
import logging
import sys

from sagsindsigt import logs
from sagsindsigt.ingest import import_file


def test_masking_filter_on_any_logger():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.CprMaskingFilter())
    other = logging.getLogger("some.library")
    other.addHandler(handler)
    try:
        other.warning("borger %s og %s", "010180-1234", 1102803456)
        try:
            raise ValueError("ugyldig værdi 0101801234")
        except ValueError:
            other.exception("fejl for 020280-2345")
    finally:
        other.removeHandler(handler)
    text = stream.getvalue()
    assert "1234" not in text and "3456" not in text and "2345" not in text
    assert text.count("XXXXXX-XXXX") == 5  # the traceback quotes the source line too


def test_import_logs_are_masked(store, tmp_path):
    stream = io.StringIO()
    handler = logs.configure(logging.DEBUG, stream)
    try:
        (tmp_path / "k.csv").write_text(
            "complaint_id;administration;received;kind\n"
            "K1;BIF;2014-01-02;realitet\n"
            "K2 0101801234;BIF;2014-13-02;realitet\n", encoding="utf-8")
        import_file(store, "complaints", tmp_path / "k.csv")
    finally:
        handler.setLevel(logging.WARNING)
        handler.setStream(sys.stderr)
    text = stream.getvalue()
    assert "Batch 1 (complaints" in text and "Afvist: k.csv række 3" in text
    assert "0101801234" not in text


def test_configure_again_after_the_old_stream_was_closed():
    """A CLI call in-process binds the handler to that moment's stderr; once that stream is
    closed (a finished test's capture), configuring a new stream still works."""
    old = io.StringIO()
    logs.configure(logging.WARNING, old)
    old.close()
    stream = io.StringIO()
    logs.configure(logging.DEBUG, stream)
    logs.get("test").warning("cpr 010203-1234")
    assert "010203-1234" not in stream.getvalue() and "cpr" in stream.getvalue()
