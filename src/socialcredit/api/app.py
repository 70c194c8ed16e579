"""The FastAPI application: the registry's API and pages, their limits and error answers.
Routes parse input, call one service, and return its answer (``routers/``, one module per
concern; what they depend on in ``deps.py``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from ..bootstrap import Registry
from ..services import checks, sweep
from . import errors as api_errors
from .check_server import SingleChecks
from .limits import BodyLimit, SecurityHeaders
from .ratelimit import SearchLimiter
from .routers import ROUTERS

log = logging.getLogger(__name__)


def create_app(
    reg: Registry | None = None,
    *,
    background_sweep: bool = False,
    search_limiter: SearchLimiter | None = None,
    single_checks: bool = True,
) -> FastAPI:
    """The API and the pages over ``reg``. ``search_limiter`` replaces the limiter that the
    settings describe (tests give one with their own clock). ``single_checks=False`` leaves
    ``GET /v1/checks`` to its route in the framework (tests compare the two)."""
    registry = reg or Registry.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = sweep.Sweeper(registry) if background_sweep else None
        if sweeper is not None:
            sweeper.start()
        # checks' reads are written by a thread of their own, never by a request
        checks.index(registry).read_log.start_flusher()
        # what start-up built (the pack, the routes, the templates) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it, and
        # the pauses it made in answers shorten
        gc.collect()
        gc.freeze()
        yield
        if sweeper is not None:
            sweeper.stop()
        checks.index(registry).read_log.stop_flusher()
        sweep.flush_reads(registry)

    # the API's documentation pages (/docs, /redoc) with Swagger UI and ReDoc served from the
    # package: they work on a machine with no access to a CDN
    app = FastAPIOffline(
        lifespan=lifespan,
        title="socialcredit",
        version="0.1.0",
        description=(
            "A credit-information registry. Checks answer whether a subject is restricted from "
            "a measure, with the listing, decision, legal basis, dates and how to resolve it."
        ),
    )
    app.state.registry = registry
    # innermost first: single checks, then the body limit, then the headers on every answer
    if single_checks:
        app.add_middleware(SingleChecks, reg=registry)
    app.add_middleware(
        BodyLimit,
        max_body=registry.settings.max_body,
        max_upload=registry.settings.max_upload,
    )
    app.add_middleware(SecurityHeaders)
    app.state.search_limiter = search_limiter or SearchLimiter(
        registry.settings.search_rate, registry.settings.search_burst
    )
    app.state.person_check_limiter = SearchLimiter(
        registry.settings.person_check_rate, registry.settings.person_check_burst
    )

    api_errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    from fastapi.staticfiles import StaticFiles

    from ..web.routes import HERE as WEB_DIR
    from ..web.routes import router as web_router

    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    return app
