"""Who writes to the organisation, and what they write on which channel.

Each function is one business action a step performs; it returns what the next steps
need (through `target_fixture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from golive.clients.sql import SqlVerifier
from golive.organisation import Organisation
from golive.scenario.data import DataFactory, Person, required
from golive.scenario.injection import Conversations, Sent
from golive.scenario.webhooks import processed
from golive.settings import Channel

FIRST_DM = "Oi! Vocês abrem no domingo?"
FIRST_WHATSAPP = "Boa tarde, quero fazer um pedido"
FOLLOW_UP_DM = "E aceitam reserva para 6 pessoas?"


@dataclass(frozen=True)
class Customer:
    """Someone about to write; `contact_id` (and the contact's row as it was) when the CRM
    already knows them."""

    person: Person
    contact_id: str | None = None
    usable_identifier: bool = True
    before: dict[str, Any] | None = None
    placeholder: str | None = None  # an id a broken bridge sends instead of a real one

    @property
    def known_contact(self) -> str:
        return required(self.contact_id, f"the CRM contact of {self.person.name!r}")


@dataclass(frozen=True)
class TwoChannels:
    whatsapp: Sent
    instagram: Sent


# --- who ---------------------------------------------------------------------------------------


def known_whatsapp_customer(org: Organisation, sql: SqlVerifier) -> Customer:
    """The profile's legacy WhatsApp customer, who must exist exactly once in the CRM."""
    contacts = sql.contacts_with_phone(org.test_whatsapp_phone)
    if len(contacts) != 1:
        raise AssertionError(
            f"precondition: test.whatsapp_phone {org.test_whatsapp_phone} must belong to exactly "
            f"one live contact of '{org.slug}', found {len(contacts)} {contacts}"
        )
    contact = sql.contact(contacts[0]) or {}
    name = required(contact.get("name"), f"the name of contact {contacts[0]}")
    return Customer(Person(name=name, phone=org.test_whatsapp_phone), contacts[0], before=contact)


def new_whatsapp_customer(data: DataFactory) -> Customer:
    return Customer(data.whatsapp_person())


def new_instagram_user(data: DataFactory, *, usable_identifier: bool = True) -> Customer:
    return Customer(data.instagram_person(), usable_identifier=usable_identifier)


def person_on_both_channels(data: DataFactory) -> Customer:
    return Customer(data.person_on_both_channels())


def with_placeholder_id(data: DataFactory, channel: Channel, placeholder: str) -> Customer:
    person = data.instagram_person() if channel == "instagram" else data.whatsapp_person()
    return Customer(person, placeholder=placeholder)


# --- what they write ---------------------------------------------------------------------------


def writes_on_whatsapp(conversations: Conversations, customer: Customer) -> Sent:
    return conversations.first_message("whatsapp", customer.person, FIRST_WHATSAPP)


def writes_on_whatsapp_without_phone(conversations: Conversations, customer: Customer) -> Sent:
    """A WhatsApp contact whose Chatwoot record has no phone number: the wa_id is only the
    contact inbox's source_id (as Cloud API inboxes may leave it)."""
    conv = conversations.conversation("whatsapp", customer.person)
    conv = conv.with_sender_ids(source_id=customer.person.whatsapp_id.lstrip("+"), phone_number=None)
    return conversations.first_message("whatsapp", customer.person, FIRST_WHATSAPP, conversation=conv)


def writes_with_placeholder(conversations: Conversations, customer: Customer, channel: Channel) -> Sent:
    """The customer's first message with the placeholder where the channel's id belongs: the
    contact inbox's source_id (and, on WhatsApp, the contact's phone)."""
    placeholder = required(customer.placeholder, "the placeholder id")
    conv = conversations.conversation(channel, customer.person)
    conv = conv.with_sender_ids(
        source_id=placeholder, phone_number=placeholder if channel == "whatsapp" else None
    )
    text = FIRST_DM if channel == "instagram" else FIRST_WHATSAPP
    return conversations.first_message(channel, customer.person, text, conversation=conv)


def sends_first_dm(
    conversations: Conversations, customer: Customer, copies: int = 1, *, by_suite: bool = False
) -> Sent:
    conv = conversations.conversation(
        "instagram", customer.person, usable_identifier=customer.usable_identifier
    )
    return conversations.first_message(
        "instagram", customer.person, FIRST_DM, conversation=conv, copies=copies, by_suite=by_suite
    )


def first_dm_from_new_user(conversations: Conversations, data: DataFactory) -> Sent:
    """A new user's first DM, delivered by the suite to the CRM and to n8n: the scenario reads
    n8n's own answer, which only the one delivering sees."""
    return sends_first_dm(conversations, new_instagram_user(data), by_suite=True)


def already_wrote_on_instagram(conversations: Conversations, data: DataFactory) -> Sent:
    sent = sends_first_dm(conversations, new_instagram_user(data))
    processed(sent.answers)
    return sent


def opens_new_conversation(conversations: Conversations, first: Sent) -> Sent:
    return conversations.new_conversation(first, FOLLOW_UP_DM)


def writes_on_both_channels(conversations: Conversations, customer: Customer) -> TwoChannels:
    whatsapp = conversations.first_message("whatsapp", customer.person, FIRST_WHATSAPP)
    instagram = conversations.first_message("instagram", customer.person, FIRST_DM)
    return TwoChannels(whatsapp, instagram)


def writes_to_foreign_inbox(conversations: Conversations, customer: Customer, data: DataFactory) -> Sent:
    """A conversation in an inbox id no organisation configured (far above real ids)."""
    conv = conversations.conversation("instagram", customer.person, inbox_id=data.chatwoot_id())
    return conversations.first_message("instagram", customer.person, FIRST_DM, conversation=conv)


def writes_to_both_tenants(
    conversations: Conversations, other: Conversations, customer: Customer
) -> tuple[Sent, Sent]:
    """The same Instagram user writes to this organisation and to another on the same account:
    (here, there)."""
    if other.org.account_id != conversations.org.account_id:
        raise AssertionError(
            f"precondition: '{other.org.slug}' is on Chatwoot account {other.org.account_id}, "
            f"not {conversations.org.account_id} like '{conversations.org.slug}'"
        )
    here = conversations.first_message("instagram", customer.person, FIRST_DM)
    there = other.first_message("instagram", customer.person, FIRST_DM)
    return here, there


def first_dm_naming_organisation(conversations: Conversations, customer: Customer, org_id: str) -> Sent:
    """A genuine, signed first DM for this organisation's inbox that also carries an
    `X-Organization-Id` header naming another organisation."""
    return conversations.first_message(
        "instagram", customer.person, FIRST_DM, headers={"X-Organization-Id": org_id}
    )
