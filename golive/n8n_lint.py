"""Static "template v2" conformance check of exported n8n agent workflows.

The rules R1-R6 and where they live in an exported workflow JSON are described in
``shared/reference/n8n-and-tooling.md`` §2.  The checker never executes anything: it reads
node parameters, follows ``$('Node').item.json.X`` / ``$json.X`` references through Set
(v1/v2 ``values``, v3 ``assignments``/``fields``) and Code nodes, and judges the resulting
"derivation" text of each key, identity, source or deal id.

Public API: :class:`Finding`, :class:`LintInputError`, :func:`lint_workflow`,
:func:`lint_paths`, :func:`format_text`, :func:`format_json` and :func:`run`.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "FAIL",
    "PASS",
    "RULES",
    "WORKFLOW_NODE",
    "Finding",
    "LintInputError",
    "format_json",
    "format_text",
    "lint_paths",
    "lint_workflow",
    "run",
]

PASS = "pass"
FAIL = "fail"
#: ``Finding.node`` of a finding about the workflow as a whole (e.g. a missing piece).
WORKFLOW_NODE = "(workflow)"

RULES: dict[str, str] = {
    "R1": "stage-move tools move by deal_id",
    "R2": "deal_id is resolved at the start and propagated",
    "R3": "canonical session, buffer and memory keys",
    "R4": "no identity fallbacks, and an identity gate before the buffer and the agent",
    "R5": "source is derived from the channel",
    "R6": "the IGSID comes from contact_inbox.source_id and is never used as a phone",
}

_EVIDENCE_MAX = 300


class LintInputError(ValueError):
    """The input is not readable, not JSON, or not an n8n workflow object."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class Finding:
    """One verdict of one rule on one node (or on the workflow, see ``WORKFLOW_NODE``)."""

    workflow: str
    node: str
    type: str
    rule: str
    verdict: str  # "pass" | "fail"
    evidence: str
    message: str

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _as_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return ""


def _fold(text: str) -> str:
    """Lower-case and strip accents (``Estágio`` -> ``estagio``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _norm(name: str) -> str:
    """Normalise a field name for matching: ``Session Key`` / ``session_key`` -> ``sessionkey``."""
    return re.sub(r"[^a-z0-9]", "", _fold(name))


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _excerpt(text: str, limit: int = 160) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _strings(value: object) -> Iterator[str]:
    """Every string value (not key) nested in a parameter structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _short_type(node_type: str) -> str:
    return node_type.rsplit(".", 1)[-1] if node_type else "?"


def _type_version(node: Mapping[str, Any]) -> float:
    raw = node.get("typeVersion", 1)
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 1.0


# --------------------------------------------------------------------------------------
# A tiny JavaScript reader: masks strings/comments/regexes and finds definitions
# --------------------------------------------------------------------------------------

_IDENT = r"[A-Za-z_$][\w$]*"
_JS_KEYWORDS = frozenset(
    {
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "let",
        "new",
        "null",
        "of",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "async",
    }
)
_REGEX_AFTER_WORDS = frozenset(
    {
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "yield",
        "await",
    }
)
_CONT_END = set("+-*/%&|^!~?:=,.(<>[{")
_CONT_START = set("+-*/%&|^?:.=<>,")


def _mask_js(src: str) -> str:
    """Same-length copy of ``src`` with string/comment/regex contents blanked.

    Quote delimiters are kept; ``${ … }`` expressions inside template literals are kept.
    Newlines are kept so line-based heuristics keep working.
    """
    out = list(src)
    n = len(src)
    i = 0
    # stack of contexts: "`" = inside template text, "${" = inside a template expression,
    # "{" = a plain brace opened inside a template expression
    stack: list[str] = []

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    def regex_allowed(pos: int) -> bool:
        j = pos - 1
        while j >= 0 and out[j] in " \t\r\n":
            j -= 1
        if j < 0:
            return True
        prev = out[j]
        if prev.isalnum() or prev in "_$":
            k = j
            while k >= 0 and (out[k].isalnum() or out[k] in "_$"):
                k -= 1
            return src[k + 1 : j + 1] in _REGEX_AFTER_WORDS
        return prev not in ")]}\"'`"

    while i < n:
        c = src[i]
        if stack and stack[-1] == "`":
            if c == "\\":
                blank(i, i + 2)
                i += 2
            elif c == "`":
                stack.pop()
                i += 1
            elif c == "$" and i + 1 < n and src[i + 1] == "{":
                stack.append("${")
                i += 2
            else:
                blank(i, i + 1)
                i += 1
            continue
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = src.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif c == "/" and nxt == "*":
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif c in "'\"":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "`":
            stack.append("`")
            i += 1
        elif c == "/" and regex_allowed(i):
            j = i + 1
            in_class = False
            while j < n and src[j] != "\n":
                if src[j] == "\\":
                    j += 2
                    continue
                if src[j] == "[":
                    in_class = True
                elif src[j] == "]":
                    in_class = False
                elif src[j] == "/" and not in_class:
                    break
                j += 1
            blank(i + 1, j)
            i = j + 1
        else:
            if stack and c == "{":
                stack.append("{")
            elif stack and c == "}":
                stack.pop()
            i += 1
    return "".join(out)


def _prev_sig(masked: str, pos: int) -> str:
    j = pos - 1
    while j >= 0 and masked[j] in " \t\r\n":
        j -= 1
    return masked[j] if j >= 0 else ""


def _next_sig(masked: str, pos: int) -> str:
    j = pos
    while j < len(masked) and masked[j] in " \t\r\n":
        j += 1
    return masked[j] if j < len(masked) else ""


