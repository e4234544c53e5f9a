"""Numbers and dates as Danish users read them: 154.440, 2,6 %, 31.3.2014."""

from __future__ import annotations

from datetime import date


def number(value: float | int | None, decimals: int = 0) -> str:
    if value is None:
        return "-"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def value(v: float | int | None, unit: str) -> str:
    """A KPI value in its unit: percentages with one decimal, days with one, counts whole."""
    if v is None:
        return "-"
    if unit == "%":
        return f"{number(v, 1)} %"
    if unit == "dage":
        return f"{number(v, 1)} dage"
    return number(v, 0)


def change(delta: float | int | None, unit: str) -> str:
    """A difference between two values of a KPI, with its sign, and in procentpoint where the
    values are percentages: "−2,1 procentpoint", "+1,5 dage", "+120"."""
    if delta is None:
        return "-"
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    if unit == "%":
        return f"{sign}{number(abs(delta), 1)} procentpoint"
    return f"{sign}{value(abs(delta), unit)}"


def day(d: date | None) -> str:
    return "-" if d is None else f"{d.day}.{d.month}.{d.year}"


MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
          "oktober", "november", "december")


def long_date(d: date | None) -> str:
    """A date in running text, as in committee papers: 2. december 2014."""
    return "-" if d is None else f"{d.day}. {MONTHS[d.month - 1]} {d.year}"
