"""Contract tests of the n8n double (golive/sandbox/n8n/).

The double runs on a real loopback server and talks to a tiny fake CRM and Chatwoot (one real
server, defined here) that records every call, so the tests see exactly what the flow sent
where. Background executions are awaited by polling with a deadline, never by sleeping. That
the double records what a real n8n records is tests/sandbox/test_n8n_contract.py's job.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.faults import FaultState
from golive.sandbox.n8n import N8nDouble, WorkflowSetup
from golive.sandbox.servers import RunningServer, serve
from golive.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "fixtures" / "n8n" / "agent-v2.json"
R1_EXPORT = ROOT / "fixtures" / "n8n" / "nonconformant" / "r1-move-by-identity.json"
R4_EXPORT = ROOT / "fixtures" / "n8n" / "nonconformant" / "r4-name-fallback.json"
CW_TOKEN = "chatwoot-agent-token"
GONE_CONVERSATION = 999  # a conversation the fake Chatwoot does not know

API_KEY = "n8n-test-full-key"
LIMITED_KEY = "n8n-test-list-only-key"
CRM_KEY = "ncrm_test_pilot_key"
PILOT_ID, PILOT_PATH = "wf-pilot-v2", "lagosta-agent-v2-pilot"
SECOND_ID, SECOND_PATH = "wf-second-v2", "lagosta-agent-v2-second"
PILOT_NAME = "LagostaCRM Agente v2 — Coronel Picanha (sandbox)"
SECOND_NAME = "LagostaCRM Agente v2 — Emporio Sabor (sandbox)"
API_INBOX_WA, API_INBOX_UNCONFIGURED = 50, 51
IGSID = "17841400000000031"
WA_PHONE = "+5511987654321"

ALL_NODES = {
    "Webhook",
    "Fluxo_Variaveis",
    "Filtrar mensagens",
    "Identidade canonica",
    "Dados_Evento",
    "Identidade valida?",
    "Buscar contato",
    "Contato encontrado?",
    "Garantir deal",
    "Contexto_Deal",
    "Buffer",
    "Memoria",
    "Chat Model",
    "AI Agent",
    "Responder no Chatwoot",
}
INVALID_PATH_NODES = {
    "Webhook",
    "Fluxo_Variaveis",
    "Filtrar mensagens",
    "Identidade canonica",
    "Dados_Evento",
    "Identidade valida?",
    "Registrar evento invalido",
}
N8N_STATUSES = {"canceled", "crashed", "error", "new", "running", "success", "unknown", "waiting"}
PRODUCTION_HINT = (
    "The workflow must be active for a production URL to run successfully. You can activate "
    "the workflow using the toggle in the top-right of the editor. Note that unlike test URL "
    "calls, production URL calls aren't shown on the canvas (only in the executions list)"
)
TEST_HINT = (
    "Click the 'Execute workflow' button on the canvas, then try again. (In test mode, the "
    "webhook only works for one call after you click this button)"
)


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# --- a fake CRM: just enough of /api/public/v1, recording every call ---------------------------


class FakeCrm:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []  # what the flow posted to Chatwoot
        self.by_identifier: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_phone: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, dict[str, Any]] = {}
        self.deals: dict[str, dict[str, Any]] = {}  # contact id -> open deal
        self.fail: dict[tuple[str, str], int] = {}  # (method, route) -> status to answer
        self.gate = threading.Event()
        self.gate.set()

    def contact(
        self, name: str, *, identifier: tuple[str, str] | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        contact = {"id": str(uuid.uuid4()), "name": name, "phone": phone}
        if identifier is not None:
            self.by_identifier[identifier] = contact
        if phone is not None:
            self.by_phone[phone] = contact
        self.by_name[name] = contact
        return contact

    def calls(self, method: str | None = None, route: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r["method"] == method) and (route is None or r["route"] == route)
            ]

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> JSONResponse:
            rest = str(request.path_params["rest"])
            raw = await request.body()
            body = json.loads(raw) if raw else None
            parts = rest.split("/")
            route = (
                "contacts"
                if parts == ["contacts"]
                else "deals"
                if parts == ["deals"]
                else "move-stage-by-identity"
                if parts == ["deals", "move-stage-by-identity"]
                else "move-stage"
                if len(parts) == 3 and parts[0] == "deals" and parts[2] == "move-stage"
                else "unknown"
            )
            with self.lock:
                self.requests.append(
                    {
                        "method": request.method,
                        "route": route,
                        "path": request.url.path,
                        "query": dict(request.query_params),
                        "body": body,
                        "api_key": request.headers.get("x-api-key"),
                    }
                )
            await run_in_threadpool(self.gate.wait, 20)
            if request.headers.get("x-api-key") != CRM_KEY:
                return JSONResponse({"error": "Invalid API key", "code": "AUTH_INVALID"}, 401)
            forced = self.fail.get((request.method, route))
            if forced:
                return JSONResponse({"error": "forced by the test", "code": "DB_ERROR"}, forced)
            return self._answer(request, route, parts, body)

        async def reply(request: Request) -> JSONResponse:
            """Chatwoot's messages endpoint: the flow's answer on a conversation."""
            conversation = int(request.path_params["conversation"])
            body = json.loads(await request.body())
            with self.lock:
                self.replies.append(
                    {
                        "conversation": conversation,
                        "body": body,
                        "token": request.headers.get("api_access_token"),
                    }
                )
            if request.headers.get("api_access_token") != CW_TOKEN:
                return JSONResponse({"error": "Invalid Access Token"}, 401)
            if conversation == GONE_CONVERSATION:
                return JSONResponse({"error": "Resource could not be found"}, 404)
            return JSONResponse({"id": 77, "conversation_id": conversation, "message_type": 1, **body})

        return Starlette(
            routes=[
                Route("/api/public/v1/{rest:path}", endpoint, methods=["GET", "POST"]),
                Route("/api/v1/accounts/7/conversations/{conversation}/messages", reply, methods=["POST"]),
            ]
        )

    def _answer(self, request: Request, route: str, parts: list[str], body: Any) -> JSONResponse:
        q = request.query_params
        with self.lock:
            if route == "contacts" and request.method == "GET":
                hit = None
                if q.get("identifier"):
                    hit = self.by_identifier.get((q.get("channel", ""), q["identifier"]))
                elif q.get("phone"):
                    hit = self.by_phone.get(q["phone"])
                elif q.get("q"):
                    hit = self.by_name.get(q["q"])
                return JSONResponse({"data": [hit] if hit else [], "nextCursor": None})
            if route == "contacts":
                contact = {"id": str(uuid.uuid4()), "name": body["name"], "phone": body["phone"]}
                self.by_phone[body["phone"]] = contact
                return JSONResponse({"data": contact, "action": "created"}, 201)
            if route == "deals":
                existing = self.deals.get(body["contact_id"])
                if existing:
                    return JSONResponse({"data": existing, "action": "existing"})
                deal = {
                    "id": str(uuid.uuid4()),
                    "title": body["title"],
                    "contact_id": body["contact_id"],
                    "stage": "Novo contato",
                }
                self.deals[body["contact_id"]] = deal
                return JSONResponse({"data": deal, "action": "created"}, 201)
            if route == "move-stage":
                moved = [d for d in self.deals.values() if d["id"] == parts[1]]
                if not moved:
                    return JSONResponse({"error": "Deal not found", "code": "NOT_FOUND"}, 404)
                deal = moved[0]
                deal["stage"] = body["to_stage_label"]
                return JSONResponse({"data": deal, "action": "moved"})
            if route == "move-stage-by-identity":
                return JSONResponse({"data": {"moved_by": "identity"}, "action": "moved"})
        return JSONResponse({"error": "Not found", "code": "NOT_FOUND"}, 404)


@pytest.fixture(scope="module")
def crm_server() -> Iterator[tuple[FakeCrm, RunningServer]]:
    crm = FakeCrm()
    server = serve("fake-crm", crm.app())
    yield crm, server
    crm.gate.set()
    server.stop()


@pytest.fixture
def crm(crm_server: tuple[FakeCrm, RunningServer]) -> Iterator[FakeCrm]:
    fake, _ = crm_server
    fake.reset()
    yield fake
    fake.gate.set()


# --- the double under test -------------------------------------------------------------------


@dataclass
class Sandbox:
    double: N8nDouble
    faults: FaultState
    url: str
    crm_url: str
    api: httpx.Client  # /api/v1 with the full key
    web: httpx.Client  # webhooks, no key


def _setups(crm_url: str) -> list[WorkflowSetup]:
    common: dict[str, Any] = {
        "crm_base_url": crm_url,
        "crm_api_key": CRM_KEY,
        "board_key": "atendimento",
        "move_keyword": "orçamento",
        "move_stage": "Proposta",
        "template_path": TEMPLATE,
        "chatwoot_base_url": crm_url,  # the fake server answers Chatwoot's messages route too
        "chatwoot_token": CW_TOKEN,
        "chatwoot_account_id": 7,
    }
    return [
        WorkflowSetup(
            id=PILOT_ID,
            name=PILOT_NAME,
            webhook_path=PILOT_PATH,
            api_channel_sources={API_INBOX_WA: "WHATSAPP"},
            organisation="sandbox-pilot",
            **common,
        ),
        WorkflowSetup(
            id=SECOND_ID,
            name=SECOND_NAME,
            webhook_path=SECOND_PATH,
            active=False,
            tags=("v2", "legacy"),
            organisation="sandbox-second",
            **common,
        ),
    ]


@pytest.fixture
def sandbox(crm: FakeCrm, crm_server: tuple[FakeCrm, RunningServer]) -> Iterator[Sandbox]:
    faults = FaultState()
    double = N8nDouble(
        faults=faults,
        api_key=API_KEY,
        limited_api_key=LIMITED_KEY,
        workflows=_setups(crm_server[1].url),
    )
    server = serve("n8n-double", double.app())
    api = httpx.Client(base_url=server.url, headers={"X-N8N-API-KEY": API_KEY}, timeout=10)
    web = httpx.Client(base_url=server.url, timeout=10)
    try:
        yield Sandbox(double, faults, server.url, crm_server[1].url, api, web)
    finally:
        crm.gate.set()
        api.close()
        web.close()
        server.stop()
        double.close()


# --- Chatwoot-shaped payloads (local to these tests) -------------------------------------------

_ids = itertools.count(90_000)


def ig_message(
    content: str = "Oi! Vocês abrem no domingo?",
    *,
    source_id: Any = IGSID,
    identifier: Any = None,
    name: str = "Ana Beatriz",
    **top: Any,
) -> dict[str, Any]:
    sender = {
        "id": 5120,
        "name": name,
        "identifier": identifier,
        "phone_number": None,
        "email": None,
        "blocked": False,
    }
    payload: dict[str, Any] = {
        "event": "message_created",
        "id": next(_ids),
        "content": content,
        "message_type": "incoming",
        "content_type": "text",
        "private": False,
        "account": {"id": 7, "name": "Lagosta Sandbox"},
        "inbox": {"id": 31, "name": "Instagram"},
        "conversation": {
            "id": 418,
            "inbox_id": 31,
            "channel": "Channel::Instagram",
            "labels": [],
            "contact_inbox": {"id": 8810, "inbox_id": 31, "source_id": source_id},
            "meta": {"sender": {**sender, "type": "contact"}},
        },
        "sender": sender,
    }
    payload.update(top)
    return payload


def wa_message(
    content: str = "Bom dia, tem mesa para hoje?",
    *,
    phone: str = WA_PHONE,
    channel: str = "Channel::Whatsapp",
    inbox: int = 30,
) -> dict[str, Any]:
    sender = {
        "id": 6001,
        "name": "Maria Legado",
        "identifier": None,
        "phone_number": phone,
        "email": None,
        "blocked": False,
    }
    return {
        "event": "message_created",
        "id": next(_ids),
        "content": content,
        "message_type": "incoming",
        "content_type": "text",
        "private": False,
        "account": {"id": 7, "name": "Lagosta Sandbox"},
        "inbox": {"id": inbox, "name": "WA"},
        "conversation": {
            "id": 501,
            "inbox_id": inbox,
            "channel": channel,
            "labels": [],
            "contact_inbox": {"id": 9001, "inbox_id": inbox, "source_id": phone.lstrip("+")},
            "meta": {"sender": {**sender, "type": "contact"}},
        },
        "sender": sender,
    }


def automation(message: dict[str, Any]) -> dict[str, Any]:
    """The same message as an automation rule posts it: the conversation at the top, the
    message (int type) in messages[0]."""
    embedded = {
        "id": message["id"],
        "content": message["content"],
        "message_type": 0 if message["message_type"] == "incoming" else 1,
        "private": message["private"],
        "sender": {**message["sender"], "type": "contact"},
    }
    return {"event": "automation_event.message_created", **message["conversation"], "messages": [embedded]}


def deliver(sb: Sandbox, payload: dict[str, Any], *, path: str = PILOT_PATH, test: bool = False) -> Any:
    """Post like Chatwoot would; return the body's id (the message, or the conversation of a
    non-message event), which finds the execution again."""
    response = sb.web.post(
        f"/{'webhook-test' if test else 'webhook'}/{path}",
        content=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Chatwoot-Delivery": str(uuid.uuid4())},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Workflow was started"}
    messages = payload.get("messages")
    return (
        messages[0]["id"] if payload.get("event", "").startswith("automation_event.") else payload.get("id")
    )


def execution_for(sb: Sandbox, delivered: Any) -> dict[str, Any]:
    def handled(execution: dict[str, Any]) -> Any:
        body = out(execution, "Webhook")["body"]
        if str(body.get("event", "")).startswith("automation_event."):
            return body["messages"][0]["id"]
        return body.get("id")

    def probe() -> list[dict[str, Any]]:
        response = sb.api.get("/api/v1/executions", params={"includeData": "true", "limit": 250})
        response.raise_for_status()
        return [e for e in response.json()["data"] if handled(e) == delivered]

    found = eventually(probe, timeout=15, what=f"the n8n execution for {delivered}")
    assert len(found) == 1, found
    return found[0]


def run_data(execution: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = execution["data"]["resultData"]["runData"]
    return result


def out(execution: dict[str, Any], node: str, kind: str = "main", run: int = 0) -> Any:
    """The first output item's json of a node (n8n files sub-node output under ai_*)."""
    branches = run_data(execution)[node][run]["data"][kind]
    return next(branch[0]["json"] for branch in branches if branch)


