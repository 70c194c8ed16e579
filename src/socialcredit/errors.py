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
