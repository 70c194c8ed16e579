"""Sources submit records in the interchange format."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import access, ingest
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
