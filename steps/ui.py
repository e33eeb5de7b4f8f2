"""The CRM's web app, as the organisation's QA user sees it (screens captured as evidence)."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive.scenario import CrmClient, Organisation, Sent, UiSession, deals, ui


@given("the QA user is logged into the CRM")
def _(crm_ui: UiSession, organisation: Organisation) -> None:
    ui.log_in(crm_ui, organisation)


@when("the QA user opens the integrations settings")
def _(crm_ui: UiSession) -> None:
    ui.open_integrations(crm_ui)


@then("every inbox of the organisation is listed with its channel, active")
def _(crm_ui: UiSession, organisation: Organisation) -> None:
    ui.inboxes_shown(crm_ui, organisation)


@then("no secret is shown on the screen")
def _(crm_ui: UiSession) -> None:
    ui.no_secret_on_screen(crm_ui)


@when("the QA user opens the conversation in the inbox")
def _(crm_ui: UiSession, organisation: Organisation, sent: Sent) -> None:
    ui.open_conversation(crm_ui, sent, timeout=organisation.timeout_s)


@then("the inbox shows the conversation with the user's message")
def _(crm_ui: UiSession, sent: Sent) -> None:
    ui.conversation_shown(crm_ui, sent)


@when("the QA user opens the sales board")
def _(crm_ui: UiSession, organisation: Organisation) -> None:
    ui.open_board(crm_ui, organisation)


@then("the board shows the sales deal in the target stage")
def _(
    crm_ui: UiSession, organisation: Organisation, crm: CrmClient, customer_deals: deals.CustomerDeals
) -> None:
    ui.deal_shown_in_stage(crm_ui, organisation, crm, customer_deals)
