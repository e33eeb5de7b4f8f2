"""Hostile input: forged or malformed deliveries, and calls with missing or foreign keys."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from golive import actions, checks, hostile
from golive.clients.crm import Answer, CrmClient
from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookAnswer, WebhookEmitter
from golive.config import Organisation
from golive.conversations import Conversations, Sent
from golive.data import DataFactory
from golive.targets import Clients


@when(parsers.parse("the user's first direct message arrives {how}"), target_fixture="sent")
def _(conversations: Conversations, customer: actions.Customer, how: str) -> Sent:
    return hostile.first_dm_signed(conversations, customer.person, how)


@then("the CRM refuses the delivery as not genuine")
def _(sent: Sent) -> None:
    checks.webhook_refused(sent.answers, 401, "invalid signature")


@then("nothing is written for that conversation")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.nothing_written(sql, sent.conversation_id)


@then("the delivery fails and nothing is written for that conversation")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.delivery_failed(sql, sent)


@when(parsers.parse("a correctly signed delivery arrives with {defect}"), target_fixture="malformed")
def _(
    conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory, defect: str
) -> hostile.Malformed:
    return hostile.send_malformed(defect, conversations, crm_webhook, data)


@then("the CRM answers with a client error, never a server error")
def _(malformed: hostile.Malformed) -> None:
    checks.client_error(malformed.answer, malformed.defect)


@when(
    "a correctly signed delivery arrives for an event the CRM does not handle",
    target_fixture="malformed",
)
def _(conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory) -> hostile.Malformed:
    return hostile.send_unhandled_event(conversations, crm_webhook, data)


@then("the CRM acknowledges the delivery without processing it")
def _(malformed: hostile.Malformed) -> None:
    checks.acknowledged_not_processed(malformed.answer)


@when("Chatwoot reports a new contact on the organisation's account", target_fixture="answer")
def _(conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory) -> WebhookAnswer:
    return hostile.send_contact_created(conversations, crm_webhook, data)


@then("the CRM ignores the event for lack of an inbox")
def _(answer: WebhookAnswer) -> None:
    checks.webhook_ignored([answer], "no_inbox_context")


@then("the CRM webhook endpoint says a signature secret is configured")
def _(crm: CrmClient) -> None:
    checks.secret_configured(crm.webhook_status())


@when("someone calls the CRM public API without an API key", target_fixture="call")
def _(crm: CrmClient) -> Answer:
    return crm.me_with_key(None)


@when("someone calls the CRM public API with a key that does not exist", target_fixture="call")
def _(crm: CrmClient, data: DataFactory) -> Answer:
    return crm.me_with_key(actions.made_up_api_key(data))


@then("the API refuses the call because the key is missing")
def _(call: Answer) -> None:
    checks.api_refused(call, 401, "AUTH_MISSING")


@then("the API refuses the call because the key is invalid")
def _(call: Answer) -> None:
    checks.api_refused(call, 401, "AUTH_INVALID")


@given("another organisation has a customer with an open deal", target_fixture="foreign_deals")
def _(other_clients: Clients, data: DataFactory) -> actions.CustomerDeals:
    return actions.customer_with_deals(other_clients.organisation, other_clients.crm, data, follow_up=False)


@when("this organisation's key is used to read and to move that deal", target_fixture="attempts")
def _(
    organisation: Organisation, crm: CrmClient, foreign_deals: actions.CustomerDeals
) -> tuple[Answer, Answer]:
    return actions.reach_into(organisation, crm, foreign_deals)


@then("neither call finds the other organisation's deal")
def _(attempts: tuple[Answer, Answer]) -> None:
    checks.not_found_for_other_org(*attempts)


@then("the other organisation's deal has not moved")
def _(other_clients: Clients, foreign_deals: actions.CustomerDeals) -> None:
    checks.deal_not_moved(other_clients.crm, foreign_deals.sales, "other organisation's deal")


@then("nothing is written for the conversation it names")
def _(sql: SqlVerifier, malformed: hostile.Malformed) -> None:
    checks.nothing_written(sql, malformed.conversation_id)
