"""The CRM double's `/api/chatwoot/webhook`: the intended v2 behaviour (crm-contract §3–§4):
signature, tenant by account + inbox, conversation links and the message cache. Identity
resolution is in `resolver`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from golive.sandbox.crm.resolver import Resolver
from golive.sandbox.crm.rules import (
    CHANNEL_SOURCES,
    HANDOFF_LABEL,
    dig,
    normalise_email,
    normalise_phone,
    valid_igsid,
)
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState

log = logging.getLogger("golive.sandbox.crm")

MAX_BODY_BYTES = 1_000_000
SIGNATURE_WINDOW_S = 300
STATUS_MAP = {"resolved": "resolved", "pending": "pending", "snoozed": "pending"}


class BadPayload(Exception):
    """The JSON parsed but a field has the wrong shape: answered 400, nothing written."""


def _int(value: Any, field: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool):
        raise BadPayload(f"{field} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if value is None:
        raise BadPayload(f"{field} is required")
    raise BadPayload(f"{field} must be an integer")


def _text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadPayload(f"{field} must be a string")


def _legacy_signature_ok(signature: str, secret: str) -> bool:
    """The real CRM's check (crm-contract §7 #6, LagostaCRM lib/chatwoot/webhooks.ts
    `validateWebhookSignature`): no header passes, and so does a header equal to the secret or
    to `Bearer <secret>`; Chatwoot's `sha256=` HMAC never does. The timestamp is not read."""
    if not signature:
        return True
    return signature == secret or signature == f"Bearer {secret}"


@dataclass
class Tenant:
    organization_id: str
    channel_type: str
    chatwoot_base_url: str


