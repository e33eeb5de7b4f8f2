"""The agent flow's parts are found by what they do, on any naming, and the values the flow
computed are read from the run data of the node that computed them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from golive.clients.n8n import Execution
from golive.organisation import FlowRoles
from golive.scenario.flow_roles import Unreadable, find_roles, memory_key, value_of

TEMPLATE = Path(__file__).resolve().parents[2] / "fixtures" / "n8n" / "agent-v2.json"
# the template's nodes under names like the real exports'
RENAMES = {
    "Webhook": "Gatilho Chatwoot",
    "AI Agent": "Agente de IA",
    "Memoria": "Memoria_Redis",
    "Mover estagio": "crm_proposta",
    "Contexto_Deal": "Restaurar_Dados_Contato",
    "Responder no Chatwoot": "Enviar_Resposta_Chatwoot",
    "Buscar contato": "Encontrar_Cliente_CRM",
}
IGSID = "17841400000000031"


def renamed_template() -> dict[str, Any]:
    text = TEMPLATE.read_text(encoding="utf-8")
    for old, new in RENAMES.items():
        text = text.replace(f'"{old}"', f'"{new}"').replace(f"$('{old}')", f"$('{new}')")
    workflow: dict[str, Any] = json.loads(text)
    return workflow


def main_run(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"executionIndex": index, "executionStatus": "success", "data": {"main": [[{"json": item}]]}}]


def execution(workflow: dict[str, Any], context: dict[str, Any] | None = None) -> Execution:
    context = context or {"deal_id": "d-1", "contact_id": "c-1", "session_key": f"instagram:{IGSID}"}
    run_data = {
        "Gatilho Chatwoot": main_run(0, {"body": {"event": "message_created", "id": 5}}),
        "Dados_Evento": main_run(1, {"source": "INSTAGRAM", "external_id": IGSID, "conversation_id": 418}),
        "Restaurar_Dados_Contato": main_run(2, context),
        "Agente de IA": main_run(3, {"output": "Oi!"}),
    }
    raw = {
        "id": "9",
        "status": "success",
        "workflowData": workflow,
        "data": {"resultData": {"runData": run_data}},
    }
    return Execution("9", "wf", "success", raw)


def test_every_part_is_found_by_what_it_does_whatever_its_name() -> None:
    roles = find_roles(execution(renamed_template()), FlowRoles(), "lagosta-agent-v2")
    assert roles.trigger == "Gatilho Chatwoot"
    assert roles.agent == "Agente de IA"
    assert roles.memory == "Memoria_Redis"
    assert roles.stage_tools == ("crm_proposta",)
    assert roles.deal == "Restaurar_Dados_Contato"  # where the tool takes deal_id from
    assert roles.contact_lookup == "Encontrar_Cliente_CRM"
    assert roles.reply == "Enviar_Resposta_Chatwoot"


def test_the_memory_key_is_the_field_its_expression_reads_in_that_nodes_output() -> None:
    run = execution(renamed_template())
    roles = find_roles(run, FlowRoles())
    assert memory_key(roles, run) == f"instagram:{IGSID}"
    other = execution(renamed_template(), {"deal_id": "d", "session_key": "instagram:conversation:418"})
    assert memory_key(find_roles(other, FlowRoles()), other) == "instagram:conversation:418"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("={{ $('Dados_Evento').item.json.external_id }}", IGSID),
        ('={{ $node["Dados_Evento"].json.conversation_id }}', 418),  # keeps its type
        ("={{ 'buffer:' + $('Dados_Evento').item.json.external_id }}", f"buffer:{IGSID}"),
        (
            "=buffer:{{ $('Dados_Evento').item.json.source.toLowerCase() }}:"
            "{{ $('Dados_Evento').item.json.external_id }}",
            f"buffer:instagram:{IGSID}",
        ),
        ("plain text", "plain text"),
    ],
)
def test_values_are_read_for_the_forms_flows_use_for_keys(expression: str, value: Any) -> None:
    run = execution(renamed_template())
    roles = find_roles(run, FlowRoles())
    assert value_of(expression, roles, "Memoria_Redis", run) == value


def test_a_value_the_run_data_cannot_tell_says_why() -> None:
    run = execution(renamed_template())
    roles = find_roles(run, FlowRoles())
    with pytest.raises(Unreadable, match="not a field reference"):
        value_of("={{ $('Dados_Evento').item.json.external_id.slice(0, 4) }}", roles, "Memoria_Redis", run)
    with pytest.raises(Unreadable, match="did not run"):
        value_of("={{ $('Buffer').item.json.list }}", roles, "Memoria_Redis", run)


def test_a_profile_may_name_the_parts_and_a_wrong_name_is_reported() -> None:
    workflow = renamed_template()
    overridden = find_roles(
        execution(workflow), FlowRoles(deal="Dados_Evento", stage_tools=("crm_proposta",))
    )
    assert overridden.deal == "Dados_Evento"
    with pytest.raises(Unreadable, match=r"the agent 'Agente'.*no such node"):
        find_roles(execution(workflow), FlowRoles(agent="Agente"))


def test_a_flow_without_an_agent_has_no_agent_parts() -> None:
    workflow = renamed_template()
    workflow["nodes"] = [n for n in workflow["nodes"] if n["name"] != "Agente de IA"]
    roles = find_roles(execution(workflow), FlowRoles())
    assert (roles.agent, roles.memory, roles.stage_tools) == (None, None, ())
    with pytest.raises(Unreadable, match="no memory"):
        memory_key(roles, execution(workflow))
