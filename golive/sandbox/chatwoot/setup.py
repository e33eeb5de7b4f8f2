"""What the Chatwoot double is started with: accounts, their inboxes and webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from golive.sandbox.chatwoot.wire import (
    CHANNEL_API,
    CHANNEL_INSTAGRAM,
    CHANNEL_TYPES,
    CHANNEL_WHATSAPP,
    WEBHOOK_EVENTS,
)


@dataclass(frozen=True)
class ContactSetup:
    """A customer the inbox already knows (a contact and its inbox link), as any live channel
    has: `source_id` is the IGSID or wa_id; a WhatsApp contact's phone is `+<wa_id>`."""

    name: str
    source_id: str


@dataclass
class InboxSetup:
    id: int
    name: str
    channel_type: str  # "Channel::Whatsapp" | "Channel::Instagram" | "Channel::Api"
    webhook_url: str | None = None  # API inboxes: the callback URL
    secret: str | None = field(default=None, repr=False)  # API inboxes: the channel secret
    auto_assign: bool = False  # new conversations get the agent before they are announced
    # Meta's side: Channel::Instagram#instagram_id (what Meta's recipient.id names), and the
    # WhatsApp Cloud channel's phone_number (E.164) and provider_config phone_number_id
    instagram_id: str | None = None
    phone_number: str | None = None
    phone_number_id: str | None = None
    known_contacts: tuple[ContactSetup, ...] = ()


@dataclass
class WebhookSetup:
    id: int
    url: str
    subscriptions: tuple[str, ...]
    secret: str = field(repr=False)  # "" models a pre-4.11.2 Chatwoot: deliveries unsigned
    inbox_id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class AutomationRuleSetup:
    """An automation rule whose only action is "send webhook event": when `event` happens to a
    message of `message_type` in one of `inbox_ids` (any inbox when empty), Chatwoot posts the
    conversation (`event: "automation_event.<event>"`, unsigned) to `url`."""

    id: int
    url: str
    event: str = "message_created"
    inbox_ids: tuple[int, ...] = ()
    message_type: str = "incoming"


@dataclass
class AccountSetup:
    id: int
    name: str
    inboxes: list[InboxSetup]
    webhooks: list[WebhookSetup]


def check_setup(accounts: Iterable[AccountSetup]) -> None:
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
            if inbox.instagram_id and inbox.channel_type != CHANNEL_INSTAGRAM:
                raise ValueError(f"inbox {inbox.id}: only Channel::Instagram inboxes have an instagram_id")
            if (inbox.phone_number or inbox.phone_number_id) and inbox.channel_type != CHANNEL_WHATSAPP:
                raise ValueError(f"inbox {inbox.id}: only Channel::Whatsapp inboxes have a phone number")
            if inbox.known_contacts and inbox.channel_type == CHANNEL_API:
                raise ValueError(f"inbox {inbox.id}: known contacts are for the Meta channels")
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
