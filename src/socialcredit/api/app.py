"""The FastAPI application. Routes parse input, call one service, and return its answer."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..bootstrap import Registry
from ..clock import parse_moment
from ..errors import InvalidInput, NotAuthenticated, RegistryError
from ..services import (
    access,
    audit,
    checks,
    consents,
    dedupe,
    grading,
    ingest,
    inspection,
    lending,
    listings,
    notices,
    objections,
    purge,
    reads,
    repairs,
    resolution,
    review,
    subjects,
    views,
)
from ..services.access import Principal
from . import schemas
from .limits import BodyLimit, SecurityHeaders
from .ratelimit import PersonChecksLimited, RateLimited, SearchLimiter

log = logging.getLogger(__name__)


def get_reg(request: Request) -> Registry:
    r: Registry = request.app.state.registry
    return r


RegDep = Annotated[Registry, Depends(get_reg)]


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
) -> Principal:
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise NotAuthenticated("use Authorization: Bearer <token>")
        token = value.strip()
    return access.authenticate(request.app.state.registry, token)


WhoDep = Annotated[Principal, Depends(get_principal)]


def may_check(reg: Registry, who: Principal, measure: str) -> None:
    """An unknown measure is a 404 for everyone; a known one only for the agency implementing it."""
    checks.index(reg).measure(measure)
    access.require_measure(who, measure)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorOut},
    403: {"model": schemas.ErrorOut},
    404: {"model": schemas.ErrorOut},
    422: {"model": schemas.ErrorOut},
}
#: Decisions on something another decision may have closed first (a review item, a merge
#: proposal, a link): 409 with the error body.
DECISIONS = {**ERRORS, 409: {"model": schemas.ErrorOut}}


def _host(request: Request) -> str | None:
    return request.client.host if request.client else None


def limit_search(request: Request) -> None:
    """One token of the client's search bucket (api/ratelimit.py), or 429."""
    limiter: SearchLimiter = request.app.state.search_limiter
    wait = limiter.take(request.client.host if request.client else None)
    if wait:
        raise RateLimited(wait)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the application accepts on the request's path."""
    found = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(r.matches(scope)[0] is Match.FULL for r in request.app.router.routes):
            found.append(method)
    return found


RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": schemas.ErrorOut,
        "description": "Too many requests (searches from this address, or failed sign-ins); "
        "wait and try again",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the next request is accepted",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


