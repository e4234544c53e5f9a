"""Publication mode end to end on DuckDB and PostgreSQL: complaints loaded through the real
importer, the Citizens' Advisor report's table of complaints per administration and kind, and
the cells hidden as worked out by hand below."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from sagsindsigt.ingest import import_file
from sagsindsigt.reports import build_report, render
from sagsindsigt.reports.suppression import revealed

# complaints received in 2014 per administration and kind (hand-made counts)
COUNTS = {"BIF": {"formalitet": 12, "realitet": 20, "begge": 3},
          "SOF": {"formalitet": 8, "realitet": 15, "begge": 6},
          "TMF": {"formalitet": 9, "realitet": 7, "begge": 10}}
NAMES = {"BIF": "Beskæftigelses- og Integrationsforvaltningen", "SOF": "Socialforvaltningen",
         "TMF": "Teknik- og Miljøforvaltningen"}
KINDS = {"formalitet": "Formalitetsklage", "realitet": "Realitetsklage", "begge": "Begge"}


def load(store, tmp_path):
    lines = ["complaint_id,administration,received,kind"]
    n = 0
    for admin, kinds in COUNTS.items():
        for kind, count in kinds.items():
            for i in range(count):
                n += 1
                lines.append(f"k{n},{admin},{date(2014, 1 + i % 12, 1 + i)},{kind}")
    path = tmp_path / "klager.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = import_file(store, "complaints", path, covers="2014", today=date(2015, 1, 15))
    assert r.rows_rejected == 0, r.rejects


def grid(table) -> dict:
    keys = {c.key: c.label for c in table.columns}
    return {row["label"]: {keys[k]: v for k, v in row.items() if k in keys and k != "label"}
            for row in table.rows}


def test_secondary_suppression_on_real_data(store, tmp_path):
    load(store, tmp_path)
    internal = build_report(store, "borgerraadgiver", "2014", internal=True)
    published = build_report(store, "borgerraadgiver", "2014")
    exact = grid(next(t for t in internal.tables() if t.id == "klagetype"))
    shown = grid(next(t for t in published.tables() if t.id == "klagetype"))
    for admin, kinds in COUNTS.items():  # the registry's exact counts in the internal report
        for kind, count in kinds.items():
            assert exact[NAMES[admin]][KINDS[kind]].value == count
        assert exact[NAMES[admin]]["I alt"].value == sum(kinds.values())
    assert exact["I alt"]["Begge"].value == 19
    # BIF's 3 "begge" is primary. Its row total 35 would give it back (35 − 12 − 20), so the
    # smallest other cell of the row, BIF formalitet 12, is hidden; then the formalitet column
    # (total 29) needs a second cell: SOF's 8 (smaller than TMF's 9); then SOF's row needs
    # one: its "begge" 6, whose column already has a hidden cell. Nothing else.
    hidden = {(r, c): v.shown for r, row in shown.items() for c, v in row.items() if v.hidden}
    assert hidden == {(NAMES["BIF"], "Begge"): "<5", (NAMES["BIF"], "Formalitetsklage"): "x",
                      (NAMES["SOF"], "Formalitetsklage"): "x", (NAMES["SOF"], "Begge"): "x"}
    assert all(revealed(t) == [] for t in published.tables())
    # the totals stay shown, and the workbook has the marks as text, the rest as numbers
    ws = load_workbook(_xlsx(published, tmp_path))["klagetype"]
    values = [c.value for row in ws.iter_rows(min_row=5) for c in row]
    assert values.count("<5") == 1 and values.count("x") == 3 and 35 in values and 19 in values
    assert 3 not in values and 12 not in values


def test_a_higher_threshold_hides_more(store, tmp_path):
    load(store, tmp_path)
    rep = build_report(store, "borgerraadgiver", "2014", threshold=10)
    shown = grid(next(t for t in rep.tables() if t.id == "klagetype"))
    small = {(r, c) for r, row in shown.items() for c, v in row.items() if v.hidden == "<10"}
    assert small == {(NAMES["BIF"], "Begge"), (NAMES["SOF"], "Formalitetsklage"),
                     (NAMES["SOF"], "Begge"), (NAMES["TMF"], "Formalitetsklage"),
                     (NAMES["TMF"], "Realitetsklage")}
    assert all(revealed(t) == [] for t in rep.tables())


def _xlsx(report, tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(render(report, "xlsx"))
    return path
