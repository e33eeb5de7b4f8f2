"""The CRM double's public API: activities (crm-contract §5.2 `GET | POST /activities`), e.g. the
note `golive cleanup` leaves on a test contact.

As the real route: a strict body (`type`, `title`, `description?`, `date?` ISO, `deal_id?`,
`contact_id?`, `client_company_id?`, `metadata?`), 422 `Invalid payload` otherwise, 422
`Invalid date`, 201 `{data, action: "created"}`; the list filters by `deal_id`, `contact_id`,
`type`, newest `date` first, paginated by cursor. Intended behaviour where the real one is
loose: a `deal_id` or `contact_id` must be live in the key's organisation (422 otherwise),
where the real route would store another organisation's id or fail on the foreign key.
The `meeting` confirmation mode of the real route is not modelled.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request

from golive.sandbox.crm.api_common import (
    UUID_RE,
    ApiFailure,
    decode_cursor,
    encode_cursor,
    invalid,
    jsonable,
    strict_body,
)
from golive.sandbox.db import Conn

COLUMNS = (
    "id::text, title, description, type, date, completed, deal_id::text, contact_id::text, "
    "NULL::text AS client_company_id, metadata, created_at"
)
_BODY: dict[str, tuple[type, ...]] = {
    "type": (str,),
    "title": (str,),
    "description": (str,),
    "date": (str,),
    "deal_id": (str,),
    "contact_id": (str,),
    "client_company_id": (str,),
    "metadata": (dict,),
}


def list_or_create(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    if request.method == "POST":
        return create(conn, org, body)
    q = request.query_params
    sql = f"SELECT {COLUMNS} FROM activities WHERE organization_id = %s AND deleted_at IS NULL"
    args: list[Any] = [org]
    for column in ("deal_id", "contact_id"):
        value = q.get(column)
        if value and UUID_RE.match(value):  # an invalid id filters nothing, as the real route
            sql += f" AND {column} = %s"
            args.append(value.lower())
    if (q.get("type") or "").strip():
        sql += " AND type = %s"
        args.append(q["type"].strip())
    limit = q.get("limit", "50")
    limit_n = int(limit) if limit.isdigit() and 1 <= int(limit) <= 250 else 50
    offset = decode_cursor(q.get("cursor"))
    rows = conn.execute(sql + " ORDER BY date DESC, created_at DESC", args).fetchall()
    page = [jsonable(r) for r in rows[offset : offset + limit_n]]
    more = offset + limit_n < len(rows)
    return 200, {"data": page, "nextCursor": encode_cursor(offset + limit_n) if more else None}


def create(conn: Conn, org: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = strict_body(body, _BODY)
    if not str(data.get("type") or "").strip() or not str(data.get("title") or "").strip():
        raise invalid()
    for column in ("deal_id", "contact_id", "client_company_id"):
        if data.get(column) is not None and not UUID_RE.match(str(data[column])):
            raise invalid()
    date = None
    if data.get("date"):
        try:
            date = datetime.fromisoformat(str(data["date"]).replace("Z", "+00:00"))
        except ValueError:
            raise invalid("Invalid date") from None
    for column, table, name in (("contact_id", "contacts", "Contact"), ("deal_id", "deals", "Deal")):
        if (
            data.get(column)
            and not conn.execute(
                f"SELECT 1 FROM {table} WHERE id = %s AND organization_id = %s AND deleted_at IS NULL",
                (str(data[column]).lower(), org),
            ).fetchone()
        ):
            raise ApiFailure(422, f"{name} not found", "VALIDATION_ERROR")
    row = conn.execute(
        f"INSERT INTO activities (organization_id, type, title, description, date, deal_id, contact_id, "
        f"metadata) VALUES (%s, %s, %s, %s, COALESCE(%s, now()), %s, %s, %s::jsonb) RETURNING {COLUMNS}",
        (
            org,
            str(data["type"]).strip(),
            str(data["title"]).strip(),
            data.get("description"),
            date,
            (data.get("deal_id") or "").lower() or None,
            (data.get("contact_id") or "").lower() or None,
            json.dumps(data.get("metadata") or {}),
        ),
    ).fetchone()
    assert row is not None
    return 201, {"data": jsonable(row), "action": "created"}
