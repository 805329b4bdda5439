"""`/v1/items`: create, bulk create, list, get, delete, tags, difficulty, TTS status."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from application.items import ItemDraft, ItemService
from domain.errors import InvalidInputError
from domain.items import TtsStatus, fold
from domain.listing import ItemFilter, ItemSort, parse_difficulty_filter
from domain.locales import canonical_locale
from domain.pages import PageRequest
from entrypoints.http.errors import REQUEST_ID_HEADER, documented, header_doc
from entrypoints.http.params import (
    EdgeInputError,
    as_query_error,
    bool_query,
    path_id,
    tag_filters,
    text_query,
)
from entrypoints.http.schemas.common import timestamp
from entrypoints.http.schemas.items import (
    ItemBulkCreate,
    ItemBulkRead,
    ItemCreate,
    ItemDifficultyRead,
    ItemDifficultyUpdate,
    ItemPage,
    ItemRead,
    ItemTagsRead,
    ItemTagsUpdate,
    TtsStatusRead,
)

ItemId = Annotated[
    str, PathParameter(description="Item id (signed 64-bit integer)", pattern=r"^[+-]?[0-9]+$")
]
Page = Annotated[int, QueryParameter(ge=1, le=1_000_000_000, description="Page number, from 1")]
PerPage = Annotated[int, QueryParameter(ge=1, le=100, description="Rows per page")]


def _draft(body: ItemCreate) -> ItemDraft:
    return ItemDraft(locale=body.locale, text=body.text, difficulty=body.difficulty, tags=body.tags)


def _filter(
    locale: str | None,
    tag: list[str] | None,
    difficulty: str | None,
    practiced: str | None,
    q: str | None,
    tts_status: str | None,
) -> ItemFilter:
    try:
        canonical = canonical_locale(locale) if text_query(locale) else None
        low, high = parse_difficulty_filter(difficulty) if text_query(difficulty) else (None, None)
    except InvalidInputError as exc:
        raise as_query_error(exc) from None
    status = None
    if text_query(tts_status):
        try:
            status = TtsStatus(tts_status)
        except ValueError:
            raise EdgeInputError(
                "query", "tts_status", "Expected one of: pending, ready, failed"
            ) from None
    if q is not None and len(q) > 200:
        raise EdgeInputError("query", "q", "Search text cannot exceed 200 characters")
    folded_q = fold(q) if q else None
    return ItemFilter(
        locale=canonical,
        tags=tag_filters(tag),
        difficulty_min=low,
        difficulty_max=high,
        practiced=bool_query(practiced, "practiced"),
        q=folded_q or None,
        tts_status=status,
    )


class ItemController(Controller):
    path = "/v1/items"
    tags = ["items"]
    response_headers = [REQUEST_ID_HEADER]

    @post(
        "/",
        operation_id="createItem",
        summary="Create an item and queue its audio",
        status_code=202,
        responses=documented(400, 413, 422),
        response_headers=[header_doc("Location", "/v1/items/42", "URL of the new item")],
    )
    async def create(
        self, data: JSONBody[ItemCreate], item_service: NamedDependency[ItemService]
    ) -> Response[ItemRead]:
        item = await item_service.create(_draft(data))
        return Response(
            ItemRead.of(item), status_code=202, headers={"Location": f"/v1/items/{item.id}"}
        )

    @post(
        "/bulk",
        operation_id="bulkCreateItems",
        summary="Create 1–100 items in one transaction",
        status_code=202,
        responses=documented(400, 413, 422),
    )
    async def bulk_create(
        self, data: JSONBody[ItemBulkCreate], item_service: NamedDependency[ItemService]
    ) -> ItemBulkRead:
        created = await item_service.create_many([_draft(entry) for entry in data.items])
        return ItemBulkRead(
            created_items=[ItemRead.of(i) for i in created],
            total_created=len(created),
            failed_items=[],
            total_failed=0,
            submitted_at=timestamp(created[0].created_at),
        )

    @get(
        "/",
        operation_id="listItems",
        summary="List items with filters, sorting and paging",
        responses=documented(400, 422),
    )
    async def list_items(
        self,
        item_service: NamedDependency[ItemService],
        locale: FromQuery[str | None] = None,
        tag: Annotated[
            list[str] | None, QueryParameter(description="Tag filter, repeatable (AND)")
        ] = None,
        difficulty: Annotated[str | None, QueryParameter(description="`N` or `A..B`")] = None,
        practiced: Annotated[str | None, QueryParameter(description="true/false")] = None,
        q: Annotated[
            str | None, QueryParameter(description="Accent/case-insensitive text search")
        ] = None,
        tts_status: Annotated[
            str | None, QueryParameter(description="pending, ready or failed")
        ] = None,
        sort: FromQuery[str] = "created_at.desc",
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> ItemPage:
        where = _filter(locale, tag, difficulty, practiced, q, tts_status)
        order = ItemSort.parse(sort or "created_at.desc")
        return ItemPage.of(await item_service.list(where, order, PageRequest(page, per_page)))

    @get(
        "/{item_id:str}",
        operation_id="getItem",
        summary="Get one item",
        responses=documented(404, 422),
    )
    async def get_item(
        self, item_id: ItemId, item_service: NamedDependency[ItemService]
    ) -> ItemRead:
        return ItemRead.of(await item_service.get(path_id(item_id, "item_id")))

    @delete(
        "/{item_id:str}",
        operation_id="deleteItem",
        summary="Delete an item, its attempts and its audio reference",
        responses=documented(404, 422),
    )
    async def delete_item(
        self, item_id: ItemId, item_service: NamedDependency[ItemService]
    ) -> None:
        await item_service.delete(path_id(item_id, "item_id"))

    @get(
        "/{item_id:str}/tts-status",
        operation_id="getItemTtsStatus",
        summary="Audio generation status of an item",
        responses=documented(404, 422),
    )
    async def tts_status(
        self, item_id: ItemId, item_service: NamedDependency[ItemService]
    ) -> TtsStatusRead:
        return TtsStatusRead.of(await item_service.get(path_id(item_id, "item_id")))

    @patch(
        "/{item_id:str}/tags",
        operation_id="replaceItemTags",
        summary="Replace all tags of an item",
        responses=documented(400, 404, 413, 422),
    )
    async def replace_tags(
        self,
        item_id: ItemId,
        data: JSONBody[ItemTagsUpdate],
        item_service: NamedDependency[ItemService],
    ) -> ItemTagsRead:
        previous, item = await item_service.replace_tags(path_id(item_id, "item_id"), data.tags)
        assert item.id is not None
        return ItemTagsRead(
            item_id=item.id,
            operation="replace",
            previous_tags=previous,
            current_tags=item.tags,
            updated_at=timestamp(item.updated_at),
            message="Replaced all tags with: " + (", ".join(item.tags) or "none"),
        )

    @patch(
        "/{item_id:str}/difficulty",
        operation_id="setItemDifficulty",
        summary="Set the difficulty of an item",
        responses=documented(400, 404, 413, 422),
    )
    async def set_difficulty(
        self,
        item_id: ItemId,
        data: JSONBody[ItemDifficultyUpdate],
        item_service: NamedDependency[ItemService],
    ) -> ItemDifficultyRead:
        previous, item = await item_service.set_difficulty(
            path_id(item_id, "item_id"), data.difficulty
        )
        assert item.id is not None
        return ItemDifficultyRead(
            item_id=item.id,
            previous_difficulty=previous,
            current_difficulty=item.difficulty,
            updated_at=timestamp(item.updated_at),
            message=f"Updated difficulty from {previous} to {item.difficulty}",
        )
