"""The CRM double's public API: contacts (lookup by identifier, phone, email or text; upsert; read
and update by id) and a contact's identifiers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from golive.sandbox.crm import api_companies
from golive.sandbox.crm.api_common import (
    CHANNELS,
    CONTACT_COLUMNS,
    UUID_RE,
    ApiFailure,
    invalid,
    jsonable,
    page,
    parse_time,
    present,
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
    company = q.get("client_company_id") or ""
    if UUID_RE.fullmatch(company):  # an id that is not a UUID filters nothing, as the real route
        sql += " AND client_company_id = %s"
        args.append(company.lower())
    if q.get("q"):
        sql += " AND (name ILIKE %s OR email ILIKE %s OR phone ILIKE %s)"
        args += [f"%{q['q']}%"] * 3
    sql += " ORDER BY created_at DESC, id"
    rows = conn.execute(sql, args).fetchall()
    if phone and not exact_phone and ids is None:
        rows = [r for r in rows if normalise_phone(r["phone"]) == phone]
    return 200, page(rows, q.get("limit"), q.get("cursor"))


# What the real upsert writes on a match whether it was sent or not (§7 #9): all but the name
# and the total value.
NULLED_WHEN_UNSENT = (
    "email", "phone", "role", "company_name", "client_company_id", "avatar", "status", "stage",
    "source", "notes", "birth_date", "last_interaction", "last_purchase_date",
)  # fmt: skip
IDENTIFIER_COLUMNS = "id::text, channel, identifier, is_primary, metadata, created_at, updated_at"
TEXT_FIELDS = ("name", "role", "company_name", "avatar", "status", "stage", "source", "notes")
DATE_FIELDS = ("birth_date", "last_purchase_date")  # stored as the date; last_interaction as a time


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


def _when(value: str, field: str) -> str:
    """A date or time the document accepted, as the column takes it."""
    parsed = parse_time(value, field)
    return parsed.date().isoformat() if field in DATE_FIELDS else parsed.isoformat()


def contact_fields(conn: Conn, org: str, data: dict[str, Any]) -> dict[str, Any]:
    """The columns a (validated) contact body sets: texts stripped (blank: not set), phone and
    email normalised, dates parsed, the company linked by id or by name."""
    fields: dict[str, Any] = {k: present(data, k) for k in TEXT_FIELDS if present(data, k)}
    if data.get("phone"):
        phone = normalise_phone(data["phone"])
        if not phone:
            raise invalid("Invalid phone")
        fields["phone"] = phone
    if data.get("email"):
        email = normalise_email(data["email"])
        if not email:
            raise invalid("Invalid email")
        fields["email"] = email
    for field in (*DATE_FIELDS, "last_interaction"):
        if isinstance(data.get(field), str):
            fields[field] = _when(data[field], field)
    if isinstance(data.get("total_value"), (int, float)):
        fields["total_value"] = data["total_value"]
    if isinstance(data.get("client_company_id"), str):
        fields["client_company_id"] = company_of(conn, org, data["client_company_id"])
    elif fields.get("company_name"):
        name = fields["company_name"]
        fields["client_company_id"] = api_companies.find_by_name(conn, org, name) or str(
            api_companies.create(conn, org, name, None, None)["id"]
        )
    return fields


def company_of(conn: Conn, org: str, company_id: str) -> str:
    row = conn.execute(
        "SELECT id::text FROM crm_companies WHERE id = %s AND organization_id = %s AND deleted_at IS NULL",
        (company_id.lower(), org),
    ).fetchone()
    if row is None:  # intended: the real route stores any id (FK 500, or another tenant's company)
        raise invalid("Company not found")
    return str(row["id"])


def upsert_contact(conn: Conn, org: str, body: Any, faults: FaultState) -> tuple[int, dict[str, Any]]:
    fields = contact_fields(conn, org, body)
    if not fields.get("email") and not fields.get("phone"):
        raise invalid("Provide email or phone")
    existing = _existing_contact(conn, org, fields.get("email"), fields.get("phone"))
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


def contact(conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
    """`GET` or `PATCH /contacts/{id}`: a patch sets what it sends (nulls where the document
    allows them; a blank name, email or phone is left as it is)."""
    contact_id = find_contact(conn, org, request.path_params["contact"])
    if request.method == "PATCH":
        fields = contact_fields(conn, org, body)
        for field in ("client_company_id", *DATE_FIELDS, "last_interaction", "total_value"):
            if field in body and body[field] is None:
                fields[field] = None
        for field in TEXT_FIELDS[1:]:
            if field in body and field not in fields:
                fields[field] = None  # sent blank: normalised to null, as the real route
        sets = "".join(f"{k} = %s, " for k in fields)
        conn.execute(
            f"UPDATE contacts SET {sets}updated_at = now() WHERE id = %s", [*fields.values(), contact_id]
        )
    row = conn.execute(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = %s", (contact_id,)).fetchone()
    assert row is not None
    return 200, {"data": jsonable(row)}


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
        data = body
        channel, identifier = data["channel"], data["identifier"].strip()
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
        row = conn.execute(
            "INSERT INTO contact_identifiers (organization_id, contact_id, channel, identifier, "
            "is_primary, metadata) VALUES (%s, %s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT (organization_id, channel, identifier) DO UPDATE SET deleted_at = NULL, "
            "contact_id = EXCLUDED.contact_id, is_primary = EXCLUDED.is_primary, "
            f"metadata = EXCLUDED.metadata, updated_at = now() RETURNING {IDENTIFIER_COLUMNS}",
            (
                org,
                contact_id,
                channel,
                identifier,
                bool(data.get("is_primary")),
                json.dumps(data.get("metadata") or {}),
            ),
        ).fetchone()
        assert row is not None
        return 201, {"data": jsonable(row)}
    rows = conn.execute(
        f"SELECT {IDENTIFIER_COLUMNS} FROM contact_identifiers WHERE contact_id = %s "
        "AND deleted_at IS NULL ORDER BY is_primary DESC, created_at",
        (contact_id,),
    ).fetchall()
    return 200, {"data": [jsonable(r) for r in rows]}
