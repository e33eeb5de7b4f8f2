"""Deals and stage moves: what the agent and the automations do, and where deals end up."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive import actions, checks
from golive.clients.crm import Answer, CrmClient
from golive.config import Organisation
from golive.data import DataFactory


@given(
    "a customer with an open deal on the sales board and another on the follow-up board",
    target_fixture="deals",
)
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> actions.CustomerDeals:
    return actions.customer_with_deals(organisation, crm, data, follow_up=True)


@given("a WhatsApp customer with exactly one open deal on the sales board", target_fixture="deals")
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> actions.CustomerDeals:
    return actions.customer_with_deals(organisation, crm, data, follow_up=False)


@when("the agent moves the sales deal to the target stage by its deal id", target_fixture="move")
def _(organisation: Organisation, crm: CrmClient, deals: actions.CustomerDeals) -> Answer:
    return actions.move_by_deal_id(organisation, crm, deals)


@when(
    "the agent moves the sales deal to the target stage with a summary of the conversation",
    target_fixture="move",
)
def _(organisation: Organisation, crm: CrmClient, deals: actions.CustomerDeals) -> Answer:
    return actions.move_by_deal_id(organisation, crm, deals, summary=True)


@when("the agent moves the sales deal to a stage the board does not have", target_fixture="move")
def _(crm: CrmClient, deals: actions.CustomerDeals, data: DataFactory) -> Answer:
    return actions.move_to_unknown_stage(crm, deals, data)


@when(
    "an automation moves the customer's deal by phone without saying which one",
    target_fixture="move",
)
def _(organisation: Organisation, crm: CrmClient, deals: actions.CustomerDeals) -> Answer:
    return actions.move_by_phone(organisation, crm, deals, any_board=True)


@when("an automation moves that customer's deal to the target stage by phone", target_fixture="move")
def _(organisation: Organisation, crm: CrmClient, deals: actions.CustomerDeals) -> Answer:
    return actions.move_by_phone(organisation, crm, deals, any_board=False)


@then("the sales deal is in the target stage")
def _(organisation: Organisation, crm: CrmClient, deals: actions.CustomerDeals, move: Answer) -> None:
    actions.deal_in_target_stage(organisation, crm, checks.moved(move))


@then("the customer's deal is in the target stage")
def _(organisation: Organisation, crm: CrmClient, move: Answer) -> None:
    actions.deal_in_target_stage(organisation, crm, checks.moved(move))


@then("the follow-up deal has not moved")
def _(crm: CrmClient, deals: actions.CustomerDeals) -> None:
    checks.deal_not_moved(crm, deals.follow_up, "follow-up deal")


@then("the sales deal has not moved")
def _(crm: CrmClient, deals: actions.CustomerDeals) -> None:
    checks.deal_not_moved(crm, deals.sales, "sales deal")


@then("the move is refused because the stage is unknown")
def _(move: Answer) -> None:
    checks.refused(move, 422, "VALIDATION_ERROR", "the stage label does not exist on the board")


@then("the move is refused as ambiguous")
def _(move: Answer) -> None:
    checks.refused(
        move,
        409,
        "AMBIGUOUS_MATCH",
        "two open deals match the identity; known gap "
        "#2 of the real CRM is to move the most recently updated one silently",
    )


@then("the sales deal keeps that summary")
def _(crm: CrmClient, deals: actions.CustomerDeals) -> None:
    checks.summary_stored(crm, deals.sales.id, deals.summary)
