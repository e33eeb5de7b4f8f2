"""T-2 pre-activation checks and template v2 conformance."""

from __future__ import annotations

from pytest_bdd import given, then

from golive.scenario import ChatwootClient, CrmClient, N8nClient, Organisation, preactivation


@given("the organisation's exported n8n workflows", target_fixture="workflows")
def _(organisation: Organisation) -> list[preactivation.ExportedWorkflow]:
    return preactivation.exported_workflows(organisation)


@given("the organisation's active v2 workflow in n8n", target_fixture="workflows")
def _(n8n: N8nClient, organisation: Organisation) -> list[preactivation.ExportedWorkflow]:
    return preactivation.live_workflow(n8n, organisation)


@then("every template v2 rule holds for each of them")
def _(workflows: list[preactivation.ExportedWorkflow]) -> None:
    preactivation.template_rules_hold(workflows)


@then("the CRM API key answers for the organisation of the profile")
def _(crm: CrmClient, organisation: Organisation) -> None:
    preactivation.api_key_names_organisation(crm, organisation)


@then("the Chatwoot account has the profile's WhatsApp and Instagram inboxes with fitting channel types")
def _(chatwoot_api: ChatwootClient, organisation: Organisation) -> None:
    preactivation.inboxes_fit(chatwoot_api, organisation)


@then("a Chatwoot webhook sends conversation and message events to the CRM")
def _(chatwoot_api: ChatwootClient, organisation: Organisation) -> None:
    preactivation.crm_webhook_registered(chatwoot_api, organisation)


@then("a Chatwoot webhook sends message events to the organisation's n8n flow")
def _(chatwoot_api: ChatwootClient, organisation: Organisation) -> None:
    preactivation.n8n_webhook_registered(chatwoot_api, organisation)


@then("the sales board has the target stage and the agent's stage")
def _(crm: CrmClient, organisation: Organisation) -> None:
    preactivation.stages_exist(crm, organisation)


@then("the organisation's v2 workflow is active and carries the template tag")
def _(n8n: N8nClient, organisation: Organisation) -> None:
    preactivation.workflow_active_and_tagged(n8n, organisation)
