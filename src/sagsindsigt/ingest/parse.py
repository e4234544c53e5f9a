"""Parsers for one raw value of each field type, each with one plain Danish reason on failure.

Each parser is called once per distinct value in a file and the result applied vectorised, so
a million rows cost a few thousand calls.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from ..contract import CODE_LISTS, Field

DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
TRUE = {"ja", "j", "true", "sand", "1", "yes", "y", "x"}
FALSE = {"nej", "n", "false", "falsk", "0", "no"}


class Invalid(ValueError):
    """A value that does not parse; the message is the Danish reason."""


def parse_date(v: str) -> date:
    s = _TIME_TAIL.sub("", v.strip())
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise Invalid(f"'{v}' er ikke en gyldig dato; skriv den som 2014-03-31 eller 31-03-2014")


def parse_timestamp(v: str) -> datetime:
    """A point in time. One with an offset (``+02:00``, ``Z``; event logs and XES) is kept
    exact, as the same instant in UTC with its fractions of a second; one without is the
    local time as written (whole seconds)."""
    s = v.strip()
    if re.search(r"(Z|[+-]\d\d:?\d\d)$", s) and re.match(r"\d{4}-\d\d-\d\d[T ]\d", s):
        try:
            t = datetime.fromisoformat(s)
        except ValueError:
            t = None
        if t is not None and t.tzinfo is not None:
            return t.astimezone(UTC).replace(tzinfo=None)
    s = s.replace("T", " ").rstrip("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
                "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(s.split(".")[0] if s.count(":") == 2 else s, fmt)
        except ValueError:
            continue
    try:
        return datetime.combine(parse_date(v), datetime.min.time())
    except Invalid:
        raise Invalid(f"'{v}' er ikke et gyldigt tidspunkt; skriv fx 2014-03-31 14:30") from None


def parse_bool(v: str) -> bool:
    s = v.strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise Invalid(f"'{v}' er hverken ja eller nej")


def parse_int(v: str) -> int:
    s = v.strip().replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+", s):  # Danish thousands separator: 154.440
        s = s.replace(".", "")
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if re.fullmatch(r"-?\d+[,.]0+", s):
        return int(re.split(r"[,.]", s)[0])
    raise Invalid(f"'{v}' er ikke et helt tal")


def parse_number(v: str) -> float:
    s = v.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s:  # decimal comma, dots as thousands separators
        s = s.replace(".", "").replace(",", ".")
    try:
        return float(s)
    except ValueError:
        raise Invalid(f"'{v}' er ikke et tal") from None


def code_lookup(f: Field, known: set[str] | None = None) -> dict[str, str]:
    """Accepted spellings (lower case) → code: the codes themselves and their Danish labels."""
    values = dict(CODE_LISTS[f.codes]) if f.codes else {}
    for k in known or ():
        values.setdefault(k, k)
    out = {}
    for code, lbl in values.items():
        out[lbl.lower()] = code
        out[code.lower()] = code
    return out


def parse_code(v: str, f: Field, mapped: dict[str, str], lookup: dict[str, str]) -> str:
    s = v.strip()
    if s in mapped:
        s = mapped[s]
    else:
        low = {k.lower(): t for k, t in mapped.items()}
        s = low.get(s.lower(), s)
    code = lookup.get(s.lower())
    if code is None:
        allowed = ", ".join(sorted(set(lookup.values())))
        raise Invalid(
            f"'{v}' er ikke en kendt værdi for {f.label or f.name} (tilladt: {allowed}); "
            f"tilføj den i mapping-filen under codes: {f.name}"
        )
    return code


def parse_codes(v: str, f: Field, mapped: dict[str, str], lookup: dict[str, str]) -> str:
    parts = [p for p in re.split(r"[|,;]", v) if p.strip()]
    return "|".join(dict.fromkeys(parse_code(p, f, mapped, lookup) for p in parts))


def parse_deadline(v: str) -> str:
    from ..calendar import Deadline, DeadlineError

    try:
        return str(Deadline.parse(v))
    except DeadlineError as exc:
        raise Invalid(str(exc).rstrip(".")) from None


def parse_period(v: str) -> str:
    from ..calendar import Period, PeriodError

    try:
        return Period.parse(v).label
    except PeriodError as exc:
        raise Invalid(str(exc).rstrip(".")) from None
