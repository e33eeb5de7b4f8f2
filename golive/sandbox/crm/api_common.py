"""What the CRM double's public API handlers share: the failure answer, ids, row serialisation,
pages and cursors, and the board lookup. Bodies and query strings were validated against the
served document before a handler runs (`api_validation`)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from golive.sandbox.db import Conn

# RFC-4122 v1–v5 (crm-contract §5.1); used with fullmatch, as `$` would let a trailing newline in.
UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
CHANNELS = ("whatsapp", "instagram", "messenger", "telegram", "email", "sms", "other")
# The columns every answer carries, as the published Deal / Contact / Board schemas list them.
DEAL_COLUMNS = (
    "id::text, title, value::float AS value, board_id::text, stage_id::text, contact_id::text, "
    "client_company_id::text, is_won, is_lost, loss_reason, closed_at, ai_summary, created_at, "
    "updated_at"
)
CONTACT_COLUMNS = (
    "id::text, name, email, phone, role, company_name, client_company_id::text, avatar, source, "
    "notes, status, stage, birth_date, last_interaction, last_purchase_date, "
    "total_value::float AS total_value, created_at, updated_at"
)
BOARD_COLUMNS = "id::text, key, name, description, position, is_default"
DEFAULT_PAGE = 50

# A handler: (connection in the request's transaction, organisation id, request, parsed body).
Handler = Callable[[Conn, str, Request, Any], tuple[int, dict[str, Any]]]


class ApiFailure(Exception):
    def __init__(self, status: int, error: str, code: str, **extra: Any) -> None:
        self.status = status
        self.body = {"error": error, "code": code, **extra}


def invalid(message: str = "Invalid payload") -> ApiFailure:
    return ApiFailure(422, message, "VALIDATION_ERROR")


def uuid_of(value: Any, what: str = "id") -> str:
    if not isinstance(value, str) or not UUID_RE.fullmatch(value):
        raise ApiFailure(422, f"Invalid {what}", "VALIDATION_ERROR")
    return value.lower()


def present(data: dict[str, Any], key: str) -> str | None:
    """A text field of a validated body: stripped, None when absent or blank (as the real routes'
    `normalizeText`)."""
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def parse_time(value: str, field: str) -> datetime:
    """An RFC 3339 date or time the document accepted, in UTC (PostgreSQL refuses offsets past
    ±15:59 and leap seconds, which RFC 3339 allows): 422 `Invalid <field>` when it cannot be one."""
    try:
        parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise invalid(f"Invalid {field}") from None


def page(rows: list[dict[str, Any]], limit: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of `rows` (`limit` already validated against the document: 1–250)."""
    size = int(limit) if limit else DEFAULT_PAGE
    offset = decode_cursor(cursor)
    more = offset + size < len(rows)
    return {
        "data": [jsonable(r) for r in rows[offset : offset + size]],
        "nextCursor": encode_cursor(offset + size) if more else None,
    }


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
    column = "id::text" if UUID_RE.fullmatch(key_or_id) else "key"
    row = conn.execute(
        f"SELECT id::text, key, won_stage_id::text, lost_stage_id::text FROM boards "
        f"WHERE organization_id = %s AND deleted_at IS NULL AND {column} = %s",
        (org, key_or_id.lower() if column == "id::text" else key_or_id),
    ).fetchone()
    if row is None:
        raise ApiFailure(404, "Board not found", "NOT_FOUND")
    return row
