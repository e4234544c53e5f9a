"""Reading the app's downloads back as tables: a CSV's rows without its ``Område`` column
(checked here), an XLSX sheet's header and rows below its title lines."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from sagsindsigt.present.exports import SCOPE_COLUMN


def csv_rows(content: bytes, scope: str | None = None) -> list[list[str]]:
    """Header and rows of a CSV download, the scope column checked and dropped."""
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == SCOPE_COLUMN
    if scope is not None:
        assert {r[0] for r in rows[1:]} <= {scope}, {r[0] for r in rows[1:]}
    return [r[1:] for r in rows]


def xlsx_rows(content: bytes, sheet: str | None = None) -> tuple[list[str], list[tuple]]:
    """(header, rows) of a sheet: the rows below the title lines and the blank row after
    them, the first of which is the header, up to the next blank row (remarks follow it)."""
    wb = load_workbook(io.BytesIO(content))
    ws = wb[sheet] if sheet else wb.active
    rows = list(ws.iter_rows(values_only=True))
    blank = next(i for i, r in enumerate(rows) if all(v is None for v in r))
    body = rows[blank + 2:]
    end = next((i for i, r in enumerate(body) if all(v is None for v in r)), len(body))
    return [str(c) for c in rows[blank + 1]], body[:end]


def xlsx_lines(content: bytes, sheet: str | None = None) -> list[str]:
    """The title lines above a sheet's table."""
    wb = load_workbook(io.BytesIO(content))
    ws = wb[sheet] if sheet else wb.active
    out = []
    for r in ws.iter_rows(values_only=True):
        if all(v is None for v in r):
            break
        out.append(r[0])
    return out