def create_app(
    reg: Registry | None = None,
    *,
    background_sweep: bool = False,
    search_limiter: SearchLimiter | None = None,
) -> FastAPI:
    """The API and the pages over ``reg``. ``search_limiter`` replaces the limiter that the
    settings describe (tests give one with their own clock)."""
    registry = reg or Registry.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if background_sweep:
            listings.advance(registry, "system:sweep")

            channels = notices.Channels.from_url(
                registry.settings.smtp_url, registry.settings.mail_from
            )

            def sweep() -> None:
                last_purge = 0.0
                while not stop.wait(15):
                    if time.monotonic() - last_purge > 3600:
                        try:
                            purge.purge(registry, actor="system:purge")
                        except Exception:
                            log.exception("purge failed; retrying in an hour")
                        last_purge = time.monotonic()
                    try:
                        listings.advance(registry, "system:sweep")
                        notices.deliver_due(registry, channels)
                        checks.index(registry).read_log.flush()
                        reads.public_reads(registry).flush()
                    except Exception:
                        log.exception("sweep or notice delivery failed; retrying in 15 s")

            threading.Thread(target=sweep, daemon=True, name="listing-sweep").start()
        yield
        stop.set()
        if registry._check_index is not None:
            registry._check_index.read_log.flush()
        reads.public_reads(registry).flush()

    app = FastAPI(
        lifespan=lifespan,
        title="socialcredit",
        version="0.1.0",
        description=(
            "A credit-information registry. Checks answer whether a subject is restricted from "
            "a measure, with the listing, decision, legal basis, dates and how to resolve it."
        ),
    )
    app.state.registry = registry
    # outermost first: the headers on every answer, the 413 included
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

    def person_quota(request: Request, who: Principal, codes: list[str]) -> None:
        """Checks on natural persons count against the agency's quota (organisations' do not:
        their listings are public)."""
        persons = sum(1 for c in codes if subjects.is_resident_number(c))
        limiter: SearchLimiter = request.app.state.person_check_limiter
        wait = limiter.take(f"principal:{who.principal_id or who.label}", persons)
        if wait:
            raise PersonChecksLimited(wait)

    @app.exception_handler(RegistryError)
    async def _registry_error(request: Request, exc: RegistryError) -> Response:
        headers: dict[str, str] | None = getattr(exc, "headers", None)
        if not request.url.path.startswith("/v1/"):
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

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        api = request.url.path.startswith(("/v1/", "/static/", "/healthz", "/openapi"))
        if exc.status_code == 404 and not api:
            from ..web.render import not_found

            return not_found(request)  # a page in the reader's language, never a bare error
        if exc.status_code == 400 and request.url.path.startswith("/v1/"):
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

    def moment(reg: Registry, as_of: str | None) -> Any:
        return parse_moment(as_of, reg.tz) if as_of else None

    @app.get(
        "/v1/checks",
        response_model=schemas.CheckAnswer,
        responses={**ERRORS, **RATE_LIMITED},
        tags=["checks"],
    )
    def get_check(
        reg: RegDep,
        request: Request,
        who: WhoDep,
        subject: Annotated[str, Query(description="USCC or resident ID number", max_length=40)],
        measure: Annotated[
            str, Query(description="Measure id, e.g. restrict_air_travel", max_length=80)
        ],
        as_of: Annotated[
            str | None, Query(description="YYYY-MM-DD[THH:MM]; default now", max_length=40)
        ] = None,
    ) -> Any:
        """Is the subject restricted from (or eligible for) the measure at the moment?

        For implementing agencies, each for the measures it implements; recorded in the
        subject's file."""
        may_check(reg, who, measure)
        subjects.no_number_in_url(
            subject, 'send it in the body: POST /v1/checks {"measure", "subjects": [number]}'
        )
        person_quota(request, who, [subject])
        return checks.answer(reg, subject, measure, moment(reg, as_of), reader=who.label)

    @app.post(
        "/v1/checks",
        response_model=schemas.BatchCheckOut,
        responses={**ERRORS, **RATE_LIMITED},
        tags=["checks"],
    )
    def post_checks(reg: RegDep, request: Request, who: WhoDep, body: schemas.BatchCheckIn) -> Any:
        """Many subjects, one measure. A malformed code fails the batch and is named."""
        may_check(reg, who, body.measure)
        person_quota(request, who, body.subjects)
        return checks.answer_many(
            reg, body.subjects, body.measure, moment(reg, body.as_of), reader=who.label
        )

    @app.post("/v1/records", response_model=schemas.IngestOut, responses=ERRORS, tags=["records"])
    def post_records(reg: RegDep, who: WhoDep, body: schemas.RecordsIn) -> Any:
        """Submit rows in the interchange format as the source the token belongs to."""
        access.require(who, "source")
        assert who.source is not None
        rows = [(i, row) for i, row in enumerate(body.rows, start=1)]
        summary = ingest.ingest(
            reg, rows, who.source, actor=f"api:{who.source}", file_name=body.file_name
        )
        return summary.as_dict(max_rejects=1000)

    @app.get("/v1/subjects/{code}", responses=ERRORS, tags=["subjects"])
    def get_subject(
        reg: RegDep,
        code: str,
        as_of: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Any:
        """An organisation's public profile by its USCC: records within their publicity period
        and listings, now or ``as_of`` a moment. A natural person is not looked up by ID number
        here: every resident ID number gets the same 404 (a listed person's entry is at
        ``/v1/listings/{listing_id}``)."""
        return views.public_profile(reg, code, moment(reg, as_of))

    @app.get("/v1/listings/{listing_id}", responses=ERRORS, tags=["subjects"])
    def get_listing(reg: RegDep, listing_id: Annotated[str, Path(max_length=40)]) -> Any:
        """The public entry a listing leads to, now: the listed subject's public profile (a
        natural person masked, and only while on a black list the law publishes). Listing ids
        are in the open data's listings file."""
        return views.public_listing(reg, listing_id)

    @app.get(
        "/v1/search",
        response_model=schemas.SearchOut,
        responses={422: ERRORS[422], **RATE_LIMITED},
        dependencies=[Depends(limit_search)],
        tags=["subjects"],
    )
    def get_search(
        reg: RegDep,
        q: Annotated[
            str,
            Query(
                description="A USCC, a legacy organisation code, or two or more characters of "
                "an organisation's name",
                max_length=100,
            ),
        ] = "",
    ) -> Any:
        """Organisations by code or by (part of) their name, shortest name first; natural
        persons are not searchable by name. Limited per client address: a program that needs
        the whole register reads the open data files instead."""
        return views.search(reg, q)

    @app.get("/v1/lists", response_model=list[schemas.ListOut], tags=["policy"])
    def get_lists(reg: RegDep) -> Any:
        """Lists of the policy pack with their rules and legal basis."""
        p = reg.pack
        return [
            {
                "id": ld.id,
                "name": ld.name.model_dump(),
                "kind": ld.kind,
                "legal_basis": p.cite(ld.legal_basis),
                "requires_ruling": ld.requires_ruling,
                "notice_period": ld.notice_period,
                "duration": ld.duration.default,
                "maximum_duration": ld.duration.maximum,
                "measures": [mid for mid, m in p.measures.items() if ld.id in m.lists],
                "how_to_resolve": ld.how_to_resolve.model_dump(),
            }
            for ld in p.lists.values()
        ]

    @app.get("/v1/measures", response_model=list[schemas.MeasureOut], tags=["policy"])
    def get_measures(reg: RegDep) -> Any:
        """Measures with their implementing agency, lists and legal basis."""
        p = reg.pack
        return [
            {
                "id": m.id,
                "name": m.name.model_dump(),
                "kind": m.kind,
                "implementing_agency": m.implementing_agency,
                "lists": m.lists,
                "targets": m.targets,
                "legal_basis": p.cite(m.legal_basis),
            }
            for m in p.measures.values()
        ]

    @app.get("/v1/audit/chain", response_model=schemas.ChainOut, tags=["audit"])
    def get_chain(reg: RegDep) -> Any:
        """The hash chain of the event log, verified: walked whole once, then extended by the
        events appended since (``socialcredit audit verify`` walks it all)."""
        r = audit.chain_status(reg)
        return {
            "ok": r.ok,
            "events_checked": r.events_checked,
            "head_seq": r.head_seq,
            "first_bad_seq": r.first_bad_seq,
            "problem": r.problem,
        }

    @app.get("/v1/audit/head", responses=ERRORS, tags=["audit"])
    def get_head(reg: RegDep) -> Any:
        """The log's signed tree head now: its size and head hash, signed with the registry's
        Ed25519 log key. Keep one: ``socialcredit audit verify --against HEAD`` later proves
        the log extends it (a truncated or rewritten log fails)."""
        return audit.signed_head(reg)

    @app.post(
        "/v1/sessions",
        response_model=schemas.SessionOut,
        responses={**ERRORS, **RATE_LIMITED},
        tags=["access"],
    )
    def post_session(reg: RegDep, request: Request, body: schemas.SignIn) -> Any:
        """Sign in with a username and password; returns a session token. After five failures
        for an account (twenty from an address) each attempt waits twice as long as the one
        before: 429 with Retry-After."""
        return access.sign_in(reg, body.username, body.password, address=_host(request))

    @app.delete("/v1/sessions", status_code=204, responses=ERRORS, tags=["access"])
    def delete_session(
        reg: RegDep,
        who: WhoDep,
        authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
    ) -> Response:
        """Sign out: the session token stops working at once, on the API and the pages."""
        if who.role == "public":
            raise NotAuthenticated("use Authorization: Bearer <session token>")
        access.sign_out(reg, (authorization or "").partition(" ")[2].strip())
        return Response(status_code=204)

    @app.get("/v1/file/{code}", responses=ERRORS, tags=["due process"])
    def get_file(
        reg: RegDep,
        who: WhoDep,
        code: str,
        as_of: Annotated[str | None, Query(max_length=40)] = None,
        purpose: Annotated[str, Query(max_length=200)] = "view the file",
    ) -> Any:
        """The subject's whole file: records, listings, notices, objections, repairs, reads.

        The subject's own account, reviewers and auditors; every read is recorded."""
        subjects.no_number_in_url(
            code, "address the person by the subject id (P-…); a subject reads /v1/me/file"
        )
        access.require_own_subject(reg, who, code, "reviewer", "auditor")
        at = moment(reg, as_of)
        file = subjects.subject_file(reg, code, at, reader=who.label, purpose=purpose)
        return grading.with_grades(reg, file, at)

    @app.get("/v1/me/file", responses=ERRORS, tags=["due process"])
    def get_my_file(
        reg: RegDep,
        who: WhoDep,
        as_of: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Any:
        """The signed-in subject's own file, with no ID number in the URL (a person's number
        in a URL ends up in proxies' and servers' logs)."""
        access.require(who, "subject")
        assert who.subject_id is not None
        code = subjects.code_of(reg, who.subject_id)
        at = moment(reg, as_of)
        file = subjects.subject_file(reg, code, at, reader=who.label, purpose="view the file")
        return grading.with_grades(reg, file, at)

    @app.get("/v1/audit/export", responses=ERRORS, tags=["audit"])
    def get_export(reg: RegDep, who: WhoDep, subject: Annotated[str, Query(max_length=40)]) -> Any:
        """The subject's audit trail, each event with its chain hash (auditors, the subject).
        A person is named by the subject id (P-…), never by the ID number."""
        subjects.no_number_in_url(subject, "address the person by the subject id (P-…)")
        access.require_own_subject(reg, who, subject, "auditor")
        return audit.export_subject(reg, subject, reader=who.label)

    @app.post(
        "/v1/objections",
        response_model=schemas.ObjectionFiled,
        responses=ERRORS,
        tags=["due process"],
        status_code=201,
    )
    def post_objection(reg: RegDep, who: WhoDep, body: schemas.ObjectionIn) -> Any:
        """A subject objects to one of its listings or records, with up to 5 attachments."""
        access.require_own_subject(reg, who, body.subject)
        files = []
        for a in body.attachments:
            try:
                files.append((a.name, base64.b64decode(a.content_base64, validate=True)))
            except (binascii.Error, ValueError):
                raise InvalidInput(f"attachment {a.name!r} is not valid base64") from None
        return objections.file_objection(
            reg,
            body.subject,
            grounds=body.grounds,
            listing_id=body.listing_id,
            record=body.record,
            files=files,
            actor=who.label,
        )

    @app.get("/v1/objections", responses=ERRORS, tags=["due process"])
    def get_objections(reg: RegDep, who: WhoDep) -> Any:
        """Objections awaiting an answer, the nearest deadline first (reviewers)."""
        access.require(who, "reviewer")
        return views.objection_inbox(reg)

    @app.post(
        "/v1/objections/{objection_id}/decision",
        response_model=schemas.ObjectionDecided,
        responses=ERRORS,
        tags=["due process"],
    )
    def post_objection_decision(
        reg: RegDep, who: WhoDep, objection_id: str, body: schemas.DecisionIn
    ) -> Any:
        """The source of the record (or a reviewer) decides; the subject may only withdraw."""
        access.require(who, "source", "reviewer", "subject")
        objections.authorise_decision(reg, who, objection_id, body.outcome)
        return objections.decide_objection(
            reg, objection_id, outcome=body.outcome, reason=body.reason, actor=who.label
        )

    @app.post(
        "/v1/repairs",
        response_model=schemas.RepairApplied,
        response_model_exclude_unset=True,
        responses=ERRORS,
        tags=["due process"],
        status_code=201,
    )
    def post_repair(reg: RegDep, who: WhoDep, body: schemas.RepairIn) -> Any:
        """A subject applies for credit repair of one of its listings or records."""
        access.require_own_subject(reg, who, body.subject)
        return repairs.apply_for_repair(
            reg,
            body.subject,
            listing_id=body.listing_id,
            record=body.record,
            evidence=body.evidence,
            actor=who.label,
        )

    @app.post(
        "/v1/repairs/{repair_id}/decision",
        response_model=schemas.RepairDecided,
        responses=ERRORS,
        tags=["due process"],
    )
    def post_repair_decision(
        reg: RegDep, who: WhoDep, repair_id: str, body: schemas.RepairDecisionIn
    ) -> Any:
        """A reviewer approves (the listing ends) or rejects (with a date to reapply)."""
        access.require(who, "reviewer")
        return repairs.decide_repair(
            reg, repair_id, approve=body.approve, reason=body.reason, actor=who.label
        )

    @app.get("/v1/lenders", response_model=list[schemas.LenderOut], tags=["lending"])
    def get_lenders(reg: RegDep) -> Any:
        """The lenders a subject may consent to."""
        return consents.lenders(reg)

    @app.post(
        "/v1/consents",
        response_model=schemas.ConsentOut,
        responses=ERRORS,
        tags=["lending"],
        status_code=201,
    )
    def post_consent(reg: RegDep, who: WhoDep, body: schemas.ConsentIn) -> Any:
        """A subject lets one lender read its file, for one purpose, until a moment."""
        return consents.grant(
            reg,
            who,
            body.subject,
            lender=body.lender,
            purpose=body.purpose,
            until=moment(reg, body.until),
        )

    @app.post(
        "/v1/consents/sources",
        response_model=schemas.ConsentOut,
        responses=ERRORS,
        tags=["lending"],
        status_code=201,
    )
    def post_source_consent(reg: RegDep, who: WhoDep, body: schemas.SourceConsentIn) -> Any:
        """A subject lets a source share the payment records the law shares only by consent."""
        return consents.grant_to_source(
            reg,
            who,
            body.subject,
            source=body.source,
            record_types=body.record_types,
            until=moment(reg, body.until),
        )

    @app.get(
        "/v1/consents", response_model=list[schemas.ConsentOut], responses=ERRORS, tags=["lending"]
    )
    def get_consents(reg: RegDep, who: WhoDep) -> Any:
        """A subject's consents, or the consents a lender holds."""
        return consents.listing(reg, who)

    @app.post(
        "/v1/consents/{consent_id}/revoke",
        response_model=schemas.ConsentOut,
        responses=ERRORS,
        tags=["lending"],
    )
    def post_revoke(reg: RegDep, who: WhoDep, consent_id: str) -> Any:
        """The subject withdraws a consent; it covers nothing from this moment."""
        return consents.revoke(reg, who, consent_id)

    @app.get("/v1/lending/reports/{code}", responses=ERRORS, tags=["lending"])
    def get_lender_report(reg: RegDep, who: WhoDep, code: str) -> Any:
        """A lender's credit report on a subject that consented; recorded as a read. A person
        is named by the subject id its consent lists (P-…), never by the ID number."""
        subjects.no_number_in_url(code, "use the subject id the consent lists (P-…)")
        return lending.lender_report(reg, who, code)

    @app.post(
        "/v1/lending/verify",
        response_model=schemas.ReportVerified,
        responses=ERRORS,
        tags=["lending"],
    )
    def post_verify_report(reg: RegDep, body: dict[str, Any]) -> Any:
        """Whether the registry issued exactly this lender's report (its seal holds)."""
        return lending.verify_report(reg, body)

    @app.post(
        "/v1/lending/scores", response_model=schemas.ScoreOut, responses=ERRORS, tags=["lending"]
    )
    def post_score(reg: RegDep, who: WhoDep, body: schemas.ScoreIn) -> Any:
        """A lending score with its reasons, for a consenting subject; never stored."""
        return lending.score(reg, who, body.subject, body.applicant)

    @app.get("/v1/review-queue", responses=ERRORS, tags=["resolution"])
    def get_review_queue(reg: RegDep, who: WhoDep) -> Any:
        """Rows waiting for their subject to be resolved (reviewers)."""
        access.require(who, "reviewer")
        return views.review_items(reg)

    @app.post("/v1/review-queue/{item_id}/decision", responses=DECISIONS, tags=["resolution"])
    def post_review_decision(
        reg: RegDep, who: WhoDep, item_id: str, body: schemas.ReviewDecisionIn
    ) -> Any:
        """A reviewer links the queued row to a subject (a candidate of the model's, or another
        code: registered if new), or closes it as not resolvable."""
        access.require(who, "reviewer")
        if body.action == "resolve":
            if not body.subject:
                raise InvalidInput("name the subject: its USCC or resident ID number")
            return review.resolve_item(reg, item_id, body.subject, actor=who.label)
        return review.reject_item(reg, item_id, reason=body.reason or "", actor=who.label)

    @app.post("/v1/links/undo", responses=DECISIONS, tags=["resolution"])
    def post_link_undo(reg: RegDep, who: WhoDep, body: schemas.LinkUndoIn) -> Any:
        """A reviewer undoes a link the registry made (the law's mapping, the model, a
        reviewer): the record leaves the subject's file, its listings end, the row is queued."""
        access.require(who, "reviewer")
        source, sep, rid = body.record.partition("/")
        if not sep or not source or not rid:
            raise InvalidInput("record is SOURCE/SOURCE_RECORD_ID")
        return review.undo_link(reg, source, rid, reason=body.reason, actor=who.label)

    @app.get("/v1/merge-proposals", responses=ERRORS, tags=["resolution"])
    def get_merge_proposals(reg: RegDep, who: WhoDep, status: str = "open") -> Any:
        """Pairs of registered organisations the model takes for one (reviewers)."""
        access.require(who, "reviewer")
        if status not in ("open", "merged", "kept_apart"):
            raise InvalidInput("status is open, merged or kept_apart")
        return dedupe.proposals(reg, status)

    @app.post(
        "/v1/merge-proposals/{proposal_id}/decision", responses=DECISIONS, tags=["resolution"]
    )
    def post_merge_decision(
        reg: RegDep, who: WhoDep, proposal_id: str, body: schemas.MergeDecisionIn
    ) -> Any:
        """A reviewer merges the pair (the other into ``survivor``) or keeps them apart."""
        access.require(who, "reviewer")
        if body.action == "merge":
            if not body.survivor:
                raise InvalidInput("name the survivor: one of the two USCCs")
            return dedupe.merge(
                reg, proposal_id, body.survivor, reason=body.reason, actor=who.label
            )
        return dedupe.keep_apart(reg, proposal_id, reason=body.reason, actor=who.label)

    @app.post("/v1/resolution/run", responses=ERRORS, tags=["resolution"])
    def post_resolution_run(reg: RegDep, who: WhoDep) -> Any:
        """A reviewer has the model evaluate every open item it has not seen yet."""
        access.require(who, "reviewer")
        return resolution.run(reg, actor=who.label).as_dict()

    @app.get("/v1/inspection-plans", tags=["supervision"])
    def get_plans(reg: RegDep) -> Any:
        """Published inspection plans ("double random, one public")."""
        return inspection.published(reg)

    @app.get("/v1/inspection-plans/{plan_id}", responses=ERRORS, tags=["supervision"])
    def get_plan(reg: RegDep, plan_id: str) -> Any:
        """One published plan, with its seed and digest: re-run the draw and compare."""
        return inspection.published(reg, plan_id)

    @app.get("/healthz", response_model=schemas.HealthOut, tags=["ops"])
    def healthz(reg: RegDep) -> Any:
        return {"ok": True, "pack": reg.pack.meta.id, "pack_version": reg.pack.meta.version}

    from fastapi.staticfiles import StaticFiles

    from ..web.routes import HERE as WEB_DIR
    from ..web.routes import router as web_router

    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    return app
