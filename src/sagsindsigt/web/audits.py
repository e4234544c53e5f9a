"""The quality-audit pages (kvalitetsopfølgning): årshjul, rounds with their sample, the review
form, results and calibration. A thin layer: the workflow lives in ``sagsindsigt.audits`` and
every figure comes from the KPI registry through ``Figures``."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .. import audits
from ..access import acting_name, current
from ..calendar import MONTHS_DA, Period
from ..contract.codes import CHECK_CATEGORIES, REVIEW_RESULTS, REVIEWER_ROLES
from ..kpis import get as get_kpi
from ..kpis import keep
from ..present.charts import line_chart
from ..present.exports import sample_workbook, xlsx_bytes
from ..present.labels import scope_label
from ..present.tables import Cell, Column, Table, cell
from ..store import reads
from ..targets import evaluate
from . import uploads
from .pages import Figures, Filters, kpi_table

AUDIT_KPIS = ("audit_correct_rate", "audit_check_error_rate", "audit_agreement")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KAPPA_WARNING = ("Kappa er ustabil, når fejl er sjældne: er næsten alle kontroller ok hos "
                 "begge bedømmere, kan kappa blive lav eller ikke kunne beregnes, selv om "
                 "enigheden er høj. Læs derfor kappa sammen med enigheden i procent og de "
                 "uenige sager.")


def date_da(d: date | datetime | None) -> str:
    """``2. december 2014`` (and ``kl. 14.02`` for a time)."""
    if d is None:
        return "-"
    text = f"{d.day}. {MONTHS_DA[d.month - 1]} {d.year}"
    if isinstance(d, datetime):
        text += f" kl. {d.hour:02d}.{d.minute:02d}"
    return text


def audits_router(fig: Figures, templates: Jinja2Templates) -> APIRouter:
    """The routes under /kvalitet; ``fig`` holds the store and its lock."""
    r = APIRouter(prefix="/kvalitet", include_in_schema=False)
    store = fig.store
    templates.env.filters["date_da"] = date_da
    templates.env.globals.update(RESULTS=REVIEW_RESULTS, ROLES=REVIEWER_ROLES,
                                 CATEGORIES=CHECK_CATEGORIES,
                                 STATUS_LABELS=audits.STATUS_LABELS)

    def render(request: Request, name: str, slug: str, title: str, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        charts = ctx.pop("charts", [])
        html = templates.get_template(f"audits_{name}.html").render({
            "request": request, "slug": slug, "title": title, "query": "",
            "charts_json": json.dumps(charts, ensure_ascii=False), "charts": charts, **ctx})
        return HTMLResponse(html, status_code=status)

    def locked(fn, *args, **kw):
        """Core calls take turns on the store's one connection; Danish errors become 400."""
        try:
            with fig.lock:
                return fn(*args, **kw)
        except audits.AuditUsageError as exc:
            raise HTTPException(400, str(exc)) from exc
        except audits.AuditError as exc:
            raise HTTPException(409, str(exc)) from exc

    def may_change(concept_id: str) -> None:
        """A change to an audit round lies inside the caller's scope (the concept's
        administration; a centre's coordinator cannot change a whole administration's round)."""
        c = locked(audits.concept, store, concept_id)
        current().require_within(c.administration)

    def round_url(concept: str, rnd: str, tail: str = "", **params: str) -> str:
        url = f"/kvalitet/runde/{quote(concept)}/{quote(rnd)}{tail}"
        return url + ("?" + urlencode(params) if params else "")

    def act(concept: str, rnd: str, step, tail: str = "", **params: str) -> RedirectResponse:
        """A form post: do the step, then back to the page with its message (or the error)."""
        try:
            message = step()
        except HTTPException as exc:
            message = f"Ikke udført: {exc.detail}"
        return RedirectResponse(round_url(concept, rnd, tail, **params, besked=message), 303)

    # -- årshjul and sample-size calculator --------------------------------------------------
    @r.get("/aarshjul", response_class=HTMLResponse)
    def aarshjul(request: Request, year: int | None = None, confidence: float = 95,
                 tolerable: float = 5, expected: float = 0, population: int | None = None):
        # the latest year with data in the caller's scope, not a year with only late rounds
        year = year or int(fig.read(keep.latest_year))
        states = locked(audits.round_states, store, year)
        rows: dict[str, list] = {}
        for s in states:
            rows.setdefault(s.concept.id, []).append(s)
        size, size_error = None, None
        try:
            size = audits.sample_size(confidence, tolerable, expected, population)
        except audits.AuditUsageError as exc:
            size_error = str(exc)
        who = current()
        return render(request, "plan", "/kvalitet/aarshjul", f"Årshjul {year}", year=year,
                      scope_name=scope_label(who.data_scope), can_load=who.role == "admin",
                      rows=list(rows.values()), round_url=round_url, size=size,
                      size_error=size_error, calc={"confidence": confidence,
                                                   "tolerable": tolerable,
                                                   "expected": expected,
                                                   "population": population},
                      counts=_counts(states))

    # -- one round: sample, progress, import, calibration, close/reopen, history ------------
    @r.get("/runde/{concept}/{rnd}", response_class=HTMLResponse)
    def runde(request: Request, concept: str, rnd: str, besked: str | None = None):
        def load():
            c = audits.concept(store, concept)
            audits.round_period(c, rnd)
            s = audits.load_sample(store, concept, rnd)
            prog = audits.progress(store, s) if s else []
            hist = audits.history(store, concept, rnd)
            pop = len(audits.population(store, c, rnd)) if s is None else s.population
            year = Period.parse(rnd).start.year
            state = next(x for x in audits.round_states(store, year, concept_id=concept)
                         if x.round == rnd)
            return c, s, prog, hist, pop, state

        c, s, prog, hist, pop, state = locked(load)
        answered = sum(p.answered for p in prog)
        return render(request, "round", "/kvalitet/aarshjul", f"{c.name}, runde {rnd}",
                      c=c, rnd=rnd, period=Period.parse(rnd), s=s, prog=prog, hist=hist,
                      state=state,
                      population=pop, answered=answered,
                      expected=len(prog) * len(c.checks), round_url=round_url,
                      message=besked, can_draw=not state.imported and (
                          s is None or (s.status != "afsluttet" and not answered)))

    @r.post("/runde/{concept}/{rnd}/stikproeve")
    def draw(concept: str, rnd: str, size: Annotated[str, Form()] = "",
             stratify: Annotated[str, Form()] = "", seed: Annotated[str, Form()] = "",
             actor: Annotated[str, Form()] = ""):
        may_change(concept)
        def step():
            s = locked(audits.draw, store, concept, rnd, size=_int(size, "Stikprøvestørrelsen"),
                       stratify=stratify or None, seed=_int(seed, "Seed"),
                       actor=acting_name(actor or None))
            return f"Stikprøven er trukket: {s.size} af {s.population} sager, seed {s.seed}."

        return act(concept, rnd, step)

    @r.get("/runde/{concept}/{rnd}/stikproeve.xlsx")
    def sample_xlsx(concept: str, rnd: str):
        s = locked(audits.load_sample, store, concept, rnd)
        if s is None:
            raise HTTPException(404, "Der er ikke trukket en stikprøve for runden endnu.")
        return Response(sample_workbook(s, fig.labels()), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="stikproeve-{concept}-{rnd}-'
                                   f'{current().data_scope.code}.xlsx"'})

    @r.post("/runde/{concept}/{rnd}/import")
    async def import_answers(concept: str, rnd: str, file: Annotated[UploadFile, File()],
                             reviewer: Annotated[str, Form()] = ""):
        may_change(concept)
        name = uploads.upload_name(file, "svar.csv")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (name if Path(name).suffix else f"{name}.csv")
            await uploads.save(file, path)  # over the size limit: 413

            def step():
                rep = locked(audits.import_csv, store, concept, rnd, path,
                             reviewer=acting_name(reviewer or None))
                msg = f"{rep.loaded} svar indlæst, {len(rep.rejects)} afvist."
                return msg + "".join(f" Række {x['row']}: {x['reason']}"
                                     for x in rep.rejects[:5])

            return act(concept, rnd, step)

    @r.post("/runde/{concept}/{rnd}/kalibrering")
    def calibrate(concept: str, rnd: str, cases: Annotated[str, Form()] = ""):
        may_change(concept)
        def step():
            chosen = locked(audits.choose_calibration, store, concept, rnd,
                            n=_int(cases, "Antal sager"))
            return f"{len(chosen)} sager er valgt til anden bedømmer."

        return act(concept, rnd, step)

    @r.post("/runde/{concept}/{rnd}/afslut")
    def close(concept: str, rnd: str, actor: Annotated[str, Form()] = ""):
        may_change(concept)
        def step():
            batch = locked(audits.close_round, store, concept, rnd,
                           actor=acting_name(actor or None))
            return (f"Runden er afsluttet, og gennemgangene indgår nu i nøgletallene "
                    f"(batch {batch}).")

        return act(concept, rnd, step)

    @r.post("/runde/{concept}/{rnd}/genaabn")
    def reopen(concept: str, rnd: str, reason: Annotated[str, Form()] = "",
               actor: Annotated[str, Form()] = ""):
        may_change(concept)
        def step():
            locked(audits.reopen_round, store, concept, rnd, reason,
                   actor=acting_name(actor or None))
            return "Runden er genåbnet."

        return act(concept, rnd, step)

    # -- the review form ------------------------------------------------------------------
    @r.get("/runde/{concept}/{rnd}/sag/{case_id}", response_class=HTMLResponse)
    def review_form(request: Request, concept: str, rnd: str, case_id: str,
                    rolle: str = "intern", besked: str | None = None):
        if rolle not in REVIEWER_ROLES:
            raise HTTPException(400, "Ukendt rolle: brug intern eller ekstern.")

        def load():
            s = audits.load_sample(store, concept, rnd)
            if s is None or case_id not in {x.case_id for x in s.cases}:
                raise audits.AuditUsageError(f"Sagen {case_id} er ikke med i stikprøven for "
                                             f"runden {rnd}.")
            return s, audits.answers(store, concept, rnd, case_id), audits.answers(
                store, concept, rnd, case_id, history=True)

        s, cur, hist = locked(load)
        mine = {a.check: a for a in cur if a.reviewer_role == rolle}
        ids = [x.case_id for x in s.cases if rolle == "intern" or x.calibration]
        at = ids.index(case_id) if case_id in ids else -1
        nxt = ids[at + 1] if 0 <= at < len(ids) - 1 else None
        prev = ids[at - 1] if at > 0 else None
        case = next(x for x in s.cases if x.case_id == case_id)
        reviewer = next((a.reviewer for a in cur if a.reviewer_role == rolle), "")
        return render(request, "review", "/kvalitet/aarshjul", f"Gennemgang af sag {case_id}",
                      s=s, case=case, mine=mine, hist=[a for a in hist
                                                       if a.reviewer_role == rolle],
                      role=rolle, reviewer=reviewer, nxt=nxt, prev=prev,
                      round_url=round_url, message=besked, closed=s.status == "afsluttet")

    @r.post("/runde/{concept}/{rnd}/sag/{case_id}")
    async def review_post(request: Request, concept: str, rnd: str, case_id: str,
                          rolle: str = "intern"):
        """Without JavaScript: the whole form at once (only changed answers are added)."""
        may_change(concept)
        form = await request.form()
        reviewer = acting_name(str(form.get("reviewer") or "")) or ""

        def save():
            s = audits.load_sample(store, concept, rnd)
            if s is None:
                raise audits.AuditError(f"Der er ikke trukket en stikprøve for runden {rnd}.")
            cur = {a.check: a for a in audits.answers(store, concept, rnd, case_id)
                   if a.reviewer_role == rolle}
            n = 0
            for k in s.concept.checks:
                res = form.get(f"result-{k.id}")
                note = str(form.get(f"note-{k.id}") or "").strip() or None
                if not res:
                    continue
                old = cur.get(k.id)
                if old and (old.result, old.note, old.reviewer) == (res, note, reviewer.strip()):
                    continue
                audits.save_answer(store, concept, rnd, case_id, k.id, str(res), reviewer,
                                   rolle, note)
                n += 1
            return n

        try:
            message, target = f"{locked(save)} svar gemt.", str(form.get("next") or case_id)
        except HTTPException as exc:
            message, target = f"Ikke gemt: {exc.detail}", case_id
        return RedirectResponse(round_url(concept, rnd, f"/sag/{quote(target)}", rolle=rolle,
                                          besked=message), 303)

    @r.post("/api/svar")
    async def api_save(request: Request):
        """One answer, saved as soon as it is given (the review form's script)."""
        try:
            body = await request.json()
            may_change(str(body["concept"]))
            a = locked(audits.save_answer, store, str(body["concept"]), str(body["round"]),
                       str(body["case_id"]), str(body["check"]), str(body["result"]),
                       acting_name(str(body.get("reviewer") or "")) or "",
                       str(body.get("role") or "intern"),
                       body.get("note"))
        except HTTPException as exc:
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        except (KeyError, ValueError):
            return JSONResponse({"error": "Svaret mangler koncept, runde, sag, kontrolpunkt "
                                          "eller resultat."}, status_code=400)
        return {"message": f"Gemt {date_da(a.answered_at)}", "result": a.result}

    @r.get("/api/svar")
    def api_answers(concept: str, round: str, case_id: str | None = None):
        cur = locked(audits.answers, store, concept, round, case_id)
        s = locked(audits.load_sample, store, concept, round)  # the cases in the own scope
        mine = {x.case_id for x in s.cases} if s else set()
        cur = [a for a in cur if a.case_id in mine]
        return [{**a.__dict__, "answered_at": a.answered_at.isoformat()} for a in cur]

    # -- results: overall and per benefit area, as a page and XLSX --------------------------
    def results(period: str | None, area: str | None) -> dict[str, Any]:
        fig.refresh()
        with fig.lock:
            areas = sorted({c.benefit_area for c in audits.concepts(store)})
            years = _review_years(fig)
        period = period or (years[-1] if years else str(date.today().year))
        try:
            Period.parse(period)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        if area and area not in areas:
            raise HTTPException(404, f"Ukendt ydelsesområde '{area}'.")
        where = [f"benefit_area={area}"] if area else []
        f = Filters(period)
        tables = []
        if not area:
            tables.append(kpi_table(fig, "koncepter", "Korrekte sager pr. kvalitetskoncept", f,
                                    ["audit_correct_rate"], "concept", where))
        tables.append(_with_data(kpi_table(fig, "runder", "Korrekte sager pr. runde", f,
                                           ["audit_correct_rate"], "round", where)))
        tables.append(kpi_table(fig, "enheder", "Korrekte sager pr. enhed", f,
                                ["audit_correct_rate"], "unit", where))
        cats = kpi_table(fig, "kategorier", "Fejlstatistik pr. kategori (flest fejl først)", f,
                         ["audit_check_error_rate"], "category", where)
        _most_first(cats, "audit_check_error_rate")
        tables.append(cats)
        if area:
            checks = kpi_table(fig, "kontrolpunkter", "Fejlstatistik pr. kontrolpunkt (flest "
                               "fejl først)", f, ["audit_check_error_rate"], "check", where)
            with fig.lock:
                texts = {k.id: k.text for c in audits.concepts(store) if c.benefit_area == area
                         for k in c.checks}
            for row in checks.body:
                row["label"] = f"{row['_key']}: {texts.get(row['_key'], '')}"
            _most_first(checks, "audit_check_error_rate")
            tables.append(checks)
        trend = Table("udvikling", "Udvikling over årene", [
            Column("label", "År"),
            Column("audit_correct_rate", get_kpi("audit_correct_rate").label, "%"),
            Column("audit_check_error_rate", get_kpi("audit_check_error_rate").label, "%")])
        chart_data = []
        for y in years:
            row: dict[str, Any] = {"label": y, "_key": y}
            for k in ("audit_correct_rate", "audit_check_error_rate"):
                res = fig.get(k, y, [], where)
                row[k] = cell(res, res.rows[0] if res.rows else None)
            trend.add(row)
            if row["audit_correct_rate"].value is not None:
                chart_data.append({"år": y, "korrekte": row["audit_correct_rate"].value})
        tables.append(trend)
        if area and years:  # every round of the area, across the years
            span = Filters(f"{years[0]}-01-01..{years[-1]}-12-31")
            tables.append(_with_data(kpi_table(
                fig, "runder_alle", f"Udvikling pr. runde {years[0]}–{years[-1]}", span,
                ["audit_correct_rate", "audit_check_error_rate"], "round", where)))
        goals = _targets(fig, area)
        charts = [line_chart("Korrekte sager pr. år (%)", chart_data, "år", "korrekte",
                             unit="%")]
        return {"period": period, "area": area, "areas": areas, "tables": tables,
                "targets": goals, "charts": charts, "years": years}

    @r.get("/resultater", response_class=HTMLResponse)
    def results_page(request: Request, period: str | None = None, area: str | None = None):
        res = results(period, area or None)
        title = "Kvalitetsrapport" + (f": {res['area']}" if res["area"] else "")
        return render(request, "results", "/kvalitet/resultater", title, **res)

    @r.get("/resultater.xlsx")
    def results_xlsx(period: str | None = None, area: str | None = None):
        res = results(period, area or None)
        sheets = list(res["tables"]) + [_target_table(res["targets"], fig.labels())]
        scope = current().data_scope.code
        name = f"kvalitetsrapport-{res['area'] or 'alle-omraader'}-{res['period']}-{scope}"
        lines = [f"Område: {fig.labels().where()}", f"Periode: {res['period']}"]
        return Response(xlsx_bytes(sheets, lines), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="{quote(name)}.xlsx"'})

    # -- calibration ------------------------------------------------------------------------
    @r.get("/kalibrering", response_class=HTMLResponse)
    def calibration(request: Request, concept: str, round: str):
        fig.refresh()
        c = locked(audits.concept, store, concept)
        locked(audits.round_period, c, round)
        where = [f"concept={concept}"]
        res = fig.get("audit_agreement", round, ["check"], where)
        total = fig.get("audit_agreement", round, [], where)
        texts = {k.id: k.text for k in c.checks}
        t = Table("enighed", "Enighed og Cohens kappa pr. kontrolpunkt", [
            Column("label", "Kontrolpunkt"), Column("value", "Enighed", "%"),
            Column("kappa", "Kappa"), Column("pabak", "PABAK"),
            Column("positive", "Enige om fejl", "%"),
            Column("negative", "Enige om ingen fejl", "%"),
            Column("n", "Kontroller vurderet af begge", "antal"),
            Column("applies", "Uenige om relevans", "antal")],
            caption="Enigheden måles på de kontroller, som begge bedømmere har vurderet (ok "
                    "eller fejl). Er den ene bedømmer uenig i, at kontrollen er relevant, "
                    "tælles det for sig under Uenige om relevans. PABAK er kappa justeret for, "
                    "at fejl er sjældne.")
        for row in [*res.rows, *total.rows]:
            if row.n is None and row.value is None and row.dims:
                continue
            k = row.dims.get("check")
            t.add({"label": f"{k}: {texts.get(k, '')}" if k else "I alt", "_key": k,
                   "value": Cell(row.value, "%", row.note),
                   "kappa": _kappa(row.extra.get("kappa")),
                   "pabak": _kappa(row.extra.get("pabak")),
                   "positive": Cell(_pct(row.extra.get("positive_agreement")), "%"),
                   "negative": Cell(_pct(row.extra.get("negative_agreement")), "%"),
                   "n": Cell(row.n, "antal"),
                   "applies": Cell(row.extra.get("applicability_disagreements"), "antal")})
        dis = locked(audits.disagreements, store, concept, round)
        return render(request, "calibration", "/kvalitet/resultater",
                      f"Kalibrering: {c.name}, runde {round}", c=c, rnd=round, table=t,
                      disagreements=dis, texts=texts, warning=KAPPA_WARNING,
                      round_url=round_url)

    return r


def _int(text: str, what: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise HTTPException(400, f"{what} skal være et helt tal, ikke '{text}'.") from None


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


def _kappa(k: float | None) -> str:
    return "kan ikke beregnes" if k is None else f"{k:.2f}".replace(".", ",")


def _counts(states: list) -> dict[str, int]:
    out = dict.fromkeys(audits.STATUS_LABELS, 0)
    for s in states:
        out[s.status] += 1
    return out


def _with_data(t: Table) -> Table:
    """Only the members with a figure in the period (rounds of other years are left out)."""
    keep = [i for i, r in enumerate(t.rows)
            if i == len(t.rows) - 1 or any(isinstance(v, Cell) and v.value is not None
                                           for v in r.values())]
    t.rows = [t.rows[i] for i in keep]
    t.links = [t.links[i] for i in keep]
    return t


def _most_first(t: Table, key: str) -> None:
    t.sort_body(lambda r: -(r[key].value or 0))


def _review_years(fig: Figures) -> list[str]:
    rounds = reads.review_rounds(fig.store)  # inside the caller's scope
    years = set()
    for x in rounds:
        try:
            years.add(Period.parse(x).start.year)
        except ValueError:
            continue
    return [str(y) for y in sorted(years)]


def _targets(fig: Figures, area: str | None) -> list[dict]:
    """Targets on audit KPIs, with the baseline and how far the way to the goal is come."""
    out = []
    for t in fig.read(reads.targets):  # inside the caller's scope
        if t["kpi"] not in AUDIT_KPIS or area:
            continue
        st = evaluate(fig.store, t, lambda k, p, w: fig.get(k, p, [], w))
        base = None
        if t["relative_period"]:
            res = fig.get(t["kpi"], t["relative_period"], [], [
                f"{d}={t[d]}" for d in ("administration", "unit", "case_type") if t[d]])
            base = res.rows[0].value if res.rows else None
        way = None
        if base is not None and st.target is not None and st.actual is not None \
                and base != st.target:
            way = round(100 * (base - st.actual) / (base - st.target), 1)
        out.append({"status": st, "target": t, "base": base,
                    "base_period": t["relative_period"], "way": way})
    return out


def _target_table(goals: list[dict], labels) -> Table:
    t = Table("maal", "Mål", [Column("label", "Mål"), Column("base", "Basis", "%"),
                              Column("target", "Målværdi", "%"), Column("actual", "Aktuelt",
                                                                          "%"),
                              Column("way", "Nået af vejen", "%"), Column("status", "Status")])
    for g in goals:
        st = g["status"]
        t.add({"label": labels.target(g["target"]), "base": Cell(g["base"], "%"),
               "target": Cell(st.target, "%"), "actual": Cell(st.actual, "%"),
               "way": Cell(g["way"], "%"), "status": st.label})
    return t


__all__ = ["audits_router", "date_da"]
