"""Customers writing to an organisation: Chatwoot conversations and the deliveries they cause.

A first message in Chatwoot fires `conversation_created` and `message_created`; both go to
the CRM webhook, and the message also to n8n — as the account webhook's `message_created`, or
as an automation rule's `automation_event.message_created` (the profile's `[n8n] trigger`). In
*delivery* mode the suite signs and posts them itself, exactly as Chatwoot would.

The agent flow answers in the conversation through Chatwoot's API, so in delivery mode the
conversation must exist there: when the profile has a Chatwoot API, the suite opens the
customer's conversation with it first (contact, inbox link with the IGSID / wa_id, conversation
— what the channel does when a first message arrives) and delivers the events with the ids
Chatwoot gave. Chatwoot itself then also emits `conversation_created` to the CRM, as it would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from golive.clients.chatwoot import ChatwootClient, Opened
from golive.clients.webhook import Delivery, Signing, WebhookAnswer, WebhookEmitter
from golive.config import Channel, Injection, Organisation
from golive.errors import ConfigError
from golive.payloads import chatwoot
from golive.scenario.data import DataFactory, Person

CHANNEL_TYPES: dict[Channel, str] = {
    "whatsapp": "Channel::Whatsapp",
    "instagram": "Channel::Instagram",
}


@dataclass(frozen=True)
class Sent:
    """What a customer's message caused: the conversation, and each delivery with its answer."""

    person: Person
    channel: Channel
    conversation: chatwoot.Conversation
    message: chatwoot.Message
    deliveries: tuple[Delivery, ...]
    answers: tuple[WebhookAnswer, ...]
    n8n_answers: tuple[WebhookAnswer, ...] = ()
    via: Injection = "delivery"  # "chatwoot": Chatwoot itself delivered, answers are not observable

    @property
    def conversation_id(self) -> int:
        return self.conversation.display_id


