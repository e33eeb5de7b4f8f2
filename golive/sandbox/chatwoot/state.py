"""The Chatwoot double's records (accounts, inboxes, webhooks, contacts, conversations,
messages) and the store that holds them, resets them to the setup and answers lookups."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from golive.sandbox.chatwoot.calls import not_found
from golive.sandbox.chatwoot.setup import AccountSetup, ContactSetup, WebhookSetup, check_setup
from golive.sandbox.chatwoot.wire import CHANNEL_API, CHANNEL_WHATSAPP, Build, as_int, now, secure_token

DISPLAY_ID_START = 5000  # display ids are per account; real installations are far from 1
REPLY_WINDOW = timedelta(hours=24)  # Meta's customer-service window (WhatsApp, Instagram)

# --- records ---------------------------------------------------------------------------------


@dataclass
class Account:
    id: int
    name: str
    next_display_id: int = DISPLAY_ID_START


@dataclass
class Inbox:
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
    auto_assign: bool = False
    instagram_id: str | None = None  # Channel::Instagram: the account Meta's events name
    phone_number: str | None = None  # Channel::Whatsapp: E.164
    phone_number_id: str | None = None  # Channel::Whatsapp: provider_config['phone_number_id']


@dataclass
class Webhook:
    id: int
    account_id: int
    url: str
    subscriptions: list[str]
    secret: str
    inbox_id: int | None
    name: str


@dataclass
class User:
    id: int
    name: str
    email: str


@dataclass
class AgentBot:
    id: int
    name: str


@dataclass
class Contact:
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
class ContactInbox:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    created_at: datetime
    pubsub_token: str
    hmac_verified: bool = False


@dataclass
class Conversation:
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
class Message:
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
    sender_type: str | None  # "Contact" | "User" | "AgentBot" | None
    sender_id: int | None
    created_at: datetime
    updated_at: datetime
    attachments: list[dict[str, Any]] = field(default_factory=list)  # push data of each file


_Owned = TypeVar("_Owned", Inbox, Contact, Webhook)


def _owned(records: Mapping[int, _Owned], account: Account, raw: Any) -> _Owned:
    """A record by id, only if it belongs to the account (Chatwoot answers 404 otherwise)."""
    record = records.get(as_int(raw) or -1)
    if record is None or record.account_id != account.id:
        raise not_found()
    return record


def _webhook(account_id: int, hook: WebhookSetup) -> Webhook:
    return Webhook(
        hook.id,
        account_id,
        hook.url,
        list(hook.subscriptions),
        hook.secret,
        hook.inbox_id,
        hook.name,
    )


# --- the store -------------------------------------------------------------------------------


class Store:
    """Every record, the setup `reset` goes back to, and the lock that guards them all.

    `generation` counts resets: work queued before a reset knows it belongs to the old world.
    """

    def __init__(self, accounts: list[AccountSetup], build: Build | None = None) -> None:
        check_setup(accounts)
        self.build = build or Build()
        # Chatwoot runs each delivery as its own background job, so a conversation's first
        # message can reach a receiver before the conversation does; True plays that order.
        self.message_first = False
        self._setups = copy.deepcopy(accounts)
        # per-inbox channel tokens, generated once so that reset() keeps them
        self._channel_tokens = {
            inbox.id: (secure_token(), secure_token()) for setup in self._setups for inbox in setup.inboxes
        }
        self.lock = threading.RLock()
        self.agent = User(1, "Sandbox Agent", "agent@sandbox.invalid")
        self.bot = AgentBot(1, "Sandbox Bot")
        self.generation = 0
        # Message ids survive a reset: the CRM is wiped with it, but n8n keeps its executions,
        # found by the message id Chatwoot delivered — a reused id would find an old execution.
        self.message_ids = itertools.count(90001)
        self._load()

    def reset(self) -> None:
        """Back to the setup (same ids, secrets and webhooks). Called under the lock."""
        self.generation += 1
        self._load()

    def add_webhook(self, account_id: int, hook: WebhookSetup) -> None:
        """Add a webhook to an account's setup (so `reset` keeps it) and to the live records."""
        with self.lock:
            setup = next((a for a in self._setups if a.id == account_id), None)
            if setup is None:
                raise ValueError(f"no account {account_id} in the Chatwoot double")
            candidate = copy.deepcopy(setup)
            candidate.webhooks.append(copy.deepcopy(hook))
            others = [a for a in self._setups if a.id != account_id]
            check_setup([*others, candidate])
            setup.webhooks.append(copy.deepcopy(hook))
            self.webhooks[hook.id] = _webhook(account_id, hook)

    def _load(self) -> None:
        created = now()
        self.accounts: dict[int, Account] = {}
        self.inboxes: dict[int, Inbox] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.contacts: dict[int, Contact] = {}
        self.contact_inboxes: dict[int, ContactInbox] = {}
        self.conversations: dict[tuple[int, int], Conversation] = {}
        self.messages: dict[int, Message] = {}
        self.contact_ids = itertools.count(3001)
        self.contact_inbox_ids = itertools.count(8001)
        self.attachment_ids = itertools.count(70001)
        channel_ids: dict[str, itertools.count[int]] = {}
        for setup in self._setups:
            self.accounts[setup.id] = Account(setup.id, setup.name)
            for inbox in setup.inboxes:
                counter = channel_ids.setdefault(inbox.channel_type, itertools.count(1))
                self.inboxes[inbox.id] = Inbox(
                    inbox.id,
                    setup.id,
                    inbox.name,
                    inbox.channel_type,
                    next(counter),
                    inbox.webhook_url,
                    inbox.secret,
                    *self._channel_tokens[inbox.id],
                    created,
                    inbox.auto_assign,
                    inbox.instagram_id,
                    inbox.phone_number,
                    inbox.phone_number_id,
                )
                for known in inbox.known_contacts:
                    self._known_contact(setup.id, inbox.id, inbox.channel_type, known, created)
            for hook in setup.webhooks:
                self.webhooks[hook.id] = _webhook(setup.id, hook)

    def _known_contact(
        self, account_id: int, inbox_id: int, channel_type: str, known: ContactSetup, created: datetime
    ) -> None:
        phone = f"+{known.source_id}" if channel_type == CHANNEL_WHATSAPP else None
        contact = Contact(
            next(self.contact_ids), account_id, known.name, None, phone, None, {}, {}, False, created
        )
        self.contacts[contact.id] = contact
        link = ContactInbox(
            next(self.contact_inbox_ids), contact.id, inbox_id, known.source_id, created, secure_token()
        )
        self.contact_inboxes[link.id] = link

    # --- lookups (404 unless the record is the account's) --------------------------------

    def inbox_of(self, account: Account, raw: Any) -> Inbox:
        return _owned(self.inboxes, account, raw)

    def contact_of(self, account: Account, raw: Any) -> Contact:
        return _owned(self.contacts, account, raw)

    def webhook_of(self, account: Account, raw: Any) -> Webhook:
        return _owned(self.webhooks, account, raw)

    def conversation_of(self, account: Account, raw_display_id: Any) -> Conversation:
        display_id = as_int(raw_display_id)
        conversation = self.conversations.get((account.id, display_id or -1))
        if conversation is None:
            raise not_found()
        return conversation

    # --- what a conversation's messages say ----------------------------------------------

    def messages_of(self, conversation: Conversation) -> list[Message]:
        return [self.messages[i] for i in conversation.message_ids]

    def last_chat_message(self, conversation: Conversation) -> Message | None:
        for message in reversed(self.messages_of(conversation)):
            if message.message_type != "activity" and not message.private:
                return message
        return None

    def unread_incoming(self, conversation: Conversation) -> list[Message]:
        seen = conversation.agent_last_seen_at
        return [
            m
            for m in self.messages_of(conversation)
            if m.message_type == "incoming" and (seen is None or m.created_at > seen)
        ]

    def can_reply(self, conversation: Conversation, inbox: Inbox) -> bool:
        if inbox.channel_type == CHANNEL_API:
            return True
        incoming = [m for m in self.messages_of(conversation) if m.message_type == "incoming"]
        return bool(incoming) and now() - incoming[-1].created_at < REPLY_WINDOW
