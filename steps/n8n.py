"""The organisation's agent flow in n8n: what it did with the customer's messages."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive.scenario import (
    ChatwootClient,
    Conversations,
    CrmClient,
    DataFactory,
    N8nClient,
    Organisation,
    RedisReader,
    Sent,
    SqlVerifier,
    WorkflowSwitch,
    agent_flow,
    customers,
    preactivation,
    provider_checks,
)


@then("the organisation's agent flow handles the message successfully", target_fixture="flow")
def _(n8n: N8nClient, organisation: Organisation, sent: Sent) -> agent_flow.FlowRun:
    return agent_flow.handled_run(n8n, organisation, sent)


@then("the flow resolved the contact and the deal before the agent ran")
def _(flow: agent_flow.FlowRun) -> None:
    agent_flow.resolved_before_agent(flow)


@then("the flow keyed the conversation memory by the Instagram identity")
def _(flow: agent_flow.FlowRun, redis_reader: RedisReader | None) -> None:
    agent_flow.memory_keyed_by_instagram_identity(flow, redis_reader)


@then("the flow keyed the conversation memory by the WhatsApp identity")
def _(flow: agent_flow.FlowRun, redis_reader: RedisReader | None) -> None:
    agent_flow.memory_keyed_by_whatsapp_identity(flow, redis_reader)


@then("Redis holds the customer's memory under the canonical key and nothing under the conversation id")
def _(flow: agent_flow.FlowRun, redis_reader: RedisReader | None) -> None:
    agent_flow.canonical_keys_in_redis(flow, redis_reader)


@then("the agent answered each message in the conversation it came from")
def _(
    n8n: N8nClient,
    organisation: Organisation,
    chatwoot_api: ChatwootClient,
    both: customers.TwoChannels,
) -> None:
    agent_flow.answered_in_own_conversations(n8n, organisation, chatwoot_api, both.whatsapp, both.instagram)


@when("the customer asks for the next step in the same conversation", target_fixture="next_flow")
def _(
    conversations: Conversations,
    n8n: N8nClient,
    organisation: Organisation,
    flow: agent_flow.FlowRun,
) -> agent_flow.FlowRun:
    return agent_flow.asks_for_next_step(conversations, n8n, organisation, flow)


@then("the flow moved that same deal to the agent's stage by its deal id")
def _(
    next_flow: agent_flow.FlowRun,
    flow: agent_flow.FlowRun,
    crm: CrmClient,
    organisation: Organisation,
) -> None:
    agent_flow.moved_by_deal_id(next_flow, flow, crm, organisation)


@then("the organisation's agent flow stops the message as an invalid identity")
def _(n8n: N8nClient, organisation: Organisation, sent: Sent) -> None:
    agent_flow.stopped_as_invalid(agent_flow.run_for(n8n, organisation, sent))


@then(
    "the agent flow keyed the two conversations by two distinct canonical identities",
    target_fixture="flows",
)
def _(
    n8n: N8nClient, organisation: Organisation, both: customers.TwoChannels
) -> tuple[agent_flow.FlowRun, agent_flow.FlowRun]:
    return agent_flow.separate_memories(n8n, organisation, both.whatsapp, both.instagram)


@then("neither conversation saw the other's memory")
def _(flows: tuple[agent_flow.FlowRun, agent_flow.FlowRun]) -> None:
    agent_flow.no_shared_history(*flows)


@given("the organisation's v2 workflow has been switched off")
def _(n8n_switch: WorkflowSwitch) -> None:
    n8n_switch.off()


@when("a customer's message is delivered to the organisation's n8n flow", target_fixture="sent")
def _(conversations: Conversations, data: DataFactory) -> Sent:
    return customers.first_dm_from_new_user(conversations, data)


@then("n8n answers that the flow is not registered")
def _(sent: Sent) -> None:
    preactivation.not_registered(sent)


@then("the pre-activation check finds the v2 workflow inactive")
def _(n8n: N8nClient, organisation: Organisation) -> None:
    preactivation.finds_inactive(n8n, organisation)


@then(
    "Chatwoot took the message in from Meta and delivered it to the CRM and to the agent flow",
    target_fixture="flow",
)
def _(sql: SqlVerifier, n8n: N8nClient, organisation: Organisation, sent: Sent) -> agent_flow.FlowRun:
    return provider_checks.delivered_from_meta(sql, n8n, organisation, sent)


@then("the agent's answer appears in the customer's Chatwoot conversation")
def _(chatwoot_api: ChatwootClient, organisation: Organisation, flow: agent_flow.FlowRun) -> None:
    provider_checks.answer_in_same_conversation(chatwoot_api, organisation, flow)
