"""Signed-in pages for credit sharing: a lender's consents and its reports on consenting
subjects (HTML and PDF), and a subject granting and revoking consents from its portal."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..clock import parse_moment
from ..errors import NotPermitted, RegistryError
from ..services import consents, lending, subjects
from ..services.access import Principal
from . import session
from .account import back_with_error, own_code
from .deps import CsrfChecked, signed_in
from .render import HERE, page, pdf_job, qr_data_uri, render_string
from .render import pdf as render_pdf

router = APIRouter(include_in_schema=False)


def _reg(request: Request) -> Any:
    return request.app.state.registry


@router.get("/lender", response_class=HTMLResponse)
def lender_home(
    request: Request,
    who: Annotated[Principal, signed_in("lender")],
) -> Any:
    held = consents.listing(_reg(request), who)
    return page(request, "lender.html", {"who": who, "consents": held})


def _report(request: Request, code: str) -> tuple[dict[str, Any] | None, Any]:
    who = session.require(request, "lender")
    if isinstance(who, RedirectResponse):
        return None, who
    try:
        subjects.no_number_in_url(_reg(request), code, "use the subject id the consent lists (P-…)")
        return lending.lender_report(_reg(request), who, code), None
    except NotPermitted as exc:
        return None, page(request, "error.html", {"message": exc.message}, status_code=403)
    except RegistryError as exc:
        return None, page(request, "error.html", {"message": exc.message}, status_code=exc.status)


@router.get("/lender/reports/{code}", response_class=HTMLResponse)
def report_html(request: Request, code: str) -> Any:
    report, refused = _report(request, code)
    if refused is not None:
        return refused
    return page(request, "lender_report.html", {"report": report, "code": code})


@router.get("/lender/reports/{code}/pdf")
def report_pdf(request: Request, code: str) -> Any:
    return pdf_job(lambda: _report_pdf(request, code))


def _report_pdf(request: Request, code: str) -> Any:
    report, refused = _report(request, code)
    if refused is not None or report is None:
        return refused
    seal = report["seal"]
    check = urlencode({"report": report["report_id"], "sha256": seal["sha256"], "mac": seal["mac"]})
    html = render_string(
        request,
        "lender_report.html",
        {
            "report": report,
            "code": code,
            "pdf": True,
            "css": (HERE / "static" / "site.css").read_text(encoding="utf-8"),
            "qr": qr_data_uri(f"{_reg(request).settings.public_url}/report/verify/lender?{check}"),
        },
    )
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="lender-report-{report["report_id"]}.pdf"'
        },
    )


@router.get("/report/verify/lender", response_class=HTMLResponse)
def verify(
    request: Request,
    report: Annotated[str, Query(max_length=40)] = "",
    sha256: Annotated[str, Query(max_length=64)] = "",
    mac: Annotated[str, Query(max_length=64)] = "",
) -> Any:
    """Whether this registry sealed a lender's report with this id and digest (the address its
    PDF's QR code carries). Public: it says yes or no and shows nothing of the report."""
    checked = bool(report and sha256 and mac)
    valid = checked and lending.verify_seal(_reg(request), report, sha256, mac)
    return page(
        request,
        "lender_verify.html",
        {"checked": checked, "valid": valid, "report_id": report, "sha256": sha256},
    )


@router.post("/me/consents", response_class=HTMLResponse)
def grant(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    lender: Annotated[str, Form(max_length=64)],
    purpose: Annotated[str, Form(max_length=64)],
    until: Annotated[str, Form(max_length=40)] = "",
) -> Any:
    reg = _reg(request)
    try:
        consents.grant(
            reg,
            who,
            own_code(request, who),
            lender=lender,
            purpose=purpose,
            until=parse_moment(until, reg.tz) if until else None,
        )
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me?done=consent#consents", 303)


@router.post("/me/consents/{consent_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    who: Annotated[Principal, signed_in("subject")],
    _csrf: CsrfChecked,
    consent_id: str,
) -> Any:
    try:
        consents.revoke(_reg(request), who, consent_id)
    except RegistryError as exc:
        return back_with_error(request, who, exc)
    return RedirectResponse("/me?done=revoked#consents", 303)
