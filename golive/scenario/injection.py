"""Customers writing to an organisation: Chatwoot conversations and the deliveries they cause.

How a message reaches the target is the profile's choice per inbox (`[chatwoot] inject_*`):
`delivery` (below), `chatwoot` (an API-channel inbox: the message is created with Chatwoot's
API and Chatwoot delivers), or `provider` (Meta's event posted to Chatwoot's channel webhook;
`golive.scenario.provider`). A scenario that hand-makes a shape no channel would send (a
placeholder id, an auto-assigned conversation, a phone Chatwoot left out, copies released at
once) is delivered as it is whatever the profile says: only the suite can send it.

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

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from golive.clients.chatwoot import ChatwootClient, Opened
from golive.clients.ledger import Ledger
from golive.clients.webhook import Delivery, Signing, WebhookAnswer, WebhookEmitter
from golive.errors import ConfigError, WaitTimeout
from golive.identity import InvalidIdentity, parse_key
from golive.organisation import Organisation
from golive.payloads import chatwoot, meta
from golive.scenario.data import DataFactory, Person
from golive.scenario.provider import Arrival, Provider, filed_for_sender
from golive.settings import Channel, Injection
from golive.waiting import eventually

# How long a delivery waits for Chatwoot to announce a conversation it opened: a few seconds
# (a target whose Chatwoot does not call the CRM at all must not stall every first message).
CHATWOOT_ANNOUNCES_S = 5.0
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
    via: Injection = "delivery"  # chatwoot/provider: Chatwoot itself delivered, answers not observable
    opened_in_chatwoot: bool = False  # Chatwoot holds the conversation, and announced it itself
    # provider: the Meta events posted to Chatwoot's channel webhook (the first is the message);
    # `deliveries` then hold Chatwoot's events as the suite rebuilds them, sent only on a replay
    meta_events: tuple[meta.MetaEvent, ...] = ()
    # re-sends one of `deliveries` to the CRM: how a check finds out why Chatwoot's own delivery
    # left nothing written (a replay is harmless to an idempotent CRM)
    resend: Callable[[Delivery], WebhookAnswer] | None = field(default=None, compare=False, repr=False)

    @property
    def conversation_id(self) -> int:
        return self.conversation.display_id

    @property
    def delivered_by_chatwoot(self) -> bool:
        """Chatwoot delivered the events itself: the CRM's answers are not observable, only what
        it wrote, eventually."""
        return self.via in ("chatwoot", "provider")


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
        ledger: Ledger | None = None,
        linked: Callable[[int], bool] | None = None,
        provider: Provider | None = None,
        settle: Callable[[Sent], None] | None = None,
    ) -> None:
        self.org = organisation
        self.provider = provider
        # waits until the CRM holds what Chatwoot delivered for a Sent: before the suite delivers
        # events of its own into a conversation Chatwoot opened, so they arrive in real order
        self.settle = settle
        self.suite_delivers = False  # True: every message delivered by the suite (an outage)
        self.crm_webhook = crm_webhook
        self.data = data
        self.n8n_webhook = n8n_webhook
        self.chatwoot_api = chatwoot_api
        self.ledger = ledger
        # Whether the CRM has linked a conversation (read-only SQL, when the profile has it):
        # lets a delivery wait for Chatwoot's own announcement of a conversation it opened.
        self.linked = linked
        self.build = chatwoot.Build(organisation.chatwoot_version)  # shapes and signing follow it

    def conversation(
        self,
        channel: Channel,
        person: Person,
        *,
        inbox_id: int | None = None,
        usable_identifier: bool = True,
        assignee: chatwoot.Agent | None = None,
    ) -> chatwoot.Conversation:
        """The Chatwoot conversation this person's first message opens, as Chatwoot shapes it:
        Instagram contacts have only a name (the IGSID is the contact_inbox source_id);
        WhatsApp contacts have `phone_number` and the wa_id as source_id."""
        if channel == "instagram":
            contact = chatwoot.Contact(
                id=self.data.chatwoot_id(),
                name=person.name,
                instagram_username=person.instagram_username,
                # Instagram gives Chatwoot the profile picture; the CRM keeps its URL on the link
                thumbnail=f"https://avatars.golive.invalid/instagram/{person.igsid}.jpg",
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
            with_account=self.build.sends_account,
            assignee=assignee,
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
        message_first: bool = False,
        headers: dict[str, str] | None = None,
        by_suite: bool = False,
    ) -> Sent:
        """The first message: `conversation_created` then `message_created` (the other way round
        with `message_first`: Chatwoot does not order its deliveries), each sent `copies` times,
        the copies released together. `by_suite`: delivered by the suite whatever the profile
        says (a scenario that reads what the CRM or n8n answered)."""
        plain = signing is Signing.VALID and copies == 1 and not message_first and not headers
        channel_path = plain and not by_suite and not self.suite_delivers
        if channel_path and conversation is None and self.org.inboxes[channel].injection == "chatwoot":
            self._will_resolve(channel, person.phone, person)
            return self._through_chatwoot(channel, person, text)
        conv = conversation or self.conversation(channel, person)
        provider = self.org.inboxes[channel].injection == "provider"
        if channel_path and provider and self._meta_could_send(channel, conv):
            return self._through_provider(channel, person, text)
        external_id = conv.source_id if channel == "instagram" else conv.contact.phone_number
        self._will_resolve(channel, external_id, person)
        opened = self._opened_in_chatwoot(channel, conv) if plain else None
        conv = opened or conv
        message = self._message(text)
        events = (chatwoot.conversation_created(conv, message), chatwoot.message_created(conv, message))
        deliveries = tuple(self._prepare(event, signing, headers) for event in events)
        if message_first:
            deliveries = deliveries[::-1]
        answers = self._send(deliveries, copies)
        n8n_answers = self._to_n8n(conv, message) if plain else ()
        return Sent(
            person, channel, conv, message, deliveries, answers, n8n_answers, opened_in_chatwoot=bool(opened)
        )

    def next_message(self, previous: Sent, text: str | chatwoot.Message, *, copies: int = 1) -> Sent:
        """The next message in the same conversation: a text from the customer, or any message
        (an agent's or the bot's reply, a file) as Chatwoot would send it."""
        incoming = isinstance(text, str) or text.message_type == "incoming"
        unread = previous.conversation.unread_count + (1 if incoming else 0)
        conv = replace(previous.conversation, unread_count=unread)
        if isinstance(text, str) and previous.via == "provider" and copies == 1:
            return self._next_through_provider(previous, text)
        if isinstance(text, str) and previous.via == "chatwoot" and self.chatwoot_api is not None:
            message_id = self.chatwoot_api.add_message(conv.display_id, text)
            message = chatwoot.Message(id=message_id, content=text, created_at=time.time())
            return Sent(previous.person, previous.channel, conv, message, (), (), via="chatwoot")
        self._settled(previous)
        message = self._message(text) if isinstance(text, str) else text
        deliveries = (self._prepare(chatwoot.message_created(conv, message)),)
        return Sent(
            previous.person,
            previous.channel,
            conv,
            message,
            deliveries,
            self._send(deliveries, copies),
            self._to_n8n(conv, message) if incoming and copies == 1 else (),
        )

    def new_conversation(self, previous: Sent, text: str) -> Sent:
        """The same customer opens a new conversation. Through a channel, Chatwoot reuses the
        customer's open conversation, so an agent first resolves the previous one (as happens
        when a conversation ends); delivered by the suite, it is simply a new conversation."""
        if previous.via == "provider" and self.chatwoot_api is not None:
            self.chatwoot_api.resolve(previous.conversation_id)
        return self.first_message(previous.channel, previous.person, text)

    def meta_again(self, sent: Sent) -> Arrival:
        """Meta delivers the message event of `sent` once more (the very same bytes): Chatwoot
        must recognise the Meta message id and create nothing."""
        provider = self._provider(sent.channel)
        event = sent.meta_events[0] if sent.meta_events else None
        if event is None:
            raise AssertionError(
                f"the {sent.channel} message was not injected through Meta's channel webhook "
                f"(it went {sent.via}): there is no Meta event to deliver again"
            )
        return provider.arrive(sent.channel, event, near=sent.conversation_id)

    def _provider(self, channel: Channel) -> Provider:
        if self.provider is None:
            raise ConfigError(
                f"'{self.org.slug}' injects {channel} messages through provider but has no "
                "Chatwoot API to read back what Chatwoot made of them ([chatwoot] base_url and "
                "api_token_env)",
                setting="chatwoot.base_url",
            )
        return self.provider

    def _meta_could_send(self, channel: Channel, conv: chatwoot.Conversation) -> bool:
        """Is this the conversation a Meta event would make Chatwoot open? Meta names a customer
        only by a valid IGSID / wa_id; Chatwoot's contact then has no email or identifier, a
        WhatsApp contact has the wa_id as phone, and a new conversation is open, unlabelled and
        (unless the inbox auto-assigns) unassigned."""
        contact = conv.contact
        if (
            conv.inbox_id != self.org.inboxes[channel].id
            or conv.assignee is not None
            or conv.status != "open"
            or conv.labels
            or contact.email
            or contact.identifier
            or conv.with_account != self.build.sends_account
            or not _channel_could_open(channel, conv)
        ):
            return False
        if channel == "instagram":
            return contact.phone_number is None
        return contact.phone_number == f"+{conv.source_id}"

    def _through_provider(self, channel: Channel, person: Person, text: str) -> Sent:
        """Post Meta's event to Chatwoot's channel webhook and read back what Chatwoot made."""
        provider = self._provider(channel)
        provider.allowed(channel, person)
        event = provider.message(channel, person, text)
        self._will_resolve(channel, person.igsid if channel == "instagram" else person.phone, person)
        arrival = provider.arrive(channel, event)
        return self._arrived(channel, person, text, arrival)

    def _next_through_provider(self, previous: Sent, text: str) -> Sent:
        provider = self._provider(previous.channel)
        event = provider.message(previous.channel, previous.person, text)
        arrival = provider.arrive(previous.channel, event, near=previous.conversation_id)
        sent = self._arrived(previous.channel, previous.person, text, arrival, first=False)
        if sent.conversation_id != previous.conversation_id:
            raise AssertionError(
                f"Chatwoot filed the customer's next message in conversation {sent.conversation_id}, "
                f"not in their open conversation {previous.conversation_id}"
            )
        return sent

    def _arrived(
        self, channel: Channel, person: Person, text: str, arrival: Arrival, *, first: bool = True
    ) -> Sent:
        """The Sent of a message Chatwoot took in from Meta: its conversation and message as
        Chatwoot holds them, the person as Chatwoot named them, and Chatwoot's events as the
        suite rebuilds them (sent only if a scenario replays them)."""
        provider = self._provider(channel)
        conv = provider.conversation(channel, arrival.filed, self.build)
        filed_for_sender(channel, conv, person, arrival.event)
        message = provider.message_of(arrival.filed, text, arrival.event.mid)
        events = (chatwoot.conversation_created(conv, message),) if first else ()
        deliveries = tuple(self._prepare(e) for e in (*events, chatwoot.message_created(conv, message)))
        return Sent(
            replace(person, name=conv.contact.name or person.name),
            channel,
            conv,
            message,
            deliveries,
            (),
            via="provider",
            meta_events=(arrival.event,),
            resend=self.crm_webhook.send,
        )

    def _settled(self, previous: Sent) -> None:
        if previous.delivered_by_chatwoot and self.settle is not None:
            self.settle(previous)

    def _will_resolve(self, channel: Channel, external_id: str | None, person: Person) -> None:
        """Ledger the identity the CRM will resolve for this message, before it is sent: the CRM
        creates the contact (and n8n its deal) and answers no id, so cleanup looks it up."""
        if self.ledger is not None and external_id:
            self.ledger.record("crm", "identity", f"{channel}:{external_id}", name=person.name)

    def conversation_changed(
        self,
        previous: Sent,
        conv: chatwoot.Conversation,
        changed: dict[str, tuple[object, object]],
        *,
        event: str = "conversation_updated",
        without: tuple[str, ...] = (),
    ) -> Sent:
        """Chatwoot reports a change of the conversation (labels, status, assignee). `without`
        drops keys from the payload, as a partial update would."""
        self._settled(previous)
        payload = chatwoot.conversation_updated(conv, changed, event=event, last_message=previous.message)
        for key in without:
            payload.pop(key, None)
        deliveries = (self._prepare(payload),)
        return Sent(
            previous.person, previous.channel, conv, previous.message, deliveries, self._send(deliveries)
        )

    def new_message(
        self,
        content: str | None,
        *,
        sender: chatwoot.SenderKind = "contact",
        agent: chatwoot.Agent | None = None,
        attachments: tuple[chatwoot.Attachment, ...] = (),
    ) -> chatwoot.Message:
        """A message to send with `next_message`: the customer's (incoming), or an agent's or
        the bot's (outgoing); with files when given."""
        mid = self.data.chatwoot_id()
        return chatwoot.Message(
            id=mid,
            content=content,
            created_at=time.time(),
            source_id=f"golive-mid-{mid}",
            message_type="incoming" if sender == "contact" else "outgoing",
            sender=sender,
            agent=agent,
            attachments=attachments,
        )

    def _prepare(
        self,
        payload: dict[str, Any],
        signing: Signing = Signing.VALID,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        return self.crm_webhook.prepare(payload, signing=signing, build=self.build, extra_headers=headers)

    def _opened_in_chatwoot(
        self, channel: Channel, conv: chatwoot.Conversation
    ) -> chatwoot.Conversation | None:
        """The conversation with Chatwoot's ids, once opened there — when the profile has a
        Chatwoot API and the channel could have opened it: a customer with a valid id, on the
        organisation's inbox, not yet assigned. Otherwise (a scenario's hand-made shape: a
        placeholder id, an auto-assigned conversation) the events are delivered as they are."""
        if (
            self.chatwoot_api is None
            or conv.source_id is None
            or conv.inbox_id != self.org.inboxes[channel].id
            or conv.assignee is not None
            or not _channel_could_open(channel, conv)
        ):
            return None
        opened: Opened = self.chatwoot_api.open_conversation(
            inbox_id=conv.inbox_id,
            name=conv.contact.name,
            phone=conv.contact.phone_number,
            source_id=conv.source_id,
        )
        if self.linked is not None:
            # Chatwoot announces the conversation itself, and delivers in no particular order:
            # wait for its announcement, so the suite's own events land after it, as the
            # channel's message would (else a late announcement resets the link's counts).
            linked = self.linked
            with contextlib.suppress(WaitTimeout):  # not announced: deliver anyway, the checks tell
                eventually(
                    lambda: linked(opened.conversation_id),
                    timeout=CHATWOOT_ANNOUNCES_S,
                    what=f"Chatwoot's own conversation_created for conversation {opened.conversation_id}",
                )
        # The suite's events describe the conversation as Chatwoot announced it: the CRM keeps
        # the first announcement of a conversation, whoever sends the next one.
        contact = replace(conv.contact, id=opened.contact_id, thumbnail=opened.thumbnail)
        return replace(
            conv, display_id=opened.conversation_id, contact=contact, unread_count=opened.unread_count
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
        """Each delivery in order, as Chatwoot would; `copies` of one released together when more
        than one (a barrier, so they really race)."""
        if copies == 1:
            return tuple(self.crm_webhook.send(d) for d in deliveries)
        answers: list[WebhookAnswer] = []
        for delivery in deliveries:
            answers.extend(self.crm_webhook.send_at_once(delivery, copies))
        return tuple(answers)

    def send_together(self, sents: Sequence[Sent]) -> tuple[Sent, ...]:
        """Several prepared conversations' first deliveries released together, then the rest in
        order: concurrent first messages. Each Sent gets its own answers."""
        firsts = [s.deliveries[0] for s in sents]
        together = self.crm_webhook.send_together(firsts)
        return tuple(
            replace(s, answers=(answer, *self._send(s.deliveries[1:])))
            for s, answer in zip(sents, together, strict=True)
        )

    def prepared(self, channel: Channel, person: Person, conv: chatwoot.Conversation, text: str) -> Sent:
        """A first message made ready but not sent (for `send_together`)."""
        message = self._message(text)
        events = (chatwoot.conversation_created(conv, message), chatwoot.message_created(conv, message))
        return Sent(person, channel, conv, message, tuple(self._prepare(e) for e in events), ())

    def _inbox_name(self, channel: Channel) -> str:
        return f"{channel.capitalize()} {self.org.name}"

    def _message(self, text: str) -> chatwoot.Message:
        mid = self.data.chatwoot_id()
        return chatwoot.Message(
            id=mid, content=text, created_at=time.time(), source_id=f"golive-{self.data.run_id}-{mid}"
        )


def _channel_could_open(channel: Channel, conv: chatwoot.Conversation) -> bool:
    """Would Meta's channel have created this contact in Chatwoot? Only for a real id: an IGSID,
    or a wa_id with the phone in E.164 (Chatwoot refuses any other phone)."""
    key = f"{channel}:{conv.source_id if channel == 'instagram' else conv.contact.phone_number}"
    try:
        parse_key(key)
    except InvalidIdentity:
        return False
    return True
