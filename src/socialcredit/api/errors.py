"""How the API and the pages answer an error: the registry's own errors with their status
(a page for the pages, JSON for the API), HTTP errors, requests that do not match the API, and
text that is not Unicode."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..errors import RegistryError
from ..web.deps import SignInRequired


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the application accepts on the request's path."""
    found = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(r.matches(scope)[0] is Match.FULL for r in request.app.router.routes):
            found.append(method)
    return found


def install(app: FastAPI) -> None:
    """Register the error answers on ``app``."""

    @app.exception_handler(RegistryError)
    async def _registry_error(request: Request, exc: RegistryError) -> Response:
        headers: dict[str, str] | None = getattr(exc, "headers", None)
        if not request.url.path.startswith(("/v1/", "/screening/")):
            from ..web.render import page

            return page(
                request,
                "error.html",
                {"message": exc.message},
                status_code=exc.status,
                headers=headers,
            )
        return JSONResponse(
            status_code=exc.status,
            content={"error": exc.code, "message": exc.message, "detail": exc.detail},
            headers=headers,
        )

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/signin?next={exc.target}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        api = request.url.path.startswith(
            ("/v1/", "/screening/", "/static/", "/healthz", "/openapi")
        )
        if exc.status_code == 404 and not api:
            from ..web.render import not_found

            return not_found(request)  # a page in the reader's language, never a bare error
        if exc.status_code == 400 and request.url.path.startswith(("/v1/", "/screening/")):
            # FastAPI could not read the body at all (not UTF-8): as unreadable as bad JSON,
            # which it reports as a validation error, so the same 422 and format
            return JSONResponse(
                status_code=422,
                content={
                    "error": "invalid_request",
                    "message": "the body could not be read: send JSON encoded in UTF-8",
                    "detail": [{"loc": ["body"], "msg": str(exc.detail)}],
                },
            )
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only (GET of
            # /v1/checks, not its POST): name those of every route that serves the path
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": "http_error", "message": str(exc.detail), "detail": None},
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_request",
                "message": "the request does not match the API",
                "detail": problems,
            },
        )

    @app.exception_handler(UnicodeEncodeError)
    async def _not_unicode(_request: Request, _exc: UnicodeEncodeError) -> JSONResponse:
        # JSON lets a string escape half of a surrogate pair (\ud800), which no text encoding
        # can write: bad input, not a server error
        return JSONResponse(
            status_code=422,
            content={
                "error": "invalid_request",
                "message": "the request holds text that is not valid Unicode (a lone surrogate)",
                "detail": None,
            },
        )
