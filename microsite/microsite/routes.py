"""The routes: what each URL answers. Pure request -> response code over `Database`;
asgi.py carries requests and responses to and from uvicorn.

GET /            service, environment, the database's time and version, and its items
GET /health      liveness (no database call)
GET /ready       200 only when the database answers
GET /items       ?limit=1..100 (default 20) &offset>=0 (default 0)
POST /items      {"name": 1..100 chars, "description": optional, up to 1000 chars}
GET /items/{id}, DELETE /items/{id}
GET /openapi.json  the OpenAPI 3 description of all of the above (openapi.py)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson

from microsite import SERVICE_NAME
from microsite.asgi import Header, Request, Response, Result, error_response
from microsite.config import Settings
from microsite.db import (
    SQL_COUNT,
    SQL_DELETE,
    SQL_GET,
    SQL_INSERT,
    SQL_LIST,
    SQL_OVERVIEW,
    Database,
    DatabaseUnavailable,
    Problem,
)
from microsite.openapi import (
    BLANK,
    DESCRIPTION_MAX,
    ID_MAX,
    NAME_MAX,
    OFFSET_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    document,
)

# Digits read at most: int() of a longer string is never attempted (Python refuses over
# 4300 digits with an error, and the work grows with the length before that).
_DIGITS_MAX = 19

_HEALTH = Response(200, b'{"status":"ok"}')
_READY = Response(200, b'{"status":"ready"}')
_NOT_FOUND = error_response(404, "not_found", "no such resource")


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "created_at": row["created_at"],
    }


def _json(status: int, data: Any, headers: tuple[Header, ...] = ()) -> Response:
    return Response(status, orjson.dumps(data), headers)


def _invalid(status: int, errors: list[dict[str, str]]) -> Response:
    message = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return _json(status, {"error": "validation_failed", "message": message, "fields": errors})


class App:
    def __init__(self, settings: Settings, db: Database) -> None:
        self._db = db
        self._prefix = orjson.dumps({"service": SERVICE_NAME, "environment": settings.environment})
        routes: dict[str, dict[str, Callable[[Request], Result]]] = {
            "/": {"GET": self.overview},
            "/health": {"GET": self.health},
            "/ready": {"GET": self.ready},
            "/items": {"GET": self.list_items, "POST": self.create_item},
            "/openapi.json": {"GET": self.openapi},
        }
        self._routes = routes
        self._item_routes: dict[str, Callable[[Request, str], Result]] = {
            "GET": self.get_item,
            "DELETE": self.delete_item,
        }

    def __call__(self, request: Request) -> Result:
        methods = self._routes.get(request.path)
        if methods is not None:
            handler = methods.get(request.method)
            if handler is None:
                return _method_not_allowed(methods)
            return handler(request)
        if request.path.startswith("/items/") and request.path.count("/") == 2:
            item_handler = self._item_routes.get(request.method)
            if item_handler is None:
                return _method_not_allowed(self._item_routes)
            return item_handler(request, request.path[len("/items/") :])
        return _NOT_FOUND

    # -- service routes --------------------------------------------------------------
    def health(self, request: Request) -> Response:
        return _HEALTH

    def openapi(self, request: Request) -> Response:
        return _OPENAPI

    def ready(self, request: Request) -> Awaitable[Response]:
        return self._ready()

    async def _ready(self) -> Response:
        await self._db.ping()
        return _READY

    def overview(self, request: Request) -> Awaitable[Response]:
        return self._overview()

    async def _overview(self) -> Response:
        rows = await self._db.fetch(SQL_OVERVIEW)
        first = rows[0]
        body = orjson.dumps(
            {
                "database": {"time": first["server_time"], "version": first["server_version"]},
                "items": [_item(r) for r in rows if r["id"] is not None],
            }
        )
        # {"service":..,"environment":..} + {"database":..} spliced into one object
        return Response(200, self._prefix[:-1] + b"," + body[1:])

    # -- items -----------------------------------------------------------------------
    def list_items(self, request: Request) -> Result:
        params = parse_qs(request.query, keep_blank_values=True)
        errors: list[dict[str, str]] = []
        limit = _int_param(params, "limit", PAGE_DEFAULT, 1, PAGE_MAX, errors)
        offset = _int_param(params, "offset", 0, 0, OFFSET_MAX, errors)
        if errors:
            return _invalid(400, errors)
        return self._list(limit, offset)

    async def _list(self, limit: int, offset: int) -> Response:
        rows = await self._db.fetch(SQL_LIST, limit, offset)
        total = (await self._db.fetch(SQL_COUNT))[0][0]
        following = offset + limit
        return _json(
            200,
            {
                "items": [_item(r) for r in rows],
                "limit": limit,
                "offset": offset,
                "total": total,
                "next": f"/items?limit={limit}&offset={following}" if following < total else None,
            },
        )

    def create_item(self, request: Request) -> Result:
        ctype = request.content_type.split(b";")[0].strip().lower()
        if ctype and ctype != b"application/json":
            return error_response(415, "unsupported_media_type", "send application/json")
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return _invalid(400, [{"field": "body", "reason": "is not valid JSON"}])
        if not isinstance(data, dict):
            return _invalid(400, [{"field": "body", "reason": "must be a JSON object"}])
        errors = _validate_item(data)
        if errors:
            return _invalid(422, errors)
        return self._create(data["name"], data.get("description", ""))

    async def _create(self, name: str, description: str) -> Response:
        row = (await self._db.fetch(SQL_INSERT, name, description, retry=False))[0]
        return _json(201, _item(row), ((b"location", b"/items/%d" % row["id"]),))

    def get_item(self, request: Request, raw_id: str) -> Result:
        item_id = _item_id(raw_id)
        if isinstance(item_id, Response):
            return item_id
        return self._get(item_id)

    async def _get(self, item_id: int) -> Response:
        rows = await self._db.fetch(SQL_GET, item_id)
        return _json(200, _item(rows[0])) if rows else _NOT_FOUND

    def delete_item(self, request: Request, raw_id: str) -> Result:
        item_id = _item_id(raw_id)
        if isinstance(item_id, Response):
            return item_id
        return self._delete(item_id)

    async def _delete(self, item_id: int) -> Response:
        rows = await self._db.fetch(SQL_DELETE, item_id, retry=False)
        return Response(204) if rows else _NOT_FOUND

    @staticmethod
    def on_error(exc: Exception) -> Response | None:
        """Server hook: a database that cannot answer is a 503 saying why, anything else a
        500."""
        return unavailable(exc.problem) if isinstance(exc, DatabaseUnavailable) else None


@lru_cache(maxsize=64)
def unavailable(problem: Problem) -> Response:
    """The 503 for a database problem: its class, never the server's own message."""
    body = {
        "error": "database_unavailable",
        "message": f"the database is not available: {problem.text}",
        "cause": problem.cause,
    }
    if problem.sqlstate:
        body["sqlstate"] = problem.sqlstate
    return _json(503, body)