def asked(execution: dict[str, Any], node: str, kind: str, run: int = 0) -> Any:
    """What a sub-node was asked in one call (its `inputOverride`)."""
    return run_data(execution)[node][run]["inputOverride"][kind][0][0]["json"]


# --- webhooks: n8n's exact 404 bodies --------------------------------------------------------


def test_unknown_production_path_gets_n8ns_exact_404(sandbox: Sandbox) -> None:
    response = sandbox.web.post("/webhook/no-such-path", json={})
    assert response.status_code == 404
    assert response.text == _compact(
        {
            "code": 404,
            "message": 'The requested webhook "POST no-such-path" is not registered.',
            "hint": PRODUCTION_HINT,
        }
    )


def test_test_url_is_not_registered_until_armed_then_listens_once(sandbox: Sandbox) -> None:
    expected = _compact(
        {
            "code": 404,
            "message": f'The requested webhook "POST {PILOT_PATH}" is not registered.',
            "hint": TEST_HINT,
        }
    )
    first = sandbox.web.post(f"/webhook-test/{PILOT_PATH}", json={})
    assert (first.status_code, first.text) == (404, expected)

    armed = sandbox.api.post(f"/__double/workflows/{PILOT_ID}/listen-test")
    assert armed.status_code == 200 and armed.json()["armed"] is True
    wrong = sandbox.web.get(f"/webhook-test/{PILOT_PATH}")  # a wrong method does not use it up
    assert wrong.status_code == 404 and "hint" not in wrong.json()
    delivery = deliver(sandbox, ig_message(), test=True)
    again = sandbox.web.post(f"/webhook-test/{PILOT_PATH}", json={})
    assert (again.status_code, again.text) == (404, expected)

    execution = execution_for(sandbox, delivery)
    assert execution["mode"] == "manual"
    assert out(execution, "Webhook")["executionMode"] == "test"


