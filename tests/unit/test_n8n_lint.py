"""Unit tests of the static "template v2" checker (golive.n8n_lint) and its fixtures."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from golive.n8n_lint import (
    FAIL,
    PASS,
    WORKFLOW_NODE,
    Finding,
    LintInputError,
    format_json,
    format_text,
    lint_paths,
    lint_workflow,
    run,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "n8n"
TEMPLATE = FIXTURES / "agent-v2.json"
NONCONFORMANT = FIXTURES / "nonconformant"
RULE_IDS = ("R1", "R2", "R3", "R4", "R5", "R6")

# file -> (the only rule that must fail, the nodes its failing findings must name)
VARIANTS: dict[str, tuple[str, set[str]]] = {
    "r1-move-by-identity.json": ("R1", {"Mover estagio"}),
    "r2-deal-id-from-ai.json": ("R2", {"Mover estagio"}),
    "r3-conversation-session-key.json": ("R3", {"Memoria", "Buffer"}),
    "r4-name-fallback.json": ("R4", {"Memoria"}),
    "r5-hardcoded-source.json": ("R5", {"Identidade canonica"}),
    "r6-igsid-from-identifier.json": ("R6", {"Identidade canonica"}),
}

EXPECTED_NODES = {
    "Webhook": "n8n-nodes-base.webhook",
    "Filtrar mensagens": "n8n-nodes-base.filter",
    "Identidade canonica": "n8n-nodes-base.code",
    "Identidade valida?": "n8n-nodes-base.if",
    "Registrar evento invalido": "n8n-nodes-base.noOp",
    "Buscar contato": "n8n-nodes-base.httpRequest",
    "Garantir deal": "n8n-nodes-base.httpRequest",
    "Contexto_Deal": "n8n-nodes-base.set",
    "Buffer": "n8n-nodes-base.redis",
    "AI Agent": "@n8n/n8n-nodes-langchain.agent",
    "Memoria": "@n8n/n8n-nodes-langchain.memoryRedisChat",
    "Chat Model": "@n8n/n8n-nodes-langchain.lmChatOpenAi",
    "Mover estagio": "n8n-nodes-base.httpRequestTool",
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def template() -> dict[str, Any]:
    return load(TEMPLATE)


def node(wf: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(n for n in wf["nodes"] if n["name"] == name)
    return found


def lint(wf: dict[str, Any]) -> list[Finding]:
    return lint_workflow(wf, source="test.json")


def failing(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.verdict == FAIL]


def failing_rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in failing(findings)}


def finding(findings: list[Finding], rule: str, node_name: str) -> Finding:
    matches = [f for f in findings if f.rule == rule and f.node == node_name]
    assert len(matches) == 1, f"expected one {rule} finding on {node_name!r}, got {matches}"
    return matches[0]


def connect(wf: dict[str, Any], source: str, *outputs: list[str]) -> None:
    wf["connections"][source] = {
        "main": [[{"node": t, "type": "main", "index": 0} for t in group] for group in outputs]
    }


# --------------------------------------------------------------------------------------
# the fixtures themselves
# --------------------------------------------------------------------------------------


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


def test_template_has_no_secrets_and_no_hosts() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    for n in template()["nodes"]:
        for credential in n.get("credentials", {}).values():
            assert set(credential) == {"id", "name"}


@pytest.mark.parametrize("file_name", sorted(VARIANTS))
def test_variant_is_the_template_with_only_the_broken_node_changed(file_name: str) -> None:
    variant = load(NONCONFORMANT / file_name)
    base = template()
    changed = {n["name"] for n in variant["nodes"] if n != node(base, n["name"])}
    assert changed == VARIANTS[file_name][1]
    assert variant["connections"] == base["connections"]
    assert variant["name"] != base["name"]


# --------------------------------------------------------------------------------------
# template and variants
# --------------------------------------------------------------------------------------


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
    rule, nodes = VARIANTS[file_name]
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
    r3 = finding(lint_paths([NONCONFORMANT / "r3-conversation-session-key.json"]), "R3", "Memoria")
    assert "conversation" in r3.message and "instagram:conversation:" in r3.evidence
    r4 = finding(lint_paths([NONCONFORMANT / "r4-name-fallback.json"]), "R4", "Memoria")
    assert "sender.name" in r4.message and "'unknown'" in r4.message
    r5 = finding(lint_paths([NONCONFORMANT / "r5-hardcoded-source.json"]), "R5", "Identidade canonica")
    assert "hard-coded" in r5.message and "WHATSAPP" in r5.message
    r6 = finding(lint_paths([NONCONFORMANT / "r6-igsid-from-identifier.json"]), "R6", "Identidade canonica")
    assert "sender.identifier" in r6.message and "source_id" in r6.message


# --------------------------------------------------------------------------------------
# reference resolution through Set (v1/v2/v3) and Code nodes
# --------------------------------------------------------------------------------------

GOOD_KEY = "={{ $('Identidade canonica').item.json.session_key }}"
BAD_KEY = "={{ 'instagram:conversation:' + $('Webhook').item.json.body.conversation.id }}"
DEAL_ID = "={{ $json.data.id }}"


def set_parameters(form: str, session_key: str) -> tuple[float, dict[str, Any]]:
    if form in {"v1", "v2"}:
        version = 1.0 if form == "v1" else 2.0
        return version, {
            "keepOnlySet": True,
            "values": {
                "string": [
                    {"name": "deal_id", "value": DEAL_ID},
                    {"name": "session_key", "value": session_key},
                ]
            },
            "options": {},
        }
    if form == "v3.0":
        return 3.0, {
            "fields": {
                "values": [
                    {"name": "deal_id", "stringValue": DEAL_ID},
                    {"name": "session_key", "stringValue": session_key},
                ]
            },
            "options": {},
        }
    return 3.4, {
        "assignments": {
            "assignments": [
                {"id": "a1", "name": "deal_id", "value": DEAL_ID, "type": "string"},
                {"id": "a2", "name": "session_key", "value": session_key, "type": "string"},
            ]
        },
        "options": {},
    }


@pytest.mark.parametrize("form", ["v1", "v2", "v3.0", "v3.4"])
@pytest.mark.parametrize("key, ok", [(GOOD_KEY, True), (BAD_KEY, False)])
def test_memory_key_resolves_through_set_node(form: str, key: str, ok: bool) -> None:
    wf = template()
    version, parameters = set_parameters(form, key)
    ctx = node(wf, "Contexto_Deal")
    ctx["typeVersion"] = version
    ctx["parameters"] = parameters
    findings = lint(wf)
    memory = finding(findings, "R3", "Memoria")
    # the memory node itself only says $('Contexto_Deal')…session_key: the verdict comes
    # from what that Set field resolves to
    assert "Contexto_Deal.session_key" in memory.evidence
    assert memory.verdict == (PASS if ok else FAIL)
    if ok:
        assert "Identidade canonica.session_key" in memory.evidence
        assert failing(findings) == []
    else:
        assert failing_rules(findings) == {"R3"}
    # deal_id resolves through the same Set form for R2
    assert finding(findings, "R2", "Mover estagio").verdict == PASS


CODE_GOOD = """const ident = $('Identidade canonica').item.json;
const chave = ident.session_key;
return [{ json: { SessionKey: chave } }];
"""
CODE_BAD = """const body = $('Webhook').item.json.body;
const conversationId = body.conversation.id;
const SessionKey = 'chatwoot:conversation:' + conversationId;
return [{ json: { SessionKey } }];
"""


@pytest.mark.parametrize("code, ok", [(CODE_GOOD, True), (CODE_BAD, False)])
def test_memory_key_resolves_through_code_node(code: str, ok: bool) -> None:
    wf = template()
    wf["nodes"].append(
        {
            "parameters": {"jsCode": code},
            "id": "f0000000-0000-4000-8000-000000000001",
            "name": "Fluxo_Variaveis",
            "type": "n8n-nodes-base.code",
            "typeVersion": 2,
            "position": [0, 0],
        }
    )
    connect(wf, "Contexto_Deal", ["Fluxo_Variaveis"])
    connect(wf, "Fluxo_Variaveis", ["Buffer"])
    node(wf, "Memoria")["parameters"]["sessionKey"] = "={{ $('Fluxo_Variaveis').item.json.SessionKey }}"
    findings = lint(wf)
    memory = finding(findings, "R3", "Memoria")
    assert "Fluxo_Variaveis.SessionKey" in memory.evidence
    assert memory.verdict == (PASS if ok else FAIL)
    assert finding(findings, "R3", "Fluxo_Variaveis").verdict == (PASS if ok else FAIL)
    if not ok:
        assert "conversation" in memory.message


def test_dollar_json_and_legacy_node_references_resolve() -> None:
    wf = template()
    # $json in a node right after Contexto_Deal means Contexto_Deal's output
    node(wf, "Buffer")["parameters"]["list"] = "={{ 'buffer:' + $json.session_key }}"
    node(wf, "Memoria")["parameters"]["sessionKey"] = '={{ $node["Contexto_Deal"].json.session_key }}'
    findings = lint(wf)
    assert "Contexto_Deal.session_key" in finding(findings, "R3", "Buffer").evidence
    assert "Contexto_Deal.session_key" in finding(findings, "R3", "Memoria").evidence
    assert failing(findings) == []
    # …and a bad value upstream is seen through both reference styles
    ctx = node(wf, "Contexto_Deal")["parameters"]["assignments"]["assignments"]
    next(a for a in ctx if a["name"] == "session_key")["value"] = BAD_KEY
    findings = lint(wf)
    assert finding(findings, "R3", "Buffer").verdict == FAIL
    assert finding(findings, "R3", "Memoria").verdict == FAIL


# --------------------------------------------------------------------------------------
# rule details
# --------------------------------------------------------------------------------------


def test_r1_missing_stage_move_tool_is_a_workflow_failure() -> None:
    wf = template()
    wf["nodes"] = [n for n in wf["nodes"] if n["name"] != "Mover estagio"]
    del wf["connections"]["Mover estagio"]
    findings = lint(wf)
    assert failing_rules(findings) == {"R1"}
    f = finding(findings, "R1", WORKFLOW_NODE)
    assert f.verdict == FAIL and f.type == "workflow"
    assert "no stage-move tool" in f.message


@pytest.mark.parametrize(
    "url, body, ok",
    [
        (
            "/deals/move-stage",
            '={ "deal_id": "{{ $(\'Contexto_Deal\').item.json.deal_id }}" }',
            True,
        ),
        (
            "/deals/move-stage",
            '={ "phone": "{{ $fromAI(\'phone\') }}", "to_stage_label": "x" }',
            False,
        ),
        (
            "/deals/{{ $('Contexto_Deal').item.json.deal_id }}/move-stage",
            '={ "email": "{{ $fromAI(\'email\') }}", "to_stage_label": "x" }',
            False,
        ),
    ],
)
def test_r1_bare_route_needs_deal_id_and_no_identity(url: str, body: str, ok: bool) -> None:
    wf = template()
    params = node(wf, "Mover estagio")["parameters"]
    params["url"] = "={{ $vars.CRM_BASE_URL }}/api/public/v1" + url
    params["jsonBody"] = body
    assert finding(lint(wf), "R1", "Mover estagio").verdict == (PASS if ok else FAIL)


def test_r1_keypair_body_and_hidden_route() -> None:
    wf = template()
    params = node(wf, "Mover estagio")["parameters"]
    params["specifyBody"] = "keypair"
    del params["jsonBody"]
    params["url"] = "={{ $vars.CRM_BASE_URL }}/api/public/v1/deals/move-stage"
    params["bodyParameters"] = {"parameters": [{"name": "phone", "value": "={{ $fromAI('p') }}"}]}
    f = finding(lint(wf), "R1", "Mover estagio")
    assert f.verdict == FAIL and "phone" in f.message
    # a tool whose route is hidden in an expression is still found by its description
    params["url"] = "={{ $fromAI('url', 'endpoint') }}"
    f = finding(lint(wf), "R1", "Mover estagio")
    assert f.verdict == FAIL and "not /deals/{deal_id}/move-stage" in f.message


def test_r2_without_a_node_exposing_deal_id() -> None:
    wf = template()
    ctx = node(wf, "Contexto_Deal")["parameters"]["assignments"]
    ctx["assignments"] = [a for a in ctx["assignments"] if a["name"] != "deal_id"]
    findings = lint(wf)
    assert failing_rules(findings) == {"R2"}
    assert finding(findings, "R2", WORKFLOW_NODE).verdict == FAIL
    assert finding(findings, "R2", "Mover estagio").verdict == FAIL


def test_r2_deal_id_needs_a_deal_lookup_before_it() -> None:
    wf = template()
    # skip "Garantir deal": the Set node now exposes a deal_id nobody resolved
    connect(wf, "Buscar contato", ["Contexto_Deal"])
    wf["nodes"] = [n for n in wf["nodes"] if n["name"] != "Garantir deal"]
    del wf["connections"]["Garantir deal"]
    f = finding(lint(wf), "R2", "Contexto_Deal")
    assert f.verdict == FAIL and "finds or creates the deal" in f.message


def test_r2_legacy_tool_placeholder_is_chosen_by_the_model() -> None:
    wf = template()
    tool = node(wf, "Mover estagio")
    tool["type"] = "@n8n/n8n-nodes-langchain.toolHttpRequest"
    tool["typeVersion"] = 1.1
    tool["parameters"]["url"] = "https://crm.example.invalid/api/public/v1/deals/{deal_id}/move-stage"
    tool["parameters"]["placeholderDefinitions"] = {"values": [{"name": "deal_id", "type": "string"}]}
    f = finding(lint(wf), "R2", "Mover estagio")
    assert f.verdict == FAIL and "model" in f.message


def test_r3_needs_a_memory_or_buffer_and_rejects_from_input() -> None:
    wf = template()
    node(wf, "Memoria")["parameters"] = {"sessionIdType": "fromInput"}
    f = finding(lint(wf), "R3", "Memoria")
    assert f.verdict == FAIL and "fromInput" in f.message
    wf["nodes"] = [n for n in wf["nodes"] if n["name"] not in {"Memoria", "Buffer"}]
    del wf["connections"]["Memoria"]
    connect(wf, "Contexto_Deal", ["AI Agent"])
    del wf["connections"]["Buffer"]
    findings = lint(wf)
    assert finding(findings, "R3", WORKFLOW_NODE).verdict == FAIL


@pytest.mark.parametrize(
    "key",
    [
        "={{ 'whatsapp:conversation:' + $('Webhook').item.json.body.id }}",
        "={{ `chatwoot:conversation:${$('Identidade canonica').item.json.external_id}` }}",
    ],
)
def test_r3_conversation_keys_fail(key: str) -> None:
    wf = template()
    node(wf, "Buffer")["parameters"]["list"] = key
    f = finding(lint(wf), "R3", "Buffer")
    assert f.verdict == FAIL
    assert "conversation:<id>" in f.message


def test_r3_raw_id_without_prefix_fails() -> None:
    wf = template()
    node(wf, "Buffer")["parameters"]["list"] = "={{ $('Identidade canonica').item.json.external_id }}"
    f = finding(lint(wf), "R3", "Buffer")
    assert f.verdict == FAIL and "prefix" in f.message


def test_r4_buffer_and_agent_need_an_identity_gate() -> None:
    wf = template()
    connect(wf, "Identidade canonica", ["Buscar contato"])  # bypass "Identidade valida?"
    findings = lint(wf)
    assert failing_rules(findings) == {"R4"}
    assert {f.node for f in failing(findings)} == {"Buffer", "AI Agent"}
    assert "identity gate" in finding(findings, "R4", "AI Agent").message


def test_r4_the_false_branch_of_the_gate_is_not_gated() -> None:
    wf = template()
    connect(wf, "Identidade valida?", ["Registrar evento invalido"], ["Buscar contato"])
    assert finding(lint(wf), "R4", "Buffer").verdict == FAIL


@pytest.mark.parametrize(
    "expression, what",
    [
        ("={{ $('Identidade canonica').item.json.external_id || 'ig-unknown' }}", "ig-unknown"),
        ("={{ $('Identidade canonica').item.json.external_id || $json.body.sender.id }}", "id"),
        ("={{ $('Identidade canonica').item.json.external_id + '@instagram.local' }}", "local"),
    ],
)
def test_r4_identity_fallbacks_in_a_lookup(expression: str, what: str) -> None:
    wf = template()
    query = node(wf, "Buscar contato")["parameters"]["queryParameters"]["parameters"]
    query[0]["value"] = expression
    findings = lint(wf)
    f = finding(findings, "R4", "Buscar contato")
    assert f.verdict == FAIL and what in f.message + f.evidence
    assert failing_rules(findings) == {"R4"}


IDENT_JS_SOURCE_LINE = (
    "  const source = Object.hasOwn(CHANNEL_TO_SOURCE, conv.channel)"
    " ? CHANNEL_TO_SOURCE[conv.channel] : null;\n"
)


@pytest.mark.parametrize(
    "replacement, what",
    [
        (
            "  const source = conv.channel === 'Channel::Instagram' ? 'INSTAGRAM' : 'WHATSAPP';\n",
            "default",
        ),
        ("  const source = CHANNEL_TO_SOURCE[conv.channel] || 'WHATSAPP';\n", "default"),
        (
            "  const source = body.sender?.identifier && !body.sender?.phone_number"
            " ? 'INSTAGRAM' : CHANNEL_TO_SOURCE[conv.channel];\n",
            "infers",
        ),
    ],
)
def test_r5_defaults_and_inference_fail(replacement: str, what: str) -> None:
    wf = template()
    params = node(wf, "Identidade canonica")["parameters"]
    assert IDENT_JS_SOURCE_LINE in params["jsCode"]
    params["jsCode"] = params["jsCode"].replace(IDENT_JS_SOURCE_LINE, replacement)
    f = finding(lint(wf), "R5", "Identidade canonica")
    assert f.verdict == FAIL and what in f.message


def test_r5_hard_coded_channel_parameter_fails() -> None:
    wf = template()
    query = node(wf, "Buscar contato")["parameters"]["queryParameters"]["parameters"]
    query[1]["value"] = "WHATSAPP"
    f = finding(lint(wf), "R5", "Buscar contato")
    assert f.verdict == FAIL and "hard-coded to WHATSAPP" in f.message


def test_r6_igsid_used_as_a_phone_fails() -> None:
    wf = template()
    query = node(wf, "Buscar contato")["parameters"]["queryParameters"]["parameters"]
    query.append({"name": "phone", "value": "={{ $('Webhook').item.json.body.sender.identifier }}"})
    findings = lint(wf)
    f = finding(findings, "R6", "Buscar contato")
    assert f.verdict == FAIL and "phone" in f.message


def test_r6_identifier_before_source_id_fails() -> None:
    wf = template()
    params = node(wf, "Identidade canonica")["parameters"]
    old = "conv.contact_inbox?.source_id ?? body.sender?.identifier"
    assert old in params["jsCode"]
    params["jsCode"] = params["jsCode"].replace(
        old, "body.sender?.identifier ?? conv.contact_inbox?.source_id"
    )
    f = finding(lint(wf), "R6", "Identidade canonica")
    assert f.verdict == FAIL and "prefers sender.identifier" in f.message


def test_disabled_gate_does_not_count() -> None:
    wf = template()
    node(wf, "Identidade valida?")["disabled"] = True
    assert finding(lint(wf), "R4", "AI Agent").verdict == FAIL


# --------------------------------------------------------------------------------------
# input errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{"name": "x"}, {"nodes": "no"}, {"nodes": [{"name": "a"}]}, {"nodes": [], "connections": []}],
)
def test_not_a_workflow_raises(data: dict[str, Any]) -> None:
    with pytest.raises(LintInputError, match=r"^broken\.json: "):
        lint_workflow(data, source="broken.json")


def test_lint_paths_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(LintInputError, match=r"bad\.json: invalid JSON"):
        lint_paths([bad])
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42", encoding="utf-8")
    with pytest.raises(LintInputError, match=r"scalar\.json: not an n8n workflow"):
        lint_paths([scalar])
    with pytest.raises(LintInputError, match=r"missing\.json: no such file"):
        lint_paths([tmp_path / "missing.json"])
    assert issubclass(LintInputError, ValueError)


def test_lint_paths_accepts_a_directory_and_a_list_export(tmp_path: Path) -> None:
    findings = lint_paths([NONCONFORMANT])
    assert len({f.workflow for f in findings}) == len(VARIANTS)
    export = tmp_path / "all.json"
    export.write_text(json.dumps([template(), template()]), encoding="utf-8")
    findings = lint_paths([export])
    assert len({f.workflow for f in findings}) == 2
    assert failing(findings) == []


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------


def test_format_text_puts_failures_first_and_ends_with_the_summary() -> None:
    findings = lint_paths([TEMPLATE, NONCONFORMANT / "r3-conversation-session-key.json"])
    text = format_text(findings)
    lines = text.splitlines()
    assert lines[-1] == "2 workflow(s), 1 rule(s) broken"
    assert lines[0].startswith("FAIL R3 ")
    verdict_lines = [ln for ln in lines if ln.startswith(("FAIL", "pass"))]
    first_pass = next(i for i, ln in enumerate(verdict_lines) if ln.startswith("pass"))
    assert all(ln.startswith("FAIL") for ln in verdict_lines[:first_pass])
    assert all(ln.startswith("pass") for ln in verdict_lines[first_pass:])
    assert sum(ln.startswith("FAIL") for ln in lines) == 2
    assert '"Memoria"' in text and "evidence: " in text


def test_format_text_of_a_clean_run() -> None:
    assert format_text(lint_paths([TEMPLATE])).splitlines()[-1] == ("1 workflow(s), 0 rule(s) broken")


def test_format_json_is_a_stable_list_of_finding_objects() -> None:
    findings = lint_paths([NONCONFORMANT / "r1-move-by-identity.json"])
    text = format_json(findings)
    assert text == format_json(lint_paths([NONCONFORMANT / "r1-move-by-identity.json"]))
    data = json.loads(text)
    assert isinstance(data, list) and len(data) == len(findings)
    keys = [f.name for f in fields(Finding)]
    assert keys == ["workflow", "node", "type", "rule", "verdict", "evidence", "message"]
    assert all(list(item) == keys for item in data)
    r1 = [d for d in data if d["rule"] == "R1"]
    assert r1 == [
        {
            "workflow": findings[0].workflow,
            "node": "Mover estagio",
            "type": "n8n-nodes-base.httpRequestTool",
            "rule": "R1",
            "verdict": "fail",
            "evidence": r1[0]["evidence"],
            "message": r1[0]["message"],
        }
    ]


def test_findings_never_dump_nodes_or_credentials() -> None:
    wf = template()
    secret_like = "cred-id-DO-NOT-LEAK-7f3a"
    for n in wf["nodes"]:
        for credential in n.get("credentials", {}).values():
            credential["id"] = secret_like
            credential["name"] = "Credential name DO-NOT-LEAK"
    # a very long code node must not be copied whole into a finding
    ident = node(wf, "Identidade canonica")["parameters"]
    ident["jsCode"] = "// " + "x" * 5000 + "\n" + ident["jsCode"]
    for findings in (lint(wf), lint(load(NONCONFORMANT / "r4-name-fallback.json"))):
        dumped = format_json(findings) + format_text(findings)
        assert "DO-NOT-LEAK" not in dumped
        assert '"credentials"' not in dumped and '"parameters"' not in dumped
        assert "xxxxxxxxxx" not in dumped
        for f in findings:
            assert len(f.evidence) <= 300
            assert "\n" not in f.evidence and "\n" not in f.message


# --------------------------------------------------------------------------------------
# run(): exit codes
# --------------------------------------------------------------------------------------


def test_run_exit_0_when_everything_passes() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run([TEMPLATE], as_json=False, out=out, err=err) == 0
    assert out.getvalue().rstrip().endswith("1 workflow(s), 0 rule(s) broken")
    assert err.getvalue() == ""


def test_run_exit_1_when_a_rule_fails_and_json_output() -> None:
    out = io.StringIO()
    path = NONCONFORMANT / "r5-hardcoded-source.json"
    assert run([path], as_json=True, out=out, err=io.StringIO()) == 1
    data = json.loads(out.getvalue())
    assert [d["rule"] for d in data if d["verdict"] == "fail"] == ["R5"]


def test_run_exit_2_for_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    out = io.StringIO()
    assert run([missing], as_json=False, out=out) == 2
    captured = capsys.readouterr()
    assert captured.err == f"golive n8n-lint: {missing}: no such file\n"
    assert "Traceback" not in captured.err
    assert out.getvalue() == ""


def test_run_exit_2_for_invalid_json_even_with_good_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run([TEMPLATE, bad], as_json=False, out=out, err=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"golive n8n-lint: {bad}: invalid JSON")
    # the readable file is still reported
    assert out.getvalue().rstrip().endswith("1 workflow(s), 0 rule(s) broken")


def test_run_exit_2_without_files() -> None:
    err = io.StringIO()
    assert run([], as_json=False, out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("golive n8n-lint: ")


def test_template_copy_is_not_mutated_by_linting() -> None:
    wf = template()
    before = copy.deepcopy(wf)
    lint(wf)
    assert wf == before
