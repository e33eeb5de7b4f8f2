"""The Chatwoot double: the Application API subset the suite uses, and real webhook delivery.

What it mirrors (see `chatwoot-wire-format.md`; facts checked in Chatwoot's source):

* **Auth** (`Api::BaseController`, `AccessTokenAuthHelper`): no `api_access_token` header
  falls through to Devise (401 `{"errors": ["You need to sign in or sign up before
  continuing."]}`); an unknown token is 401 `{"error": "Invalid Access Token"}`; an unknown
  account is `Account.find` failing, 404 `{"error": "Resource could not be found"}`.
* **Incoming messages only on API inboxes** (`Messages::MessageBuilder`): 422
  `{"error": "Incoming messages are only allowed in Api inboxes"}` from the messages endpoint.
* **Who receives what** (`WebhookListener`): every account webhook subscribed to the event,
  skipping an inbox-bound webhook only when the payload carries an `inbox` whose id differs
  (only message events do); and, for `Channel::Api` inboxes with a `webhook_url`, every
  conversation and message event of that inbox with no subscription filter. Activity messages
  never fire. Contact events go to account webhooks only.
* **Delivery** (`Webhooks::Trigger`): one POST per target, 5 s timeout, no retries; signed
  with `X-Chatwoot-Timestamp` + `X-Chatwoot-Signature: sha256=<hex HMAC(secret, "ts.body")>`
  when the target has a secret (the webhook's secret, or the API channel's `secret`), and
  `X-Chatwoot-Delivery` (a uuid per delivery). A failed API-inbox delivery of a message event
  marks the message `failed` (which is a message update, so `message_updated` follows once).
* **Payloads** are built here, independently of the suite's builders, in the real wire format
  and serialised like Rails (compact, `<`, `>`, `&` escaped as `\\u003c`, `\\u003e`, `\\u0026`).

Deliveries run on one background thread in FIFO order: for one conversation,
`conversation_created` always goes out before its `message_created` (real Chatwoot does not
promise that; the double is deterministic on purpose). The delivery log is on the double-only
route `GET /__double/deliveries`.

State lives in memory (Chatwoot is a separate system from the CRM database), guarded by a lock.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.errors import SandboxError
from golive.sandbox.worker import JobQueue

log = logging.getLogger("golive.sandbox.chatwoot")

CHANNEL_API = "Channel::Api"
CHANNEL_WHATSAPP = "Channel::Whatsapp"
CHANNEL_INSTAGRAM = "Channel::Instagram"
CHANNEL_TYPES = (CHANNEL_WHATSAPP, CHANNEL_INSTAGRAM, CHANNEL_API)

# Account webhook subscription options of v4.10 (Webhook::ALLOWED_WEBHOOK_EVENTS).
WEBHOOK_EVENTS = (
    "conversation_created",
    "conversation_updated",
    "conversation_status_changed",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
    "inbox_created",
    "inbox_updated",
    "conversation_typing_on",
    "conversation_typing_off",
)
MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
CONTACT_EVENTS = frozenset({"contact_created", "contact_updated"})

# What `GET /api` reports: a build that signs account webhooks (>= 4.11.2) and API-inbox
# callbacks (>= 4.13.0) and sends `account` in conversation payloads (4.15-based code).
CHATWOOT_VERSION = "4.15.0"
DEVISE_UNAUTHENTICATED = "You need to sign in or sign up before continuing."
NOT_FOUND = "Resource could not be found"
INCOMING_ONLY_API = "Incoming messages are only allowed in Api inboxes"
CONTACT_INBOX_ONLY_API = "Contact Inbox creation is only allowed in API inboxes"

DISPLAY_ID_START = 5000  # display ids are per account; real installations are far from 1
CONVERSATION_STATUSES = ("open", "resolved", "pending", "snoozed")
MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
CONTENT_TYPES = (
    "text",
    "input_text",
    "input_textarea",
    "input_email",
    "input_select",
    "cards",
    "form",
    "article",
    "incoming_email",
    "input_csat",
    "integrations",
    "sticker",
)
REPLY_WINDOW = timedelta(hours=24)  # Meta's customer-service window (WhatsApp, Instagram)
MESSAGES_PAGE = 20
CONVERSATIONS_PAGE = 25
CONTACTS_PAGE = 15
_USER_AGENT = "rest-client/2.1.0 (linux x86_64) ruby/3.4.4p34"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_E164_TAIL = re.compile(r"\+[1-9]\d{1,14}\Z")  # Chatwoot's regex has no start anchor
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")  # Devise.email_regexp


# --- configuration ---------------------------------------------------------------------------


@dataclass
class InboxSetup:
    id: int
    name: str
    channel_type: str  # "Channel::Whatsapp" | "Channel::Instagram" | "Channel::Api"
    webhook_url: str | None = None  # API inboxes: the callback URL
    secret: str | None = field(default=None, repr=False)  # API inboxes: the channel secret


@dataclass
class WebhookSetup:
    id: int
    url: str
    subscriptions: tuple[str, ...]
    secret: str = field(repr=False)  # "" models a pre-4.11.2 Chatwoot: deliveries unsigned
    inbox_id: int | None = None
    name: str = ""


@dataclass
class AccountSetup:
    id: int
    name: str
    inboxes: list[InboxSetup]
    webhooks: list[WebhookSetup]


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt (there is never a second one)."""

    delivery_id: str
    event: str
    url: str
    target: str  # "account_webhook" | "api_inbox_webhook"
    webhook_id: int | None
    inbox_id: int | None
    status_code: int | None
    error: str | None
    signed: bool
    attempted_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- wire helpers ----------------------------------------------------------------------------

_RAILS_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def rails_json(value: Any) -> bytes:
    """Serialise like ActiveSupport's `to_json`: compact, UTF-8, HTML-significant chars escaped.

    The escaped characters can only occur inside JSON strings, so replacing them in the whole
    text is safe.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _RAILS_ESCAPES:
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    """Rails' JSON time: ISO-8601, UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _epoch(moment: datetime | None) -> int:
    """`Time#to_i`, with `nil.to_i == 0` for unset timestamps."""
    return int(moment.timestamp()) if moment is not None else 0


def _secure_token(length: int = 24) -> str:
    """Like Rails' `has_secure_token`: base58, 24 characters."""
    return "".join(secrets.choice(_BASE58) for _ in range(length))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _text_or_none(value: Any) -> str | None:
    if _blank(value):
        return None
    return value if isinstance(value, str) else str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "t", "yes", "on")
    return bool(value)


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


# --- records ---------------------------------------------------------------------------------


@dataclass
class _Account:
    id: int
    name: str
    next_display_id: int = DISPLAY_ID_START


@dataclass
class _Inbox:
    id: int
    account_id: int
    name: str
    channel_type: str
    channel_id: int
    webhook_url: str | None
    secret: str | None
    hmac_token: str
    identifier: str
    created_at: datetime


@dataclass
class _Webhook:
    id: int
    account_id: int
    url: str
    subscriptions: list[str]
    secret: str
    inbox_id: int | None
    name: str


@dataclass
class _User:
    id: int
    name: str
    email: str


@dataclass
class _Contact:
    id: int
    account_id: int
    name: str
    email: str | None
    phone_number: str | None
    identifier: str | None
    additional_attributes: dict[str, Any]
    custom_attributes: dict[str, Any]
    blocked: bool
    created_at: datetime
    last_activity_at: datetime | None = None


@dataclass
class _ContactInbox:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    created_at: datetime
    pubsub_token: str
    hmac_verified: bool = False


