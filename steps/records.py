"""Contacts and deals that automations write through the CRM public API."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, then, when

from golive.scenario import Answer, CrmClient, DataFactory, Organisation, customers, deals, records


@given("a contact the CRM knows with an email, a phone, a source and notes", target_fixture="known")
def _(crm: CrmClient, data: DataFactory) -> records.KnownContact:
    return records.known_contact_with_fields(crm, data)


@when("an automation upserts the contact with only its phone", target_fixture="upsert")
def _(crm: CrmClient, known: records.KnownContact) -> Answer:
    return records.upsert_with_phone_only(crm, known)


@then("the contact keeps every field it was not sent")
def _(crm: CrmClient, known: records.KnownContact, upsert: Answer) -> None:
    records.kept_unsent_fields(crm, known, upsert)


@when("an automation looks the customer up by phone in E.164", target_fixture="found")
def _(crm: CrmClient, customer: customers.Customer) -> list[dict[str, Any]]:
    return records.looks_up_by_phone(crm, customer)


@then("the lookup finds the customer's contact")
def _(found: list[dict[str, Any]], customer: customers.Customer) -> None:
    records.lookup_found(found, customer)


@given("a customer with two open deals in different stages of the sales board", target_fixture="two_deals")
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> records.TwoOpenDeals:
    return records.two_open_deals_on_sales_board(organisation, crm, data)


@when("an automation creates a deal for the customer on the sales board", target_fixture="created")
def _(
    organisation: Organisation, crm: CrmClient, two_deals: records.TwoOpenDeals, data: DataFactory
) -> Answer:
    return records.creates_deal(organisation, crm, two_deals, data)


@then("the CRM returns one of the customer's open deals instead of failing")
def _(created: Answer, two_deals: records.TwoOpenDeals) -> None:
    records.returned_existing(created, two_deals)


@then("the customer still has exactly those two open deals on the sales board")
def _(organisation: Organisation, crm: CrmClient, two_deals: records.TwoOpenDeals) -> None:
    records.still_two_open_deals(organisation, crm, two_deals)


@when("an automation creates a deal for a contact that does not exist", target_fixture="attempt")
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> records.Attempt:
    return records.deal_for_unknown_contact(organisation, crm, data)


@when("this organisation's key creates a deal for that organisation's contact", target_fixture="attempt")
def _(
    organisation: Organisation, crm: CrmClient, foreign_deals: deals.CustomerDeals, data: DataFactory
) -> records.Attempt:
    return records.deal_for_foreign_contact(organisation, crm, foreign_deals, data)


@then("the deal is refused as a bad request, never a server error")
def _(attempt: records.Attempt) -> None:
    records.refused(attempt)
