"""The weekly digest (ugebrev) by e-mail: each leader (a user with the role ``leder``) gets
their own scope's week, computed as that leader so the store's scope rule applies to every
figure and case id (a BIF leader's mail is made of BIF's rows only):

* new cases over their deadline in the last 7 days (count and the first case ids, each linked to
  the worklist), beside the whole worklist's counts;
* targets (måltal) of the scope that are not met;
* signals on the Overblik tiles of the leader's own level (:mod:`sagsindsigt.present.overview`);
* links to the dashboard (``Settings.base_url``).

Case ids only, no personal data. A multipart/alternative message (plain text and HTML, both
Danish) per leader, sent with the standard library's ``smtplib`` (STARTTLS and sign-in as the
settings say). Each mail sent is written to the access log (action ``ugebrev``) as seen by the
leader. A leader's address is ``Settings.digest_addresses[name]``, else the user name when it
is an e-mail address; a leader without one is skipped and reported.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import worklist as wl
from ..access import AccessError, Principal, acting_as, resolve
from ..danish import day as dk_day
from ..danish import number
from ..danish import value as dk_value
from ..kpis import keep
from ..present import overview
from ..present.labels import Labels
from ..present.worklist import day_note
from ..store import reads
from ..targets import evaluate

SHOWN_CASES = 10  # case ids listed in the mail; the rest behind the link
ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
WORKLIST = "/arbejdsliste"
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"], default_for_string=False),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters["day"] = dk_day
_env.filters["num"] = number


class DigestError(Exception):
    """The digest could not be sent (one Danish sentence; CLI exit code 1)."""


@dataclass
class Digest:
    """One leader's mail."""

    user: str
    address: str | None
    scope: dict[str, str]  # code, name
    subject: str
    text: str
    html: str
    new_overdue: int = 0
    case_ids: list[str] = field(default_factory=list)  # the ones listed in the mail
    overdue: int = 0
    due_soon: int = 0
    targets_missed: int = 0
    signals: int = 0
    who: Principal | None = field(default=None, repr=False)  # the leader, for the access log

    def message(self, sender: str) -> EmailMessage:
        m = EmailMessage()
        m["From"] = sender
        m["To"] = self.address or ""
        m["Subject"] = self.subject
        m["Date"] = formatdate(localtime=True)
        m["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
        m["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a digest
        m.set_content(self.text)
        m.add_alternative(self.html, subtype="html")
        m["Content-Language"] = "da"  # after: making the alternative moves Content-* headers
        return m

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "to": self.address, "scope": self.scope,
                "subject": self.subject, "new_overdue": self.new_overdue,
                "case_ids": self.case_ids, "overdue": self.overdue,
                "due_soon": self.due_soon, "targets_missed": self.targets_missed,
                "signals": self.signals}


@dataclass
class Skipped:
    user: str
    reason: str  # Danish


def leaders(store) -> list[Any]:
    """The users with the role ``leder``, by name."""
    from ..access import users

    return [u for u in users.all_users(store) if u.role == "leder"]


def address_of(name: str, settings) -> str | None:
    """A user's e-mail address: the setting's mapping, else the name when it is one."""
    given = (settings.digest_addresses or {}).get(name)
    if given:
        return given if ADDRESS.match(given) else None
    return name if ADDRESS.match(name) else None


def compose_all(store, settings, today: date | None = None) -> tuple[list[Digest], list[Skipped]]:
    """Every leader's digest, and the leaders left out with the reason."""
    out, skipped = [], []
    for u in leaders(store):
        address = address_of(u.name, settings)
        if address is None:
            skipped.append(Skipped(u.name, "ingen e-mailadresse (brugernavnet er ikke en "
                                   "adresse, og SAGSINDSIGT_DIGEST_ADDRESSES nævner ikke "
                                   "brugeren)"))
            continue
        try:
            scope = resolve(store, u.scope)
        except AccessError:
            skipped.append(Skipped(u.name, f"området '{u.scope}' findes ikke længere"))
            continue
        who = Principal(u.name, "leder", scope, "e-mail")
        out.append(compose(store, who, address, settings.base_url, today))
    return out, skipped


def compose(store, who: Principal, address: str | None, base_url: str,
            today: date | None = None) -> Digest:
    """One leader's digest, computed as the leader (the store's scope rule applies)."""
    from ..present.tables import getter

    base = base_url.rstrip("/")
    with acting_as(who):
        labels = Labels.of(store)
        where, dim = _own_level(who)
        new = wl.worklist(store, wl.OVERDUE, new_within=7, today=today)
        overdue = wl.worklist(store, wl.OVERDUE, today=today)
        soon = wl.worklist(store, wl.SOON, today=today)
        get = getter(store)
        period = keep.latest_year(store)
        statuses = [(t, evaluate(store, t, lambda k, p, w: get(k, p, [], w)))
                    for t in reads.targets(store)]
        keyed = {(st.kpi, t["administration"], st.period): st for t, st in statuses}
        tiles = overview.tiles(
            get, labels, period, [f"{k}={v}" for k, v in where.items()], dim, keyed,
            lambda k: keyed.get((k, where.get("administration"), period))
            if "unit" not in where else None)
        signals = overview.signals(tiles)
        scope = {"code": who.scope.code, "name": labels.where()}
    new_link = f"{base}{WORKLIST}?{urlencode({'liste': wl.OVERDUE, 'nye': 7})}"
    day = new.day or (today or date.today())
    ctx = {
        "who": scope["name"], "first": day - timedelta(days=6), "last": day,
        "note": day_note(new, labels), "base": base,
        "new": len(new.rows), "new_link": new_link,
        "cases": [(c, f"{new_link}#sag-{quote(c, safe='')}") for c in
                  new.case_ids()[:SHOWN_CASES]],
        "more": max(len(new.rows) - SHOWN_CASES, 0),
        "overdue": len(overdue.rows), "soon": len(soon.rows),
        "overdue_link": f"{base}{WORKLIST}?liste={wl.OVERDUE}",
        "soon_link": f"{base}{WORKLIST}?liste={wl.SOON}",
        "missed": [_target_line(labels, t, st) for t, st in statuses
                   if st.status == "not_met"],
        "targets": len(statuses), "targets_link": f"{base}/side/maaltal",
        "signals": [{"kpi": s["kpi"].label, "text": s["text"]} for s in signals],
        "period": period,
        "dashboard_link": f"{base}/" + (f"?{urlencode({'period': period, **where})}"),
    }
    subject = (f"Sagsindsigt: ugebrev for {scope['name']}, {dk_day(ctx['first'])}–"
               f"{dk_day(ctx['last'])}")
    ctx["subject"] = subject
    return Digest(who.name, address, scope, subject,
                  _env.get_template("digest.txt").render(ctx),
                  _env.get_template("digest.html").render(ctx),
                  len(new.rows), [c for c, _ in ctx["cases"]], len(overdue.rows),
                  len(soon.rows), len(ctx["missed"]), len(signals), who)


def _own_level(who: Principal) -> tuple[dict[str, str], str]:
    """The leader's own part of the Overblik: its filters and the level its tiles list (the
    administrations of the municipality, the units of an administration, the case types of a
    centre)."""
    s = who.scope
    if s.everything:
        return {}, "administration"
    admin = sorted(s.administrations)[0]
    if s.units is None:
        return {"administration": admin}, "unit"
    return {"administration": admin, "unit": s.code}, "case_type"


def _target_line(labels: Labels, t: dict, st) -> dict[str, str]:
    word = "højst" if st.direction == "max" else "mindst"
    return {"name": labels.target(t), "period": st.period,
            "actual": dk_value(st.actual, st.unit),
            "goal": f"{word} {dk_value(st.target, st.unit)}"}


def send(store, digests: list[Digest], settings, operator: str = "system") -> int:
    """Send the digests over one SMTP connection; returns how many were sent. Every failure
    is a :class:`DigestError` with one Danish sentence, also after some were sent."""
    from ..access import access_log

    host, port = settings.smtp_host, settings.smtp_port
    if not host:
        raise DigestError("Ugebrevet kan ikke sendes: mailserveren er ikke sat "
                          "(SAGSINDSIGT_SMTP_HOST).")
    if not settings.smtp_sender or not ADDRESS.match(settings.smtp_sender):
        raise DigestError("Ugebrevet kan ikke sendes: afsenderen er ikke sat til en "
                          "e-mailadresse (SAGSINDSIGT_SMTP_SENDER).")
    sent = 0
    try:
        with smtplib.SMTP(host, port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() \
                    if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            for d in digests:
                smtp.send_message(d.message(settings.smtp_sender))
                sent += 1
                access_log.append(store, "ugebrev", f"ugebrev til {d.address}",
                                  {"sager": len(d.case_ids), "afsender": operator}, who=d.who)
    except (OSError, smtplib.SMTPException) as exc:
        done = f" ({sent} af {len(digests)} mails nåede at blive sendt)" if sent else ""
        raise DigestError(f"Ugebrevet kunne ikke sendes via {host}:{port}: "
                          f"{_reason(exc)}{done}.") from exc
    return sent


def _reason(exc: BaseException) -> str:
    """Why an SMTP conversation failed, in Danish."""
    if isinstance(exc, socket.gaierror):
        return "navnet på mailserveren kan ikke slås op"
    if isinstance(exc, ConnectionRefusedError):
        return "mailserveren afviste forbindelsen"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "mailserveren svarede ikke i tide"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "mailserveren afviste brugernavn eller adgangskode (SAGSINDSIGT_SMTP_USER)"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "mailserveren tilbyder ikke STARTTLS (SAGSINDSIGT_SMTP_STARTTLS)"
    if isinstance(exc, ssl.SSLError):
        return "den krypterede forbindelse (STARTTLS) kunne ikke oprettes"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "mailserveren afviste modtageren"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "mailserveren afviste afsenderen (SAGSINDSIGT_SMTP_SENDER)"
    if isinstance(exc, smtplib.SMTPException | ConnectionError):
        return "forbindelsen til mailserveren blev afbrudt"
    return "forbindelsen til mailserveren mislykkedes"


__all__ = ["Digest", "DigestError", "Skipped", "address_of", "compose", "compose_all",
           "leaders", "send"]
