"""Rule details R1–R6 on edited copies of the template."""

from __future__ import annotations

from typing import Any

import pytest
from n8n_lint_support import connect, failing, failing_rules, finding, lint, node, template

from golive.n8n_lint import FAIL, PASS, WORKFLOW_NODE

# --------------------------------------------------------------------------------------
# R1
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


# --------------------------------------------------------------------------------------
# R2
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# R3
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# R4
# --------------------------------------------------------------------------------------


def test_r4_buffer_and_agent_need_an_identity_gate() -> None:
    wf = template()
    connect(wf, "Dados_Evento", ["Buscar contato"])  # bypass "Identidade valida?"
    findings = lint(wf)
    assert failing_rules(findings) == {"R4"}
    assert {f.node for f in failing(findings)} == {"Buffer", "AI Agent"}
    assert "identity gate" in finding(findings, "R4", "AI Agent").message


def test_r4_the_false_branch_of_the_gate_is_not_gated() -> None:
    wf = template()
    connect(wf, "Identidade valida?", ["Registrar evento invalido"], ["Buscar contato"])
    assert finding(lint(wf), "R4", "Buffer").verdict == FAIL


def test_disabled_gate_does_not_count() -> None:
    wf = template()
    node(wf, "Identidade valida?")["disabled"] = True
    assert finding(lint(wf), "R4", "AI Agent").verdict == FAIL


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


# --------------------------------------------------------------------------------------
# R5
# --------------------------------------------------------------------------------------


