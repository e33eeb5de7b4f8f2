"""The parts of an organisation's agent flow, found by what they do — not by their names.

Real exports name their nodes as they like (`Agente de IA`, `Memoria_Redis`, tools `crm_*`,
`Restaurar_Dados_Contato`…). So the parts are read from the workflow that ran (the execution's
`workflowData`) with the n8n-lint workflow model: the Webhook trigger, the AI Agent it feeds, the
memory and model wired into the agent, its stage-move tools (by route or by their own words),
the node that hands the tools `deal_id`, the CRM contact lookup, and the HTTP call that answers
the customer in Chatwoot. A profile may name any of them instead (`[n8n] agent_node` …).

A value the flow computed is read from run data through the expression that uses it: the
memory's `sessionKey` is e.g. `{{ $('Contexto_Deal').item.json.session_key }}`, so the key of
an execution is `session_key` in the output of `Contexto_Deal` (the resolved key itself is not
in n8n's run data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from golive.clients.n8n import Execution
from golive.n8n_lint.rules.stage_move import stage_move_nodes
from golive.n8n_lint.values import as_str
from golive.n8n_lint.workflow import T_WEBHOOK, Workflow
from golive.organisation import FlowRoles

_REPLY_URL_RE = re.compile(r"/conversations/.+/messages", re.S)
_CONTACTS_URL_RE = re.compile(r"/api/public/v1/contacts(?![/\w])")
_PATH = r"((?:\s*\??\.\s*[A-Za-z_$][\w$]*|\s*\[\s*(?:'[^'\n]*'|\"[^\"\n]*\"|\d+)\s*\])*)"
_NODE_REF = re.compile(
    r"^\$\(\s*(['\"])(?P<node>(?:(?!\1).)+)\1\s*\)\s*\.\s*(?:item|first\(\s*\)|last\(\s*\))\s*\.\s*json"
    + _PATH
    + r"$"
)
_LEGACY_REF = re.compile(r"^\$node\s*\[\s*(['\"])(?P<node>(?:(?!\1).)+)\1\s*\]\s*\.\s*json" + _PATH + r"$")
_INPUT_REF = re.compile(r"^\$json" + _PATH + r"$")
_SEGMENT = re.compile(r"[A-Za-z_$][\w$]*|'([^'\n]*)'|\"([^\"\n]*)\"|(\d+)")
_LITERAL = re.compile(r"^'([^'\\\n]*)'$|^\"([^\"\\\n]*)\"$")


class Unreadable(Exception):
    """A value the run data cannot tell: the message says which expression and why."""


@dataclass(frozen=True)
class Roles:
    workflow: Workflow
    trigger: str | None
    agent: str | None
    memory: str | None
    stage_tools: tuple[str, ...]
    deal: str | None  # the node whose `deal_id` the stage tools use
    contact_lookup: str | None
    reply: str | None

    def describe(self) -> str:
        return (
            f"trigger {self.trigger!r}, agent {self.agent!r}, memory {self.memory!r}, "
            f"stage tools {list(self.stage_tools)}, deal context {self.deal!r}, reply {self.reply!r}"
        )


def _named(wf: Workflow, wanted: str | None, what: str) -> str | None:
    if wanted is None:
        return None
    if wanted not in wf.nodes:
        raise Unreadable(f"the profile names {what} {wanted!r}, but the workflow that ran has no such node")
    return wanted


def find_roles(execution: Execution, overrides: FlowRoles, webhook_path: str | None = None) -> Roles:
    wf = Workflow(execution.workflow_data(), source=f"execution {execution.id}")
    trigger = _named(wf, overrides.trigger, "the trigger") or _trigger(wf, webhook_path)
    agent = _named(wf, overrides.agent, "the agent") or _agent(wf, trigger)
    memory = _named(wf, overrides.memory, "the memory") or _wired(wf, agent, "ai_memory")
    tools = tuple(_named(wf, t, "a stage tool") or t for t in overrides.stage_tools) or _stage_tools(
        wf, agent
    )
    deal = _named(wf, overrides.deal, "the deal context") or _deal_node(wf, tools, agent)
    reply = _named(wf, overrides.reply, "the reply") or _reply(wf, agent)
    return Roles(wf, trigger, agent, memory, tools, deal, _contact_lookup(wf, agent), reply)


def _trigger(wf: Workflow, path: str | None) -> str | None:
    webhooks = [n for n in wf.enabled() if wf.type_of(n) == T_WEBHOOK]
    on_path = [n for n in webhooks if path and as_str(wf.params(n).get("path")).strip("/") == path.strip("/")]
    chosen = on_path or webhooks
    return chosen[0] if chosen else None


def _agent(wf: Workflow, trigger: str | None) -> str | None:
    reachable = wf.descendants(trigger) if trigger else wf.enabled()
    agents = [n for n in reachable if wf.is_agent_node(n) and not wf.disabled(n)]
    # the conversational agent: the one with the most tools and memory wired in
    return max(agents, key=lambda a: len(wf.ai_in.get(a, []))) if agents else None


def _wired(wf: Workflow, agent: str | None, kind: str) -> str | None:
    return next((src for ctype, src in wf.ai_in.get(agent or "", []) if ctype == kind), None)


def _stage_tools(wf: Workflow, agent: str | None) -> tuple[str, ...]:
    wired = {src for ctype, src in wf.ai_in.get(agent or "", []) if ctype == "ai_tool"}
    return tuple(n for n in stage_move_nodes(wf) if n in wired)


def _deal_node(wf: Workflow, tools: tuple[str, ...], agent: str | None) -> str | None:
    """The node the stage tools take `deal_id` from; else a node before the agent setting it."""
    for tool in tools:
        for where in (wf.url(tool), *(v for _, name, v in wf.http_values(tool) if name == "deal_id")):
            for ref in wf.derive(where, tool).refs:
                node, _, fld = ref.partition(".")
                if fld == "deal_id":
                    return node
    before = wf.ancestors(agent) if agent else set(wf.enabled())
    setters = [
        n
        for n in wf.order
        if n in before and wf.is_set(n) and any(k == "deal_id" for k, _ in wf.set_fields(n))
    ]
    return setters[-1] if setters else None


def _reply(wf: Workflow, agent: str | None) -> str | None:
    after = wf.descendants(agent) if agent else wf.enabled()
    for node in after:
        posts = wf.is_http(node) and not wf.is_tool(node) and wf.method(node) == "POST"
        if posts and _REPLY_URL_RE.search(wf.url(node)):
            return node
    return None


def _contact_lookup(wf: Workflow, agent: str | None) -> str | None:
    before = wf.ancestors(agent) if agent else set(wf.enabled())
    for node in wf.order:
        if (
            node in before
            and wf.is_http(node)
            and wf.method(node) == "GET"
            and _CONTACTS_URL_RE.search(wf.url(node))
        ):
            return node
    return None


# --- values computed by the flow ------------------------------------------------------------


def _segments(path: str) -> list[str]:
    found = []
    for m in _SEGMENT.finditer(path):
        found.append(next((g for g in m.groups() if g is not None), m.group(0)))
    return found


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


_STRING_METHODS: dict[str, Callable[[str], str]] = {
    ".toLowerCase()": str.lower,
    ".toUpperCase()": str.upper,
    ".trim()": str.strip,
}


def _reference(operand: str, roles: Roles, context: str, execution: Execution) -> Any:
    text = operand.strip()
    for method, apply in _STRING_METHODS.items():
        if text.endswith(method):
            value = _reference(text[: -len(method)], roles, context, execution)
            return apply(value) if isinstance(value, str) else value
    for pattern in (_NODE_REF, _LEGACY_REF):
        m = pattern.match(text)
        if m:
            node = m.group("node")
            if not execution.ran(node):
                raise Unreadable(f"{text} reads node {node!r}, which did not run")
            return _walk(execution.main_output(node), _segments(m.group(m.re.groups)))
    m = _INPUT_REF.match(text)
    if m:  # $json: the item the node (for a sub-node: its agent) got from the node before it
        inputs = roles.workflow.inputs_of(context)
        if len(inputs) != 1:
            raise Unreadable(f"{text} in {context!r}: cannot tell which node's output it reads")
        return _walk(execution.main_output(inputs[0]), _segments(m.group(1)))
    literal = _LITERAL.match(text)
    if literal:
        return literal.group(1) if literal.group(1) is not None else literal.group(2)
    raise Unreadable(f"{text!r} is not a field reference or a string literal")


def value_of(expression: str, roles: Roles, context: str, execution: Execution) -> Any:
    """What an n8n parameter evaluated to in this execution, for the forms flows use for keys:
    `={{ $('Node').item.json.field }}`, `$json.field`, `$node["Node"].json.field`, and text or
    quoted literals joined to them (`=buffer:{{ … }}`, `{{ 'buffer:' + … }}`)."""
    if not expression.startswith("="):
        return expression
    text, parts = expression[1:], []
    pos = 0
    for m in re.finditer(r"\{\{(.*?)\}\}", text, re.S):
        parts.append(text[pos : m.start()])
        inner = m.group(1).strip()
        values = [_reference(op, roles, context, execution) for op in re.split(r"\s\+\s", inner)]
        alone = not text[: m.start()].strip() and not text[m.end() :].strip()
        if len(values) == 1 and alone:
            return values[0]  # the whole parameter is one value: keep its type
        if any(v is None for v in values):
            parts.append("null")
        else:
            parts.append("".join(str(v) for v in values))
        pos = m.end()
    parts.append(text[pos:])
    return "".join(parts)


def memory_key(roles: Roles, execution: Execution) -> Any:
    """The session key the agent's memory used in this execution."""
    if roles.memory is None:
        raise Unreadable(f"the agent has no memory wired in ({roles.describe()})")
    params = roles.workflow.params(roles.memory)
    if as_str(params.get("sessionIdType")) == "fromInput":
        return value_of("={{ $json.sessionId }}", roles, roles.agent or roles.memory, execution)
    expression = as_str(params.get("sessionKey"))
    try:
        return value_of(expression, roles, roles.memory, execution)
    except Unreadable as exc:
        raise Unreadable(f"the memory {roles.memory!r} keys by {expression!r}: {exc}") from None
