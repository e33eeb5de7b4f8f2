"""The CRM double's `/api/chatwoot/webhook`: the intended v2 behaviour (crm-contract §3): raw
bytes, signature, JSON, tenant by account + inbox, then the conversation and message writes
(`links`, `messages`). Every bad input gets a 4xx; a 5xx carries the log line that explains it
in an `X-Sandbox-Log` header, so the suite can attach it as evidence."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from golive.sandbox.crm.inputs import BadInput, chatwoot_int, log_header, parse_json, unstorable_text
from golive.sandbox.crm.links import Links, Tenant
from golive.sandbox.crm.messages import Crash, MessageCache
from golive.sandbox.crm.rules import dig
from golive.sandbox.db import Pool
from golive.sandbox.faults import FaultState

log = logging.getLogger("golive.sandbox.crm")

MAX_BODY_BYTES = 1_000_000
SIGNATURE_WINDOW_S = 300


def server_error(line: str) -> JSONResponse:
    log.error("%s", line)
    return JSONResponse({"error": "Internal server error"}, status_code=500, headers=log_header(line))


def _legacy_signature_ok(signature: str, secret: str) -> bool:
    """The real CRM's check (crm-contract §7 #6, LagostaCRM lib/chatwoot/webhooks.ts
    `validateWebhookSignature`): no header passes, and so does a header equal to the secret or
    to `Bearer <secret>`; Chatwoot's `sha256=` HMAC never does. The timestamp is not read."""
    if not signature:
        return True
    return signature == secret or signature == f"Bearer {secret}"


class WebhookHandler:
    def __init__(self, pool: Pool, faults: FaultState, secret: str | None) -> None:
        self.pool = pool
        self.faults = faults
        self.secret = secret
        self.links = Links(pool, faults)
        self.messages = MessageCache(faults)

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
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return JSONResponse({"error": "Content-Type must be application/json"}, status_code=415)
        try:
            payload = parse_json(body)
        except BadInput:
            return JSONResponse({"error": "Invalid JSON payload"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "Invalid JSON payload"}, status_code=400)
        if self.faults.partial_outage and self.faults.outage_for(_inbox_of(payload)):  # someone's outage
            return JSONResponse({"error": "Service unavailable"}, status_code=503)
        event = payload.get("event")
        org_header = request.headers.get("x-organization-id")
        try:
            status, answer = await run_in_threadpool(self.handle, payload, org_header)
        except BadInput as exc:
            if self.faults.on("malformed-payload-crash"):  # trusts the payload's shape: crashes
                return server_error(f"webhook {event!r} crashed on a malformed payload: {exc}")
            return JSONResponse(
                {"error": "Invalid payload", "field": exc.field, "detail": exc.problem}, status_code=400
            )
        except Crash as crash:
            return server_error(f"webhook {event!r} failed: {crash}")
        except Exception as exc:
            log.exception("webhook failed")
            return server_error(f"webhook {event!r} failed: {type(exc).__name__}: {exc}")
        return JSONResponse(answer, status_code=status)

    def _signature_ok(self, request: Request, body: bytes) -> bool:
        assert self.secret is not None
        if self.faults.on("crm-signature-scheme-legacy"):
            return _legacy_signature_ok(request.headers.get("x-chatwoot-signature") or "", self.secret)
        signature = request.headers.get("x-chatwoot-signature")
        timestamp = request.headers.get("x-chatwoot-timestamp")
        if signature is None and self.faults.on("unsigned-webhook-accepted"):
            return True
        if not signature or not timestamp or not timestamp.isascii() or not timestamp.isdigit():
            return False
        if len(timestamp) > 12:
            return False
        stale = abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_S
        if stale and not self.faults.on("stale-signature-accepted"):
            return False
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(signature.strip().encode(), f"sha256={expected}".encode())

    # --- tenant and dispatch ---------------------------------------------------------------

    def handle(self, payload: dict[str, Any], org_header: str | None = None) -> tuple[int, dict[str, Any]]:
        event = payload.get("event")
        if not isinstance(event, str):
            raise BadInput("event", "must be a string")
        unstorable = unstorable_text(payload)
        if unstorable:
            raise BadInput(*unstorable)
        nested = self.faults.on("webhook-reads-nested-shape")
        account_raw = dig(payload, "account", "id")
        if account_raw is None and not self.faults.on("org-from-top-level-account-only") and not nested:
            account_raw = _first_message_account(payload)
        account_id = chatwoot_int(account_raw, "account.id", required=False)
        inbox_id = chatwoot_int(_inbox_of(payload, nested=nested), "inbox id", required=False)
        if event in ("conversation_created", "message_created") and self._dropped(payload):
            return 200, {"success": True}
        with self.pool.transaction() as conn:
            if org_header and self.faults.on("org-id-header-trusted"):
                tenant = self._tenant_from_header(conn, org_header, account_id, inbox_id)
            else:
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
                    str(row["organization_id"]),
                    str(row["channel_type"]),
                    str(row["chatwoot_base_url"]),
                    account_id,
                    inbox_id,
                )
            if tenant is None:
                return 200, {"success": True, "ignored": "no_matching_tenant"}
            if nested:  # the handler looks for `conversation` / `message` wrappers
                conversation, message = payload.get("conversation"), payload.get("message")
                if event == "conversation_created" and isinstance(conversation, dict):
                    self.links.created(conn, tenant, conversation)
                elif event == "message_created" and isinstance(message, dict):
                    self.messages.created(conn, tenant, {**message, "conversation": conversation})
            elif event == "conversation_created":
                self.links.created(conn, tenant, payload)
            elif event in ("conversation_updated", "conversation_status_changed"):
                self.links.updated(conn, tenant, payload)
            elif event in ("message_created", "message_updated"):
                self.messages.created(conn, tenant, payload)
            return 200, {"success": True}

    def _dropped(self, payload: dict[str, Any]) -> bool:
        """The `whatsapp-event-dropped` fault: WhatsApp events acknowledged, never written."""
        channel = payload.get("channel") or dig(payload, "conversation", "channel")
        return channel == "Channel::Whatsapp" and self.faults.on("whatsapp-event-dropped")

    def _tenant_from_header(
        self, conn: Any, org_header: str, account_id: int | None, inbox_id: int | None
    ) -> Tenant | None:
        """§7 #7 (`app/api/chatwoot/webhook/route.ts`): an `X-Organization-Id` header is taken as
        the organisation, without looking at the account or the inbox."""
        row = conn.execute(
            "SELECT o.id::text AS org, c.channel_type, c.chatwoot_base_url FROM organizations o "
            "LEFT JOIN messaging_channel_configs c ON c.organization_id = o.id AND c.status = 'active' "
            "WHERE o.id::text = %s ORDER BY c.chatwoot_inbox_id = %s DESC NULLS LAST LIMIT 1",
            (org_header.strip().lower(), inbox_id),
        ).fetchone()
        if row is None:
            return None
        return Tenant(
            str(row["org"]),
            str(row["channel_type"] or "whatsapp"),
            str(row["chatwoot_base_url"] or ""),
            account_id or 0,
            inbox_id or 0,
        )


def _inbox_of(payload: dict[str, Any], *, nested: bool = False) -> object:
    candidates = [dig(payload, "inbox", "id"), dig(payload, "conversation", "inbox_id")]
    if not nested:
        candidates.insert(1, payload.get("inbox_id"))
    return next((c for c in candidates if c is not None), None)


def _first_message_account(payload: dict[str, Any]) -> Any:
    messages = payload.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return messages[0].get("account_id")
    return None