IDENT_JS_SOURCE_LINE = (
    "  let source = null;\n"
    "  if (Object.hasOwn(CHANNEL_TO_SOURCE, conv.channel)) source = CHANNEL_TO_SOURCE[conv.channel];\n"
    "  else if (conv.channel === 'Channel::Api' && SOURCES.includes(configured)) source = configured;\n"
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


# --------------------------------------------------------------------------------------
# R6
# --------------------------------------------------------------------------------------


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
    old = "conv.contact_inbox?.source_id ?? message.sender?.identifier"
    assert old in params["jsCode"]
    params["jsCode"] = params["jsCode"].replace(
        old, "message.sender?.identifier ?? conv.contact_inbox?.source_id"
    )
    f = finding(lint(wf), "R6", "Identidade canonica")
    assert f.verdict == FAIL and "prefers sender.identifier" in f.message


# --------------------------------------------------------------------------------------
# R4: what counts as an identity gate
# --------------------------------------------------------------------------------------

WEBHOOK_BODY = "$('Webhook').item.json.body"
GROUP = {
    "leftValue": f"={{{{ {WEBHOOK_BODY}.sender?.identifier ?? '' }}}}",
    "rightValue": "@g.us",
    "operator": {"type": "string", "operation": "notContains"},
}
ASSIGNEE = {
    "leftValue": f"={{{{ {WEBHOOK_BODY}.conversation?.meta?.assignee?.id ?? '' }}}}",
    "rightValue": "",
    "operator": {"type": "string", "operation": "empty", "singleValue": True},
}
HANDOFF = {
    "leftValue": f"={{{{ ({WEBHOOK_BODY}.conversation?.labels ?? []).join(',') }}}}",
    "rightValue": "atendimento-humano",
    "operator": {"type": "string", "operation": "notContains"},
}
VALID = {
    "leftValue": "={{ $json.valid }}",
    "rightValue": "",
    "operator": {"type": "boolean", "operation": "true"},
}


def set_gate(wf: dict[str, Any], conditions: list[dict[str, Any]], combinator: str = "and") -> None:
    box = node(wf, "Identidade valida?")["parameters"]["conditions"]
    box["conditions"] = conditions
    box["combinator"] = combinator


@pytest.mark.parametrize(
    "conditions, combinator, gated",
    [
        ([VALID], "and", True),
        ([GROUP, ASSIGNEE, HANDOFF, VALID], "and", True),
        ([GROUP, ASSIGNEE, HANDOFF], "and", False),
        ([GROUP, VALID], "or", False),  # a group filter OR'ed in lets any non-group event through
        ([{**VALID, "operator": {"type": "boolean", "operation": "false"}}], "and", False),
        (
            [
                {
                    "leftValue": "={{ $('Identidade canonica').item.json.external_id }}",
                    "rightValue": "",
                    "operator": {"type": "string", "operation": "notEmpty", "singleValue": True},
                }
            ],
            "and",
            True,
        ),
        (
            [
                {
                    "leftValue": "={{ $json.session_key }}",
                    "rightValue": "^(whatsapp|instagram):",
                    "operator": {"type": "string", "operation": "regex"},
                }
            ],
            "and",
            True,
        ),
        ([{**VALID, "leftValue": "={{ $json.invalid_reason }}"}], "and", False),
    ],
)
def test_r4_only_a_check_of_the_validated_id_is_an_identity_gate(
    conditions: list[dict[str, Any]], combinator: str, gated: bool
) -> None:
    wf = template()
    set_gate(wf, conditions, combinator)
    findings = lint(wf)
    assert finding(findings, "R4", "AI Agent").verdict == (PASS if gated else FAIL)
    assert failing_rules(findings) == (set() if gated else {"R4"})


def test_r4_a_group_assignee_and_hand_off_filter_is_named_in_the_failure() -> None:
    wf = template()
    set_gate(wf, [GROUP, ASSIGNEE, HANDOFF])
    f = finding(lint(wf), "R4", "Buffer")
    assert f.verdict == FAIL
    assert '"Identidade valida?" only filters groups, assigned conversations, hand-off labels' in f.message
    assert "identity gates: none" in f.evidence and '"Identidade valida?" only filters' in f.evidence


def test_r4_a_negated_validity_check_gates_the_false_branch_of_an_if() -> None:
    wf = template()
    set_gate(wf, [{**VALID, "operator": {"type": "boolean", "operation": "false"}}])
    # true branch: the invalid events; false branch: the valid ones
    connect(wf, "Identidade valida?", ["Registrar evento invalido"], ["Buscar contato"])
    findings = lint(wf)
    assert finding(findings, "R4", "AI Agent").verdict == PASS
    assert failing_rules(findings) == set()


def test_r4_an_if_v1_condition_on_the_valid_flag_is_a_gate() -> None:
    wf = template()
    gate = node(wf, "Identidade valida?")
    gate["typeVersion"] = 1
    gate["parameters"] = {"conditions": {"boolean": [{"value1": "={{ $json.valid }}", "value2": True}]}}
    gate["parameters"]["conditions"]["boolean"][0]["operation"] = "equal"
    assert finding(lint(wf), "R4", "AI Agent").verdict == PASS
    gate["parameters"]["conditions"] = {
        "string": [
            {"value1": "={{ $json.body.sender.identifier }}", "operation": "notContains", "value2": "@g.us"}
        ]
    }
    assert finding(lint(wf), "R4", "AI Agent").verdict == FAIL


def test_r4_a_switch_gates_only_the_output_of_its_validity_rule() -> None:
    wf = template()
    gate = node(wf, "Identidade valida?")
    gate["type"], gate["typeVersion"] = "n8n-nodes-base.switch", 3.2
    rule = {"conditions": {"conditions": [VALID], "combinator": "and"}}
    group_rule = {"conditions": {"conditions": [GROUP], "combinator": "and"}}
    gate["parameters"] = {"rules": {"values": [rule, group_rule]}, "options": {"fallbackOutput": "extra"}}
    connect(wf, "Identidade valida?", ["Buscar contato"], ["Registrar evento invalido"])
    assert finding(lint(wf), "R4", "AI Agent").verdict == PASS
    connect(wf, "Identidade valida?", ["Registrar evento invalido"], ["Buscar contato"])
    assert finding(lint(wf), "R4", "AI Agent").verdict == FAIL


def test_r4_an_iife_that_returns_the_assignee_is_not_an_identity_check() -> None:
    # the real exports compute the identifier inside the same IIFE, then return the assignee
    iife = (
        "={{ (() => {\n  const body = $('Webhook').item.json.body || {};\n"
        "  const identifier = body.conversation?.contact_inbox?.source_id || '';\n"
        "  if (!identifier) return '';\n  return body.conversation?.meta?.assignee?.id || '';\n})() }}"
    )
    wf = template()
    set_gate(wf, [{**ASSIGNEE, "leftValue": iife}])
    f = finding(lint(wf), "R4", "AI Agent")
    assert f.verdict == FAIL and "assigned conversations" in f.message


# --------------------------------------------------------------------------------------
# R6: the IGSID reaching a phone
# --------------------------------------------------------------------------------------

PHONE_CHAIN = (
    f"={{{{ ({WEBHOOK_BODY}.sender?.phone_number || {WEBHOOK_BODY}.conversation?.meta?.sender?.phone_number"
    f" || {WEBHOOK_BODY}.conversation?.contact_inbox?.source_id || '').toString().trim() }}}}"
)


def add_variables_node(wf: dict[str, Any], assignments: dict[str, str]) -> None:
    """A Set node "Fluxo_Variaveis" between the webhook and the filter, as the real exports have."""
    wf["nodes"].append(
        {
            "name": "Fluxo_Variaveis",
            "type": "n8n-nodes-base.set",
            "typeVersion": 3.4,
            "position": [0, 0],
            "parameters": {
                "assignments": {
                    "assignments": [
                        {"id": f"v{i}", "name": k, "value": v, "type": "string"}
                        for i, (k, v) in enumerate(assignments.items())
                    ]
                },
                "includeOtherFields": True,
                "options": {},
            },
        }
    )
    connect(wf, "Webhook", ["Fluxo_Variaveis"])
    connect(wf, "Fluxo_Variaveis", ["Filtrar mensagens"])


def add_phone_query(wf: dict[str, Any], name: str, value: str) -> None:
    query = node(wf, "Buscar contato")["parameters"]["queryParameters"]["parameters"]
    query.append({"name": name, "value": value})


def test_r6_a_phone_chain_ending_in_source_id_fails_where_it_is_built_and_where_it_is_used() -> None:
    wf = template()
    add_variables_node(wf, {"ClienteTelefone": PHONE_CHAIN})
    add_phone_query(wf, "phone", "={{ $('Fluxo_Variaveis').item.json['ClienteTelefone'] }}")
    findings = lint(wf)
    assert failing_rules(findings) == {"R6"}
    lookup = finding(findings, "R6", "Buscar contato")
    assert lookup.verdict == FAIL
    assert "an IGSID can reach the phone through a fallback chain (phone)" in lookup.message
    assert (
        "Fluxo_Variaveis.ClienteTelefone" in lookup.evidence and "contact_inbox?.source_id" in lookup.evidence
    )
    origin = finding(findings, "R6", "Fluxo_Variaveis")
    assert origin.verdict == FAIL and "(ClienteTelefone)" in origin.message


@pytest.mark.parametrize(
    "value, ok",
    [
        (PHONE_CHAIN, False),
        (PHONE_CHAIN.replace(" || ", " ?? "), False),
        (f"={{{{ {WEBHOOK_BODY}.conversation.contact_inbox.source_id }}}}", False),
        (f"={{{{ {WEBHOOK_BODY}.sender?.phone_number || {WEBHOOK_BODY}.sender?.identifier }}}}", False),
        (f"={{{{ {WEBHOOK_BODY}.sender?.phone_number || '' }}}}", True),
        (
            f"={{{{ {WEBHOOK_BODY}.conversation.channel === 'Channel::Whatsapp'"
            f" ? {WEBHOOK_BODY}.conversation.contact_inbox.source_id : null }}}}",
            True,
        ),
    ],
)
def test_r6_phone_values_in_a_lookup(value: str, ok: bool) -> None:
    wf = template()
    add_phone_query(wf, "phone", value)
    findings = lint(wf)
    if ok:  # a phone-only value is not even an R6 subject; a WhatsApp-only source_id passes
        assert failing_rules(findings) == set()
    else:
        assert finding(findings, "R6", "Buscar contato").verdict == FAIL
        assert failing_rules(findings) == {"R6"}


def test_r6_phone_fields_are_found_by_name_url_and_body() -> None:
    wf = template()
    add_variables_node(wf, {"contact_phone": PHONE_CHAIN})
    lookup = node(wf, "Buscar contato")["parameters"]
    lookup["url"] += "?phone={{ $('Fluxo_Variaveis').item.json.contact_phone }}"
    create = node(wf, "Garantir deal")["parameters"]
    create["jsonBody"] = create["jsonBody"].replace(
        '"board_key"',
        '"contact": { "phone": "{{ $(\'Fluxo_Variaveis\').item.json.contact_phone }}" },\n  "board_key"',
    )
    findings = lint(wf)
    assert {f.node for f in failing(findings)} == {"Fluxo_Variaveis", "Buscar contato", "Garantir deal"}
    assert failing_rules(findings) == {"R6"}


def test_r6_a_parameter_name_chosen_at_run_time_is_not_a_phone_field() -> None:
    # the real exports switch the lookup key between 'phone' and 'email'; the email side is R4's
    wf = template()
    add_variables_node(wf, {"ClienteTelefone": f"={{{{ {WEBHOOK_BODY}.sender?.phone_number || '' }}}}"})
    add_phone_query(
        wf,
        "={{ $('Fluxo_Variaveis').item.json.ClienteTelefone ? 'phone' : 'email' }}",
        "={{ $('Fluxo_Variaveis').item.json.ClienteTelefone"
        " || $('Identidade canonica').item.json.external_id }}",
    )
    assert failing_rules(lint(wf)) == set()
