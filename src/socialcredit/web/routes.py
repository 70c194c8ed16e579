"""The pages, put together: the public portal (and, signed in, the console and the subject's portal)."""

from __future__ import annotations

from fastapi import APIRouter

from . import account, console, copy, lending, public
from .render import HERE

__all__ = ["HERE", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(public.router)
router.include_router(account.router)
router.include_router(copy.router)
router.include_router(console.router)
router.include_router(lending.router)
