"""Pages: a home page with what the registry holds, a public profile, and a check form."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..errors import RegistryError
from ..services import checks, views
from ..services.subjects import resolve_code

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _reg(request: Request) -> Any:
    return request.app.state.registry


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Any:
    reg = _reg(request)
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "stats": views.stats(reg),
            "pack": reg.pack,
        },
    )


@router.get("/subjects", response_class=HTMLResponse)
def subject_page(request: Request, code: Annotated[str, Query(max_length=40)] = "") -> Any:
    reg = _reg(request)
    profile, error = None, None
    try:
        profile = views.public_profile(reg, code)
    except RegistryError as exc:
        error = exc.message
    return templates.TemplateResponse(
        request,
        "subject.html",
        {
            "code": code,
            "profile": profile,
            "error": error,
        },
        status_code=200 if profile else 404,
    )


@router.get("/check", response_class=HTMLResponse)
def check_page(
    request: Request,
    subject: Annotated[str, Query(max_length=40)] = "",
    measure: Annotated[str, Query(max_length=80)] = "restrict_air_travel",
) -> Any:
    reg = _reg(request)
    result, error = None, None
    if subject:
        try:
            if resolve_code(reg, subject).kind == "person":
                # a person's status is personal data: implementing agencies check it through
                # the API with their credentials, and each check is recorded in the person's file
                error = (
                    "checks on natural persons are for implementing agencies (API with a "
                    "token); organisations' listings are public"
                )
            else:
                result = checks.answer(reg, subject, measure, reader="public:web")
        except RegistryError as exc:
            error = exc.message
    return templates.TemplateResponse(
        request,
        "check.html",
        {
            "subject": subject,
            "measure": measure,
            "measures": reg.pack.measures,
            "result": result,
            "error": error,
        },
    )
