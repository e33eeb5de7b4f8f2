"""The CRM double's public API: contacts (lookup by identifier, phone, email or text; upsert)
and a contact's identifiers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from golive.sandbox.crm.api_common import (
    CHANNELS,
    CONTACT_COLUMNS,
    ApiFailure,
    decode_cursor,
    encode_cursor,
    invalid,
    jsonable,
    page_limit,
    strict_body,
    uuid_of,
)
from golive.sandbox.crm.rules import normalise_email, normalise_phone
from golive.sandbox.db import Conn
from golive.sandbox.faults import FaultState


def list_or_upsert(
    conn: Conn, org: str, request: Request, body: Any, faults: FaultState
) -> tuple[int, dict[str, Any]]:
    if request.method == "POST":
        return upsert_contact(conn, org, body, faults)
    q = request.query_params
    limit_n = page_limit(q.get("limit"))
    offset = decode_cursor(q.get("cursor"))
    phone = normalise_phone(q.get("phone")) if q.get("phone") else None
    email = normalise_email(q.get("email")) if q.get("email") else None
    identifier = (q.get("identifier") or "").strip()
    channel = (q.get("channel") or "").strip().lower()
    ids: list[str] | None = None
    if identifier:
        rows = conn.execute(
            "SELECT contact_id::text AS id FROM contact_identifiers WHERE organization_id = %s "
            "AND deleted_at IS NULL AND identifier = %s AND (%s = '' OR channel = %s)",
            (org, identifier, channel if channel in CHANNELS else "", channel),
        ).fetchall()
        ids = [str(r["id"]) for r in rows]
        if not ids and not phone and not email:
            return 200, {"data": [], "nextCursor": None}
        ids = ids or None
    sql = f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE organization_id = %s AND deleted_at IS NULL"
    args: list[Any] = [org]
    exact_phone = faults.on("contact-phone-exact-match")  # §7 #10: the stored text, as typed
    if ids is not None:
        sql += " AND id::text = ANY(%s)"
        args.append(ids)
    else:
        if email:
            sql += " AND lower(email) = %s"
            args.append(email)
        if phone and exact_phone:
            sql += " AND phone = %s"
            args.append(phone)
        elif phone:
            sql += " AND right(regexp_replace(phone, '\\D', '', 'g'), 8) = %s"
            args.append(phone[-8:])
    if q.get("q"):
        sql += " AND (name ILIKE %s OR email ILIKE %s OR phone ILIKE %s)"
        args += [f"%{q['q']}%"] * 3
    sql += " ORDER BY created_at DESC, id"
    rows = [jsonable(r) for r in conn.execute(sql, args).fetchall()]
    if phone and not exact_phone and ids is None:
        rows = [r for r in rows if normalise_phone(r["phone"]) == phone]
    page = rows[offset : offset + limit_n]
    more = offset + limit_n < len(rows)
    return 200, {"data": page, "nextCursor": encode_cursor(offset + limit_n) if more else None}


# What the real upsert writes on a match whether it was sent or not (§7 #9): all but the name.
NULLED_WHEN_UNSENT = (
    "email", "phone", "source", "avatar", "status", "stage", "notes", "role", "company_name"
)  # fmt: skip
UPSERT_FIELDS = ("name", *NULLED_WHEN_UNSENT)


def _existing_contact(conn: Conn, org: str, email: str | None, phone: str | None) -> str | None:
    """The live contact an upsert updates: by email, else by phone in any stored format."""
    if email:
        row = conn.execute(
            "SELECT id::text FROM contacts WHERE organization_id = %s AND deleted_at IS NULL "
            "AND lower(email) = %s ORDER BY created_at LIMIT 1",
            (org, email),
        ).fetchone()
        if row:
            return str(row["id"])
    if phone:
        rows = conn.execute(
            "SELECT id::text, phone FROM contacts WHERE organization_id = %s AND deleted_at IS NULL "
            "AND right(regexp_replace(phone, '\\D', '', 'g'), 8) = %s ORDER BY created_at",
            (org, phone[-8:]),
        ).fetchall()
        for row in rows:
            if normalise_phone(row["phone"]) == phone:
                return str(row["id"])
    return None


def upsert_contact(conn: Conn, org: str, body: Any, faults: FaultState) -> tuple[int, dict[str, Any]]:
    data = strict_body(body, {k: (str,) for k in UPSERT_FIELDS})
    email = normalise_email(data.get("email")) if data.get("email") else None
    phone = normalise_phone(data.get("phone")) if data.get("phone") else None
    if data.get("phone") and not phone:
        raise invalid("Invalid phone")
    if data.get("email") and not email:
        raise invalid("Invalid email")
    if not email and not phone:
        raise invalid("Provide email or phone")
    existing = _existing_contact(conn, org, email, phone)
    fields: dict[str, Any] = {
        k: v.strip() for k, v in data.items() if k in UPSERT_FIELDS and isinstance(v, str) and v.strip()
    }
    if email:
        fields["email"] = email
    if phone:
        fields["phone"] = phone
    if existing:
        if faults.on("contact-upsert-nulls-unsent"):
            fields = {**dict.fromkeys(NULLED_WHEN_UNSENT), **fields}
        sets = ", ".join(f"{k} = %s" for k in fields)
        row = conn.execute(
            f"UPDATE contacts SET {sets}, updated_at = now() WHERE id = %s RETURNING {CONTACT_COLUMNS}",
            [*fields.values(), existing],
        ).fetchone()
        assert row is not None
        return 200, {"data": jsonable(row), "action": "updated"}
    if not fields.get("name"):
        raise invalid("Name is required to create a new contact")
    fields.setdefault("status", "ACTIVE")
    fields.setdefault("stage", "LEAD")
    columns = ", ".join(["organization_id", *fields])
    marks = ", ".join(["%s"] * (len(fields) + 1))
    row = conn.execute(
        f"INSERT INTO contacts ({columns}) VALUES ({marks}) RETURNING {CONTACT_COLUMNS}",
        [org, *fields.values()],
    ).fetchone()
    assert row is not None
    return 201, {"data": jsonable(row), "action": "created"}


def find_contact(conn: Conn, org: str, contact_id: Any) -> str:
    cid = uuid_of(contact_id, "contact id")
    row = conn.execute(
        "SELECT id::text FROM contacts WHERE id = %s AND organization_id = %s AND deleted_at IS NULL",
        (cid, org),
    ).fetchone()
    if row is None:
        raise ApiFailure(404, "Contact not found", "NOT_FOUND")
    return str(row["id"])


def identifiers(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    contact_id = find_contact(conn, org, request.path_params["contact"])
    if request.method == "POST":
        data = strict_body(
            body,
            {
                "channel": (str,),
                "identifier": (str,),
                "is_primary": (bool,),
                "metadata": (dict,),
            },
        )
        channel, identifier = data.get("channel"), (data.get("identifier") or "").strip()
        if channel not in CHANNELS or not 1 <= len(identifier) <= 256:
            raise invalid()
        owner = conn.execute(
            "SELECT contact_id::text AS c FROM contact_identifiers WHERE organization_id = %s "
            "AND channel = %s AND identifier = %s AND deleted_at IS NULL",
            (org, channel, identifier),
        ).fetchone()
        if owner and owner["c"] != contact_id:
            raise ApiFailure(
                409,
                "Identifier already linked to another contact",
                "IDENTIFIER_CONFLICT",
                existing_contact_id=owner["c"],
            )
        if data.get("is_primary"):
            conn.execute(
                "UPDATE contact_identifiers SET is_primary = false WHERE contact_id = %s",
                (contact_id,),
            )
        conn.execute(
            "INSERT INTO contact_identifiers (organization_id, contact_id, channel, identifier, "
            "is_primary, metadata) VALUES (%s, %s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT (organization_id, channel, identifier) DO UPDATE SET deleted_at = NULL, "
            "is_primary = EXCLUDED.is_primary OR contact_identifiers.is_primary",
            (
                org,
                contact_id,
                channel,
                identifier,
                bool(data.get("is_primary")),
                json.dumps(data.get("metadata") or {}),
            ),
        )
    rows = conn.execute(
        "SELECT id::text, channel, identifier, is_primary, metadata, created_at FROM "
        "contact_identifiers WHERE contact_id = %s AND deleted_at IS NULL "
        "ORDER BY is_primary DESC, created_at",
        (contact_id,),
    ).fetchall()
    return (201 if request.method == "POST" else 200), {"data": [jsonable(r) for r in rows]}
