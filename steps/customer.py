"""What customers do: who they are, and what they write on which channel."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from golive import actions
from golive.clients.sql import SqlVerifier
from golive.config import Organisation
from golive.conversations import Conversations, Sent
from golive.data import DataFactory


@given(
    "a customer the CRM already knows by a phone stored in a legacy format",
    target_fixture="customer",
)
def _(organisation: Organisation, sql: SqlVerifier) -> actions.Customer:
    return actions.known_whatsapp_customer(organisation, sql)


@given("an Instagram user with no history in the organisation", target_fixture="customer")
def _(data: DataFactory) -> actions.Customer:
    return actions.new_instagram_user(data)


@given("an Instagram user whose message arrives without a usable identifier", target_fixture="customer")
def _(data: DataFactory) -> actions.Customer:
    return actions.new_instagram_user(data, usable_identifier=False)


@given("an Instagram user who already sent a first direct message", target_fixture="sent")
def _(conversations: Conversations, data: DataFactory) -> Sent:
    return actions.already_wrote_on_instagram(conversations, data)


@when("the customer writes on WhatsApp", target_fixture="sent")
def _(conversations: Conversations, customer: actions.Customer) -> Sent:
    return actions.writes_on_whatsapp(conversations, customer)


@when("the user sends a first direct message", target_fixture="sent")
def _(conversations: Conversations, customer: actions.Customer) -> Sent:
    return actions.sends_first_dm(conversations, customer)


@when(
    parsers.parse("the user's first direct message is delivered {copies:d} times at once"),
    target_fixture="sent",
)
def _(conversations: Conversations, customer: actions.Customer, copies: int) -> Sent:
    return actions.sends_first_dm(conversations, customer, copies=copies)


@when("the same deliveries arrive again", target_fixture="replayed")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> actions.Replayed:
    return actions.replay(conversations, sql, sent)


@when("the user opens a new conversation", target_fixture="second")
def _(conversations: Conversations, sent: Sent) -> Sent:
    return actions.opens_new_conversation(conversations, sent)
