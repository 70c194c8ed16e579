"""The public portal: search, organisation profiles, credit reports, checks of organisations."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from ..errors import InvalidIdentifier, RegistryError
from ..services import (
    audit,
    checks,
    grading,
    name_search,
    opendata,
    reports,
    supervision,
    transparency,
    views,
)
from ..services.subjects import resolve_code
from . import i18n
from .i18n import _, ngettext
from .render import (
    HERE,
    is_partial,
    language,
    not_found,
    page,
    pdf_job,
    qr_data_uri,
    render_string,
)
from .render import pdf as render_pdf


async def _reader_language(request: Request) -> None:
    """The reader's language for messages made before the page is rendered (``explain``).

    An async dependency runs in the request's own context, which the handler's worker thread
    then copies; set inside a sync handler, the language would only last until it returns."""
    i18n.use(language(request))


router = APIRouter(include_in_schema=False, dependencies=[Depends(_reader_language)])


def _reg(request: Request) -> Any:
    return request.app.state.registry


def explain(exc: RegistryError) -> str:
    """An error in the reader's language, with the registry's own words for the detail."""
    if isinstance(exc, InvalidIdentifier):
        return (
            _("This is not a valid Unified Social Credit Code or ID number.") + f" ({exc.message})"
        )
    if exc.status == 404:
        return _("The registry holds no public information on this code.")
    return exc.message


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Any:
    reg = _reg(request)
    return page(request, "home.html", {"stats": views.stats(reg), "pack": reg.pack})


def _too_many_searches(request: Request, query: str) -> HTMLResponse | None:
    """429 with Retry-After, in the reader's language, for an address that searches faster than
    a person types (the limiter of api/ratelimit.py, which the application holds)."""
    limiter = getattr(request.app.state, "search_limiter", None)
    wait = limiter.take(request.client.host if request.client else None) if limiter else 0
    if not wait:
        return None
    error = ngettext(
        "Too many searches from your address in a short time. Please wait %(n)s second and "
        "search again.",
        "Too many searches from your address in a short time. Please wait %(n)s seconds and "
        "search again.",
        wait,
    ) % {"n": wait}
    ctx = {"query": query, "result": None, "error": error}
    template = "parts/results.html" if is_partial(request) else "search.html"
    return page(request, template, ctx, status_code=429, headers={"Retry-After": str(wait)})


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> Any:
    limited = _too_many_searches(request, q)
    if limited:
        return limited
    reg = _reg(request)
    result, error = None, None
    try:
        result = name_search.search(reg, q)
    except RegistryError as exc:
        error = explain(exc)
    ctx = {"query": q, "result": result, "error": error}
    if is_partial(request):
        return page(request, "parts/results.html", ctx)
    return page(request, "search.html", ctx, status_code=422 if error else 200)


def _organisation(request: Request, uscc: str) -> tuple[str | None, HTMLResponse | None]:
    """The canonical USCC, or the 404 page for a malformed code, a person's, or an unknown one."""
    try:
        ref = resolve_code(_reg(request), uscc, subject_ids=False)
    except RegistryError as exc:
        return None, not_found(request, explain(exc))
    if ref.kind != "organisation":
        return None, not_found(request, _("The registry holds no public information on this code."))
    return ref.subject_id, None


@router.get("/org/{uscc}", response_class=HTMLResponse)
def organisation(request: Request, uscc: str) -> Any:
    reg = _reg(request)
    code, missing = _organisation(request, uscc)
    if missing:
        return missing
    if code != uscc:
        return RedirectResponse(f"/org/{code}", status_code=301)
    try:
        profile = views.public_profile(reg, code)
        grades = grading.public_grades(reg, str(profile["subject"]))
    except RegistryError as exc:
        return not_found(request, explain(exc))
    return page(request, "org.html", {"profile": profile, "grades": grades})


def _report(request: Request, uscc: str) -> tuple[dict[str, Any] | None, HTMLResponse | None]:
    code, missing = _organisation(request, uscc)
    if missing:
        return None, missing
    try:
        return reports.credit_report(_reg(request), code or uscc), None
    except RegistryError as exc:
        return None, not_found(request, explain(exc))


def _verify_url(request: Request) -> str:
    # the configured address, never the request's Host header (which the client chooses)
    return str(_reg(request).settings.public_url) + "/report/verify"


@router.get("/org/{uscc}/report.html", response_class=HTMLResponse)
def report_html(request: Request, uscc: str) -> Any:
    report, missing = _report(request, uscc)
    if missing:
        return missing
    return page(request, "report.html", {"report": report, "verify_url": _verify_url(request)})


@router.get("/org/{uscc}/report.pdf")
def report_pdf(request: Request, uscc: str) -> Any:
    return pdf_job(lambda: _report_pdf(request, uscc))


def _report_pdf(request: Request, uscc: str) -> Any:
    report, missing = _report(request, uscc)
    if missing or report is None:
        return missing
    html = render_string(
        request,
        "report.html",
        {
            "report": report,
            "pdf": True,
            "css": (HERE / "static" / "site.css").read_text(encoding="utf-8"),
            "verify_url": _verify_url(request),
            "qr": qr_data_uri(
                f"{_verify_url(request)}?{urlencode({'code': report['verification_code']})}"
            ),
        },
    )
    document = render_pdf(html)
    stamp = report["verification_code"].split("-")[1]
    return Response(
        document,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="credit-report-{report["subject"]}-{stamp}.pdf"'
        },
    )


