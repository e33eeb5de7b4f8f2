"""R4: keys and identities use only the external id, and a gate stops events without one."""

from __future__ import annotations

import re

from golive.n8n_lint.rules.context import NAME_TOKENS, Check
from golive.n8n_lint.rules.gates import filters_of, validated_outputs
from golive.n8n_lint.rules.session_keys import SESSION_NAMES, KeyExpr, key_derivation
from golive.n8n_lint.values import around, as_str, excerpt, line_at, norm, strings
from golive.n8n_lint.workflow import GATE_TYPES, T_REDIS, Derivation, Workflow

_IDENTITY_TOKENS = (
    "sessionkey",
    "sessionid",
    "chavesessao",
    "externalid",
    "identifier",
    "identificador",
    "identity",
    "identidade",
    "igsid",
    "instagramid",
    "phone",
    "telefone",
    "email",
    "waid",
    "whatsappid",
)

_FALLBACK_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"sender\s*\??\.\s*name\b|sender\s*\[\s*['\"]name['\"]\s*\]"),
        "falls back to the contact name (sender.name)",
    ),
    (re.compile(r"(?:\|\||\?\?|:)\s*['\"`]unknown['\"`]", re.I), "falls back to 'unknown'"),
    (re.compile(r"ig-unknown", re.I), "uses the placeholder 'ig-unknown'"),
    (re.compile(r"['\"`]Cliente['\"`]", re.I), "uses the placeholder 'Cliente'"),
    (
        re.compile(
            r"(?:\|\||\?\?)[^;,\n]{0,80}?\b(?:conversation|body|sender)\s*\??\.\s*id\b"
            r"|(?:\|\||\?\?)\s*[\w$.?]*conversation_?id\b",
            re.I,
        ),
        "falls back to a conversation/body/sender id",
    ),
    (
        re.compile(r"@(?:chat|instagram)\.local\b", re.I),
        "builds a synthetic @chat.local/@instagram.local email",
    ),
]
_ALWAYS_BAD_RE = re.compile(r"ig-unknown|@chat\.local\b|@instagram\.local\b", re.I)


def _is_identity_name(name: str) -> bool:
    if re.fullmatch(r"[A-Z0-9_]+", name) and "_" in name:
        return False  # a JS constant such as IGSID_RE, not a value
    normed = norm(name)
    if any(tok in normed for tok in NAME_TOKENS) and "identif" not in normed:
        return False
    return normed in SESSION_NAMES or any(tok in normed for tok in _IDENTITY_TOKENS)


def _identity_expressions(wf: Workflow) -> dict[str, list[tuple[str, Derivation]]]:
    out: dict[str, list[tuple[str, Derivation]]] = {}
    for name in wf.enabled():
        items: list[tuple[str, Derivation]] = []
        if wf.is_code(name):
            for key in wf.js(name).defs:
                if _is_identity_name(key):
                    derivation = wf.code_field(name, key)
                    if derivation is not None:
                        items.append((key, derivation))
        elif wf.is_set(name):
            items = [(k, wf.derive(v, name)) for k, v in wf.set_fields(name) if _is_identity_name(k)]
        elif wf.is_http(name):
            items = [(k, wf.derive(v, name)) for _, k, v in wf.http_values(name) if _is_identity_name(k)]
        if items:
            out[name] = items
    return out


def _identity_gates(wf: Workflow) -> dict[str, set[int]]:
    """Enabled Filter/If/Switch nodes with an output only valid identities reach -> those outputs."""
    gates: dict[str, set[int]] = {}
    for name in wf.enabled():
        if wf.type_of(name) in GATE_TYPES:
            outputs = validated_outputs(wf, name)
            if outputs:
                gates[name] = outputs
    return gates


def _ungated(wf: Workflow, gates: dict[str, set[int]]) -> set[str]:
    """Main-flow nodes reachable from a trigger without passing an identity gate."""
    seen: set[str] = set()
    stack = list(wf.triggers())
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for index, targets in enumerate(wf.main_out.get(current, [])):
            if index in gates.get(current, set()):
                continue  # only events with a valid external id go this way
            stack.extend(targets)
    return seen