def _rhs_end(masked: str, start: int) -> int:
    """End (exclusive) of the expression starting at ``start`` (assignment right-hand side)."""
    depth = 0
    i = start
    n = len(masked)
    while i < n:
        c = masked[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0:
            if c in ";,":
                return i
            if c == "\n":
                prev = _prev_sig(masked[: i + 1], i)
                if masked[start:i].strip():
                    nxt = _next_sig(masked, i + 1)
                    if prev not in _CONT_END and (nxt == "" or nxt not in _CONT_START):
                        return i
        i += 1
    return n


def _matching_close(masked: str, open_pos: int) -> int:
    depth = 0
    for i in range(open_pos, len(masked)):
        if masked[i] in "([{":
            depth += 1
        elif masked[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return len(masked) - 1


_DECL_OR_ASSIGN_RE = re.compile(rf"(?<![\w$.])({_IDENT})\s*(?:\|\||&&|\?\?|\+)?=(?![=>])")
_PROP_ASSIGN_RE = re.compile(rf"\.\s*({_IDENT})\s*=(?![=>])")
_FIELD_RE = re.compile(rf"({_IDENT}|'[^'\n]*'|\"[^\"\n]*\")\s*:(?!:)")
_SHORTHAND_RE = re.compile(rf"[{{,]\s*({_IDENT})\s*(?=[,}}])")
_DESTRUCT_RE = re.compile(r"\b(?:const|let|var)\s*\{([^{}]*)\}\s*=")
_FUNCTION_RE = re.compile(rf"\bfunction\s+({_IDENT})\s*\(")
_IDENT_TOKEN_RE = re.compile(rf"(?<![\w$])({_IDENT})")


class _JsDefs:
    """Definitions (``name -> [right-hand sides]``) found in a JavaScript-ish text.

    Understands ``const/let/var x = …``, ``x = …``, ``obj.x = …``, object fields
    ``{ x: … }`` / ``{ "x": … }`` / shorthand ``{ x }``, simple destructuring and
    ``function x(…) {…}``.  It is a heuristic reader, not a parser.
    """

    def __init__(self, src: str) -> None:
        self.src = src
        self.masked = _mask_js(src)
        self.defs: dict[str, list[str]] = {}
        self._collect()

    def _add(self, name: str, rhs: str) -> None:
        rhs = rhs.strip()
        if not name or not rhs:
            return
        bucket = self.defs.setdefault(name, [])
        if rhs not in bucket:
            bucket.append(rhs)

    def _in_code(self, pos: int) -> bool:
        return not (self.masked[pos] == " " and self.src[pos] != " ")

    def _collect(self) -> None:
        src, masked = self.src, self.masked
        for m in _DECL_OR_ASSIGN_RE.finditer(masked):
            name = m.group(1)
            if name in _JS_KEYWORDS:
                continue
            end = _rhs_end(masked, m.end())
            self._add(name, src[m.end() : end])
        for m in _PROP_ASSIGN_RE.finditer(masked):
            end = _rhs_end(masked, m.end())
            self._add(m.group(1), src[m.end() : end])
        for m in _FIELD_RE.finditer(src):
            if not self._in_code(m.start()) or _prev_sig(masked, m.start()) not in "{,":
                continue
            name = m.group(1).strip("'\"")
            end = _rhs_end(masked, m.end())
            self._add(name, src[m.end() : end])
        for m in _SHORTHAND_RE.finditer(masked):
            name = m.group(1)
            if name not in _JS_KEYWORDS:
                self._add(name, name)
        for m in _DESTRUCT_RE.finditer(masked):
            end = _rhs_end(masked, m.end())
            rhs = src[m.end() : end].strip()
            for part in m.group(1).split(","):
                key = part.split(":")[0].split("=")[0].strip()
                if re.fullmatch(_IDENT, key):
                    self._add(key, f"{rhs}.{key}")
        for m in _FUNCTION_RE.finditer(masked):
            paren = masked.find("(", m.end() - 1)
            close = _matching_close(masked, paren)
            brace = masked.find("{", close)
            if brace < 0:
                continue
            end = _matching_close(masked, brace)
            self._add(m.group(1), src[m.start() : end + 1])

    @staticmethod
    def identifiers(text: str) -> list[str]:
        masked = _mask_js(text)
        found: list[str] = []
        for m in _IDENT_TOKEN_RE.finditer(masked):
            name = m.group(1)
            prev = _prev_sig(masked, m.start())
            if prev == "." or name in _JS_KEYWORDS or name in found:
                continue
            found.append(name)
        return found

    def derive(self, name: str, limit: int = 60) -> str | None:
        """The definition of ``name`` plus, transitively, the local definitions it uses."""
        if name not in self.defs:
            return None
        parts: list[str] = []
        seen = {name}
        queue = [name]
        while queue and len(parts) < limit:
            current = queue.pop(0)
            for rhs in self.defs.get(current, []):
                parts.append(f"{current} = {rhs}")
                for ident in self.identifiers(rhs):
                    if ident in self.defs and ident not in seen:
                        seen.add(ident)
                        queue.append(ident)
        return "\n".join(parts)


# --------------------------------------------------------------------------------------
# The workflow model and reference resolution
# --------------------------------------------------------------------------------------

_T_WEBHOOK = "n8n-nodes-base.webhook"
_T_SET = "n8n-nodes-base.set"
_T_REDIS = "n8n-nodes-base.redis"
_T_FILTER = "n8n-nodes-base.filter"
_T_IF = "n8n-nodes-base.if"
_T_SWITCH = "n8n-nodes-base.switch"
_T_TOOL_HTTP_LEGACY = "@n8n/n8n-nodes-langchain.toolHttpRequest"
_CODE_TYPES = {"n8n-nodes-base.code", "n8n-nodes-base.function", "n8n-nodes-base.functionItem"}
_HTTP_TYPES = {"n8n-nodes-base.httpRequest", "n8n-nodes-base.httpRequestTool", _T_TOOL_HTTP_LEGACY}
_GATE_TYPES = {_T_FILTER, _T_IF, _T_SWITCH}
_PASS_THROUGH_TYPES = _GATE_TYPES | {
    "n8n-nodes-base.noOp",
    "n8n-nodes-base.wait",
    "n8n-nodes-base.merge",
    "n8n-nodes-base.limit",
    "n8n-nodes-base.sort",
    "n8n-nodes-base.removeDuplicates",
    "n8n-nodes-base.splitInBatches",
    _T_REDIS,
}
_IGNORED_TYPES = {"n8n-nodes-base.stickyNote"}

_PATH = r"((?:\s*\??\.\s*[A-Za-z_$][\w$]*|\s*\[\s*(?:'[^'\n]*'|\"[^\"\n]*\"|\d+)\s*\])*)"
_NODE_REF_RE = re.compile(
    r"\$\(\s*(['\"`])(?P<node>(?:(?!\1).)+)\1\s*\)\s*\.\s*"
    r"(?:item|first\(\s*\)|last\(\s*\)|all\(\s*\)\s*\[\s*\d+\s*\]|itemMatching\([^)]*\)"
    r"|pairedItem\([^)]*\))\s*\.\s*json" + _PATH
)
_LEGACY_NODE_REF_RE = re.compile(r"\$node\s*\[\s*(['\"])(?P<node>(?:(?!\1).)+)\1\s*\]\s*\.\s*json" + _PATH)
_INPUT_REF_RE = re.compile(
    r"(?:\$json(?![\w$])|\$input\s*\.\s*(?:item|first\(\s*\)|last\(\s*\)|all\(\s*\)\s*\[\s*\d+\s*\])"
    r"\s*\.\s*json|(?<![\w$.])items\s*\[\s*\d+\s*\]\s*\.\s*json|(?<![\w$.])item\s*\.\s*json)" + _PATH
)
_SEGMENT_RE = re.compile(r"[A-Za-z_$][\w$]*|'([^'\n]*)'|\"([^\"\n]*)\"")


def _first_segment(path: str) -> str | None:
    for m in _SEGMENT_RE.finditer(path):
        if m.group(1) is not None:
            return m.group(1)
        if m.group(2) is not None:
            return m.group(2)
        return m.group(0)
    return None


@dataclass
class _Derivation:
    """What an expression evaluates from: its own text plus every resolved definition."""

    parts: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # "Node.field" in resolution order
    nodes: list[str] = field(default_factory=list)  # nodes reached by the resolution

    @property
    def text(self) -> str:
        return "\n".join(self.parts)

    def chain(self) -> str:
        return " ⇒ ".join(self.refs[:4]) + (" …" if len(self.refs) > 4 else "")


class _Workflow:
    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list):
            raise LintInputError(source, "not an n8n workflow (expected an object with a 'nodes' list)")
        connections = data.get("connections", {})
        if not isinstance(connections, Mapping):
            raise LintInputError(source, "not an n8n workflow ('connections' is not an object)")
        name = data.get("name")
        self.source = source
        self.name = name.strip() if isinstance(name, str) and name.strip() else source
        # what Finding.workflow holds: the name plus where it came from, because exports of
        # different versions of one workflow usually share the name
        self.label = self.name if self.name == source else f"{self.name} ({source})"
        self.nodes: dict[str, Mapping[str, Any]] = {}
        for index, node in enumerate(raw_nodes):
            if not isinstance(node, Mapping):
                raise LintInputError(source, f"node #{index} is not an object")
            node_name, node_type = node.get("name"), node.get("type")
            if not isinstance(node_name, str) or not isinstance(node_type, str):
                raise LintInputError(source, f"node #{index} has no string 'name' and 'type'")
            if node_type in _IGNORED_TYPES:
                continue
            self.nodes[node_name] = node
        self.order = list(self.nodes)
        # main graph: source -> outputs -> targets ; target -> sources
        self.main_out: dict[str, list[list[str]]] = {}
        self.main_in: dict[str, list[str]] = {}
        # ai graph: sub-node -> [(connection type, target)] ; target -> [(type, sub-node)]
        self.ai_out: dict[str, list[tuple[str, str]]] = {}
        self.ai_in: dict[str, list[tuple[str, str]]] = {}
        for src, by_type in connections.items():
            if src not in self.nodes:
                continue
            for ctype, outputs in _as_map(by_type).items():
                for index, targets in enumerate(_as_list(outputs)):
                    for target in _as_list(targets):
                        tgt = _as_map(target).get("node")
                        if not isinstance(tgt, str) or tgt not in self.nodes:
                            continue
                        if ctype == "main":
                            outs = self.main_out.setdefault(src, [])
                            while len(outs) <= index:
                                outs.append([])
                            outs[index].append(tgt)
                            self.main_in.setdefault(tgt, []).append(src)
                        else:
                            self.ai_out.setdefault(src, []).append((ctype, tgt))
                            self.ai_in.setdefault(tgt, []).append((ctype, src))
        self._js_cache: dict[str, _JsDefs] = {}

    # -- node facts -------------------------------------------------------------------

    def type_of(self, name: str) -> str:
        return _as_str(self.nodes[name].get("type"))

    def params(self, name: str) -> Mapping[str, Any]:
        return _as_map(self.nodes[name].get("parameters"))

    def disabled(self, name: str) -> bool:
        return self.nodes[name].get("disabled") is True

    def enabled(self) -> list[str]:
        return [n for n in self.order if not self.disabled(n)]

    def is_code(self, name: str) -> bool:
        return self.type_of(name) in _CODE_TYPES

    def is_set(self, name: str) -> bool:
        return self.type_of(name) == _T_SET

    def is_http(self, name: str) -> bool:
        return self.type_of(name) in _HTTP_TYPES

    def is_sub_node(self, name: str) -> bool:
        return name in self.ai_out

    def is_tool(self, name: str) -> bool:
        node_type = self.type_of(name)
        wired = any(ctype == "ai_tool" for ctype, _ in self.ai_out.get(name, []))
        return (
            wired
            or node_type in {"n8n-nodes-base.httpRequestTool", _T_TOOL_HTTP_LEGACY}
            or node_type.rsplit(".", 1)[-1].startswith("tool")
            or node_type.endswith("Tool")
        )

    def is_agent(self, name: str) -> bool:
        node_type = self.type_of(name)
        if node_type.endswith(".agent") or node_type.endswith(".agentTool"):
            return True
        return any(ctype in {"ai_tool", "ai_memory"} for ctype, _ in self.ai_in.get(name, []))

    def is_memory(self, name: str) -> bool:
        if any(ctype == "ai_memory" for ctype, _ in self.ai_out.get(name, [])):
            return True
        return "langchain.memory" in self.type_of(name)

    def code_text(self, name: str) -> str:
        params = self.params(name)
        for key in ("jsCode", "functionCode", "pythonCode", "code"):
            text = _as_str(params.get(key))
            if text:
                return text
        return ""

    def js(self, name: str) -> _JsDefs:
        if name not in self._js_cache:
            self._js_cache[name] = _JsDefs(self.code_text(name))
        return self._js_cache[name]

    def set_fields(self, name: str) -> list[tuple[str, str]]:
        """(field name, raw value) of a Set node: v3 assignments/fields, v1/v2 values, raw JSON."""
        params = self.params(name)
        out: list[tuple[str, str]] = []
        for item in _as_list(_as_map(params.get("assignments")).get("assignments")):
            entry = _as_map(item)
            out.append((_as_str(entry.get("name")), _as_str(entry.get("value"))))
        for kind_values in _as_map(params.get("values")).values():
            for item in _as_list(kind_values):
                entry = _as_map(item)
                out.append((_as_str(entry.get("name")), _as_str(entry.get("value"))))
        for item in _as_list(_as_map(params.get("fields")).get("values")):
            entry = _as_map(item)
            value = ""
            for key, raw in entry.items():
                if key.endswith("Value") or key == "value":
                    value = _as_str(raw)
                    break
            out.append((_as_str(entry.get("name")), value))
        raw_json = _as_str(params.get("jsonOutput"))
        if raw_json:
            defs = _JsDefs(raw_json)
            out.extend((key, rhs) for key, rhs_list in defs.defs.items() for rhs in rhs_list)
        return [(k, v) for k, v in out if k]

    def set_keeps_other_fields(self, name: str) -> bool:
        params = self.params(name)
        if _type_version(self.nodes[name]) < 3:
            return params.get("keepOnlySet") is not True
        return params.get("includeOtherFields") is True

    def http_values(self, name: str) -> list[tuple[str, str, str]]:
        """(where, name, raw value) of the query/body/header parameters of an HTTP node."""
        params = self.params(name)
        out: list[tuple[str, str, str]] = []
        for where, key in (
            ("query", "queryParameters"),
            ("body", "bodyParameters"),
            ("header", "headerParameters"),
        ):
            for item in _as_list(_as_map(params.get(key)).get("parameters")):
                entry = _as_map(item)
                out.append((where, _as_str(entry.get("name")), _as_str(entry.get("value"))))
        for where, key in (
            ("query", "parametersQuery"),
            ("body", "parametersBody"),
            ("header", "parametersHeaders"),
        ):
            for item in _as_list(_as_map(params.get(key)).get("values")):
                entry = _as_map(item)
                pname = _as_str(entry.get("name"))
                provider = _as_str(entry.get("valueProvider"))
                if provider in {"", "fieldValue"}:
                    out.append((where, pname, _as_str(entry.get("value"))))
                else:  # modelRequired / modelOptional: the model picks the value
                    out.append((where, pname, f"$fromAI('{pname}')"))
        for where, key in (("query", "jsonQuery"), ("body", "jsonBody"), ("header", "jsonHeaders")):
            text = _as_str(params.get(key))
            if text:
                defs = _JsDefs(text)
                out.extend((where, dname, rhs) for dname, rhs_list in defs.defs.items() for rhs in rhs_list)
        return [(w, n, v) for w, n, v in out if n]

    # -- graph --------------------------------------------------------------------------

    def roots_of(self, name: str) -> list[str]:
        """The main-flow node(s) a sub-node is attached to (itself for a main-flow node)."""
        result: list[str] = []
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            targets = [t for _, t in self.ai_out.get(current, [])]
            if not targets:
                result.append(current)
            stack.extend(targets)
        return result

    def inputs_of(self, name: str) -> list[str]:
        if self.is_sub_node(name):
            out: list[str] = []
            for root in self.roots_of(name):
                out.extend(self.main_in.get(root, []))
            return out
        return list(self.main_in.get(name, []))

    def ancestors(self, name: str) -> set[str]:
        """Main-flow nodes that run before ``name`` (for a sub-node: before its agent)."""
        seen: set[str] = set()
        stack: list[str] = []
        for root in self.roots_of(name):
            stack.extend(self.main_in.get(root, []))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.main_in.get(current, []))
        return seen

    def triggers(self) -> list[str]:
        return [
            n
            for n in self.order
            if n not in self.main_in
            and not self.is_sub_node(n)
            and (n in self.main_out or self.type_of(n) == _T_WEBHOOK or "rigger" in self.type_of(n))
        ]

    # -- reference resolution -----------------------------------------------------------

    def derive(self, text: str, ctx: str) -> _Derivation:
        derivation = _Derivation(parts=[text])
        self._expand(text, ctx, derivation, set(), 0)
        return derivation

    def _refs(self, text: str, ctx: str) -> list[tuple[str, str | None]]:
        refs: list[tuple[str, str | None]] = []
        for regex in (_NODE_REF_RE, _LEGACY_NODE_REF_RE):
            for m in regex.finditer(text):
                refs.append((m.group("node"), _first_segment(m.group(m.re.groups))))
        for m in _INPUT_REF_RE.finditer(text):
            segment = _first_segment(m.group(1))
            refs.extend((source, segment) for source in self.inputs_of(ctx))
        return refs

    def _expand(self, text: str, ctx: str, out: _Derivation, seen: set[tuple[str, str]], depth: int) -> None:
        if depth > 16 or len(out.parts) > 80:
            return
        for node, fld in self._refs(text, ctx):
            self._resolve_field(node, fld, out, seen, depth + 1)

    def _resolve_field(
        self, node: str, fld: str | None, out: _Derivation, seen: set[tuple[str, str]], depth: int
    ) -> None:
        key = (node, fld or "")
        if key in seen or node not in self.nodes:
            return
        seen.add(key)
        label = f"{node}.{fld}" if fld else node
        if self.disabled(node):
            for source in self.inputs_of(node):
                self._resolve_field(source, fld, out, seen, depth)
            return
        if self.is_set(node):
            fields = self.set_fields(node)
            values = [v for k, v in fields if fld is None or k == fld or k.split(".", 1)[0] == fld]
            if values:
                out.refs.append(label)
                out.nodes.append(node)
                for value in values:
                    out.parts.append(value)
                    self._expand(value, node, out, seen, depth)
            elif self.set_keeps_other_fields(node):
                for source in self.inputs_of(node):
                    self._resolve_field(source, fld, out, seen, depth)
            return
        if self.is_code(node):
            code_def = self.js(node).derive(fld) if fld else None
            text = code_def if code_def is not None else self.code_text(node)
            out.refs.append(label)
            out.nodes.append(node)
            out.parts.append(text)
            self._expand(text, node, out, seen, depth)
            return
        if self.type_of(node) in _PASS_THROUGH_TYPES:
            for source in self.inputs_of(node):
                self._resolve_field(source, fld, out, seen, depth)
            return
        out.refs.append(label)  # terminal: webhook payload, HTTP response, …
        out.nodes.append(node)

    def code_field(self, node: str, name: str) -> _Derivation | None:
        text = self.js(node).derive(name)
        if text is None:
            return None
        return self.derive(text, node)


