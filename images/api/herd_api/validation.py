"""Input validation. Every failure is a :class:`ValidationError` that becomes a 4xx JSON answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

NAME_MAX = 200
DESCRIPTION_MAX = 2000
QUERY_MAX = 200
ITEM_ID_MAX = 2**63 - 1  # PostgreSQL bigint


class ValidationError(Exception):
    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


@dataclass(frozen=True)
class NewItem:
    name: str
    description: str


def _clean_text(value: str, field: str) -> str:
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} must be valid Unicode text", field=field) from None
    return value.strip()


def parse_json_object(body: bytes, mimetype: str) -> dict[str, Any]:
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ValidationError("Content-Type must be application/json", status=415)
    if not body:
        raise ValidationError("request body is empty; expected a JSON object")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # includes invalid UTF-8
        raise ValidationError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("request body must be a JSON object")
    return data


def new_item(data: dict[str, Any]) -> NewItem:
    name = data.get("name")
    if name is None:
        raise ValidationError("name is required", field="name")
    if not isinstance(name, str):
        raise ValidationError("name must be a string", field="name")
    name = _clean_text(name, "name")
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationError(f"name must be 1 to {NAME_MAX} characters (after trimming)", field="name")

    description = data.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise ValidationError("description must be a string", field="description")
    description = _clean_text(description, "description")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(f"description must be at most {DESCRIPTION_MAX} characters", field="description")
    return NewItem(name=name, description=description)


def item_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= ITEM_ID_MAX:
        raise ValidationError(f"item id must be an integer between 1 and {ITEM_ID_MAX}", field="id")
    return int(raw)


def search_query(values: list[str]) -> str:
    if not values:
        raise ValidationError("query parameter q is required", field="q")
    query = _clean_text(values[0], "q")
    if not 1 <= len(query) <= QUERY_MAX:
        raise ValidationError(f"q must be 1 to {QUERY_MAX} characters (after trimming)", field="q")
    return query
