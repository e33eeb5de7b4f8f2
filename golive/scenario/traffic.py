"""Chatwoot's real traffic beyond a customer's plain text (chatwoot-wire-format.md §3–§4):
conversations Chatwoot already assigned, replies from the agent bot, images and voice messages,
deliveries out of order, and conversation events from builds that name the account or not."""

from __future__ import annotations

from dataclasses import replace

from golive.clients.sql import SqlVerifier
from golive.payloads import chatwoot
from golive.scenario.customers import FIRST_DM, Customer
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations, Sent

BOT_REPLY = "Olá! Sou o assistente virtual. Em que posso ajudar?"
# How the feature names a Chatwoot build -> whether its conversation events carry `account`.
BUILDS = {
    "a build that names the account on conversation events": True,
    "an older build that names the account only inside the first message": False,
}
MEDIA: dict[str, chatwoot.Attachment] = {
    "an image": chatwoot.Attachment(0, "image", "foto-do-prato.jpg", 48_213, 1080, 1350),
    "a voice message": chatwoot.Attachment(0, "audio", "audio-whatsapp.ogg", 18_230),
}


def _choice(table: dict[str, object], key: str, what: str) -> None:
    if key not in table:
        raise ValueError(f"unknown {what} {key!r}; known: {', '.join(table)}")


# --- actions -------------------------------------------------------------------------------------


def first_dm_from_build(conversations: Conversations, customer: Customer, build: str) -> Sent:
    _choice(dict(BUILDS), build, "Chatwoot build")
    conv = conversations.conversation("instagram", customer.person)
    conv = replace(conv, with_account=BUILDS[build])
    return conversations.first_message("instagram", customer.person, FIRST_DM, conversation=conv)


def first_dm_auto_assigned(conversations: Conversations, customer: Customer, data: DataFactory) -> Sent:
    """The conversation Chatwoot opens is already assigned (inbox auto-assignment)."""
    agent = chatwoot.Agent(data.chatwoot_id() % 100_000 + 1, f"Atendente {data.run_id}")
    conv = conversations.conversation("instagram", customer.person, assignee=agent)
    return conversations.first_message("instagram", customer.person, FIRST_DM, conversation=conv)


def first_dm_message_first(conversations: Conversations, customer: Customer) -> Sent:
    """Chatwoot's webhook jobs run in any order: `message_created` arrives first."""
    return conversations.first_message("instagram", customer.person, FIRST_DM, message_first=True)


def bot_replies(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    bot = chatwoot.Agent(data.chatwoot_id() % 1000 + 1, "Lagosta Bot")
    return conversations.next_message(sent, conversations.new_message(BOT_REPLY, sender="bot", agent=bot))


def sends_media(conversations: Conversations, sent: Sent, media: str, data: DataFactory) -> Sent:
    """A media-only message: no text, one file (Chatwoot sends `content: null`)."""
    _choice(dict(MEDIA), media, "media")
    file = replace(MEDIA[media], id=data.chatwoot_id())
    return conversations.next_message(sent, conversations.new_message(None, attachments=(file,)))


def sends_another_message(conversations: Conversations, sent: Sent) -> Sent:
    return conversations.next_message(sent, "Vocês têm mesa para hoje à noite?")


# --- checks --------------------------------------------------------------------------------------


def assignee_recorded(sql: SqlVerifier, sent: Sent) -> None:
    agent = sent.conversation.assignee
    if agent is None:
        raise AssertionError("precondition: the conversation was not assigned in Chatwoot")
    links = sql.links(sent.conversation_id)
    row = links[0].row if links else {}
    if (row.get("assigned_agent_id"), row.get("assigned_agent_name")) != (agent.id, agent.name):
        raise AssertionError(
            f"Chatwoot had assigned conversation {sent.conversation_id} to agent {agent.id} "
            f"({agent.name!r}, meta.assignee) when it opened, but the CRM recorded "
            f"assigned_agent_id={row.get('assigned_agent_id')!r}, "
            f"assigned_agent_name={row.get('assigned_agent_name')!r}"
        )


def _cached(sql: SqlVerifier, sent: Sent) -> dict[str, object]:
    rows = sql.cached_messages(sent.message.id)
    if len(rows) != 1:
        raise AssertionError(f"message {sent.message.id} has {len(rows)} cache rows, expected one")
    return rows[0]


def bot_reply_recorded(sql: SqlVerifier, sent: Sent) -> None:
    row = _cached(sql, sent)
    if (row["sender_type"], row["message_type"]) != ("agent_bot", "outgoing"):
        raise AssertionError(
            f"the agent bot's reply (message {sent.message.id}) was cached with sender_type "
            f"{row['sender_type']!r} and message_type {row['message_type']!r}; expected 'agent_bot' "
            "and 'outgoing' (the bot is not the customer)"
        )
    links = sql.links(sent.conversation_id)
    if links and links[0].row["last_message_sender"] != "agent":
        raise AssertionError(
            f"after the bot's reply the link says the last message came from "
            f"{links[0].row['last_message_sender']!r}, expected 'agent'"
        )


def attachment_kept(sql: SqlVerifier, sent: Sent) -> None:
    row = _cached(sql, sent)
    stored = row["attachments"] if isinstance(row["attachments"], list) else []
    wanted = [(a.file_type, a.id) for a in sent.message.attachments]
    found = [(a.get("file_type"), a.get("id")) for a in stored if isinstance(a, dict)]
    if found != wanted:
        raise AssertionError(
            f"message {sent.message.id} was cached with attachments {found}, expected {wanted}: "
            "the customer's file is lost from the CRM inbox"
        )
