"""A mapping file per source: source columns → contract fields, source codes → code-list values.

```yaml
source: sofus            # default source name for imports with this mapping
columns:                 # source column: contract field
  Sagsnummer: case_id
  Modtaget: received
codes:                   # per contract field: source value: code
  outcome: {Afslag: afslag, Bevilling: bevilget}
  case_type: {"SL §100": SL100}
constants:               # a fixed value for every row
  administration: SOF
allow_unknown: [unit]    # keep rows whose unit the loaded organisation lacks, with a warning
classifier: Activity     # events: the activity from a classifier the XES log declares, or
                         # from attribute keys ([concept:name, lifecycle:transition])
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..contract import Kind
from .known import MAY_BE_UNKNOWN
from .read import ReadError, decode, yaml_problem

SECTIONS = ("source", "columns", "codes", "constants", "allow_unknown", "classifier")


class MappingError(ValueError):
    pass


@dataclass
class Mapping:
    source: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    allow_unknown: frozenset[str] = frozenset()  # fields whose unknown codes are kept
    classifier: str | list[str] | None = None  # events: how the activity is made (xes.py)

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        if path is None:
            return cls()
        path = Path(path)
        if not path.is_file():
            raise MappingError(f"Mapping-filen {path} findes ikke.")
        try:
            data = yaml.safe_load(decode(path.read_bytes(), path.name)) or {}
        except ReadError as exc:
            raise MappingError(str(exc)) from exc
        except yaml.YAMLError as exc:
            raise MappingError(yaml_problem(f"Mapping-filen {path}", exc)) from exc
        if not isinstance(data, dict):
            raise MappingError(f"Mapping-filen {path} skal være et YAML-objekt.")
        unknown = set(data) - set(SECTIONS)
        if unknown:
            raise MappingError(
                f"Mapping-filen {path} har ukendte afsnit: {', '.join(sorted(unknown))} "
                f"(tilladt: {', '.join(SECTIONS)})."
            )
        return cls(
            source=data.get("source"),
            columns={str(k).strip(): str(v) for k, v in (data.get("columns") or {}).items()},
            codes={f: {str(k).strip(): str(v) for k, v in (m or {}).items()}
                   for f, m in (data.get("codes") or {}).items()},
            constants={k: str(v) for k, v in (data.get("constants") or {}).items()},
            allow_unknown=_allow_unknown(path, data.get("allow_unknown")),
            classifier=_classifier(path, data.get("classifier")),
        )

    def check(self, kind: Kind) -> None:
        names = set(kind.names)
        bad = [v for v in self.columns.values() if v not in names]
        bad += [f for f in [*self.codes, *self.constants, *self.allow_unknown]
                if f not in names]
        if self.classifier is not None and kind.name != "events":
            raise MappingError("Mapping-filen har en classifier, men den gælder kun "
                               "hændelser (events).")
        if bad:
            raise MappingError(
                f"Mapping-filen nævner felter, som {kind.label} ikke har: {', '.join(bad)} "
                f"(felter: {', '.join(kind.names)})."
            )

    def rename(self, columns: list[str], kind: Kind) -> dict[str, str]:
        """Source column → contract field: mapped columns, plus columns already named right
        (compared case-insensitively)."""
        out: dict[str, str] = {}
        lower = {n.lower(): n for n in kind.names}
        for c in columns:
            if c in self.columns:
                out[c] = self.columns[c]
            elif (c.strip().lower() in lower
                  and lower[c.strip().lower()] not in self.columns.values()):
                out[c] = lower[c.strip().lower()]
        return out


def _classifier(path: Path, value) -> str | list[str] | None:
    """The ``classifier`` section: a classifier's name or one key, or a list of keys."""
    if value is None or isinstance(value, str) and value.strip():
        return value.strip() if isinstance(value, str) else None
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return [v.strip() for v in value]
    raise MappingError(f"Mapping-filen {path}: classifier skal være navnet på en klassifikator "
                       "i loggen eller en liste af attributnøgler, fx [concept:name, "
                       "lifecycle:transition].")


def _allow_unknown(path: Path, value) -> frozenset[str]:
    """The ``allow_unknown`` section: a list of the fields whose unknown codes are kept."""
    fields = [value] if isinstance(value, str) else value or []
    bad = [f for f in fields if f not in MAY_BE_UNKNOWN] if isinstance(fields, list) \
        else [fields]
    if bad:
        raise MappingError(
            f"Mapping-filen {path} kan under allow_unknown kun nævne "
            f"{' og '.join(MAY_BE_UNKNOWN)}, ikke: {', '.join(str(f) for f in bad)}."
        )
    return frozenset(fields)
