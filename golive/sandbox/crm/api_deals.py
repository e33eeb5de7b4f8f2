"""The CRM double's public API: deals (read, list, find-or-create) and stage moves by deal id
or by identity (409 when an identity matches several open deals), won and lost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
from starlette.requests import Request

from golive.sandbox.crm.api_common import (
    DEAL_COLUMNS,
    UUID_RE,
    ApiFailure,
    find_board,
    invalid,
    jsonable,
    page,
    parse_time,
    present,
    uuid_of,
)
from golive.sandbox.crm.api_contacts import company_of, find_contact, upsert_contact
from golive.sandbox.crm.rules import normalise_email, normalise_phone
from golive.sandbox.db import Conn
from golive.sandbox.faults import FaultState


class Deals:
    """The deal handlers; several faults change how they behave."""

    def __init__(self, faults: FaultState) -> None:
        self.faults = faults

    def _deal_row(self, conn: Conn, org: str, deal_id: Any) -> dict[str, Any]:
        did = uuid_of(deal_id, "deal id")
        scoped = not self.faults.on("cross-tenant-deal-access")
        row = conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM deals WHERE id = %s AND (organization_id = %s OR NOT %s) "
            "AND deleted_at IS NULL",
            (did, org, scoped),
        ).fetchone()
        if row is None:
            raise ApiFailure(404, "Deal not found", "NOT_FOUND")
        return row

    def deal(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        if request.method == "PATCH":
            return self._patch(conn, org, request.path_params["deal"], body)
        return 200, {"data": jsonable(self._deal_row(conn, org, request.path_params["deal"]))}

    def _patch(self, conn: Conn, org: str, deal_id: Any, body: Any) -> tuple[int, dict[str, Any]]:
        """`PATCH /deals/{id}`: title, value, contact, loss reason (the real API's fields)."""
        data = body
        deal = self._deal_row(conn, org, deal_id)
        updates: dict[str, Any] = {}
        if present(data, "title"):
            updates["title"] = present(data, "title")
        if "value" in data:
            updates["value"] = data["value"]
        if data.get("contact_id"):
            try:
                updates["contact_id"] = find_contact(conn, org, data["contact_id"])
            except ApiFailure:
                raise invalid("Contact not found") from None
        if "client_company_id" in data:
            company = data["client_company_id"]
            updates["client_company_id"] = company_of(conn, org, company) if company else None
        if "loss_reason" in data:
            updates["loss_reason"] = present(data, "loss_reason")
        if not updates:
            return 200, {"data": jsonable(deal)}
        sets = ", ".join(f"{k} = %s" for k in updates)
        with _one_open_deal_per_stage(self.faults, "its contact already has an open deal in its stage"):
            row = conn.execute(
                f"UPDATE deals SET {sets}, updated_at = now() WHERE id = %s RETURNING {DEAL_COLUMNS}",
                [*updates.values(), deal["id"]],
            ).fetchone()
        assert row is not None
        return 200, {"data": jsonable(row)}

    def list_or_create(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        if request.method == "POST":
            return self._create_deal(conn, org, body)
        q = request.query_params
        sql = f"SELECT {DEAL_COLUMNS} FROM deals WHERE organization_id = %s AND deleted_at IS NULL"
        args: list[Any] = [org]
        for column in ("contact_id", "stage_id", "client_company_id", "board_id"):
            value = q.get(column) or ""
            if UUID_RE.fullmatch(value):  # an id that is not a UUID filters nothing, as the real route
                sql += f" AND {column} = %s"
                args.append(value.lower())
        if not UUID_RE.fullmatch(q.get("board_id") or "") and (q.get("board_key") or "").strip():
            board = conn.execute(
                "SELECT id FROM boards WHERE organization_id = %s AND deleted_at IS NULL AND key = %s",
                (org, q["board_key"].strip()),
            ).fetchone()
            sql += " AND board_id = %s"
            args.append(board["id"] if board else None)  # an unknown key matches no deal
        status = q.get("status")
        if status == "open":
            sql += " AND NOT is_won AND NOT is_lost"
        elif status in ("won", "lost"):
            sql += f" AND is_{status}"
        if q.get("updated_after"):
            sql += " AND updated_at >= %s"
            args.append(parse_time(q["updated_after"], "updated_after"))
        if (q.get("q") or "").strip():
            sql += " AND title ILIKE %s"
            args.append(f"%{q['q'].strip()}%")
        rows = conn.execute(sql + " ORDER BY updated_at DESC, id", args).fetchall()
        return 200, page(rows, q.get("limit"), q.get("cursor"))

    def _create_deal(self, conn: Conn, org: str, body: Any) -> tuple[int, dict[str, Any]]:
        data = body
        if not (data.get("board_id") or data.get("board_key")):
            raise invalid("Provide board_id or board_key")
        try:
            board = find_board(conn, org, data.get("board_id") or data.get("board_key"))
        except ApiFailure:
            raise invalid("Board not found") from None
        unchecked = self.faults.on("deal-create-unchecked")  # §7 #11
        if data.get("contact_id"):
            if unchecked:  # the id is used as sent: no organisation check, the foreign key decides
                contact_id = uuid_of(data["contact_id"], "contact_id")
            else:
                try:
                    contact_id = find_contact(conn, org, data["contact_id"])
                except ApiFailure:
                    raise invalid("Contact not found") from None
        elif data.get("contact"):
            _, created = upsert_contact(conn, org, data["contact"], self.faults)
            contact_id = created["data"]["id"]
        else:
            raise invalid("Provide contact_id or contact")
        existing = conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM deals WHERE organization_id = %s AND board_id = %s "
            "AND contact_id = %s AND NOT is_won AND NOT is_lost AND deleted_at IS NULL "
            "ORDER BY created_at",
            (org, board["id"], contact_id),
        ).fetchall()
        if len(existing) > 1 and unchecked:  # `maybeSingle()` on several rows is an error
            raise ApiFailure(500, "JSON object requested, multiple (or no) rows returned", "DB_ERROR")
        if existing:
            return 200, {"data": jsonable(existing[0]), "action": "existing"}
        company = company_of(conn, org, data["client_company_id"]) if data.get("client_company_id") else None
        stage_id = uuid_of(data["stage_id"], "stage_id") if data.get("stage_id") else None
        stage = conn.execute(
            "SELECT id::text FROM board_stages WHERE board_id = %s AND (%s::uuid IS NULL OR id = %s) "
            'ORDER BY "order" LIMIT 1',
            (board["id"], stage_id, stage_id),
        ).fetchone()
        if stage is None:
            raise invalid("Stage not found for this board")
        try:
            with _one_open_deal_per_stage(self.faults, "the contact already has an open deal in that stage"):
                row = conn.execute(
                    f"INSERT INTO deals (organization_id, board_id, stage_id, contact_id, title, value, "
                    f"client_company_id, last_stage_change_date) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
                    f"RETURNING {DEAL_COLUMNS}",
                    (
                        org,
                        board["id"],
                        stage["id"],
                        contact_id,
                        data["title"].strip() or data["title"],
                        data.get("value") or 0,
                        company,
                    ),
                ).fetchone()
        except psycopg.errors.ForeignKeyViolation as exc:
            raise ApiFailure(500, str(exc).splitlines()[0], "DB_ERROR") from None
        assert row is not None
        return 201, {"data": jsonable(row), "action": "created"}

    # --- stage moves -----------------------------------------------------------------------

    _TARGET: ClassVar[tuple[str, ...]] = ("to_stage_id", "to_stage_label", "mark", "ai_summary")

    def move_by_id(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        if self.faults.on("move-refuses-ai-summary") and isinstance(body, dict) and "ai_summary" in body:
            raise invalid()  # §7 #8: the strict schema knows to_stage_id, to_stage_label, mark only
        data = body
        deal = self._deal_row(conn, org, request.path_params["deal"])
        return 200, {"data": self._move(conn, org, deal, data), "action": "moved"}

    def move_legacy(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        data = body
        if data.get("deal_id"):
            deal = self._deal_row(conn, org, data["deal_id"])
            target = {k: v for k, v in data.items() if k in self._TARGET}
            return 200, {"data": self._move(conn, org, deal, target), "action": "moved"}
        return self._move_identity(conn, org, data)

    def move_by_identity(
        self, conn: Conn, org: str, request: Request, body: Any
    ) -> tuple[int, dict[str, Any]]:
        # n8n renders a missing field as "": the real route reads a blank value as absent.
        data = {k: v for k, v in body.items() if not (isinstance(v, str) and not v.strip())}
        return self._move_identity(conn, org, data)

    def _move_identity(self, conn: Conn, org: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        board = find_board(conn, org, data.get("board_key_or_id"))
        contact_ids: list[str] = []
        if data.get("contact_id"):
            contact_ids = [find_contact(conn, org, data["contact_id"])]
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
            raise invalid("Provide to_stage_id or to_stage_label")
        if not hits:
            raise ApiFailure(422, "Stage not found for this board", "VALIDATION_ERROR")
        if len(hits) > 1:
            raise ApiFailure(422, "Ambiguous stage label for this board", "VALIDATION_ERROR")
        stage_id = str(hits[0]["id"])
        mark = target.get("mark")
        won = mark == "won" or stage_id == board["won"]
        lost = mark == "lost" or stage_id == board["lost"]
        with _one_open_deal_per_stage(
            self.faults, "the deal's contact already has another open deal in that stage"
        ):
            row = self._update_stage(conn, deal, stage_id, target, won, lost)
        if self.faults.on("move-moves-siblings") and deal["contact_id"]:
            # siblings land in the same stage, which the duplicate trigger would refuse
            conn.execute("SET LOCAL golive.skip_deal_duplicate_check = 'on'")
            conn.execute(
                "UPDATE deals SET stage_id = %s, updated_at = now() WHERE organization_id = %s "
                "AND contact_id = %s AND id <> %s AND NOT is_won AND NOT is_lost",
                (stage_id, org, deal["contact_id"], deal["id"]),
            )
        return jsonable(row)

    def _update_stage(
        self, conn: Conn, deal: dict[str, Any], stage_id: str, target: dict[str, Any], won: bool, lost: bool
    ) -> dict[str, Any]:
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
        return row

    def _mark(
        self, conn: Conn, org: str, request: Request, body: Any, won: bool
    ) -> tuple[int, dict[str, Any]]:
        data = body or {}
        deal = self._deal_row(conn, org, request.path_params["deal"])
        row = conn.execute(
            f"UPDATE deals SET is_won = %s, is_lost = %s, closed_at = now(), loss_reason = %s, "
            f"updated_at = now() WHERE id = %s RETURNING {DEAL_COLUMNS}",
            (won, not won, None if won else present(data, "loss_reason"), deal["id"]),
        ).fetchone()
        assert row is not None
        return 200, {"data": jsonable(row), "action": "won" if won else "lost"}

    def mark_won(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        return self._mark(conn, org, request, body, True)

    def mark_lost(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        return self._mark(conn, org, request, body, False)


@contextmanager
def _one_open_deal_per_stage(faults: FaultState, why: str) -> Iterator[None]:
    """LagostaCRM's `check_deal_duplicate` trigger refuses a second open deal of one contact in
    one stage. Intended: a 409 that says so. §7 #13: the real API answers 500 DB_ERROR."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        if "check_deal_duplicate" not in str(getattr(exc.diag, "message_hint", "") or ""):
            raise
        if faults.on("stage-move-duplicate-500"):
            raise ApiFailure(500, str(exc).splitlines()[0], "DB_ERROR") from None
        raise ApiFailure(409, f"Refused: {why}; move or close that deal first", "VALIDATION_ERROR") from None
