"""R3: memory, buffer and session keys are ``whatsapp:<E.164>`` / ``instagram:<IGSID>``."""

from __future__ import annotations

import re
from typing import NamedTuple

from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.values import as_str, excerpt, norm, type_version
from golive.n8n_lint.workflow import T_REDIS, Derivation, Workflow

# normalised (see values.norm) names of fields that hold a session/buffer key
SESSION_NAMES = {
    "sessionkey",
    "sessionid",
    "session",
    "chavesessao",
    "chavedasessao",
    "bufferkey",
    "memorykey",
    "rediskey",
    "chatkey",
}

_CONVERSATION_KEY_RE = re.compile(r"conversation\s*['\"`]?\s*(?:\+\s*['\"`])?:", re.I)
_CONVERSATION_ID_RE = re.compile(
    r"conversation\s*\??\.\s*id\b|conversation_?id\b|chatwoot_conversation_id\b", re.I
)
_FALLBACK_BEFORE_RE = re.compile(r"(\|\||\?\?)[^;\n]{0,80}$")
_PREFIX_LITERAL_RE = re.compile(r"(?:instagram|whatsapp):", re.I)
_PREFIX_FROM_SOURCE_RE = re.compile(
    r"\bsource\b[\w$.()?]*\s*\+\s*['\"`]:|\$\{\s*[^}]*\bsource\b[^}]*\}:"
    r"|\bsource\b[\w$.()?]*\s*\}\s*:",
    re.I,
)
_EXTERNAL_ID_TOKEN_RE = re.compile(
    r"source_id|identifier|phone_number|external_?id|igsid|e164|wa_id|\bphone\b", re.I
)


class KeyExpr(NamedTuple):
    node: str
    label: str  # the parameter or field that holds the key
    raw: str  # its raw expression ("" for a Code node: see key_derivation)
    is_store: bool  # a memory or Redis buffer node, not a field that merely carries a key


def key_expressions(wf: Workflow) -> list[KeyExpr]:
    """Memory session keys, Redis list/key names, and Set/Code fields named like a session key."""
    out: list[KeyExpr] = []
    for name in wf.enabled():
        params = wf.params(name)
        if wf.is_memory(name):
            sid_type = as_str(params.get("sessionIdType"))
            if not sid_type:
                legacy = type_version(wf.nodes[name]) < 1.2
                sid_type = "customKey" if "sessionKey" in params or legacy else "fromInput"
            if sid_type == "fromInput":
                out.append(KeyExpr(name, "sessionIdType", "fromInput", True))
            else:
                out.append(KeyExpr(name, "sessionKey", as_str(params.get("sessionKey")), True))
        elif wf.type_of(name) == T_REDIS:
            operation = as_str(params.get("operation")) or "info"
            if operation in {"push", "pop"}:
                out.append(KeyExpr(name, "list", as_str(params.get("list")), True))
            elif operation in {"get", "set", "delete", "incr"}:
                out.append(KeyExpr(name, "key", as_str(params.get("key")), True))
        elif wf.is_set(name):
            out.extend(
                KeyExpr(name, key, value, False)
                for key, value in wf.set_fields(name)
                if norm(key) in SESSION_NAMES
            )
        elif wf.is_code(name):
            out.extend(
                KeyExpr(name, key, "", False) for key in wf.js(name).defs if norm(key) in SESSION_NAMES
            )
    return out


def key_derivation(wf: Workflow, key: KeyExpr) -> Derivation:
    if wf.is_code(key.node):
        return wf.code_field(key.node, key.label) or Derivation(parts=[wf.code_text(key.node)])
    return wf.derive(key.raw, key.node)


def _canonical_problem(text: str) -> str | None:
    if _CONVERSATION_KEY_RE.search(text):
        return "keys by conversation (…conversation:<id>) instead of the channel's external id"
    for m in _CONVERSATION_ID_RE.finditer(text):
        if not _FALLBACK_BEFORE_RE.search(text[: m.start()].split("\n")[-1]):
            return "builds the key from the Chatwoot conversation id"
    if not (_PREFIX_LITERAL_RE.search(text) or _PREFIX_FROM_SOURCE_RE.search(text)):
        return "uses a raw id without the whatsapp:/instagram: channel prefix"
    if not _EXTERNAL_ID_TOKEN_RE.search(text):
        return "is not built from the external id (E.164 phone / IGSID)"
    return None


def canonical_keys(check: Check, keys: list[KeyExpr]) -> None:
    """R3: every key resolves to a channel-prefixed external id, never a conversation id."""
    wf = check.wf
    if not any(key.is_store for key in keys):
        check.add(
            "R3",
            None,
            False,
            "no memory node (ai_memory) and no Redis buffer node",
            "no memory or buffer node found, so there is no canonical session/buffer key",
        )
    problems: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}
    evidence: dict[str, list[str]] = {}
    for key in keys:
        node, label, raw = key.node, key.label, key.raw
        problems.setdefault(node, [])
        labels.setdefault(node, []).append(label)
        ev = evidence.setdefault(node, [])
        if label == "sessionIdType":
            problems[node].append(
                "takes the session id from the input (sessionIdType fromInput) instead of "
                "a whatsapp:/instagram: key"
            )
            ev.append("sessionIdType = fromInput")
            continue
        if wf.is_code(node):
            ev.append(f"{label} = {excerpt(wf.js(node).defs[label][0], 120)}")
        else:
            ev.append(f"{label} {excerpt(raw, 140)}")
        if not raw.strip() and not wf.is_code(node):
            problems[node].append(f"{label} is empty")
            continue
        derivation = key_derivation(wf, key)
        if derivation.refs:
            ev[-1] += f" ⇒ {derivation.chain()}"
        problem = _canonical_problem(derivation.text)
        if problem:
            problems[node].append(f"{label} {problem}")
    for node, node_problems in problems.items():
        ev_text = " | ".join(evidence[node])
        if node_problems:
            check.add("R3", node, False, ev_text, "; ".join(dict.fromkeys(node_problems)))
        else:
            check.add(
                "R3",
                node,
                True,
                ev_text,
                f"{'/'.join(labels[node])} resolves to a canonical "
                "whatsapp:/instagram:<external id> key built from source + external id",
            )
