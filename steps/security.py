"""Hostile input: forged or malformed deliveries, and calls with missing or foreign keys."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from golive.scenario import (
    Answer,
    Conversations,
    CrmClient,
    DataFactory,
    Organisation,
    Sent,
    SqlVerifier,
    WebhookAnswer,
    WebhookEmitter,
    api_access,
    customers,
    deals,
    hostile,
    signatures,
    webhooks,
)


@when(parsers.parse("the user's first direct message arrives {how}"), target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer, how: str) -> Sent:
    return hostile.first_dm_signed(conversations, customer.person, how)


@when("the user's first direct message comes signed the way Chatwoot signs it", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer) -> Sent:
    return signatures.first_dm_signed_as_chatwoot(conversations, customer.person)


@then("the CRM accepts the delivery signed the way Chatwoot signs it")
def _(sent: Sent, crm_webhook: WebhookEmitter) -> None:
    signatures.accepted_as_chatwoot_signs(sent, crm_webhook)


@then("the CRM refuses the delivery as not genuine")
def _(sent: Sent) -> None:
    webhooks.refused_as_not_genuine(sent)


@then("nothing is written for that conversation")
def _(sql: SqlVerifier, sent: Sent) -> None:
    webhooks.nothing_written(sql, sent.conversation_id)


@then("the delivery fails and nothing is written for that conversation")
def _(sql: SqlVerifier, sent: Sent) -> None:
    webhooks.delivery_failed(sql, sent)


@when(parsers.parse("a correctly signed delivery arrives with {defect}"), target_fixture="malformed")
def _(
    conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory, defect: str
) -> hostile.Malformed:
    return hostile.send_malformed(defect, conversations, crm_webhook, data)


@then("the CRM answers with a client error, never a server error")
def _(malformed: hostile.Malformed) -> None:
    webhooks.client_error(malformed.answer, malformed.defect)


@when(
    "a correctly signed delivery arrives for an event the CRM does not handle",
    target_fixture="malformed",
)
def _(conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory) -> hostile.Malformed:
    return hostile.send_unhandled_event(conversations, crm_webhook, data)


@then("the CRM acknowledges the delivery without processing it")
def _(malformed: hostile.Malformed) -> None:
    webhooks.acknowledged_not_processed(malformed.answer)


@when("Chatwoot reports a new contact on the organisation's account", target_fixture="answer")
def _(conversations: Conversations, crm_webhook: WebhookEmitter, data: DataFactory) -> WebhookAnswer:
    return hostile.send_contact_created(conversations, crm_webhook, data)


@then("the CRM ignores the event for lack of an inbox")
def _(answer: WebhookAnswer) -> None:
    webhooks.ignored_for_lack_of_inbox(answer)


@then("the CRM webhook endpoint says a signature secret is configured")
def _(crm: CrmClient) -> None:
    webhooks.secret_configured(crm.webhook_status())


@when("someone calls the CRM public API without an API key", target_fixture="call")
def _(crm: CrmClient) -> Answer:
    return api_access.call_without_key(crm)


@when("someone calls the CRM public API with a key that does not exist", target_fixture="call")
def _(crm: CrmClient, data: DataFactory) -> Answer:
    return api_access.call_with_unknown_key(crm, data)


@then("the API refuses the call because the key is missing")
def _(call: Answer) -> None:
    api_access.refused_missing_key(call)


@then("the API refuses the call because the key is invalid")
def _(call: Answer) -> None:
    api_access.refused_invalid_key(call)


@given("another organisation has a customer with an open deal", target_fixture="foreign_deals")
def _(other_organisation: Organisation, other_crm: CrmClient, data: DataFactory) -> deals.CustomerDeals:
    return deals.customer_with_deals(other_organisation, other_crm, data, follow_up=False)


@when("this organisation's key is used to read and to move that deal", target_fixture="attempts")
def _(
    organisation: Organisation, crm: CrmClient, foreign_deals: deals.CustomerDeals
) -> tuple[Answer, Answer]:
    return api_access.reach_into(organisation, crm, foreign_deals)


@then("neither call finds the other organisation's deal")
def _(attempts: tuple[Answer, Answer]) -> None:
    api_access.not_found_for_other_org(attempts)


@then("the other organisation's deal has not moved")
def _(other_crm: CrmClient, foreign_deals: deals.CustomerDeals) -> None:
    deals.deal_not_moved(other_crm, foreign_deals.sales, "other organisation's deal")


@then("nothing is written for the conversation it names")
def _(sql: SqlVerifier, malformed: hostile.Malformed) -> None:
    webhooks.nothing_written(sql, malformed.conversation_id)


@when(parsers.parse("someone sends the CRM public API {probe}"), target_fixture="api_probe")
def _(crm: CrmClient, data: DataFactory, organisation: Organisation, probe: str) -> hostile.ApiProbe:
    return hostile.call_api_with(probe, crm, data, organisation)


@then("the API refuses the call with a client error, never a server error")
def _(api_probe: hostile.ApiProbe) -> None:
    hostile.api_refused(api_probe)
