"""The n8n and Chatwoot clients against respx: paths, auth headers, paging, finding the
execution a delivery started, and the returning-customer path of an API-inbox message."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from golive.clients.chatwoot import ChatwootClient
from golive.clients.control import ControlClient
from golive.clients.http import build_client
from golive.clients.n8n import N8nClient
from golive.errors import ApiError, WaitTimeout

N8N = "http://n8n.test"
CHATWOOT = "http://chatwoot.test"


def n8n_client() -> N8nClient:
    http = build_client("n8n", base_url=N8N, timeout=2, headers={"X-N8N-API-KEY": "n8n-key-123"})
    return N8nClient(http=http, organisation="acme")


def execution(eid: str, status: str, message_id: int, *, automation: bool = False) -> dict[str, Any]:
    """An execution as real n8n 1.123 returns it: sub-nodes before the agent in the object,
    the start order in `executionIndex`, the node types in `workflowData` (names are free)."""
    body: dict[str, Any] = {"id": message_id, "event": "message_created"}
    if automation:  # the conversation at the top, the message in messages[0]
        body = {"id": 418, "event": "automation_event.message_created", "messages": [{"id": message_id}]}
    memory_asked = {"action": "loadMemoryVariables", "values": {"input": "Oi"}}
    memory_answered = {"action": "loadMemoryVariables", "chatHistory": []}
    return {
        "id": eid,
        "workflowId": "wf-1",
        "status": status,
        "workflowData": {
            "nodes": [
                {"name": "Gatilho", "type": "n8n-nodes-base.webhook"},
                {"name": "Memoria_Redis", "type": "@n8n/n8n-nodes-langchain.memoryRedisChat"},
            ]
        },
        "data": {
            "resultData": {
                "runData": {
                    "Memoria_Redis": [
                        {
                            "executionIndex": 1,
                            "executionStatus": "success",
                            "inputOverride": {"ai_memory": [[{"json": memory_asked}]]},
                            "data": {"ai_memory": [[{"json": memory_answered}]]},
                        }
                    ],
                    "Gatilho": [{"executionIndex": 0, "data": {"main": [[{"json": {"body": body}}]]}}],
                }
            }
        },
    }


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_workflows_follow_the_cursor_and_send_the_api_key(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/api/v1/workflows").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [{"id": "a", "name": "A", "active": True, "tags": [{"name": "v2"}], "nodes": []}],
                    "nextCursor": "page2",
                },
            ),
            httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "b",
                            "name": "B",
                            "active": False,
                            "tags": [],
                            "nodes": [{"type": "n8n-nodes-base.webhook", "parameters": {"path": "hook-b"}}],
                        }
                    ],
                    "nextCursor": None,
                },
            ),
        ]
    )
    workflows = n8n_client().workflows(tags="v2")
    assert [w.id for w in workflows] == ["a", "b"]
    assert workflows[0].tags == ("v2",) and workflows[1].webhook_paths() == ["hook-b"]
    first, second = route.calls
    assert first.request.headers["X-N8N-API-KEY"] == "n8n-key-123"
    assert first.request.url.params["tags"] == "v2" and "cursor" not in first.request.url.params
    assert second.request.url.params["cursor"] == "page2"


class FakeExecutions:
    """n8n's executions API over a list of states: each poll of the list moves one step on."""

    def __init__(self, *steps: list[dict[str, Any]]) -> None:
        self.steps = list(steps)
        self.step = 0
        self.fetched: list[str] = []

    def listed(self, request: httpx.Request) -> httpx.Response:
        self.step = min(self.step + 1, len(self.steps))
        assert request.url.params["includeData"] == "false"  # the list travels without run data
        current = self.steps[self.step - 1]
        return httpx.Response(
            200, json={"data": [{k: v for k, v in e.items() if k != "data"} for e in current]}
        )

    def one(self, request: httpx.Request, eid: str) -> httpx.Response:
        self.fetched.append(eid)
        current = {e["id"]: e for e in self.steps[self.step - 1]}
        return httpx.Response(200, json=current[eid])


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_the_execution_of_a_message_is_awaited_until_it_finishes(respx_mock: respx.MockRouter) -> None:
    fake = FakeExecutions(
        [execution("1", "success", 111)],
        [execution("2", "running", 222), execution("1", "success", 111)],
        [execution("2", "success", 222), execution("1", "success", 111)],
    )
    respx_mock.get("/api/v1/executions").mock(side_effect=fake.listed)
    respx_mock.get(path__regex=r"/api/v1/executions/(?P<eid>\w+)").mock(side_effect=fake.one)
    found = n8n_client().execution_for_message("wf-1", 222, timeout=5)
    assert found.id == "2" and found.finished
    assert fake.fetched.count("1") == 1  # a finished execution's message is read once
    assert found.nodes_run() == ["Gatilho", "Memoria_Redis"]  # by executionIndex
    assert found.trigger() == "Gatilho"
    [call] = found.sub_runs("Memoria_Redis")
    assert call.asked["action"] == "loadMemoryVariables" and call.answered["chatHistory"] == []


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_an_automation_rule_body_is_matched_by_its_message(respx_mock: respx.MockRouter) -> None:
    fake = FakeExecutions([execution("7", "success", 333, automation=True)])
    respx_mock.get("/api/v1/executions").mock(side_effect=fake.listed)
    respx_mock.get(path__regex=r"/api/v1/executions/(?P<eid>\w+)").mock(side_effect=fake.one)
    client = n8n_client()
    found = client.execution_for_message("wf-1", 333, timeout=1)
    assert found.id == "7" and found.message_id() == 333
    with pytest.raises(WaitTimeout):
        client.execution_for_message("wf-1", 418, timeout=0.05)  # the conversation id is not it


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_the_version_says_when_the_n8n_is_the_sandbox_double(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/rest/settings")
    route.mock(return_value=httpx.Response(200, json={"data": {"versionCli": "1.123.81"}}))
    assert n8n_client().version() == "1.123.81"
    # without login a real n8n hides versionCli; its editor page carries the release
    route.mock(return_value=httpx.Response(200, json={"data": {"settingsMode": "public"}}))
    sentry = base64.b64encode(b'{"dsn":"","environment":"production","release":"n8n@1.123.81"}').decode()
    page = f'<html><head><meta name="n8n:config:sentry" content="{sentry}"></head></html>'
    respx_mock.get("/").mock(return_value=httpx.Response(200, text=page))
    assert n8n_client().version() == "1.123.81"
    double = {"versionCli": "golive n8n double", "golive": {"double": True, "why": "no n8n install"}}
    route.mock(return_value=httpx.Response(200, json={"data": double}))
    assert n8n_client().version() == "golive n8n double (no real n8n: no n8n install)"


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_a_message_that_started_no_execution_times_out_with_the_message_id(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/api/v1/executions").mock(return_value=httpx.Response(200, json={"data": []}))
    with pytest.raises(WaitTimeout, match="message 333"):
        n8n_client().execution_for_message("wf-1", 333, timeout=0.05)


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_a_refused_api_key_is_an_api_error_naming_the_organisation(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/api/v1/workflows/x").mock(
        return_value=httpx.Response(401, json={"message": "unauthorized"})
    )
    with pytest.raises(ApiError, match=r"\[acme\].*401.*unauthorized"):
        n8n_client().workflow("x")


def chatwoot_client() -> ChatwootClient:
    http = build_client("chatwoot", base_url=CHATWOOT, timeout=2, headers={"api_access_token": "cw-token-9"})
    return ChatwootClient(http=http, organisation="acme", account_id=7)


@respx.mock(base_url=CHATWOOT, assert_all_mocked=True)
def test_a_new_customer_gets_a_contact_a_conversation_and_an_incoming_message(
    respx_mock: respx.MockRouter,
) -> None:
    search = respx_mock.get("/api/v1/accounts/7/contacts/search").mock(
        return_value=httpx.Response(200, json={"payload": []})
    )
    contact = respx_mock.post("/api/v1/accounts/7/contacts").mock(
        return_value=httpx.Response(200, json={"payload": {"contact": {"id": 3001}}})
    )
    respx_mock.post("/api/v1/accounts/7/conversations").mock(
        return_value=httpx.Response(200, json={"id": 5000})
    )
    message = respx_mock.post("/api/v1/accounts/7/conversations/5000/messages").mock(
        return_value=httpx.Response(200, json={"id": 90001})
    )
    created = chatwoot_client().incoming_message(
        inbox_id=40, name="Ana", phone="+5521987654322", text="oi", source_id="5521987654322@s.whatsapp.net"
    )
    assert (created.contact_id, created.conversation_id, created.message_id) == (3001, 5000, 90001)
    assert search.calls.last.request.url.params["q"] == "+5521987654322"
    assert json.loads(contact.calls.last.request.content)["inbox_id"] == 40
    assert json.loads(message.calls.last.request.content) == {"content": "oi", "message_type": "incoming"}
    assert message.calls.last.request.headers["api_access_token"] == "cw-token-9"


@respx.mock(base_url=CHATWOOT, assert_all_mocked=True)
def test_a_returning_customer_keeps_their_contact(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/api/v1/accounts/7/contacts/search").mock(
        return_value=httpx.Response(200, json={"payload": [{"id": 3005, "phone_number": "+5521987654322"}]})
    )
    link = respx_mock.post("/api/v1/accounts/7/contacts/3005/contact_inboxes").mock(
        return_value=httpx.Response(422, json={"message": "Source has already been taken"})
    )
    conversation = respx_mock.post("/api/v1/accounts/7/conversations").mock(
        return_value=httpx.Response(200, json={"id": 5001})
    )
    respx_mock.post("/api/v1/accounts/7/conversations/5001/messages").mock(
        return_value=httpx.Response(200, json={"id": 90002})
    )
    created = chatwoot_client().incoming_message(
        inbox_id=40, name="Ana", phone="+5521987654322", text="oi", source_id="src-1"
    )
    assert created.contact_id == 3005 and link.called
    assert json.loads(conversation.calls.last.request.content)["contact_id"] == 3005


@respx.mock(base_url="http://control.test", assert_all_mocked=True)
def test_an_outage_is_started_and_ended_by_its_owner_only(respx_mock: respx.MockRouter) -> None:
    started = respx_mock.put("/outages/acme%20co").mock(
        return_value=httpx.Response(200, json={"outages": {}})
    )
    ended = respx_mock.delete("/outages/acme%20co").mock(
        return_value=httpx.Response(200, json={"outages": {}})
    )
    listed = respx_mock.get("/outages").mock(
        return_value=httpx.Response(200, json={"outages": {"acme co": [30, 31], "other": [40]}})
    )
    http = build_client("control", base_url="http://control.test", timeout=2)
    control = ControlClient(http=http, organisation="acme co")
    control.start_outage([30, 31])
    assert json.loads(started.calls.last.request.content) == {"inboxes": [30, 31]}
    assert control.outages() == {"acme co": [30, 31], "other": [40]} and listed.called
    control.end_outage()
    assert ended.call_count == 1


@respx.mock(base_url=N8N, assert_all_mocked=True)
def test_among_many_executions_the_nearest_in_time_are_read_first_and_few_per_poll(
    respx_mock: respx.MockRouter,
) -> None:
    """Eight scenarios side by side start dozens of executions of one workflow: the wait reads
    (with their whole run data) only finished ones, nearest to when it asked first, a few a poll;
    a running one is left for a later poll rather than read again and again."""
    now = datetime.now(UTC)

    def at(seconds_ago: float, body: dict[str, Any]) -> dict[str, Any]:
        return {
            **body,
            "startedAt": (now - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z"),
        }

    older = [at(60 + n, execution(str(100 + n), "success", 1000 + n)) for n in range(40)]
    running = [at(0.5, execution("200", "running", 222)), at(0.2, execution("201", "running", 999))]
    done = [at(0.5, execution("200", "success", 222)), at(0.2, execution("201", "running", 999))]
    fake = FakeExecutions(running + older, running + older, done + older)
    respx_mock.get("/api/v1/executions").mock(side_effect=fake.listed)
    respx_mock.get(path__regex=r"/api/v1/executions/(?P<eid>\w+)").mock(side_effect=fake.one)
    found = n8n_client().execution_for_message("wf-1", 222, timeout=10)
    assert found.id == "200"
    assert "201" not in fake.fetched  # still running: never read
    assert len(fake.fetched) <= 2 * 4 + 1  # two polls of old ones, a few each, then ours
    assert len(set(fake.fetched)) == len(fake.fetched)  # a finished execution is read once
