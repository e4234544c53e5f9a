"""An uploaded file (the import API, audit answers) is copied to a temporary file in 1 MB
pieces and refused once it passes the import size limit (``import_max_file_mb``), never read
whole into memory. The refusal, :class:`~sagsindsigt.ingest.read.TooLarge`, answers 413
(``web/access.py``, ``handlers``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from ..ingest.read import MB, shown_name, too_large
from ..settings import Settings


def upload_name(file: UploadFile, default: str) -> str:
    """The upload's file name without folders, CPR-shaped numbers masked."""
    name = shown_name(file.filename or default)
    return name if name not in ("", ".", "..") else default


async def save(file: UploadFile, dest: Path, settings: Settings | None = None) -> None:
    settings = settings or Settings()
    limit = settings.import_max_file_mb * MB
    if file.size is not None and file.size > limit:
        raise too_large(dest.name, settings)
    n = 0
    with dest.open("wb") as out:
        while chunk := await file.read(MB):
            n += len(chunk)
            if n > limit:
                raise too_large(dest.name, settings)
            out.write(chunk)