@dataclass
class _Conversation:
    account_id: int
    display_id: int
    inbox_id: int
    contact_id: int
    contact_inbox_id: int
    status: str
    uuid: str
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    waiting_since: datetime | None
    additional_attributes: dict[str, Any]
    custom_attributes: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    priority: str | None = None
    snoozed_until: datetime | None = None
    first_reply_created_at: datetime | None = None
    agent_last_seen_at: datetime | None = None
    assignee_last_seen_at: datetime | None = None
    contact_last_seen_at: datetime | None = None
    message_ids: list[int] = field(default_factory=list)


@dataclass
class _Message:
    id: int
    account_id: int
    inbox_id: int
    conversation: tuple[int, int]  # (account id, display id)
    content: str | None
    message_type: str
    content_type: str
    content_attributes: dict[str, Any]
    additional_attributes: dict[str, Any]
    private: bool
    status: str
    source_id: str | None
    sender_type: str | None  # "Contact" | "User" | None
    sender_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    event: str
    url: str
    body: bytes
    secret: str | None
    target: str
    webhook_id: int | None
    inbox_id: int | None
    message_id: int | None
    generation: int


class _Fail(Exception):
    """Ends a request with Chatwoot's status and body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _not_found() -> _Fail:
    return _Fail(404, {"error": NOT_FOUND})


def _unprocessable(message: str) -> _Fail:
    return _Fail(422, {"error": message})


def _record_invalid(errors: list[tuple[str, str]]) -> _Fail:
    """`rescue_from ActiveRecord::RecordInvalid`: full messages joined, attribute names."""
    return _Fail(
        422,
        {
            "message": ", ".join(f"{label} {text}" for label, text in errors),
            "attributes": list(dict.fromkeys(_ATTRIBUTE_OF[label] for label, _ in errors)),
        },
    )


def _server_error() -> _Fail:
    """An exception Chatwoot does not rescue: Rails' production JSON 500."""
    return _Fail(500, {"status": 500, "error": "Internal Server Error"})


_ATTRIBUTE_OF = {
    "Url": "url",
    "Subscriptions": "subscriptions",
    "Inbox": "inbox",
    "Email": "email",
    "Phone number": "phone_number",
    "Identifier": "identifier",
    "Source": "source_id",
}


@dataclass
class _Call:
    account: _Account
    params: dict[str, Any]
    path: dict[str, str]


_NO_BODY = object()
_Handler = Callable[[_Call], tuple[int, Any]]


