"""The API's routes, one module per concern; ``ROUTERS`` in the order the application
includes them (the order of the API documentation)."""

from __future__ import annotations

from . import (
    audit,
    checks,
    due_process,
    lending,
    public,
    records,
    resolution,
    screening,
    sessions,
)

ROUTERS = (
    checks.router,
    records.router,
    public.router,
    audit.router,
    sessions.router,
    due_process.router,
    lending.router,
    resolution.router,
    screening.router,
)
