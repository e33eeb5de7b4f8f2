"""Deals and stage moves: what the agent and the automations do, and where deals end up."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive.scenario import Answer, CrmClient, DataFactory, Deal, Organisation, deals


@given(
    "a customer with an open deal on the sales board and another on the follow-up board",
    target_fixture="customer_deals",
)
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> deals.CustomerDeals:
    return deals.customer_with_deals(organisation, crm, data, follow_up=True)


@given("a WhatsApp customer with exactly one open deal on the sales board", target_fixture="customer_deals")
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> deals.CustomerDeals:
    return deals.customer_with_deals(organisation, crm, data, follow_up=False)


@when("the agent moves the sales deal to the target stage by its deal id", target_fixture="move")
def _(organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals) -> Answer:
    return deals.move_by_deal_id(organisation, crm, customer_deals)


@when(
    "the agent moves the sales deal to the target stage with a summary of the conversation",
    target_fixture="move",
)
def _(organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals) -> Answer:
    return deals.move_by_deal_id(organisation, crm, customer_deals, summary=True)


@when("the agent moves the sales deal to a stage the board does not have", target_fixture="move")
def _(crm: CrmClient, customer_deals: deals.CustomerDeals, data: DataFactory) -> Answer:
    return deals.move_to_unknown_stage(crm, customer_deals, data)


@when(
    "an automation moves the customer's deal by phone without saying which one",
    target_fixture="move",
)
def _(organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals) -> Answer:
    return deals.move_by_phone(organisation, crm, customer_deals, any_board=True)


@when("an automation moves that customer's deal to the target stage by phone", target_fixture="move")
def _(organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals) -> Answer:
    return deals.move_by_phone(organisation, crm, customer_deals, any_board=False)


@then("the sales deal is in the target stage")
def _(organisation: Organisation, crm: CrmClient, move: Answer) -> None:
    deals.moved_to_target_stage(organisation, crm, move)


@then("the customer's deal is in the target stage")
def _(organisation: Organisation, crm: CrmClient, move: Answer) -> None:
    deals.moved_to_target_stage(organisation, crm, move)


@then("the follow-up deal has not moved")
def _(crm: CrmClient, customer_deals: deals.CustomerDeals) -> None:
    deals.deal_not_moved(crm, customer_deals.follow_up_deal, "follow-up deal")


@then("the sales deal has not moved")
def _(crm: CrmClient, customer_deals: deals.CustomerDeals) -> None:
    deals.deal_not_moved(crm, customer_deals.sales, "sales deal")


@then("the move is refused because the stage is unknown")
def _(move: Answer) -> None:
    deals.refused_unknown_stage(move)


@then("the move is refused as ambiguous")
def _(move: Answer) -> None:
    deals.refused_as_ambiguous(move)


@then("the sales deal keeps that summary")
def _(crm: CrmClient, customer_deals: deals.CustomerDeals) -> None:
    deals.summary_stored(crm, customer_deals)


@given(
    "the customer has a second open deal in another stage of the sales board", target_fixture="second_deal"
)
def _(
    organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals, data: DataFactory
) -> Deal:
    return deals.second_open_deal(organisation, crm, customer_deals, data)


@when("the agent moves the sales deal by its deal id into the second deal's stage", target_fixture="move")
def _(crm: CrmClient, customer_deals: deals.CustomerDeals, second_deal: Deal) -> Answer:
    return deals.move_into_stage_of(crm, customer_deals, second_deal)


@then("the move succeeds or is refused with a reason, never a server error")
def _(move: Answer) -> None:
    deals.answered_without_server_error(move)


@then("the second deal has not moved")
def _(crm: CrmClient, second_deal: Deal) -> None:
    deals.deal_not_moved(crm, second_deal, "customer's second deal")
