"""`/v1/stats`: summary, practice log, per-item statistics and daily progress."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from application.stats import MAX_PROGRESS_DAYS, MIN_PROGRESS_DAYS, StatsService
from domain.pages import PageRequest
from entrypoints.http.controllers.attempts import (
    ItemFilterId,
    Since,
    Until,
    query_id,
    time_window,
)
from entrypoints.http.controllers.items import ItemId, Page, PerPage
from entrypoints.http.errors import REQUEST_ID_HEADER, documented
from entrypoints.http.params import path_id
from entrypoints.http.schemas.stats import (
    DayRead,
    ItemStatsRead,
    PracticeLogPage,
    ProgressRead,
    SummaryRead,
)

Days = Annotated[
    int,
    QueryParameter(
        ge=MIN_PROGRESS_DAYS, le=MAX_PROGRESS_DAYS, description="Number of days up to today"
    ),
]


class StatsController(Controller):
    path = "/v1/stats"
    tags = ["stats"]
    response_headers = [REQUEST_ID_HEADER]

    @get(
        "/summary",
        operation_id="getStatsSummary",
        summary="Totals and averages over attempts in a time window",
        responses=documented(400, 422),
    )
    async def summary(
        self,
        stats_service: NamedDependency[StatsService],
        since: Since = None,
        until: Until = None,
    ) -> SummaryRead:
        return SummaryRead.of(await stats_service.summary(time_window(since, until)))

    @get(
        "/practice-log",
        operation_id="getPracticeLog",
        summary="Practised items with their aggregates, last practised first",
        responses=documented(400, 422),
    )
    async def practice_log(
        self,
        stats_service: NamedDependency[StatsService],
        since: Since = None,
        until: Until = None,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> PracticeLogPage:
        window = time_window(since, until)
        return PracticeLogPage.of(
            await stats_service.practice_log(window, PageRequest(page, per_page))
        )

    @get(
        "/items/{item_id:str}",
        operation_id="getItemStats",
        summary="All-time statistics of one item",
        responses=documented(404, 422),
    )
    async def item_stats(
        self, item_id: ItemId, stats_service: NamedDependency[StatsService]
    ) -> ItemStatsRead:
        return ItemStatsRead.of(await stats_service.item(path_id(item_id, "item_id")))

    @get(
        "/progress",
        operation_id="getProgress",
        summary="Attempts per UTC day, one entry per day up to today",
        responses=documented(404, 422),
    )
    async def progress(
        self,
        stats_service: NamedDependency[StatsService],
        item_id: ItemFilterId = None,
        days: Days = 30,
    ) -> ProgressRead:
        entries = await stats_service.progress(days, query_id(item_id, "item_id"))
        return ProgressRead(progress=[DayRead.of(day) for day in entries])
