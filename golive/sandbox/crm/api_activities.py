"""The CRM double's public API: activities (crm-contract §5.2 `GET | POST /activities`), e.g. the
note `golive cleanup` leaves on a test contact.

As the real route: the body the served document describes (`type`, `title`, `description?`,
`date?` ISO, `deal_id?`, `contact_id?`, `client_company_id?`, `metadata?`), 422 `Invalid date`,
201 `{data, action: "created"}`; the list filters by `deal_id`, `contact_id`,
`client_company_id`, `type`, newest `date` first, paginated by cursor. Intended behaviour where
the real one is loose: a `deal_id`, `contact_id` or `client_company_id` must be live in the key's
organisation (422 otherwise), where the real route would store another organisation's id or fail
on the foreign key.
The `meeting` confirmation mode of the real route is not modelled.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from golive.sandbox.crm.api_common import UUID_RE, ApiFailure, jsonable, page, parse_time, present
from golive.sandbox.db import Conn

COLUMNS = (
    "id::text, title, description, type, date, completed, deal_id::text, contact_id::text, "
    "client_company_id::text, metadata, created_at"
)


def list_or_create(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    if request.method == "POST":
        return create(conn, org, body)
    q = request.query_params
    sql = f"SELECT {COLUMNS} FROM activities WHERE organization_id = %s AND deleted_at IS NULL"
    args: list[Any] = [org]
    for column in ("deal_id", "contact_id", "client_company_id"):
        value = q.get(column)
        if value and UUID_RE.fullmatch(value):  # an invalid id filters nothing, as the real route
            sql += f" AND {column} = %s"
            args.append(value.lower())
    if (q.get("type") or "").strip():
        sql += " AND type = %s"
        args.append(q["type"].strip())
    rows = conn.execute(sql + " ORDER BY date DESC, created_at DESC, id", args).fetchall()
    return 200, page(rows, q.get("limit"), q.get("cursor"))


def create(conn: Conn, org: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body
    date = parse_time(data["date"], "date") if data.get("date") else None
    for column, table, name in (
        ("contact_id", "contacts", "Contact"),
        ("deal_id", "deals", "Deal"),
        ("client_company_id", "crm_companies", "Company"),
    ):
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
        f"client_company_id, metadata) VALUES (%s, %s, %s, %s, COALESCE(%s, now()), %s, %s, %s, %s::jsonb) "
        f"RETURNING {COLUMNS}",
        (
            org,
            data["type"].strip(),
            data["title"].strip(),
            present(data, "description"),
            date,
            (data.get("deal_id") or "").lower() or None,
            (data.get("contact_id") or "").lower() or None,
            (data.get("client_company_id") or "").lower() or None,
            json.dumps(data.get("metadata") or {}),
        ),
    ).fetchone()
    assert row is not None
    return 201, {"data": jsonable(row), "action": "created"}
