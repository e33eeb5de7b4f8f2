"""What customers do: who they are, and what they write on which channel."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from golive.scenario import Conversations, DataFactory, Organisation, Sent, SqlVerifier, customers, webhooks


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
def _(conversations: Conversations, customer: customers.Customer, copies: int) -> Sent:
    return customers.sends_first_dm(conversations, customer, copies=copies)


@when("the same deliveries arrive again", target_fixture="replayed")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> webhooks.Replayed:
    return webhooks.replay(conversations, sql, sent)


@when("the user opens a new conversation", target_fixture="second")
def _(conversations: Conversations, sent: Sent) -> Sent:
    return customers.opens_new_conversation(conversations, sent)


@when("the person writes on WhatsApp and then on Instagram", target_fixture="both")
def _(conversations: Conversations, customer: customers.Customer) -> customers.TwoChannels:
    return customers.writes_on_both_channels(conversations, customer)
