"""Quality audits (kvalitetsopfølgning, seed 002): the annual plan, reproducible samples,
review entry, closing rounds and calibration. The figures themselves (correct share, error
statistics, agreement) come from the KPI registry (``kpis/audits.py``)."""

from __future__ import annotations

from .plan import (
    STATUS_LABELS,
    AuditError,
    AuditUsageError,
    Check,
    Concept,
    RoundState,
    concept,
    concepts,
    deadline,
    round_period,
    round_states,
    rounds_of,
)
from .reviews import (
    Answer,
    CaseProgress,
    CsvReport,
    Disagreement,
    answers,
    choose_calibration,
    close_round,
    disagreements,
    history,
    import_csv,
    progress,
    reopen_round,
    save_answer,
)
from .sampling import (
    SOURCE,
    Sample,
    SampleCase,
    allocate,
    draw,
    load_sample,
    pick,
    population,
    sample_size,
)

__all__ = [
    "SOURCE", "STATUS_LABELS", "Answer", "AuditError", "AuditUsageError", "CaseProgress",
    "Check", "Concept", "CsvReport", "Disagreement", "RoundState", "Sample", "SampleCase",
    "allocate", "answers", "choose_calibration", "close_round", "concept", "concepts",
    "deadline", "disagreements", "draw", "history", "import_csv", "load_sample", "pick",
    "population", "progress", "reopen_round", "round_period", "round_states", "rounds_of",
    "sample_size", "save_answer",
]
