"""Flow classification: the agent rules R2–R6 apply to the inbound Chatwoot agent flow only."""

from __future__ import annotations

from typing import Any

import pytest
from n8n_lint_support import FOLLOWUP, TEMPLATE, connect, failing_rules, finding, load, node, template

from golive.n8n_lint import AGENT_FLOW, OTHER_FLOW, PASS, WORKFLOW_NODE, check_workflow, lint_paths


def classify(wf: dict[str, Any]) -> tuple[str, str]:
    report = check_workflow(wf, source="test.json")
    return report.flow, report.flow_reason


def webhook_flow_without_agent(body_field: str) -> dict[str, Any]:
    """A webhook that reads ``body.<body_field>`` and moves a deal: no agent anywhere."""
    return {
        "name": "Sync",
        "nodes": [
            {"name": "Gancho", "type": "n8n-nodes-base.webhook", "parameters": {"path": "sync"}},
            {
                "name": "Dados",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "parameters": {
                    "assignments": {
                        "assignments": [
                            {"name": "deal_id", "value": f"={{{{ $json.body.{body_field}.id }}}}"},
                        ]
                    }
                },
            },
            {
                "name": "Mover",
                "type": "n8n-nodes-base.httpRequest",
                "parameters": {
                    "method": "POST",
                    "url": "={{ $vars.CRM_BASE_URL }}/api/public/v1/deals/"
                    "{{ $('Dados').item.json.deal_id }}/move-stage",
                },
            },
        ],
        "connections": {
            "Gancho": {"main": [[{"node": "Dados", "type": "main", "index": 0}]]},
            "Dados": {"main": [[{"node": "Mover", "type": "main", "index": 0}]]},
        },
    }


def test_the_template_is_an_agent_flow_fed_by_a_chatwoot_webhook() -> None:
    kind, reason = classify(template())
    assert kind == AGENT_FLOW
    assert reason.startswith('webhook "Webhook" receives Chatwoot events, reads body.')
    assert reason.endswith('and feeds agent "AI Agent"')
    assert all(f.flow == AGENT_FLOW for f in lint_paths([TEMPLATE]))


def test_a_scheduled_follow_up_is_another_flow_checked_by_r1_only() -> None:
    report = check_workflow(load(FOLLOWUP), source=str(FOLLOWUP))
    assert report.flow == OTHER_FLOW
    assert report.flow_reason == 'no AI Agent node; triggers: scheduleTrigger "A cada hora"'
    assert not report.failed
    assert [(f.rule, f.node, f.verdict, f.flow) for f in report.findings] == [
        ("R1", "Mover para Follow-up", PASS, OTHER_FLOW)
    ]


def test_the_same_flow_with_an_agent_gets_every_rule() -> None:
    # the follow-up's stage move is fine; as an agent flow it would miss R2–R6's pieces
    wf = load(FOLLOWUP)
    wf["nodes"][0] = {"name": "Webhook", "type": "n8n-nodes-base.webhook", "parameters": {"path": "x"}}
    wf["connections"]["Webhook"] = wf["connections"].pop("A cada hora")
    wf["nodes"].append({"name": "Agente", "type": "@n8n/n8n-nodes-langchain.agent", "parameters": {}})
    connect(wf, "Mover para Follow-up", ["Agente"])
    report = check_workflow(wf, source="test.json")
    assert report.flow == AGENT_FLOW
    assert (
        "no payload field is read by name, so it is taken for a Chatwoot message flow" in report.flow_reason
    )
    assert report.broken_rules == ["R3", "R4", "R5", "R6"]
    assert {f.rule for f in report.findings} == {"R1", "R2", "R3", "R4", "R5", "R6"}


def test_a_webhook_flow_without_an_agent_that_moves_by_deal_id_passes() -> None:
    wf = webhook_flow_without_agent("deal")
    kind, reason = classify(wf)
    assert kind == OTHER_FLOW
    assert reason == 'no AI Agent node; triggers: webhook "Gancho" (reads body.deal)'
    findings = check_workflow(wf, source="t.json").findings
    assert [(f.rule, f.node, f.verdict) for f in findings] == [("R1", "Mover", PASS)]


