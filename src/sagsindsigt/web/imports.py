"""``POST /api/import/{kind}``: the nightly import job delivers a file with its API token,
through the same importer as ``sagsindsigt import`` (administrators' tokens only)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ..contract.kinds import unknown_import_kind
from ..ingest import import_file
from ..privacy import mask_cpr
from . import uploads
from .pages import Figures


def router(fig: Figures, changed=None) -> APIRouter:
    """``changed``: called after an import that changed the data (the app then computes the
    first pages' figures afresh in the background)."""
    r = APIRouter(tags=["indlæsning"])

    @r.post("/api/import/{kind}", summary="Indlæs en fil (som 'sagsindsigt import')",
            responses={200: {"description": "Indlæst (eller allerede indlæst)"},
                       400: {"description": "Ukendt datatype, fil eller mapping"},
                       413: {"description": "Filen er større end grænsen"},
                       422: {"description": "Rækker afvist; se 'rejects'"}})
    async def api_import(kind: str, file: Annotated[UploadFile, File()],
                         source: Annotated[str | None, Form()] = None,
                         covers: Annotated[str | None, Form()] = None,
                         strict: Annotated[bool, Form()] = False):
        if message := unknown_import_kind(kind):
            return JSONResponse({"error": message}, status_code=400)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / uploads.upload_name(file, f"{kind}.csv")
            await uploads.save(file, path)  # over the size limit: 413

            def run():
                with fig.lock:
                    return import_file(fig.store, kind, path, source=source, covers=covers,
                                       strict=strict)

            try:
                res = await run_in_threadpool(run)
            except (ValueError, RuntimeError) as exc:  # the importer's Danish errors
                return JSONResponse({"error": mask_cpr(str(exc))}, status_code=400)
        if res.rows_loaded and changed is not None:
            changed()
        body = res.as_dict()
        body["rejects"] = body["rejects"][:100]
        return JSONResponse(body, status_code=422 if res.rows_rejected else 200)

    return r