# --------------------------------------------------------------------------------------
# Patterns used by the rules
# --------------------------------------------------------------------------------------

_MOVE_ROUTE_RE = re.compile(r"move[-_]?stage", re.I)
_BY_IDENTITY_RE = re.compile(r"move[-_]?stage[-_]?by[-_]?identity", re.I)
_DEAL_IN_MOVE_URL_RE = re.compile(r"/deals/(?P<seg>.+?)/move[-_]?stage", re.I | re.S)
_DEAL_SEGMENT_RE = re.compile(r"/deals/(?P<seg>\{\{.*?\}\}|\{[\w$]+\}|[^/?#\s'\"`+]+)", re.S)
_BARE_MOVE_RE = re.compile(r"/deals/move[-_]?stage(?![-_\w])", re.I)
_OTHER_ROUTE_RE = re.compile(
    r"/(boards|activities|contacts|stages|identifiers)\b|/deals/[^/\s]+/mark[-_](won|lost)", re.I
)
_MOVE_WORDS_RE = re.compile(
    r"\b(mov\w*|mud\w*|avanc\w*|troc\w*|alter\w*|chang\w*|advanc\w*|updat\w*|atualiz\w*)\b"
    r".{0,40}\b(stages?|estagios?|etapas?|fases?)\b",
    re.S,
)
_DEALS_ROUTE_RE = re.compile(r"/deals(?:[/?#\s'\"`]|$)", re.I)
_MARK_ROUTE_RE = re.compile(r"mark[-_](won|lost)", re.I)
_FROM_AI_RE = re.compile(r"\$fromAI\s*\(", re.I)
_PLACEHOLDER_RE = re.compile(r"(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

_IDENTITY_BODY_KEYS = {"phone", "email", "identifier"}
_DEAL_ID_NAMES = {"dealid"}
# normalised (see _norm) field names
_SESSION_NAMES = {
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
_NAME_TOKENS = ("nome", "name")
_PHONE_NAMES = {"phone", "phonenumber", "telefone", "celular", "whatsapp", "phonee164", "waphone"}
_IG_ID_NAMES = {"igsid", "igid", "instagramid", "externalid", "identifier", "instagramscopedid"}
_SOURCE_DEF_NAMES = {"source", "origem"}
_CHANNEL_NAMES = {"channel", "canal"}

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

# what an identity gate (Filter/If/Switch) must look at: the validated identity
_GATE_IDENTITY_RE = re.compile(
    r"\b(?:valid|is_?valid|isValid|valida|external_?id|session_?key|igsid|e164|source_id)\b"
)

_CHANNEL_REF_RE = re.compile(r"\bchannel(?:_?type)?\b", re.I)
_CHANNEL_MAP_RE = re.compile(r"Channel::(?:Instagram|Whatsapp)", re.I)
_UPPER_SOURCE_RE = re.compile(r"['\"`](?:WHATSAPP|INSTAGRAM)['\"`]")
_SOURCE_LITERAL_RE = re.compile(
    r"^\s*=?\s*(?:\{\{\s*)?['\"`]?\s*(WHATSAPP|INSTAGRAM)\s*['\"`]?\s*(?:\}\})?\s*$", re.I
)
_SOURCE_DEFAULT_RES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(?:\|\||\?\?)\s*'(?:WHATSAPP|INSTAGRAM)'", re.I),
        "defaults to one channel when the channel is unknown",
    ),
    (
        re.compile(r"(?<!\?)\?(?![.?])[^:;?]*:\s*'(?:WHATSAPP|INSTAGRAM)'\s*(?:[;,)}\n]|$)", re.I),
        "defaults to one channel in the else branch of a ternary",
    ),
    (
        re.compile(
            r"\b(?:default\s*:|else)\s*\{?\s*(?:return\s+|[\w$.]+\s*=\s*)'(?:WHATSAPP|INSTAGRAM)'",
            re.I,
        ),
        "defaults to one channel when the channel is unknown",
    ),
    (
        re.compile(
            r"(?:identifier|source_id|igsid)\b[^;\n]{0,60}&&\s*!\s*[\w$.?]*phone"
            r"|!\s*[\w$.?]*phone\w*\s*&&[^;\n]{0,60}(?:identifier|source_id|igsid)"
            r"|!\s*[\w$.?]*phone\w*\s*\?\s*'INSTAGRAM'",
            re.I,
        ),
        "infers the channel from 'has an identifier but no phone'",
    ),
]
_RETURN_SOURCE_RE = re.compile(r"^\s*return\s+['\"`](?:WHATSAPP|INSTAGRAM)['\"`]", re.M)
_CONDITION_LINE_RE = re.compile(r"^(?:\}\s*)?(?:else\s+)?if\b|^case\b", re.I)
_SOURCE_ID_RE = re.compile(r"contact_inbox\s*\??\.\s*source_id|contact_inbox\s*\??\.?\s*\[\s*['\"]source_id")
_SENDER_IDENTIFIER_RE = re.compile(r"sender\s*\??\.\s*identifier\b|sender\s*\??\.?\s*\[\s*['\"]identifier")
_IG_READ_RE = re.compile(
    r"contact_inbox\s*\??\.\s*source_id|contact_inbox\s*\??\.?\s*\[\s*['\"]source_id"
    r"|sender\s*\??\.\s*identifier\b|sender\s*\??\.?\s*\[\s*['\"]identifier"
)
_PHONE_FROM_IG_RE = re.compile(r"\bidentifier\b|igsid|external_?id|instagram", re.I)
_PHONE_FALLBACK_TO_ID_RE = re.compile(r"phone_number\s*(?:\|\||\?\?)[^;\n]{0,60}\bidentifier\b", re.I)


