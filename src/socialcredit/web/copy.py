"""A copy of everything held about the signed-in subject (PIPL Art. 45) and its calendar:
the archive with its readable PDF, and the ``.ics`` feed. The API's routes use the same
renderer (``readable``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..services import subject_copy
from ..services.access import Principal
from ..services.subjects import code_of
from .deps import signed_in
from .render import HERE, pdf, pdf_job, render_string

router = APIRouter()


def readable(request: Request) -> Callable[[dict[str, Any]], bytes]:
    """Lays a subject's file out as a PDF, in the reader's language."""

    def make(file: dict[str, Any]) -> bytes:
        html = render_string(
            request,
            "copy.html",
            {"file": file, "css": (HERE / "static" / "site.css").read_text(encoding="utf-8")},
        )
        return pdf(html)

    return make


def zip_response(data: bytes, manifest: dict[str, Any]) -> Response:
    day = str(manifest["as_of"])[:10]
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="my-file-{day}.zip"',
            "X-Content-SHA256": str(manifest["sha256"]),
        },
    )


def ics_response(data: bytes) -> Response:
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="my-dates.ics"'},
    )


@router.get("/me/export")
def my_copy(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
) -> Any:
    reg = request.app.state.registry
    assert who.subject_id is not None
    code = code_of(reg, who.subject_id)
    data, manifest = pdf_job(
        lambda: subject_copy.archive(reg, code, reader=who.label, readable=readable(request))
    )
    return zip_response(data, manifest)


@router.get("/me/calendar.ics")
def my_calendar(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
) -> Any:
    reg = request.app.state.registry
    assert who.subject_id is not None
    file = subject_copy.own_file(reg, code_of(reg, who.subject_id), who.label)
    return ics_response(subject_copy.ics(reg, file["subject"], file["calendar"]))
