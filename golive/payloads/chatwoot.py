"""Chatwoot webhook payloads in the real wire format (chatwoot-wire-format.md §4), and
their signing (§2).

Conversation events carry the conversation at the top level (no `inbox` object;
the channel type only in `channel`); message events carry the message at the top
level with the full conversation nested. The same message appears with an int
`message_type` and epoch `created_at` inside a conversation's `messages[]`, and with
a string type and ISO time at the top level of `message_created`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from golive.settings import META_SIGNATURE_FROM

MessageType = Literal["incoming", "outgoing", "template"]
SenderKind = Literal["contact", "agent", "bot"]
FileType = Literal["image", "audio", "video", "file"]
_MESSAGE_TYPE_INT = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
_SENDER_TYPE = {"contact": "Contact", "agent": "User", "bot": "AgentBot"}
_VERSION = re.compile(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)")
NEWEST = "4.15.0"


@dataclass(frozen=True)
class Build:
    """What one Chatwoot version puts on the wire (chatwoot-wire-format.md §2, §4.1)."""

    version: str = NEWEST

    def _at_least(self, minimum: str) -> bool:
        def parts(text: str) -> tuple[int, int, int]:
            match = _VERSION.fullmatch(text.strip())
            if match is None:
                raise ValueError(f"Chatwoot version {text!r} is not MAJOR.MINOR.PATCH")
            major, minor, patch = (int(n) for n in match.groups())
            return major, minor, patch

        return parts(self.version) >= parts(minimum)

    @property
    def signs(self) -> bool:
        """Account webhooks carry X-Chatwoot-Signature/-Timestamp/-Delivery from 4.11.2 (PR #13573)."""
        return self._at_least("4.11.2")

    @property
    def checks_meta_signature(self) -> bool:
        """Chatwoot's Instagram and WhatsApp webhooks refuse (401) a Meta event without a valid
        X-Hub-Signature-256 (PR #14280; `golive.config.META_SIGNATURE_FROM`)."""
        return self._at_least(META_SIGNATURE_FROM)

    @property
    def sends_account(self) -> bool:
        """Conversation events carry a top-level `account` on 4.15-based builds only."""
        return self._at_least("4.15.0")


@dataclass(frozen=True)
class Agent:
    """A Chatwoot user (an agent) as a conversation's assignee."""

    id: int
    name: str


@dataclass(frozen=True)
class Attachment:
    """A file on a message; Chatwoot sends its push data (`Attachment#push_event_data`)."""

    id: int
    file_type: FileType
    file_name: str
    file_size: int
    width: int | None = None
    height: int | None = None


_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


@dataclass(frozen=True)
class Contact:
    """A Chatwoot contact as a channel creates it (Instagram: a name and nothing else)."""

    id: int
    name: str
    phone_number: str | None = None
    email: str | None = None
    identifier: str | None = None
    instagram_username: str | None = None
    thumbnail: str = ""  # the profile picture's URL ("" when the channel gives none)

    def additional_attributes(self) -> dict[str, Any]:
        if not self.instagram_username:
            return {}
        return {
            "social_instagram_user_name": self.instagram_username,
            "social_profiles": {"instagram": self.instagram_username},
        }

    def as_sender(self, *, with_type: bool) -> dict[str, Any]:
        sender: dict[str, Any] = {
            "additional_attributes": self.additional_attributes(),
            "custom_attributes": {},
            "email": self.email,
            "id": self.id,
            "identifier": self.identifier,
            "name": self.name,
            "phone_number": self.phone_number,
            "thumbnail": self.thumbnail,
            "blocked": False,
        }
        if with_type:
            sender["type"] = "contact"
        return sender


@dataclass(frozen=True)
class Message:
    id: int
    content: str | None
    created_at: float
    source_id: str | None = None
    message_type: MessageType = "incoming"
    private: bool = False
    sender: SenderKind = "contact"  # who wrote it: the customer, an agent or the agent bot
    agent: Agent | None = None  # the agent or bot, when not the customer
    attachments: tuple[Attachment, ...] = ()

    @property
    def sender_type(self) -> str:
        return _SENDER_TYPE[self.sender]


@dataclass(frozen=True)
class Conversation:
    """One Chatwoot conversation: where it lives, who writes, and its state."""

    account_id: int
    account_name: str
    inbox_id: int
    inbox_name: str
    channel: str  # e.g. "Channel::Instagram" — the only place the channel type appears
    display_id: int
    contact: Contact
    contact_inbox_id: int
    source_id: str | None  # contact_inbox.source_id: the IGSID / wa_id
    created_at: int
    status: str = "open"
    labels: tuple[str, ...] = ()
    unread_count: int = 1
    with_account: bool = True  # `account` in conversation payloads only on newer builds
    assignee: Agent | None = None  # auto-assignment can set it before the first event
    pubsub_token: str = field(default_factory=lambda: uuid.uuid4().hex[:24])

    def with_sender_email(self, email: str | None) -> Conversation:
        return replace(self, contact=replace(self.contact, email=email))

    def with_sender_ids(self, *, source_id: str | None, phone_number: str | None) -> Conversation:
        """The same conversation with other ids for the customer (the contact inbox's
        source_id, the contact's phone)."""
        return replace(self, source_id=source_id, contact=replace(self.contact, phone_number=phone_number))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(epoch * 1000) % 1000:03d}Z"
    )