def _replace_string_colons(text: str) -> str:
    """Drop ``:`` inside quoted strings (``'Channel::Instagram'``) for ternary matching."""
    return re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", lambda m: m.group(0).replace(":", "_"), text)


def _is_expression(raw: str) -> bool:
    return raw.lstrip().startswith("=")


def _is_identity_name(name: str) -> bool:
    if re.fullmatch(r"[A-Z0-9_]+", name) and "_" in name:
        return False  # a JS constant such as IGSID_RE, not a value
    norm = _norm(name)
    if any(tok in norm for tok in _NAME_TOKENS) and "identif" not in norm:
        return False
    return norm in _SESSION_NAMES or any(tok in norm for tok in _IDENTITY_TOKENS)


def _around(text: str, start: int, end: int, width: int = 45) -> str:
    """``text[start:end]`` with a little context on each side, on one line."""
    a, b = max(0, start - width), min(len(text), end + width)
    return ("…" if a else "") + _one_line(text[a:b]) + ("…" if b < len(text) else "")


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : (len(text) if end < 0 else end)].strip()


def _unconditional_source_return(text: str) -> bool:
    """A ``return 'WHATSAPP'`` line that is not the body of an ``if``/``case``: a default."""
    lines = text.splitlines()
    for m in _RETURN_SOURCE_RE.finditer(text):
        index = text.count("\n", 0, m.start())
        prev = next((ln.strip() for ln in reversed(lines[:index]) if ln.strip()), "")
        conditional = (
            prev.endswith(")")
            or (prev.endswith(":") and prev.lower().startswith("case"))
            or (prev.endswith("{") and bool(_CONDITION_LINE_RE.match(prev)))
        )
        if not conditional:
            return True
    return False


