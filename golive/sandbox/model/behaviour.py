"""What the model double answers, as a pure function of the chat request.

The agent asks with the conversation so far (system prompt, memory, the customer's message,
and after a tool call the tool's answer) and the tools it offers as OpenAI function schemas.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# A tool that moves the deal between stages: its name or description says so. Real exports
# name them e.g. "crm_em_atendimento" ("... move o deal ..."); the template "Mover estagio".
STAGE_TOOL_RE = re.compile(r"move|mover|stage|est[aá]gio|etapa|funil", re.IGNORECASE)
STAGE_PARAM_RE = re.compile(r"stage|estagio|etapa|label", re.IGNORECASE)
SUMMARY_PARAM_RE = re.compile(r"summary|resumo", re.IGNORECASE)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """Either a text or one tool call."""

    text: str | None = None
    tool_call: ToolCall | None = None

    def as_record(self) -> dict[str, Any]:
        if self.tool_call is not None:
            return {"tool_call": {"name": self.tool_call.name, "arguments": self.tool_call.arguments}}
        return {"text": self.text}


def folded(text: str) -> str:
    """Lower case without accents: "Orçamento" and "orcamento" match "orçamento"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{type: "text", text: …}, …]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_user_turn(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The customer's latest message, and what came after it (assistant tool calls, tool answers)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return message_text(messages[index]), messages[index + 1 :]
    return "", []


def tool_schemas(tools: Any) -> list[dict[str, Any]]:
    """The function schemas of the offered tools ({name, description, parameters})."""
    found = []
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            found.append(function)
    return found


def stage_tool(tools: list[dict[str, Any]], stage: str) -> dict[str, Any] | None:
    """The stage-move tool: one named/described as moving stages, preferring the one that names
    the target stage (exports with one tool per stage) or takes the stage as a parameter."""
    candidates = [t for t in tools if STAGE_TOOL_RE.search(f"{t['name']} {t.get('description', '')}")]
    if not candidates:
        return None
    wanted = folded(stage)
    naming = [t for t in candidates if wanted in folded(f"{t['name']} {t.get('description', '')}")]
    taking = [
        t for t in candidates if any(STAGE_PARAM_RE.search(p) for p in _properties(t)) and t not in naming
    ]
    return (naming or taking or candidates)[0]


def _properties(tool: dict[str, Any]) -> dict[str, Any]:
    parameters = tool.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    return properties if isinstance(properties, dict) else {}


def tool_arguments(tool: dict[str, Any], stage: str, summary: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for name, schema in _properties(tool).items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        if STAGE_PARAM_RE.search(name):
            arguments[name] = stage
        elif SUMMARY_PARAM_RE.search(name):
            arguments[name] = summary
        elif kind in (None, "string"):
            arguments[name] = ""
    return arguments


def answer(
    messages: list[dict[str, Any]],
    tools: Any,
    *,
    keyword: str,
    stage: str,
    never_calls_tools: bool = False,
) -> Answer:
    text, after = last_user_turn(messages)
    if any(m.get("role") == "tool" for m in after):
        return Answer(text=f"Pronto! Já encaminhei o seu pedido de {keyword}. Em breve seguimos.")
    asks = bool(keyword) and folded(keyword) in folded(text)
    tool = stage_tool(tool_schemas(tools), stage) if asks and not never_calls_tools else None
    if tool is not None:
        summary = f"Cliente pediu {keyword}: {text.strip()[:120]}"
        return Answer(tool_call=ToolCall(tool["name"], tool_arguments(tool, stage, summary)))
    if asks:
        return Answer(text=f"Perfeito! Vamos preparar o seu {keyword}.")
    return Answer(text="Obrigado pela mensagem! Em instantes seguimos com o seu atendimento.")


def arguments_json(call: ToolCall) -> str:
    return json.dumps(call.arguments, ensure_ascii=False)