def _contact_inbox(conv: Conversation) -> dict[str, Any]:
    stamp = iso(conv.created_at)
    return {
        "id": conv.contact_inbox_id,
        "contact_id": conv.contact.id,
        "inbox_id": conv.inbox_id,
        "source_id": conv.source_id,
        "created_at": stamp,
        "updated_at": stamp,
        "hmac_verified": False,
        "pubsub_token": conv.pubsub_token,
    }


def agent_push(agent: Agent) -> dict[str, Any]:
    """A user as `meta.assignee` (`User#push_event_data`)."""
    return {
        "id": agent.id,
        "name": agent.name,
        "available_name": agent.name,
        "avatar_url": "",
        "type": "user",
        "availability_status": "online",
        "thumbnail": "",
    }


def _bot(msg: Message) -> Agent:
    return msg.agent or Agent(1, "Agent Bot")


def _attachment(conv: Conversation, msg: Message, file: Attachment) -> dict[str, Any]:
    url = f"https://chatwoot.example.invalid/rails/active_storage/blobs/{file.id}/{file.file_name}"
    data: dict[str, Any] = {
        "id": file.id,
        "message_id": msg.id,
        "file_type": file.file_type,
        "account_id": conv.account_id,
        "extension": file.file_name.rsplit(".", 1)[-1] if "." in file.file_name else None,
        "data_url": url,
        "thumb_url": url if file.file_type == "image" else "",
        "file_size": file.file_size,
    }
    if file.file_type in ("image", "video"):
        data |= {"width": file.width, "height": file.height}
    return data


def _embedded_sender(conv: Conversation, msg: Message) -> dict[str, Any]:
    if msg.sender == "contact":
        return conv.contact.as_sender(with_type=True)
    if msg.sender == "agent":
        return agent_push(msg.agent or Agent(1, "Agent"))
    bot = _bot(msg)
    return {"id": bot.id, "name": bot.name, "avatar_url": "", "type": "agent_bot"}


def _embedded_message(conv: Conversation, msg: Message) -> dict[str, Any]:
    """A message inside a conversation payload's `messages[]` (int type, epoch time)."""
    sender_id = conv.contact.id if msg.sender == "contact" else (msg.agent.id if msg.agent else 1)
    body: dict[str, Any] = {
        "id": msg.id,
        "content": msg.content,
        "account_id": conv.account_id,
        "inbox_id": conv.inbox_id,
        "conversation_id": conv.display_id,
        "message_type": _MESSAGE_TYPE_INT[msg.message_type],
        "created_at": int(msg.created_at),
        "updated_at": iso(msg.created_at),
        "private": msg.private,
        "status": "sent",
        "source_id": msg.source_id,
        "content_type": "text",
        "content_attributes": {},
        "sender_type": msg.sender_type,
        "sender_id": sender_id,
        "external_source_ids": {},
        "additional_attributes": {},
        "processed_message_content": msg.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": conv.assignee.id if conv.assignee else None,
            "unread_count": conv.unread_count,
            "last_activity_at": int(msg.created_at),
            "contact_inbox": {"source_id": conv.source_id},
        },
        "sender": _embedded_sender(conv, msg),
    }
    if msg.attachments:
        body["attachments"] = [_attachment(conv, msg, f) for f in msg.attachments]
    return body


