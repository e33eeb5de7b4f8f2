"""The CRM double's public API v1 subset (crm-contract §5), with the intended v2 behaviour."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.crm_rules import normalise_email, normalise_phone
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)
CHANNELS = ("whatsapp", "instagram", "messenger", "telegram", "email", "sms", "other")
DEAL_COLUMNS = (
    "id::text, title, value::float AS value, board_id::text, stage_id::text, contact_id::text, "
    "is_won, is_lost, closed_at, ai_summary, loss_reason, last_stage_change_date, updated_at, "
    "created_at"
)
CONTACT_COLUMNS = "id::text, name, email, phone, avatar, source, status, stage, created_at, updated_at"


class ApiFailure(Exception):
    def __init__(self, status: int, error: str, code: str, **extra: Any) -> None:
        self.status = status
        self.body = {"error": error, "code": code, **extra}


def _invalid(message: str = "Invalid payload") -> ApiFailure:
    return ApiFailure(422, message, "VALIDATION_ERROR")


def _uuid(value: Any, what: str = "id") -> str:
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise ApiFailure(422, f"Invalid {what}", "VALIDATION_ERROR")
    return value.lower()


def _body(data: Any, allowed: Mapping[str, tuple[type, ...]]) -> dict[str, Any]:
    """Strict bodies: an object, known keys only, each of an accepted type."""
    if not isinstance(data, dict):
        raise _invalid()
    for key, value in data.items():
        if key not in allowed:
            raise _invalid()
        if value is not None and not isinstance(value, allowed[key]):
            raise _invalid()
        if isinstance(value, bool) and bool not in allowed[key]:
            raise _invalid()
    return data


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


Handler = Callable[[Conn, str, Request, Any], tuple[int, dict[str, Any]]]


class PublicApi:
    def __init__(self, pool: Pool, faults: FaultState) -> None:
        self.pool = pool
        self.faults = faults

    def routes(self) -> list[Route]:
        p = "/api/public/v1"
        return [
            Route(f"{p}/openapi.json", self.openapi, methods=["GET"]),
            Route(f"{p}/me", self._wrap(self.me), methods=["GET"]),
            Route(f"{p}/boards", self._wrap(self.boards), methods=["GET"]),
            Route(f"{p}/boards/{{board}}/stages", self._wrap(self.stages), methods=["GET"]),
            Route(f"{p}/contacts", self._wrap(self.contacts), methods=["GET", "POST"]),
            Route(
                f"{p}/contacts/{{contact}}/identifiers",
                self._wrap(self.identifiers),
                methods=["GET", "POST"],
            ),
            Route(f"{p}/deals", self._wrap(self.deals), methods=["GET", "POST"]),
            Route(f"{p}/deals/move-stage", self._wrap(self.move_legacy), methods=["POST"]),
            Route(
                f"{p}/deals/move-stage-by-identity",
                self._wrap(self.move_by_identity),
                methods=["POST"],
            ),
            Route(f"{p}/deals/{{deal}}", self._wrap(self.deal), methods=["GET"]),
            Route(f"{p}/deals/{{deal}}/move-stage", self._wrap(self.move_by_id), methods=["POST"]),
            Route(f"{p}/deals/{{deal}}/mark-won", self._wrap(self.mark_won), methods=["POST"]),
            Route(f"{p}/deals/{{deal}}/mark-lost", self._wrap(self.mark_lost), methods=["POST"]),
        ]

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            body: Any = None
            if request.method == "POST":
                raw = await request.body()
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    return JSONResponse({"error": "Invalid JSON", "code": "BAD_REQUEST"}, 400)
            key = request.headers.get("x-api-key")
            try:
                status, payload = await run_in_threadpool(self._run, handler, key, request, body)
            except ApiFailure as failure:
                return JSONResponse(failure.body, failure.status)
            return JSONResponse(payload, status)

        return endpoint

    def _run(
        self, handler: Handler, key: str | None, request: Request, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if not key and not self.faults.on("api-key-not-required"):
            raise ApiFailure(401, "Missing X-Api-Key", "AUTH_MISSING")
        with self.pool.transaction() as conn:
            if not key:  # the fault: an anonymous call is served as the oldest organisation
                first = conn.execute(
                    "SELECT id::text AS org FROM organizations ORDER BY created_at, id LIMIT 1"
                ).fetchone()
                assert first is not None
                request.state.key_prefix = ""
                return handler(conn, str(first["org"]), request, body)
            row = conn.execute(
                "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
                "RETURNING organization_id::text AS org, key_prefix",
                (hashlib.sha256(key.encode()).hexdigest(),),
            ).fetchone()
            if row is None:
                raise ApiFailure(401, "Invalid API key", "AUTH_INVALID")
            request.state.key_prefix = row["key_prefix"]
            return handler(conn, str(row["org"]), request, body)

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "openapi": "3.1.2",
                "info": {"title": "LagostaCRM public API (sandbox double)", "version": "1.0.0"},
                "components": {
                    "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}
                },
                "security": [{"ApiKeyAuth": []}],
                "paths": {r.path.removeprefix("/api/public/v1"): {} for r in self.routes()},
            }
        )

    # --- organisation and boards -----------------------------------------------------------

    def me(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        row = conn.execute("SELECT name FROM organizations WHERE id = %s", (org,)).fetchone()
        assert row is not None
        return 200, {
            "data": {
                "organization_id": org,
                "organization_name": row["name"],
                "api_key_prefix": request.state.key_prefix,
            }
        }

    def boards(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        key = request.query_params.get("key")
        rows = conn.execute(
            "SELECT id::text, key, name, description, position, is_default FROM boards "
            "WHERE organization_id = %s AND deleted_at IS NULL AND (%s::text IS NULL OR key = %s) "
            "ORDER BY position",
            (org, key, key),
        ).fetchall()
        return 200, {"data": rows, "nextCursor": None}

    def _board(self, conn: Conn, org: str, key_or_id: Any) -> dict[str, Any]:
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

    def stages(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        board = self._board(conn, org, request.path_params["board"])
        rows = conn.execute(
            'SELECT id::text, COALESCE(label, name) AS label, color, "order" FROM board_stages '
            'WHERE board_id = %s ORDER BY "order"',
            (board["id"],),
        ).fetchall()
        return 200, {"data": rows}

    # --- contacts --------------------------------------------------------------------------

    def contacts(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        if request.method == "POST":
            return self._upsert_contact(conn, org, body)
        q = request.query_params
        limit = q.get("limit", "50")
        limit_n = int(limit) if limit.isdigit() and 1 <= int(limit) <= 250 else 50
        offset = _decode_cursor(q.get("cursor"))
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
        if ids is not None:
            sql += " AND id::text = ANY(%s)"
            args.append(ids)
        else:
            if email:
                sql += " AND lower(email) = %s"
                args.append(email)
            if phone:
                sql += " AND right(regexp_replace(phone, '\\D', '', 'g'), 8) = %s"
                args.append(phone[-8:])
        if q.get("q"):
            sql += " AND (name ILIKE %s OR email ILIKE %s OR phone ILIKE %s)"
            args += [f"%{q['q']}%"] * 3
        sql += " ORDER BY created_at DESC, id"
        rows = [_jsonable(r) for r in conn.execute(sql, args).fetchall()]
        if phone:
            rows = [r for r in rows if normalise_phone(r["phone"]) == phone]
        page = rows[offset : offset + limit_n]
        more = offset + limit_n < len(rows)
        return 200, {"data": page, "nextCursor": _encode_cursor(offset + limit_n) if more else None}

    def _upsert_contact(self, conn: Conn, org: str, body: Any) -> tuple[int, dict[str, Any]]:
        data = _body(
            body,
            {
                k: (str,)
                for k in (
                    "name",
                    "email",
                    "phone",
                    "source",
                    "avatar",
                    "status",
                    "stage",
                    "notes",
                    "role",
                )
            },
        )
        email = normalise_email(data.get("email")) if data.get("email") else None
        phone = normalise_phone(data.get("phone")) if data.get("phone") else None
        if data.get("phone") and not phone:
            raise _invalid("Invalid phone")
        if not email and not phone:
            raise _invalid("Provide email or phone")
        existing = None
        for column, value in (("email", email), ("phone", phone)):
            if value and existing is None:
                existing = conn.execute(
                    f"SELECT id::text FROM contacts WHERE organization_id = %s AND deleted_at IS NULL "
                    f"AND {column} = %s ORDER BY created_at LIMIT 1",
                    (org, value),
                ).fetchone()
        fields = {k: v for k, v in data.items() if k in ("name", "source", "avatar", "status", "stage")}
        if email:
            fields["email"] = email
        if phone:
            fields["phone"] = phone
        if existing:
            sets = ", ".join(f"{k} = %s" for k in fields)
            row = conn.execute(
                f"UPDATE contacts SET {sets}, updated_at = now() WHERE id = %s RETURNING {CONTACT_COLUMNS}",
                [*fields.values(), existing["id"]],
            ).fetchone()
            assert row is not None
            return 200, {"data": _jsonable(row), "action": "updated"}
        if not data.get("name"):
            raise _invalid("Name is required to create a new contact")
        columns = ", ".join(["organization_id", *fields])
        marks = ", ".join(["%s"] * (len(fields) + 1))
        row = conn.execute(
            f"INSERT INTO contacts ({columns}) VALUES ({marks}) RETURNING {CONTACT_COLUMNS}",
            [org, *fields.values()],
        ).fetchone()
        assert row is not None
        return 201, {"data": _jsonable(row), "action": "created"}

    def _contact(self, conn: Conn, org: str, contact_id: Any) -> str:
        cid = _uuid(contact_id, "contact id")
        row = conn.execute(
            "SELECT id::text FROM contacts WHERE id = %s AND organization_id = %s AND deleted_at IS NULL",
            (cid, org),
        ).fetchone()
        if row is None:
            raise ApiFailure(404, "Contact not found", "NOT_FOUND")
        return str(row["id"])

    def identifiers(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        contact_id = self._contact(conn, org, request.path_params["contact"])
        if request.method == "POST":
            data = _body(
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
                raise _invalid()
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
        return (201 if request.method == "POST" else 200), {"data": [_jsonable(r) for r in rows]}

    # --- deals -----------------------------------------------------------------------------

    def _deal_row(self, conn: Conn, org: str, deal_id: Any) -> dict[str, Any]:
        did = _uuid(deal_id, "deal id")
        scoped = not self.faults.on("cross-tenant-deal-access")
        row = conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM deals WHERE id = %s AND (organization_id = %s OR NOT %s) "
            "AND deleted_at IS NULL",
            (did, org, scoped),
        ).fetchone()
        if row is None:
            raise ApiFailure(404, "Deal not found", "NOT_FOUND")
        return row

    def deal(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"data": _jsonable(self._deal_row(conn, org, request.path_params["deal"]))}

    def deals(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        if request.method == "POST":
            return self._create_deal(conn, org, body)
        q = request.query_params
        sql = f"SELECT {DEAL_COLUMNS} FROM deals WHERE organization_id = %s AND deleted_at IS NULL"
        args: list[Any] = [org]
        if q.get("contact_id"):
            sql += " AND contact_id = %s"
            args.append(_uuid(q["contact_id"], "contact_id"))
        if q.get("board_key") or q.get("board_id"):
            sql += " AND board_id = %s"
            args.append(self._board(conn, org, q.get("board_id") or q.get("board_key"))["id"])
        if q.get("status") == "open":
            sql += " AND NOT is_won AND NOT is_lost"
        sql += " ORDER BY updated_at DESC LIMIT 250"
        return 200, {
            "data": [_jsonable(r) for r in conn.execute(sql, args).fetchall()],
            "nextCursor": None,
        }

    def _create_deal(self, conn: Conn, org: str, body: Any) -> tuple[int, dict[str, Any]]:
        data = _body(
            body,
            {
                "title": (str,),
                "board_id": (str,),
                "board_key": (str,),
                "stage_id": (str,),
                "contact_id": (str,),
                "contact": (dict,),
                "value": (int, float),
            },
        )
        if not data.get("title") or not (data.get("board_id") or data.get("board_key")):
            raise _invalid()
        try:
            board = self._board(conn, org, data.get("board_id") or data.get("board_key"))
        except ApiFailure:
            raise _invalid("Board not found") from None
        if data.get("contact_id"):
            try:
                contact_id = self._contact(conn, org, data["contact_id"])
            except ApiFailure:
                raise _invalid("Contact not found") from None
        elif data.get("contact"):
            _, created = self._upsert_contact(conn, org, data["contact"])
            contact_id = created["data"]["id"]
        else:
            raise _invalid("Provide contact_id or contact")
        existing = conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM deals WHERE organization_id = %s AND board_id = %s "
            "AND contact_id = %s AND NOT is_won AND NOT is_lost AND deleted_at IS NULL "
            "ORDER BY created_at LIMIT 1",
            (org, board["id"], contact_id),
        ).fetchone()
        if existing:
            return 200, {"data": _jsonable(existing), "action": "existing"}
        stage = conn.execute(
            "SELECT id::text FROM board_stages WHERE board_id = %s AND (%s::uuid IS NULL OR id = %s) "
            'ORDER BY "order" LIMIT 1',
            (board["id"], data.get("stage_id"), data.get("stage_id")),
        ).fetchone()
        if stage is None:
            raise _invalid("Stage not found for this board")
        row = conn.execute(
            f"INSERT INTO deals (organization_id, board_id, stage_id, contact_id, title, value, "
            f"last_stage_change_date) VALUES (%s, %s, %s, %s, %s, %s, now()) RETURNING {DEAL_COLUMNS}",
            (org, board["id"], stage["id"], contact_id, data["title"], data.get("value") or 0),
        ).fetchone()
        assert row is not None
        return 201, {"data": _jsonable(row), "action": "created"}

    # --- stage moves -----------------------------------------------------------------------

    _TARGET: ClassVar[dict[str, tuple[type, ...]]] = {
        "to_stage_id": (str,),
        "to_stage_label": (str,),
        "mark": (str,),
        "ai_summary": (str,),
    }

    def move_by_id(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        data = _body(body, self._TARGET)
        deal = self._deal_row(conn, org, request.path_params["deal"])
        return 200, {"data": self._move(conn, org, deal, data), "action": "moved"}

    def move_legacy(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        data = _body(
            body,
            {
                **self._TARGET,
                "deal_id": (str,),
                "board_key_or_id": (str,),
                "phone": (str,),
                "email": (str,),
            },
        )
        if data.get("deal_id"):
            deal = self._deal_row(conn, org, data["deal_id"])
            target = {k: v for k, v in data.items() if k in self._TARGET}
            return 200, {"data": self._move(conn, org, deal, target), "action": "moved"}
        return self._move_identity(conn, org, data)

    def move_by_identity(
        self, conn: Conn, org: str, request: Request, body: Any
    ) -> tuple[int, dict[str, Any]]:
        data = _body(
            body,
            {
                **self._TARGET,
                "board_key_or_id": (str,),
                "contact_id": (str,),
                "channel": (str,),
                "identifier": (str,),
                "phone": (str,),
                "email": (str,),
                "allow_cross_board": (bool,),
            },
        )
        return self._move_identity(conn, org, data)

    def _move_identity(self, conn: Conn, org: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        board = self._board(conn, org, data.get("board_key_or_id"))
        contact_ids: list[str] = []
        if data.get("contact_id"):
            contact_ids = [self._contact(conn, org, data["contact_id"])]
        elif data.get("channel") and data.get("identifier"):
            rows = conn.execute(
                "SELECT contact_id::text AS id FROM contact_identifiers WHERE organization_id = %s "
                "AND channel = %s AND identifier = %s AND deleted_at IS NULL",
                (org, str(data["channel"]).lower(), str(data["identifier"]).strip()),
            ).fetchall()
            contact_ids = [str(r["id"]) for r in rows]
        elif data.get("phone") or data.get("email"):
            phone = normalise_phone(data.get("phone")) if data.get("phone") else None
            email = normalise_email(data.get("email")) if data.get("email") else None
            if not phone and not email:
                raise ApiFailure(422, "Invalid identity", "VALIDATION_ERROR")
            rows = conn.execute(
                "SELECT id::text AS id, phone, lower(email) AS email FROM contacts "
                "WHERE organization_id = %s AND deleted_at IS NULL",
                (org,),
            ).fetchall()
            contact_ids = [
                str(r["id"])
                for r in rows
                if (phone and normalise_phone(r["phone"]) == phone) or (email and r["email"] == email)
            ]
        else:
            raise ApiFailure(422, "Invalid identity", "VALIDATION_ERROR")
        open_deals = conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM deals WHERE organization_id = %s AND deleted_at IS NULL "
            "AND NOT is_won AND NOT is_lost AND contact_id::text = ANY(%s) "
            "AND (%s OR board_id = %s) ORDER BY updated_at DESC",
            (org, contact_ids, bool(data.get("allow_cross_board")), board["id"]),
        ).fetchall()
        if not open_deals:
            raise ApiFailure(404, "Deal not found for this identity", "NOT_FOUND")
        if len(open_deals) > 1 and not self.faults.on("identity-move-picks-newest"):
            raise ApiFailure(
                409,
                "More than one open deal matches this identity; move by deal_id",
                "AMBIGUOUS_MATCH",
                deal_ids=[d["id"] for d in open_deals],
            )
        target = {k: v for k, v in data.items() if k in self._TARGET}
        return 200, {"data": self._move(conn, org, open_deals[0], target), "action": "moved"}

    def _move(self, conn: Conn, org: str, deal: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
        board = conn.execute(
            "SELECT won_stage_id::text AS won, lost_stage_id::text AS lost FROM boards WHERE id = %s",
            (deal["board_id"],),
        ).fetchone()
        assert board is not None
        stages = conn.execute(
            "SELECT id::text, label, name FROM board_stages WHERE board_id = %s",
            (deal["board_id"],),
        ).fetchall()
        if target.get("to_stage_id"):
            hits = [s for s in stages if s["id"] == str(target["to_stage_id"]).lower()]
        elif target.get("to_stage_label"):
            wanted = str(target["to_stage_label"]).strip().lower()
            hits = [s for s in stages if str(s["label"] or s["name"]).lower() == wanted]
        else:
            raise _invalid("Provide to_stage_id or to_stage_label")
        if not hits:
            raise ApiFailure(422, "Stage not found for this board", "VALIDATION_ERROR")
        if len(hits) > 1:
            raise ApiFailure(422, "Ambiguous stage label for this board", "VALIDATION_ERROR")
        stage_id = hits[0]["id"]
        mark = target.get("mark")
        won = mark == "won" or stage_id == board["won"]
        lost = mark == "lost" or stage_id == board["lost"]
        row = conn.execute(
            f"UPDATE deals SET stage_id = %s, last_stage_change_date = now(), updated_at = now(), "
            f"ai_summary = COALESCE(%s, ai_summary), "
            f"is_won = CASE WHEN %s THEN true WHEN %s THEN false ELSE is_won END, "
            f"is_lost = CASE WHEN %s THEN true WHEN %s THEN false ELSE is_lost END, "
            f"closed_at = CASE WHEN %s OR %s THEN now() ELSE closed_at END "
            f"WHERE id = %s RETURNING {DEAL_COLUMNS}",
            (
                stage_id,
                None if self.faults.on("ai-summary-dropped") else target.get("ai_summary"),
                won,
                lost,
                lost,
                won,
                won,
                lost,
                deal["id"],
            ),
        ).fetchone()
        assert row is not None
        if self.faults.on("move-moves-siblings") and deal["contact_id"]:
            conn.execute(
                "UPDATE deals SET stage_id = %s, updated_at = now() WHERE organization_id = %s "
                "AND contact_id = %s AND id <> %s AND NOT is_won AND NOT is_lost",
                (stage_id, org, deal["contact_id"], deal["id"]),
            )
        return _jsonable(row)

    def _mark(
        self, conn: Conn, org: str, request: Request, body: Any, won: bool
    ) -> tuple[int, dict[str, Any]]:
        data = _body(body or {}, {"loss_reason": (str,)})
        deal = self._deal_row(conn, org, request.path_params["deal"])
        row = conn.execute(
            f"UPDATE deals SET is_won = %s, is_lost = %s, closed_at = now(), loss_reason = %s, "
            f"updated_at = now() WHERE id = %s RETURNING {DEAL_COLUMNS}",
            (won, not won, None if won else data.get("loss_reason"), deal["id"]),
        ).fetchone()
        assert row is not None
        return 200, {"data": _jsonable(row), "action": "won" if won else "lost"}

    def mark_won(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        return self._mark(conn, org, request, body, True)

    def mark_lost(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        return self._mark(conn, org, request, body, False)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
        return offset if isinstance(offset, int) and offset >= 0 else 0
    except (ValueError, KeyError, TypeError):
        return 0
