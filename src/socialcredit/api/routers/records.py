"""Sources submit records: rows in the interchange format, or a whole file in a national
publication format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from ...services import access, ingest, uploads
from .. import schemas
from ..deps import ERRORS, RegDep, WhoDep

router = APIRouter()


@router.post("/v1/records", response_model=schemas.IngestOut, responses=ERRORS, tags=["records"])
def post_records(reg: RegDep, who: WhoDep, body: schemas.RecordsIn) -> Any:
    """Submit rows in the interchange format as the source the token belongs to."""
    access.require(who, "source")
    assert who.source is not None
    rows = [(i, row) for i, row in enumerate(body.rows, start=1)]
    summary = ingest.ingest(
        reg, rows, who.source, actor=f"api:{who.source}", file_name=body.file_name
    )
    return summary.as_dict(max_rejects=1000)


@router.post(
    "/v1/uploads",
    response_model=schemas.UploadOut,
    responses=ERRORS,
    tags=["records"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def post_upload(
    reg: RegDep,
    who: WhoDep,
    request: Request,
    file_name: Annotated[
        str,
        Query(description="The file's name: its type (.csv, .xlsx, .json, .jsonl)", max_length=200),
    ],
    fmt: Annotated[
        str,
        Query(
            alias="format",
            description="A national format of the pack, or auto (GET formats: socialcredit formats list)",
            max_length=80,
        ),
    ] = "auto",
) -> Any:
    """A whole file as the source publishes it, in a national publication format: the body is
    the file's bytes, streamed to a temporary file (up to the upload limit), then read through
    the pack's mapping. Problems are named by the file's own columns and rows."""
    access.require(who, "source")
    assert who.source is not None
    with uploads.temporary_file(file_name) as path:
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        summary, used = await run_in_threadpool(
            ingest.ingest_format, reg, path, who.source, fmt, actor=f"api:{who.source}"
        )
    summary.file_name = Path(file_name).name
    return {**summary.as_dict(max_rejects=1000), "format": used}
