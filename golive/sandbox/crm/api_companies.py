"""The CRM double's public API: companies (`crm_companies`), as LagostaCRM's routes serve them —
list with filters, upsert matched by website else by name (case-insensitive), read and update by
id. A contact's `company_name` links one by name (`api_contacts`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from golive.sandbox.crm.api_common import ApiFailure, invalid, jsonable, page, present, uuid_of
from golive.sandbox.db import Conn

COLUMNS = "id::text, name, website, industry, created_at, updated_at"


def _like(text: str) -> str:
    """`text` as an ILIKE pattern that matches only itself (PostgREST's `ilike` with the value)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_or_upsert(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    if request.method == "POST":
        return upsert(conn, org, body)
    q = request.query_params
    sql = f"SELECT {COLUMNS} FROM crm_companies WHERE organization_id = %s AND deleted_at IS NULL"
    args: list[Any] = [org]
    website = (q.get("website") or "").strip()
    name = (q.get("name") or "").strip()
    text = (q.get("q") or "").strip()
    if website:
        sql += " AND website = %s"
        args.append(website)
    if name:
        sql += " AND name ILIKE %s"
        args.append(_like(name))
    if text:
        sql += " AND (name ILIKE %s OR website ILIKE %s)"
        args += [f"%{_like(text)}%"] * 2
    rows = conn.execute(sql + " ORDER BY created_at DESC, id", args).fetchall()
    return 200, page(rows, q.get("limit"), q.get("cursor"))


def find_by_name(conn: Conn, org: str, name: str) -> str | None:
    row = conn.execute(
        "SELECT id::text FROM crm_companies WHERE organization_id = %s AND deleted_at IS NULL "
        "AND name ILIKE %s ORDER BY created_at LIMIT 1",
        (org, _like(name)),
    ).fetchone()
    return str(row["id"]) if row else None


def create(conn: Conn, org: str, name: str, website: str | None, industry: str | None) -> dict[str, Any]:
    row = conn.execute(
        f"INSERT INTO crm_companies (organization_id, name, website, industry) VALUES (%s, %s, %s, %s) "
        f"RETURNING {COLUMNS}",
        (org, name, website, industry),
    ).fetchone()
    assert row is not None
    return row


def upsert(conn: Conn, org: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    name, website, industry = present(body, "name"), present(body, "website"), present(body, "industry")
    if website:
        found = conn.execute(
            "SELECT id::text FROM crm_companies WHERE organization_id = %s AND deleted_at IS NULL "
            "AND website = %s ORDER BY created_at LIMIT 1",
            (org, website),
        ).fetchone()
        existing = str(found["id"]) if found else None
    else:
        assert name is not None  # the document requires a website or a name
        existing = find_by_name(conn, org, name)
    if existing:
        row = conn.execute(
            f"UPDATE crm_companies SET name = COALESCE(%s, name), website = %s, industry = %s, "
            f"updated_at = now() WHERE id = %s RETURNING {COLUMNS}",
            (name, website, industry, existing),
        ).fetchone()
        assert row is not None
        return 200, {"data": jsonable(row), "action": "updated"}
    if not name:
        raise invalid("Name is required to create a new company")
    return 201, {"data": jsonable(create(conn, org, name, website, industry)), "action": "created"}


def company(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    cid = uuid_of(request.path_params["company"], "company id")
    if request.method == "PATCH":
        updates: dict[str, Any] = {}
        if isinstance(body.get("name"), str) and body["name"].strip():
            updates["name"] = body["name"].strip()
        for field in ("website", "industry"):
            if field in body:
                updates[field] = present(body, field)
        sets = "".join(f"{k} = %s, " for k in updates)
        row = conn.execute(
            f"UPDATE crm_companies SET {sets}updated_at = now() WHERE id = %s AND organization_id = %s "
            f"AND deleted_at IS NULL RETURNING {COLUMNS}",
            [*updates.values(), cid, org],
        ).fetchone()
    else:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM crm_companies WHERE id = %s AND organization_id = %s "
            "AND deleted_at IS NULL",
            (cid, org),
        ).fetchone()
    if row is None:
        raise ApiFailure(404, "Company not found", "NOT_FOUND")
    return 200, {"data": jsonable(row)}