_OPENAPI = Response(200, orjson.dumps(document()))


def _method_not_allowed(methods: dict[str, Any]) -> Response:
    allow = ", ".join(sorted(methods)).encode()
    response = error_response(405, "method_not_allowed", "method not allowed on this resource")
    response.headers = ((b"allow", allow),)
    return response


def _digits(raw: str) -> bool:
    """A short run of ASCII digits, safe to give int()."""
    return 0 < len(raw) <= _DIGITS_MAX and raw.isascii() and raw.isdigit()


def _item_id(raw: str) -> int | Response:
    if not _digits(raw) or not 0 < int(raw) <= ID_MAX:
        return _invalid(400, [{"field": "id", "reason": "must be a positive integer"}])
    return int(raw)


def _int_param(
    params: dict[str, list[str]],
    name: str,
    default: int,
    low: int,
    high: int,
    errors: list[dict[str, str]],
) -> int:
    values = params.get(name)
    if not values:
        return default
    if len(values) > 1:
        errors.append({"field": name, "reason": "must be given once"})
        return default
    raw = values[0]
    if not _digits(raw) or not low <= int(raw) <= high:
        errors.append({"field": name, "reason": f"must be an integer from {low} to {high}"})
        return default
    return int(raw)


def _validate_item(data: dict[str, Any]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    unknown = sorted(set(data) - {"name", "description"})
    errors += [{"field": key, "reason": "is not a known field"} for key in unknown]
    name = data.get("name")
    if name is None:
        errors.append({"field": "name", "reason": "is required"})
    elif not isinstance(name, str):
        errors.append({"field": "name", "reason": "must be a string"})
    elif not name.strip(BLANK):
        errors.append({"field": "name", "reason": "must not be blank"})
    elif len(name) > NAME_MAX:
        errors.append({"field": "name", "reason": f"must be at most {NAME_MAX} characters"})
    description = data.get("description", "")
    if not isinstance(description, str):
        errors.append({"field": "description", "reason": "must be a string"})
    elif len(description) > DESCRIPTION_MAX:
        errors.append(
            {"field": "description", "reason": f"must be at most {DESCRIPTION_MAX} characters"}
        )
    for field in ("name", "description"):
        value = data.get(field)
        if isinstance(value, str) and "\x00" in value:
            errors.append({"field": field, "reason": "must not contain NUL characters"})
    return errors
