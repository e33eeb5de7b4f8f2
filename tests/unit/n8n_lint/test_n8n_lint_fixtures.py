"""The fixture workflows: the template's shape, and each file's verdict."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from n8n_lint_support import (
    FAULTS,
    FOLLOWUP,
    NONCONFORMANT,
    RULE_IDS,
    TEMPLATE,
    VARIANTS,
    failing,
    failing_rules,
    finding,
    lint,
    load,
    node,
    template,
)

from golive.n8n_lint import PASS, lint_paths

EXPECTED_NODES = {
    "Webhook": "n8n-nodes-base.webhook",
    "Fluxo_Variaveis": "n8n-nodes-base.set",
    "Filtrar mensagens": "n8n-nodes-base.filter",
    "Identidade canonica": "n8n-nodes-base.code",
    "Dados_Evento": "n8n-nodes-base.set",
    "Identidade valida?": "n8n-nodes-base.if",
    "Registrar evento invalido": "n8n-nodes-base.noOp",
    "Buscar contato": "n8n-nodes-base.httpRequest",
    "Contato encontrado?": "n8n-nodes-base.if",
    "Registrar contato ausente": "n8n-nodes-base.noOp",
    "Garantir deal": "n8n-nodes-base.httpRequest",
    "Contexto_Deal": "n8n-nodes-base.set",
    "Buffer": "n8n-nodes-base.redis",
    "AI Agent": "@n8n/n8n-nodes-langchain.agent",
    "Memoria": "@n8n/n8n-nodes-langchain.memoryRedisChat",
    "Chat Model": "@n8n/n8n-nodes-langchain.lmChatOpenAi",
    "Mover estagio": "n8n-nodes-base.httpRequestTool",
    "Responder no Chatwoot": "n8n-nodes-base.httpRequest",
}


def test_template_has_the_node_names_and_types_the_double_relies_on() -> None:
    wf = template()
    assert wf["name"] == "LagostaCRM Agente v2 (template)"
    assert wf["active"] is True
    for key in ("nodes", "connections", "settings", "versionId", "id", "tags", "meta", "pinData"):
        assert key in wf, key
    assert {t["name"] for t in wf["tags"]} == {"v2", "lagosta-agent"}
    assert {n["name"]: n["type"] for n in wf["nodes"]} == EXPECTED_NODES
    webhook = node(wf, "Webhook")
    assert webhook["typeVersion"] == 2.1
    assert webhook["parameters"] == {
        "httpMethod": "POST",
        "path": "lagosta-agent-v2",
        "options": {},
    }
    assert webhook["webhookId"]
    assert node(wf, "Contexto_Deal")["typeVersion"] == 3.4
    assert node(wf, "Mover estagio")["typeVersion"] == 4.2
    memory = node(wf, "Memoria")["parameters"]
    assert memory["sessionIdType"] == "customKey"
    assert memory["sessionKey"] == "={{ $('Contexto_Deal').item.json.session_key }}"
    wiring = {src: next(iter(c)) for src, c in wf["connections"].items()}
    assert wiring["Memoria"] == "ai_memory"
    assert wiring["Chat Model"] == "ai_languageModel"
    assert wiring["Mover estagio"] == "ai_tool"


def test_hosts_and_ids_live_in_a_set_node_not_in_licensed_variables() -> None:
    """n8n Variables ($vars) need a licence on a self-hosted n8n; the hosts are Set-node fields."""
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "$vars" not in text
    variables = {
        a["name"] for a in node(template(), "Fluxo_Variaveis")["parameters"]["assignments"]["assignments"]
    }
    assert {"CRM-Host", "CRM-BoardKey", "CW-Host", "CW-Account"} <= variables


def test_no_node_reads_the_code_node_output_except_through_its_successor() -> None:
    """A $('…') on a Code node's output is empty in n8n 1.123 (vm expression engine, no task
    runner): only the node right after it reads it, through $json (fixtures/n8n/README.md)."""
    wf = template()
    codes = [n["name"] for n in wf["nodes"] if n["type"] == "n8n-nodes-base.code"]
    text = json.dumps([n["parameters"] for n in wf["nodes"]])
    for name in codes:
        assert f"$('{name}')" not in text and f'$(\\"{name}\\")' not in text


def test_the_reply_goes_to_the_event_conversation_through_chatwoot() -> None:
    reply = node(template(), "Responder no Chatwoot")["parameters"]
    assert reply["method"] == "POST"
    assert reply["url"].endswith("/conversations/{{ $('Dados_Evento').item.json.conversation_id }}/messages")
    assert node(template(), "Responder no Chatwoot")["credentials"]["httpHeaderAuth"]["name"]


@pytest.mark.parametrize(
    "path",
    [TEMPLATE, FOLLOWUP, *(NONCONFORMANT / f for f in sorted(VARIANTS)), *sorted(FAULTS.glob("*.json"))],
    ids=lambda p: p.name,
)
def test_fixtures_have_no_secrets_and_no_hosts(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    for n in load(path)["nodes"]:
        for credential in n.get("credentials", {}).values():
            assert set(credential) == {"id", "name"}


def test_the_follow_up_fixture_is_a_scheduled_flow_that_moves_deals_by_deal_id() -> None:
    wf = load(FOLLOWUP)
    types = {n["name"]: n["type"] for n in wf["nodes"]}
    assert types["A cada hora"] == "n8n-nodes-base.scheduleTrigger"
    assert not any("langchain" in t or t == "n8n-nodes-base.webhook" for t in types.values())
    move = node(wf, "Mover para Follow-up")["parameters"]
    assert move["method"] == "POST"
    assert move["url"].endswith("/deals/{{ $('Deals parados').item.json.deal_id }}/move-stage")
    assert wf["active"] is False  # never takes a schedule in an n8n it is imported into
    findings = lint_paths([FOLLOWUP])
    assert failing(findings) == []
    assert [(f.rule, f.node) for f in findings] == [("R1", "Mover para Follow-up")]


@pytest.mark.parametrize("file_name", sorted(VARIANTS))
def test_variant_is_the_template_with_only_the_broken_node_changed(file_name: str) -> None:
    variant = load(NONCONFORMANT / file_name)
    base = template()
    changed = {n["name"] for n in variant["nodes"] if n != node(base, n["name"])}
    assert changed == VARIANTS[file_name].changed
    assert variant["connections"] == base["connections"]
    assert variant["name"] != base["name"]


def test_template_passes_every_rule() -> None:
    findings = lint_paths([TEMPLATE])
    assert failing(findings) == []
    assert {f.rule for f in findings} == set(RULE_IDS)
    expected_passes = [
        ("R1", "Mover estagio"),
        ("R2", "Contexto_Deal"),
        ("R2", "Mover estagio"),
        ("R3", "Memoria"),
        ("R3", "Buffer"),
        ("R3", "Contexto_Deal"),
        ("R4", "Buffer"),
        ("R4", "AI Agent"),
        ("R4", "Memoria"),
        ("R5", "Identidade canonica"),
        ("R6", "Identidade canonica"),
    ]
    for rule, node_name in expected_passes:
        assert finding(findings, rule, node_name).verdict == PASS


@pytest.mark.parametrize("file_name", sorted(VARIANTS))
def test_each_variant_fails_exactly_its_rule(file_name: str) -> None:
    rule, _, nodes = VARIANTS[file_name]
    findings = lint_paths([NONCONFORMANT / file_name])
    assert failing_rules(findings) == {rule}
    assert {f.node for f in failing(findings)} == nodes
    for f in failing(findings):
        assert f.message.startswith(f'node "{f.node}" (')
        assert f" breaks {rule}: " in f.message
        assert f.evidence


def test_r1_message_names_the_by_identity_route() -> None:
    f = finding(lint_paths([NONCONFORMANT / "r1-move-by-identity.json"]), "R1", "Mover estagio")
    assert f.message.startswith(
        'node "Mover estagio" (httpRequestTool) breaks R1: moves stages via '
        "/deals/move-stage-by-identity instead of by deal_id"
    )
    assert "phone" in f.message and "move-stage-by-identity" in f.evidence
    assert f.type == "n8n-nodes-base.httpRequestTool"


def test_specific_failure_messages() -> None:
    r2 = finding(lint_paths([NONCONFORMANT / "r2-deal-id-from-ai.json"]), "R2", "Mover estagio")
    assert "$fromAI" in r2.message and "$fromAI('deal_id'" in r2.evidence
    r3 = finding(lint_paths([NONCONFORMANT / "r3-conversation-session-key.json"]), "R3", "Contexto_Deal")
    assert "conversation" in r3.message and ":conversation:" in r3.evidence
    memory = finding(lint_paths([NONCONFORMANT / "r3-conversation-session-key.json"]), "R3", "Memoria")
    assert "Contexto_Deal.session_key" in memory.evidence
    bare = finding(lint_paths([NONCONFORMANT / "r3-key-without-prefix.json"]), "R3", "Memoria")
    assert "without the" in bare.message and "Identidade canonica.session_key" in bare.evidence
    r4 = finding(lint_paths([NONCONFORMANT / "r4-name-fallback.json"]), "R4", "Memoria")
    assert "sender.name" in r4.message and "'unknown'" in r4.message
    r5 = finding(lint_paths([NONCONFORMANT / "r5-hardcoded-source.json"]), "R5", "Identidade canonica")
    assert "hard-coded" in r5.message and "WHATSAPP" in r5.message
    r6 = finding(lint_paths([NONCONFORMANT / "r6-igsid-from-identifier.json"]), "R6", "Identidade canonica")
    assert "sender.identifier" in r6.message and "source_id" in r6.message
    chain = finding(lint_paths([NONCONFORMANT / "r6-phone-falls-back-to-igsid.json"]), "R6", "Buscar contato")
    assert "fallback chain (phone)" in chain.message and "contact_inbox?.source_id" in chain.evidence
    gate = finding(lint_paths([NONCONFORMANT / "r4-gate-without-identity.json"]), "R4", "AI Agent")
    assert "without an identity gate" in gate.message
    assert '"Identidade valida?" only filters groups, assigned conversations, hand-off labels' in gate.message


def test_template_copy_is_not_mutated_by_linting() -> None:
    wf = template()
    before = copy.deepcopy(wf)
    lint(wf)
    assert wf == before
