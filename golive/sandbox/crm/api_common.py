"""What the CRM double's public API handlers share: the failure answer, strict bodies, ids,
row serialisation, cursors and the board lookup."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from golive.sandbox.db import Conn

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)
CHANNELS = ("whatsapp", "instagram", "messenger", "telegram", "email", "sms", "other")
DEAL_COLUMNS = (
    "id::text, title, value::float AS value, board_id::text, stage_id::text, contact_id::text, "
    "is_won, is_lost, closed_at, ai_summary, loss_reason, last_stage_change_date, updated_at, "
    "created_at"
)
CONTACT_COLUMNS = (
    "id::text, name, email, phone, avatar, notes, role, company_name, source, status, stage, "
    "created_at, updated_at"
)
MAX_TEXT = 10_000  # characters in any string field of a body
LIMITED_TEXT = {"name": 255, "email": 320, "phone": 64, "identifier": 256, "title": 500}
_ASCII_NUMBER = re.compile(r"[0-9]{1,4}")

# A handler: (connection in the request's transaction, organisation id, request, parsed body).
Handler = Callable[[Conn, str, Request, Any], tuple[int, dict[str, Any]]]


class ApiFailure(Exception):
    def __init__(self, status: int, error: str, code: str, **extra: Any) -> None:
        self.status = status
        self.body = {"error": error, "code": code, **extra}


def invalid(message: str = "Invalid payload") -> ApiFailure:
    return ApiFailure(422, message, "VALIDATION_ERROR")


def uuid_of(value: Any, what: str = "id") -> str:
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise ApiFailure(422, f"Invalid {what}", "VALIDATION_ERROR")
    return value.lower()


def strict_body(data: Any, allowed: Mapping[str, tuple[type, ...]]) -> dict[str, Any]:
    """Strict bodies: an object, known keys only, each of an accepted type."""
    if not isinstance(data, dict):
        raise invalid()
    for key, value in data.items():
        if key not in allowed:
            raise invalid()
        if value is not None and not isinstance(value, allowed[key]):
            raise invalid()
        if isinstance(value, bool) and bool not in allowed[key]:
            raise invalid()
        if isinstance(value, str) and len(value) > LIMITED_TEXT.get(key, MAX_TEXT):
            raise invalid(f"{key} is longer than {LIMITED_TEXT.get(key, MAX_TEXT)} characters")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > 1e15:
            raise invalid(f"{key} is out of range")
    return data


def page_limit(raw: str | None, default: int = 50) -> int:
    """`limit`: 1–250 in ASCII digits, else the default."""
    if raw is None or not _ASCII_NUMBER.fullmatch(raw):
        return default
    return int(raw) if 1 <= int(raw) <= 250 else default


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
        return offset if isinstance(offset, int) and offset >= 0 else 0
    except (ValueError, KeyError, TypeError):
        return 0


def find_board(conn: Conn, org: str, key_or_id: Any) -> dict[str, Any]:
    if not isinstance(key_or_id, str) or not key_or_id:
        raise ApiFailure(404, "Board not found", "NOT_FOUND")
    column = "id::text" if UUID_RE.match(key_or_id) else "key"
    row = conn.execute(
        f"SELECT id::text, key, won_stage_id::text, lost_stage_id::text FROM boards "
        f"WHERE organization_id = %s AND deleted_at IS NULL AND {column} = %s",
        (org, key_or_id.lower() if column == "id::text" else key_or_id),
    ).fetchone()
    if row is None:
        raise ApiFailure(404, "Board not found", "NOT_FOUND")
    return row