@router.get("/report/verify", response_class=HTMLResponse)
def verify(request: Request, code: Annotated[str, Query(max_length=80)] = "") -> Any:
    report, error = None, None
    if code:
        try:
            report = reports.verify(_reg(request), code)
        except RegistryError as exc:
            error = (
                _("No report was issued with this verification code.")
                if exc.status == 404
                else _(
                    "A verification code looks like 91440300708461136T-20261123153012-ABCDEFGHJK."
                )
            )
    return page(
        request,
        "verify.html",
        {"code": code, "report": report, "error": error},
        status_code=404 if error and code else 200,
    )


@router.get("/log", response_class=HTMLResponse)
def log_page(request: Request) -> Any:
    """The event log's state for a person: whether its hash chain verifies, how long it is,
    its signed tree head now, and how to check it oneself (the footer's link; it landed on
    the API's JSON)."""
    reg = _reg(request)
    return page(
        request,
        "log.html",
        {"chain": audit.chain_status(reg), "head": audit.signed_head(reg)},
    )


def _open_data(request: Request) -> dict[str, Any]:
    reg = _reg(request)
    return opendata.snapshot(reg, reg.settings.open_data_dir, source_url=reg.settings.public_url)


@router.get("/open-data/", response_class=HTMLResponse)
def open_data(request: Request) -> Any:
    manifest = _open_data(request)
    descriptions = {
        "records.csv": _("Public records"),
        "records.jsonl": _("Public records"),
        "listings.csv": _("Listings in force"),
        "listings.jsonl": _("Listings in force"),
        "entities.ftm.json": _("FollowTheMoney entities"),
    }
    return page(request, "open_data.html", {"manifest": manifest, "descriptions": descriptions})


@router.get("/open-data/{name}")
def open_data_file(request: Request, name: str) -> Any:
    manifest = _open_data(request)
    if name == "manifest.json":
        return JSONResponse(manifest)
    if name not in opendata.FILES:
        return not_found(request)
    path = _reg(request).settings.open_data_dir / manifest["day"] / name
    media = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/x-ndjson"
    return FileResponse(
        path,
        media_type=media,
        filename=f"socialcredit-{manifest['day']}-{name}",
        # files naming listed persons are not kept by caches: a person delisted today must not
        # be served from a cache for another hour
        headers={
            "Cache-Control": "no-store" if manifest.get("persons", 1) else "public, max-age=3600"
        },
    )


def _months(months: str) -> int | None:
    """The period asked for (``12``, ``24``, ``36`` months or ``all``); twelve by default."""
    if months == "all":
        return None
    return int(months) if months.isdigit() and int(months) in transparency.PERIODS else 12


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(request: Request, months: Annotated[str, Query(max_length=8)] = "12") -> Any:
    span = _months(months)
    stats = transparency.period(transparency.statistics(_reg(request)), span)
    return page(
        request,
        "transparency.html",
        {
            "stats": stats,
            "charts": transparency.charts(stats, language(request)),
            "chart_keys": transparency.CHART_KEYS,
            "months": "all" if span is None else str(span),
            "periods": ["all" if p is None else str(p) for p in transparency.PERIODS],
        },
    )


@router.get("/transparency/{key}.csv")
def transparency_csv(
    request: Request, key: str, months: Annotated[str, Query(max_length=8)] = "12"
) -> Any:
    """One chart's figures as CSV, for the period shown, in the reader's language."""
    if key not in transparency.CHART_KEYS:
        return not_found(request, _("No such chart."))
    stats = transparency.period(transparency.statistics(_reg(request)), _months(months))
    body = transparency.table_csv(stats, key, language(request))
    return Response(
        "\ufeff" + body,  # a byte-order mark: spreadsheets then read the Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{key}-{stats["as_of"][:10]}.csv"'},
    )


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(request: Request) -> Any:
    """Classes of risk-based supervision by province and entity type, their trend, and the
    latest inspection plan: counts only, small cells suppressed."""
    stats = supervision.statistics(_reg(request))
    return page(
        request,
        "supervision.html",
        {"stats": stats, "charts": supervision.charts(stats, language(request))},
    )


@router.get("/subjects", response_class=HTMLResponse)
def subject_page(request: Request, code: Annotated[str, Query(max_length=40)] = "") -> Any:
    """An organisation's code goes to its profile. A resident ID number gets the same page
    whatever the number: a person is never looked up by number on a public page (that answer
    was an oracle that rebuilt masked numbers); a listed person is reached from the list."""
    reg = _reg(request)
    if not code:
        return RedirectResponse("/search", status_code=303)
    try:
        ref = resolve_code(reg, code, subject_ids=False)
    except RegistryError as exc:
        return not_found(request, explain(exc))
    if ref.kind == "organisation":
        return RedirectResponse(f"/org/{ref.subject_id}", status_code=303)
    return not_found(
        request,
        _(
            "Natural persons are not looked up by ID number. A listed person's public entry "
            "is reached from the list: each listing in the open data has its own page."
        ),
    )


@router.get("/listing/{listing_id}", response_class=HTMLResponse)
def listing_page(request: Request, listing_id: Annotated[str, Path(max_length=40)]) -> Any:
    """The public entry a listing leads to, now (a person masked, only while listed)."""
    try:
        profile = views.public_listing(_reg(request), listing_id)
    except RegistryError as exc:
        return not_found(request, explain(exc))
    if profile["kind"] == "organisation":
        return RedirectResponse(f"/org/{profile['subject']}", status_code=303)
    return page(request, "subject.html", {"profile": profile, "grades": []})


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
            if resolve_code(reg, subject, subject_ids=False).kind == "person":
                # a person's status is personal data: implementing agencies check it signed in,
                # and each check is recorded in the person's file
                error = _(
                    "Checks on natural persons are for implementing agencies, signed in; "
                    "organisations' listings are public."
                )
            else:
                result = checks.answer(reg, subject, measure, reader="public:web")
        except RegistryError as exc:
            error = explain(exc)
    return page(
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
