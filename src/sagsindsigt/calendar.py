"""Reporting periods, statutory deadlines, working days and Danish public holidays.

Dependency-free within the project: only the standard library, ``holidays`` and ``dateutil``.

* :class:`Period` - a reporting period (year, half-year, quarter, month or a date range).
* :func:`annualisation_factor` - scale figures for part of a period up to the whole period.
* :func:`danish_holidays` / :func:`is_working_day` - the Danish public holidays.
* :class:`Deadline` - a statutory deadline such as ``20 arbejdsdage`` or ``3 måneder``.
* :func:`workday_table` - a date table that lets SQL compute working-day deadlines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from dateutil.easter import easter
from dateutil.relativedelta import relativedelta

__all__ = [
    "Deadline",
    "DeadlineError",
    "EXTRA_HOLIDAYS",
    "Period",
    "PeriodError",
    "annualisation_factor",
    "danish_holidays",
    "merge_spans",
    "is_working_day",
    "workday_table",
]

MONTHS_DA = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)

PERIOD_KINDS = ("year", "half", "quarter", "month", "range")


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


class PeriodError(ValueError):
    """A period text that cannot be understood (the message is Danish, for the user)."""


def _unknown_period(text: str) -> PeriodError:
    return PeriodError(
        f"Ukendt periode '{text}': brug fx 2014, 2014-H1, 2014-Q3, 2014-03 "
        "eller 2014-01-01..2014-06-30."
    )


def _month_end(year: int, month: int) -> date:
    return date(year, month, 1) + relativedelta(months=1) - timedelta(days=1)


def _dk(d: date) -> str:
    """A date the way Danish users write it: 1.1.2014."""
    return f"{d.day}.{d.month}.{d.year}"


_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_RE_QUARTER = re.compile(r"^(\d{4})-[QK]([1-4])$", re.IGNORECASE)
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RE_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RE_DMY_DATE = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")


def _parse_day(text: str, whole: str) -> date:
    """One end of a range: ISO (2014-06-30) or day-first (30-06-2014, 30.6.2014, 30/6/2014)."""
    text = text.strip()
    m = _RE_ISO_DATE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _RE_DMY_DATE.match(text)
        if not m:
            raise _unknown_period(whole)
        d, mo, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        raise PeriodError(f"Ugyldig dato '{text}' i perioden '{whole}'.") from None


@dataclass(frozen=True)
class Period:
    """A reporting period; ``start`` and ``end`` are both included.

    The ``label`` is the canonical text form (``2014``, ``2014-H1``, ``2014-Q3``, ``2014-03``,
    ``2014-01-01..2014-06-30``); the kind of period is read from it.
    """

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(
                f"Perioden '{self.label}' slutter ({_dk(self.end)}) før den begynder "
                f"({_dk(self.start)})."
            )

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), f"{year:04d}")

    @classmethod
    def half(cls, year: int, half: int) -> Period:
        first = 1 if half == 1 else 7
        return cls(date(year, first, 1), _month_end(year, first + 5), f"{year:04d}-H{half}")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = 3 * (quarter - 1) + 1
        return cls(date(year, first, 1), _month_end(year, first + 2), f"{year:04d}-Q{quarter}")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), _month_end(year, month), f"{year:04d}-{month:02d}")

    @classmethod
    def from_dates(cls, start: date, end: date) -> Period:
        """A free date range (kind ``range``)."""
        return cls(start, end, f"{start.isoformat()}..{end.isoformat()}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``2014``, ``2014-H1``, ``2014-Q3``, ``2014-03`` or ``2014-01-01..2014-06-30``.

        Ranges may also be written day-first (``01-01-2014..30-06-2014``); their label is
        always the ISO form. Raises :class:`PeriodError` with a Danish message otherwise.
        """
        if isinstance(text, Period):
            return text
        raw = str(text)
        s = raw.strip()
        if ".." in s:
            parts = s.split("..")
            if len(parts) != 2:
                raise _unknown_period(raw)
            start, end = _parse_day(parts[0], raw), _parse_day(parts[1], raw)
            if end < start:
                raise PeriodError(
                    f"Perioden '{raw}' slutter ({_dk(end)}) før den begynder ({_dk(start)})."
                )
            return cls.from_dates(start, end)
        if m := _RE_YEAR.match(s):
            return cls.year(int(m.group(1)))
        if m := _RE_HALF.match(s):
            return cls.half(int(m.group(1)), int(m.group(2)))
        if m := _RE_QUARTER.match(s):
            return cls.quarter(int(m.group(1)), int(m.group(2)))
        if m := _RE_MONTH.match(s):
            month = int(m.group(2))
            if 1 <= month <= 12:
                return cls.month(int(m.group(1)), month)
        raise _unknown_period(raw)

    # -- properties ---------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """One of ``year``, ``half``, ``quarter``, ``month``, ``range``."""
        if _RE_YEAR.match(self.label):
            return "year"
        if _RE_HALF.match(self.label):
            return "half"
        if _RE_QUARTER.match(self.label):
            return "quarter"
        if _RE_MONTH.match(self.label):
            return "month"
        return "range"

    @property
    def days(self) -> int:
        """Number of days, both ends included."""
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.contains(d)

    def __str__(self) -> str:
        return self.label

    def previous(self, n: int = 1) -> Period:
        """The same kind of period ``n`` steps earlier (a range moves back by its own length)."""
        kind = self.kind
        y = self.start.year
        if kind == "year":
            return Period.year(y - n)
        if kind == "half":
            yy, h = divmod(y * 2 + (self.start.month - 1) // 6 - n, 2)
            return Period.half(yy, h + 1)
        if kind == "quarter":
            yy, q = divmod(y * 4 + (self.start.month - 1) // 3 - n, 4)
            return Period.quarter(yy, q + 1)
        if kind == "month":
            yy, mo = divmod(y * 12 + self.start.month - 1 - n, 12)
            return Period.month(yy, mo + 1)
        shift = timedelta(days=self.days * n)
        return Period.from_dates(self.start - shift, self.end - shift)

    def danish(self) -> str:
        """Danish text: ``2014``, ``1. halvår 2014``, ``3. kvartal 2014``, ``marts 2014``,
        ``1.1.2014–30.6.2014``."""
        kind = self.kind
        y = self.start.year
        if kind == "year":
            return str(y)
        if kind == "half":
            return f"{(self.start.month - 1) // 6 + 1}. halvår {y}"
        if kind == "quarter":
            return f"{(self.start.month - 1) // 3 + 1}. kvartal {y}"
        if kind == "month":
            return f"{MONTHS_DA[self.start.month - 1]} {y}"
        return f"{_dk(self.start)}–{_dk(self.end)}"


# ---------------------------------------------------------------------------------------------
# Annualisation
# ---------------------------------------------------------------------------------------------


def _whole_months(start: date, end: date) -> int | None:
    """Number of calendar months in [start, end] if it is made of whole months, else None."""
    if start.day != 1 or end != _month_end(end.year, end.month):
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _describe(start: date, end: date) -> str:
    """Danish text for one stretch of coverage, using calendar units where they fit."""
    months = _whole_months(start, end)
    if months is None:
        return f"{_dk(start)}–{_dk(end)}"
    for candidate in (
        Period.year(start.year),
        Period.half(start.year, (start.month - 1) // 6 + 1),
        Period.quarter(start.year, (start.month - 1) // 3 + 1),
        Period.month(start.year, start.month),
    ):
        if candidate.start == start and candidate.end == end:
            return candidate.danish()
    first, last = MONTHS_DA[start.month - 1], MONTHS_DA[end.month - 1]
    if start.year == end.year:
        return f"{first}–{last} {end.year}"
    return f"{first} {start.year}–{last} {end.year}"


def _join_da(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " og " + items[-1]


def merge_spans(intervals: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Sort and merge overlapping or adjacent intervals."""
    merged: list[tuple[date, date]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1] + timedelta(days=1):
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def annualisation_factor(
    period: Period, covered: Sequence[Period] | Sequence[tuple[date, date]]
) -> tuple[float, str]:
    """Factor that scales figures for the covered part of ``period`` up to the whole period.

    Coverage is clipped to the period and overlaps are merged. When both the period and the
    coverage consist of whole calendar months the factor is the ratio of months (a half-year
    of a year: 2, a quarter: 4, k months of a year: 12/k); otherwise it is days in the period
    divided by days covered. Returns ``(factor, footnote)`` where the Danish footnote marks the
    figure as an estimate, e.g. ``beregnet som 2 × tal for 1. halvår 2014``; full coverage
    gives ``(1.0, "")``. Raises ValueError when the coverage does not overlap the period.
    """
    spans: list[tuple[date, date]] = []
    for item in covered:
        s, e = (item.start, item.end) if isinstance(item, Period) else item
        s, e = max(s, period.start), min(e, period.end)
        if s <= e:
            spans.append((s, e))
    merged = merge_spans(spans)
    if not merged:
        raise ValueError(f"Der er ingen data i perioden {period.danish()}.")
    covered_days = sum((e - s).days + 1 for s, e in merged)
    if covered_days == period.days:
        return 1.0, ""

    what = _join_da([_describe(s, e) for s, e in merged])
    period_months = _whole_months(period.start, period.end)
    span_months = [_whole_months(s, e) for s, e in merged]
    if period_months is not None and all(m is not None for m in span_months):
        covered_months = sum(m for m in span_months if m is not None)
        if period_months % covered_months == 0:
            ratio = str(period_months // covered_months)
        else:
            ratio = f"{period_months}/{covered_months}"
        return period_months / covered_months, f"beregnet som {ratio} × tal for {what}"

    return (
        period.days / covered_days,
        f"beregnet som {period.days}/{covered_days} × tal for {what} "
        f"({period.days} dage i perioden, data for {covered_days})",
    )


# ---------------------------------------------------------------------------------------------
# Holidays and working days
# ---------------------------------------------------------------------------------------------

#: Days that are not public holidays but that a municipality may give off, by config key.
EXTRA_HOLIDAYS: dict[str, tuple[int, int, str]] = {
    "grundlovsdag": (6, 5, "Grundlovsdag"),
    "juleaften": (12, 24, "Juleaftensdag"),
    "nytaarsaften": (12, 31, "Nytårsaftensdag"),
}
_EXTRA_ALIASES = {
    "juleaftensdag": "juleaften",
    "nytaarsaftensdag": "nytaarsaften",
}
# Days the holidays package may list (as optional days) that are not public holidays:
# Grundlovsdag, juleaftensdag, nytårsaftensdag and 1 May (Arbejdernes kampdag). Matched by name,
# not by date: Pinsedag (2022) and Anden pinsedag (2017) fall on 5 June, Store Bededag (2015)
# on 1 May. English names cover package versions without Danish translations.
_NOT_PUBLIC_NAMES = (
    "grundlov",
    "juleaften",
    "nytårsaften",
    "arbejdernes",
    "constitution",
    "christmas eve",
    "new year's eve",
    "workers",
    "labo",
)
_BEDEDAG_NAMES = ("bededag", "prayer")

ExtraArg = Iterable[str] | str | None


def _normalise_extra(extra: ExtraArg) -> frozenset[str]:
    if not extra:
        return frozenset()
    items = [extra] if isinstance(extra, str) else list(extra)
    keys = set()
    for item in items:
        key = str(item).strip().lower().replace("å", "aa")
        key = _EXTRA_ALIASES.get(key, key)
        if key not in EXTRA_HOLIDAYS:
            raise ValueError(
                f"Ukendt ekstra fridag '{item}': brug grundlovsdag, juleaften eller nytaarsaften."
            )
        keys.add(key)
    return frozenset(keys)


def _store_bededag(year: int) -> date:
    """The fourth Friday after Easter (Easter Sunday + 26 days)."""
    return easter(year) + timedelta(days=26)


def _package_holidays(year: int) -> dict[date, str]:
    try:
        found = holidays.Denmark(years=year, language="da", categories=("public",))
    except (TypeError, NotImplementedError, ValueError):  # older package versions
        found = holidays.Denmark(years=year)
    return {d: str(name) for d, name in found.items() if d.year == year}


def _add(days: dict[date, str], d: date, name: str) -> None:
    names = days[d].split("; ") if d in days else []
    if name not in names:
        names.append(name)
    days[d] = "; ".join(names)


@lru_cache(maxsize=512)
def _year_holidays(year: int, extra: frozenset[str]) -> dict[date, str]:
    bededag = _store_bededag(year)
    days: dict[date, str] = {}
    for d, joined in _package_holidays(year).items():
        for name in joined.split("; "):
            low = name.lower()
            if any(word in low for word in _NOT_PUBLIC_NAMES):
                continue
            if d == bededag and any(word in low for word in _BEDEDAG_NAMES):
                continue  # decided below, independent of the package version
            _add(days, d, name)
    # Store Bededag was abolished as a public holiday from 2024 (lov nr. 139 of 28.2.2023).
    if year <= 2023:
        _add(days, bededag, "Store bededag")
    for key in extra:
        month, day, name = EXTRA_HOLIDAYS[key]
        _add(days, date(year, month, day), name)
    return days


def danish_holidays(years: int | Iterable[int], extra: ExtraArg = frozenset()) -> dict[date, str]:
    """Danish public holidays (date -> Danish name) for one or more years.

    Grundlovsdag, juleaftensdag and nytårsaftensdag are not public holidays; they are included
    only when named in ``extra`` (``grundlovsdag``, ``juleaften``, ``nytaarsaften``). Store
    Bededag is a holiday up to and including 2023 and not from 2024.
    """
    keys = _normalise_extra(extra)
    year_list = [years] if isinstance(years, int) else list(years)
    result: dict[date, str] = {}
    for year in year_list:
        result.update(_year_holidays(int(year), keys))
    return dict(sorted(result.items()))


def is_working_day(d: date, extra: ExtraArg = frozenset()) -> bool:
    """Monday to Friday and not a public holiday (or a configured extra day off)."""
    if d.weekday() >= 5:
        return False
    return d not in _year_holidays(d.year, _normalise_extra(extra))


def workday_table(
    start: date, end: date, extra: ExtraArg = frozenset()
) -> list[tuple[date, bool, int]]:
    """One row per date in [start, end]: ``(date, is_working_day, workday_no)``.

    ``workday_no`` counts the working days from ``start`` up to and including the date, so the
    k-th working day has number k and a non-working day carries the number of the working day
    before it. A deadline of n working days from ``received`` is then the working day whose
    number is ``workday_no(received) + n``.
    """
    if end < start:
        raise ValueError(f"Slutdatoen {_dk(end)} ligger før startdatoen {_dk(start)}.")
    keys = _normalise_extra(extra)
    rows: list[tuple[date, bool, int]] = []
    count = 0
    d = start
    while d <= end:
        working = is_working_day(d, keys)
        if working:
            count += 1
        rows.append((d, working, count))
        d += timedelta(days=1)
    return rows


# ---------------------------------------------------------------------------------------------
# Deadlines
# ---------------------------------------------------------------------------------------------


class DeadlineError(ValueError):
    """A deadline text that cannot be understood (the message is Danish, for the user)."""


DEADLINE_UNITS = ("dage", "arbejdsdage", "uger", "maaneder")

_UNIT_WORDS = {
    "dag": "dage",
    "dage": "dage",
    "kalenderdag": "dage",
    "kalenderdage": "dage",
    "arbejdsdag": "arbejdsdage",
    "arbejdsdage": "arbejdsdage",
    "hverdag": "arbejdsdage",
    "hverdage": "arbejdsdage",
    "uge": "uger",
    "uger": "uger",
    "maaned": "maaneder",
    "maaneder": "maaneder",
}

_UNIT_DANISH = {
    "dage": ("dag", "dage"),
    "arbejdsdage": ("arbejdsdag", "arbejdsdage"),
    "uger": ("uge", "uger"),
    "maaneder": ("måned", "måneder"),
}

_RE_DEADLINE = re.compile(r"^\s*(\d+)\s*([^\s\d]+)\s*$")


def _unknown_deadline(text: str) -> DeadlineError:
    return DeadlineError(
        f"Ukendt frist '{text}': skriv fx '10 dage', '20 arbejdsdage', '8 uger' eller '3 måneder'."
    )


@dataclass(frozen=True)
class Deadline:
    """A deadline of ``n`` units; ``unit`` is one of ``dage``, ``arbejdsdage``, ``uger``,
    ``maaneder``."""

    n: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in DEADLINE_UNITS:
            raise _unknown_deadline(f"{self.n} {self.unit}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise DeadlineError(f"Fristen '{self.n} {self.unit}' skal være mindst 1.")

    @classmethod
    def parse(cls, text: str) -> Deadline:
        """Read ``10 dage``, ``20 arbejdsdage``, ``15 hverdage``, ``8 uger``, ``3 måneder``..."""
        m = _RE_DEADLINE.match(str(text))
        if not m:
            raise _unknown_deadline(str(text))
        word = m.group(2).lower().replace("å", "aa")
        unit = _UNIT_WORDS.get(word)
        if unit is None:
            raise _unknown_deadline(str(text))
        n = int(m.group(1))
        if n < 1:
            raise DeadlineError(f"Fristen '{str(text).strip()}' skal være mindst 1.")
        return cls(n, unit)

    def __str__(self) -> str:
        singular, plural = _UNIT_DANISH[self.unit]
        return f"{self.n} {singular if self.n == 1 else plural}"

    def due(self, received: date, extra: ExtraArg = frozenset(),
            roll_forward: bool = True) -> date:
        """The due date for something received on ``received``.

        ``dage``/``uger``: n calendar days / 7n days later; ``maaneder``: the same day n months
        later, clamped to the end of a shorter month (31.1 + 1 måned = 28.2 or 29.2);
        ``arbejdsdage``: the n-th working day after ``received``. With ``roll_forward`` (the
        default; setting ``deadline_roll_forward``) a deadline in days, weeks or months that
        ends on a Saturday, Sunday or public holiday (or a configured closed day) moves to the
        next working day, as retsplejelovens § 148, stk. 2 provides for court deadlines and
        administrative practice applies to deadlines generally (so does EU regulation
        1182/71, art. 3(4)).
        """
        keys = _normalise_extra(extra)
        if self.unit in ("dage", "uger", "maaneder"):
            if self.unit == "maaneder":
                d = received + relativedelta(months=self.n)
            else:
                d = received + timedelta(days=self.n * (7 if self.unit == "uger" else 1))
            while roll_forward and not is_working_day(d, keys):
                d += timedelta(days=1)
            return d
        d, left = received, self.n
        while left:
            d += timedelta(days=1)
            if is_working_day(d, keys):
                left -= 1
        return d
