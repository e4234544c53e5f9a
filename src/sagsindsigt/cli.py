"""The command line (shared/spec/cli.md): a thin client of the core library.

Each command parses options, makes one call into the core and prints. Errors are one Danish
sentence on stderr; ``--debug`` shows the traceback. Exit codes: 0 success, 2 usage error,
3 import with rejected rows, 1 anything else.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from . import danish

EXIT_REJECTED = 3


class Failure(click.ClickException):
    exit_code = 1


class Usage(click.ClickException):
    exit_code = 2


def _store(ctx: click.Context, create: bool = False):
    from .store import Store

    root = ctx.find_root()
    obj = root.obj
    if obj.get("store") is None:
        obj["store"] = Store(obj["db"], lake=obj.get("lake"))
        root.call_on_close(obj["store"].close)  # the file free for the next process
        if create:
            obj["store"].init()
        else:
            obj["store"].require()
    return obj["store"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="SAGSINDSIGT_DB", default="sagsindsigt.duckdb", show_default=True,
              help="Databasen: en DuckDB-fil, postgresql://bruger@vært/db eller en datasø "
              "alene (spark:MAPPE; kun tal).")
@click.option("--lake", envvar="SAGSINDSIGT_LAKE", help="Læs tallenes tabeller fra en datasø "
              "med Spark (spark:MAPPE) ved siden af databasen (se docs/scale.md).")
@click.option("--debug", is_flag=True, help="Vis hele fejlsporet ved fejl.")
@click.pass_context
def cli(ctx: click.Context, db: str, lake: str | None, debug: bool) -> None:
    """Sagsindsigt: ledelsesinformation og måltal om kvaliteten i sagsbehandlingen."""
    ctx.obj = {"db": db, "lake": lake, "debug": debug, "store": None}


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Opret en tom database (kan køres igen uden skade)."""
    click.echo(_init(ctx)[1])


def _init(ctx: click.Context):
    from .ingest import secret_for
    from .privacy import create_secret
    from .settings import Settings

    settings = Settings()
    store = _store(ctx, create=True)
    created = False
    if not settings.secret:
        created = create_secret(settings.secret_path(store.url))
    secret_for(store, settings)
    return store, (f"Databasen {store.url} er klar." + (
        f" Nøglen til pseudonymisering er gemt i {settings.secret_path(store.url)}; "
        "tag backup af den." if created else ""))


