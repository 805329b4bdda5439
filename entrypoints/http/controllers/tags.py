"""`/v1/tags`: the preset tag catalogue."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from application.tags import TagService
from entrypoints.http.errors import REQUEST_ID_HEADER, documented
from entrypoints.http.params import path_id
from entrypoints.http.schemas.tags import TagCreate, TagList, TagRead

TagId = Annotated[
    str, PathParameter(description="Tag id (signed 64-bit integer)", pattern=r"^[+-]?[0-9]+$")
]


class TagController(Controller):
    path = "/v1/tags"
    tags = ["tags"]
    response_headers = [REQUEST_ID_HEADER]

    @post(
        "/",
        operation_id="createTag",
        summary="Create a preset tag",
        status_code=201,
        responses=documented(400, 409, 413, 422),
    )
    async def create(
        self, data: JSONBody[TagCreate], tag_service: NamedDependency[TagService]
    ) -> Response[TagRead]:
        tag = await tag_service.create(data.name)
        return Response(TagRead.of(tag), status_code=201)

    @get("/", operation_id="listTags", summary="List preset tags", responses=documented(422))
    async def list_tags(
        self,
        tag_service: NamedDependency[TagService],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        # schema_extra: Litestar's OpenAPI drops a zero minimum.
        offset: Annotated[int, QueryParameter(ge=0, le=2**62, schema_extra={"minimum": 0})] = 0,
    ) -> TagList:
        tags, total = await tag_service.list(limit, offset)
        return TagList(tags=[TagRead.of(t) for t in tags], total=total)

    @delete(
        "/{tag_id:str}",
        operation_id="deleteTag",
        summary="Delete a preset tag",
        responses=documented(404, 422),
    )
    async def delete_tag(self, tag_id: TagId, tag_service: NamedDependency[TagService]) -> None:
        await tag_service.delete(path_id(tag_id, "tag_id"))
