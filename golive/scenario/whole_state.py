"""Whole-state checks: every row the CRM wrote for a conversation, field by field, against the
Chatwoot events that caused it (crm-contract §3.4, §4.1). Not only that a row exists.

- the conversation link: organisation, inbox, Chatwoot contact, CRM contact, deal, status,
  assignee, the contact fields copied from the sender, the AI/hand-off fields;
- the contact: name, phone and email as the event carried them and nothing made up, its source,
  ACTIVE/LEAD when new; a contact the CRM already knew keeps what it had (status and stage too);
- the identity: source, canonical external id, owning contact (the link's);
- the message cache: exactly one row per Chatwoot message id, with the message's fields.

A failure lists every mismatch as `table.field: expected …, observed …` and names the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from golive.clients.sql import SqlVerifier
from golive.errors import WaitTimeout
from golive.identity import InvalidIdentity, e164, igsid
from golive.payloads import chatwoot
from golive.scenario.customers import TwoChannels
from golive.scenario.injection import Sent
from golive.waiting import eventually

HANDOFF_LABEL = "atendimento-humano"
STATUS_MAP = {"resolved": "resolved", "pending": "pending", "snoozed": "pending"}
CACHE_SENDER = {"contact": "contact", "agent": "user", "bot": "agent_bot"}
SOURCES = {"whatsapp": "WHATSAPP", "instagram": "INSTAGRAM"}
_LINK = "messaging_conversation_links"
_CONTACT = "contacts"
_IDENTITY = "messaging_contact_identities"
_CACHE = "messaging_messages_cache"


@dataclass
class Mismatches:
    event: str
    found: list[str]

    def expect(self, table: str, field: str, expected: Any, observed: Any, why: str = "") -> None:
        if expected != observed:
            note = f" ({why})" if why else ""
            self.found.append(f"{table}.{field}: expected {expected!r}{note}, observed {observed!r}")

    def raise_if_any(self) -> None:
        if self.found:
            shown = "; ".join(self.found[:8])
            more = f"; and {len(self.found) - 8} more" if len(self.found) > 8 else ""
            raise AssertionError(
                f"the CRM wrote rows that do not match the event ({self.event}): {shown}{more}"
            )


def describe(sent: Sent) -> str:
    events = " + ".join(dict.fromkeys(d.event for d in sent.deliveries)) or "Chatwoot's deliveries"
    return f"{events} for conversation {sent.conversation_id}, message {sent.message.id}"


def expected_external_id(sent: Sent) -> str | None:
    """The canonical external id the event carries for its channel, or None (not processable)."""
    conv = sent.conversation
    try:
        if sent.channel == "instagram":
            for raw in (conv.source_id, conv.contact.identifier):
                if raw:
                    try:
                        return igsid(raw)
                    except InvalidIdentity:
                        continue
            return None
        for raw in (conv.contact.phone_number, conv.source_id):
            if raw:
                try:
                    return e164(raw)
                except InvalidIdentity:
                    continue
        return None
    except InvalidIdentity:
        return None


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# --- the checks ----------------------------------------------------------------------------------


def _link(sql: SqlVerifier, sent: Sent, out: Mismatches) -> dict[str, Any] | None:
    links = sql.links(sent.conversation_id)
    if len(links) != 1:
        out.expect(_LINK, "rows", 1, len(links), "one link per organisation and conversation")
        return None
    row = links[0].row
    conv = sent.conversation
    out.expect(_LINK, "organization_id", sql.organization_id, row["organization_id"])
    out.expect(_LINK, "chatwoot_inbox_id", conv.inbox_id, row["chatwoot_inbox_id"], "the event's inbox")
    out.expect(_LINK, "chatwoot_contact_id", conv.contact.id, row["chatwoot_contact_id"], "meta.sender.id")
    out.expect(_LINK, "status", STATUS_MAP.get(conv.status, "open"), row["status"], "the event's status")
    ai = HANDOFF_LABEL not in conv.labels
    out.expect(_LINK, "ai_enabled", ai, row["ai_enabled"], "the event's labels")
    if ai:
        out.expect(_LINK, "handoff_source", None, row["handoff_source"], "no hand-off happened")
    assignee = conv.assignee
    out.expect(_LINK, "assigned_agent_id", assignee.id if assignee else None, row["assigned_agent_id"])
    out.expect(_LINK, "assigned_agent_name", assignee.name if assignee else None, row["assigned_agent_name"])
    out.expect(_LINK, "contact_name", conv.contact.name, row["contact_name"], "meta.sender.name")
    out.expect(_LINK, "contact_phone", conv.contact.phone_number, row["contact_phone"])
    avatar = conv.contact.thumbnail or None
    out.expect(_LINK, "contact_avatar_url", avatar, row["contact_avatar_url"], "meta.sender.thumbnail")
    suffix = f"/app/accounts/{conv.account_id}/conversations/{conv.display_id}"
    if not str(row["chatwoot_url"] or "").endswith(suffix):
        out.expect(_LINK, "chatwoot_url", f"…{suffix}", row["chatwoot_url"])
    _last_message(sql, sent, row, out)
    if row["deal_id"] is not None:
        deal = sql.deal_row(str(row["deal_id"]))
        owner = (deal or {}).get("contact_id")
        if deal is None or deal["organization_id"] != sql.organization_id or owner != row["contact_id"]:
            out.expect(_LINK, "deal_id", "a deal of the link's contact in this organisation", row["deal_id"])
    return row


def _last_message(sql: SqlVerifier, sent: Sent, row: dict[str, Any], out: Mismatches) -> None:
    """What the message event wrote on the link (§3.4 step 2–3), when the suite delivered it after
    the conversation existed: the preview, who wrote last and the unread count. A message cached
    after it (the agent's answer, through Chatwoot) is the link's last message instead."""
    events = [d.event for d in sent.deliveries]
    if sent.via == "chatwoot" or not events or events[-1] != "message_created":
        return
    msg = sent.message
    content, kind, why = msg.content, str(msg.message_type), f"a {msg.message_type} message"
    # An answer cached after the message (the agent's, through Chatwoot) is the link's last
    # message instead: the one the row shows, else the newest.
    answers = sql.answers_cached_since(sent.conversation_id, msg.id)
    shown = [a for a in answers if (a["content"] or "")[:100] == row["last_message_preview"]]
    if answers and (shown or row["last_message_preview"] != (content or "")[:100]):
        answer = (shown or answers)[0]
        content, kind = answer["content"], str(answer["message_type"])
        why = f"the {kind} message {answer['chatwoot_message_id']} cached after it (an answer)"
    out.expect(_LINK, "last_message_preview", (content or "")[:100], row["last_message_preview"], why)
    sender = "customer" if kind == "incoming" else "agent"
    out.expect(_LINK, "last_message_sender", sender, row["last_message_sender"], why)
    if events == ["message_created", "conversation_created"]:
        return  # the message came first: no link to count it on yet
    # Chatwoot's count (the suite keeps it as Chatwoot does: +1 per customer message after the
    # first) and the link's (the conversation event's count, +1 per customer message cached) move
    # together, one apart: an agent's or the bot's reply counts on neither.
    expected = sent.conversation.unread_count + 1
    out.expect(_LINK, "unread_count", expected, row["unread_count"], "the event's count + customer messages")


def _contact(
    sql: SqlVerifier, sent: Sent, contact_id: str, out: Mismatches, before: dict[str, Any] | None
) -> None:
    row = sql.contact(contact_id)
    if row is None:
        out.expect(_CONTACT, "id", contact_id, None, "the link's contact in this organisation")
        return
    out.expect(_CONTACT, "deleted_at", None, row["deleted_at"])
    if before is not None:  # a contact the CRM knew: the event changes none of what it had
        for field in ("name", "phone", "email", "source", "status", "stage"):
            out.expect(_CONTACT, field, before.get(field), row.get(field), "kept from before the event")
        return
    conv = sent.conversation
    source = SOURCES[sent.channel]
    out.expect(_CONTACT, "name", conv.contact.name or f"{source} Contact", row["name"], "meta.sender.name")
    phone = None
    if sent.channel == "whatsapp":
        phone = expected_external_id(sent)
    out.expect(_CONTACT, "phone", phone, row["phone"], "E.164 for WhatsApp, none for Instagram")
    email = conv.contact.email.strip().lower() if conv.contact.email else None
    out.expect(_CONTACT, "email", email, row["email"], "meta.sender.email")
    out.expect(_CONTACT, "source", source, row["source"], "the channel")
    out.expect(_CONTACT, "status", "ACTIVE", row["status"])
    out.expect(_CONTACT, "stage", "LEAD", row["stage"])


def _identity(sql: SqlVerifier, sent: Sent, external_id: str, contact_id: Any, out: Mismatches) -> None:
    source = SOURCES[sent.channel]
    rows = sql.identities(source, external_id)
    if len(rows) != 1:
        out.expect(_IDENTITY, f"rows for {source.lower()}:{external_id}", 1, len(rows))
        return
    out.expect(_IDENTITY, "contact_id", contact_id, rows[0].contact_id, "the link's contact")


def _message(sql: SqlVerifier, sent: Sent, out: Mismatches) -> None:
    msg = sent.message
    rows = sql.cached_messages(msg.id)
    if len(rows) != 1:
        out.expect(_CACHE, f"rows for message {msg.id}", 1, len(rows), "one row per Chatwoot message id")
        return
    row = rows[0]
    conv = sent.conversation
    kind = "outgoing" if msg.message_type == "template" else msg.message_type
    out.expect(_CACHE, "chatwoot_conversation_id", conv.display_id, row["chatwoot_conversation_id"])
    out.expect(_CACHE, "content", msg.content, row["content"])
    out.expect(_CACHE, "message_type", kind, row["message_type"])
    out.expect(_CACHE, "is_private", msg.private, row["is_private"])
    out.expect(_CACHE, "sender_type", CACHE_SENDER[msg.sender], row["sender_type"], f"a {msg.sender}")
    files = [a.get("file_type") for a in row["attachments"] or []]
    out.expect(_CACHE, "attachments", [a.file_type for a in msg.attachments], files, "file types")
    if not sent.delivered_by_chatwoot:  # Chatwoot stamps its own messages; ours carry our time
        sent_at = datetime.fromisoformat(chatwoot.iso(msg.created_at).replace("Z", "+00:00"))
        stored = _instant(row["created_at"])
        if stored is None or abs((stored - sent_at).total_seconds()) > 0.001:
            out.expect(_CACHE, "created_at", sent_at.isoformat(), row["created_at"], "the event's time")


def _settled(sql: SqlVerifier, sent: Sent) -> None:
    """Wait (up to the profile's timeout) for Chatwoot's message event to be written; a row that
    never comes is then reported as a mismatch like any other."""
    try:
        eventually(
            lambda: sql.cached_messages(sent.message.id),
            bool,
            timeout=sql.timeout_s,
            what=f"the cache row of message {sent.message.id}, which Chatwoot delivered",
        )
    except WaitTimeout:
        return


def everything_written_for_both(sql: SqlVerifier, both: TwoChannels) -> None:
    for sent in (both.whatsapp, both.instagram):
        everything_written(sql, sent)


def everything_written(sql: SqlVerifier, sent: Sent, *, known_contact: dict[str, Any] | None = None) -> None:
    """Every row the CRM wrote for `sent` against what Chatwoot sent. `known_contact`: the
    contact's row before the event, when the CRM already knew the customer."""
    out = Mismatches(describe(sent), [])
    if sent.delivered_by_chatwoot:  # Chatwoot delivers its events in the background, one by one
        _settled(sql, sent)
    link = _link(sql, sent, out)
    external_id = expected_external_id(sent)
    if link is not None:
        if external_id is None:
            out.expect(_LINK, "contact_id", None, link["contact_id"], "the event has no valid external id")
        elif link["contact_id"] is None:
            out.expect(_LINK, "contact_id", "the contact of the event's identity", None)
        else:
            _identity(sql, sent, external_id, link["contact_id"], out)
            _contact(sql, sent, str(link["contact_id"]), out, known_contact)
    _message(sql, sent, out)
    out.raise_if_any()