@cli.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Opdatér databasens skema til nyeste version (data bevares)."""
    store = _store(ctx)
    before, rev_before = store.meta("schema_version"), store.schema_revision()
    store.init()
    after, rev_after = store.meta("schema_version"), store.schema_revision()
    if store.backend != "postgres":
        change = f"skemaversion {before} → {after}" if before != after else (
            f"skemaversionen er {after}")
        click.echo(f"DuckDB-databasen {store.url} er indlejret og bringes ajour af "
                   f"'sagsindsigt init', som nu er kørt: {change}.")
    elif rev_before == rev_after:
        click.echo(f"Databasen {store.url} har allerede nyeste skemaversion {after} "
                   f"(migration {rev_after}).")
    else:
        click.echo(f"Databasen {store.url} er opdateret fra skemaversion {before} til {after} "
                   f"(migration {rev_before or 'ingen'} → {rev_after}).")


@cli.command("import")
@click.argument("kind")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--source", help="Kildesystemets navn (identitet for posterne).")
@click.option("--mapping", type=click.Path(path_type=Path), help="Mapping-fil (YAML).")
@click.option("--covers", help="Perioden filen dækker, fx 2014-H1.")
@click.option("--strict", is_flag=True, help="Alt eller intet: ved én fejl indlæses intet.")
@click.option("--no-prepare", "no_prepare", is_flag=True, help="Beregn ikke tallene bagefter "
              "(når flere filer indlæses i træk: kør 'sagsindsigt prepare' efter den sidste).")
@click.pass_context
def import_(ctx, kind, file, source, mapping, covers, strict, no_prepare) -> None:
    """Indlæs en fil af typen KIND (cases, complaints, volumes, ...)."""
    from .contract.kinds import unknown_import_kind
    from .ingest import import_file

    if message := unknown_import_kind(kind):
        raise Usage(message)
    store = _store(ctx)
    result = import_file(store, kind, file, source=source, mapping=mapping, covers=covers,
                         strict=strict, progress=_progress())
    if result.status == "allerede indlæst":
        click.echo(result.message)
        return
    cov = (f", dækker {danish.day(result.covers[0])}–{danish.day(result.covers[1])}"
           if result.covers else "")
    click.echo(
        f"Batch {result.batch_id} ({result.kind}, kilde {result.source}): "
        f"{danish.number(result.rows_read)} rækker læst, {danish.number(result.rows_loaded)} "
        f"nye eller ændrede, {danish.number(result.rows_unchanged)} uændrede, "
        f"{danish.number(result.rows_rejected)} afvist{cov}.")
    for w in result.warnings:
        click.echo(f"  Advarsel: {w}", err=True)
    if result.rows_loaded and not no_prepare:
        _prepare(store)
    if result.rows_rejected:
        for r in result.rejects[:10]:
            click.echo(f"  {r['file']}, række {r['row']}, felt {r['field']}: {r['reason']}.",
                       err=True)
        if result.rows_rejected > 10 or len(result.rejects) > 10:
            click.echo(f"  Se alle med: sagsindsigt rejects --batch {result.batch_id}", err=True)
        if result.message:
            click.echo(result.message, err=True)
        ctx.exit(EXIT_REJECTED)


@cli.command()
@click.pass_context
def prepare(ctx) -> None:
    """Beregn og gem tallene til siderne og de mest brugte kommandoer (sker ellers efter
    hver indlæsning)."""
    _prepare(_store(ctx))


def _prepare(store) -> None:
    """Compute the figures people ask for first and keep them in the store (kpis.keep): a
    one-shot 'kpi' and the first visit to a page after a start then compute nothing."""
    import time

    from .kpis import keep
    from .store import derive
    from .web import prepare as prepare_pages

    start = time.perf_counter()
    derive.ensure_process(store)
    bar = _progress()
    n = keep.prepare(store, progress=(lambda done, total: bar("beregner tal", done, total))
                     if bar else None)
    prepare_pages(store)
    if bar:
        bar("gemmer", 1, 1)
    secs = round(time.perf_counter() - start)
    click.echo(f"Tallene er beregnet og gemt til siderne og kommandoerne ({danish.number(n)} "
               f"nøgletal på {danish.number(secs)} s).")


def _progress():
    """A progress bar on a terminal for imports; silent when piped (nightly jobs)."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    tasks: dict[str, int] = {}

    def step(name: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if name not in tasks:
            tasks[name] = bar.add_task(name.capitalize(), total=max(total, 1))
        bar.update(tasks[name], completed=done, total=max(total, 1))
        if name == "gemmer" and done >= total:
            bar.stop()

    return step


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def batches(ctx, fmt) -> None:
    """Vis alle indlæsninger."""
    from .ingest.log import batch_rows

    _emit(batch_rows(_store(ctx)), fmt, ["id", "kind", "source", "file", "status",
                                         "rows_read", "rows_loaded", "rows_unchanged",
                                         "rows_rejected", "covers_start", "covers_end",
                                         "loaded_at", "sha256"])


@cli.command()
@click.option("--batch", type=int, help="Kun afviste rækker fra denne batch.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def rejects(ctx, batch, fmt) -> None:
    """Vis afviste rækker med fil, række, felt og årsag."""
    from .ingest.log import reject_rows

    _emit(reject_rows(_store(ctx), batch), fmt,
          ["batch", "file", "row", "field", "value", "reason", "record"])


@cli.command()
@click.argument("kpi_id", required=False)
@click.option("--list", "list_", is_flag=True, help="Vis alle nøgletal.")
@click.option("--period", help="2014, 2014-H1, 2014-Q3, 2014-03 eller 2014-01-01..2014-06-30; "
              "som standard det seneste år med data.")
@click.option("--by", help="Opdel efter dimensioner, fx administration,unit.")
@click.option("--where", multiple=True, help="Filter DIMENSION=VÆRDI (kan gentages).")
@click.option("--annualise", is_flag=True, help="Opregn delvist dækkede tal til hele perioden.")
@click.option("--view", type=click.Choice(["funnel", "spc"]), help="funnel: tragtvisning af "
              "en andel med kontrolgrænser (95 % og 99,8 %) pr. enhed; spc: kontrolkort pr. "
              "måned (de 24 måneder op til periodens slutning) med signaler, variation og "
              "målopfyldelse.")
@click.option("--overdispersion", type=click.Choice(["auto", "none", "multiplicative",
                                                     "additive"]), default="auto",
              help="Tragtvisning: justér grænserne for overspredning (Spiegelhalter 2005); "
              "auto = additiv, når enhederne varierer mere end tilfældigheder kan forklare.")
@click.option("--casemix", is_flag=True, help="Tragtvisning: sammenlign hver enhed med det, "
              "dens egen blanding af sagstyper ville give (indirekte standardisering).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def kpi(ctx, kpi_id, list_, period, by, where, annualise, view, overdispersion, casemix,
        fmt) -> None:
    """Beregn ét nøgletal fra kpis.md."""
    from .kpis import KpiUsageError, Query, all_kpis, compute

    if list_:
        rows = [{"id": k.id, "label": k.label, "unit": k.unit, "theme": k.theme,
                 "dimensions": ",".join(k.dims), "description": k.description}
                for k in all_kpis()]
        _emit(rows, fmt, ["id", "label", "unit", "theme", "dimensions", "description"])
        return
    if not kpi_id:
        raise Usage("Angiv et nøgletal, fx 'sagsindsigt kpi complaint_rate', eller --list.")
    try:
        from .kpis.keep import latest_year

        store = _store(ctx)
        q = Query.make(kpi_id, period or latest_year(store), by, where, annualise)
        if view == "funnel":
            from .kpis.funnel import funnel

            shown = funnel(store, q, overdispersion=overdispersion, casemix=casemix)
            result = shown.result
        elif view == "spc":
            _spc(store, q, fmt)
            return
        else:
            shown = result = compute(store, q)
    except KpiUsageError as exc:
        raise Usage(str(exc)) from exc
    data = shown.as_json()
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    cols = list(q.by) + [c for c in data["rows"][0] if c not in q.by] if data["rows"] else []
    if fmt == "csv":
        _emit(data["rows"], "csv", cols)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{result.kpi.label} ({result.kpi.unit}), {q.period.danish()}")
    for d in q.by:
        t.add_column(d)
    t.add_column("værdi", justify="right")
    t.add_column("tæller/nævner" if result.kpi.ratio else "antal", justify="right")
    t.add_column("note")
    for r in data["rows"]:
        detail = (f"{danish.number(r.get('numerator'))} / {danish.number(r.get('denominator'))}"
                  if result.kpi.ratio else danish.number(r.get("n")))
        value = danish.value(r["value"], result.kpi.unit)
        if r.get("light"):
            value += f" ({_LIGHTS[r['light']]})"
        if view == "funnel" and r.get("lower998") is not None:
            value += (f" [99,8 %: {danish.value(r['lower998'], '%')}–"
                      f"{danish.value(r['upper998'], '%')}]")
            if r.get("flag"):
                from .kpis.funnel import FLAGS

                value += " " + FLAGS[r.get("judgement") or r["flag"]].lower()
        t.add_row(*[str(r.get(d) if r.get(d) is not None else "-") for d in q.by], value,
                  detail, r.get("note") or "")
    Console(width=160).print(t)


_LIGHTS = {"green": "grøn", "yellow": "gul", "red": "rød"}


def _spc(store, q, fmt: str) -> None:
    """``kpi … --view spc``: the control chart of one scope, a row per month."""
    from . import targets
    from .kpis import get
    from .kpis import spc as spc_mod
    from .present.tables import getter
    from .store import reads

    spc_mod.check(get(q.kpi), q.by, q.annualise)
    where = [f"{k}={','.join(v)}" for k, v in q.where.items()]
    g = getter(store)
    target = spc_mod.target_for(
        reads.targets(store), q.kpi, where, q.period.label,
        lambda t: targets.evaluate(store, t, lambda k, p, w: g(k, p, [], w)))
    ch = spc_mod.spc(g, q.kpi, q.period, where, target,
                     lambda table: reads.coverage(store, table),
                     lambda months: spc_mod.month_rows(store, q.kpi, months, where))
    data = ch.as_json()
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    cols = ["month", "value", "numerator" if ch.kpi.ratio else "n",
            *(["denominator"] if ch.kpi.ratio else []), "centre", "lower", "upper", "signal",
            "side", "rules", "note"]
    if fmt == "csv":
        _emit([{**r, "rules": "|".join(r["rules"])} for r in data["rows"]], "csv", cols)
        return
    from rich.console import Console
    from rich.table import Table

    unit = ch.kpi.unit
    t = Table(title=f"{ch.kpi.label} ({unit}): {spc_mod.CHARTS[ch.chart]}, "
                    f"{q.period.danish()}", caption=ch.sentence())
    for c in ("måned", "værdi", "centerlinje", "nedre grænse", "øvre grænse", "signal"):
        t.add_column(c, justify="left" if c in ("måned", "signal") else "right")
    for r in data["rows"]:
        sig = "" if not r["signal"] else (
            f"{spc_mod.VARIATION[r['signal']]}: "
            + ", ".join(spc_mod.RULES[x] for x in r["rules"]))
        t.add_row(r["month"], danish.value(r["value"], unit),
                  *[danish.value(r[k], unit) for k in ("centre", "lower", "upper")], sig)
    Console(width=160).print(t)
    line = f"Variation: {ch.variation_text()}"
    if ch.assurance_text():
        line += f". Mål: {ch.assurance_text()}"
    click.echo(line)


@cli.command()
@click.option("--period", help="Perioden, som standard det seneste hele år med data.")
@click.pass_context
def overview(ctx, period) -> None:
    """Overblik: klager i forhold til sagsmængde pr. forvaltning (seed 000's tabel)."""
    from .kpis import KpiUsageError
    from .kpis.keep import latest_year
    from .present.seed import overview as seed_overview

    store = _store(ctx)
    try:
        table = seed_overview(store, period or latest_year(store))
    except (KpiUsageError, ValueError) as exc:
        raise Usage(str(exc)) from exc
    from rich.console import Console
    from rich.table import Table

    t = Table(title=table["title"])
    for c in table["columns"]:
        t.add_column(c, justify="left" if c == table["columns"][0] else "right")
    for r in table["rows"]:
        t.add_row(*r)
    console = Console(width=160)
    console.print(t)
    for note in table["footnotes"]:
        console.print(f"* {note}")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="Adressen filerne ligger på (til metadataene), fx "
              "https://data.kk.dk/sagsindsigt; som standard SAGSINDSIGT_BASE_URL + /api/open.")
@click.pass_context
def publish(ctx, directory, base_url) -> None:
    """Skriv borgernes sagsbehandlingstider som åbne data (JSON, CSV og DCAT-AP-DK-metadata)
    i en mappe til en statisk webserver."""
    from .access import acting_as
    from .citizen import PUBLIC, figures
    from .present.open_data import FREQUENCIES, Publication
    from .present.open_data import publish as write
    from .present.tables import getter
    from .settings import Settings

    settings = Settings()
    store = _store(ctx)
    freq = settings.open_data_frequency.upper()
    if freq not in FREQUENCIES:
        raise Usage(f"SAGSINDSIGT_OPEN_DATA_FREQUENCY skal være en af {', '.join(FREQUENCIES)}, "
                    f"ikke '{freq}'.")
    site = settings.base_url.rstrip("/")
    base = (base_url or f"{site}/api/open").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise Usage(f"--base-url skal være en http(s)-adresse, ikke '{base}'.")
    pub = Publication(base, f"{site}/borger/sagsbehandlingstider", settings.open_data_licence,
                      freq)
    with acting_as(PUBLIC):  # the public figures: the whole municipality, aggregates only
        data = figures(store, getter(store), settings.citizen_withheld,
                       settings.citizen_unit_figures)
    try:
        paths = write(data, pub, directory)
    except OSError as exc:
        raise Failure(f"Filerne kunne ikke skrives i {directory}: {exc.strerror}.") from exc
    shown = sum(1 for r in data.rows if r.shown)
    click.echo(f"{len(paths)} filer skrevet i {directory}: "
               + ", ".join(p.name for p in paths)
               + f" ({shown} af {len(data.rows)} sagstyper med tal"
               + (f", data til {danish.day(data.as_of)}" if data.as_of else "") + ").")


@cli.command()
@click.argument("kind", type=click.Choice(["oekonomiudvalg", "kvartal", "borgerraadgiver",
                                           "kvalitet"]))
@click.option("--period", help="Perioden, fx 2014 eller 2014-Q2; som standard det seneste år "
              "med data.")
@click.option("--where", multiple=True, help="Filter DIMENSION=VÆRDI (kan gentages).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "html"]), default="pdf",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Filen rapporten skrives til.")
@click.option("--internal", is_flag=True, help="Præcise tal: små antal skjules ikke.")
@click.option("--threshold", default=5, show_default=True, type=int,
              help="Antal under denne grænse skjules (offentliggørelse).")
@click.pass_context
def report(ctx, kind, period, where, fmt, output, internal, threshold) -> None:
    """Dan en udvalgsrapport (PDF, Excel eller HTML) ud fra nøgletalsregistret."""
    from .kpis import KpiUsageError
    from .reports import build_report, render

    if fmt == "pdf":  # WeasyPrint loads while the figures are read or computed; the chart
        import threading  # engine starts only for a chart not kept in the store

        from .reports.pdf import prepare_pages

        threading.Thread(target=prepare_pages, name="rapport-forberedelse", daemon=True).start()
    store = _store(ctx)
    try:
        from .kpis.keep import latest_year

        rep = build_report(store, kind, period or latest_year(store), list(where),
                           internal=internal, threshold=threshold)
    except KpiUsageError as exc:
        raise Usage(str(exc)) from exc
    data = render(rep, fmt, store=store)
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise Failure(f"Rapporten kunne ikke skrives til {output}: {exc.strerror}.") from exc
    click.echo(f"{rep.title}, {rep.period.danish()}: {len(rep.tables())} tabeller skrevet til "
               f"{output} ({danish.number(len(data) / 1024)} kB).")


@cli.group()
def lake() -> None:
    """Datasøen: tabellerne tallene læser, som Parquet-mapper (se docs/scale.md)."""


@lake.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def lake_export(ctx, directory) -> None:
    """Skriv databasens gældende poster som en datasø i DIRECTORY."""
    from .store.lake import export

    store = _store(ctx)

    def progress(table: str, rows: int) -> None:
        click.echo(f"  {table}: {danish.number(rows)} rækker", err=True)

    try:
        doc = export(store, directory, progress=progress)
    except OSError as exc:
        raise Failure(f"Datasøen kunne ikke skrives i {directory}: {exc.strerror}.") from exc
    rows = sum(t["rows"] for t in doc["tables"].values())
    click.echo(f"Datasøen i {directory} er skrevet: {len(doc['tables'])} tabeller, "
               f"{danish.number(rows)} rækker.")


@lake.command("check")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Fejlbehæftede rækker, der vises pr. tabel (alle tælles).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def lake_check(ctx, directory, limit, fmt) -> None:
    """Kontrollér en datasø i DIRECTORY, skrevet af et andet værktøj, mod datakontrakten
    (kolonner, typer, koder) med importens begrundelser. Åbner ingen database."""
    from .ingest.lake_check import LakeUsage, check_lake

    try:
        result = check_lake(directory, limit=limit)
    except LakeUsage as exc:
        raise Usage(str(exc)) from exc
    except OSError as exc:
        raise Failure(f"Datasøen i {directory} kunne ikke læses: {exc.strerror}.") from exc
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print_lake_check(result)
    if result.errors:
        ctx.exit(EXIT_REJECTED)


def _rows(n: int) -> str:
    return "1 række" if n == 1 else f"{danish.number(n)} rækker"


def _print_lake_check(result) -> None:
    for f in result.findings:
        click.echo(f"{f.level.capitalize()}: {f.text}")
    for t in result.tables:
        if not t.present:
            click.echo(f"{t.table}: mangler. {t.findings[0].text}")
            continue
        click.echo(f"{t.table}: {_rows(t.rows)} kontrolleret i {danish.number(t.files)} "
                   f"{'fil' if t.files == 1 else 'filer'}, {danish.number(t.bad_rows)} med "
                   "fejl.")
        for f in t.findings:
            click.echo(f"  {f.level.capitalize()}: {f.text}")
        for r in t.bad:
            click.echo(f"  {r['file']}, række {r['row']}, felt {r['field']}: {r['reason']}.")
        shown = len({(r["file"], r["row"]) for r in t.bad})
        if t.bad_rows > shown:
            click.echo(f"  ... og {_rows(t.bad_rows - shown)} mere med fejl (--limit viser "
                       "flere).")
    if result.errors:
        click.echo(f"Datasøen har fejl: {_rows(result.bad_rows)} med fejl og "
                   f"{danish.number(result.errors - result.bad_rows)} fejl i filer, kolonner "
                   "eller manifest.")
    else:
        click.echo("Datasøen følger datakontrakten.")


@cli.command()
@click.option("--years", default=4, show_default=True, help="Antal år (2012 og frem).")
@click.option("--seed", default=2014, show_default=True)
@click.option("--fresh", is_flag=True, help="Slet demodata og byg demoen forfra.")
@click.option("--municipalities", "n_munis", default=1, show_default=True,
              type=click.IntRange(1, 98),
              help="Antal kommuner: 1 er demokommunen; flere giver en landsdækkende demo "
                   "(København først, så efter folketal), hver i Københavns form skaleret "
                   "efter folketal.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(min=0.0001),
              help="Gang alle kommunernes størrelser med dette tal (--municipalities > 1).")
@click.option("--lake", "lake_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Skriv kommunerne som en datasø (Parquet) i mappen i stedet for i "
                   "databasen (--municipalities > 1).")
@click.option("--via-import", is_flag=True,
              help="Indlæs kommunerne fil for fil gennem importen (langsomt; kun til få "
                   "kommuner).")
@click.pass_context
def demo(ctx, years, seed, fresh, n_munis, scale, lake_dir, via_import) -> None:
    """Fyld databasen med en realistisk demokommune (eller flere kommuner)."""
    from .demo import add_demo_users, build_demo

    if not 1 <= years <= 10:  # checked before anything is dropped
        raise Usage("Demoen kan bygges for 1 til 10 år (--years).")
    if n_munis == 1 and (lake_dir or via_import or scale != 1.0):
        raise Usage("--lake, --scale og --via-import bruges med --municipalities større end 1.")
    if lake_dir and via_import:
        raise Usage("--via-import indlæser i databasen; den kan ikke bruges med --lake.")
    if lake_dir:
        _national_lake(lake_dir, n_munis, years, seed, scale)
        return
    store, _ = _init(ctx)
    built = store.meta("demo")
    has_data = store.has_rows("batches")
    if has_data and not built:
        raise Failure(f"Databasen {store.url} indeholder andre data end demoen; "
                      "byg demoen i en anden database med --db.")
    if has_data and not fresh:
        click.echo(f"Demokommunen er allerede bygget ({built}); brug --fresh for at bygge "
                   "den forfra.")
        add_demo_users(store)
        return
    if has_data:
        store.drop_all()
        store.init()
    if n_munis == 1:
        click.echo(f"Bygger demokommunen for {years} år (seed {seed}) ...")
        summary = build_demo(store, years=years, seed=seed, echo=click.echo)
        store.set_meta("demo", f"{years} år fra 2012, seed {seed}")
    else:
        from .national import build_store

        click.echo(f"Bygger {n_munis} kommuner for {years} år (seed {seed}, skala "
                   f"{_decimal(scale)}) ...")
        summary = build_store(store, n_munis, years=years, seed=seed, scale=scale,
                              via_import=via_import, echo=click.echo)
        store.set_meta("demo", f"{n_munis} kommuner, {years} år fra 2012, seed {seed}, "
                               f"skala {_decimal(scale)}")
    click.echo(summary)
    add_demo_users(store)
    _prepare(store)
    click.echo("Demobrugere oprettet (en pr. rolle); 'sagsindsigt serve' viser adgangskoderne.")


def _decimal(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def _national_lake(directory: Path, n: int, years: int, seed: int, scale: float) -> None:
    """``demo --municipalities N --lake DIR``: the fast path, no database needed (in two
    processes from five municipalities on)."""
    import os
    import time

    from .national import build_lake

    click.echo(f"Skriver {n} kommuner for {years} år (seed {seed}, skala "
               f"{_decimal(scale)}) som datasø i {directory} ...")
    start = time.perf_counter()
    try:
        doc = build_lake(directory, n, years=years, seed=seed, scale=scale, echo=click.echo,
                         workers=min(2, os.cpu_count() or 1) if n > 4 else 1)
    except OSError as exc:
        raise Failure(f"Datasøen kunne ikke skrives i {directory}: {exc.strerror}.") from exc
    t = doc["tables"]
    click.echo(f"Datasøen i {directory} er skrevet: {danish.number(t['cases']['rows'])} sager, "
               f"{danish.number(t['events']['rows'])} hændelser, "
               f"{danish.number(t['complaints']['rows'])} klager på "
               f"{danish.number(round(time.perf_counter() - start))} s.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True,
              help="Antal arbejdsprocesser (kun PostgreSQL; DuckDB er én proces).")
@click.option("--no-auth", "no_auth", is_flag=True,
              help="Ingen login: én lokal bruger med alle rettigheder (kun på 127.0.0.1).")
@click.pass_context
def serve(ctx, host, port, workers, no_auth) -> None:
    """Start web-appen (dashboardet) på http://HOST:PORT."""
    import os

    import uvicorn

    from .access import users as access_users
    from .ingest import secret_for
    from .settings import Settings

    store = _store(ctx)
    loopback = _loopback(host)
    demo_users = [u for u in access_users.all_users(store) if u.origin == "demo"]
    if no_auth and not loopback:
        raise Usage("--no-auth giver alle adgang uden login og kan kun bruges på 127.0.0.1.")
    if demo_users and not no_auth and not loopback:
        raise Usage("Databasen har demobrugere med kendte adgangskoder; den kan kun køre på "
                    "127.0.0.1. Fjern dem med 'sagsindsigt users remove NAVN' først.")
    if workers > 1 and store.backend != "postgres":
        raise Usage("Flere arbejdsprocesser kræver PostgreSQL: DuckDB kan kun åbnes af én "
                    "proces ad gangen.")
    if no_auth:
        click.echo("Uden login: alle på denne maskine er administrator (--no-auth).")
    elif demo_users:
        key = secret_for(store).key
        click.echo("Demobrugere (adgangskoderne gælder kun denne demo):")
        for u in demo_users:
            click.echo(f"  {u.name:<16} {u.role:<12} {u.scope:<9} "
                       f"{access_users.demo_password(key, u.name)}")
    elif not access_users.all_users(store):
        click.echo("Der er ingen brugere endnu: opret en med 'sagsindsigt users add NAVN "
                   "--role admin'.")
    where = f"Sagsindsigt kører på http://{host}:{port} (stop med Ctrl+C)."
    click.echo("Starter: henter tallene til de første sider og beregner dem, der ikke er gemt "
               "('sagsindsigt prepare' efter en indlæsning gør starten kort) …")
    secure = None if not loopback else False  # on loopback plain http carries the cookie
    if workers > 1:
        if store.lake_url:
            os.environ["SAGSINDSIGT_LAKE"] = store.lake_url
        os.environ.update({"SAGSINDSIGT_DB": store.url,
                           "SAGSINDSIGT_AUTH": "0" if no_auth else "1"})
        if secure is False:
            os.environ["SAGSINDSIGT_SECURE_COOKIES"] = "false"
        click.echo(where)  # each worker reads its first pages as it starts
        uvicorn.run("sagsindsigt.web:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", proxy_headers=True,
                    forwarded_allow_ips=Settings().trusted_proxies)
        return
    from .web import create_app

    app = create_app(store, auth=not no_auth, secure_cookies=secure,
                     ready=lambda: click.echo(where))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=Settings().trusted_proxies)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- access and trust (access/): users, API tokens, the audit log ---------------------------
@contextmanager
def _cli_errors(usage: tuple = (), failure: tuple = ()):
    """A core's errors as CLI errors: bad input (``usage``) exits 2, a step that cannot be
    done (``failure``) exits 1."""
    try:
        yield
    except usage as exc:
        raise Usage(str(exc)) from exc
    except failure as exc:
        raise Failure(str(exc)) from exc


def _access_errors():
    from .access import AccessError

    return _cli_errors(usage=(AccessError,))


def _operator():
    """The CLI acts as the database's operator; the audit log names the OS user."""
    import getpass

    from .access import ALL, Principal

    try:
        who = getpass.getuser()
    except Exception:
        who = "ukendt"
    return Principal(f"cli:{who}", "admin", ALL, "cli")


@cli.group()
def users() -> None:
    """Brugere: opret, vis, fjern og skift adgangskode."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="admin, analytiker, leder, registrator, kvalitet "
              "eller laeser.")
@click.option("--scope", default="kommune", show_default=True,
              help="Område: kommune, en forvaltning (fx BIF) eller et center.")
@click.option("--password", envvar="SAGSINDSIGT_NEW_PASSWORD", default=None,
              help="Adgangskoden (ellers spørges der; --sso-only for ingen).")
@click.option("--sso-only", is_flag=True, help="Kun login via SSO, ingen adgangskode.")
@click.pass_context
def users_add(ctx, name, role, scope, password, sso_only) -> None:
    """Opret brugeren NAME med en rolle og et område."""
    from .access import access_log
    from .access import users as u

    store = _store(ctx)
    if not sso_only and password is None:
        password = click.prompt("Adgangskode", hide_input=True, confirmation_prompt=True)
    with _access_errors():
        user = u.add(store, name, role, scope, None if sso_only else password)
    access_log.append(store, "ændring", f"bruger {user.name} oprettet",
                    {"role": role, "scope": user.scope}, who=_operator())
    click.echo(f"Brugeren {user.name} er oprettet ({user.role}, {user.scope}).")


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def users_list(ctx, fmt) -> None:
    """Vis alle brugere."""
    from .access import users as u

    rows = [{"name": x.name, "role": x.role, "scope": x.scope, "origin": x.origin,
             "locked_until": x.locked_until, "last_login": x.last_login}
            for x in u.all_users(_store(ctx))]
    _emit(rows, fmt, ["name", "role", "scope", "origin", "locked_until", "last_login"])


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx, name) -> None:
    """Fjern brugeren NAME."""
    from .access import access_log
    from .access import users as u

    store = _store(ctx)
    with _access_errors():
        u.remove(store, name)
    access_log.append(store, "ændring", f"bruger {name} fjernet", who=_operator())
    click.echo(f"Brugeren {name} er fjernet.")


@users.command("password")
@click.argument("name")
@click.option("--password", envvar="SAGSINDSIGT_NEW_PASSWORD", default=None)
@click.pass_context
def users_password(ctx, name, password) -> None:
    """Sæt en ny adgangskode for NAME (låser også kontoen op)."""
    from .access import access_log
    from .access import users as u

    store = _store(ctx)
    if password is None:
        password = click.prompt("Ny adgangskode", hide_input=True, confirmation_prompt=True)
    with _access_errors():
        u.set_password(store, name, password)
    access_log.append(store, "ændring", f"adgangskode for {name} skiftet", who=_operator())
    click.echo(f"Adgangskoden for {name} er skiftet.")


@cli.group()
def tokens() -> None:
    """API-nøgler til maskiner (fx det natlige import-job)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", required=True, help="Rollen nøglen handler som.")
@click.option("--scope", default="kommune", show_default=True, help="Nøglens område.")
@click.pass_context
def tokens_create(ctx, name, role, scope) -> None:
    """Opret API-nøglen NAME; den vises kun denne ene gang."""
    from .access import access_log
    from .access import tokens as t

    store = _store(ctx)
    with _access_errors():
        token = t.create(store, name, role, scope, created_by=_operator().name)
    access_log.append(store, "ændring", f"API-nøgle {name} oprettet",
                    {"role": role, "scope": scope}, who=_operator())
    click.echo(token)
    click.echo(f"Gem nøglen nu: den vises ikke igen. Brug: Authorization: Bearer {token[:8]}…",
               err=True)


@tokens.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def tokens_list(ctx, fmt) -> None:
    """Vis API-nøglerne (aldrig selve nøglen)."""
    from .access import tokens as t

    rows = [{"id": x.id, "name": x.name, "role": x.role, "scope": x.scope,
             "created_at": x.created_at, "last_used": x.last_used, "revoked_at": x.revoked_at}
            for x in t.all_tokens(_store(ctx))]
    _emit(rows, fmt, ["id", "name", "role", "scope", "created_at", "last_used", "revoked_at"])


@tokens.command("revoke")
@click.argument("name")
@click.pass_context
def tokens_revoke(ctx, name) -> None:
    """Tilbagekald API-nøglen NAME (navn eller id)."""
    from .access import access_log
    from .access import tokens as t

    store = _store(ctx)
    with _access_errors():
        n = t.revoke(store, name)
    access_log.append(store, "ændring", f"API-nøgle {name} tilbagekaldt", who=_operator())
    click.echo(f"{n} nøgle(r) tilbagekaldt.")


@cli.command("access-log")
@click.option("--actor", default=None, help="Kun denne bruger.")
@click.option("--action", default=None, help="Kun denne handling (fx sagsdata, download).")
@click.option("--since", default=None, help="Fra og med dato (ÅÅÅÅ-MM-DD).")
@click.option("--limit", default=200, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def access_log_cmd(ctx, actor, action, since, limit, fmt) -> None:
    """Adgangsloggen: hvem har set, hentet eller ændret hvad, og hvornår."""
    from datetime import datetime

    from .access import access_log

    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise Usage(f"Datoen '{since}' skal skrives som ÅÅÅÅ-MM-DD.") from None
    rows = [vars(e) for e in access_log.entries(_store(ctx), actor, action, start, limit)]
    _emit(rows, fmt, ["logged_at", "actor", "role", "scope", "via", "action", "object",
                      "filters", "outcome"])


@cli.command("auditlog", hidden=True, context_settings={"ignore_unknown_options": True},
             add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def auditlog_cmd(ctx, args) -> None:
    """Forældet navn for 'access-log' (fjernes i en senere version)."""
    click.echo("Bemærk: 'sagsindsigt auditlog' hedder nu 'sagsindsigt access-log'.", err=True)
    ctx.invoke(access_log_cmd, **access_log_cmd.make_context(
        "access-log", list(args), parent=ctx.parent).params)


# -- quality audits (audits/): thin commands over the workflow ----------------------------------
@cli.group()
def audit() -> None:
    """Kvalitetsopfølgning: årshjul, stikprøver, gennemgange og kalibrering."""


def _audit_errors():
    from .audits import AuditError, AuditUsageError

    return _cli_errors(usage=(AuditUsageError,), failure=(AuditError,))


@audit.command("plan")
@click.argument("year", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def audit_plan(ctx, year, fmt) -> None:
    """Årshjulet for YEAR: hvert koncepts runder med status og fremdrift."""
    from .audits import round_states

    with _audit_errors():
        states = round_states(_store(ctx), year)
    rows = [{"concept": s.concept.id, "round": s.round, "status": s.status,
             "deadline": s.deadline.isoformat(), "sample": s.drawn, "answered": s.answered,
             "checks": s.expected} for s in states]
    _emit(rows, fmt, ["concept", "round", "status", "deadline", "sample", "answered", "checks"])


@audit.command("sample")
@click.argument("concept")
@click.argument("round_", metavar="ROUND")
@click.option("--size", type=int, help="Antal sager (standard: konceptets stikprøvestørrelse).")
@click.option("--stratify", type=click.Choice(["unit"]), help="Opdel efter enhed "
              "(proportional fordeling).")
@click.option("--seed", type=int, help="Startværdi for lodtrækningen (gemmes med runden).")
@click.option("--xlsx", type=click.Path(path_type=Path), help="Gem også stikprøvelisten som "
              "XLSX til bedømmerne.")
@click.option("--by", "actor", help="Hvem trækker stikprøven.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def audit_sample(ctx, concept, round_, size, stratify, seed, xlsx, actor, fmt) -> None:
    """Træk en reproducerbar stikprøve for CONCEPT i runden ROUND (fx 2014-Q1)."""
    from .audits import draw
    from .present.exports import sample_workbook
    from .present.labels import Labels

    with _audit_errors():
        s = draw(_store(ctx), concept, round_, size=size, stratify=stratify, seed=seed,
                 actor=actor)
    if xlsx:
        xlsx.write_bytes(sample_workbook(s, Labels.of(_store(ctx))))
    summary = (f"Stikprøve for {s.concept.name}, runde {s.round}: {danish.number(s.size)} af "
               f"{danish.number(s.population)} sager, seed {s.seed}"
               + (", opdelt efter enhed" if s.stratify else "") + ".")
    rows = [{"position": x.position, "case_id": x.case_id, "unit": x.unit,
             "case_type": x.case_type, "decided": x.decided} for x in s.cases]
    if fmt == "json":
        click.echo(json.dumps({"concept": s.concept.id, "round": s.round, "seed": s.seed,
                               "size": s.size, "population": s.population,
                               "stratify": s.stratify, "cases": rows},
                              ensure_ascii=False, default=str))
        return
    click.echo(summary, err=fmt == "csv")
    _emit(rows, fmt, ["position", "case_id", "unit", "case_type", "decided"])


@audit.command("size")
@click.option("--confidence", type=float, default=95, show_default=True,
              help="Konfidensniveau i procent.")
@click.option("--tolerable", type=float, default=5, show_default=True,
              help="Tolerabel fejlrate i procent.")
@click.option("--expected", type=float, default=0, show_default=True,
              help="Forventet fejlrate i procent.")
@click.option("--population", type=int, help="Antal sager i populationen: stikprøven beregnes "
              "eksakt for udtræk uden tilbagelægning (hypergeometrisk fordeling).")
def audit_size(confidence, tolerable, expected, population) -> None:
    """Stikprøvestørrelse efter attributmetoden (AICPA-tabellen)."""
    from .audits import sample_size

    with _audit_errors():
        click.echo(sample_size(confidence, tolerable, expected, population))


@audit.command("import")
@click.argument("concept")
@click.argument("round_", metavar="ROUND")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reviewer", help="Bedømmerens navn, hvis filen ikke har kolonnen reviewer.")
@click.pass_context
def audit_import(ctx, concept, round_, file, reviewer) -> None:
    """Indlæs svar fra en bedømmers CSV/XLSX-fil (case_id, check, result, note)."""
    from .audits import import_csv

    if not file.exists():
        raise Failure(f"Filen {file} findes ikke.")
    with _audit_errors():
        rep = import_csv(_store(ctx), concept, round_, file, reviewer=reviewer)
    click.echo(f"{danish.number(rep.loaded)} svar indlæst, "
               f"{danish.number(len(rep.rejects))} afvist.")
    for r in rep.rejects[:20]:
        click.echo(f"  {file.name}, række {r['row']}: {r['reason']}", err=True)
    if rep.rejects:
        ctx.exit(EXIT_REJECTED)


@audit.command("close")
@click.argument("concept")
@click.argument("round_", metavar="ROUND")
@click.option("--by", "actor", help="Hvem afslutter runden.")
@click.pass_context
def audit_close(ctx, concept, round_, actor) -> None:
    """Afslut en færdig runde; svarene bliver til gennemgange i nøgletallene."""
    from .audits import close_round

    with _audit_errors():
        batch = close_round(_store(ctx), concept, round_, actor=actor)
    click.echo(f"Runden {round_} er afsluttet; gennemgangene er gemt som batch {batch}.")


@audit.command("reopen")
@click.argument("concept")
@click.argument("round_", metavar="ROUND")
@click.option("--reason", required=True, help="Begrundelse (gemmes i historikken).")
@click.option("--by", "actor", help="Hvem genåbner runden.")
@click.pass_context
def audit_reopen(ctx, concept, round_, reason, actor) -> None:
    """Genåbn en afsluttet runde med en begrundelse."""
    from .audits import reopen_round

    with _audit_errors():
        reopen_round(_store(ctx), concept, round_, reason, actor=actor)
    click.echo(f"Runden {round_} er genåbnet.")


@audit.command("calibrate")
@click.argument("concept")
@click.argument("round_", metavar="ROUND")
@click.option("--cases", "n", type=int, help="Antal sager til anden bedømmer (lodtrækning).")
@click.option("--case", "case_ids", multiple=True, help="Vælg en bestemt sag (kan gentages).")
@click.pass_context
def audit_calibrate(ctx, concept, round_, n, case_ids) -> None:
    """Vælg sager i runden til en anden (ekstern) bedømmer."""
    from .audits import choose_calibration

    with _audit_errors():
        chosen = choose_calibration(_store(ctx), concept, round_, n=n,
                                    case_ids=list(case_ids) or None)
    click.echo(f"{len(chosen)} sager valgt til kalibrering: {', '.join(chosen)}.")


@cli.command()
@click.option("--period", help="Perioden, som standard det seneste år med data.")
@click.option("--where", multiple=True, help="Afgrænsning administration=X, unit=Y eller "
              "case_type=Z (kan gentages).")
@click.option("--days", default=90, show_default=True,
              help="Åbne sager uden afgørelse tælles efter så mange dage.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
def practice(ctx, period, where, days, fmt) -> None:
    """Registreringspraksis pr. enhed: scorekort til ledelsesdialogen."""
    from .calendar import PeriodError
    from .kpis.keep import latest_year
    from .practice import scorecard

    scope = {}
    for item in where:
        dim, _, value = item.partition("=")
        if dim not in ("administration", "unit", "case_type") or not value:
            raise Usage(f"Afgrænsningen '{item}' skal være administration=X, unit=Y eller "
                        "case_type=Z.")
        scope[dim] = value
    store = _store(ctx)
    try:
        cards = scorecard(store, period or latest_year(store), scope, days)
    except PeriodError as exc:
        raise Usage(str(exc)) from exc
    rows = [c.as_dict() for c in cards]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, default=str))
        return
    flat = []
    for r in rows:
        f = {k: v for k, v in r.items() if not isinstance(v, dict)}
        f.update({f"complaint_{k}": v for k, v in r["complaint_fields"].items()})
        f.update({f"case_{k}": v for k, v in r["case_fields"].items()})
        f.update(r["impossible"])
        flat.append(f)
    cols = ["administration", "unit", "complaints", "cases", "completeness",
            "procedural_without_points", "impossible_total", "open_cases", "open_past_days",
            "journal_lag_median"]
    _emit(flat, fmt, list(dict.fromkeys(cols + [k for f in flat for k in f])) if fmt == "csv"
          else cols)


# -- process analysis of the events log (kpis/process.py) --------------------------------------
@cli.group()
def process() -> None:
    """Procesanalyse af hændelsesloggen: hvor går tiden i sagerne?"""


def _process_options(f):
    f = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                     default="table")(f)
    f = click.option("--where", multiple=True, help="Filter DIMENSION=VÆRDI: administration, "
                     "unit, case_type eller benefit_area (kan gentages).")(f)
    return click.option("--period", help="Sager modtaget (eller begyndt) i perioden, fx 2014 "
                        "eller 2014-Q2; som standard hele loggen.")(f)


def _process_query(period, where):
    from .kpis import KpiUsageError
    from .kpis.process import ProcessQuery

    try:
        return ProcessQuery.make(period, list(where))
    except KpiUsageError as exc:
        raise Usage(str(exc)) from exc


def _process_emit(rows: list[dict], fmt: str, cols: list[str], table_rows=None) -> None:
    if fmt == "json":
        click.echo(json.dumps({"rows": rows}, ensure_ascii=False, default=str))
    elif fmt == "csv":
        _emit([{k: (" → ".join(v) if isinstance(v, list) else v) for k, v in r.items()}
               for r in rows], "csv", cols)
    else:
        _emit(table_rows if table_rows is not None else rows, "table", cols)


@process.command("dfg")
@_process_options
@click.pass_context
def process_dfg(ctx, period, where, fmt) -> None:
    """Direkte-følger-grafen: hvor ofte én aktivitet følger en anden, og tiden imellem
    (median og 90-percentil i timer; ▶ er sagens start, ■ dens afslutning)."""
    from .kpis.process import dfg

    rows = dfg(_store(ctx), _process_query(period, where))
    shown = [{**r, "count": danish.number(r["count"]),
              "median_hours": danish.number(r["median_hours"], 1),
              "p90_hours": danish.number(r["p90_hours"], 1)} for r in rows]
    _process_emit(rows, fmt, ["from", "to", "count", "median_hours", "p90_hours"], shown)


@process.command("variants")
@_process_options
@click.option("--top", type=click.IntRange(1, 10000), help="Kun de N hyppigste varianter.")
@click.pass_context
def process_variants(ctx, period, where, fmt, top) -> None:
    """Varianter: sagsforløbenes rækkefølger af aktiviteter, de hyppigste først, med antal
    sager, andel og median gennemløbstid i dage."""
    from .kpis.process import variants

    rows = variants(_store(ctx), _process_query(period, where), top)
    shown = [{"variant": " → ".join(r["variant"]), "cases": danish.number(r["cases"]),
              "share": danish.value(r["share"], "%"),
              "median_days": danish.number(r["median_days"], 1)} for r in rows]
    _process_emit(rows, fmt, ["variant", "cases", "share", "median_days"], shown)


@process.command("bottlenecks")
@_process_options
@click.pass_context
def process_bottlenecks(ctx, period, where, fmt) -> None:
    """Flaskehalse: i sager afgjort efter fristen, de overgange og aktiviteter der lægger
    flest dage til (i alt og median), rangordnet."""
    from .kpis.process import bottlenecks

    rows = bottlenecks(_store(ctx), _process_query(period, where))
    shown = [{**r, "from": r["from"] or "", "cases": danish.number(r["cases"]),
              "occurrences": danish.number(r["occurrences"]),
              "total_days": danish.number(r["total_days"], 1),
              "median_days": danish.number(r["median_days"], 1)} for r in rows]
    _process_emit(rows, fmt, ["kind", "rank", "from", "to", "cases", "occurrences",
                              "total_days", "median_days"], shown)


@process.command("rework")
@_process_options
@click.pass_context
def process_rework(ctx, period, where, fmt) -> None:
    """Omarbejde: aktiviteter der gentages i samme sag."""
    from .kpis.process import rework

    rows = rework(_store(ctx), _process_query(period, where))
    _process_emit(rows, fmt, ["activity", "cases", "repeats", "share"])


@process.command("stalled")
@_process_options
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True,
              help="Åbne sager uden hændelser i så mange dage.")
@click.pass_context
def process_stalled(ctx, period, where, fmt, days) -> None:
    """Sager der står stille: åbne sager uden hændelser i N dage (pr. den dag dataene når
    til, eller periodens sidste dag), længst stille først."""
    from .kpis import KpiUsageError
    from .kpis.process import STALLED_COLUMNS, stalled
    from .worklist import WorklistError

    q = _process_query(period, where)
    try:
        rows = stalled(_store(ctx), q, days)
    except (KpiUsageError, WorklistError) as exc:
        raise Usage(str(exc)) from exc
    _process_emit(rows, fmt, list(STALLED_COLUMNS))


# -- the weekly digest (digest/): one mail per leader ------------------------------------------
@cli.group()
def digest() -> None:
    """Ugebrev på e-mail til ledere: nye sager over frist, måltal og signaler."""


@digest.command("send")
@click.option("--dry-run", is_flag=True, help="Vis modtagere og indhold uden at sende noget.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def digest_send(ctx, dry_run, fmt) -> None:
    """Send ugebrevet til hver bruger med rollen leder (til cron, fx mandag morgen)."""
    from . import digest as core
    from .settings import Settings

    settings = Settings()
    store = _store(ctx)
    digests, skipped = core.compose_all(store, settings)
    for s in skipped:
        click.echo(f"Springes over: {s.user}: {s.reason}.", err=True)
    sent = 0
    if not dry_run and digests:
        try:
            sent = core.send(store, digests, settings, operator=_operator().name)
        except core.DigestError as exc:
            raise Failure(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps({
            "dry_run": dry_run, "sent": sent,
            "messages": [{**d.as_json(), **({"text": d.text} if dry_run else {})}
                         for d in digests],
            "skipped": [{"user": s.user, "reason": s.reason} for s in skipped]},
            ensure_ascii=False, default=str))
        return
    if dry_run:
        for d in digests:
            click.echo(f"Til: {d.user} <{d.address}>\nEmne: {d.subject}\n\n{d.text}\n")
        click.echo(f"Tørkørsel: {len(digests)} ugebrev(e) ville blive sendt; intet er sendt.")
    elif not digests:
        click.echo("Ingen ugebreve at sende: ingen ledere med en e-mailadresse.")
    else:
        click.echo(f"{sent} ugebrev(e) sendt via {settings.smtp_host}:{settings.smtp_port}: "
                   + ", ".join(d.user for d in digests) + ".")


def _emit(rows: list[dict], fmt: str, cols: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, default=str))
    elif fmt == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:  # booleans as in the JSON output: true/false
            w.writerow({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in r.items()})
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table()
        for c in cols:
            t.add_column(c)
        for r in rows:
            t.add_row(*["-" if r.get(c) is None else str(r.get(c)) for c in cols])
        Console(width=200).print(t)


def main(argv: list[str] | None = None) -> int:
    """Entry point: plain Danish errors, tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    from . import logs

    logs.configure(logging.DEBUG if debug else logging.WARNING)
    try:
        rv = cli.main(args=args, prog_name="sagsindsigt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        message = _danish_usage(exc)
        click.echo(f"Fejl: {message}" if exc.ctx is None else
                   f"{exc.ctx.get_usage()}\nFejl: {message}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"Fejl: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Afbrudt.", err=True)
        return 1
    except Exception as exc:  # every other failure: one sentence, no traceback
        if debug:
            raise
        click.echo(f"Fejl: {_sentence(exc)}", err=True)
        return _code(exc)
    return rv if isinstance(rv, int) else 0


def _danish_usage(exc: click.UsageError) -> str:
    """Click's usage errors in Danish (click itself speaks English)."""
    hint = ""
    if isinstance(exc, click.BadParameter | click.MissingParameter):
        if exc.param is not None and exc.ctx is not None:
            hint = exc.param.get_error_hint(exc.ctx)  # '--years', 'FILE'
        else:
            hint = str(exc.param_hint or "")
    if isinstance(exc, click.MissingParameter):
        what = "argumentet" if isinstance(exc.param, click.Argument) else "tilvalget"
        return f"Mangler {what} {hint}: se 'sagsindsigt {_command(exc)} --help'."
    if isinstance(exc, click.NoSuchOption):
        near = f" Mente du {', '.join(exc.possibilities)}?" if exc.possibilities else ""
        return f"Ukendt tilvalg {exc.option_name}.{near}"
    if isinstance(exc, click.BadOptionUsage):
        return f"Tilvalget {exc.option_name} mangler en værdi."
    if isinstance(exc, click.BadParameter):
        detail = exc.message
        for english, danish in ((" is not a valid integer.", " er ikke et heltal."),
                                (" is not a valid float.", " er ikke et tal."),
                                (" is not one of ", " er ikke en af "),
                                (" is not in the range ", " ligger ikke i intervallet ")):
            detail = detail.replace(english, danish)
        return f"Ugyldig værdi for {hint}: {detail}"
    text = exc.format_message()
    if text.startswith("No such command"):
        return f"Ukendt kommando {text.split(' ', 3)[-1].rstrip('.')}: se 'sagsindsigt --help'."
    if text.startswith("Got unexpected extra argument"):
        return "For mange argumenter: " + text.split("(", 1)[-1].rstrip(")") + "."
    return text


def _command(exc: click.UsageError) -> str:
    return exc.ctx.command_path.split(" ", 1)[-1] if exc.ctx is not None else ""


def _code(exc: Exception) -> int:
    from .kpis import KpiUsageError

    return 2 if isinstance(exc, KpiUsageError) else 1


def _sentence(exc: Exception) -> str:
    from .privacy import mask_cpr

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return mask_cpr(text)


if __name__ == "__main__":
    sys.exit(main())
