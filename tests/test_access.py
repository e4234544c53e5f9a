"""Access and trust in the core, on DuckDB and PostgreSQL: scopes filter every read, users
(argon2, lock-out), API tokens (hashed, revocable), the audit log; and the CLI commands."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from sagsindsigt import access
from sagsindsigt.access import access_log, tokens, users
from sagsindsigt.cli import main
from sagsindsigt.ingest import import_file
from sagsindsigt.kpis import Query, compute

from .conftest import load_case_types
from .test_cli import run

TODAY = date(2016, 1, 1)
CASES = ("case_id;administration;unit;case_type;received;decided\n"
         "1;SOF;SCK;A;2014-02-01;2014-02-10\n2;SOF;HCK;A;2014-02-01;\n"
         "3;BIF;JCA;B;2014-02-03;\n4;BIF;JCA;B;2014-03-03;\n5;BIF;JCN;B;2014-03-04;\n")


@pytest.fixture
def town(store, tmp_path):
    load_case_types(store, tmp_path, "SOF:A", "BIF:B")
    (tmp_path / "c.csv").write_text(CASES, encoding="utf-8")
    r = import_file(store, "cases", tmp_path / "c.csv", covers="2014", today=TODAY)
    assert r.rows_rejected == 0, r.rejects
    return store


def received(store, by="administration") -> dict:
    res = compute(store, Query.make("cases_received", "2014", by))
    return {r.dims[by]: r.value for r in res.rows if r.value is not None}


def as_(store, role, scope):
    return access.acting_as(access.Principal("t", role, access.resolve(store, scope), "test"))


def test_scope_filters_every_read_and_the_caches_keep_scopes_apart(town):
    everyone = received(town)
    assert everyone == {"SOF": 2, "BIF": 3}
    with as_(town, "leder", "BIF"):
        assert received(town) == {"BIF": 3}
        assert received(town, "unit") == {"JCA": 2, "JCN": 1}
        # the filter cannot be widened by asking for another administration
        res = compute(town, Query.make("cases_received", "2014", [], ["administration=SOF"]))
        assert [r.value for r in res.rows] in ([None], [0], [])
        assert town.table("cases").count().execute() == 3
    with as_(town, "laeser", "JCA"):
        assert received(town, "unit") == {"JCA": 2}
    with as_(town, "analytiker", "BIF"):  # analysts see aggregates of every administration
        assert received(town) == everyone
    assert received(town) == everyone  # the system again: nothing cached from a scope leaks


def test_resolve_scopes_of_the_tree(town):
    assert access.resolve(town, "kommune").everything
    bif = access.resolve(town, "BIF")
    assert bif.administrations == {"BIF"} and bif.units is None
    assert bif.member_units == {"JCA", "JCN"}
    jca = access.resolve(town, "JCA")
    assert jca.administrations == {"BIF"} and jca.units == {"JCA"}
    assert jca.contains("BIF", "JCA") and not jca.contains("BIF", "JCN")
    with pytest.raises(access.AccessError, match="findes ikke"):
        access.resolve(town, "XYZ")


def test_users_hash_passwords_and_lock_after_repeated_failures(town):
    users.add(town, "ida", "leder", "BIF", "en-lang-adgangskode")
    stored = town._engine.query("SELECT password_hash FROM users WHERE name = 'ida'")[0][0]
    assert stored.startswith("$argon2id$") and "en-lang-adgangskode" not in stored
    p = users.authenticate(town, "ida", "en-lang-adgangskode")
    assert (p.name, p.role, p.scope.code) == ("ida", "leder", "BIF")
    with pytest.raises(users.SignInError, match="Forkert"):
        users.authenticate(town, "ingen", "en-lang-adgangskode")
    now = datetime(2026, 1, 1, 12)
    for _ in range(users.MAX_FAILURES - 1):
        with pytest.raises(users.SignInError, match="Forkert"):
            users.authenticate(town, "ida", "forkert", now=now)
    with pytest.raises(users.SignInError) as locking:
        users.authenticate(town, "ida", "forkert", now=now)
    with pytest.raises(users.SignInError) as locked:  # even the right password
        users.authenticate(town, "ida", "en-lang-adgangskode", now=now)
    with pytest.raises(users.SignInError) as unknown:
        for _ in range(users.MAX_FAILURES + 1):
            users.authenticate(town, "findes-ikke", "forkert", now=now)
    # one answer whatever happened: it never tells whether a name exists or is locked
    assert str(locking.value) == str(locked.value) == str(unknown.value) == users.REFUSED
    later = now + timedelta(minutes=users.LOCK_MINUTES + 1)
    assert users.authenticate(town, "ida", "en-lang-adgangskode", now=later).name == "ida"
    for bad, msg in [(("x y", "leder", "BIF", "en-lang-adgangskode"), "ét ord"),
                     (("bo", "chef", "BIF", "en-lang-adgangskode"), "Ukendt rolle"),
                     (("bo", "leder", "XYZ", "en-lang-adgangskode"), "findes ikke"),
                     (("bo", "leder", "BIF", "kort"), "mindst"),
                     (("ida", "leder", "BIF", "en-lang-adgangskode"), "findes allerede")]:
        with pytest.raises(access.AccessError, match=msg):
            users.add(town, *bad)


def test_tokens_are_stored_hashed_revocable_and_record_their_use(town):
    token = tokens.create(town, "natligt-import", "analytiker", "kommune")
    assert token.startswith("ssi_")
    secret = token.split("_", 2)[2]
    dump = json.dumps(town._engine.query("SELECT * FROM api_tokens"), default=str)
    assert secret not in dump
    p = tokens.authenticate(town, token)
    assert (p.role, p.via, p.scope.everything) == ("analytiker", "token", True)
    assert tokens.all_tokens(town)[0].last_used is not None
    assert tokens.authenticate(town, token[:-1] + ("x" if token[-1] != "x" else "y")) is None
    assert tokens.authenticate(town, "ssi_nothing") is None
    tokens.revoke(town, "natligt-import")
    assert tokens.authenticate(town, token) is None
    with pytest.raises(access.AccessError):
        tokens.revoke(town, "natligt-import")


def test_audit_log_appends_and_masks_cpr_shaped_numbers(town):
    p = access.Principal("ida", "leder", access.resolve(town, "BIF"), "adgangskode")
    cpr = "".join(["0101", "80", "-", "1234"])  # built here: no CPR-shaped literal in sources
    access_log.append(town, "sagsdata", f"GET /x?q={cpr}", {"q": cpr}, "200", p, "127.0.0.1")
    e = access_log.entries(town)[0]
    assert (e.actor, e.role, e.scope, e.action, e.outcome) == ("ida", "leder", "BIF",
                                                                "sagsdata", "200")
    assert cpr not in e.object and cpr not in e.filters and "XXXXXX-XXXX" in e.filters
    assert access_log.entries(town, actor="andre") == []


# -- the CLI ---------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text(CASES, encoding="utf-8")
    (tmp_path / "t.csv").write_text("code;name;administration\nA;A;SOF\nB;B;BIF\n",
                                    encoding="utf-8")
    url = str(tmp_path / "cli.duckdb")
    assert main(["--db", url, "init"]) == 0
    assert main(["--db", url, "import", "case_types", "t.csv"]) == 0
    assert main(["--db", url, "import", "cases", "c.csv", "--covers", "2014"]) == 0
    return url


def test_cli_users_tokens_and_access_log(db, capsys):
    code, out, _ = run(capsys, "--db", db, "users", "add", "ida", "--role", "leder",
                       "--scope", "BIF", "--password", "en-lang-adgangskode")
    assert code == 0 and "ida" in out
    code, _, err = run(capsys, "--db", db, "users", "add", "bo", "--role", "chef",
                       "--password", "en-lang-adgangskode")
    assert code == 2 and "Ukendt rolle" in err and "Traceback" not in err
    code, out, _ = run(capsys, "--db", db, "users", "list", "--format", "json")
    rows = json.loads(out)
    assert [(r["name"], r["role"], r["scope"]) for r in rows] == [("ida", "leder", "BIF")]
    assert "hash" not in out
    code, out, err = run(capsys, "--db", db, "tokens", "create", "natligt", "--role",
                         "analytiker")
    assert code == 0 and out.strip().startswith("ssi_") and "vises ikke igen" in err
    code, out, _ = run(capsys, "--db", db, "tokens", "list", "--format", "json")
    assert json.loads(out)[0]["name"] == "natligt" and "ssi_" not in out
    assert run(capsys, "--db", db, "tokens", "revoke", "natligt")[0] == 0
    assert run(capsys, "--db", db, "users", "password", "ida", "--password",
               "en-anden-lang-kode")[0] == 0
    assert run(capsys, "--db", db, "users", "remove", "ida")[0] == 0
    code, out, _ = run(capsys, "--db", db, "access-log", "--format", "json")
    log = json.loads(out)
    assert [e["object"] for e in log][::-1] == [
        "bruger ida oprettet", "API-nøgle natligt oprettet", "API-nøgle natligt tilbagekaldt",
        "adgangskode for ida skiftet", "bruger ida fjernet"]
    assert all(e["via"] == "cli" and e["actor"].startswith("cli:") for e in log)


def test_serve_refuses_demo_users_or_no_auth_off_loopback_and_workers_on_duckdb(db, capsys):
    from sagsindsigt.access import users as u
    from sagsindsigt.store import Store

    s = Store(db)
    u.add(s, "demo1", "admin", "kommune", "en-lang-adgangskode", origin="demo")
    s.close()
    code, _, err = run(capsys, "--db", db, "serve", "--host", "0.0.0.0")
    assert code == 2 and "demobrugere" in err
    code, _, err = run(capsys, "--db", db, "serve", "--host", "10.1.2.3", "--no-auth")
    assert code == 2 and "127.0.0.1" in err
    code, _, err = run(capsys, "--db", db, "serve", "--workers", "2")
    assert code == 2 and "PostgreSQL" in err


def test_the_page_after_sign_in_is_always_a_page_of_this_site():
    from sagsindsigt.web.access import safe_next

    assert safe_next("/side/sager?period=2014") == "/side/sager?period=2014"
    for bad in (None, "", "https://ond.example", "//ond.example", "/\\ond.example",
                "/\nLocation: x", "side/sager"):
        assert safe_next(bad) == "/", bad


def test_sessions_end_at_sign_out_new_password_and_removal(town):
    from sagsindsigt.access import sessions

    users.add(town, "ida", "leder", "BIF", "en-lang-adgangskode")
    a, b = sessions.start(town, "ida", "adgangskode"), sessions.start(town, "ida", "sso")
    assert sessions.active(town, a, "ida") and sessions.active(town, b, "ida")
    assert not sessions.active(town, a, "bo") and not sessions.active(town, None, "ida")
    sessions.end(town, a)
    assert not sessions.active(town, a, "ida") and sessions.active(town, b, "ida")
    users.set_password(town, "ida", "en-ny-lang-adgangskode")
    assert not sessions.active(town, b, "ida")
    c = sessions.start(town, "ida", "adgangskode")
    users.remove(town, "ida")
    assert not sessions.active(town, c, "ida")
