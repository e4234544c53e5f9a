"""The common language: record kinds, fields and code lists with Danish labels."""

from .codes import CODE_LISTS, label
from .kinds import IMPORT_KINDS, KINDS, Field, Kind, get_kind

__all__ = ["CODE_LISTS", "IMPORT_KINDS", "KINDS", "Field", "Kind", "get_kind", "label"]
