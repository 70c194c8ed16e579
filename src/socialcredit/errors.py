"""One exception tree for the whole registry; the HTTP layer maps it to status codes once."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class. ``status`` is the HTTP status an API answer uses for this error."""

    status = 400
    code = "registry_error"

    def __init__(self, message: str, *, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(RegistryError):
    status = 422
    code = "invalid_input"


class RequestMismatch(InvalidInput):
    """A request that does not match the API's description (a parameter missing or too long):
    the answer the framework gives to a request it cannot validate."""

    code = "invalid_request"

    def __init__(self, problems: list[dict[str, object]]) -> None:
        super().__init__("the request does not match the API", detail=problems)


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(
            f"{value!r} is not a valid identifier: {reason}", detail={"reason": reason}
        )
        self.value = value
        self.reason = reason


class UnknownEntity(RegistryError):
    status = 404
    code = "unknown"


class Conflict(RegistryError):
    """The thing exists but its state forbids the request (e.g. it was already decided)."""

    status = 409
    code = "conflict"


class NotPermitted(RegistryError):
    status = 403
    code = "not_permitted"


class NotAuthenticated(RegistryError):
    status = 401
    code = "not_authenticated"


class RetryLater(RegistryError):
    """Too many requests: answered 429 with Retry-After (the whole seconds to wait)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, detail={"retry_after": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ConfigurationError(RegistryError):
    status = 500
    code = "configuration_error"


class PolicyError(RegistryError):
    """A policy pack that violates the rules of DESIGN.md section 2 or its own schema.

    Names the file, the entry and the fix, so that a policy author can act on it.
    """

    status = 500
    code = "policy_error"

    def __init__(self, file: str, entry: str, problem: str, fix: str) -> None:
        super().__init__(f"{file}: {entry}: {problem}. Fix: {fix}")
        self.file = file
        self.entry = entry
        self.problem = problem
        self.fix = fix


class StorageFull(RegistryError):
    """The database (or a work directory) ran out of space. The write that met it was rolled
    back whole: nothing of it is kept, nothing is half-written."""

    status = 507
    code = "storage_full"


def is_storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver's error, wrapped by SQLAlchemy or not, or an OS error) says
    the disk or the database is full: SQLite's SQLITE_FULL, PostgreSQL's disk_full (SQLSTATE
    53100), or ENOSPC."""
    import errno

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(e, "sqlite_errorname", None) == "SQLITE_FULL":
            return True
        if getattr(e, "sqlstate", None) == "53100" or getattr(e, "pgcode", None) == "53100":
            return True
        text = str(e)
        if "database or disk is full" in text or "No space left on device" in text:
            return True
        e = getattr(e, "orig", None) or e.__cause__
    return False
