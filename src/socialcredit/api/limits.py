"""Bounds on what one request may cost: the size of its body, and the headers that keep a
browser from framing, sniffing or caching what it was shown.

The body limit is an ASGI middleware, so it holds before anything reads the body: a declared
``Content-Length`` above the limit gets 413 at once; a body sent without one (chunked) is counted
as it arrives and the request fails with 413 as soon as it passes the limit. Uploads (the console's
agency files, objection attachments) have their own, larger limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Routes that take files; everything else is held to the smaller limit.
UPLOAD_PATHS = ("/console/upload", "/me/objections", "/v1/uploads")

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; "
        b"form-action 'self'",
    ),
)


DOC_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")


class TooLarge(HTTPException):
    """Raised while the body is read: an HTTP error, so that the framework's body parsing
    passes it on (it turns other errors into 400 or 422) and the app answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this route accepts ({limit} bytes)")


class BodyLimit:
    """413 for a request body above ``max_body`` (``max_upload`` on the upload routes)."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.max_upload if path.startswith(UPLOAD_PATHS) else self.max_body
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit or declared < 0:
                    await _refuse(send, limit)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": "too_large",
            "message": f"the request body is larger than this route accepts ({limit} bytes)",
            "detail": {"limit": limit},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Every response: no sniffing, no framing, a content security policy; and responses that
    may hold personal data (anything but the static files and the public open-data files)
    are not stored by caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [
                    (k, v)
                    for k, v in SECURITY_HEADERS
                    if k not in present
                    # the interactive API documentation loads its script from its own CDN
                    and not (k == b"content-security-policy" and path in DOC_PATHS)
                ]
                if b"cache-control" not in present and not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