def test_test_url_works_for_an_inactive_workflow_once_armed(sandbox: Sandbox) -> None:
    assert sandbox.web.post(f"/webhook/{SECOND_PATH}", json={}).status_code == 404
    sandbox.api.post(f"/__double/workflows/{SECOND_ID}/listen-test").raise_for_status()
    execution = execution_for(sandbox, deliver(sandbox, ig_message(), path=SECOND_PATH, test=True))
    assert execution["workflowId"] == SECOND_ID


def test_wrong_method_on_a_live_path_names_the_registered_method(sandbox: Sandbox) -> None:
    response = sandbox.web.get(f"/webhook/{PILOT_PATH}")
    assert response.status_code == 404
    assert response.text == _compact(
        {
            "code": 404,
            "message": "This webhook is not registered for GET requests. "
            "Did you mean to make a POST request?",
        }
    )


def test_a_trailing_slash_is_ignored_like_n8n(sandbox: Sandbox) -> None:
    response = sandbox.web.post(f"/webhook/{PILOT_PATH}/", json={"event": "conversation_created"})
    assert response.status_code == 200


@pytest.mark.parametrize(("off", "on"), [("deactivate", "activate"), ("unpublish", "publish")])
def test_a_deactivated_workflow_answers_the_production_404_until_published(
    sandbox: Sandbox, off: str, on: str
) -> None:
    response = sandbox.api.post(f"/api/v1/workflows/{PILOT_ID}/{off}")
    assert response.status_code == 200
    body = response.json()
    assert (body["active"], body["activeVersionId"], body["triggerCount"]) == (False, None, 0)

    gone = sandbox.web.post(f"/webhook/{PILOT_PATH}", json={})
    assert gone.status_code == 404
    assert gone.json() == {
        "code": 404,
        "message": f'The requested webhook "POST {PILOT_PATH}" is not registered.',
        "hint": PRODUCTION_HINT,
    }
    wrong_method = sandbox.web.get(f"/webhook/{PILOT_PATH}")  # no live method: plain 404
    assert wrong_method.json()["hint"] == PRODUCTION_HINT

    back = sandbox.api.post(f"/api/v1/workflows/{PILOT_ID}/{on}")
    assert back.status_code == 200 and back.json()["active"] is True
    assert back.json()["activeVersionId"] == back.json()["versionId"]
    assert sandbox.web.post(f"/webhook/{PILOT_PATH}", json={}).status_code == 200