class Conversations:
    """Starts conversations and sends messages on one organisation's inboxes."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        crm_webhook: WebhookEmitter,
        data: DataFactory,
        n8n_webhook: WebhookEmitter | None = None,
        chatwoot_api: ChatwootClient | None = None,
    ) -> None:
        self.org = organisation
        self.crm_webhook = crm_webhook
        self.data = data
        self.n8n_webhook = n8n_webhook
        self.chatwoot_api = chatwoot_api

    def conversation(
        self,
        channel: Channel,
        person: Person,
        *,
        inbox_id: int | None = None,
        usable_identifier: bool = True,
    ) -> chatwoot.Conversation:
        """The Chatwoot conversation this person's first message opens, as Chatwoot shapes it:
        Instagram contacts have only a name (the IGSID is the contact_inbox source_id);
        WhatsApp contacts have `phone_number` and the wa_id as source_id."""
        if channel == "instagram":
            contact = chatwoot.Contact(
                id=self.data.chatwoot_id(),
                name=person.name,
                instagram_username=person.instagram_username,
            )
            source_id = person.igsid if usable_identifier else None
        else:
            contact = chatwoot.Contact(
                id=self.data.chatwoot_id(),
                name=person.name,
                phone_number=person.phone if usable_identifier else None,
            )
            source_id = (person.phone or "").lstrip("+") if usable_identifier else None
        return chatwoot.Conversation(
            account_id=self.org.account_id,
            account_name=self.org.name,
            inbox_id=inbox_id if inbox_id is not None else self.org.inboxes[channel].id,
            inbox_name=self._inbox_name(channel),
            channel=CHANNEL_TYPES[channel],
            display_id=self.data.chatwoot_id(),
            contact=contact,
            contact_inbox_id=self.data.chatwoot_id(),
            source_id=source_id,
            created_at=int(time.time()),
        )

    def first_message(
        self,
        channel: Channel,
        person: Person,
        text: str,
        *,
        conversation: chatwoot.Conversation | None = None,
        signing: Signing = Signing.VALID,
        copies: int = 1,
    ) -> Sent:
        """The first message: `conversation_created` then `message_created`, each sent
        `copies` times (concurrently when more than one)."""
        plain = signing is Signing.VALID and copies == 1
        if plain and conversation is None and self.org.inboxes[channel].injection == "chatwoot":
            return self._through_chatwoot(channel, person, text)
        conv = conversation or self.conversation(channel, person)
        if plain:
            conv = self._opened_in_chatwoot(channel, conv)
        message = self._message(text)
        deliveries = (
            self.crm_webhook.prepare(chatwoot.conversation_created(conv, message), signing=signing),
            self.crm_webhook.prepare(chatwoot.message_created(conv, message), signing=signing),
        )
        answers = self._send(deliveries, copies)
        n8n_answers = self._to_n8n(conv, message) if plain else ()
        return Sent(person, channel, conv, message, deliveries, answers, n8n_answers)

    def next_message(self, previous: Sent, text: str) -> Sent:
        conv = replace(previous.conversation, unread_count=previous.conversation.unread_count + 1)
        if previous.via == "chatwoot" and self.chatwoot_api is not None:
            message_id = self.chatwoot_api.add_message(conv.display_id, text)
            message = chatwoot.Message(id=message_id, content=text, created_at=time.time())
            return Sent(previous.person, previous.channel, conv, message, (), (), via="chatwoot")
        message = self._message(text)
        deliveries = (self.crm_webhook.prepare(chatwoot.message_created(conv, message)),)
        return Sent(
            previous.person,
            previous.channel,
            conv,
            message,
            deliveries,
            self._send(deliveries),
            self._to_n8n(conv, message),
        )

    def _opened_in_chatwoot(self, channel: Channel, conv: chatwoot.Conversation) -> chatwoot.Conversation:
        """The conversation with Chatwoot's ids, once opened there (when the profile has a
        Chatwoot API and the customer has an id the inbox can link: otherwise as it was)."""
        if self.chatwoot_api is None or not conv.source_id or conv.inbox_id != self.org.inboxes[channel].id:
            return conv
        opened: Opened = self.chatwoot_api.open_conversation(
            inbox_id=conv.inbox_id,
            name=conv.contact.name,
            phone=conv.contact.phone_number,
            source_id=conv.source_id,
        )
        return replace(
            conv, display_id=opened.conversation_id, contact=replace(conv.contact, id=opened.contact_id)
        )

    def _to_n8n(self, conv: chatwoot.Conversation, message: chatwoot.Message) -> tuple[WebhookAnswer, ...]:
        """What starts the n8n flow: the account webhook's `message_created` (subscribed to
        message events only), or an automation rule's conversation-shaped body."""
        if self.n8n_webhook is None:
            return ()
        if self.org.n8n.trigger == "automation_rule":
            return (self.n8n_webhook.deliver(chatwoot.automation_message_created(conv, message)),)
        return (self.n8n_webhook.deliver(chatwoot.message_created(conv, message)),)

    def _through_chatwoot(self, channel: Channel, person: Person, text: str) -> Sent:
        """Create the message with Chatwoot's API (API-channel inboxes only); Chatwoot then
        delivers conversation_created and message_created to its webhooks, as in production."""
        if self.chatwoot_api is None:
            raise ConfigError(
                f"'{self.org.slug}' injects {channel} messages through Chatwoot but has no "
                "Chatwoot API ([chatwoot] base_url and api_token_env)",
                setting="chatwoot.base_url",
            )
        inbox = self.org.inboxes[channel]
        # the bridge's id for the customer: a WhatsApp JID, as Evolution/WPPConnect use
        source_id = f"{(person.phone or '').lstrip('+')}@s.whatsapp.net"
        created = self.chatwoot_api.incoming_message(
            inbox_id=inbox.id, name=person.name, phone=person.phone, text=text, source_id=source_id
        )
        conv = chatwoot.Conversation(
            account_id=self.org.account_id,
            account_name=self.org.name,
            inbox_id=inbox.id,
            inbox_name=self._inbox_name(channel),
            channel="Channel::Api",
            display_id=created.conversation_id,
            contact=chatwoot.Contact(id=created.contact_id, name=person.name, phone_number=person.phone),
            contact_inbox_id=0,
            source_id=created.source_id,
            created_at=int(time.time()),
        )
        message = chatwoot.Message(id=created.message_id, content=text, created_at=time.time())
        return Sent(person, channel, conv, message, (), (), via="chatwoot")

    def replay(self, sent: Sent) -> tuple[WebhookAnswer, ...]:
        """Re-send every delivery of `sent`: the very same bytes and headers."""
        return self._send(sent.deliveries)

    def _send(self, deliveries: Sequence[Delivery], copies: int = 1) -> tuple[WebhookAnswer, ...]:
        """Each delivery in order, as Chatwoot would; `copies` of one at once when more than one."""
        if copies == 1:
            return tuple(self.crm_webhook.send(d) for d in deliveries)
        answers: list[WebhookAnswer] = []
        for delivery in deliveries:
            with ThreadPoolExecutor(max_workers=min(copies, 20)) as pool:
                answers.extend(pool.map(self.crm_webhook.send, [delivery] * copies))
        return tuple(answers)

    def _inbox_name(self, channel: Channel) -> str:
        return f"{channel.capitalize()} {self.org.name}"

    def _message(self, text: str) -> chatwoot.Message:
        mid = self.data.chatwoot_id()
        return chatwoot.Message(id=mid, content=text, created_at=time.time(), source_id=f"golive-mid-{mid}")
