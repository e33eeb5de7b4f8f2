"""What customers do: who they are, and what they write on which channel."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from golive.scenario import (
    CHANNEL_NAMES,
    Conversations,
    CrmClient,
    DataFactory,
    Organisation,
    Sent,
    SqlVerifier,
    customers,
    provider_checks,
    races,
    webhooks,
)


@given(
    "a customer the CRM already knows by a phone stored in a legacy format",
    target_fixture="customer",
)
def _(organisation: Organisation, sql: SqlVerifier) -> customers.Customer:
    return customers.known_whatsapp_customer(organisation, sql)


@given("an Instagram user with no history in the organisation", target_fixture="customer")
def _(data: DataFactory) -> customers.Customer:
    return customers.new_instagram_user(data)


@given("an Instagram user whose message arrives without a usable identifier", target_fixture="customer")
def _(data: DataFactory) -> customers.Customer:
    return customers.new_instagram_user(data, usable_identifier=False)


@given("an Instagram user who already sent a first direct message", target_fixture="sent")
def _(conversations: Conversations, data: DataFactory) -> Sent:
    return customers.already_wrote_on_instagram(conversations, data)


@given("a WhatsApp customer with no history in the organisation", target_fixture="customer")
def _(data: DataFactory) -> customers.Customer:
    return customers.new_whatsapp_customer(data)


@given("a person who writes on both WhatsApp and Instagram", target_fixture="customer")
def _(data: DataFactory) -> customers.Customer:
    return customers.person_on_both_channels(data)


@when("the customer writes on WhatsApp", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer) -> Sent:
    return customers.writes_on_whatsapp(conversations, customer)


@when("the user sends a first direct message", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer) -> Sent:
    return customers.sends_first_dm(conversations, customer)


@when(
    parsers.parse("the user's first direct message is delivered {copies:d} times at once"),
    target_fixture="sent",
)
def _(
    conversations: Conversations,
    sql: SqlVerifier,
    data: DataFactory,
    customer: customers.Customer,
    copies: int,
) -> Sent:
    return races.first_dm_copies(conversations, sql, data, customer, copies)


@when(
    "an Instagram user's first messages arrive at once, each naming another known contact by email",
    target_fixture="claim",
)
def _(conversations: Conversations, sql: SqlVerifier, crm: CrmClient, data: DataFactory) -> races.Claim:
    return races.first_dms_claiming_two_contacts(conversations, sql, crm, data)


@when("the user's next message is delivered twice", target_fixture="twice")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> webhooks.Twice:
    return webhooks.next_message_twice(conversations, sql, sent)


@when("Meta delivers the user's next message twice", target_fixture="meta_twice")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> provider_checks.MetaTwice:
    return provider_checks.meta_delivers_twice(conversations, sql, sent)


@when("the customer writes on WhatsApp from a contact without a phone number", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer) -> Sent:
    return customers.writes_on_whatsapp_without_phone(conversations, customer)


@given(
    parsers.parse('a customer whose {channel} id arrives as the placeholder "{placeholder}"'),
    target_fixture="customer",
)
def _(data: DataFactory, channel: str, placeholder: str) -> customers.Customer:
    return customers.with_placeholder_id(data, CHANNEL_NAMES[channel], placeholder)


@when(parsers.parse("the customer writes on {channel} with that id"), target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer, channel: str) -> Sent:
    return customers.writes_with_placeholder(conversations, customer, CHANNEL_NAMES[channel])


@when(
    "the user's first direct message is sent with a header naming another organisation",
    target_fixture="sent",
)
def _(conversations: Conversations, customer: customers.Customer, other_sql: SqlVerifier) -> Sent:
    return customers.first_dm_naming_organisation(conversations, customer, other_sql.organization_id)


@when("the same deliveries arrive again", target_fixture="replayed")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> webhooks.Replayed:
    return webhooks.replay(conversations, sql, sent)


@when("the user opens a new conversation", target_fixture="second")
def _(conversations: Conversations, sent: Sent) -> Sent:
    return customers.opens_new_conversation(conversations, sent)


@when("the person writes on WhatsApp and then on Instagram", target_fixture="both")
def _(conversations: Conversations, customer: customers.Customer) -> customers.TwoChannels:
    return customers.writes_on_both_channels(conversations, customer)