def _message_filters(wf: Workflow, node: str, gates: dict[str, set[int]]) -> list[str]:
    """Filters before ``node`` that drop groups, assignees, hand-offs … but check no identity."""
    before = wf.ancestors(node)
    found: list[str] = []
    for name in wf.enabled():
        if name in before and wf.type_of(name) in GATE_TYPES and name not in gates:
            kinds = filters_of(wf, name)
            if kinds:
                found.append(f'"{name}" only filters {", ".join(kinds)}')
    return found


def no_identity_fallbacks(check: Check, keys: list[KeyExpr]) -> None:
    """R4: no name/'unknown'/conversation-id fallback; the buffer and the agent sit behind a gate."""
    wf = check.wf
    issues: dict[str, list[str]] = {}
    evidence: dict[str, list[str]] = {}
    checked: dict[str, list[str]] = {}

    def mark(node: str) -> None:
        issues.setdefault(node, [])
        evidence.setdefault(node, [])
        checked.setdefault(node, [])

    def scan(node: str, label: str, derivation: Derivation) -> None:
        mark(node)
        if label not in checked[node]:
            checked[node].append(label)
        text = derivation.text
        for regex, what in _FALLBACK_PATTERNS:
            m = regex.search(text)
            if m:
                issues[node].append(f"{label} {what}")
                hit = max(m.start(), m.end() - 40)
                evidence[node].append(f"{label}: {around(text, hit, m.end())}")

    for key in keys:
        if key.label != "sessionIdType":
            scan(key.node, key.label, key_derivation(wf, key))
    for node, items in _identity_expressions(wf).items():
        for label, derivation in items:
            scan(node, label, derivation)
    for node in wf.enabled():
        for text in strings(wf.params(node)):
            m = _ALWAYS_BAD_RE.search(text)
            if m:
                mark(node)
                issues[node].append(f"uses the identity placeholder {m.group(0)!r}")
                evidence[node].append(excerpt(line_at(text, m.start()), 100))
                break
    gates = _identity_gates(wf)
    ungated = _ungated(wf, gates)
    buffers = [
        n
        for n in wf.enabled()
        if wf.type_of(n) == T_REDIS and as_str(wf.params(n).get("operation")) in {"push", "set"}
    ]
    agents = [n for n in wf.enabled() if wf.is_agent(n) and not wf.is_sub_node(n)]
    gate_names = ", ".join(f'"{g}"' for g in sorted(gates)) or "none"
    gated_nodes = buffers + agents
    for node in gated_nodes:
        mark(node)
        if node in ungated:
            filters = _message_filters(wf, node, gates)
            issue = (
                "is reachable without an identity gate (a Filter/If/Switch that stops events "
                "without a valid external id) before it"
            )
            if filters:
                issue += f"; {'; '.join(filters)}, which an event without an id passes"
            issues[node].append(issue)
            evidence[node].append(f"identity gates: {gate_names}")
            evidence[node].extend(filters)
        else:
            evidence[node].append(f"gated by {gate_names}")
    if not gated_nodes and not gates:
        check.add(
            "R4",
            None,
            False,
            "no Filter/If/Switch node stops an event without a valid external id",
            "no identity gate stops events without a valid external id",
        )
    for node in [n for n in wf.order if n in issues]:
        parts = list(evidence[node])
        if checked[node] and not issues[node]:
            parts.insert(0, f"checked: {', '.join(checked[node])}")
        ev_text = " | ".join(parts)
        if issues[node]:
            check.add("R4", node, False, ev_text, "; ".join(dict.fromkeys(issues[node])))
        elif checked[node]:
            detail = "uses only the external id, with no identity fallback"
            if node in gated_nodes:
                detail += ", behind an identity gate"
            check.add("R4", node, True, ev_text, detail)
        else:
            check.add("R4", node, True, ev_text, "runs only behind an identity gate")
