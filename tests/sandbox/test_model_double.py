"""The model double: OpenAI's chat completions as LangChain calls them (plain and streamed), one
base URL and key per organisation, a tool call to the stage tool for the organisation's keyword,
a plain answer otherwise, and a record of what it was asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from golive.sandbox.faults import FaultState
from golive.sandbox.model import ModelDouble, ModelSetup
from golive.sandbox.model.behaviour import answer, stage_tool
from golive.sandbox.servers import serve

KEY = "sk-golive-test"
STAGE_TOOL = {
    "type": "function",
    "function": {
        "name": "Mover_estagio",
        "description": "Move o deal atual do cliente para outro estagio do funil.",
        "parameters": {
            "type": "object",
            "properties": {"to_stage_label": {"type": "string"}, "ai_summary": {"type": "string"}},
            "required": ["to_stage_label", "ai_summary"],
        },
    },
}
OTHER_TOOL = {
    "type": "function",
    "function": {"name": "buscar_promocoes", "description": "Consulta campanhas e promocoes ativas."},
}


def chat(text: str, *after: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Voce e o atendente."}, {"role": "user", "content": text}, *after]


@pytest.fixture
def model() -> Iterator[tuple[httpx.Client, ModelDouble, FaultState]]:
    faults = FaultState()
    double = ModelDouble(
        [
            ModelSetup("sandbox-pilot", KEY, "orçamento", "Proposta"),
            ModelSetup("sandbox-second", "sk-2", "orçamento", "Proposta"),
        ],
        lambda name, slug: faults.on(name, slug),
    )
    server = serve("model-double", double.app())
    client = httpx.Client(
        base_url=double.base_url(server.url, "sandbox-pilot"),
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    try:
        yield client, double, faults
    finally:
        client.close()
        server.stop()


def test_a_customer_asking_for_the_keyword_gets_a_tool_call_to_the_stage_tool(
    model: tuple[httpx.Client, ModelDouble, FaultState],
) -> None:
    client, double, _ = model
    body = {
        "model": "gpt-4o-mini",
        "messages": chat("Pode me mandar um ORCAMENTO?"),
        "tools": [OTHER_TOOL, STAGE_TOOL],
    }
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 200
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "Mover_estagio"
    arguments = json.loads(call["function"]["arguments"])
    assert arguments["to_stage_label"] == "Proposta" and "ORCAMENTO" in arguments["ai_summary"]
    [record] = double.records("sandbox-pilot")
    assert record["tools"] == ["buscar_promocoes", "Mover_estagio"]
    assert record["answer"] == {"tool_call": {"name": "Mover_estagio", "arguments": arguments}}
    assert record["messages"][-1]["content"] == "Pode me mandar um ORCAMENTO?"


def test_after_the_tool_answered_and_for_other_messages_it_answers_in_text(
    model: tuple[httpx.Client, ModelDouble, FaultState],
) -> None:
    client, _, _ = model
    tool_turn = [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"action": "moved"}'},
    ]
    after_tool = client.post(
        "/chat/completions", json={"messages": chat("um orçamento", *tool_turn), "tools": [STAGE_TOOL]}
    )
    assert after_tool.json()["choices"][0]["finish_reason"] == "stop"
    assert "orçamento" in after_tool.json()["choices"][0]["message"]["content"]
    plain = client.post(
        "/chat/completions", json={"messages": chat("Vocês abrem domingo?"), "tools": [STAGE_TOOL]}
    )
    assert "tool_calls" not in plain.json()["choices"][0]["message"]
    assert plain.json()["choices"][0]["finish_reason"] == "stop"


def test_the_fault_silences_the_tool_for_that_organisation_only(
    model: tuple[httpx.Client, ModelDouble, FaultState],
) -> None:
    client, _, faults = model
    faults.set(["model-never-calls-tool"], "sandbox-second")
    asked = {"messages": chat("um orçamento"), "tools": [STAGE_TOOL]}
    assert client.post("/chat/completions", json=asked).json()["choices"][0]["finish_reason"] == "tool_calls"
    faults.set(["model-never-calls-tool"], "sandbox-pilot")
    silent = client.post("/chat/completions", json=asked).json()["choices"][0]
    assert silent["finish_reason"] == "stop" and "tool_calls" not in silent["message"]


def test_a_streamed_answer_is_server_sent_events_ending_with_done(
    model: tuple[httpx.Client, ModelDouble, FaultState],
) -> None:
    client, _, _ = model
    body = {
        "messages": chat("um orçamento"),
        "tools": [STAGE_TOOL],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = client.post("/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["function"]["name"] == "Mover_estagio"
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls" and "usage" in chunks[-1]


def test_keys_and_organisations_are_checked_like_openai(
    model: tuple[httpx.Client, ModelDouble, FaultState],
) -> None:
    client, _, _ = model
    wrong = client.post(
        "/chat/completions", json={"messages": []}, headers={"Authorization": "Bearer sk-other"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/models").json()["data"][0]["object"] == "model"
    unknown = httpx.post(
        str(client.base_url).replace("sandbox-pilot", "nobody") + "/chat/completions", json={}
    )
    assert unknown.status_code == 404
    bad = client.post("/chat/completions", json={"messages": "hello"})
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]


def test_the_stage_tool_is_chosen_by_what_it_does_preferring_the_target_stage() -> None:
    per_stage = [
        {"name": "crm_em_atendimento", "description": "ETAPA 1: move o deal para Em Atendimento"},
        {"name": "crm_proposta", "description": "ETAPA 3: move o deal para Proposta"},
        {"name": "buscar_deals", "description": "Busca os deals abertos do contato"},
    ]
    assert stage_tool(per_stage, "Proposta") == per_stage[1]
    assert stage_tool([per_stage[2]], "Proposta") is None
    no_tool = answer(chat("um orçamento"), [OTHER_TOOL], keyword="orçamento", stage="Proposta")
    assert no_tool.tool_call is None and no_tool.text