# --------------------------------------------------------------------------------------
# The linter
# --------------------------------------------------------------------------------------


_KeyExpr = tuple[str, str, str, bool]  # (node, label, raw expression, is memory/buffer store)


class _Linter:
    def __init__(self, wf: _Workflow) -> None:
        self.wf = wf
        self.findings: list[Finding] = []

    def add(self, rule: str, node: str | None, ok: bool, evidence: str, detail: str) -> None:
        wf = self.wf
        if node is None:
            node_name, node_type = WORKFLOW_NODE, "workflow"
            subject = f'workflow "{wf.name}"'
        else:
            node_name, node_type = node, wf.type_of(node)
            subject = f'node "{node}" ({_short_type(node_type)})'
        self.findings.append(
            Finding(
                workflow=wf.label,
                node=node_name,
                type=node_type,
                rule=rule,
                verdict=PASS if ok else FAIL,
                evidence=_excerpt(evidence, _EVIDENCE_MAX),
                message=f"{subject} {'meets' if ok else 'breaks'} {rule}: {detail}",
            )
        )

    def run(self) -> list[Finding]:
        stage_moves = self._stage_move_nodes()
        self.r1(stage_moves)
        self.r2(stage_moves)
        key_exprs = self._key_expressions()
        self.r3(key_exprs)
        self.r4(key_exprs)
        self.r5()
        self.r6()
        return self.findings

    # -- shared node classification ---------------------------------------------------

    def _url(self, node: str) -> str:
        return _as_str(self.wf.params(node).get("url"))

    def _method(self, node: str) -> str:
        return (_as_str(self.wf.params(node).get("method")) or "GET").upper()

    def _stage_move_nodes(self) -> list[str]:
        wf = self.wf
        found: list[str] = []
        for name in wf.enabled():
            if not (wf.is_http(name) or wf.is_tool(name)):
                continue
            url = wf.derive(self._url(name), name).text
            if _MOVE_ROUTE_RE.search(url):
                found.append(name)
                continue
            if wf.is_tool(name):
                params = wf.params(name)
                words = _fold(
                    " ".join(
                        [
                            name,
                            _as_str(params.get("toolDescription")),
                            _as_str(params.get("description")),
                        ]
                    )
                )
                if _MOVE_WORDS_RE.search(words) and not _OTHER_ROUTE_RE.search(url):
                    found.append(name)
        return found

    def _body_names(self, node: str) -> list[str]:
        names = [n for where, n, _ in self.wf.http_values(node) if where == "body"]
        return list(dict.fromkeys(names))

    # -- R1 -----------------------------------------------------------------------------

    def r1(self, stage_moves: list[str]) -> None:
        wf = self.wf
        if not stage_moves:
            self.add(
                "R1",
                None,
                False,
                "no node with a …/deals/…/move-stage URL or a stage-moving tool description",
                "no stage-move tool found; the template needs one that moves the stage by deal_id",
            )
            return
        for name in stage_moves:
            raw = self._url(name)
            url = raw if _MOVE_ROUTE_RE.search(raw) else wf.derive(raw, name).text
            body_names = self._body_names(name)
            normed = {_norm(n) for n in body_names}
            identity = sorted(_IDENTITY_BODY_KEYS & normed)
            evidence = f"{self._method(name)} {raw}"
            if body_names:
                evidence += f" · body keys: {', '.join(body_names)}"
            seg = _DEAL_IN_MOVE_URL_RE.search(url)
            if _BY_IDENTITY_RE.search(url):
                ok = False
                detail = "moves stages via /deals/move-stage-by-identity instead of by deal_id"
                if identity:
                    detail += f" (identity: {', '.join(identity)})"
            elif seg is not None:
                segment = seg.group("seg")
                derivation = wf.derive(segment, name)
                seg_text = _fold(derivation.text + " " + " ".join(derivation.refs))
                if "deal" not in seg_text and not _UUID_RE.search(segment):
                    ok = False
                    detail = (
                        f"the {{…}} of /deals/{{…}}/move-stage is {_excerpt(segment, 60)!r}, "
                        "which is not a deal_id"
                    )
                elif identity:
                    ok = False
                    detail = (
                        f"sends identity field(s) {', '.join(identity)} in the move body "
                        "(a by-identity move; /deals/{deal_id}/move-stage rejects unknown keys)"
                    )
                else:
                    ok = True
                    detail = "moves the stage by deal_id in the URL (/deals/{deal_id}/move-stage)"
            elif _BARE_MOVE_RE.search(url):
                if "dealid" in normed and not identity:
                    ok, detail = True, "moves the stage with deal_id in the /deals/move-stage body"
                elif "dealid" in normed:
                    ok = False
                    detail = (
                        f"posts deal_id together with identity field(s) {', '.join(identity)} "
                        "to /deals/move-stage"
                    )
                else:
                    ok = False
                    detail = "posts to /deals/move-stage without deal_id"
                    if identity:
                        detail += f" (moves by {', '.join(identity)})"
            else:
                ok = False
                detail = (
                    "moves stages through a URL that is not /deals/{deal_id}/move-stage "
                    "(route hidden or unknown)"
                )
            self.add("R1", name, ok, evidence, detail)

    # -- R2 -----------------------------------------------------------------------------

    def _deal_id_expressions(self, node: str) -> list[str]:
        exprs: list[str] = []
        url = self._url(node)
        m = _DEAL_IN_MOVE_URL_RE.search(url) or _DEAL_SEGMENT_RE.search(url)
        if m is not None:
            seg = m.group("seg")
            if not _MOVE_ROUTE_RE.match(seg.strip()):
                exprs.append(seg)
        exprs.extend(v for _, n, v in self.wf.http_values(node) if _norm(n) in _DEAL_ID_NAMES)
        return exprs

    def _deal_id_raws(self, node: str) -> list[str]:
        wf = self.wf
        if wf.is_set(node):
            return [v for k, v in wf.set_fields(node) if _norm(k) in _DEAL_ID_NAMES]
        defs = wf.js(node)
        return [defs.derive(k) or "" for k in defs.defs if _norm(k) in _DEAL_ID_NAMES]

    def _deal_exposers(self) -> list[str]:
        wf = self.wf
        return [n for n in wf.enabled() if (wf.is_set(n) or wf.is_code(n)) and self._deal_id_raws(n)]

    def _deal_lookups(self) -> list[str]:
        wf = self.wf
        return [
            n
            for n in wf.enabled()
            if wf.is_http(n)
            and not wf.is_tool(n)
            and _DEALS_ROUTE_RE.search(self._url(n))
            and not _MOVE_ROUTE_RE.search(self._url(n))
            and not _MARK_ROUTE_RE.search(self._url(n))
        ]

    def r2(self, stage_moves: list[str]) -> None:
        wf = self.wf
        agents = [n for n in wf.enabled() if wf.is_agent(n) and not wf.is_sub_node(n)]
        anchors = agents + [n for n in stage_moves if not wf.is_sub_node(n)]
        upstream: set[str] = set()
        for anchor in anchors:
            upstream |= wf.ancestors(anchor)
        lookups = self._deal_lookups()
        exposers = self._deal_exposers()
        valid_exposers: list[str] = []
        for name in exposers:
            raw = self._deal_id_raws(name)[0]
            derivation = wf.derive(raw, name)
            evidence = f"deal_id = {raw}" + (f" ⇒ {derivation.chain()}" if derivation.refs else "")
            if anchors and name not in upstream:
                self.add(
                    "R2",
                    name,
                    False,
                    evidence,
                    "exposes deal_id only after the agent, so the tools cannot use it",
                )
                continue
            ancestors = wf.ancestors(name)
            before = [lk for lk in lookups if lk in ancestors or lk in derivation.nodes]
            if wf.is_set(name) and not _is_expression(raw):
                self.add("R2", name, False, evidence, "hard-codes deal_id instead of resolving it")
            elif not before:
                self.add(
                    "R2",
                    name,
                    False,
                    evidence,
                    "exposes deal_id but no node finds or creates the deal before it "
                    "(e.g. POST /api/public/v1/deals)",
                )
            else:
                valid_exposers.append(name)
                self.add(
                    "R2",
                    name,
                    True,
                    evidence,
                    f'exposes deal_id resolved by "{before[0]}" before the agent/stage move',
                )
        if not exposers:
            what = f"deal lookup(s): {', '.join(lookups)}" if lookups else "no POST/GET /deals node"
            self.add(
                "R2",
                None,
                False,
                what,
                "no Set/Code node exposes deal_id before the agent, so the deal is not resolved at the start",
            )
        for name in [n for n in wf.enabled() if wf.is_tool(n) or n in stage_moves]:
            exprs = self._deal_id_expressions(name)
            if not exprs:
                continue  # no deal_id at all: that is R1's failure; R2 judges its origin
            is_legacy_tool = wf.type_of(name) == _T_TOOL_HTTP_LEGACY
            problems: list[str] = []
            sources: list[str] = []
            for expr in exprs:
                from_ai = _FROM_AI_RE.search(expr) is not None or (
                    is_legacy_tool
                    and "{{" not in expr
                    and any("deal" in p.lower() for p in _PLACEHOLDER_RE.findall(expr))
                )
                if from_ai:
                    problems.append("takes deal_id from $fromAI(…), so the model chooses the deal")
                    continue
                derivation = wf.derive(expr, name)
                hits = [n for n in derivation.nodes if n in valid_exposers]
                if hits:
                    sources.append(hits[0])
                else:
                    origin = derivation.chain() or _excerpt(expr, 60)
                    problems.append(f"takes deal_id from {origin} instead of the node that resolved the deal")
            evidence = "deal_id: " + " | ".join(_excerpt(e, 120) for e in exprs)
            if problems:
                self.add("R2", name, False, evidence, problems[0])
            else:
                self.add(
                    "R2",
                    name,
                    True,
                    evidence,
                    f'uses deal_id from "{sources[0]}" (resolved before the agent)',
                )

    # -- key expressions (R3/R4) ----------------------------------------------------------

    def _key_expressions(self) -> list[_KeyExpr]:
        wf = self.wf
        out: list[_KeyExpr] = []
        for name in wf.enabled():
            params = wf.params(name)
            if wf.is_memory(name):
                sid_type = _as_str(params.get("sessionIdType"))
                if not sid_type:
                    legacy = _type_version(wf.nodes[name]) < 1.2
                    sid_type = "customKey" if "sessionKey" in params or legacy else "fromInput"
                if sid_type == "fromInput":
                    out.append((name, "sessionIdType", "fromInput", True))
                else:
                    out.append((name, "sessionKey", _as_str(params.get("sessionKey")), True))
            elif wf.type_of(name) == _T_REDIS:
                operation = _as_str(params.get("operation")) or "info"
                if operation in {"push", "pop"}:
                    out.append((name, "list", _as_str(params.get("list")), True))
                elif operation in {"get", "set", "delete", "incr"}:
                    out.append((name, "key", _as_str(params.get("key")), True))
            elif wf.is_set(name):
                out.extend(
                    (name, key, value, False)
                    for key, value in wf.set_fields(name)
                    if _norm(key) in _SESSION_NAMES
                )
            elif wf.is_code(name):
                out.extend((name, key, "", False) for key in wf.js(name).defs if _norm(key) in _SESSION_NAMES)
        return out

    def _key_derivation(self, node: str, label: str, raw: str) -> _Derivation:
        wf = self.wf
        if wf.is_code(node):
            return wf.code_field(node, label) or _Derivation(parts=[wf.code_text(node)])
        return wf.derive(raw, node)

    # -- R3 -----------------------------------------------------------------------------

    @staticmethod
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

    def r3(self, key_exprs: list[_KeyExpr]) -> None:
        wf = self.wf
        if not any(is_store for *_, is_store in key_exprs):
            self.add(
                "R3",
                None,
                False,
                "no memory node (ai_memory) and no Redis buffer node",
                "no memory or buffer node found, so there is no canonical session/buffer key",
            )
        problems: dict[str, list[str]] = {}
        labels: dict[str, list[str]] = {}
        evidence: dict[str, list[str]] = {}
        for node, label, raw, _ in key_exprs:
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
                ev.append(f"{label} = {_excerpt(wf.js(node).defs[label][0], 120)}")
            else:
                ev.append(f"{label} {_excerpt(raw, 140)}")
            if not raw.strip() and not wf.is_code(node):
                problems[node].append(f"{label} is empty")
                continue
            derivation = self._key_derivation(node, label, raw)
            if derivation.refs:
                ev[-1] += f" ⇒ {derivation.chain()}"
            problem = self._canonical_problem(derivation.text)
            if problem:
                problems[node].append(f"{label} {problem}")
        for node, node_problems in problems.items():
            ev_text = " | ".join(evidence[node])
            if node_problems:
                self.add("R3", node, False, ev_text, "; ".join(dict.fromkeys(node_problems)))
            else:
                self.add(
                    "R3",
                    node,
                    True,
                    ev_text,
                    f"{'/'.join(labels[node])} resolves to a canonical "
                    "whatsapp:/instagram:<external id> key built from source + external id",
                )

    # -- R4 -----------------------------------------------------------------------------

    def _identity_expressions(self) -> dict[str, list[tuple[str, _Derivation]]]:
        wf = self.wf
        out: dict[str, list[tuple[str, _Derivation]]] = {}
        for name in wf.enabled():
            items: list[tuple[str, _Derivation]] = []
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

    def _gate_nodes(self) -> set[str]:
        wf = self.wf
        return {
            n
            for n in wf.enabled()
            if wf.type_of(n) in _GATE_TYPES
            and any(_GATE_IDENTITY_RE.search(s) for s in _strings(wf.params(n)))
        }

    def _ungated(self, gates: set[str]) -> set[str]:
        """Main-flow nodes reachable from a trigger without passing an identity gate."""
        wf = self.wf
        seen: set[str] = set()
        stack = list(wf.triggers())
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for index, targets in enumerate(wf.main_out.get(current, [])):
                if current in gates and (wf.type_of(current) == _T_SWITCH or index == 0):
                    continue  # the "valid" branch / the kept items
                stack.extend(targets)
        return seen

    def r4(self, key_exprs: list[_KeyExpr]) -> None:
        wf = self.wf
        issues: dict[str, list[str]] = {}
        evidence: dict[str, list[str]] = {}
        checked: dict[str, list[str]] = {}

        def mark(node: str) -> None:
            issues.setdefault(node, [])
            evidence.setdefault(node, [])
            checked.setdefault(node, [])

        def scan(node: str, label: str, derivation: _Derivation) -> None:
            mark(node)
            if label not in checked[node]:
                checked[node].append(label)
            text = derivation.text
            for regex, what in _FALLBACK_PATTERNS:
                m = regex.search(text)
                if m:
                    issues[node].append(f"{label} {what}")
                    hit = max(m.start(), m.end() - 40)
                    evidence[node].append(f"{label}: {_around(text, hit, m.end())}")

        for node, label, raw, _ in key_exprs:
            if label != "sessionIdType":
                scan(node, label, self._key_derivation(node, label, raw))
        for node, items in self._identity_expressions().items():
            for label, derivation in items:
                scan(node, label, derivation)
        for node in wf.enabled():
            for text in _strings(wf.params(node)):
                m = _ALWAYS_BAD_RE.search(text)
                if m:
                    mark(node)
                    issues[node].append(f"uses the identity placeholder {m.group(0)!r}")
                    evidence[node].append(_excerpt(_line_at(text, m.start()), 100))
                    break
        gates = self._gate_nodes()
        ungated = self._ungated(gates)
        buffers = [
            n
            for n in wf.enabled()
            if wf.type_of(n) == _T_REDIS and _as_str(wf.params(n).get("operation")) in {"push", "set"}
        ]
        agents = [n for n in wf.enabled() if wf.is_agent(n) and not wf.is_sub_node(n)]
        gate_names = ", ".join(f'"{g}"' for g in sorted(gates)) or "none"
        gated_nodes = buffers + agents
        for node in gated_nodes:
            mark(node)
            if node in ungated:
                issues[node].append(
                    "is reachable without an identity gate (a Filter/If on the validated "
                    "external id) before it"
                )
                evidence[node].append(f"identity gates: {gate_names}")
            else:
                evidence[node].append(f"gated by {gate_names}")
        if not gated_nodes and not gates:
            self.add(
                "R4",
                None,
                False,
                "no Filter/If/Switch node checks the validated identity",
                "no identity gate stops events without a valid external id",
            )
        for node in [n for n in wf.order if n in issues]:
            parts = list(evidence[node])
            if checked[node] and not issues[node]:
                parts.insert(0, f"checked: {', '.join(checked[node])}")
            ev_text = " | ".join(parts)
            if issues[node]:
                self.add("R4", node, False, ev_text, "; ".join(dict.fromkeys(issues[node])))
            elif checked[node]:
                detail = "uses only the external id, with no identity fallback"
                if node in gated_nodes:
                    detail += ", behind an identity gate"
                self.add("R4", node, True, ev_text, detail)
            else:
                self.add("R4", node, True, ev_text, "runs only behind an identity gate")

    # -- R5 -----------------------------------------------------------------------------

    @staticmethod
    def _source_problems(primary: str, text: str) -> list[str]:
        if _SOURCE_LITERAL_RE.match(primary):
            literal = _one_line(primary).lstrip("= ")
            return [f"is hard-coded to {literal} instead of derived from the channel"]
        problems: list[str] = []
        normalised = _replace_string_colons(text)
        for regex, what in _SOURCE_DEFAULT_RES:
            if regex.search(normalised):
                problems.append(what)
        if _unconditional_source_return(text):
            problems.append("defaults to one channel when the channel is unknown")
        if not _CHANNEL_REF_RE.search(text):
            problems.append("is not derived from the Chatwoot channel")
        elif not (_CHANNEL_MAP_RE.search(text) or re.search(r"instagram|whatsapp", text, re.I)):
            problems.append("does not map Channel::Instagram/Channel::Whatsapp to a source")
        return list(dict.fromkeys(problems))

    def _source_definitions(self, name: str) -> list[tuple[str, str, _Derivation]]:
        """(label, primary expression, derivation) of the source/channel fields of a node."""
        wf = self.wf
        out: list[tuple[str, str, _Derivation]] = []
        if wf.is_code(name):
            defs = wf.js(name).defs
            for key in defs:
                norm = _norm(key)
                if norm not in _SOURCE_DEF_NAMES | _CHANNEL_NAMES:
                    continue
                derivation = wf.code_field(name, key)
                if derivation is None:
                    continue
                if norm in _CHANNEL_NAMES and not _UPPER_SOURCE_RE.search(derivation.text):
                    continue  # the raw Chatwoot channel, not the CRM source
                primaries = [r for r in defs[key] if r != key]
                out.append((key, primaries[0] if primaries else key, derivation))
        elif wf.is_set(name):
            for key, value in wf.set_fields(name):
                norm = _norm(key)
                if norm not in _SOURCE_DEF_NAMES | _CHANNEL_NAMES:
                    continue
                derivation = wf.derive(value, name)
                if (
                    norm in _CHANNEL_NAMES
                    and not _UPPER_SOURCE_RE.search(derivation.text)
                    and not _SOURCE_LITERAL_RE.match(value)
                ):
                    continue
                out.append((key, value, derivation))
        elif wf.is_http(name):
            for _, key, value in wf.http_values(name):
                if _norm(key) in _SOURCE_DEF_NAMES | _CHANNEL_NAMES and _SOURCE_LITERAL_RE.match(value):
                    out.append((key, value, _Derivation(parts=[value])))
        return out

    def r5(self) -> None:
        reported = False
        for name in self.wf.enabled():
            definitions = self._source_definitions(name)
            if not definitions:
                continue
            reported = True
            problems: list[str] = []
            evidence: list[str] = []
            for label, primary, derivation in definitions:
                evidence.append(f"{label} = {_excerpt(primary, 140)}")
                problems.extend(f"{label} {p}" for p in self._source_problems(primary, derivation.text))
            ev_text = " | ".join(evidence)
            if problems:
                self.add("R5", name, False, ev_text, "; ".join(problems))
            else:
                self.add(
                    "R5",
                    name,
                    True,
                    ev_text,
                    "derives source from the Chatwoot channel (Channel::Instagram → INSTAGRAM, "
                    "Channel::Whatsapp → WHATSAPP); other channels are invalid",
                )
        if not reported:
            self.add(
                "R5",
                None,
                False,
                "no Set/Code node defines source",
                "no node derives source from the Chatwoot channel",
            )

    # -- R6 -----------------------------------------------------------------------------

    def _ig_reads(self, name: str) -> list[tuple[str, str]]:
        """(label, text) of the node's own expressions that read the Instagram id."""
        wf = self.wf
        if wf.is_code(name):
            defs = wf.js(name)
            parts = [(k, defs.derive(k) or "") for k in defs.defs if _norm(k) in _IG_ID_NAMES]
            parts = [(k, t) for k, t in parts if _IG_READ_RE.search(t)]
            if parts:
                return parts
            code = wf.code_text(name)
            return [("code", code)] if _IG_READ_RE.search(code) else []
        if wf.is_set(name):
            return [
                (k, v)
                for k, v in wf.set_fields(name)
                if _IG_READ_RE.search(v)
                and not (any(t in _norm(k) for t in _NAME_TOKENS) and "identif" not in _norm(k))
            ]
        return [("parameters", s) for s in _strings(wf.params(name)) if _IG_READ_RE.search(s)]

    def _phone_values(self, name: str) -> list[tuple[str, _Derivation]]:
        wf = self.wf
        values: list[tuple[str, _Derivation]] = []
        if wf.is_code(name):
            for key in wf.js(name).defs:
                if _norm(key) in _PHONE_NAMES:
                    derivation = wf.code_field(name, key)
                    if derivation is not None:
                        values.append((key, derivation))
        elif wf.is_set(name):
            values = [(k, wf.derive(v, name)) for k, v in wf.set_fields(name) if _norm(k) in _PHONE_NAMES]
        elif wf.is_http(name):
            values = [(k, wf.derive(v, name)) for _, k, v in wf.http_values(name) if _norm(k) in _PHONE_NAMES]
        return values

    def r6(self) -> None:
        wf = self.wf
        reads_ig = False
        for name in wf.enabled():
            if wf.type_of(name) in _GATE_TYPES:
                continue  # a gate looks at the id, it does not derive it
            reads = self._ig_reads(name)
            problems: list[str] = []
            evidence: list[str] = []
            pass_evidence: list[str] = []
            by_kind: dict[str, list[str]] = {}
            for label, text in reads:
                reads_ig = True
                src = _SOURCE_ID_RE.search(text)
                ident = _SENDER_IDENTIFIER_RE.search(text)
                kind = ""
                if ident and not src:
                    kind = "reads the IGSID only from sender.identifier instead of contact_inbox.source_id"
                elif ident and src and ident.start() < src.start():
                    kind = "prefers sender.identifier over contact_inbox.source_id for the IGSID"
                fallback = _PHONE_FALLBACK_TO_ID_RE.search(text)
                if fallback:
                    by_kind.setdefault("uses the Instagram identifier as a phone fallback", [])
                    by_kind["uses the Instagram identifier as a phone fallback"].append(label)
                    evidence.append(f"{label}: {_excerpt(fallback.group(0), 100)}")
                if kind and ident is not None:
                    if not by_kind.get(kind):
                        evidence.append(f"{label}: {_around(text, ident.start(), ident.end())}")
                    by_kind.setdefault(kind, []).append(label)
                elif src and not pass_evidence:
                    pass_evidence.append(f"{label}: {_around(text, src.start(), src.end())}")
            problems.extend(f"{kind} (in {', '.join(labels)})" for kind, labels in by_kind.items())
            if not problems:
                evidence.extend(pass_evidence)
            phone_checked = False
            for key, derivation in self._phone_values(name):
                text = derivation.text
                if not (_IG_READ_RE.search(text) or _PHONE_FROM_IG_RE.search(text)):
                    continue  # e.g. a phone chosen by the model: nothing to do with the IGSID
                phone_checked = True
                if _PHONE_FROM_IG_RE.search(text):
                    problems.append(f"uses the IGSID/identifier as the phone ({key})")
                    evidence.append(f"{key} = {_excerpt(derivation.parts[0], 100)}")
            if not reads and not phone_checked:
                continue
            ev_text = " | ".join(dict.fromkeys(evidence)) or "phone values checked"
            if problems:
                self.add("R6", name, False, ev_text, "; ".join(dict.fromkeys(problems)))
            elif reads:
                self.add(
                    "R6",
                    name,
                    True,
                    ev_text,
                    "reads the IGSID from contact_inbox.source_id (then sender.identifier), never as a phone",
                )
            else:
                self.add("R6", name, True, ev_text, "does not use the IGSID as a phone")
        if not reads_ig:
            self.add(
                "R6",
                None,
                False,
                "no node reads contact_inbox.source_id or sender.identifier",
                "no node derives the Instagram IGSID from contact_inbox.source_id",
            )


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def lint_workflow(data: Mapping[str, Any], *, source: str) -> list[Finding]:
    """Check one exported workflow object; one finding per (relevant node, rule).

    Raises :class:`LintInputError` when ``data`` is not a workflow object.
    """
    if not isinstance(data, Mapping):
        raise LintInputError(source, "not an n8n workflow (the JSON top level is not an object)")
    return _Linter(_Workflow(data, source)).run()


