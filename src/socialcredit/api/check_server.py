"""The check server: point-of-service checks over HTTP at volume, beside the full API.

The same questions as ``GET /v1/checks`` and ``POST /v1/checks`` of the API, answered by the
same service (``services/checks.py``) with the same JSON and the same errors, but served by a
bare ASGI application: no per-request dependency injection, validation models or middleware,
which cost more than the check itself. Run it with several worker processes
(``socialcredit serve-checks --workers N``); each maps the same check file.

Routes:

- ``GET /v1/checks?subject=&measure=[&as_of=]``: one check of an organisation (as the API's; a
  resident ID number is refused in a URL, as by the API);
- ``POST /v1/checks/bulk``: ``{"measure", "subjects": [...], "as_of"?}`` as JSON, or one code per
  line as ``text/plain`` with ``?measure=`` (and ``as_of``) in the query; answers
  ``services.checks.answer_bulk`` (the route for natural persons: the number in the body);
- ``GET /healthz``: the version of the mapped check file and the size of the overlay.

Credentials are the API's bearer tokens of implementing agencies, each for its own measures.
A token's principal is kept for ``TOKEN_TTL`` seconds, so a revoked token stops working within
that time. Work that reads the store (the exact path, the head of the log, a token not yet
known) runs in a worker thread, so one slow read never holds the other requests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson

from ..bootstrap import Registry
from ..clock import parse_moment, to_utc_naive
from ..errors import InvalidInput, NotAuthenticated, RegistryError, RequestMismatch
from ..events import types as T
from ..services import access, checks
from ..services.access import Principal
from ..services.reads import drain_spool
from ..services.subjects import no_number_in_url, resolve_code
from .schemas import CheckAnswer

log = logging.getLogger(__name__)

TOKEN_TTL = 5.0
MAX_BODY = 64 * 2**20  # a bulk body of about three million codes

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
#: events after which a remembered token may no longer be what it was
_ENDS_A_TOKEN = frozenset({T.PRINCIPAL_REVOKED, T.SESSION_CLOSED, T.SOURCE_TOKEN_REVOKED})
#: the API's answer model fills absent optional fields with their defaults: so does this server
_ANSWER_DEFAULTS = {
    name: f.default for name, f in CheckAnswer.model_fields.items() if not f.is_required()
}


class CheckServer:
    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.index = checks.index(reg)
        self._tokens: dict[str, tuple[float, Principal]] = {}
        # a token revoked (or a session closed) by this process stops working at once
        reg.on_commit(self._forget_tokens)

    def _forget_tokens(self, events: list[Any]) -> None:
        if any(ev.type in _ENDS_A_TOKEN for ev in events):
            self._tokens.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body = await self._route(scope, receive)
        except RegistryError as exc:
            status = exc.status
            body = orjson.dumps({"error": exc.code, "message": exc.message, "detail": exc.detail})
        except Exception:
            log.exception("check server error")
            status = 500
            body = b'{"error":"internal","message":"internal error","detail":null}'
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.to_thread(self.index.ensure_fresh)
                spool = os.environ.get("SOCIALCREDIT_READS_SPOOL")
                if spool:  # serve-checks: batches go to files, its recorder process writes them
                    self.index.read_log.spool = Path(spool)
                self.index.read_log.start_flusher()  # reads are written off the event loop
                # start-up's objects live as long as the worker: kept out of the collector's
                # sight, full collections stop pausing answers to walk them (p99)
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(self.index.read_log.stop_flusher)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        path, method = scope["path"], scope["method"]
        query = _query(scope["query_string"])
        if path == "/healthz":
            f = self.index.file
            return 200, orjson.dumps(
                {
                    "ok": True,
                    "file_version": f.version if f else None,
                    "log_head": self.index.version,
                    "overlay": len(self.index.overlay),
                }
            )
        if path == "/v1/checks" and method == "GET":
            who = await self._principal(scope)
            measure = _one(query, "measure", 80)
            subject = _one(query, "subject", 40)
            self._may_check(who, measure)
            # as the API: a resident ID number never travels in a URL (servers and proxies log
            # URLs); persons are checked with POST /v1/checks/bulk, the number in the body
            no_number_in_url(
                self.reg,
                subject,
                'send it in the body: POST /v1/checks/bulk {"measure", "subjects": [number]}',
            )
            at = self._moment(query)
            if self._stale():
                await asyncio.to_thread(self.index.ensure_fresh)
            # the plain answer needs nothing from the store: answer it here, else in a thread
            ref = resolve_code(self.reg, subject)
            moment = at or self.reg.now()
            if self.index.concerned(ref.subject_id, measure, to_utc_naive(moment)):
                found = self.index.cached(ref.subject_id)
                if found:  # listings read before and not changed since: answered here
                    answer = self.index.build(ref, measure, moment, found)
                else:  # the exact path reads the store: in a thread
                    answer = await asyncio.to_thread(self.index.answer, ref, measure, moment)
            else:
                # not concerned: the file settles it, and whether the register holds the code
                answer = self.index.build(ref, measure, moment, (), known=self.index.known(ref))
            log = self.index.read_log
            log.add(
                ref.subject_id,
                who.label,
                self.reg.read_moment(),
                {"measure": measure, "outcome": answer["outcome"], "as_of": answer["as_of"]},
            )
            while log.flushing and log.pending() > log.backlog_limit:
                await asyncio.sleep(0.005)  # the reads' writer is behind: wait, not the loop
            return 200, orjson.dumps(_ANSWER_DEFAULTS | answer)
        if path == "/v1/checks/bulk" and method == "POST":
            who = await self._principal(scope)
            raw = await _body(receive)
            if _content_type(scope).startswith("text/plain"):
                measure = _one(query, "measure")
                subjects = raw.decode("utf-8", errors="replace").split()
                as_of = query.get("as_of", [None])[0]
            else:
                try:
                    doc = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise InvalidInput(f"the body is not JSON: {exc}") from None
                if not isinstance(doc, dict) or not isinstance(doc.get("subjects"), list):
                    raise InvalidInput('the body is {"measure": ..., "subjects": [...]}')
                measure_in, subjects, as_of = doc.get("measure"), doc["subjects"], doc.get("as_of")
                if not isinstance(measure_in, str) or not set(map(type, subjects)) <= {str}:
                    raise InvalidInput("measure is a string and subjects a list of strings")
                measure = measure_in
            self._may_check(who, measure)
            at = parse_moment(as_of, self.reg.tz) if as_of else None
            result = await asyncio.to_thread(
                checks.answer_bulk, self.reg, subjects, measure, at, who.label
            )
            return 200, orjson.dumps(result)
        return 404, orjson.dumps({"error": "http_error", "message": "Not Found", "detail": None})

    def _stale(self) -> bool:
        return time.monotonic() - self.index._checked >= self.index.max_staleness

    def _moment(self, query: dict[str, list[str]]) -> Any:
        as_of = query.get("as_of", [None])[0]
        if as_of and len(as_of) > 40:
            raise RequestMismatch(
                [{"loc": ["query", "as_of"], "msg": "String should have at most 40 characters"}]
            )
        return parse_moment(as_of, self.reg.tz) if as_of else None

    def _may_check(self, who: Principal, measure: str) -> None:
        self.index.measure(measure)
        access.require_measure(who, measure)

    async def _principal(self, scope: Scope) -> Principal:
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not rest.strip():
                    raise NotAuthenticated("use Authorization: Bearer <token>")
                token = rest.strip()
        if token is None:
            return access.PUBLIC
        hit = self._tokens.get(token)
        now = time.monotonic()
        if hit is not None and now - hit[0] < TOKEN_TTL:
            return hit[1]
        who = await asyncio.to_thread(access.authenticate, self.reg, token)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token] = (now, who)
        return who


class SingleChecks:
    """In front of the API (``api/app.py``): ``GET /v1/checks`` answered by the check server's
    handler, everything else passed on. The route is the one the API documents, with the same
    answer and errors, but without the framework's per-request work (dependency injection, a
    worker thread, the response model), which cost ten times the check itself."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], reg: Registry):
        self.app = app
        self.server = CheckServer(reg)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/v1/checks":
            await self.server(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _query(raw: bytes) -> dict[str, list[str]]:
    """``parse_qs`` for the common case (no escapes) at a fraction of its cost."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return parse_qs(text)
    out: dict[str, list[str]] = {}
    for part in text.split("&"):
        name, eq, value = part.partition("=")
        if eq and value:
            out.setdefault(name, []).append(value)
    return out


def _one(query: dict[str, list[str]], name: str, max_length: int | None = None) -> str:
    values = query.get(name)
    if not values or not values[0]:
        raise RequestMismatch([{"loc": ["query", name], "msg": "Field required"}])
    if max_length is not None and len(values[0]) > max_length:
        raise RequestMismatch(
            [
                {
                    "loc": ["query", name],
                    "msg": f"String should have at most {max_length} characters",
                }
            ]
        )
    return values[0]


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1").lower())
    return "application/json"


async def _body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidInput(f"the body is larger than {MAX_BODY // 2**20} MiB: split the batch")
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


def run_recorder(spool: Path, stop: Any, every: float = 0.5, parent: int | None = None) -> None:
    """The recorder process of the check server: drains the spool until ``stop`` is set, or
    until its ``parent`` is gone (a server killed outright cannot set ``stop``; the recorder
    must not outlive it), then once more. Runs at a lower priority than the workers that answer
    checks."""
    os.nice(10)
    reg = Registry.from_env(migrate=False)
    try:
        while not stop.wait(every):
            if parent is not None and os.getppid() != parent:
                break
            try:
                drain_spool(reg, spool)
            except Exception:
                log.exception("recording spooled reads failed; retrying")
        drain_spool(reg, spool)
    finally:
        reg.close()


def app() -> CheckServer:
    """The application factory each worker of the server calls (``--factory``)."""
    return CheckServer(Registry.from_env())
