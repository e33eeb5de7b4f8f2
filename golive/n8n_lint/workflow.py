"""The workflow model: nodes, main and AI connections, and expression references.

:class:`Workflow` reads an exported workflow object (nodes by name, the main graph and the
``ai_*`` sub-node graph) and resolves ``$('Node').item.json.X`` / ``$node['Node'].json.X`` /
``$json.X`` references through Set (v1/v2 ``values``, v3 ``assignments``/``fields``) and Code
nodes into a :class:`Derivation`: the expression text plus every definition it depends on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.n8n_lint.findings import LintInputError
from golive.n8n_lint.javascript import JsDefs
from golive.n8n_lint.values import as_list, as_map, as_str, type_version

T_WEBHOOK = "n8n-nodes-base.webhook"
T_SET = "n8n-nodes-base.set"
T_REDIS = "n8n-nodes-base.redis"
T_FILTER = "n8n-nodes-base.filter"
T_IF = "n8n-nodes-base.if"
T_SWITCH = "n8n-nodes-base.switch"
T_TOOL_HTTP_LEGACY = "@n8n/n8n-nodes-langchain.toolHttpRequest"
CODE_TYPES = {"n8n-nodes-base.code", "n8n-nodes-base.function", "n8n-nodes-base.functionItem"}
HTTP_TYPES = {"n8n-nodes-base.httpRequest", "n8n-nodes-base.httpRequestTool", T_TOOL_HTTP_LEGACY}
GATE_TYPES = {T_FILTER, T_IF, T_SWITCH}
PASS_THROUGH_TYPES = GATE_TYPES | {
    "n8n-nodes-base.noOp",
    "n8n-nodes-base.wait",
    "n8n-nodes-base.merge",
    "n8n-nodes-base.limit",
    "n8n-nodes-base.sort",
    "n8n-nodes-base.removeDuplicates",
    "n8n-nodes-base.splitInBatches",
    T_REDIS,
}
IGNORED_TYPES = {"n8n-nodes-base.stickyNote"}

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
class Derivation:
    """What an expression evaluates from: its own text plus every resolved definition."""

    parts: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # "Node.field" in resolution order
    nodes: list[str] = field(default_factory=list)  # nodes reached by the resolution

    @property
    def text(self) -> str:
        return "\n".join(self.parts)

    def chain(self) -> str:
        return " ⇒ ".join(self.refs[:4]) + (" …" if len(self.refs) > 4 else "")


class Workflow:
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
            if node_type in IGNORED_TYPES:
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
            for ctype, outputs in as_map(by_type).items():
                for index, targets in enumerate(as_list(outputs)):
                    for target in as_list(targets):
                        tgt = as_map(target).get("node")
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
        # sample input the editor pinned on a node (e.g. the webhook's last payload)
        self.pin_data = as_map(data.get("pinData"))
        self._js_cache: dict[str, JsDefs] = {}

    # -- node facts -------------------------------------------------------------------

    def type_of(self, name: str) -> str:
        return as_str(self.nodes[name].get("type"))

    def params(self, name: str) -> Mapping[str, Any]:
        return as_map(self.nodes[name].get("parameters"))

    def disabled(self, name: str) -> bool:
        return self.nodes[name].get("disabled") is True

    def enabled(self) -> list[str]:
        return [n for n in self.order if not self.disabled(n)]

    def is_code(self, name: str) -> bool:
        return self.type_of(name) in CODE_TYPES

    def is_set(self, name: str) -> bool:
        return self.type_of(name) == T_SET

    def is_http(self, name: str) -> bool:
        return self.type_of(name) in HTTP_TYPES

    def is_sub_node(self, name: str) -> bool:
        return name in self.ai_out

    def is_tool(self, name: str) -> bool:
        node_type = self.type_of(name)
        wired = any(ctype == "ai_tool" for ctype, _ in self.ai_out.get(name, []))
        return (
            wired
            or node_type in {"n8n-nodes-base.httpRequestTool", T_TOOL_HTTP_LEGACY}
            or node_type.rsplit(".", 1)[-1].startswith("tool")
            or node_type.endswith("Tool")
        )

    def is_agent(self, name: str) -> bool:
        node_type = self.type_of(name)
        if node_type.endswith(".agent") or node_type.endswith(".agentTool"):
            return True
        return any(ctype in {"ai_tool", "ai_memory"} for ctype, _ in self.ai_in.get(name, []))

    def is_agent_node(self, name: str) -> bool:
        """An AI Agent node itself (not a node that merely has tools wired into it)."""
        return self.type_of(name).endswith(".agent") and not self.is_sub_node(name)

    def is_memory(self, name: str) -> bool:
        if any(ctype == "ai_memory" for ctype, _ in self.ai_out.get(name, [])):
            return True
        return "langchain.memory" in self.type_of(name)

    def url(self, name: str) -> str:
        return as_str(self.params(name).get("url"))

    def method(self, name: str) -> str:
        return (as_str(self.params(name).get("method")) or "GET").upper()

    def code_text(self, name: str) -> str:
        params = self.params(name)
        for key in ("jsCode", "functionCode", "pythonCode", "code"):
            text = as_str(params.get(key))
            if text:
                return text
        return ""

    def js(self, name: str) -> JsDefs:
        if name not in self._js_cache:
            self._js_cache[name] = JsDefs(self.code_text(name))
        return self._js_cache[name]

    def set_fields(self, name: str) -> list[tuple[str, str]]:
        """(field name, raw value) of a Set node: v3 assignments/fields, v1/v2 values, raw JSON."""
        params = self.params(name)
        out: list[tuple[str, str]] = []
        for item in as_list(as_map(params.get("assignments")).get("assignments")):
            entry = as_map(item)
            out.append((as_str(entry.get("name")), as_str(entry.get("value"))))
        for kind_values in as_map(params.get("values")).values():
            for item in as_list(kind_values):
                entry = as_map(item)
                out.append((as_str(entry.get("name")), as_str(entry.get("value"))))
        for item in as_list(as_map(params.get("fields")).get("values")):
            entry = as_map(item)
            value = ""
            for key, raw in entry.items():
                if key.endswith("Value") or key == "value":
                    value = as_str(raw)
                    break
            out.append((as_str(entry.get("name")), value))
        raw_json = as_str(params.get("jsonOutput"))
        if raw_json:
            defs = JsDefs(raw_json)
            out.extend((key, rhs) for key, rhs_list in defs.defs.items() for rhs in rhs_list)
        return [(k, v) for k, v in out if k]

    def set_keeps_other_fields(self, name: str) -> bool:
        params = self.params(name)
        if type_version(self.nodes[name]) < 3:
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
            for item in as_list(as_map(params.get(key)).get("parameters")):
                entry = as_map(item)
                out.append((where, as_str(entry.get("name")), as_str(entry.get("value"))))
        for where, key in (
            ("query", "parametersQuery"),
            ("body", "parametersBody"),
            ("header", "parametersHeaders"),
        ):
            for item in as_list(as_map(params.get(key)).get("values")):
                entry = as_map(item)
                pname = as_str(entry.get("name"))
                provider = as_str(entry.get("valueProvider"))
                if provider in {"", "fieldValue"}:
                    out.append((where, pname, as_str(entry.get("value"))))
                else:  # modelRequired / modelOptional: the model picks the value
                    out.append((where, pname, f"$fromAI('{pname}')"))
        for where, key in (("query", "jsonQuery"), ("body", "jsonBody"), ("header", "jsonHeaders")):
            text = as_str(params.get(key))
            if text:
                defs = JsDefs(text)
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

    def descendants(self, name: str) -> list[str]:
        """Main-flow nodes that run after ``name``, in workflow order."""
        seen: set[str] = set()
        stack = [t for targets in self.main_out.get(name, []) for t in targets]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(t for targets in self.main_out.get(current, []) for t in targets)
        return [n for n in self.order if n in seen]

    def sub_nodes_of(self, name: str) -> list[str]:
        """Tools, memory, models … wired (directly or through another sub-node) into ``name``."""
        seen: set[str] = set()
        stack = [src for _, src in self.ai_in.get(name, [])]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(src for _, src in self.ai_in.get(current, []))
        return [n for n in self.order if n in seen]

    def triggers(self) -> list[str]:
        return [
            n
            for n in self.order
            if n not in self.main_in
            and not self.is_sub_node(n)
            and (n in self.main_out or self.type_of(n) == T_WEBHOOK or "rigger" in self.type_of(n))
        ]

    # -- reference resolution -----------------------------------------------------------

    def derive(self, text: str, ctx: str) -> Derivation:
        derivation = Derivation(parts=[text])
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

    def _expand(self, text: str, ctx: str, out: Derivation, seen: set[tuple[str, str]], depth: int) -> None:
        if depth > 16 or len(out.parts) > 80:
            return
        for node, fld in self._refs(text, ctx):
            self._resolve_field(node, fld, out, seen, depth + 1)

    def _resolve_field(
        self, node: str, fld: str | None, out: Derivation, seen: set[tuple[str, str]], depth: int
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
        if self.type_of(node) in PASS_THROUGH_TYPES:
            for source in self.inputs_of(node):
                self._resolve_field(source, fld, out, seen, depth)
            return
        out.refs.append(label)  # terminal: webhook payload, HTTP response, …
        out.nodes.append(node)

    def code_field(self, node: str, name: str) -> Derivation | None:
        text = self.js(node).derive(name)
        if text is None:
            return None
        return self.derive(text, node)