def _load(path: Path) -> list[tuple[Mapping[str, Any], str]]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LintInputError(source, "no such file") from None
    except IsADirectoryError:
        raise LintInputError(source, "is a directory") from None
    except UnicodeDecodeError:
        raise LintInputError(source, "not UTF-8 text") from None
    except OSError as exc:
        raise LintInputError(source, f"cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LintInputError(
            source, f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if isinstance(data, Mapping) and "nodes" not in data and isinstance(data.get("data"), list):
        data = data["data"]  # a public-API list response {data: [...]}
    if isinstance(data, list):
        if not data:
            raise LintInputError(source, "not an n8n workflow (empty list)")
        items: list[tuple[Mapping[str, Any], str]] = []
        for index, item in enumerate(data):
            if not isinstance(item, Mapping):
                raise LintInputError(source, f"item #{index} is not a workflow object")
            items.append((item, f"{source}#{index}"))
        return items
    if not isinstance(data, Mapping):
        raise LintInputError(source, "not an n8n workflow (the JSON top level is not an object)")
    return [(data, source)]


def lint_paths(paths: Sequence[Path]) -> list[Finding]:
    """Lint files (a directory means its ``*.json`` files). Raises :class:`LintInputError`."""
    findings: list[Finding] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise LintInputError(str(path), "directory holds no *.json file")
        for file in files:
            for data, source in _load(file):
                findings.extend(lint_workflow(data, source=source))
    return findings


def format_text(findings: Sequence[Finding]) -> str:
    """Failures first (with evidence), then passes, then ``N workflow(s), M rule(s) broken``."""
    failed = [f for f in findings if f.failed]
    passed = [f for f in findings if not f.failed]
    lines: list[str] = []
    for finding in failed:
        lines.append(f"FAIL {finding.rule} [{finding.workflow}] {finding.message}")
        lines.append(f"     evidence: {finding.evidence}")
    for finding in passed:
        lines.append(f"pass {finding.rule} [{finding.workflow}] {finding.message}")
    workflows = len(dict.fromkeys(f.workflow for f in findings))
    broken = len({(f.workflow, f.rule) for f in failed})
    lines.append(f"{workflows} workflow(s), {broken} rule(s) broken")
    return "\n".join(lines)


def format_json(findings: Sequence[Finding]) -> str:
    """A JSON list of finding objects (keys in ``Finding`` field order)."""
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)


def run(paths: Sequence[Path], *, as_json: bool, out: TextIO, err: TextIO | None = None) -> int:
    """CLI entry point: 0 = every rule passes, 1 = a rule fails, 2 = unreadable input."""
    err_stream = err if err is not None else sys.stderr
    if not paths:
        print("golive n8n-lint: no workflow file given", file=err_stream)
        return 2
    findings: list[Finding] = []
    bad_input = False
    linted = False
    for path in paths:
        try:
            findings.extend(lint_paths([path]))
            linted = True
        except LintInputError as exc:
            print(f"golive n8n-lint: {exc}", file=err_stream)
            bad_input = True
    if linted:
        out.write((format_json(findings) if as_json else format_text(findings)) + "\n")
    if bad_input:
        return 2
    return 1 if any(f.failed for f in findings) else 0
