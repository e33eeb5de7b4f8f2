"""Conversation events in the CRM double (crm-contract §3.4): `conversation_created` resolves who
writes and upserts the conversation link; `conversation_updated` / `_status_changed` update an
existing link (status, unread, assignee, and the AI flag when the hand-off label changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from golive.sandbox.crm.inputs import BadInput, chatwoot_int, text
from golive.sandbox.crm.racy_resolver import RacyResolver
from golive.sandbox.crm.real_defects import lenient_igsid, lenient_phone
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

STATUS_MAP = {"resolved": "resolved", "pending": "pending", "snoozed": "pending"}
_LINK_COLUMNS = (
    "organization_id, chatwoot_conversation_id, chatwoot_contact_id, chatwoot_inbox_id, "
    "contact_id, status, unread_count, chatwoot_url, assigned_agent_id, assigned_agent_name, "
    "contact_name, contact_phone, contact_avatar_url, ai_enabled"
)
_LINK_VALUES = (
    "%(org)s, %(conv)s, %(cw_contact)s, %(inbox)s, %(contact)s, %(status)s, %(unread)s, %(url)s, "
    "%(agent_id)s, %(agent_name)s, %(name)s, %(phone)s, %(avatar)s, %(ai)s"
)
# A replay only fills what was missing: status, unread, deal and hand-off stay as they are.
_FILL_MISSING = (
    "contact_id = COALESCE(messaging_conversation_links.contact_id, EXCLUDED.contact_id), "
    "chatwoot_contact_id = COALESCE(messaging_conversation_links.chatwoot_contact_id, "
    "EXCLUDED.chatwoot_contact_id)"
)
# How the real CRM upserts (§7 #14): every column from the event, the AI flag included.
_OVERWRITE_ALL = (
    "contact_id = EXCLUDED.contact_id, status = EXCLUDED.status, unread_count = EXCLUDED.unread_count, "
    "assigned_agent_id = EXCLUDED.assigned_agent_id, assigned_agent_name = EXCLUDED.assigned_agent_name, "
    "ai_enabled = EXCLUDED.ai_enabled, updated_at = now()"
)


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    channel_type: str
    chatwoot_base_url: str
    account_id: int
    inbox_id: int


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(field, "must be an object")
    return value


def _labels(conv: dict[str, Any]) -> list[str] | None:
    """The label list, or None when the event carries no `labels` key."""
    if "labels" not in conv:
        return None
    labels = conv["labels"]
    if labels is None:
        return []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise BadInput("labels", "must be a list of strings")
    return labels


def _assignee(conv: dict[str, Any]) -> tuple[int | None, str | None]:
    assignee = _object(dig(conv, "meta", "assignee"), "meta.assignee")
    return (
        chatwoot_int(assignee.get("id"), "meta.assignee.id", required=False),
        text(assignee.get("name"), "meta.assignee.name"),
    )


class Links:
    def __init__(self, pool: Pool, faults: FaultState) -> None:
        self.pool = pool
        self.faults = faults

    # --- who writes --------------------------------------------------------------------------

    def _source(self, tenant: Tenant, channel: Any) -> str | None:
        source = CHANNEL_SOURCES.get(channel) if isinstance(channel, str) else None
        if source:
            return source
        fallback = tenant.channel_type.upper()
        return fallback if fallback in ("WHATSAPP", "INSTAGRAM") else None

    def _external_id(self, source: str, conv: dict[str, Any], sender: dict[str, Any]) -> str | None:
        source_id = text(dig(conv, "contact_inbox", "source_id"), "contact_inbox.source_id")
        identifier = text(sender.get("identifier"), "meta.sender.identifier")
        phone_number = text(sender.get("phone_number"), "meta.sender.phone_number")
        if self.faults.on("placeholder-identity-accepted"):
            if source == "INSTAGRAM":
                return lenient_igsid(source_id) or lenient_igsid(identifier)
            return lenient_phone(phone_number) or lenient_phone(source_id)
        if source == "INSTAGRAM":
            if self.faults.on("igsid-from-identifier-only"):
                return valid_igsid(identifier)
            return valid_igsid(source_id) or valid_igsid(identifier)
        phone = normalise_phone(phone_number)
        if phone is None and source_id and not self.faults.on("wa-id-from-phone-only"):
            digits = source_id.removeprefix("whatsapp:")
            phone = normalise_phone(digits if digits.startswith("+") else "+" + digits)
        if phone and self.faults.on("wa-raw-phone-identity"):
            return str(source_id or phone_number)
        return phone

    # --- conversation_created ----------------------------------------------------------------

    def created(self, conn: Conn, tenant: Tenant, conv: dict[str, Any]) -> None:
        conversation_id = chatwoot_int(conv.get("id"), "id")
        sender = _object(dig(conv, "meta", "sender"), "meta.sender")
        labels = _labels(conv) or []
        name = text(sender.get("name"), "meta.sender.name")
        phone_raw = text(sender.get("phone_number"), "meta.sender.phone_number")
        email_raw = text(sender.get("email"), "meta.sender.email")
        avatar = text(sender.get("thumbnail"), "meta.sender.thumbnail")
        unread = chatwoot_int(conv.get("unread_count") or 0, "unread_count")
        agent_id, agent_name = _assignee(conv)
        contact_id: str | None = None
        source = self._source(tenant, conv.get("channel"))
        if source:
            external_id = self._external_id(source, conv, sender)
            resolver = (
                RacyResolver(self.pool, self.faults, tenant.organization_id)
                if self.faults.on("identity-race")
                else Resolver(conn, self.faults, tenant.organization_id)
            )
            contact_id = resolver.resolve(
                source,
                external_id,
                raw_external_id=str(dig(conv, "contact_inbox", "source_id") or ""),
                name=name,
                # a WhatsApp id is the phone: the wa_id stands in when the sender has none
                phone=normalise_phone(phone_raw) or (external_id if source == "WHATSAPP" else None),
                email=normalise_email(email_raw),
                avatar=avatar,
            )
        if self.faults.on("assignee-not-recorded"):  # read from a `conversation.assignee` key
            agent_id, agent_name = None, None
        values = {
            "org": tenant.organization_id,
            "conv": conversation_id,
            "cw_contact": chatwoot_int(sender.get("id"), "meta.sender.id", required=False),
            "inbox": tenant.inbox_id,
            "contact": contact_id,
            "status": STATUS_MAP.get(str(conv.get("status")), "open"),
            "unread": unread,
            "url": f"{tenant.chatwoot_base_url.rstrip('/')}/app/accounts/{tenant.account_id}"
            f"/conversations/{conversation_id}",
            "agent_id": agent_id,
            "agent_name": agent_name,
            "name": name,
            "phone": phone_raw,
            "avatar": avatar or None,
            "ai": HANDOFF_LABEL not in labels,
        }
        insert = f"INSERT INTO messaging_conversation_links ({_LINK_COLUMNS}) VALUES ({_LINK_VALUES})"
        if self.faults.on("reentry-duplicate-link"):
            conn.execute(insert, values)
            return
        on_conflict = _OVERWRITE_ALL if self.faults.on("replay-reenables-ai") else _FILL_MISSING
        conn.execute(
            f"{insert} ON CONFLICT (organization_id, chatwoot_conversation_id) DO UPDATE SET {on_conflict}",
            values,
        )
        # Chatwoot may deliver message_created first: the link takes the newest cached message.
        conn.execute(
            "UPDATE messaging_conversation_links l SET last_message_at = m.created_at, "
            "last_message_preview = left(COALESCE(m.content, ''), 100), "
            "last_message_sender = CASE WHEN m.message_type = 'incoming' THEN 'customer' ELSE 'agent' END "
            "FROM (SELECT created_at, content, message_type FROM messaging_messages_cache "
            "WHERE organization_id = %(org)s AND chatwoot_conversation_id = %(conv)s "
            "ORDER BY created_at DESC LIMIT 1) m "
            "WHERE l.organization_id = %(org)s AND l.chatwoot_conversation_id = %(conv)s "
            "AND l.last_message_at IS NULL",
            values,
        )

    # --- conversation_updated / conversation_status_changed ---------------------------------

    def updated(self, conn: Conn, tenant: Tenant, conv: dict[str, Any]) -> None:
        conversation_id = chatwoot_int(conv.get("id"), "id")
        labels = _labels(conv)
        if labels is None and self.faults.on("missing-labels-reenable-ai"):
            labels = []
        agent_id, agent_name = _assignee(conv)
        # No `labels` key: the event says nothing about the hand-off, so the flag stays.
        wanted_ai = None if labels is None else HANDOFF_LABEL not in labels
        conn.execute(
            "UPDATE messaging_conversation_links SET status = %(status)s, unread_count = %(unread)s, "
            "assigned_agent_id = %(agent_id)s, assigned_agent_name = %(agent_name)s, "
            "handoff_source = CASE WHEN %(ai)s::boolean IS NOT NULL AND ai_enabled <> %(ai)s "
            "THEN 'webhook' ELSE handoff_source END, "
            "handoff_at = CASE WHEN %(ai)s::boolean IS NOT NULL AND ai_enabled <> %(ai)s "
            "THEN now() ELSE handoff_at END, "
            "ai_enabled = COALESCE(%(ai)s::boolean, ai_enabled), updated_at = now() "
            "WHERE organization_id = %(org)s AND chatwoot_conversation_id = %(conv)s",
            {
                "status": STATUS_MAP.get(str(conv.get("status")), "open"),
                "unread": chatwoot_int(conv.get("unread_count") or 0, "unread_count"),
                "agent_id": agent_id,
                "agent_name": agent_name,
                "ai": wanted_ai,
                "org": tenant.organization_id,
                "conv": conversation_id,
            },
        )
