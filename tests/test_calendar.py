"""Periods, annualisation, Danish holidays, working days and deadlines."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sagsindsigt.calendar import (
    Deadline,
    DeadlineError,
    Period,
    PeriodError,
    annualisation_factor,
    danish_holidays,
    is_working_day,
    workday_table,
)

# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "label", "kind"),
    [
        ("2014", date(2014, 1, 1), date(2014, 12, 31), "2014", "year"),
        ("2014-H1", date(2014, 1, 1), date(2014, 6, 30), "2014-H1", "half"),
        ("2014-h2", date(2014, 7, 1), date(2014, 12, 31), "2014-H2", "half"),
        ("2014-Q1", date(2014, 1, 1), date(2014, 3, 31), "2014-Q1", "quarter"),
        ("2014-Q3", date(2014, 7, 1), date(2014, 9, 30), "2014-Q3", "quarter"),
        ("2014-q4", date(2014, 10, 1), date(2014, 12, 31), "2014-Q4", "quarter"),
        ("2014-03", date(2014, 3, 1), date(2014, 3, 31), "2014-03", "month"),
        ("2016-02", date(2016, 2, 1), date(2016, 2, 29), "2016-02", "month"),
        ("2014-3", date(2014, 3, 1), date(2014, 3, 31), "2014-03", "month"),
        (
            "2014-01-01..2014-06-30",
            date(2014, 1, 1),
            date(2014, 6, 30),
            "2014-01-01..2014-06-30",
            "range",
        ),
        (
            "01-01-2014..30-06-2014",
            date(2014, 1, 1),
            date(2014, 6, 30),
            "2014-01-01..2014-06-30",
            "range",
        ),
        (
            " 1.1.2014 .. 30.6.2014 ",
            date(2014, 1, 1),
            date(2014, 6, 30),
            "2014-01-01..2014-06-30",
            "range",
        ),
        (
            "2014-05-05..2014-05-05",
            date(2014, 5, 5),
            date(2014, 5, 5),
            "2014-05-05..2014-05-05",
            "range",
        ),
    ],
)
def test_parse_period(text, start, end, label, kind):
    p = Period.parse(text)
    assert (p.start, p.end, p.label, p.kind) == (start, end, label, kind)
    assert str(p) == label
    assert Period.parse(p.label) == p


@pytest.mark.parametrize(
    "text",
    ["2014-Q5", "2014-H3", "2014-13", "2014-00", "14", "", "foo", "2014-01-01..", "2014..2015"],
)
def test_parse_period_errors(text):
    with pytest.raises(PeriodError) as err:
        Period.parse(text)
    assert isinstance(err.value, ValueError)
    assert f"Ukendt periode '{text}'" in str(err.value)
    assert "brug fx 2014, 2014-H1, 2014-Q3, 2014-03 eller 2014-01-01..2014-06-30" in str(err.value)


def test_parse_range_errors():
    with pytest.raises(PeriodError, match="slutter"):
        Period.parse("2014-06-30..2014-01-01")
    with pytest.raises(PeriodError, match="Ugyldig dato"):
        Period.parse("2014-02-30..2014-03-31")


def test_days_and_contains():
    assert Period.parse("2014").days == 365
    assert Period.parse("2016").days == 366
    assert Period.parse("2014-H1").days == 181
    assert Period.parse("2014-Q3").days == 92
    assert Period.parse("2014-02").days == 28
    assert Period.parse("2014-01-01..2014-02-10").days == 41
    q = Period.parse("2014-Q3")
    assert q.contains(date(2014, 7, 1)) and q.contains(date(2014, 9, 30))
    assert not q.contains(date(2014, 6, 30)) and not q.contains(date(2014, 10, 1))
    assert date(2014, 8, 15) in q


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("2014", 1, "2013"),
        ("2014", 3, "2011"),
        ("2014-H1", 1, "2013-H2"),
        ("2014-H2", 1, "2014-H1"),
        ("2014-H1", 3, "2012-H2"),
        ("2014-Q1", 1, "2013-Q4"),
        ("2014-Q3", 1, "2014-Q2"),
        ("2014-Q1", 5, "2012-Q4"),
        ("2014-03", 1, "2014-02"),
        ("2014-01", 1, "2013-12"),
        ("2014-01", 13, "2012-12"),
        ("2014-01-01..2014-01-10", 1, "2013-12-22..2013-12-31"),
        ("2014-01-01..2014-06-30", 1, "2013-07-04..2013-12-31"),
        ("2014-01-01..2014-01-10", 2, "2013-12-12..2013-12-21"),
    ],
)
def test_previous(text, n, expected):
    prev = Period.parse(text).previous(n)
    assert prev.label == expected
    assert prev == Period.parse(expected)


def test_previous_default_is_one_step():
    assert Period.parse("2014-Q1").previous() == Period.parse("2013-Q4")


@pytest.mark.parametrize(
    ("text", "danish"),
    [
        ("2014", "2014"),
        ("2014-H1", "1. halvår 2014"),
        ("2014-H2", "2. halvår 2014"),
        ("2014-Q1", "1. kvartal 2014"),
        ("2014-Q3", "3. kvartal 2014"),
        ("2014-03", "marts 2014"),
        ("2014-05", "maj 2014"),
        ("2014-12", "december 2014"),
        ("2014-01-01..2014-06-30", "1.1.2014–30.6.2014"),
    ],
)
def test_danish(text, danish):
    assert Period.parse(text).danish() == danish


# --------------------------------------------------------------------------------------------
# Annualisation
# --------------------------------------------------------------------------------------------

YEAR = Period.parse("2014")


@pytest.mark.parametrize(
    ("period", "covered", "factor", "note"),
    [
        ("2014", ["2014-H1"], 2.0, "beregnet som 2 × tal for 1. halvår 2014"),
        ("2014", ["2014-H2"], 2.0, "beregnet som 2 × tal for 2. halvår 2014"),
        ("2014", ["2014-Q3"], 4.0, "beregnet som 4 × tal for 3. kvartal 2014"),
        ("2014", ["2014-03"], 12.0, "beregnet som 12 × tal for marts 2014"),
        (
            "2014",
            ["2014-01-01..2014-09-30"],
            12 / 9,
            "beregnet som 12/9 × tal for januar–september 2014",
        ),
        ("2014-H2", ["2014-Q3"], 2.0, "beregnet som 2 × tal for 3. kvartal 2014"),
        ("2014-H1", ["2014-02"], 6.0, "beregnet som 6 × tal for februar 2014"),
        ("2014-Q1", ["2014-01"], 3.0, "beregnet som 3 × tal for januar 2014"),
        # adjacent pieces merge into one calendar unit
        ("2014", ["2014-Q1", "2014-Q2"], 2.0, "beregnet som 2 × tal for 1. halvår 2014"),
        # overlaps are counted once
        ("2014", ["2014-H1", "2014-Q2", "2014-05"], 2.0, "beregnet som 2 × tal for 1. halvår 2014"),
        (
            "2014",
            ["2014-Q1", "2014-Q3"],
            2.0,
            "beregnet som 2 × tal for 1. kvartal 2014 og 3. kvartal 2014",
        ),
        # coverage reaching outside the period is clipped to it
        ("2014", ["2013-07-01..2014-06-30"], 2.0, "beregnet som 2 × tal for 1. halvår 2014"),
        (
            "2014",
            ["2014-01-01..2014-02-10"],
            365 / 41,
            "beregnet som 365/41 × tal for 1.1.2014–10.2.2014 (365 dage i perioden, data for 41)",
        ),
        (
            "2016",
            ["2016-01-01..2016-06-30", "2016-03-01..2016-07-15"],
            366 / 197,
            "beregnet som 366/197 × tal for 1.1.2016–15.7.2016 (366 dage i perioden, data for 197)",
        ),
        ("2014", ["2014"], 1.0, ""),
        ("2014", ["2014-H1", "2014-H2"], 1.0, ""),
        ("2014", ["2013-01-01..2015-12-31"], 1.0, ""),
    ],
)
def test_annualisation_factor(period, covered, factor, note):
    f, text = annualisation_factor(Period.parse(period), [Period.parse(c) for c in covered])
    assert f == pytest.approx(factor)
    assert text == note


def test_annualisation_accepts_date_tuples():
    f, text = annualisation_factor(YEAR, [(date(2014, 1, 1), date(2014, 9, 30))])
    assert f == pytest.approx(12 / 9)
    assert text == "beregnet som 12/9 × tal for januar–september 2014"


def test_annualisation_partial_days_in_month_period():
    # a month period covered by 10 days: no whole units, so days
    f, text = annualisation_factor(Period.parse("2014-03"), [(date(2014, 3, 1), date(2014, 3, 10))])
    assert f == pytest.approx(31 / 10)
    assert text.startswith("beregnet som 31/10 × tal for 1.3.2014–10.3.2014")


def test_annualisation_without_overlap():
    with pytest.raises(ValueError, match="ingen data"):
        annualisation_factor(YEAR, [Period.parse("2013-H2")])
    with pytest.raises(ValueError):
        annualisation_factor(YEAR, [])


# --------------------------------------------------------------------------------------------
# Holidays
# --------------------------------------------------------------------------------------------


def test_holidays_2014():
    h = danish_holidays(2014)
    assert h == {
        date(2014, 1, 1): "Nytårsdag",
        date(2014, 4, 17): "Skærtorsdag",
        date(2014, 4, 18): "Langfredag",
        date(2014, 4, 20): "Påskedag",
        date(2014, 4, 21): "Anden påskedag",
        date(2014, 5, 16): "Store bededag",
        date(2014, 5, 29): "Kristi himmelfartsdag",
        date(2014, 6, 8): "Pinsedag",
        date(2014, 6, 9): "Anden pinsedag",
        date(2014, 12, 25): "Juledag",
        date(2014, 12, 26): "Anden juledag",
    }


def test_store_bededag_abolished_from_2024():
    h = danish_holidays([2023, 2024])
    assert h[date(2023, 5, 5)] == "Store bededag"
    assert date(2024, 4, 26) not in h
    assert not any("bededag" in name.lower() for d, name in h.items() if d.year == 2024)
    assert not is_working_day(date(2023, 5, 5))
    assert is_working_day(date(2024, 4, 26))
    assert len([d for d in h if d.year == 2023]) == 11
    assert len([d for d in h if d.year == 2024]) == 10


def test_non_public_days_excluded_by_default():
    h = danish_holidays(range(2000, 2041))
    names = {name for joined in h.values() for name in joined.split("; ")}
    assert names == {
        "Nytårsdag",
        "Skærtorsdag",
        "Langfredag",
        "Påskedag",
        "Anden påskedag",
        "Store bededag",
        "Kristi himmelfartsdag",
        "Pinsedag",
        "Anden pinsedag",
        "Juledag",
        "Anden juledag",
    }
    for year in range(2000, 2041):
        for month, day in ((12, 24), (12, 31)):
            assert date(year, month, day) not in h
    assert date(2014, 6, 5) not in h
    assert date(2014, 5, 1) not in h
    assert is_working_day(date(2014, 6, 5))  # Thursday
    assert is_working_day(date(2014, 12, 24))  # Wednesday
    assert is_working_day(date(2014, 12, 31))  # Wednesday


def test_movable_holidays_on_fixed_non_public_dates():
    # Pinse and Store Bededag can fall on 5 June / 1 May: they stay holidays
    assert danish_holidays(2022)[date(2022, 6, 5)] == "Pinsedag"
    assert danish_holidays(2017)[date(2017, 6, 5)] == "Anden pinsedag"
    assert danish_holidays(2015)[date(2015, 5, 1)] == "Store bededag"
    assert not is_working_day(date(2017, 6, 5))
    assert not is_working_day(date(2015, 5, 1))
    both = danish_holidays(2017, extra={"grundlovsdag"})[date(2017, 6, 5)]
    assert both == "Anden pinsedag; Grundlovsdag"


def test_store_bededag_every_year():
    h = danish_holidays(range(2000, 2041))
    bededage = sorted(d for d, name in h.items() if "Store bededag" in name)
    assert [d.year for d in bededage] == list(range(2000, 2024))
    assert all(d.weekday() == 4 for d in bededage)
    assert date(2012, 5, 4) in bededage and date(2016, 4, 22) in bededage


def test_extra_days_off():
    h = danish_holidays(2014, extra={"grundlovsdag", "juleaften", "nytaarsaften"})
    assert h[date(2014, 6, 5)] == "Grundlovsdag"
    assert h[date(2014, 12, 24)] == "Juleaftensdag"
    assert h[date(2014, 12, 31)] == "Nytårsaftensdag"
    assert not is_working_day(date(2014, 6, 5), extra={"grundlovsdag"})
    assert is_working_day(date(2014, 12, 24), extra={"grundlovsdag"})
    # spelling variants
    assert date(2014, 12, 31) in danish_holidays(2014, extra={"Nytårsaften"})
    with pytest.raises(ValueError, match="Ukendt ekstra fridag"):
        danish_holidays(2014, extra={"mortensaften"})


def test_weekends_are_not_working_days():
    assert is_working_day(date(2014, 3, 7))  # Friday
    assert not is_working_day(date(2014, 3, 8))  # Saturday
    assert not is_working_day(date(2014, 3, 9))  # Sunday
    assert is_working_day(date(2014, 3, 10))  # Monday


# --------------------------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n", "unit", "danish"),
    [
        ("10 dage", 10, "dage", "10 dage"),
        ("1 dag", 1, "dage", "1 dag"),
        ("20 arbejdsdage", 20, "arbejdsdage", "20 arbejdsdage"),
        ("1 arbejdsdag", 1, "arbejdsdage", "1 arbejdsdag"),
        ("15 hverdage", 15, "arbejdsdage", "15 arbejdsdage"),
        ("1 hverdag", 1, "arbejdsdage", "1 arbejdsdag"),
        ("8 uger", 8, "uger", "8 uger"),
        ("1 uge", 1, "uger", "1 uge"),
        ("3 måneder", 3, "maaneder", "3 måneder"),
        ("1 måned", 1, "maaneder", "1 måned"),
        ("3 maaneder", 3, "maaneder", "3 måneder"),
        ("1 maaned", 1, "maaneder", "1 måned"),
        ("3 MÅNEDER", 3, "maaneder", "3 måneder"),
        ("  20   Arbejdsdage ", 20, "arbejdsdage", "20 arbejdsdage"),
        ("10dage", 10, "dage", "10 dage"),
    ],
)
def test_parse_deadline(text, n, unit, danish):
    d = Deadline.parse(text)
    assert (d.n, d.unit) == (n, unit)
    assert str(d) == danish
    assert Deadline.parse(str(d)) == d


@pytest.mark.parametrize(
    "text", ["3 år", "ti dage", "", "dage", "10", "0 dage", "-1 dage", "1,5 uge"]
)
def test_parse_deadline_errors(text):
    with pytest.raises(DeadlineError) as err:
        Deadline.parse(text)
    assert isinstance(err.value, ValueError)


def test_deadline_error_message():
    with pytest.raises(DeadlineError) as err:
        Deadline.parse("3 år")
    assert str(err.value) == (
        "Ukendt frist '3 år': skriv fx '10 dage', '20 arbejdsdage', '8 uger' eller '3 måneder'."
    )


def test_deadline_constructor_validates():
    with pytest.raises(DeadlineError):
        Deadline(3, "år")
    with pytest.raises(DeadlineError):
        Deadline(0, "dage")


@pytest.mark.parametrize(
    ("received", "deadline", "due"),
    [
        (date(2014, 1, 31), "10 dage", date(2014, 2, 10)),
        (date(2014, 12, 25), "10 dage", date(2015, 1, 4)),  # calendar days ignore holidays
        (date(2014, 1, 1), "8 uger", date(2014, 2, 26)),
        (date(2014, 1, 1), "1 uge", date(2014, 1, 8)),
        # month ends
        (date(2014, 1, 31), "1 måned", date(2014, 2, 28)),
        (date(2015, 1, 31), "1 måned", date(2015, 2, 28)),
        (date(2016, 1, 31), "1 måned", date(2016, 2, 29)),
        (date(2012, 1, 31), "1 måned", date(2012, 2, 29)),
        (date(2014, 1, 31), "3 måneder", date(2014, 4, 30)),
        (date(2014, 11, 30), "3 måneder", date(2015, 2, 28)),
        (date(2015, 11, 30), "3 måneder", date(2016, 2, 29)),
        (date(2014, 3, 15), "3 måneder", date(2014, 6, 15)),
        (date(2014, 8, 31), "6 måneder", date(2015, 2, 28)),
        (date(2014, 10, 31), "2 måneder", date(2014, 12, 31)),
        # weekends
        (date(2014, 3, 7), "1 arbejdsdag", date(2014, 3, 10)),  # Friday -> Monday
        (date(2014, 3, 8), "1 arbejdsdag", date(2014, 3, 10)),  # Saturday -> Monday
        (date(2014, 3, 9), "1 arbejdsdag", date(2014, 3, 10)),  # Sunday -> Monday
        (date(2014, 3, 10), "1 arbejdsdag", date(2014, 3, 11)),
        (date(2014, 3, 3), "5 arbejdsdage", date(2014, 3, 10)),
        (date(2014, 3, 3), "10 arbejdsdage", date(2014, 3, 17)),
        # Easter 2014: Skærtorsdag 17.4, Langfredag 18.4, 2. påskedag 21.4
        (date(2014, 4, 16), "1 arbejdsdag", date(2014, 4, 22)),
        (date(2014, 4, 17), "1 arbejdsdag", date(2014, 4, 22)),
        (date(2014, 4, 11), "5 arbejdsdage", date(2014, 4, 23)),
        (date(2014, 4, 15), "1 arbejdsdag", date(2014, 4, 16)),
        (date(2014, 4, 1), "20 arbejdsdage", date(2014, 5, 2)),
        # Easter 2016: Skærtorsdag 24.3, Langfredag 25.3, 2. påskedag 28.3
        (date(2016, 3, 23), "1 arbejdsdag", date(2016, 3, 29)),
        (date(2016, 3, 22), "2 arbejdsdage", date(2016, 3, 29)),
        (date(2016, 3, 18), "5 arbejdsdage", date(2016, 3, 30)),
        # Store Bededag: holiday 5.5.2023, working day 26.4.2024
        (date(2023, 5, 4), "1 arbejdsdag", date(2023, 5, 8)),
        (date(2024, 4, 25), "1 arbejdsdag", date(2024, 4, 26)),
        # Kristi himmelfartsdag 29.5.2014 (Thursday)
        (date(2014, 5, 28), "1 arbejdsdag", date(2014, 5, 30)),
        (date(2014, 5, 28), "2 arbejdsdage", date(2014, 6, 2)),
        # Pinse 2014: 8.6 (Sunday) and 2. pinsedag 9.6
        (date(2014, 6, 6), "1 arbejdsdag", date(2014, 6, 10)),
        # Grundlovsdag 5.6.2014 (Thursday) is a working day by default
        (date(2014, 6, 4), "1 arbejdsdag", date(2014, 6, 5)),
        # Christmas / New Year 2014: 25.12 and 26.12 and 1.1.2015 are holidays
        (date(2014, 12, 23), "1 arbejdsdag", date(2014, 12, 24)),
        (date(2014, 12, 23), "3 arbejdsdage", date(2014, 12, 30)),
        (date(2014, 12, 30), "1 arbejdsdag", date(2014, 12, 31)),
        (date(2014, 12, 30), "2 arbejdsdage", date(2015, 1, 2)),
        (date(2014, 12, 24), "15 hverdage", date(2015, 1, 19)),
    ],
)
def test_due(received, deadline, due):
    # the calendar arithmetic alone; moving a day off to the next working day is tested below
    assert Deadline.parse(deadline).due(received, roll_forward=False) == due


@pytest.mark.parametrize(
    ("received", "deadline", "extra", "due"),
    [
        (date(2014, 6, 4), "1 arbejdsdag", {"grundlovsdag"}, date(2014, 6, 6)),
        (date(2014, 12, 23), "1 arbejdsdag", {"juleaften"}, date(2014, 12, 29)),
        (date(2014, 12, 30), "1 arbejdsdag", {"nytaarsaften"}, date(2015, 1, 2)),
        (
            date(2014, 12, 23),
            "3 arbejdsdage",
            {"juleaften", "nytaarsaften"},
            date(2015, 1, 2),
        ),
        # a calendar-day deadline ending on a configured day off moves on, as retsplejelovens
        # § 148, stk. 2 also names grundlovsdag, juleaftensdag and nytårsaftensdag
        (date(2014, 6, 4), "1 dag", {"grundlovsdag"}, date(2014, 6, 6)),
        (date(2014, 6, 4), "1 dag", set(), date(2014, 6, 5)),
    ],
)
def test_due_with_extra_days_off(received, deadline, extra, due):
    assert Deadline.parse(deadline).due(received, extra=extra) == due


# --------------------------------------------------------------------------------------------
# Working-day table
# --------------------------------------------------------------------------------------------


def test_workday_table_shape():
    rows = workday_table(date(2014, 4, 14), date(2014, 4, 23))
    assert rows == [
        (date(2014, 4, 14), True, 1),
        (date(2014, 4, 15), True, 2),
        (date(2014, 4, 16), True, 3),
        (date(2014, 4, 17), False, 3),
        (date(2014, 4, 18), False, 3),
        (date(2014, 4, 19), False, 3),
        (date(2014, 4, 20), False, 3),
        (date(2014, 4, 21), False, 3),
        (date(2014, 4, 22), True, 4),
        (date(2014, 4, 23), True, 5),
    ]
    # starting on a non-working day: numbering begins at 0
    assert workday_table(date(2014, 4, 19), date(2014, 4, 22))[0] == (date(2014, 4, 19), False, 0)
    with pytest.raises(ValueError):
        workday_table(date(2014, 2, 1), date(2014, 1, 1))


@pytest.mark.parametrize("extra", [frozenset(), frozenset({"grundlovsdag", "juleaften"})])
def test_workday_table_rule_matches_deadline_due(extra):
    """The SQL rule: due = the working day with workday_no = workday_no(received) + n."""
    rows = workday_table(date(2012, 1, 1), date(2017, 12, 31), extra=extra)
    number = {d: no for d, _, no in rows}
    working_day_by_number = {no: d for d, working, no in rows if working}
    received = date(2012, 1, 1)
    checked = 0
    while received <= date(2016, 12, 31):
        for n in (1, 5, 20):
            expected = Deadline(n, "arbejdsdage").due(received, extra=extra)
            assert working_day_by_number[number[received] + n] == expected, (received, n)
            checked += 1
        received += timedelta(days=1)
    assert checked == 3 * 1827


# -- deadlines ending on a non-working day ---------------------------------------------------
def test_a_deadline_ending_on_a_holiday_moves_to_the_next_working_day():
    # 15.12.2014 + 10 dage = juledag (25.12); 26.12 is 2. juledag, 27-28 a weekend: 29.12
    assert Deadline.parse("10 dage").due(date(2014, 12, 15)) == date(2014, 12, 29)
    assert Deadline.parse("10 dage").due(date(2014, 12, 15), roll_forward=False) == \
        date(2014, 12, 25)
    # 5.5.2014 + 4 uger = 2.6.2014, a Monday: unchanged; + 3 måneder = 5.8.2014, a Tuesday
    assert Deadline.parse("4 uger").due(date(2014, 5, 5)) == date(2014, 6, 2)
    # 31.3.2014 + 2 måneder = 31.5.2014, a Saturday: Monday 2.6.2014
    assert Deadline.parse("2 måneder").due(date(2014, 3, 31)) == date(2014, 6, 2)


@pytest.mark.parametrize("text", ["1 dag", "10 dage", "30 dage", "2 uger", "8 uger",
                                  "1 måned", "3 måneder"])
def test_rolled_deadlines_against_the_holidays_package(text):
    """Every receipt day of 2014-2015: the rolled due date is the first day on or after the
    unrolled one that is Monday-Friday and not in the holidays package's Danish public
    holidays (an independent source: no code of ours)."""
    import holidays as holidays_package
    from dateutil.relativedelta import relativedelta

    dk = holidays_package.Denmark(years=range(2014, 2017), categories=("public",))
    n, word = text.split()
    d = Deadline.parse(text)
    moved = 0
    for i in range(730):
        received = date(2014, 1, 1) + timedelta(days=i)
        raw = received + (relativedelta(months=int(n)) if word.startswith("m") else
                          timedelta(days=int(n) * (7 if word == "uger" else 1)))
        expected = raw
        while expected.weekday() >= 5 or expected in dk:
            expected += timedelta(days=1)
        assert d.due(received, roll_forward=False) == raw
        assert d.due(received) == expected, (received, text)
        moved += expected != raw
    assert moved > 200  # weekends alone move 2 of 7 days