# --- public API: auth and scopes -------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/workflows",
        f"/api/v1/workflows/{PILOT_ID}",
        "/api/v1/executions",
        "/api/v1/executions/1",
    ],
)
def test_api_refuses_a_missing_or_unknown_key_with_n8ns_401(sandbox: Sandbox, route: str) -> None:
    missing = sandbox.web.get(route)
    assert (missing.status_code, missing.json()) == (
        401,
        {"message": "'X-N8N-API-KEY' header required"},
    )
    unknown = sandbox.web.get(route, headers={"X-N8N-API-KEY": "not-a-key"})
    assert (unknown.status_code, unknown.json()) == (401, {"message": "unauthorized"})


def test_the_limited_key_may_only_list_workflows(sandbox: Sandbox) -> None:
    limited = {"X-N8N-API-KEY": LIMITED_KEY}
    listed = sandbox.web.get("/api/v1/workflows", headers=limited)
    assert listed.status_code == 200 and len(listed.json()["data"]) == 2
    for method, route in [
        ("GET", f"/api/v1/workflows/{PILOT_ID}"),
        ("GET", "/api/v1/workflows/no-such-id"),  # the scope is checked before existence
        ("POST", f"/api/v1/workflows/{PILOT_ID}/deactivate"),
        ("POST", f"/api/v1/workflows/{PILOT_ID}/publish"),
        ("GET", "/api/v1/executions"),
        ("GET", "/api/v1/executions/1"),
        ("POST", f"/__double/workflows/{PILOT_ID}/listen-test"),
    ]:
        response = sandbox.web.request(method, route, headers=limited)
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"}), route
    # nothing was deactivated by the refused call
    assert sandbox.web.post(f"/webhook/{PILOT_PATH}", json={}).status_code == 200


def test_unknown_workflow_and_execution_are_404_not_found(sandbox: Sandbox) -> None:
    for route in [
        "/api/v1/workflows/no-such-id",
        "/api/v1/executions/999",
        "/api/v1/executions/abc",
    ]:
        response = sandbox.api.get(route)
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"}), route
    response = sandbox.api.post("/api/v1/workflows/no-such-id/activate")
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


# --- public API: workflows -------------------------------------------------------------------


def _ids_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [w["id"] for w in response.json()["data"]]


def test_workflow_list_filters_active_tags_and_name(sandbox: Sandbox) -> None:
    get = sandbox.api.get
    assert _ids_of(get("/api/v1/workflows")) == [PILOT_ID, SECOND_ID]
    assert _ids_of(get("/api/v1/workflows", params={"active": "true"})) == [PILOT_ID]
    assert _ids_of(get("/api/v1/workflows", params={"active": "false"})) == [SECOND_ID]
    # tags: every listed tag must be on the workflow (n8n's "filtered by tags" semantics)
    assert _ids_of(get("/api/v1/workflows", params={"tags": "v2"})) == [PILOT_ID, SECOND_ID]
    assert _ids_of(get("/api/v1/workflows", params={"tags": "v2,lagosta-agent"})) == [PILOT_ID]
    assert _ids_of(get("/api/v1/workflows", params={"tags": "lagosta-agent,legacy"})) == []
    assert _ids_of(get("/api/v1/workflows", params={"name": "Emporio"})) == [SECOND_ID]
    assert _ids_of(get("/api/v1/workflows", params={"active": "true", "tags": "legacy"})) == []
    bad = get("/api/v1/workflows", params={"active": "yes"})
    assert bad.status_code == 400 and "active" in bad.json()["message"]


def test_workflow_list_pages_with_a_cursor(sandbox: Sandbox) -> None:
    first = sandbox.api.get("/api/v1/workflows", params={"limit": 1})
    assert _ids_of(first) == [PILOT_ID]
    cursor = first.json()["nextCursor"]
    assert isinstance(cursor, str) and cursor
    second = sandbox.api.get("/api/v1/workflows", params={"cursor": cursor})
    assert _ids_of(second) == [SECOND_ID]
    assert second.json()["nextCursor"] is None
    everything = sandbox.api.get("/api/v1/workflows", params={"limit": 250})
    assert everything.json()["nextCursor"] is None

    invalid = sandbox.api.get("/api/v1/workflows", params={"cursor": "bm90LWpzb24="})
    assert (invalid.status_code, invalid.json()) == (
        400,
        {"message": "An invalid cursor was provided"},
    )
    too_many = sandbox.api.get("/api/v1/workflows", params={"limit": 251})
    assert too_many.status_code == 400 and "250" in too_many.json()["message"]


