"""Reference resolution through Set (v1/v2/v3) and Code nodes, $json and $node[…]."""

from __future__ import annotations

from typing import Any

import pytest
from n8n_lint_support import connect, failing, failing_rules, finding, lint, node, template

from golive.n8n_lint import FAIL, PASS

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


CODE_GOOD = """const chave = $('Dados_Evento').item.json.session_key;
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
            "name": "Fluxo_Chave",
            "type": "n8n-nodes-base.code",
            "typeVersion": 2,
            "position": [0, 0],
        }
    )
    connect(wf, "Contexto_Deal", ["Fluxo_Chave"])
    connect(wf, "Fluxo_Chave", ["Buffer"])
    node(wf, "Memoria")["parameters"]["sessionKey"] = "={{ $('Fluxo_Chave').item.json.SessionKey }}"
    findings = lint(wf)
    memory = finding(findings, "R3", "Memoria")
    assert "Fluxo_Chave.SessionKey" in memory.evidence
    assert memory.verdict == (PASS if ok else FAIL)
    assert finding(findings, "R3", "Fluxo_Chave").verdict == (PASS if ok else FAIL)
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
