"""Reports made in the background (issue 16): the *Rapporter* page starts a job, polls its
progress ("Beregner tal …", "Tegner diagrammer …", "Sætter siderne …") and then fetches the
file. Without JavaScript the page's form downloads the report directly, as before.

A job belongs to the principal who started it: its name, role and data scope. Its progress
and its file are answered to that principal only; to anyone else the job does not exist
(404), whatever their role. The jobs are bounded: a few at a time per person and in all, a
finished job is kept ``KEEP`` seconds and the oldest finished goes first when ``MAX_KEPT``
are held, so memory does not grow with use.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..access import Denied, Principal, acting_as
from ..kpis import KpiUsageError

log = logging.getLogger(__name__)

KEEP = 600.0  # seconds a finished report waits to be fetched
MAX_KEPT = 32  # jobs held at most (running, waiting and finished)
PER_PERSON = 2  # unfinished jobs one person may have
WORKERS = 2  # reports made at the same time (the figures take turns on the store anyway)
TEXTS = {"queued": "Venter på tur …", "figures": "Beregner tal …",
         "charts": "Tegner diagrammer …", "pages": "Sætter siderne …",
         "workbook": "Skriver regnearket …", "done": "Rapporten er klar.",
         "error": "Rapporten kunne ikke laves."}
# the share of a report's time each stage takes (measured on the 4-year demo, bench_reports)
WEIGHTS = {"pdf": {"figures": 0.45, "charts": 0.15, "pages": 0.40},
           "xlsx": {"figures": 0.9, "workbook": 0.1},
           "html": {"figures": 0.85, "charts": 0.15}}


class Busy(Exception):
    """Too many reports are being made: the Danish sentence says whose."""


def owner_of(p: Principal) -> tuple[str, str, str, str]:
    """Who a job belongs to: the same person, signed in the same way, with the same role and
    data scope (a role or scope changed meanwhile ends the right to the file)."""
    return (p.name, p.via, p.role, p.data_scope.key())


@dataclass
class ReportJob:
    id: str
    owner: tuple[str, str, str, str]
    fmt: str
    filename: str
    stage: str = "queued"
    share: float = 0.0
    error: str | None = None
    data: bytes | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def state(self) -> str:
        return "error" if self.error is not None else \
            "done" if self.data is not None else "running"

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        weights = WEIGHTS[self.fmt]
        before = 0.0
        for stage, w in weights.items():
            if stage == self.stage:
                return min(99, round(100 * (before + w * self.share)))
            before += w
        return 0

    def status(self) -> dict:
        """What the page shows: the stage in Danish, the share done, the file when ready."""
        out = {"id": self.id, "state": self.state, "stage": self.stage,
               "text": TEXTS["done" if self.state == "done" else self.stage],
               "percent": self.percent}
        if self.state == "done":
            out.update(file=f"/rapporter/job/{self.id}/fil", filename=self.filename)
        if self.error is not None:
            out.update(text=TEXTS["error"], error=self.error)
        return out


class ReportJobs:
    """The jobs of one app: started by ``start``, looked up by ``find`` for their owner."""

    def __init__(self, workers: int = WORKERS, keep: float = KEEP, max_kept: int = MAX_KEPT,
                 per_person: int = PER_PERSON):
        self.keep, self.max_kept, self.per_person = keep, max_kept, per_person
        self._jobs: OrderedDict[str, ReportJob] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rapport")

    def start(self, p: Principal, fmt: str, filename: str,
              make: Callable[[Callable[[str, float], None]], bytes],
              around: Callable[[], object] | None = None) -> ReportJob:
        """A new job making ``make(progress)`` as ``p`` (every read scoped to ``p``), inside
        the context manager ``around()`` when given (the app's "a request is served")."""
        job = ReportJob(secrets.token_urlsafe(18), owner_of(p), fmt, filename)
        with self._lock:
            self._expire(time.monotonic(), room=True)
            mine = [j for j in self._jobs.values()
                    if j.owner[:2] == job.owner[:2] and j.finished is None]
            if len(mine) >= self.per_person:
                raise Busy(f"Du har allerede {len(mine)} rapporter i gang. Vent, til de er "
                           "færdige, og prøv så igen.")
            if len(self._jobs) >= self.max_kept:
                raise Busy("Der laves mange rapporter lige nu. Prøv igen om et øjeblik.")
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, p, make, around)
        return job

    def find(self, job_id: str, p: Principal) -> ReportJob | None:
        """The job, if ``p`` started it and it has not expired; else None."""
        with self._lock:
            self._expire(time.monotonic())
            job = self._jobs.get(job_id)
        if job is None or not secrets.compare_digest("\0".join(job.owner),
                                                     "\0".join(owner_of(p))):
            return None
        return job

    def wait(self, job_id: str, timeout: float) -> bool:
        """Whether the job finished within ``timeout`` seconds (for tests and tools: the page
        asks ``find`` instead)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                job = self._jobs.get(job_id)
            if job is None or job.finished is not None:
                return job is not None
            time.sleep(0.02)
        return False

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _expire(self, now: float, room: bool = False) -> None:
        """Drop the finished jobs older than ``keep``; for ``room`` (a new job) at the limit,
        the oldest finished too."""
        for jid, j in list(self._jobs.items()):
            if j.finished is not None and now - j.finished > self.keep:
                del self._jobs[jid]
        done = [jid for jid, j in self._jobs.items() if j.finished is not None]
        while room and len(self._jobs) >= self.max_kept and done:
            del self._jobs[done.pop(0)]

    def _run(self, job: ReportJob, p: Principal, make, around) -> None:
        def progress(stage: str, share: float) -> None:
            job.stage, job.share = stage, max(0.0, min(1.0, share))

        try:
            with acting_as(p):
                if around is None:
                    data = make(progress)
                else:
                    with around():
                        data = make(progress)
            job.data = data
        except (KpiUsageError, Denied) as exc:
            job.error = str(exc)
        except Exception:  # the page says so in Danish; the log keeps the details
            log.exception("rapportjob %s fejlede", job.id)
            job.error = "Der skete en fejl på serveren. Prøv igen, eller hent rapporten " \
                        "uden statusvisning."
        finally:
            job.finished = time.monotonic()


__all__ = ["Busy", "ReportJob", "ReportJobs", "owner_of"]
