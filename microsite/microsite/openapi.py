"""The API's contract: its limits and its OpenAPI 3.1 description, served at /openapi.json.

The limits below are the one source both for what routes.py accepts and for what the
document publishes, so the two cannot drift; a test runs schemathesis against the running
service to check that every answer matches this document.
"""

from __future__ import annotations

from typing import Any

from microsite import SERVICE_NAME, __version__

PAGE_DEFAULT = 20
PAGE_MAX = 100
OFFSET_MAX = 10_000_000
NAME_MAX = 100
DESCRIPTION_MAX = 1000
ID_MAX = 2**63 - 1  # PostgreSQL's bigint
# Characters that make a name blank: a name needs one character outside this set.
BLANK = " \t\n\r\x0b\x0c"

_NO_NUL = "^[^\\u0000]*$"
_NOT_BLANK_NO_NUL = "^[^\\u0000]*[^\\u0000 \\t\\n\\r\\u000b\\u000c][^\\u0000]*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_UNAVAILABLE = _json("the database is not available; `cause` says why", "Error")
_BAD_REQUEST = _json("a bad parameter or body", "Error")
_NOT_FOUND = _json("no such item", "Error")


def _id_parameter() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    }


def _schemas() -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["id", "name", "description", "created_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
            "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
    new_item = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": NAME_MAX,
                "pattern": _NOT_BLANK_NO_NUL,
                "description": "not only spaces; no NUL character",
            },
            "description": {
                "type": "string",
                "maxLength": DESCRIPTION_MAX,
                "pattern": _NO_NUL,
                "default": "",
            },
        },
    }
    error = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "reason"],
                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
            "cause": {
                "type": "string",
                "description": "why the database is not available: unreachable, bad_password, "
                "login_refused, database_missing, permission_denied, too_many_connections, "
                "not_accepting, tls_untrusted, tls_failed, starting, stopping, ...",
            },
            "sqlstate": {"type": "string", "description": "PostgreSQL's error code"},
        },
    }
    overview = {
        "type": "object",
        "required": ["service", "environment", "database", "items"],
        "properties": {
            "service": {"type": "string"},
            "environment": {"type": "string"},
            "database": {
                "type": "object",
                "required": ["time", "version"],
                "properties": {
                    "time": {"type": "string", "format": "date-time"},
                    "version": {"type": "string"},
                },
            },
            "items": {"type": "array", "maxItems": 10, "items": _ref("Item")},
        },
    }
    page = {
        "type": "object",
        "required": ["items", "limit", "offset", "total", "next"],
        "properties": {
            "items": {"type": "array", "maxItems": PAGE_MAX, "items": _ref("Item")},
            "limit": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX},
            "offset": {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"]},
        },
    }
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "ready"]}},
    }
    return {
        "Item": item,
        "NewItem": new_item,
        "Error": error,
        "Overview": overview,
        "Page": page,
        "Status": status,
    }


def _paths() -> dict[str, Any]:
    paging = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX},
        },
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX},
        },
    ]
    return {
        "/": {
            "get": {
                "summary": "the service, the database's time and version, the first items",
                "responses": {
                    "200": _json("read from the database", "Overview"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/health": {
            "get": {
                "summary": "liveness; never touches the database",
                "responses": {"200": _json("the process serves", "Status")},
            }
        },
        "/ready": {
            "get": {
                "summary": "readiness: the database answers",
                "responses": {"200": _json("the database answers", "Status"), "503": _UNAVAILABLE},
            }
        },
        "/items": {
            "get": {
                "summary": "a page of items, oldest first",
                "parameters": paging,
                "responses": {
                    "200": _json("the page, with the URL of the next one", "Page"),
                    "400": _BAD_REQUEST,
                    "503": _UNAVAILABLE,
                },
            },
            "post": {
                "summary": "add an item",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewItem")}},
                },
                "responses": {
                    "201": {
                        "description": "created",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": _ref("Item")}},
                    },
                    "400": _BAD_REQUEST,
                    "413": _json("a body over 64 KiB", "Error"),
                    "415": _json("a body that is not application/json", "Error"),
                    "422": _json("a JSON object with bad fields, each listed", "Error"),
                    "503": _UNAVAILABLE,
                },
            },
        },
        "/items/{id}": {
            "parameters": [_id_parameter()],
            "get": {
                "summary": "one item",
                "responses": {
                    "200": _json("the item", "Item"),
                    "400": _BAD_REQUEST,
                    "404": _NOT_FOUND,
                    "503": _UNAVAILABLE,
                },
            },
            "delete": {
                "summary": "delete one item",
                "responses": {
                    "204": {"description": "deleted"},
                    "400": _BAD_REQUEST,
                    "404": _NOT_FOUND,
                    "503": _UNAVAILABLE,
                },
            },
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "responses": {"200": {"description": "the OpenAPI document"}},
            }
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service's API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": SERVICE_NAME,
            "version": __version__,
            "description": "The ECS lab's backend: a small JSON service over PostgreSQL. "
            "Every error is JSON: {error, message}, with `fields` for a bad request.",
        },
        "paths": _paths(),
        "components": {"schemas": _schemas()},
    }