class _JSON(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return rails_json(content)


# --- the double ------------------------------------------------------------------------------


_Owned = TypeVar("_Owned", "_Inbox", "_Contact", "_Webhook")


def _owned(records: Mapping[int, _Owned], account: _Account, raw: Any) -> _Owned:
    """A record by id, only if it belongs to the account (Chatwoot answers 404 otherwise)."""
    record = records.get(_as_int(raw) or -1)
    if record is None or record.account_id != account.id:
        raise _not_found()
    return record


def _delivery_crashed(job: _Job, exc: Exception) -> None:
    log.error("webhook delivery %s crashed: %s: %s", job.delivery_id, type(exc).__name__, exc)


class ChatwootDouble:
    """An in-memory Chatwoot: Application API + webhook delivery. Thread-safe."""

    def __init__(
        self,
        *,
        api_token: str,
        accounts: list[AccountSetup],
        delivery_timeout_s: float = 5.0,
    ) -> None:
        if not api_token:
            raise ValueError("the Chatwoot double needs an api_token")
        self._token = api_token
        _check_setup(accounts)
        self._setups = copy.deepcopy(accounts)
        # per-inbox channel tokens, generated once so that reset() keeps them
        self._channel_tokens = {
            inbox.id: (_secure_token(), _secure_token()) for setup in self._setups for inbox in setup.inboxes
        }
        self._lock = threading.RLock()
        self.agent = _User(1, "Sandbox Agent", "agent@sandbox.invalid")
        self._generation = 0
        self._load()
        self._log: list[Delivery] = []
        self._client = httpx.Client(
            timeout=httpx.Timeout(delivery_timeout_s), follow_redirects=False, trust_env=False
        )
        self._jobs: JobQueue[_Job] = JobQueue("chatwoot-double-deliveries", self._deliver, _delivery_crashed)
        self._app = Starlette(routes=self._routes())

    # --- public ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return self._app

    def close(self) -> None:
        """Stop the delivery worker (pending deliveries are still attempted) and the client."""
        self._jobs.close()
        self._client.close()

    def wait_idle(self, timeout: float) -> None:
        """Return once the delivery queue is drained; raise `SandboxError` after `timeout`."""
        if not self._jobs.wait_idle(timeout):
            raise SandboxError(
                f"the Chatwoot double still had {self._jobs.pending} webhook deliveries "
                f"queued after {timeout:.1f}s; is a receiver hanging?"
            )

    def add_webhook(self, account_id: int, hook: WebhookSetup) -> None:
        """Register a seeded webhook after start (its target may start after this double, e.g.
        n8n, whose URL is known only once it serves). Kept by `reset()`."""
        with self._lock:
            setup = next((a for a in self._setups if a.id == account_id), None)
            if setup is None:
                raise ValueError(f"no account {account_id} in the Chatwoot double")
            candidate = copy.deepcopy(setup)
            candidate.webhooks.append(copy.deepcopy(hook))
            others = [a for a in self._setups if a.id != account_id]
            _check_setup([*others, candidate])
            setup.webhooks.append(copy.deepcopy(hook))
            self._webhooks[hook.id] = _Webhook(
                hook.id,
                account_id,
                hook.url,
                list(hook.subscriptions),
                hook.secret,
                hook.inbox_id,
                hook.name,
            )

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        """Back to the setup (same ids, secrets and webhooks); queued deliveries are dropped."""
        with self._lock:
            self._generation += 1
            self._load()
            self._log.clear()
            self._jobs.drop_pending()

    # --- state -------------------------------------------------------------------------------

    def _load(self) -> None:
        created = _now()
        self._accounts: dict[int, _Account] = {}
        self._inboxes: dict[int, _Inbox] = {}
        self._webhooks: dict[int, _Webhook] = {}
        self._contacts: dict[int, _Contact] = {}
        self._contact_inboxes: dict[int, _ContactInbox] = {}
        self._conversations: dict[tuple[int, int], _Conversation] = {}
        self._messages: dict[int, _Message] = {}
        self._contact_ids = itertools.count(3001)
        self._contact_inbox_ids = itertools.count(8001)
        self._message_ids = itertools.count(90001)
        channel_ids: dict[str, itertools.count[int]] = {}
        for setup in self._setups:
            self._accounts[setup.id] = _Account(setup.id, setup.name)
            for inbox in setup.inboxes:
                counter = channel_ids.setdefault(inbox.channel_type, itertools.count(1))
                self._inboxes[inbox.id] = _Inbox(
                    inbox.id,
                    setup.id,
                    inbox.name,
                    inbox.channel_type,
                    next(counter),
                    inbox.webhook_url,
                    inbox.secret,
                    *self._channel_tokens[inbox.id],
                    created,
                )
            for hook in setup.webhooks:
                self._webhooks[hook.id] = _Webhook(
                    hook.id,
                    setup.id,
                    hook.url,
                    list(hook.subscriptions),
                    hook.secret,
                    hook.inbox_id,
                    hook.name,
                )

    def _inbox_of(self, account: _Account, raw: Any) -> _Inbox:
        return _owned(self._inboxes, account, raw)

    def _contact_of(self, account: _Account, raw: Any) -> _Contact:
        return _owned(self._contacts, account, raw)

    def _conversation_of(self, call: _Call) -> _Conversation:
        display_id = _as_int(call.path.get("conversation_id"))
        conversation = self._conversations.get((call.account.id, display_id or -1))
        if conversation is None:
            raise _not_found()
        return conversation

    def _webhook_of(self, account: _Account, raw: Any) -> _Webhook:
        return _owned(self._webhooks, account, raw)

    def _messages_of(self, conversation: _Conversation) -> list[_Message]:
        return [self._messages[i] for i in conversation.message_ids]

    def _last_chat_message(self, conversation: _Conversation) -> _Message | None:
        for message in reversed(self._messages_of(conversation)):
            if message.message_type != "activity" and not message.private:
                return message
        return None

    def _unread_incoming(self, conversation: _Conversation) -> list[_Message]:
        seen = conversation.agent_last_seen_at
        return [
            m
            for m in self._messages_of(conversation)
            if m.message_type == "incoming" and (seen is None or m.created_at > seen)
        ]

    def _can_reply(self, conversation: _Conversation, inbox: _Inbox) -> bool:
        if inbox.channel_type == CHANNEL_API:
            return True
        incoming = [m for m in self._messages_of(conversation) if m.message_type == "incoming"]
        return bool(incoming) and _now() - incoming[-1].created_at < REPLY_WINDOW

    # --- presenters: webhook payloads (chatwoot-wire-format.md §4) ---------------------------

    def _account_ref(self, account_id: int) -> dict[str, Any]:
        account = self._accounts[account_id]
        return {"id": account.id, "name": account.name}

    @staticmethod
    def _contact_fields(contact: _Contact) -> dict[str, Any]:
        return {
            "additional_attributes": dict(contact.additional_attributes),
            "custom_attributes": dict(contact.custom_attributes),
            "email": contact.email,
            "id": contact.id,
            "identifier": contact.identifier,
            "name": contact.name,
            "phone_number": contact.phone_number,
            "thumbnail": "",
            "blocked": contact.blocked,
        }

    def _contact_push(self, contact: _Contact) -> dict[str, Any]:
        """The contact inside a conversation (`meta.sender`): push data, typed."""
        return {**self._contact_fields(contact), "type": "contact"}

    def _contact_webhook(self, contact: _Contact) -> dict[str, Any]:
        """The sender of a message event: webhook data, with the account and no type."""
        return {
            "account": self._account_ref(contact.account_id),
            **self._contact_fields(contact),
            "avatar": "",
        }

    def _user_push(self, user: _User) -> dict[str, Any]:
        return {
            "id": user.id,
            "name": user.name,
            "available_name": user.name,
            "avatar_url": "",
            "type": "user",
            "availability_status": "online",
            "thumbnail": "",
        }

    def _contact_inbox_record(self, contact_inbox: _ContactInbox) -> dict[str, Any]:
        return {
            "id": contact_inbox.id,
            "contact_id": contact_inbox.contact_id,
            "inbox_id": contact_inbox.inbox_id,
            "source_id": contact_inbox.source_id,
            "created_at": _iso(contact_inbox.created_at),
            "updated_at": _iso(contact_inbox.created_at),
            "hmac_verified": contact_inbox.hmac_verified,
            "pubsub_token": contact_inbox.pubsub_token,
        }

    def _sender_push(self, message: _Message) -> dict[str, Any] | None:
        if message.sender_type == "Contact" and message.sender_id in self._contacts:
            return self._contact_push(self._contacts[message.sender_id])
        if message.sender_type == "User":
            return self._user_push(self.agent)
        return None

    def _message_push(self, message: _Message) -> dict[str, Any]:
        """The message inside a conversation payload's `messages[]` (int type, epoch time)."""
        conversation = self._conversations[message.conversation]
        contact_inbox = self._contact_inboxes[conversation.contact_inbox_id]
        data: dict[str, Any] = {
            "id": message.id,
            "content": message.content,
            "account_id": message.account_id,
            "inbox_id": message.inbox_id,
            "conversation_id": conversation.display_id,
            "message_type": MESSAGE_TYPES[message.message_type],
            "created_at": _epoch(message.created_at),
            "updated_at": _iso(message.updated_at),
            "private": message.private,
            "status": message.status,
            "source_id": message.source_id,
            "content_type": message.content_type,
            "content_attributes": dict(message.content_attributes),
            "sender_type": message.sender_type,
            "sender_id": message.sender_id,
            "external_source_ids": {},
            "additional_attributes": dict(message.additional_attributes),
            "processed_message_content": message.content,
            "sentiment": {},
            "conversation": {
                "assignee_id": conversation.assignee_id,
                "unread_count": len(self._unread_incoming(conversation)),
                "last_activity_at": _epoch(conversation.last_activity_at),
                "contact_inbox": {"source_id": contact_inbox.source_id},
            },
        }
        sender = self._sender_push(message)
        if sender is not None:
            data["sender"] = sender
        return data

    def _conversation_data(self, conversation: _Conversation) -> dict[str, Any]:
        """`Conversations::EventDataPresenter#push_data` (+ `account`, as newer builds send)."""
        inbox = self._inboxes[conversation.inbox_id]
        contact = self._contacts[conversation.contact_id]
        contact_inbox = self._contact_inboxes[conversation.contact_inbox_id]
        last = self._last_chat_message(conversation)
        assignee = self.agent if conversation.assignee_id == self.agent.id else None
        return {
            "additional_attributes": dict(conversation.additional_attributes),
            "can_reply": self._can_reply(conversation, inbox),
            "channel": inbox.channel_type,
            "contact_inbox": self._contact_inbox_record(contact_inbox),
            "id": conversation.display_id,
            "inbox_id": conversation.inbox_id,
            "messages": [self._message_push(last)] if last is not None else [],
            "labels": list(conversation.labels),
            "meta": {
                "sender": self._contact_push(contact),
                "assignee": self._user_push(assignee) if assignee else None,
                "assignee_type": "User" if assignee else None,
                "team": None,
                "hmac_verified": contact_inbox.hmac_verified,
            },
            "status": conversation.status,
            "custom_attributes": dict(conversation.custom_attributes),
            "snoozed_until": _iso(conversation.snoozed_until),
            "unread_count": len(self._unread_incoming(conversation)),
            "first_reply_created_at": _iso(conversation.first_reply_created_at),
            "priority": conversation.priority,
            "waiting_since": _epoch(conversation.waiting_since),
            "agent_last_seen_at": _epoch(conversation.agent_last_seen_at),
            "contact_last_seen_at": _epoch(conversation.contact_last_seen_at),
            "last_activity_at": _epoch(conversation.last_activity_at),
            "timestamp": _epoch(conversation.last_activity_at),
            "created_at": _epoch(conversation.created_at),
            "updated_at": round(conversation.updated_at.timestamp(), 6),
            "account": self._account_ref(conversation.account_id),
        }

    def _message_webhook(self, message: _Message) -> dict[str, Any]:
        """`Message#webhook_data`: string type, ISO time, account, inbox, full conversation."""
        conversation = self._conversations[message.conversation]
        inbox = self._inboxes[message.inbox_id]
        sender: dict[str, Any] | None = None
        if message.sender_type == "Contact" and message.sender_id in self._contacts:
            sender = self._contact_webhook(self._contacts[message.sender_id])
        elif message.sender_type == "User":
            sender = {
                "id": self.agent.id,
                "name": self.agent.name,
                "email": self.agent.email,
                "type": "user",
            }
        return {
            "id": message.id,
            "content": message.content,
            "content_type": message.content_type,
            "content_attributes": dict(message.content_attributes),
            "additional_attributes": dict(message.additional_attributes),
            "message_type": message.message_type,
            "private": message.private,
            "source_id": message.source_id,
            "created_at": _iso(message.created_at),
            "account": self._account_ref(message.account_id),
            "inbox": {"id": inbox.id, "name": inbox.name},
            "sender": sender,
            "conversation": self._conversation_data(conversation),
        }

    # --- presenters: REST (the jbuilder views) -----------------------------------------------

    def _inbox_rest(self, inbox: _Inbox) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": inbox.id,
            "avatar_url": "",
            "channel_id": inbox.channel_id,
            "name": inbox.name,
            "channel_type": inbox.channel_type,
            "greeting_enabled": False,
            "greeting_message": None,
            "working_hours_enabled": False,
            "enable_email_collect": True,
            "csat_survey_enabled": False,
            "enable_auto_assignment": True,
            "auto_assignment_config": {},
            "out_of_office_message": None,
            "working_hours": [],
            "timezone": "UTC",
            "callback_webhook_url": None,
            "allow_messages_after_resolved": True,
            "lock_to_single_conversation": False,
            "sender_name_type": "friendly",
            "business_name": None,
            "provider": "whatsapp_cloud" if inbox.channel_type == CHANNEL_WHATSAPP else None,
        }
        if inbox.channel_type == CHANNEL_API:  # admins see the secrets (the token is an admin's)
            data["hmac_token"] = inbox.hmac_token
            data["secret"] = inbox.secret
            data["webhook_url"] = inbox.webhook_url
            data["inbox_identifier"] = inbox.identifier
            data["additional_attributes"] = {}
        return data

    def _inbox_slim(self, inbox: _Inbox) -> dict[str, Any]:
        return {
            "id": inbox.id,
            "name": inbox.name,
            "channel_type": inbox.channel_type,
            "channel_id": inbox.channel_id,
            "avatar_url": "",
            "provider": "whatsapp_cloud" if inbox.channel_type == CHANNEL_WHATSAPP else None,
        }

    def _inbox_model(self, inbox: _Inbox) -> dict[str, Any]:
        """`json.inbox @contact_inbox.inbox`: the model's own `as_json` (columns)."""
        return {
            "id": inbox.id,
            "channel_id": inbox.channel_id,
            "account_id": inbox.account_id,
            "name": inbox.name,
            "created_at": _iso(inbox.created_at),
            "updated_at": _iso(inbox.created_at),
            "channel_type": inbox.channel_type,
            "enable_auto_assignment": True,
            "greeting_enabled": False,
            "greeting_message": None,
            "email_address": None,
            "working_hours_enabled": False,
            "out_of_office_message": None,
            "timezone": "UTC",
            "enable_email_collect": True,
            "csat_survey_enabled": False,
            "allow_messages_after_resolved": True,
            "lock_to_single_conversation": False,
            "sender_name_type": "friendly",
            "business_name": None,
        }

    def _contact_rest(self, contact: _Contact, *, with_inboxes: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "additional_attributes": dict(contact.additional_attributes),
            "availability_status": "offline",
            "email": contact.email,
            "id": contact.id,
            "name": contact.name,
            "phone_number": contact.phone_number,
            "blocked": contact.blocked,
            "identifier": contact.identifier,
            "thumbnail": "",
            "custom_attributes": dict(contact.custom_attributes),
            "last_activity_at": _epoch(contact.last_activity_at) or None,
            "created_at": _epoch(contact.created_at),
        }
        if with_inboxes:
            data["contact_inboxes"] = [
                {"source_id": ci.source_id, "inbox": self._inbox_slim(self._inboxes[ci.inbox_id])}
                for ci in self._contact_inboxes.values()
                if ci.contact_id == contact.id
            ]
        return data

    def _message_rest(self, message: _Message) -> dict[str, Any]:
        conversation = self._conversations[message.conversation]
        data: dict[str, Any] = {
            "id": message.id,
            "content": message.content,
            "inbox_id": message.inbox_id,
            "conversation_id": conversation.display_id,
            "message_type": MESSAGE_TYPES[message.message_type],
            "content_type": message.content_type,
            "status": message.status,
            "content_attributes": dict(message.content_attributes),
            "created_at": _epoch(message.created_at),
            "private": message.private,
            "source_id": message.source_id,
        }
        sender = self._sender_push(message)
        if sender is not None:
            data["sender"] = sender
        return data

    def _agent_rest(self, user: _User, account_id: int) -> dict[str, Any]:
        return {
            "id": user.id,
            "account_id": account_id,
            "availability_status": "online",
            "auto_offline": True,
            "confirmed": True,
            "email": user.email,
            "available_name": user.name,
            "name": user.name,
            "role": "administrator",
            "thumbnail": "",
        }

    def _conversation_rest(self, conversation: _Conversation) -> dict[str, Any]:
        """`api/v1/conversations/partials/_conversation`."""
        inbox = self._inboxes[conversation.inbox_id]
        contact = self._contacts[conversation.contact_id]
        contact_inbox = self._contact_inboxes[conversation.contact_inbox_id]
        meta: dict[str, Any] = {
            "sender": self._contact_rest(contact, with_inboxes=False),
            "channel": inbox.channel_type,
        }
        if conversation.assignee_id == self.agent.id:
            meta["assignee"] = self._agent_rest(self.agent, conversation.account_id)
        meta["hmac_verified"] = contact_inbox.hmac_verified
        messages = self._messages_of(conversation)
        unread = self._unread_incoming(conversation)
        if not messages:
            shown: list[_Message] = []
        elif not unread:
            shown = [messages[-1]]
        else:
            seen = conversation.agent_last_seen_at
            shown = [m for m in messages if seen is None or m.created_at > seen][-10:]
        return {
            "meta": meta,
            "id": conversation.display_id,
            "messages": [self._message_push(m) for m in shown],
            "account_id": conversation.account_id,
            "uuid": conversation.uuid,
            "additional_attributes": dict(conversation.additional_attributes),
            "agent_last_seen_at": _epoch(conversation.agent_last_seen_at),
            "assignee_last_seen_at": _epoch(conversation.assignee_last_seen_at),
            "can_reply": self._can_reply(conversation, inbox),
            "contact_last_seen_at": _epoch(conversation.contact_last_seen_at),
            "custom_attributes": dict(conversation.custom_attributes),
            "inbox_id": conversation.inbox_id,
            "labels": list(conversation.labels),
            "muted": False,
            "snoozed_until": _iso(conversation.snoozed_until),
            "status": conversation.status,
            "created_at": _epoch(conversation.created_at),
            "updated_at": round(conversation.updated_at.timestamp(), 6),
            "timestamp": _epoch(conversation.last_activity_at),
            "first_reply_created_at": _epoch(conversation.first_reply_created_at),
            "unread_count": len(unread),
            "last_activity_at": _epoch(conversation.last_activity_at),
            "priority": conversation.priority,
            "waiting_since": _epoch(conversation.waiting_since),
            "sla_policy_id": None,
        }

    def _webhook_rest(self, hook: _Webhook) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": hook.id,
            "name": hook.name,
            "url": hook.url,
            "account_id": hook.account_id,
            "subscriptions": list(hook.subscriptions),
            "secret": hook.secret,
        }
        if hook.inbox_id is not None and hook.inbox_id in self._inboxes:
            inbox = self._inboxes[hook.inbox_id]
            data["inbox"] = {"id": inbox.id, "name": inbox.name}
        return data

    # --- events and delivery -----------------------------------------------------------------

    def _emit(self, event: str, payload: dict[str, Any], account_id: int, inbox: _Inbox | None) -> None:
        """Queue one delivery per target, in the listener's order. Called under the lock."""
        body = rails_json(payload)
        payload_inbox = payload.get("inbox")
        bound_to = payload_inbox.get("id") if isinstance(payload_inbox, dict) else None
        message_id = payload.get("id") if event in MESSAGE_EVENTS else None
        hooks = sorted((h for h in self._webhooks.values() if h.account_id == account_id), key=lambda h: h.id)
        for hook in hooks:
            if event not in hook.subscriptions:
                continue
            if bound_to is not None and hook.inbox_id is not None and hook.inbox_id != bound_to:
                continue
            self._enqueue(
                _Job(
                    str(uuid.uuid4()),
                    event,
                    hook.url,
                    body,
                    hook.secret or None,
                    "account_webhook",
                    hook.id,
                    None,
                    message_id,
                    self._generation,
                )
            )
        if (
            inbox is not None
            and event not in CONTACT_EVENTS
            and inbox.channel_type == CHANNEL_API
            and inbox.webhook_url
        ):
            self._enqueue(
                _Job(
                    str(uuid.uuid4()),
                    event,
                    inbox.webhook_url,
                    body,
                    inbox.secret or None,
                    "api_inbox_webhook",
                    None,
                    inbox.id,
                    message_id,
                    self._generation,
                )
            )

    def _conversation_event(
        self, event: str, conversation: _Conversation, changed: list[dict[str, Any]] | None = None
    ) -> None:
        payload = self._conversation_data(conversation)
        payload["event"] = event
        if changed is not None:
            payload["changed_attributes"] = changed
        self._emit(event, payload, conversation.account_id, self._inboxes[conversation.inbox_id])

    def _message_event(self, event: str, message: _Message) -> None:
        if message.message_type == "activity":  # Message#webhook_sendable?
            return
        payload = self._message_webhook(message)
        payload["event"] = event
        self._emit(event, payload, message.account_id, self._inboxes[message.inbox_id])

    def _enqueue(self, job: _Job) -> None:
        if not self._jobs.submit(job):
            log.warning("the Chatwoot double is closed: %s to %s not delivered", job.event, job.url)

    def _deliver(self, job: _Job) -> None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
            "X-Chatwoot-Delivery": job.delivery_id,
        }
        if job.secret:
            timestamp = str(int(time.time()))
            digest = hmac.new(
                job.secret.encode(), timestamp.encode() + b"." + job.body, hashlib.sha256
            ).hexdigest()
            headers["X-Chatwoot-Timestamp"] = timestamp
            headers["X-Chatwoot-Signature"] = f"sha256={digest}"
        attempted_at = _iso(_now()) or ""
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(job.url, content=job.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"{status} {response.reason_phrase}".strip()
        except httpx.ConnectTimeout:
            error = "Timed out connecting to server"
        except httpx.TimeoutException:
            error = "Timed out reading data from server"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if job.generation != self._generation:
                return  # reset() happened meanwhile: this delivery belongs to the old world
            self._log.append(
                Delivery(
                    job.delivery_id,
                    job.event,
                    job.url,
                    job.target,
                    job.webhook_id,
                    job.inbox_id,
                    status,
                    error,
                    bool(job.secret),
                    attempted_at,
                )
            )
            if error and job.target == "api_inbox_webhook" and job.message_id is not None:
                self._mark_failed(job.message_id, error)
        if error:
            log.info("webhook %s to %s failed (no retry): %s", job.event, job.url, error)

    def _mark_failed(self, message_id: int, error: str) -> None:
        """`Messages::StatusUpdateService(message, 'failed', error)`; the update dispatches
        `message_updated` (once: a message already failed does not change again)."""
        message = self._messages.get(message_id)
        if message is None or message.status == "failed":
            return
        message.status = "failed"
        message.content_attributes["external_error"] = error
        message.updated_at = _now()
        self._message_event("message_updated", message)

    # --- domain operations (called under the lock) -------------------------------------------

    def _new_contact(self, account: _Account, params: dict[str, Any]) -> _Contact:
        email = _text_or_none(params.get("email"))
        email = email.strip().lower() if email else None
        phone = _text_or_none(params.get("phone_number"))
        identifier = _text_or_none(params.get("identifier"))
        errors: list[tuple[str, str]] = []
        same_account = [c for c in self._contacts.values() if c.account_id == account.id]
        if email is not None:
            if not _EMAIL.match(email):
                errors.append(("Email", "Invalid email"))
            elif any(c.email == email for c in same_account):
                errors.append(("Email", "has already been taken"))
        if phone is not None:
            if not _E164_TAIL.search(phone):
                errors.append(("Phone number", "should be in e164 format"))
            elif any(c.phone_number == phone for c in same_account):
                errors.append(("Phone number", "has already been taken"))
        if identifier is not None and any(c.identifier == identifier for c in same_account):
            errors.append(("Identifier", "has already been taken"))
        if errors:
            raise _record_invalid(errors)
        return _Contact(
            next(self._contact_ids),
            account.id,
            _text_or_none(params.get("name")) or "",
            email,
            phone,
            identifier,
            _dict(params.get("additional_attributes")),
            _dict(params.get("custom_attributes")),
            _truthy(params.get("blocked")),
            _now(),
        )

    def _source_id_for(self, inbox: _Inbox, contact: _Contact, given: Any) -> str:
        """`ContactInboxBuilder#generate_source_id` when the caller gave none."""
        source_id = _text_or_none(given)
        if source_id is not None:
            return source_id
        if inbox.channel_type == CHANNEL_API:
            return str(uuid.uuid4())
        if inbox.channel_type == CHANNEL_WHATSAPP:
            if not contact.phone_number:
                raise _unprocessable("param is missing or the value is empty: contact phone number")
            return contact.phone_number.replace("+", "")
        raise _server_error()  # "Unsupported operation for this channel: Channel::Instagram"

    def _find_or_create_contact_inbox(
        self, contact: _Contact, inbox: _Inbox, source_id: str
    ) -> tuple[_ContactInbox, bool]:
        for existing in self._contact_inboxes.values():
            if existing.inbox_id == inbox.id and existing.source_id == source_id:
                if existing.contact_id == contact.id:
                    return existing, False
                raise _record_invalid([("Source", "has already been taken")])
        record = _ContactInbox(
            next(self._contact_inbox_ids), contact.id, inbox.id, source_id, _now(), _secure_token()
        )
        return record, True

    def _check_message_params(self, inbox: _Inbox, params: dict[str, Any]) -> tuple[str, str]:
        """`Messages::MessageBuilder` validation; raises ValueError with Chatwoot's message."""
        message_type = _text_or_none(params.get("message_type")) or "outgoing"
        if message_type not in MESSAGE_TYPES:
            raise ValueError(f"'{message_type}' is not a valid message_type")
        if inbox.channel_type != CHANNEL_API and message_type == "incoming":
            raise ValueError(INCOMING_ONLY_API)
        content_type = _text_or_none(params.get("content_type")) or "text"
        if content_type not in CONTENT_TYPES:
            raise ValueError(f"'{content_type}' is not a valid content_type")
        return message_type, content_type

    def _add_message(
        self,
        conversation: _Conversation,
        *,
        content: str | None,
        message_type: str,
        content_type: str = "text",
        private: bool = False,
        content_attributes: dict[str, Any] | None = None,
        from_agent: bool = True,
    ) -> _Message:
        """Create a message and its side effects; dispatches nothing."""
        now = _now()
        if message_type == "outgoing" and from_agent:
            sender_type: str | None = "User"
            sender_id: int | None = self.agent.id
        elif message_type == "activity":
            sender_type, sender_id = None, None
        else:
            sender_type, sender_id = "Contact", conversation.contact_id
        message = _Message(
            next(self._message_ids),
            conversation.account_id,
            conversation.inbox_id,
            (conversation.account_id, conversation.display_id),
            content,
            message_type,
            content_type,
            dict(content_attributes or {}),
            {},
            private,
            "sent",
            None,
            sender_type,
            sender_id,
            now,
            now,
        )
        self._messages[message.id] = message
        conversation.message_ids.append(message.id)
        conversation.updated_at = now  # belongs_to :conversation, touch: true
        if message_type != "activity":
            conversation.last_activity_at = now
        if message_type == "incoming":
            self._contacts[conversation.contact_id].last_activity_at = now
            if conversation.waiting_since is None:
                conversation.waiting_since = now
        if message_type == "outgoing" and not private and sender_type == "User":
            if conversation.first_reply_created_at is None:
                conversation.first_reply_created_at = now
            conversation.waiting_since = None
        return message

    def _activity(self, conversation: _Conversation, content: str) -> None:
        self._add_message(conversation, content=content, message_type="activity")

    def _change_status(
        self,
        conversation: _Conversation,
        status: str,
        snoozed_until: datetime | None,
        *,
        by_system: bool = False,
    ) -> None:
        previous = conversation.status
        if previous == status:
            return
        before = conversation.updated_at
        conversation.status = status
        conversation.snoozed_until = snoozed_until if status == "snoozed" else None
        conversation.updated_at = _now()
        if by_system:
            text = "System reopened the conversation due to a new incoming message."
        else:
            text = {
                "resolved": f"Conversation was marked resolved by {self.agent.name}",
                "open": f"Conversation was reopened by {self.agent.name}",
                "pending": f"Conversation was marked as pending by {self.agent.name}",
                "snoozed": f"Conversation was snoozed by {self.agent.name}",
            }[status]
        status_change = {"status": {"previous_value": previous, "current_value": status}}
        # after_update_commit: notify_status_change, create_activity, notify_conversation_updation
        self._conversation_event("conversation_status_changed", conversation, [status_change])
        self._activity(conversation, text)
        self._conversation_event(
            "conversation_updated",
            conversation,
            [status_change, _updated_at_change(before, conversation.updated_at)],
        )

    # --- HTTP plumbing -----------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        base = "/api/v1/accounts/{account_id}"
        conv = base + "/conversations/{conversation_id}"
        table: list[tuple[str, str, _Handler]] = [
            ("GET", base + "/inboxes", self._inboxes_index),
            ("GET", base + "/inboxes/{inbox_id}", self._inboxes_show),
            ("GET", base + "/webhooks", self._webhooks_index),
            ("POST", base + "/webhooks", self._webhooks_create),
            ("PATCH", base + "/webhooks/{webhook_id}", self._webhooks_update),
            ("PUT", base + "/webhooks/{webhook_id}", self._webhooks_update),
            ("DELETE", base + "/webhooks/{webhook_id}", self._webhooks_destroy),
            ("GET", base + "/contacts", self._contacts_index),
            ("POST", base + "/contacts", self._contacts_create),
            ("GET", base + "/contacts/search", self._contacts_search),
            ("GET", base + "/contacts/{contact_id}", self._contacts_show),
            ("POST", base + "/contacts/{contact_id}/contact_inboxes", self._contact_inboxes_create),
            ("GET", base + "/conversations", self._conversations_index),
            ("POST", base + "/conversations", self._conversations_create),
            ("GET", conv, self._conversations_show),
            ("POST", conv + "/toggle_status", self._conversations_toggle_status),
            ("GET", conv + "/labels", self._labels_index),
            ("POST", conv + "/labels", self._labels_create),
            ("POST", conv + "/assignments", self._assignments_create),
            ("GET", conv + "/messages", self._messages_index),
            ("POST", conv + "/messages", self._messages_create),
        ]
        routes = [Route(path, self._endpoint(handler), methods=[method]) for method, path, handler in table]
        routes.append(Route("/api", self._api_index, methods=["GET"]))
        routes.append(Route("/__double/deliveries", self._deliveries_route, methods=["GET"]))
        return routes

    def _endpoint(self, handler: _Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = request.headers.get("api_access_token") or request.headers.get("api-access-token")
            if not token:  # no token: Devise's authenticate_user!
                return _JSON({"errors": [DEVISE_UNAUTHENTICATED]}, status_code=401)
            if not hmac.compare_digest(token.encode(), self._token.encode()):
                return _JSON({"error": "Invalid Access Token"}, status_code=401)
            raw = await request.body()
            params: dict[str, Any] = dict(request.query_params)
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    return _JSON({"status": 400, "error": "Bad Request"}, status_code=400)
                if isinstance(body, dict):
                    params.update(body)
            path = {k: str(v) for k, v in request.path_params.items()}
            with self._lock:
                account = self._accounts.get(_as_int(path.get("account_id")) or -1)
                if account is None:
                    return _JSON({"error": NOT_FOUND}, status_code=404)
                try:
                    status, answer = handler(_Call(account, params, path))
                except _Fail as failure:
                    return _JSON(failure.body, status_code=failure.status)
            if answer is _NO_BODY:
                return Response(status_code=status)
            return _JSON(answer, status_code=status)

        return endpoint

    async def _api_index(self, request: Request) -> Response:
        """`ApiController#index`: no authentication."""
        return _JSON(
            {
                "version": CHATWOOT_VERSION,
                "timestamp": _now().strftime("%Y-%m-%d %H:%M:%S"),
                "queue_services": "ok",
                "data_services": "ok",
            }
        )

    async def _deliveries_route(self, request: Request) -> Response:
        with self._lock:
            entries = [d.as_dict() for d in self._log]
        return _JSON({"deliveries": entries, "pending": self._jobs.pending})

    # --- inboxes -----------------------------------------------------------------------------

    def _inboxes_index(self, call: _Call) -> tuple[int, Any]:
        inboxes = [i for i in self._inboxes.values() if i.account_id == call.account.id]
        return 200, {"payload": [self._inbox_rest(i) for i in inboxes]}

    def _inboxes_show(self, call: _Call) -> tuple[int, Any]:
        return 200, self._inbox_rest(self._inbox_of(call.account, call.path["inbox_id"]))

    # --- webhooks ----------------------------------------------------------------------------

    def _webhook_params(self, params: dict[str, Any]) -> dict[str, Any]:
        wrapped = params.get("webhook")  # Rails wraps top-level JSON keys into `webhook`
        source = wrapped if isinstance(wrapped, dict) else params
        picked = {k: source[k] for k in ("url", "subscriptions", "name", "inbox_id") if k in source}
        if not picked:
            raise _unprocessable("param is missing or the value is empty: webhook")
        return picked

    def _build_webhook(self, account: _Account, current: _Webhook | None, picked: dict[str, Any]) -> _Webhook:
        """Apply the permitted params and run the model validations (422 on failure)."""
        url: Any = picked.get("url", current.url if current else None)
        subs: Any = picked.get("subscriptions", current.subscriptions if current else None)
        inbox_raw: Any = picked.get("inbox_id", current.inbox_id if current else None)
        name: Any = picked.get("name", current.name if current else "")
        hook_id = current.id if current else max(self._webhooks, default=0) + 1
        errors: list[tuple[str, str]] = []
        if not isinstance(url, str) or not re.match(r"\Ahttps?://[^\s/?#]+\S*\Z", url):
            errors.append(("Url", "is invalid"))
        elif any(
            h.url == url and h.id != hook_id and h.account_id == account.id for h in self._webhooks.values()
        ):
            errors.append(("Url", "has already been taken"))
        if (
            not isinstance(subs, list)
            or not subs
            or any(not isinstance(s, str) or s not in WEBHOOK_EVENTS for s in subs)
        ):
            errors.append(("Subscriptions", "Invalid events"))
        inbox_id = None if _blank(inbox_raw) else _as_int(inbox_raw)
        if not _blank(inbox_raw):
            inbox = self._inboxes.get(inbox_id if inbox_id is not None else -1)
            if inbox is None or inbox.account_id != account.id:
                errors.append(("Inbox", "must exist"))
        if errors:
            raise _record_invalid(errors)
        assert isinstance(url, str) and isinstance(subs, list)
        return _Webhook(
            hook_id,
            account.id,
            url,
            [str(s) for s in dict.fromkeys(subs)],
            current.secret if current else _secure_token(),
            inbox_id,
            _text_or_none(name) or "",
        )

    def _webhooks_index(self, call: _Call) -> tuple[int, Any]:
        hooks = sorted(
            (h for h in self._webhooks.values() if h.account_id == call.account.id),
            key=lambda h: h.id,
        )
        return 200, {"payload": {"webhooks": [self._webhook_rest(h) for h in hooks]}}

    def _webhooks_create(self, call: _Call) -> tuple[int, Any]:
        hook = self._build_webhook(call.account, None, self._webhook_params(call.params))
        self._webhooks[hook.id] = hook
        return 200, {"payload": {"webhook": self._webhook_rest(hook)}}

    def _webhooks_update(self, call: _Call) -> tuple[int, Any]:
        current = self._webhook_of(call.account, call.path["webhook_id"])
        hook = self._build_webhook(call.account, current, self._webhook_params(call.params))
        self._webhooks[hook.id] = hook
        return 200, {"payload": {"webhook": self._webhook_rest(hook)}}

    def _webhooks_destroy(self, call: _Call) -> tuple[int, Any]:
        hook = self._webhook_of(call.account, call.path["webhook_id"])
        del self._webhooks[hook.id]
        return 200, _NO_BODY

    # --- contacts ----------------------------------------------------------------------------

    def _contacts_index(self, call: _Call) -> tuple[int, Any]:
        contacts = [c for c in self._contacts.values() if c.account_id == call.account.id]
        return 200, self._contact_page(contacts, call.params)

    def _contacts_search(self, call: _Call) -> tuple[int, Any]:
        query = _text_or_none(call.params.get("q"))
        if query is None:
            raise _unprocessable("Specify search string with parameter q")
        needle = query.strip().lower()
        found = [
            c
            for c in self._contacts.values()
            if c.account_id == call.account.id
            and (
                any(needle in (v or "").lower() for v in (c.name, c.email, c.phone_number))
                or needle in (c.identifier or "")
                or (needle.isdigit() and c.id == int(needle))
            )
        ]
        return 200, self._contact_page(found, call.params)

    def _contact_page(self, contacts: list[_Contact], params: dict[str, Any]) -> dict[str, Any]:
        page = max(_as_int(params.get("page")) or 1, 1)
        chunk = contacts[(page - 1) * CONTACTS_PAGE : page * CONTACTS_PAGE]
        return {
            "meta": {"count": len(contacts), "current_page": page},
            "payload": [self._contact_rest(c, with_inboxes=True) for c in chunk],
        }

    def _contacts_create(self, call: _Call) -> tuple[int, Any]:
        contact = self._new_contact(call.account, call.params)
        contact_inbox: _ContactInbox | None = None
        if not _blank(call.params.get("inbox_id")):
            inbox = self._inbox_of(call.account, call.params.get("inbox_id"))
            source_id = self._source_id_for(inbox, contact, call.params.get("source_id"))
            contact_inbox, _ = self._find_or_create_contact_inbox(contact, inbox, source_id)
        # the transaction commits: from here on nothing can fail
        self._contacts[contact.id] = contact
        if contact_inbox is not None:
            self._contact_inboxes[contact_inbox.id] = contact_inbox
        payload = self._contact_webhook(contact)
        payload["event"] = "contact_created"
        self._emit("contact_created", payload, call.account.id, None)
        inbox_json = (
            self._inbox_model(self._inboxes[contact_inbox.inbox_id]) if contact_inbox is not None else None
        )
        return 200, {
            "payload": {
                "contact": self._contact_rest(contact, with_inboxes=True),
                "contact_inbox": {
                    "inbox": inbox_json,
                    "source_id": contact_inbox.source_id if contact_inbox is not None else None,
                },
            }
        }

    def _contacts_show(self, call: _Call) -> tuple[int, Any]:
        contact = self._contact_of(call.account, call.path["contact_id"])
        return 200, {"payload": self._contact_rest(contact, with_inboxes=True)}

    def _contact_inboxes_create(self, call: _Call) -> tuple[int, Any]:
        contact = self._contact_of(call.account, call.path["contact_id"])
        inbox = self._inbox_of(call.account, call.params.get("inbox_id"))
        if inbox.channel_type != CHANNEL_API:
            raise _unprocessable(CONTACT_INBOX_ONLY_API)
        source_id = _text_or_none(call.params.get("source_id")) or str(uuid.uuid4())
        record, created = self._find_or_create_contact_inbox(contact, inbox, source_id)
        if created:
            self._contact_inboxes[record.id] = record
        return 200, {"source_id": record.source_id, "inbox": self._inbox_slim(inbox)}

    # --- conversations -----------------------------------------------------------------------

    def _conversations_index(self, call: _Call) -> tuple[int, Any]:
        status = _text_or_none(call.params.get("status")) or "open"
        inbox_id = _as_int(call.params.get("inbox_id"))
        scoped = [
            c
            for c in self._conversations.values()
            if c.account_id == call.account.id
            and (status == "all" or c.status == status)
            and (inbox_id is None or c.inbox_id == inbox_id)
        ]
        mine = [c for c in scoped if c.assignee_id == self.agent.id]
        assigned = [c for c in scoped if c.assignee_id is not None]
        unassigned = [c for c in scoped if c.assignee_id is None]
        chosen = {"me": mine, "assigned": assigned, "unassigned": unassigned}.get(
            _text_or_none(call.params.get("assignee_type")) or "all", scoped
        )
        chosen = sorted(chosen, key=lambda c: (c.last_activity_at, c.display_id), reverse=True)
        page = max(_as_int(call.params.get("page")) or 1, 1)
        chunk = chosen[(page - 1) * CONVERSATIONS_PAGE : page * CONVERSATIONS_PAGE]
        return 200, {
            "data": {
                "meta": {
                    "mine_count": len(mine),
                    "assigned_count": len(assigned),
                    "unassigned_count": len(unassigned),
                    "all_count": len(scoped),
                },
                "payload": [self._conversation_rest(c) for c in chunk],
            }
        }

    def _conversations_show(self, call: _Call) -> tuple[int, Any]:
        return 200, self._conversation_rest(self._conversation_of(call))

    def _conversations_create(self, call: _Call) -> tuple[int, Any]:
        params = call.params
        inbox = (
            None if _blank(params.get("inbox_id")) else self._inbox_of(call.account, params.get("inbox_id"))
        )
        contact = (
            None
            if _blank(params.get("contact_id"))
            else self._contact_of(call.account, params.get("contact_id"))
        )
        new_contact_inbox = False
        if inbox is not None and contact is not None:
            source_id = self._source_id_for(inbox, contact, params.get("source_id"))
            contact_inbox, new_contact_inbox = self._find_or_create_contact_inbox(contact, inbox, source_id)
        else:
            contact_inbox = self._contact_inbox_by_source(
                call.account, inbox, _text_or_none(params.get("source_id"))
            )
        the_inbox = self._inboxes[contact_inbox.inbox_id]
        status = _text_or_none(params.get("status")) or "open"
        if status not in CONVERSATION_STATUSES:
            raise _server_error()  # ArgumentError "'x' is not a valid status", not rescued
        message_params = params.get("message")
        message_spec: tuple[str, str] | None = None
        if isinstance(message_params, dict) and message_params:
            try:
                message_spec = self._check_message_params(the_inbox, message_params)
            except ValueError:  # raised inside the create transaction, not rescued there
                raise _server_error() from None
        # the transaction commits: from here on nothing can fail
        if new_contact_inbox:
            self._contact_inboxes[contact_inbox.id] = contact_inbox
        account = call.account
        now = _now()
        conversation = _Conversation(
            account.id,
            account.next_display_id,
            the_inbox.id,
            contact_inbox.contact_id,
            contact_inbox.id,
            status,
            str(uuid.uuid4()),
            now,
            now,
            now,
            now,
            _dict(params.get("additional_attributes")),
            _dict(params.get("custom_attributes")),
        )
        if _as_int(params.get("assignee_id")) == self.agent.id:
            conversation.assignee_id = self.agent.id
        account.next_display_id += 1
        self._conversations[(account.id, conversation.display_id)] = conversation
        message: _Message | None = None
        if message_spec is not None and isinstance(message_params, dict):
            message = self._add_message(
                conversation,
                content=_text_or_none(message_params.get("content")),
                message_type=message_spec[0],
                content_type=message_spec[1],
                private=_truthy(message_params.get("private")),
                content_attributes=_dict(message_params.get("content_attributes")),
            )
        self._conversation_event("conversation_created", conversation)
        if message is not None:
            self._message_event("message_created", message)
        return 200, self._conversation_rest(conversation)

    def _contact_inbox_by_source(
        self, account: _Account, inbox: _Inbox | None, source_id: str | None
    ) -> _ContactInbox:
        """The legacy lookup: `ContactInbox.find_by!(source_id:)`."""
        candidates = [
            ci
            for ci in self._contact_inboxes.values()
            if source_id is not None
            and ci.source_id == source_id
            and self._inboxes[ci.inbox_id].account_id == account.id
        ]
        candidates.sort(key=lambda ci: (inbox is None or ci.inbox_id != inbox.id, ci.id))
        if not candidates:
            raise _not_found()
        return candidates[0]

    def _conversations_toggle_status(self, call: _Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        wanted = _text_or_none(call.params.get("status"))
        if wanted is None:
            wanted = "resolved" if conversation.status == "open" else "open"
        if wanted not in CONVERSATION_STATUSES:
            raise _server_error()  # ArgumentError from the enum, not rescued
        snooze = _parse_time(call.params.get("snoozed_until"))
        self._change_status(conversation, wanted, snooze)
        return 200, {
            "meta": {},
            "payload": {
                "success": True,
                "conversation_id": conversation.display_id,
                "current_status": conversation.status,
                "snoozed_until": _iso(conversation.snoozed_until),
            },
        }

    def _labels_index(self, call: _Call) -> tuple[int, Any]:
        return 200, {"payload": list(self._conversation_of(call).labels)}

    def _labels_create(self, call: _Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        raw = call.params.get("labels")
        wanted = list(
            dict.fromkeys(
                str(label).strip() for label in (raw if isinstance(raw, list) else []) if str(label).strip()
            )
        )
        previous = list(conversation.labels)
        if wanted != previous:
            before = conversation.updated_at
            conversation.labels = wanted
            conversation.updated_at = _now()
            added = [label for label in wanted if label not in previous]
            removed = [label for label in previous if label not in wanted]
            if added:
                self._activity(conversation, f"{self.agent.name} added {', '.join(added)}")
            if removed:
                self._activity(conversation, f"{self.agent.name} removed {', '.join(removed)}")
            self._conversation_event(
                "conversation_updated",
                conversation,
                [
                    {"label_list": {"previous_value": previous, "current_value": wanted}},
                    _updated_at_change(before, conversation.updated_at),
                ],
            )
        return 200, {"payload": list(conversation.labels)}

    def _assignments_create(self, call: _Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        wanted = self.agent.id if _as_int(call.params.get("assignee_id")) == self.agent.id else None
        previous = conversation.assignee_id
        if wanted != previous:
            before = conversation.updated_at
            conversation.assignee_id = wanted
            conversation.updated_at = _now()
            self._activity(
                conversation,
                f"{self.agent.name} self-assigned this conversation"
                if wanted is not None
                else f"Conversation unassigned by {self.agent.name}",
            )
            self._conversation_event(
                "conversation_updated",
                conversation,
                [
                    {"assignee_id": {"previous_value": previous, "current_value": wanted}},
                    _updated_at_change(before, conversation.updated_at),
                ],
            )
        if wanted is None:
            return 200, None
        return 200, self._agent_rest(self.agent, call.account.id)

    # --- messages ----------------------------------------------------------------------------

    def _messages_index(self, call: _Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        messages = self._messages_of(conversation)
        before, after = _as_int(call.params.get("before")), _as_int(call.params.get("after"))
        if before is not None:
            messages = [m for m in messages if m.id < before][-MESSAGES_PAGE:]
        elif after is not None:
            messages = [m for m in messages if m.id > after][:100]
        else:
            messages = messages[-MESSAGES_PAGE:]
        meta: dict[str, Any] = {
            "labels": list(conversation.labels),
            "additional_attributes": dict(conversation.additional_attributes),
            "contact": self._contact_push(self._contacts[conversation.contact_id]),
        }
        if conversation.assignee_id == self.agent.id:
            meta["assignee"] = self._user_push(self.agent)
        meta["agent_last_seen_at"] = _iso(conversation.agent_last_seen_at)
        meta["assignee_last_seen_at"] = _iso(conversation.assignee_last_seen_at)
        return 200, {"meta": meta, "payload": [self._message_rest(m) for m in messages]}

    def _messages_create(self, call: _Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        inbox = self._inboxes[conversation.inbox_id]
        try:
            message_type, content_type = self._check_message_params(inbox, call.params)
        except ValueError as exc:  # MessagesController#create rescues StandardError
            raise _unprocessable(str(exc)) from None
        content = _text_or_none(call.params.get("content"))
        if message_type == "incoming" and conversation.status == "resolved":
            self._change_status(conversation, "open", None, by_system=True)
        message = self._add_message(
            conversation,
            content=content,
            message_type=message_type,
            content_type=content_type,
            private=_truthy(call.params.get("private")),
            content_attributes=_dict(call.params.get("content_attributes")),
        )
        self._message_event("message_created", message)
        return 200, self._message_rest(message)


# --- module helpers --------------------------------------------------------------------------


def _updated_at_change(before: datetime, after: datetime) -> dict[str, Any]:
    return {"updated_at": {"previous_value": _iso(before), "current_value": _iso(after)}}


def _parse_time(value: Any) -> datetime | None:
    number = _as_int(value)
    if number is not None:
        return datetime.fromtimestamp(number, UTC)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _check_setup(accounts: Iterable[AccountSetup]) -> None:
    """Fail at start, naming the bad entry, rather than serve an impossible Chatwoot."""
    account_ids: set[int] = set()
    inbox_ids: set[int] = set()
    webhook_ids: set[int] = set()
    for account in accounts:
        if account.id in account_ids:
            raise ValueError(f"account id {account.id} appears twice")
        account_ids.add(account.id)
        own_inboxes = set()
        for inbox in account.inboxes:
            if inbox.id in inbox_ids:
                raise ValueError(f"inbox id {inbox.id} appears twice (inbox ids are global)")
            if inbox.channel_type not in CHANNEL_TYPES:
                raise ValueError(f"inbox {inbox.id}: channel_type must be one of {CHANNEL_TYPES}")
            if inbox.webhook_url and inbox.channel_type != CHANNEL_API:
                raise ValueError(f"inbox {inbox.id}: only Channel::Api inboxes have a webhook_url")
            inbox_ids.add(inbox.id)
            own_inboxes.add(inbox.id)
        urls: set[str] = set()
        for hook in account.webhooks:
            if hook.id in webhook_ids:
                raise ValueError(f"webhook id {hook.id} appears twice")
            if hook.url in urls:  # validates :url, uniqueness: { scope: :account_id }
                raise ValueError(f"webhook {hook.id}: url {hook.url} appears twice in account")
            urls.add(hook.url)
            unknown = [s for s in hook.subscriptions if s not in WEBHOOK_EVENTS]
            if unknown or not hook.subscriptions:
                raise ValueError(f"webhook {hook.id}: invalid subscriptions {unknown or '[]'}")
            if hook.inbox_id is not None and hook.inbox_id not in own_inboxes:
                raise ValueError(f"webhook {hook.id}: inbox {hook.inbox_id} is not in account {account.id}")
            webhook_ids.add(hook.id)