class WebhookHandler:
    def __init__(self, pool: Pool, faults: FaultState, secret: str | None) -> None:
        self.pool = pool
        self.faults = faults
        self.secret = secret

    # --- HTTP ------------------------------------------------------------------------------

    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "message": "Chatwoot webhook endpoint is active",
                "secretConfigured": bool(self.secret),
            }
        )

    async def post(self, request: Request) -> JSONResponse:
        if self.faults.outage:
            return JSONResponse({"error": "Service unavailable"}, status_code=503)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "Payload too large"}, status_code=413)
        if self.secret and not self._signature_ok(request, body):
            return JSONResponse({"error": "Invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "Invalid JSON payload"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "Invalid JSON payload"}, status_code=400)
        if self.faults.partial_outage and self.faults.outage_for(_inbox_of(payload)):
            return JSONResponse({"error": "Service unavailable"}, status_code=503)
        try:
            status, answer = await run_in_threadpool(self.handle, payload)
        except BadPayload as exc:
            if self.faults.on("malformed-payload-crash"):  # trusts the payload's shape: crashes
                log.error("webhook crashed on a malformed payload: %s", exc)
                return JSONResponse({"error": "Internal server error"}, status_code=500)
            return JSONResponse({"error": "Invalid payload", "detail": str(exc)}, status_code=400)
        except Exception:
            log.exception("webhook failed")
            return JSONResponse({"error": "Internal server error"}, status_code=500)
        return JSONResponse(answer, status_code=status)

    def _signature_ok(self, request: Request, body: bytes) -> bool:
        assert self.secret is not None
        if self.faults.on("crm-signature-scheme-legacy"):
            return _legacy_signature_ok(request.headers.get("x-chatwoot-signature") or "", self.secret)
        signature = request.headers.get("x-chatwoot-signature")
        timestamp = request.headers.get("x-chatwoot-timestamp")
        if signature is None and self.faults.on("unsigned-webhook-accepted"):
            return True
        if not signature or not timestamp or not timestamp.isdigit():
            return False
        stale = abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_S
        if stale and not self.faults.on("stale-signature-accepted"):
            return False
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(signature.strip(), f"sha256={expected}")

    # --- dispatch --------------------------------------------------------------------------

    def handle(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        event = payload.get("event")
        if not isinstance(event, str):
            raise BadPayload("event must be a string")
        account_raw = dig(payload, "account", "id")
        if account_raw is None:
            account_raw = _first_message_account(payload)
        account_id = _int(account_raw, "account.id", required=False)
        inbox_raw = dig(payload, "inbox", "id")
        if inbox_raw is None:
            inbox_raw = payload.get("inbox_id")
        if inbox_raw is None:
            inbox_raw = dig(payload, "conversation", "inbox_id")
        inbox_id = _int(inbox_raw, "inbox id", required=False)
        with self.pool.transaction() as conn:
            if account_id is None:
                return 200, {"success": True, "ignored": "no_matching_tenant"}
            configs = conn.execute(
                "SELECT organization_id::text, chatwoot_inbox_id, channel_type, chatwoot_base_url "
                "FROM messaging_channel_configs WHERE chatwoot_account_id = %s AND status = 'active'",
                (account_id,),
            ).fetchall()
            if not configs:
                return 200, {"success": True, "ignored": "no_matching_tenant"}
            if inbox_id is None:
                return 200, {"success": True, "ignored": "no_inbox_context"}
            matching = [c for c in configs if c["chatwoot_inbox_id"] == inbox_id]
            if not matching and self.faults.on("foreign-inbox-processed"):
                matching = configs[:1]
            if not matching:
                return 200, {"success": True, "ignored": "foreign_inbox"}
            if len({c["organization_id"] for c in matching}) > 1:
                return 400, {"error": "Ambiguous organization mapping for account"}
            row = matching[0]
            tenant = Tenant(
                str(row["organization_id"]), str(row["channel_type"]), str(row["chatwoot_base_url"])
            )
            if event == "conversation_created":
                self._conversation_created(conn, tenant, account_id, inbox_id, payload)
            elif event in ("conversation_updated", "conversation_status_changed"):
                self._conversation_updated(conn, tenant, payload)
            elif event in ("message_created", "message_updated"):
                self._message(conn, tenant, payload)
            return 200, {"success": True}

    # --- conversation events ---------------------------------------------------------------

    def _source(self, tenant: Tenant, channel: Any) -> str | None:
        source = CHANNEL_SOURCES.get(channel) if isinstance(channel, str) else None
        if source:
            return source
        fallback = tenant.channel_type.upper()
        return fallback if fallback in ("WHATSAPP", "INSTAGRAM") else None

    def _external_id(self, source: str, conv: dict[str, Any], sender: dict[str, Any]) -> str | None:
        source_id = dig(conv, "contact_inbox", "source_id")
        if source == "INSTAGRAM":
            if self.faults.on("igsid-from-identifier-only"):
                return valid_igsid(sender.get("identifier"))
            return valid_igsid(source_id) or valid_igsid(sender.get("identifier"))
        phone = normalise_phone(sender.get("phone_number"))
        if phone is None and isinstance(source_id, str):
            digits = source_id.removeprefix("whatsapp:")
            phone = normalise_phone(digits if digits.startswith("+") else "+" + digits)
        if phone and self.faults.on("wa-raw-phone-identity"):
            return str(source_id or sender.get("phone_number"))
        return phone

    def _conversation_created(
        self, conn: Conn, tenant: Tenant, account_id: int, inbox_id: int, conv: dict[str, Any]
    ) -> None:
        conversation_id = _int(conv.get("id"), "id")
        sender = dig(conv, "meta", "sender") or {}
        if not isinstance(sender, dict):
            raise BadPayload("meta.sender must be an object")
        labels = conv.get("labels") or []
        if not isinstance(labels, list):
            raise BadPayload("labels must be a list")
        name = _text(sender.get("name"), "meta.sender.name")
        phone_raw = _text(sender.get("phone_number"), "meta.sender.phone_number")
        email_raw = _text(sender.get("email"), "meta.sender.email")
        unread = _int(conv.get("unread_count") or 0, "unread_count")
        contact_id: str | None = None
        source = self._source(tenant, conv.get("channel"))
        if source:
            external_id = self._external_id(source, conv, sender)
            contact_id = Resolver(conn, self.faults, tenant.organization_id).resolve(
                source,
                external_id,
                raw_external_id=str(dig(conv, "contact_inbox", "source_id") or ""),
                name=name,
                phone=normalise_phone(phone_raw),
                email=normalise_email(email_raw),
                avatar=_text(sender.get("thumbnail"), "meta.sender.thumbnail"),
            )
        assignee = dig(conv, "meta", "assignee") or {}
        values = {
            "org": tenant.organization_id,
            "conv": conversation_id,
            "cw_contact": _int(sender.get("id"), "meta.sender.id", required=False),
            "inbox": inbox_id,
            "contact": contact_id,
            "status": STATUS_MAP.get(str(conv.get("status")), "open"),
            "unread": unread,
            "url": f"{tenant.chatwoot_base_url.rstrip('/')}/app/accounts/{account_id}"
            f"/conversations/{conversation_id}",
            "agent_id": assignee.get("id") if isinstance(assignee, dict) else None,
            "agent_name": assignee.get("name") if isinstance(assignee, dict) else None,
            "name": name,
            "phone": phone_raw,
            "avatar": sender.get("thumbnail") or None,
            "ai": HANDOFF_LABEL not in labels,
        }
        insert = (
            "INSERT INTO messaging_conversation_links (organization_id, chatwoot_conversation_id, "
            "chatwoot_contact_id, chatwoot_inbox_id, contact_id, status, unread_count, chatwoot_url, "
            "assigned_agent_id, assigned_agent_name, contact_name, contact_phone, contact_avatar_url, "
            "ai_enabled) VALUES (%(org)s, %(conv)s, %(cw_contact)s, %(inbox)s, %(contact)s, "
            "%(status)s, %(unread)s, %(url)s, %(agent_id)s, %(agent_name)s, %(name)s, %(phone)s, "
            "%(avatar)s, %(ai)s)"
        )
        if self.faults.on("reentry-duplicate-link"):
            conn.execute(insert, values)
            return
        # A replay only fills what was missing: status, unread, deal, hand-off stay as they are.
        conn.execute(
            insert + " ON CONFLICT (organization_id, chatwoot_conversation_id) DO UPDATE SET "
            "contact_id = COALESCE(messaging_conversation_links.contact_id, EXCLUDED.contact_id), "
            "chatwoot_contact_id = COALESCE(messaging_conversation_links.chatwoot_contact_id, "
            "EXCLUDED.chatwoot_contact_id)",
            values,
        )

    def _conversation_updated(self, conn: Conn, tenant: Tenant, conv: dict[str, Any]) -> None:
        conversation_id = _int(conv.get("id"), "id")
        labels = conv.get("labels") or []
        if not isinstance(labels, list):
            raise BadPayload("labels must be a list")
        assignee = dig(conv, "meta", "assignee") or {}
        ai_enabled = HANDOFF_LABEL not in labels
        conn.execute(
            "UPDATE messaging_conversation_links SET status = %s, unread_count = %s, "
            "assigned_agent_id = %s, assigned_agent_name = %s, "
            "handoff_source = CASE WHEN ai_enabled <> %s THEN 'webhook' ELSE handoff_source END, "
            "handoff_at = CASE WHEN ai_enabled <> %s THEN now() ELSE handoff_at END, "
            "ai_enabled = %s, updated_at = now() "
            "WHERE organization_id = %s AND chatwoot_conversation_id = %s",
            (
                STATUS_MAP.get(str(conv.get("status")), "open"),
                _int(conv.get("unread_count") or 0, "unread_count"),
                assignee.get("id") if isinstance(assignee, dict) else None,
                assignee.get("name") if isinstance(assignee, dict) else None,
                ai_enabled,
                ai_enabled,
                ai_enabled,
                tenant.organization_id,
                conversation_id,
            ),
        )

    # --- message events --------------------------------------------------------------------

    def _message(self, conn: Conn, tenant: Tenant, msg: dict[str, Any]) -> None:
        message_id = _int(msg.get("id"), "id")
        conversation_id = _int(dig(msg, "conversation", "id"), "conversation.id")
        message_type = _message_type(msg.get("message_type"))
        content = _text(msg.get("content"), "content")
        attachments = msg.get("attachments") or []
        if not isinstance(attachments, list):
            raise BadPayload("attachments must be a list")
        sender = msg.get("sender") or {}
        if not isinstance(sender, dict):
            raise BadPayload("sender must be an object")
        sender_type = {"user": "user", "agent_bot": "agent_bot"}.get(str(sender.get("type")), "contact")
        inserted = conn.execute(
            "INSERT INTO messaging_messages_cache (organization_id, chatwoot_message_id, "
            "chatwoot_conversation_id, content, content_type, message_type, is_private, attachments, "
            "sender_type, sender_id, sender_name, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, COALESCE(%s::timestamptz, now())) "
            "ON CONFLICT (organization_id, chatwoot_message_id) DO NOTHING RETURNING id",
            (
                tenant.organization_id,
                message_id,
                conversation_id,
                content,
                _text(msg.get("content_type"), "content_type"),
                message_type,
                bool(msg.get("private")),
                Jsonb(attachments),
                sender_type,
                _int(sender.get("id"), "sender.id", required=False),
                _text(sender.get("name"), "sender.name"),
                _timestamp(msg.get("created_at")),
            ),
        ).fetchone()
        if inserted is None:
            return  # a replayed message changes nothing
        conn.execute(
            "UPDATE messaging_conversation_links SET "
            "last_message_at = COALESCE(%s::timestamptz, now()), "
            "last_message_preview = left(%s, 100), last_message_sender = %s, "
            "unread_count = unread_count + %s, updated_at = now() "
            "WHERE organization_id = %s AND chatwoot_conversation_id = %s",
            (
                _timestamp(msg.get("created_at")),
                content or "",
                "customer" if message_type == "incoming" else "agent",
                1 if message_type == "incoming" else 0,
                tenant.organization_id,
                conversation_id,
            ),
        )


def _inbox_of(payload: dict[str, Any]) -> object:
    for candidate in (
        dig(payload, "inbox", "id"),
        payload.get("inbox_id"),
        dig(payload, "conversation", "inbox_id"),
    ):
        if candidate is not None:
            return candidate
    return None


def _first_message_account(payload: dict[str, Any]) -> Any:
    messages = payload.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return messages[0].get("account_id")
    return None


def _message_type(value: Any) -> str:
    if isinstance(value, bool):
        raise BadPayload("message_type must be a string or an integer")
    if isinstance(value, int):
        return {0: "incoming", 1: "outgoing", 2: "activity", 3: "outgoing"}.get(value, "outgoing")
    if value in ("incoming", "outgoing", "activity"):
        return str(value)
    if value == "template":
        return "outgoing"
    raise BadPayload("message_type must be incoming, outgoing, activity or template")


def _timestamp(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit():
        return value
    raise BadPayload("created_at must be an ISO string or epoch seconds")
