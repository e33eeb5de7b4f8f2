"""Message events in the CRM double (crm-contract §3.4): one cache row per Chatwoot message, and
the conversation link's last-message fields and unread count when the message is new."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from golive.sandbox.crm.inputs import BadInput, chatwoot_int, text, timestamp
from golive.sandbox.crm.real_defects import epoch_times_thousand, sender_type_by_email_key
from golive.sandbox.crm.rules import dig
from golive.sandbox.db import Conn
from golive.sandbox.faults import FaultState

_SENDER_TYPES = {"user": "user", "agent_bot": "agent_bot", "contact": "contact"}


class Crash(Exception):
    """A failure the real CRM answers with 500 (a fault reproduces it); the text is its log line."""


def message_type(value: Any) -> str:
    if isinstance(value, bool):
        raise BadInput("message_type", "must be a string or an integer")
    if isinstance(value, int):
        return {0: "incoming", 1: "outgoing", 2: "activity", 3: "outgoing"}.get(value, "outgoing")
    if value in ("incoming", "outgoing", "activity"):
        return str(value)
    if value == "template":
        return "outgoing"
    raise BadInput("message_type", "must be incoming, outgoing, activity or template")


def sender_type(sender: dict[str, Any]) -> str | None:
    """Chatwoot's message senders: a contact (no `type` key at the top level of
    `message_created`), a user or an agent bot; none for activity messages."""
    if not sender:
        return None
    return _SENDER_TYPES.get(str(sender.get("type", "contact")), "contact")


def _attachments(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadInput("attachments", "must be a list of objects")
    return value


class MessageCache:
    def __init__(self, faults: FaultState) -> None:
        self.faults = faults

    def created(self, conn: Conn, tenant: Any, msg: dict[str, Any]) -> None:
        org = tenant.organization_id
        message_id = chatwoot_int(msg.get("id"), "id")
        conversation_id = chatwoot_int(dig(msg, "conversation", "id"), "conversation.id")
        kind = message_type(msg.get("message_type"))
        content = text(msg.get("content"), "content")
        attachments = _attachments(msg.get("attachments"))
        sender = msg.get("sender") or {}
        if not isinstance(sender, dict):
            raise BadInput("sender", "must be an object")
        if self.faults.on("iso-created-at-500"):
            reason = epoch_times_thousand(msg.get("created_at"))
            if reason:
                raise Crash(f"message_created {message_id}: {reason}")
        created_at: datetime | None = timestamp(msg.get("created_at"), "created_at")
        if self.faults.on("early-message-dropped") and not _link_exists(conn, org, conversation_id):
            return  # "no conversation yet": the message is lost
        who = (
            sender_type_by_email_key(sender)
            if self.faults.on("sender-type-by-email-key")
            else sender_type(sender)
        )
        conflict = (
            ""
            if self.faults.on("message-replay-duplicated")
            else ("ON CONFLICT (organization_id, chatwoot_message_id) DO NOTHING")
        )
        inserted = conn.execute(
            "INSERT INTO messaging_messages_cache (organization_id, chatwoot_message_id, "
            "chatwoot_conversation_id, content, content_type, message_type, is_private, attachments, "
            "sender_type, sender_id, sender_name, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
            f"%s, %s, %s, COALESCE(%s, now())) {conflict} RETURNING id",
            (
                org,
                message_id,
                conversation_id,
                content,
                text(msg.get("content_type"), "content_type"),
                kind,
                msg.get("private") is True,
                Jsonb([] if self.faults.on("attachments-dropped") else attachments),
                who,
                chatwoot_int(sender.get("id"), "sender.id", required=False),
                text(sender.get("name"), "sender.name"),
                created_at,
            ),
        ).fetchone()
        if inserted is None:
            return  # a replayed message changes nothing
        conn.execute(
            "UPDATE messaging_conversation_links SET "
            "last_message_at = COALESCE(%s, now()), "
            "last_message_preview = left(%s, 100), last_message_sender = %s, "
            "unread_count = unread_count + %s, updated_at = now() "
            "WHERE organization_id = %s AND chatwoot_conversation_id = %s",
            (
                created_at,
                content or "",
                "customer" if kind == "incoming" else "agent",
                1 if kind == "incoming" else 0,
                org,
                conversation_id,
            ),
        )


def _link_exists(conn: Conn, org: str, conversation_id: int | None) -> bool:
    row = conn.execute(
        "SELECT 1 FROM messaging_conversation_links WHERE organization_id = %s "
        "AND chatwoot_conversation_id = %s",
        (org, conversation_id),
    ).fetchone()
    return row is not None
