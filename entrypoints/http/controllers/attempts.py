"""`/v1/attempts`: submit and score an attempt, list attempts, get one."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from application.attempts import AttemptService
from domain.pages import PageRequest
from domain.stats import TimeWindow
from entrypoints.http.controllers.items import Page, PerPage
from entrypoints.http.errors import REQUEST_ID_HEADER, documented, header_doc
from entrypoints.http.params import (
    EdgeInputError,
    as_query_error,
    datetime_query,
    path_id,
    text_query,
)
from entrypoints.http.schemas.attempts import AttemptCreate, AttemptPage, AttemptRead

AttemptId = Annotated[
    str, PathParameter(description="Attempt id (signed 64-bit integer)", pattern=r"^[+-]?[0-9]+$")
]
ItemFilterId = Annotated[
    str | None, QueryParameter(description="Restrict to one item (signed 64-bit integer)")
]
Since = Annotated[
    str | None,
    QueryParameter(description="Inclusive lower bound on created_at: ISO 8601 datetime or date"),
]
Until = Annotated[
    str | None,
    QueryParameter(description="Inclusive upper bound on created_at: ISO 8601 datetime or date"),
]


def query_id(raw: str | None, key: str) -> int | None:
    """An id query parameter: the rules of path ids (API §1.3); empty counts as not given."""
    value = text_query(raw)
    if value is None:
        return None
    try:
        return path_id(value, key)
    except EdgeInputError as exc:
        raise as_query_error(exc) from None


def time_window(since: str | None, until: str | None) -> TimeWindow:
    """Offsets honoured, naive = UTC, bare date = midnight UTC; since > until is a 400."""
    return TimeWindow(datetime_query(since, "since"), datetime_query(until, "until"))


class AttemptController(Controller):
    path = "/v1/attempts"
    tags = ["attempts"]
    response_headers = [REQUEST_ID_HEADER]

    @post(
        "/",
        operation_id="createAttempt",
        summary="Submit an attempt and score it against the item",
        status_code=201,
        responses=documented(400, 404, 413, 422),
        response_headers=[header_doc("Location", "/v1/attempts/7", "URL of the new attempt")],
    )
    async def create(
        self, data: JSONBody[AttemptCreate], attempt_service: NamedDependency[AttemptService]
    ) -> Response[AttemptRead]:
        attempt = await attempt_service.submit(data.item_id, data.text, data.duration_ms)
        return Response(
            AttemptRead.of(attempt),
            status_code=201,
            headers={"Location": f"/v1/attempts/{attempt.id}"},
        )

    @get(
        "/",
        operation_id="listAttempts",
        summary="List attempts, newest first",
        responses=documented(400, 422),
    )
    async def list_attempts(
        self,
        attempt_service: NamedDependency[AttemptService],
        item_id: ItemFilterId = None,
        since: Since = None,
        until: Until = None,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> AttemptPage:
        window = time_window(since, until)
        attempts = await attempt_service.list(
            query_id(item_id, "item_id"), window, PageRequest(page, per_page)
        )
        return AttemptPage.of(attempts)

    @get(
        "/{attempt_id:str}",
        operation_id="getAttempt",
        summary="Get one attempt",
        responses=documented(404, 422),
    )
    async def get_attempt(
        self, attempt_id: AttemptId, attempt_service: NamedDependency[AttemptService]
    ) -> AttemptRead:
        return AttemptRead.of(await attempt_service.get(path_id(attempt_id, "attempt_id")))
