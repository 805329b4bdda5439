"""The one table from errors to HTTP answers, and the handlers that apply it (API §1.2, §1.3)."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.base_exceptions import SerializationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from domain.errors import (
    BadRequestError,
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
)
from entrypoints.http.schemas.common import ErrorBody, ErrorProblem

log = logging.getLogger("last_whisper.http")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    BadRequestError: 400,
}

DETAIL_BY_STATUS = {
    400: "Bad Request",
    401: "Invalid or missing API key",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    415: "Unsupported media type: send application/json",
    422: "Validation failed",
    500: "Internal server error",
}


def error_response(
    status: int, detail: str, extra: Any = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(status_code=status, detail=detail, extra=extra),
        status_code=status,
        headers=headers,
        media_type=MediaType.JSON,
    )


def _status_of(exc: DomainError) -> int:
    return next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 500)


def _on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[ErrorBody]:
    if isinstance(exc, InvalidInputError):
        # Domain rules do not know where a value came from; bodies arrive only with writes.
        source = getattr(exc, "source", None) or (
            "query" if request.method in ("GET", "HEAD") else "body"
        )
        problems = [ErrorProblem(p.key, p.message, source) for p in exc.problems]
        return error_response(422, "Validation failed", problems)
    status = _status_of(exc)
    if status == 500:
        return _on_unexpected(request, exc)
    return error_response(status, exc.message)


_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


def _problem_key(key: str, message: str) -> tuple[str, str]:
    """Litestar names the body `data`; API §1.3 names it `""` and puts missing fields in the key."""
    if key == "data" and message == "'data'":
        return "", "Request body is required"
    if key == "data":
        key = ""
    elif key.startswith("data."):
        key = key[5:]
    missing = _MISSING_FIELD.match(message)
    if missing:
        key = f"{key}.{missing['field']}" if key else missing["field"]
    return key, message


def _on_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorBody]:
    problems: list[ErrorProblem] = []
    for entry in exc.extra if isinstance(exc.extra, list) else []:
        key, message = _problem_key(str(entry.get("key", "")), str(entry.get("message", "")))
        source = entry.get("source") or "body"
        problems.append(ErrorProblem(key, message, str(getattr(source, "value", source))))
    return error_response(
        422, "Validation failed", problems or [ErrorProblem("", "Invalid request", "body")]
    )


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    if isinstance(exc.__cause__, SerializationException):
        return error_response(400, "Malformed JSON request body", {"error": str(exc.__cause__)})
    status = exc.status_code
    if status >= 500:
        return _on_unexpected(request, exc)
    detail = DETAIL_BY_STATUS.get(status, exc.detail)
    if status not in DETAIL_BY_STATUS or status == 400:
        detail = exc.detail
    return error_response(status, detail, None, dict(exc.headers or {}))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.error(
        "unhandled error on %s %s [request_id=%s]",
        request.method,
        request.url.path,
        request.scope.get("state", {}).get("request_id", "-"),
        exc_info=exc,
    )
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, DETAIL_BY_STATUS[500])


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _on_domain_error,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}


def header_doc(name: str, example: str, description: str) -> ResponseHeader:
    """A documented (not set) success-response header; the example gives it a string schema."""
    return ResponseHeader(
        name=name, value=example, description=description, required=True, documentation_only=True
    )


# Every response carries it (API §1.7); the middleware sets it.
REQUEST_ID_HEADER = header_doc(
    "X-Request-ID", "0f8fad5bd9cb469fa16570867728950e", "The request's id, echoed or generated"
)

# What the OpenAPI document says about each error status (API §1.2, §3).
_DESCRIPTION_BY_STATUS = {
    **DETAIL_BY_STATUS,
    400: "Bad Request (malformed JSON body, or an endpoint-specific rule)",
    401: "Invalid or missing API key (only when API keys are enabled)",
    404: "Not Found",
    409: "Conflict",
    416: "Requested range not satisfiable",
}
# Answers any /v1 operation can give (API §0, §1.1, §1.2, §1.9): the API key check, a body with
# a non-JSON Content-Type (checked for every route, bodiless methods included), a crash.
V1_GLOBAL_ERRORS = (401, 415, 500)


def documented(*statuses: int, v1: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI entries for a route's error answers, all with the error body of API §1.2.

    `statuses` are the endpoint's own; the global ones of a /v1 route are added (`v1=False`:
    only 415 and 500, for open routes such as /health).
    """
    extra = V1_GLOBAL_ERRORS if v1 else (415, 500)
    return {status: _error_spec(status) for status in sorted({*statuses, *extra})}


def _error_spec(status: int) -> ResponseSpec:
    description = _DESCRIPTION_BY_STATUS.get(status, "Error")
    detail = DETAIL_BY_STATUS.get(status, description)
    return ResponseSpec(
        data_container=ErrorBody,
        description=description,
        # Litestar would otherwise add random example bodies: a different document per build.
        generate_examples=False,
        examples=[Example(value={"status_code": status, "detail": detail})],
    )
