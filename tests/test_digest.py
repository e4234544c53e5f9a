"""The weekly digest (`sagsindsigt digest send`) against a real SMTP server that the test
starts on loopback (aiosmtpd): one multipart/alternative mail per leader with an address, made
of the leader's own scope only; a dry run sends nothing; a wrong server is one Danish sentence
and exit code 1, never a traceback."""

from __future__ import annotations

import json
import re
import socket
from email import message_from_bytes, policy

import pytest

from sagsindsigt.access import Principal, access_log, acting_as, resolve
from sagsindsigt.cli import main
from sagsindsigt.demo import CASE_TYPES
from sagsindsigt.worklist import OVERDUE, worklist

from .web._access_helpers import copy_of_demo, demo_secret

pytestmark = pytest.mark.xdist_group("demo")
BIF_TYPES = {c.code for c in CASE_TYPES if c.administration == "BIF"}
SOF_TYPES = {c.code for c in CASE_TYPES if c.administration == "SOF"}
LEADERS = {"leder@bif.test": "BIF", "leder-jca": "JCA", "leder@sof.test": "SOF"}
BASE = "https://sagsindsigt.kk.test"


@pytest.fixture(scope="module")
def db(demo_store, tmp_path_factory):
    """A copy of the demo with three leaders (one known by the address setting only), a
    leader without any address and a reader with an address (who gets no digest)."""
    from sagsindsigt.access import users

    with demo_secret(demo_store):
        store = copy_of_demo(demo_store, tmp_path_factory.mktemp("digest") / "demo.duckdb")
        for name, scope in LEADERS.items():
            users.add(store, name, "leder", scope, "rigtig-god-kode-2014")
        users.add(store, "leder-uden-adresse", "leder", "SUF", "rigtig-god-kode-2014")
        users.add(store, "laeser@bif.test", "laeser", "BIF", "rigtig-god-kode-2014")
        url = store.url
        store.close()
    return url


class Collect:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    handler = Collect()
    ctrl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctrl.start()
    try:
        yield ctrl, handler
    finally:
        ctrl.stop()


@pytest.fixture
def env(monkeypatch, demo_store):
    monkeypatch.setenv("SAGSINDSIGT_SECRET_FILE", str(demo_store.secret_file))
    monkeypatch.setenv("SAGSINDSIGT_SMTP_SENDER", "sagsindsigt@kk.test")
    monkeypatch.setenv("SAGSINDSIGT_SMTP_STARTTLS", "false")
    monkeypatch.setenv("SAGSINDSIGT_BASE_URL", BASE)
    monkeypatch.setenv("SAGSINDSIGT_DIGEST_ADDRESSES", json.dumps({"leder-jca": "jca@bif.test"}))
    return monkeypatch


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def expected_signals(store, admin: str, period: str) -> list[tuple[str, str]]:
    """(unit name, signal words) for every unit of ``admin`` the funnel of a rate tile KPI
    flags, computed here from the KPI registry (not from the tiles)."""
    from sagsindsigt.kpis import Query, get
    from sagsindsigt.kpis.funnel import FLAGS, funnel
    from sagsindsigt.present.labels import Labels
    from sagsindsigt.present.overview import TILE_KPIS

    with acting_as(Principal("leder@bif.test", "leder", resolve(store, admin), "lokal")):
        name = Labels.of(store).name
        out = []
        for k in TILE_KPIS:
            kd = get(k)
            if not kd.ratio or kd.unit != "%" or "unit" not in kd.dims:
                continue
            fn = funnel(store, Query.make(k, period, ["unit"], [f"administration={admin}"]))
            out += [(name("unit", r["unit"]), FLAGS[r["judgement"] or r["flag"]].lower())
                    for r in fn.flagged()]
        return out


def parts(envelope):
    msg = message_from_bytes(envelope.content, policy=policy.default)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    return msg, text, html


