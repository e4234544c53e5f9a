"""DuckDB statements get their parameters as literals (a bound parameter makes DuckDB's Python
client import pandas): the same rows as binding, quotes doubled, a ``?`` inside a quoted text
left alone, and binding kept for what has no literal here."""

from __future__ import annotations

import math
from datetime import date, datetime

import duckdb

from sagsindsigt.store.engines import literal_sql


def test_literals_read_as_the_bound_values():
    con = duckdb.connect()
    values = ["it's", "a?b", "", None, True, False, 0, -7, 2.5, date(2014, 3, 31),
              datetime(2014, 3, 31, 14, 30, 5, 123456), "æøå \\ \" '' ;--"]
    sql = "SELECT " + ", ".join("?" for _ in values)
    inlined = literal_sql(sql, values)
    assert inlined is not None and "?" not in inlined.replace("'a?b'", "")
    assert con.execute(inlined).fetchall() == con.execute(sql, values).fetchall()


def test_a_question_mark_in_quotes_is_not_a_placeholder():
    sql = "SELECT '?' AS \"q?\", ? AS v"
    assert literal_sql(sql, ["x"]) == "SELECT '?' AS \"q?\", 'x' AS v"
    assert duckdb.connect().execute(literal_sql(sql, ["x"])).fetchall() == [("?", "x")]


def test_what_has_no_literal_is_bound():
    assert literal_sql("SELECT ?", []) is None
    assert literal_sql("SELECT ?", ["a\x00b"]) is None
    assert literal_sql("SELECT ?", [math.nan]) is None
    assert literal_sql("SELECT ?", [b"bytes"]) is None
    assert literal_sql("SELECT ?, ?", ["one"]) is None  # too few values: the driver says so