def conversation_object(conv: Conversation, last_message: Message | None) -> dict[str, Any]:
    """The conversation as Chatwoot presents it (EventDataPresenter), without `event`."""
    activity = int(last_message.created_at) if last_message else conv.created_at
    body: dict[str, Any] = {
        "id": conv.display_id,
        "inbox_id": conv.inbox_id,
        "channel": conv.channel,
    }
    if conv.with_account:
        body["account"] = {"id": conv.account_id, "name": conv.account_name}
    body |= {
        "status": conv.status,
        "can_reply": True,
        "priority": None,
        "labels": list(conv.labels),
        "unread_count": conv.unread_count,
        "snoozed_until": None,
        "first_reply_created_at": None,
        "waiting_since": conv.created_at,
        "additional_attributes": {},
        "custom_attributes": {},
        "contact_inbox": _contact_inbox(conv),
        "meta": {
            "sender": conv.contact.as_sender(with_type=True),
            "assignee": agent_push(conv.assignee) if conv.assignee else None,
            "assignee_type": "User" if conv.assignee else None,
            "team": None,
            "hmac_verified": False,
        },
        "messages": [_embedded_message(conv, last_message)] if last_message else [],
        "agent_last_seen_at": 0,
        "contact_last_seen_at": 0,
        "last_activity_at": activity,
        "timestamp": activity,
        "created_at": conv.created_at,
        "updated_at": round(activity + 0.318, 3),
    }
    return body


def conversation_created(conv: Conversation, first_message: Message | None) -> dict[str, Any]:
    return {"event": "conversation_created", **conversation_object(conv, first_message)}


def conversation_updated(
    conv: Conversation,
    changed: dict[str, tuple[Any, Any]],
    *,
    event: str = "conversation_updated",
    last_message: Message | None = None,
) -> dict[str, Any]:
    changed_attributes = [
        {name: {"previous_value": before, "current_value": after}}
        for name, (before, after) in changed.items()
    ]
    return {
        "event": event,
        **conversation_object(conv, last_message),
        "changed_attributes": changed_attributes,
    }


def _webhook_sender(conv: Conversation, msg: Message) -> dict[str, Any]:
    """`Message#webhook_data`'s sender: a contact (no `type` key), a user or a bot."""
    if msg.sender == "contact":
        sender = conv.contact.as_sender(with_type=False)
        return {"account": {"id": conv.account_id, "name": conv.account_name}, **sender, "avatar": ""}
    if msg.sender == "agent":
        agent = msg.agent or Agent(1, "Agent")
        email = f"agent{agent.id}@example.invalid"
        return {"id": agent.id, "name": agent.name, "email": email, "type": "user"}
    bot = _bot(msg)
    return {"id": bot.id, "name": bot.name, "type": "agent_bot"}


def message_created(conv: Conversation, msg: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "message_created",
        "id": msg.id,
        "content": msg.content,
        "content_type": "text",
        "content_attributes": {},
        "additional_attributes": {},
        "message_type": msg.message_type,
        "private": msg.private,
        "source_id": msg.source_id,
        "created_at": iso(msg.created_at),
        "account": {"id": conv.account_id, "name": conv.account_name},
        "inbox": {"id": conv.inbox_id, "name": conv.inbox_name},
        "sender": _webhook_sender(conv, msg),
        "conversation": conversation_object(conv, msg),
    }
    if msg.attachments:  # present only when the message has files
        body["attachments"] = [_attachment(conv, msg, f) for f in msg.attachments]
    return body


def automation_message_created(conv: Conversation, msg: Message) -> dict[str, Any]:
    """What an automation rule's "send webhook" action posts when a message is created: the
    conversation (as in conversation events, the message in `messages[0]`) with
    `event: "automation_event.message_created"`. Chatwoot sends it unsigned."""
    return {"event": "automation_event.message_created", **conversation_object(conv, msg)}


def contact_created(account_id: int, account_name: str, contact: Contact) -> dict[str, Any]:
    return {
        "event": "contact_created",
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone_number": contact.phone_number,
        "identifier": contact.identifier,
        "thumbnail": "",
        "avatar": "",
        "blocked": False,
        "additional_attributes": contact.additional_attributes(),
        "custom_attributes": {},
        "account": {"id": account_id, "name": account_name},
    }


# --- bytes and signatures ------------------------------------------------------------------


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise like Rails: compact, UTF-8, with `<`, `>`, `&` escaped as \\u003c…"""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _HTML_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + lowercase hex HMAC-SHA256 of `"<timestamp>.<raw body>"`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def delivery_headers(
    body: bytes,
    *,
    secret: str | None,
    mode: str = "hmac",
    delivery_id: str | None = None,
    timestamp: int | None = None,
    build: Build | None = None,
) -> dict[str, str]:
    """The headers Chatwoot sends with one delivery: a build before 4.11.2 sends neither the
    delivery id nor a signature; later ones sign whenever the webhook has a secret."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if build is not None and not build.signs:
        return headers
    headers["X-Chatwoot-Delivery"] = delivery_id or str(uuid.uuid4())
    if secret and mode == "legacy":
        headers["X-Chatwoot-Signature"] = secret
    elif secret:
        ts = int(time.time()) if timestamp is None else timestamp
        headers["X-Chatwoot-Timestamp"] = str(ts)
        headers["X-Chatwoot-Signature"] = signature(secret, ts, body)
    return headers