def test_each_leader_gets_the_week_of_their_own_scope(db, env, smtp, capsys):
    ctrl, handler = smtp
    env.setenv("SAGSINDSIGT_SMTP_HOST", "127.0.0.1")
    env.setenv("SAGSINDSIGT_SMTP_PORT", str(ctrl.port))
    code, out, err = run(capsys, "--db", db, "digest", "send")
    assert code == 0, err
    assert "3 ugebrev(e) sendt" in out
    assert "leder-uden-adresse: ingen e-mailadresse" in err and "Traceback" not in err
    by_to = {tuple(e.rcpt_tos): e for e in handler.envelopes}
    assert set(by_to) == {("leder@bif.test",), ("jca@bif.test",), ("leder@sof.test",)}

    msg, text, html = parts(by_to[("leder@bif.test",)])
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "sagsindsigt@kk.test" and msg["To"] == "leder@bif.test"
    assert msg["Subject"].startswith("Sagsindsigt: ugebrev for Beskæftigelses- og "
                                     "Integrationsforvaltningen (BIF), 25.12.2014–31.12.2014")
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Message-ID"]
    assert msg["Content-Language"] == "da"
    # the week's new overdue cases: as many as the worklist of BIF's leader says, by case id
    from sagsindsigt.store import Store

    store = Store(db)
    try:
        with acting_as(Principal("leder@bif.test", "leder", resolve(store, "BIF"), "lokal")):
            new = worklist(store, OVERDUE, new_within=7)
        assert new.rows, "the demo has cases that passed their deadline in the last week"
        listed = re.findall(r"^- ([A-Z]+-\d{4}-\d{6})$", text, flags=re.M)
        assert listed == new.case_ids()[:10]
        assert f"{len(new.rows)} sager kom over frist i ugen" in text
        for case_id in listed:
            assert f'href="{BASE}/arbejdsliste?liste=over-frist&amp;nye=7#sag-{case_id}"' in html
        for body in (text, html):
            # BIF's figures only: no SOF case, name or target, and no citizen
            assert {c.split("-")[0] for c in re.findall(r"\b[A-Z]+-\d{4}-\d{6}\b", body)} \
                <= BIF_TYPES
            assert "Socialforvaltningen" not in body and "SOF" not in body
            assert "Frister overholdt i SOF" not in body
            assert "Færre klager i BIF" in body  # a BIF target not met (2,6 % > 2,5 %)
            # the signals: exactly the units the funnel flags (after its overdispersion
            # adjustment) on the leader's tiles, in each KPI's own direction
            for name, word in expected_signals(store, "BIF", "2014"):
                assert f"{name}: {word}" in body
            assert body.count("end forventet (") + body.count("markant over (") + \
                body.count("markant under (") == len(expected_signals(store, "BIF", "2014"))
        assert f"{BASE}/side/maaltal" in text and f"{BASE}/?period=2014&administration=BIF" \
            in text
        citizens = {r["citizen"] for r in store.run(
            store.table("cases").filter(lambda t: t.case_id.isin(listed))
            .select("citizen")).to_dicts()}
        assert citizens and not any(c in text or c in html for c in citizens if c)

        # the centre's leader: JCA's cases only, named as the centre
        msg, text, html = parts(by_to[("jca@bif.test",)])
        assert "Område: Jobcenter Amager (JCA)" in text
        with acting_as(Principal("leder-jca", "leder", resolve(store, "JCA"), "lokal")):
            jca = set(worklist(store, OVERDUE, new_within=7).case_ids())
        assert set(re.findall(r"^- ([A-Z]+-\d{4}-\d{6})$", text, flags=re.M)) <= jca

        # SOF's leader: SOF's own day (its data end 30.6.2014) and SOF's cases
        msg, text, html = parts(by_to[("leder@sof.test",)])
        assert "24.6.2014–30.6.2014" in msg["Subject"]
        assert {c.split("-")[0] for c in re.findall(r"^- ([A-Z]+-\d{4}-\d{6})$", text,
                                                    flags=re.M)} <= SOF_TYPES
        assert "Beskæftigelses" not in text

        # every mail sent is in the access log, as seen by its leader
        log = access_log.entries(store, action="ugebrev")
        assert {e.actor for e in log} == set(LEADERS)
        assert all(e.via == "e-mail" and e.role == "leder" for e in log)
    finally:
        store.close()


def test_a_dry_run_sends_nothing(db, env, smtp, capsys):
    ctrl, handler = smtp
    env.setenv("SAGSINDSIGT_SMTP_HOST", "127.0.0.1")
    env.setenv("SAGSINDSIGT_SMTP_PORT", str(ctrl.port))
    code, out, err = run(capsys, "--db", db, "digest", "send", "--dry-run")
    assert code == 0, err
    assert "Til: leder@bif.test <leder@bif.test>" in out and "Til: leder-jca <jca@bif.test>" in out
    assert "laeser@bif.test" not in out  # not a leader
    assert "Tørkørsel: 3 ugebrev(e) ville blive sendt; intet er sendt." in out
    code, out, err = run(capsys, "--db", db, "digest", "send", "--dry-run", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["dry_run"] is True and data["sent"] == 0
    assert {m["user"] for m in data["messages"]} == set(LEADERS)
    assert data["skipped"] == [{"user": "leder-uden-adresse", "reason": data["skipped"][0]
                                ["reason"]}]
    assert handler.envelopes == []


@pytest.mark.parametrize(("host", "reason"), [
    ("mailserver.invalid", "navnet på mailserveren kan ikke slås op"),
    ("127.0.0.1", "mailserveren afviste forbindelsen")])
def test_a_wrong_server_is_one_danish_sentence(db, env, capsys, host, reason):
    env.setenv("SAGSINDSIGT_SMTP_HOST", host)
    env.setenv("SAGSINDSIGT_SMTP_PORT", str(free_port()))  # nothing listens there
    env.setenv("SAGSINDSIGT_SMTP_TIMEOUT", "5")
    code, out, err = run(capsys, "--db", db, "digest", "send")
    assert code == 1
    lines = [x for x in err.splitlines() if not x.startswith("Springes over")]
    assert len(lines) == 1 and lines[0].startswith("Fejl: Ugebrevet kunne ikke sendes via ")
    assert reason in lines[0] and "Traceback" not in err and out == ""


def test_starttls_that_the_server_does_not_offer(db, env, smtp, capsys):
    ctrl, handler = smtp
    env.setenv("SAGSINDSIGT_SMTP_HOST", "127.0.0.1")
    env.setenv("SAGSINDSIGT_SMTP_PORT", str(ctrl.port))
    env.setenv("SAGSINDSIGT_SMTP_STARTTLS", "true")
    code, _, err = run(capsys, "--db", db, "digest", "send")
    assert code == 1 and "mailserveren tilbyder ikke STARTTLS" in err
    assert handler.envelopes == []


def test_without_a_server_setting(db, env, capsys):
    env.delenv("SAGSINDSIGT_SMTP_HOST", raising=False)
    code, _, err = run(capsys, "--db", db, "digest", "send")
    assert code == 1 and "SAGSINDSIGT_SMTP_HOST" in err
