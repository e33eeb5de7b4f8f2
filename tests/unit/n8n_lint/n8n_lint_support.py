"""Shared paths and helpers of the golive.n8n_lint tests (fixtures, lookups, graph edits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from golive.n8n_lint import FAIL, Finding, lint_workflow

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "n8n"
TEMPLATE = FIXTURES / "agent-v2.json"
NONCONFORMANT = FIXTURES / "nonconformant"
#: a conformant flow without an agent: a scheduled follow-up that moves deals by deal_id
FOLLOWUP = FIXTURES / "followup-by-deal-id.json"
#: broken variants of the template that no lint rule covers (the sandbox's workflow faults)
FAULTS = FIXTURES / "faults"
RULE_IDS = ("R1", "R2", "R3", "R4", "R5", "R6")


class Variant(NamedTuple):
    rule: str  # the only rule the file breaks
    changed: set[str]  # the template nodes it changes
    failing: set[str]  # the nodes its failing findings name


VARIANTS: dict[str, Variant] = {
    "r1-move-by-identity.json": Variant("R1", {"Mover estagio"}, {"Mover estagio"}),
    "r2-deal-id-from-ai.json": Variant("R2", {"Mover estagio"}, {"Mover estagio"}),
    # the memory reads Contexto_Deal.session_key, now built from the conversation id
    "r3-conversation-session-key.json": Variant("R3", {"Contexto_Deal"}, {"Contexto_Deal", "Memoria"}),
    # every key derived from the Code node's session_key lacks the channel prefix
    "r3-key-without-prefix.json": Variant(
        "R3",
        {"Identidade canonica"},
        {"Identidade canonica", "Dados_Evento", "Contexto_Deal", "Buffer", "Memoria"},
    ),
    # a name stands in for a missing IGSID, so the identity gate lets the event through
    "r4-name-fallback.json": Variant(
        "R4",
        {"Identidade canonica"},
        {"Identidade canonica", "Dados_Evento", "Buscar contato", "Contexto_Deal", "Buffer", "Memoria"},
    ),
    # the gate keeps its name but only drops groups, assigned and handed-off conversations
    "r4-gate-without-identity.json": Variant("R4", {"Identidade valida?"}, {"Buffer", "AI Agent"}),
    "r5-hardcoded-source.json": Variant(
        "R5", {"Identidade canonica"}, {"Identidade canonica", "Dados_Evento"}
    ),
    "r6-igsid-from-identifier.json": Variant("R6", {"Identidade canonica"}, {"Identidade canonica"}),
    "r6-phone-falls-back-to-igsid.json": Variant("R6", {"Buscar contato"}, {"Buscar contato"}),
}


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
