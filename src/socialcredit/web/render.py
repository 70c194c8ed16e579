"""Rendering a page: the reader's language, the layout's context, the language cookie."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from ..errors import RegistryError
from . import i18n, session

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(i18n.template_globals())
COOKIE_LANG = "lang"


def language(request: Request) -> str:
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(COOKIE_LANG),
        request.headers.get("accept-language"),
        i18n.pack_languages(request.app.state),
    )


def _personal(value: str) -> bool:
    """A value shaped like a resident ID number, valid or mistyped (15 or 18 characters,
    digits with perhaps an X last, spaces ignored)."""
    digits = "".join(value.split()).upper()
    return len(digits) in (15, 18) and digits[:-1].isdigit() and digits[-1] in "0123456789X"


def switch_url(request: Request, lang: str) -> str:
    """The same address in another language. A resident ID number the reader typed is not
    carried into the link: the registry never writes one into an address (addresses end up in
    histories, logs and shared links)."""
    params = [
        (k, v) for k, v in request.query_params.multi_items() if k != "lang" and not _personal(v)
    ]
    params.append(("lang", lang))
    return f"{request.url.path}?{urlencode(params)}"


def _identifier_names(request: Request, lang: str) -> dict[str, str]:
    """The names of the numbers that identify subjects under the pack, for labels: the
    organisation's, and a hint naming the organisation's and the person's after a label."""
    reg = getattr(request.app.state, "registry", None)
    if reg is None:
        return {"org_id_name": "", "code_hint": ""}
    ids = reg.pack.meta.ids
    names = [ids.organisation.name.in_(lang)]
    if ids.person is not None:
        names.append(ids.person.name.in_(lang))
    joined = " / ".join(names)
    hint = f"（{joined}）" if lang == "zh" else f" ({joined})"
    return {"org_id_name": names[0], "code_hint": hint}


def is_partial(request: Request) -> bool:
    """An htmx request wants only the fragment it will swap in, not the whole layout."""
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = language(request)
    i18n.use(lang)
    ctx = {
        **_identifier_names(request, lang),
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "other_langs": [
            (code, switch_url(request, code))
            for code in i18n.pack_languages(request.app.state)
            if code != lang
        ],
        "principal": session.principal(request),
        "csrf": getattr(request.state, "csrf", ""),
        **(context or {}),
    }
    resp = templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
    if request.query_params.get("lang") == lang:
        resp.set_cookie(COOKIE_LANG, lang, max_age=365 * 86400, samesite="lax")
    resp.headers["Content-Language"] = i18n.HTML_LANG[lang]
    # an address the reader typed (which may hold an ID number) never leaves in a Referer
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("Vary", "Accept-Language, Cookie")
    return resp


def render_string(request: Request, template: str, context: dict[str, Any]) -> str:
    """A template as text in the reader's language (for PDFs)."""
    lang = language(request)
    i18n.use(lang)
    ctx = {
        **_identifier_names(request, lang),
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "request": request,
        **context,
    }
    return templates.get_template(template).render(ctx)


def not_found(request: Request, message: str | None = None) -> HTMLResponse:
    return page(request, "not_found.html", {"message": message}, status_code=404)


T = TypeVar("T")

#: PDFs rendered at once in a process: each takes a few hundred MB while WeasyPrint lays it out
#: (16 at once reached 2 GB); the others wait their turn, and after ``PDF_WAIT`` seconds are
#: told to come back (503 with Retry-After) rather than pile up.
PDF_SLOTS = 2
PDF_WAIT = 20.0
_pdf_slots = threading.BoundedSemaphore(PDF_SLOTS)
_pdf_lock = threading.Lock()
#: how many render now, and the most that ever did at once (for the tests that hold the cap)
PDF_STATS = {"active": 0, "peak": 0}


class PdfBusy(RegistryError):
    status = 503
    code = "busy"

    def __init__(self) -> None:
        super().__init__("every PDF renderer is busy: try again in a few seconds")
        self.headers = {"Retry-After": "5"}


@contextmanager
def pdf_slot() -> Iterator[None]:
    """Hold one of the ``PDF_SLOTS`` while a PDF is made: the report it shows is built and laid
    out inside (building the report costs memory too, so the cap covers both)."""
    if not _pdf_slots.acquire(timeout=PDF_WAIT):
        raise PdfBusy
    try:
        with _pdf_lock:
            PDF_STATS["active"] += 1
            PDF_STATS["peak"] = max(PDF_STATS["peak"], PDF_STATS["active"])
        yield
    finally:
        with _pdf_lock:
            PDF_STATS["active"] -= 1
        _pdf_slots.release()


def _render(html: str) -> bytes:
    from weasyprint import HTML  # imported on first use: it takes a second to load

    return bytes(HTML(string=html).write_pdf())


#: The threads that lay PDFs out. Always the same few: a layout run on any of the server's
#: request threads left its memory in that thread's allocator arena, and 16 reports at once
#: kept ~1 GB even when they were laid out one at a time.
_PDF_THREADS = ThreadPoolExecutor(max_workers=PDF_SLOTS, thread_name_prefix="pdf")


def download(content: bytes, name: str, media_type: str) -> Response:
    """Bytes served as a download, never shown inline: the name in ASCII and in UTF-8 (RFC
    6266), the type as given and not sniffed by the browser."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_") or "download"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data URI, for a printed document to carry its address."""
    import segno

    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def pdf(html: str) -> bytes:
    """The PDF of a page's HTML (called inside ``pdf_job``)."""
    return _render(html)


def pdf_job(make: Callable[[], T]) -> T:
    """Run ``make`` (build a report and lay out its PDF) on one of the PDF threads, holding a
    slot: at most ``PDF_SLOTS`` at once, on the same few threads, in the caller's context (its
    language)."""
    with pdf_slot():
        ctx = contextvars.copy_context()
        return _PDF_THREADS.submit(ctx.run, make).result()