def test_a_flow_without_an_agent_that_moves_by_identity_still_fails_r1() -> None:
    wf = webhook_flow_without_agent("deal")
    mover = node(wf, "Mover")["parameters"]
    mover["url"] = "={{ $vars.CRM_BASE_URL }}/api/public/v1/deals/move-stage-by-identity"
    mover["jsonBody"] = '={ "phone": "{{ $json.body.contact.phone }}", "board_key_or_id": "b" }'
    mover["sendBody"], mover["specifyBody"] = True, "json"
    report = check_workflow(wf, source="t.json")
    assert report.flow == OTHER_FLOW
    assert report.broken_rules == ["R1"]
    assert "move-stage-by-identity" in finding(list(report.findings), "R1", "Mover").message


def test_a_flow_without_an_agent_and_without_stage_moves_passes_with_one_workflow_finding() -> None:
    wf = webhook_flow_without_agent("deal")
    wf["nodes"] = wf["nodes"][:2]
    del wf["connections"]["Dados"]
    report = check_workflow(wf, source="t.json")
    (only,) = report.findings
    assert (only.rule, only.node, only.verdict, only.flow) == ("R1", WORKFLOW_NODE, PASS, OTHER_FLOW)
    assert "moves no deal stage" in only.message and "R2–R6 do not apply" in only.message
    assert "Gancho" in only.evidence


def test_an_agent_behind_a_webhook_that_receives_crm_events_is_another_flow() -> None:
    wf = webhook_flow_without_agent("deal")
    wf["nodes"].append({"name": "Resumo", "type": "@n8n/n8n-nodes-langchain.agent", "parameters": {}})
    connect(wf, "Mover", ["Resumo"])
    kind, reason = classify(wf)
    assert kind == OTHER_FLOW
    assert reason == (
        'agent "Resumo" is not fed by a webhook that receives Chatwoot events; '
        'triggers: webhook "Gancho" (reads body.deal)'
    )
    # the same shape reading a Chatwoot field is an agent flow
    node(wf, "Dados")["parameters"]["assignments"]["assignments"][0]["value"] = (
        "={{ $json.body.conversation.id }}"
    )
    assert classify(wf)[0] == AGENT_FLOW


def test_an_agent_run_by_a_schedule_is_another_flow() -> None:
    wf = load(FOLLOWUP)
    wf["nodes"].append({"name": "Agente", "type": "@n8n/n8n-nodes-langchain.agent", "parameters": {}})
    connect(wf, "Mover para Follow-up", ["Agente"])
    kind, reason = classify(wf)
    assert kind == OTHER_FLOW and reason.startswith('agent "Agente" is not fed by a webhook')


def test_a_disabled_agent_does_not_make_an_agent_flow() -> None:
    wf = template()
    node(wf, "AI Agent")["disabled"] = True
    assert classify(wf)[0] == OTHER_FLOW
    assert failing_rules(check_workflow(wf, source="t.json").findings) == set()


def test_an_automation_rule_body_is_named_in_the_reason() -> None:
    wf = template()
    wf["pinData"] = {
        "Webhook": [
            {
                "json": {
                    "body": {
                        "event": "automation_event.message_created",
                        "messages": [{"content": "oi"}],
                        "contact_inbox": {"source_id": "17841400000000031"},
                    }
                }
            }
        ]
    }
    kind, reason = classify(wf)
    assert kind == AGENT_FLOW
    assert "receives a Chatwoot automation-rule body (automation_event.message_created)" in reason
    assert "body.messages" in reason and "body.contact_inbox" in reason


def test_a_webhook_gateway_message_flow_is_an_agent_flow() -> None:
    # e.g. a WhatsApp gateway posting {from, sender, content}: still inbound messages to an agent
    wf = template()
    node(wf, "Filtrar mensagens")["parameters"]["conditions"]["conditions"] = [
        {
            "leftValue": "={{ $json.body.from }}",
            "rightValue": "@g.us",
            "operator": {"operation": "notContains"},
        }
    ]
    node(wf, "Identidade canonica")["parameters"]["jsCode"] = "return [{ json: { who: $json.body.sender } }];"
    kind, reason = classify(wf)
    assert kind == AGENT_FLOW
    assert "receives inbound messages (not Chatwoot-shaped)" in reason


@pytest.mark.parametrize("agent_type", ["@n8n/n8n-nodes-langchain.agent", "n8n-nodes-langchain.agent"])
def test_the_main_agent_is_the_one_with_tools_and_memory(agent_type: str) -> None:
    wf = template()
    node(wf, "AI Agent")["type"] = agent_type
    wf["nodes"].append({"name": "Analise Imagem", "type": agent_type, "parameters": {}})
    connect(wf, "Buffer", ["Analise Imagem", "AI Agent"])
    assert classify(wf)[1].endswith('feeds agent "AI Agent"')