def _node(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {n["name"]: n for n in workflow["nodes"]}
    return nodes[name]


def _shape(nodes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(n["name"], n["type"]) for n in nodes]


def _variables(workflow: dict[str, Any]) -> dict[str, str]:
    return {
        a["name"]: a["value"]
        for a in _node(workflow, "Fluxo_Variaveis")["parameters"]["assignments"]["assignments"]
    }


def test_the_served_workflow_is_the_organisations_copy_of_the_template(sandbox: Sandbox) -> None:
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    response = sandbox.api.get(f"/api/v1/workflows/{PILOT_ID}")
    assert response.status_code == 200
    workflow = response.json()
    assert (workflow["id"], workflow["name"], workflow["active"]) == (PILOT_ID, PILOT_NAME, True)
    assert [t["name"] for t in workflow["tags"]] == ["v2", "lagosta-agent"]
    assert all(set(t) == {"id", "name", "createdAt", "updatedAt"} for t in workflow["tags"])
    assert workflow["isArchived"] is False and workflow["triggerCount"] == 1
    assert workflow["versionId"] == template["versionId"]
    assert _shape(workflow["nodes"]) == _shape(template["nodes"])
    assert workflow["connections"] == template["connections"]
    assert _node(workflow, "Webhook")["parameters"]["path"] == PILOT_PATH
    # hosts and ids as the sandbox imports them into a real n8n: in the Set node, per organisation
    assert _variables(workflow) == {
        "CRM-Host": sandbox.crm_url,
        "CRM-BoardKey": "atendimento",
        "CW-Host": sandbox.crm_url,
        "CW-Account": "7",
        "CW-CanaisAPI": json.dumps({str(API_INBOX_WA): "WHATSAPP"}),
    }
    for key in ("settings", "createdAt", "updatedAt", "activeVersion", "shared", "pinData"):
        assert key in workflow, key
    second = sandbox.api.get(f"/api/v1/workflows/{SECOND_ID}").json()
    assert second["active"] is False and second["activeVersion"] is None
    assert _node(second, "Webhook")["parameters"]["path"] == SECOND_PATH


def test_workflow_faults_serve_their_variant_for_that_organisation_only(sandbox: Sandbox) -> None:
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    r1 = json.loads(R1_EXPORT.read_text(encoding="utf-8"))

    def served(workflow_id: str = PILOT_ID) -> dict[str, Any]:
        response = sandbox.api.get(f"/api/v1/workflows/{workflow_id}")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    sandbox.faults.set(["n8n-move-by-phone"], "sandbox-pilot")
    moved = served()
    assert _node(moved, "Mover estagio")["parameters"]["url"].endswith("/deals/move-stage-by-identity")
    assert (
        _node(moved, "Mover estagio")["parameters"]["jsonBody"]
        == _node(r1, "Mover estagio")["parameters"]["jsonBody"]
    )
    assert moved["versionId"] != template["versionId"]
    assert (moved["id"], moved["name"]) == (PILOT_ID, PILOT_NAME)
    assert _variables(moved)["CRM-Host"] == sandbox.crm_url  # still this organisation's copy
    untouched = served(SECOND_ID)
    assert _node(untouched, "Mover estagio")["parameters"]["url"].endswith("/move-stage")
    assert "by-identity" not in _node(untouched, "Mover estagio")["parameters"]["url"]

    sandbox.faults.set(["n8n-name-memory-key"])  # for the whole sandbox
    named = served(SECOND_ID)
    assert "sender?.name" in _node(named, "Identidade canonica")["parameters"]["jsCode"]

    sandbox.faults.clear()
    assert served()["versionId"] == template["versionId"]


# --- public API: executions ------------------------------------------------------------------


def test_an_execution_has_n8ns_shape_and_data_only_on_request(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    execution = execution_for(sandbox, deliver(sandbox, ig_message()))
    assert execution["id"].isdigit()
    assert execution["status"] == "success" and execution["status"] in N8N_STATUSES
    assert execution["finished"] is True and execution["mode"] == "webhook"
    assert execution["workflowId"] == PILOT_ID
    assert execution["waitTill"] is None and execution["retryOf"] is None
    assert execution["startedAt"].endswith("Z") and execution["stoppedAt"].endswith("Z")
    assert execution["startedAt"] <= execution["stoppedAt"]
    assert execution["customData"] == {}  # the template sets no execution metadata
    assert execution["workflowData"]["id"] == PILOT_ID

    plain = sandbox.api.get(f"/api/v1/executions/{execution['id']}")
    assert plain.status_code == 200
    assert "data" not in plain.json() and "customData" not in plain.json()
    listed = sandbox.api.get("/api/v1/executions").json()["data"]
    assert [e["id"] for e in listed] == [execution["id"]] and "data" not in listed[0]
    detailed = sandbox.api.get(f"/api/v1/executions/{execution['id']}", params={"includeData": "true"}).json()
    assert detailed["data"]["resultData"]["lastNodeExecuted"] == "Responder no Chatwoot"
    indexes = []
    for name, runs in run_data(detailed).items():
        for entry in runs:
            assert isinstance(entry["startTime"], int) and isinstance(entry["executionTime"], int)
            assert entry["executionStatus"] == "success", name
            assert isinstance(entry["source"], list) and isinstance(entry["data"], dict)
            indexes.append(entry["executionIndex"])
    assert sorted(indexes) == list(range(len(indexes)))  # the order nodes started in


def test_executions_are_listed_newest_first_and_paged_by_cursor(sandbox: Sandbox) -> None:
    deliveries = [deliver(sandbox, {"event": "conversation_created", "id": i}) for i in range(3)]
    executions = [execution_for(sandbox, d) for d in deliveries]
    ids = [int(e["id"]) for e in executions]
    assert ids == sorted(ids)

    first = sandbox.api.get("/api/v1/executions", params={"limit": 2})
    assert [int(e["id"]) for e in first.json()["data"]] == [ids[2], ids[1]]
    cursor = first.json()["nextCursor"]
    assert cursor
    second = sandbox.api.get("/api/v1/executions", params={"cursor": cursor})
    assert [int(e["id"]) for e in second.json()["data"]] == [ids[0]]
    assert second.json()["nextCursor"] is None
    bad = sandbox.api.get("/api/v1/executions", params={"cursor": "%%%"})
    assert (bad.status_code, bad.json()) == (400, {"message": "An invalid cursor was provided"})


def test_executions_filter_by_workflow_and_status(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.fail[("POST", "deals")] = 500
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    failed = execution_for(sandbox, deliver(sandbox, ig_message()))
    assert failed["status"] == "error"
    ok = execution_for(sandbox, deliver(sandbox, {"event": "conversation_created", "id": 1}))
    sandbox.api.post(f"/__double/workflows/{SECOND_ID}/listen-test").raise_for_status()
    other = execution_for(
        sandbox,
        deliver(sandbox, {"event": "conversation_created", "id": 2}, path=SECOND_PATH, test=True),
    )

    def ids(**params: str) -> list[str]:
        response = sandbox.api.get("/api/v1/executions", params=params)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert ids(status="error") == [failed["id"]]
    assert ids(status="success") == [other["id"], ok["id"]]
    assert ids(workflowId=SECOND_ID) == [other["id"]]
    assert ids(workflowId=PILOT_ID, status="success") == [ok["id"]]
    assert ids(workflowId="no-such-workflow") == []
    assert sandbox.api.get("/api/v1/executions", params={"status": "broken"}).status_code == 400


def test_a_running_execution_is_visible_by_id_but_not_listed(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    crm.gate.clear()  # the CRM holds every call until the gate opens
    deliver(sandbox, ig_message())

    def status() -> str:
        response = sandbox.api.get("/api/v1/executions/1")
        return str(response.json().get("status")) if response.status_code == 200 else ""

    eventually(status, lambda s: s == "running", timeout=10, what="the execution to be running")
    running = sandbox.api.get("/api/v1/executions/1").json()
    assert running["finished"] is False and running["stoppedAt"] is None
    assert sandbox.api.get("/api/v1/executions").json()["data"] == []
    crm.gate.set()
    eventually(status, lambda s: s == "success", timeout=15, what="the execution to finish")
    assert [e["id"] for e in sandbox.api.get("/api/v1/executions").json()["data"]] == ["1"]


# --- the v2 agent flow ---------------------------------------------------------------------------


def test_an_instagram_dm_runs_every_node_and_answers_in_its_conversation(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    contact = crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    payload = ig_message()
    execution = execution_for(sandbox, deliver(sandbox, payload))

    assert set(run_data(execution)) == ALL_NODES
    webhook = out(execution, "Webhook")
    assert webhook["body"] == payload and webhook["params"] == {}
    assert all(name == name.lower() for name in webhook["headers"])
    assert webhook["executionMode"] == "production"
    assert webhook["webhookUrl"] == f"{sandbox.url}/webhook/{PILOT_PATH}"
    event = {
        "source": "INSTAGRAM",
        "external_id": IGSID,
        "session_key": f"instagram:{IGSID}",
        "valid": True,
        "invalid_reason": None,
        "conversation_id": 418,
        "content": payload["content"],
    }
    assert out(execution, "Identidade canonica") == event
    assert out(execution, "Dados_Evento") == event
    valid_if = run_data(execution)["Identidade valida?"][0]["data"]["main"]
    assert len(valid_if[0]) == 1 and valid_if[1] == []
    assert out(execution, "Buscar contato")["data"] == [contact]
    deal = crm.deals[contact["id"]]
    assert out(execution, "Garantir deal") == {"data": deal, "action": "created"}
    assert out(execution, "Contexto_Deal") == {
        "deal_id": deal["id"],
        "contact_id": contact["id"],
        "session_key": f"instagram:{IGSID}",
    }
    # the memory as real n8n logs it: load → {action, chatHistory}, save; no session key
    assert asked(execution, "Memoria", "ai_memory")["action"] == "loadMemoryVariables"
    assert out(execution, "Memoria", "ai_memory") == {"action": "loadMemoryVariables", "chatHistory": []}
    assert out(execution, "Memoria", "ai_memory", run=1)["action"] == "saveContext"
    assert "sessionKey" not in json.dumps(run_data(execution)["Memoria"])
    answer = out(execution, "AI Agent")["output"]
    assert answer and "Mover estagio" not in run_data(execution)

    lookups = crm.calls("GET", "contacts")
    assert [c["query"] for c in lookups] == [{"identifier": IGSID, "channel": "instagram"}]
    assert all(c["api_key"] == CRM_KEY for c in crm.calls())
    assert [c["body"] for c in crm.calls("POST", "deals")] == [
        {"title": f"Atendimento instagram:{IGSID}", "board_key": "atendimento", "contact_id": contact["id"]}
    ]
    assert crm.calls(route="move-stage") == [] and crm.calls(route="move-stage-by-identity") == []
    reply = {"content": answer, "message_type": "outgoing", "private": False}
    assert crm.replies == [{"conversation": 418, "body": reply, "token": CW_TOKEN}]
    assert out(execution, "Responder no Chatwoot")["conversation_id"] == 418


def test_an_automation_rule_body_runs_the_same_flow(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    message = ig_message("Quero um orçamento")
    execution = execution_for(sandbox, deliver(sandbox, automation(message)))
    assert execution["status"] == "success"
    event = out(execution, "Identidade canonica")
    assert (event["session_key"], event["conversation_id"], event["content"]) == (
        f"instagram:{IGSID}",
        418,
        "Quero um orçamento",
    )
    assert len(crm.calls("POST", "move-stage")) == 1
    assert [r["conversation"] for r in crm.replies] == [418]


def test_the_igsid_falls_back_to_sender_identifier_only_when_source_id_is_absent(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    other = "17841400000000099"
    crm.contact("Bia", identifier=("instagram", other))
    execution = execution_for(sandbox, deliver(sandbox, ig_message(source_id=None, identifier=other)))
    assert out(execution, "Identidade canonica")["session_key"] == f"instagram:{other}"


def test_a_whatsapp_customer_is_looked_up_by_the_e164_identity(sandbox: Sandbox, crm: FakeCrm) -> None:
    known = crm.contact("Maria Legado", identifier=("whatsapp", WA_PHONE))
    execution = execution_for(sandbox, deliver(sandbox, wa_message(phone="5511987654321")))
    assert execution["status"] == "success"
    event = out(execution, "Identidade canonica")
    assert (event["source"], event["external_id"], event["session_key"]) == (
        "WHATSAPP",
        WA_PHONE,
        f"whatsapp:{WA_PHONE}",
    )
    assert [c["query"] for c in crm.calls("GET", "contacts")] == [
        {"identifier": WA_PHONE, "channel": "whatsapp"}
    ]
    assert out(execution, "Contexto_Deal")["contact_id"] == known["id"]


def test_a_customer_the_crm_does_not_know_stops_before_the_deal(sandbox: Sandbox, crm: FakeCrm) -> None:
    execution = execution_for(sandbox, deliver(sandbox, wa_message()))
    assert execution["status"] == "success"
    assert "Registrar contato ausente" in run_data(execution)
    assert run_data(execution)["Contato encontrado?"][0]["data"]["main"][0] == []
    assert "Garantir deal" not in run_data(execution) and "AI Agent" not in run_data(execution)
    assert crm.calls("POST") == [] and crm.replies == []


def test_an_api_channel_inbox_takes_its_source_from_the_org_config(sandbox: Sandbox, crm: FakeCrm) -> None:
    configured = execution_for(
        sandbox, deliver(sandbox, wa_message(channel="Channel::Api", inbox=API_INBOX_WA))
    )
    assert out(configured, "Identidade canonica")["session_key"] == f"whatsapp:{WA_PHONE}"
    unknown = execution_for(
        sandbox, deliver(sandbox, wa_message(channel="Channel::Api", inbox=API_INBOX_UNCONFIGURED))
    )
    assert out(unknown, "Registrar evento invalido")["invalid_reason"] == "unsupported_channel"


def _conversation_created() -> dict[str, Any]:
    message = ig_message()
    return {"event": "conversation_created", **message["conversation"], "messages": []}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(ig_message(message_type="outgoing"), id="outgoing"),
        pytest.param(ig_message(private=True), id="private-note"),
        pytest.param(
            {
                **ig_message(),
                "conversation": {
                    **ig_message()["conversation"],
                    "labels": ["vip", "atendimento-humano"],
                },
            },
            id="handoff-label",
        ),
        pytest.param(_conversation_created(), id="conversation_created"),
    ],
)
def test_the_filter_stops_everything_but_incoming_customer_messages(
    sandbox: Sandbox, crm: FakeCrm, payload: dict[str, Any]
) -> None:
    execution = execution_for(sandbox, deliver(sandbox, payload))
    assert execution["status"] == "success"
    assert set(run_data(execution)) == {"Webhook", "Fluxo_Variaveis", "Filtrar mensagens"}
    assert run_data(execution)["Filtrar mensagens"][0]["data"]["main"] == [[]]
    assert execution["data"]["resultData"]["lastNodeExecuted"] == "Filtrar mensagens"
    assert crm.calls() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(ig_message(source_id=None, identifier=None), "invalid_igsid", id="no-igsid"),
        pytest.param(ig_message(source_id="ig-unknown"), "invalid_igsid", id="igsid-not-digits"),
        pytest.param(ig_message(source_id="123456789"), "invalid_igsid", id="igsid-too-short"),
        pytest.param(wa_message(phone="12345678"), "invalid_phone", id="not-a-phone"),
        pytest.param(wa_message(channel="Channel::WebWidget"), "unsupported_channel", id="unknown-channel"),
    ],
)
def test_an_invalid_identity_is_recorded_and_never_reaches_the_crm_or_agent(
    sandbox: Sandbox, crm: FakeCrm, payload: dict[str, Any], reason: str
) -> None:
    execution = execution_for(sandbox, deliver(sandbox, payload))
    assert execution["status"] == "success"
    assert set(run_data(execution)) == INVALID_PATH_NODES
    identity = out(execution, "Identidade canonica")
    assert identity["valid"] is False and identity["session_key"] is None
    valid_if = run_data(execution)["Identidade valida?"][0]["data"]["main"]
    assert valid_if[0] == [] and valid_if[1] == [{"json": identity, "pairedItem": {"item": 0}}]
    assert out(execution, "Registrar evento invalido")["invalid_reason"] == reason
    assert execution["data"]["resultData"]["lastNodeExecuted"] == "Registrar evento invalido"
    assert crm.calls() == []


@pytest.mark.parametrize("text", ["Quero um orçamento para sábado", "ORÇAMENTO por favor", "um orcamento"])
def test_the_keyword_makes_the_model_move_exactly_the_context_deal(
    sandbox: Sandbox, crm: FakeCrm, text: str
) -> None:
    contact = crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    execution = execution_for(sandbox, deliver(sandbox, ig_message(text)))
    assert execution["status"] == "success"
    deal = crm.deals[contact["id"]]
    moves = crm.calls("POST", "move-stage")
    assert [m["path"] for m in moves] == [f"/api/public/v1/deals/{deal['id']}/move-stage"]
    assert moves[0]["body"]["to_stage_label"] == "Proposta"
    assert set(moves[0]["body"]) == {"to_stage_label", "ai_summary"} and moves[0]["body"]["ai_summary"]
    assert crm.calls(route="move-stage-by-identity") == []
    # the tool's call as n8n records it: asked the model's arguments, answered the response
    assert asked(execution, "Mover estagio", "ai_tool") == moves[0]["body"]
    assert out(execution, "Mover estagio", "ai_tool")["response"][0]["action"] == "moved"
    # the model was asked twice: the tool call, then the answer after the tool's result
    assert len(run_data(execution)["Chat Model"]) == 2
    assert set(run_data(execution)) == ALL_NODES | {"Mover estagio"}


def test_the_agent_remembers_per_session_key(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    crm.contact("Outro", identifier=("instagram", "17841400000000777"))
    crm.contact("Maria Legado", identifier=("whatsapp", WA_PHONE))
    first = execution_for(sandbox, deliver(sandbox, ig_message("Oi")))
    second = execution_for(sandbox, deliver(sandbox, ig_message("Oi de novo")))
    other = execution_for(sandbox, deliver(sandbox, ig_message(source_id="17841400000000777")))
    whatsapp = execution_for(sandbox, deliver(sandbox, wa_message()))
    history = [len(out(e, "Memoria", "ai_memory")["chatHistory"]) for e in (first, second, other, whatsapp)]
    assert history == [0, 2, 0, 0]
    loaded = out(second, "Memoria", "ai_memory")["chatHistory"]
    assert [m["id"][-1] for m in loaded] == ["HumanMessage", "AIMessage"]
    assert loaded[0]["kwargs"]["content"] == "Oi"
    assert out(second, "Garantir deal")["action"] == "existing"


def test_a_crm_error_fails_the_execution_at_that_node(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    crm.fail[("POST", "deals")] = 500
    execution = execution_for(sandbox, deliver(sandbox, ig_message()))
    assert (execution["status"], execution["finished"]) == ("error", False)
    result = execution["data"]["resultData"]
    assert result["error"]["node"]["name"] == "Garantir deal"
    assert result["error"]["message"] == "The service was not able to process your request"
    assert result["error"]["httpCode"] == "500"
    assert result["lastNodeExecuted"] == "Garantir deal"
    assert run_data(execution)["Garantir deal"][0]["executionStatus"] == "error"
    assert "Contexto_Deal" not in run_data(execution) and "AI Agent" not in run_data(execution)


def test_a_refused_move_is_the_tools_error_and_the_agent_still_answers(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    crm.fail[("POST", "move-stage")] = 422
    execution = execution_for(sandbox, deliver(sandbox, ig_message("quero orçamento")))
    assert execution["status"] == "success"  # as in real n8n: the model gets the error
    tool = run_data(execution)["Mover estagio"][0]
    assert tool["executionStatus"] == "error"
    assert tool["error"]["message"].startswith("Your request is invalid or could not be processed")
    assert "AI Agent" in run_data(execution) and len(crm.replies) == 1


def test_an_answer_to_a_conversation_chatwoot_does_not_know_fails_the_reply(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    payload = ig_message()
    payload["conversation"]["id"] = GONE_CONVERSATION
    execution = execution_for(sandbox, deliver(sandbox, payload))
    assert execution["status"] == "error"
    error = execution["data"]["resultData"]["error"]
    assert error["node"]["name"] == "Responder no Chatwoot" and error["httpCode"] == "404"
    assert error["message"] == "The resource you are requesting could not be found"


# --- faults ----------------------------------------------------------------------------------


def test_key_without_prefix_drops_only_the_channel_prefix(sandbox: Sandbox, crm: FakeCrm) -> None:
    contact = crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    crm.contact("Maria Legado", identifier=("whatsapp", WA_PHONE))
    sandbox.faults.set(["key-without-prefix"], "sandbox-pilot")
    ig = execution_for(sandbox, deliver(sandbox, ig_message("um orçamento, por favor")))
    wa = execution_for(sandbox, deliver(sandbox, wa_message()))
    identity = out(ig, "Identidade canonica")
    assert (identity["source"], identity["external_id"], identity["session_key"]) == (
        "INSTAGRAM",
        IGSID,
        IGSID,
    )
    assert out(ig, "Contexto_Deal")["session_key"] == IGSID
    assert out(wa, "Identidade canonica")["session_key"] == WA_PHONE
    deal = crm.deals[contact["id"]]  # the move is still by deal id
    assert [m["path"] for m in crm.calls("POST", "move-stage")] == [
        f"/api/public/v1/deals/{deal['id']}/move-stage"
    ]


def test_move_by_phone_moves_through_the_identity_route_with_the_contacts_phone(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    crm.contact("Maria Legado", identifier=("whatsapp", WA_PHONE), phone=WA_PHONE)
    sandbox.faults.set(["n8n-move-by-phone"], "sandbox-pilot")
    execution = execution_for(sandbox, deliver(sandbox, wa_message("Me manda o orçamento")))
    assert execution["status"] == "success"
    assert crm.calls(route="move-stage") == []
    [move] = crm.calls("POST", "move-stage-by-identity")
    assert {k: move["body"][k] for k in ("board_key_or_id", "phone", "to_stage_label")} == {
        "board_key_or_id": "atendimento",
        "phone": WA_PHONE,
        "to_stage_label": "Proposta",
    }
    assert "deal_id" not in move["body"]
    assert out(execution, "Contexto_Deal")["session_key"] == f"whatsapp:{WA_PHONE}"  # keys untouched


def test_name_memory_key_lets_a_dm_without_identifier_past_the_gate(sandbox: Sandbox, crm: FakeCrm) -> None:
    payload = ig_message(source_id=None, identifier=None, name="Ana Beatriz")
    sandbox.faults.set(["n8n-name-memory-key"], "sandbox-pilot")
    execution = execution_for(sandbox, deliver(sandbox, payload))
    event = out(execution, "Identidade canonica")
    assert (event["valid"], event["external_id"], event["session_key"]) == (
        True,
        "Ana Beatriz",
        "instagram:Ana Beatriz",
    )
    assert "Registrar evento invalido" not in run_data(execution)
    assert [c["query"] for c in crm.calls("GET", "contacts")] == [
        {"identifier": "Ana Beatriz", "channel": "instagram"}
    ]
    sandbox.faults.clear()  # with the fault off the same DM stops at the invalid branch
    stopped = execution_for(sandbox, deliver(sandbox, {**payload, "id": next(_ids)}))
    assert set(run_data(stopped)) == INVALID_PATH_NODES


def test_memory_by_conversation_keys_only_the_memory_by_the_conversation(
    sandbox: Sandbox, crm: FakeCrm
) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    sandbox.faults.set(["n8n-memory-by-conversation"], "sandbox-pilot")
    execution = execution_for(sandbox, deliver(sandbox, ig_message()))
    assert out(execution, "Dados_Evento")["session_key"] == f"instagram:{IGSID}"
    assert out(execution, "Contexto_Deal")["session_key"] == "instagram:conversation:418"


def test_reply_wrong_conversation_posts_to_the_message_id(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    sandbox.faults.set(["n8n-reply-wrong-conversation"], "sandbox-pilot")
    payload = ig_message()
    execution_for(sandbox, deliver(sandbox, payload))
    assert [r["conversation"] for r in crm.replies] == [payload["id"]]


def test_model_never_calls_tool_answers_in_text(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    sandbox.faults.set(["model-never-calls-tool"], "sandbox-second")  # another organisation's
    moved = execution_for(sandbox, deliver(sandbox, ig_message("um orçamento")))
    assert "Mover estagio" in run_data(moved)
    sandbox.faults.set(["model-never-calls-tool"], "sandbox-pilot")
    silent = execution_for(sandbox, deliver(sandbox, ig_message("outro orçamento")))
    assert "Mover estagio" not in run_data(silent) and len(crm.calls("POST", "move-stage")) == 1
    assert "orçamento" in out(silent, "AI Agent")["output"]


# --- housekeeping ----------------------------------------------------------------------------


def test_close_stops_the_worker_and_is_idempotent(
    crm_server: tuple[FakeCrm, RunningServer],
) -> None:
    double = N8nDouble(
        faults=FaultState(),
        api_key=API_KEY,
        limited_api_key=LIMITED_KEY,
        workflows=_setups(crm_server[1].url),
    )
    worker = double._jobs
    assert worker.is_alive()
    double.close()
    double.close()
    assert not worker.is_alive()


def test_setups_are_validated_and_do_not_show_the_crm_key(
    crm_server: tuple[FakeCrm, RunningServer],
) -> None:
    setups = _setups(crm_server[1].url)
    assert CRM_KEY not in repr(setups[0])
    with pytest.raises(ValueError, match="webhook path"):
        N8nDouble(
            faults=FaultState(),
            api_key=API_KEY,
            limited_api_key=LIMITED_KEY,
            workflows=[
                setups[0],
                WorkflowSetup(**{**setups[1].__dict__, "webhook_path": PILOT_PATH}),
            ],
        )
    with pytest.raises(ValueError, match="API keys"):
        N8nDouble(faults=FaultState(), api_key=API_KEY, limited_api_key=API_KEY, workflows=[])


def test_reset_forgets_memory_and_reactivates_the_workflows(sandbox: Sandbox, crm: FakeCrm) -> None:
    crm.contact("Ana Beatriz", identifier=("instagram", IGSID))
    execution_for(sandbox, deliver(sandbox, ig_message("Oi")))
    sandbox.api.post(f"/api/v1/workflows/{PILOT_ID}/deactivate").raise_for_status()
    sandbox.double.reset()
    assert sandbox.api.get(f"/api/v1/workflows/{PILOT_ID}").json()["active"] is True
    assert sandbox.api.get(f"/api/v1/workflows/{SECOND_ID}").json()["active"] is False  # as set up
    again = execution_for(sandbox, deliver(sandbox, ig_message("Oi de novo")))
    assert out(again, "Memoria", "ai_memory")["chatHistory"] == []
