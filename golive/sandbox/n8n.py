"""The n8n double: webhook URLs, the public API v1 subset and a deterministic v2 agent flow.

What it mirrors from real n8n (n8n-and-tooling.md §1, checked against n8n's sources):

- `/webhook/<path>` answers only for active workflows, `/webhook-test/<path>` only once after it
  was armed; anything else gets n8n's exact "not registered" 404 body (`{code, message, hint}`,
  no `hint` when the path exists for another method). One trailing slash is ignored.
- A registered call is answered at once, like the Webhook node's default `onReceived` mode
  (`{"message":"Workflow was started"}`), and the flow runs in a background worker.
- `/api/v1` with `X-N8N-API-KEY`: 401 `'X-N8N-API-KEY' header required` / `unauthorized`
  (express-openapi-validator's bodies), 403 `Forbidden` for a missing key scope, 404
  `Not Found`, 400 `An invalid cursor was provided`. Lists page with `{data, nextCursor}`:
  workflows by offset cursor, executions newest first by `lastId` cursor; like n8n, the
  executions list leaves out executions that are still queued or running.
- The workflow it serves is the v2 template export with the setup's id/name/active/tags and
  Webhook path. While `n8n-move-by-phone` or `n8n-name-memory-key` is on, the nodes that the
  matching non-conformant export changes are served instead, so the workflow says what the
  flow does.

The flow is this module's own reading of the template (no AI: a keyword decides the stage
move). It never imports the suite's identity rules, payload builders or clients.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.crm_rules import dig, normalise_phone
from golive.sandbox.faults import FaultState
from golive.sandbox.worker import JobQueue

log = logging.getLogger("golive.sandbox.n8n")

# --- n8n's own words -------------------------------------------------------------------------

PRODUCTION_HINT = (
    "The workflow must be active for a production URL to run successfully. You can activate "
    "the workflow using the toggle in the top-right of the editor. Note that unlike test URL "
    "calls, production URL calls aren't shown on the canvas (only in the executions list)"
)
TEST_HINT = (
    "Click the 'Execute workflow' button on the canvas, then try again. (In test mode, the "
    "webhook only works for one call after you click this button)"
)
WORKFLOW_STARTED = {"message": "Workflow was started"}
API_KEY_HEADER = "X-N8N-API-KEY"
EXECUTION_STATUSES = (
    "canceled",
    "crashed",
    "error",
    "new",
    "running",
    "success",
    "unknown",
    "waiting",
)
MAX_PAGE = 250
DEFAULT_PAGE = 100
WEBHOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# The limited key of the sandbox: it may list workflows and nothing else.
LIMITED_SCOPES = frozenset({"workflow:list"})
PROJECT_ID = "SbxProject000001"

# --- the flow's own constants (the template's, not the CRM's) --------------------------------

CHANNEL_TO_SOURCE = {"Channel::Instagram": "INSTAGRAM", "Channel::Whatsapp": "WHATSAPP"}
IGSID_RE = re.compile(r"[0-9]{10,20}")
HANDOFF_LABEL = "atendimento-humano"
CRM_PATH = "/api/public/v1"
CRM_TIMEOUT_S = 10.0

# Fault -> the non-conformant export whose changed nodes are served (and run) while it is on.
FAULT_EXPORTS = {
    "n8n-move-by-phone": "nonconformant/r1-move-by-identity.json",
    "n8n-name-memory-key": "nonconformant/r4-name-fallback.json",
}
# The sub-nodes wired into the agent, and the connection type n8n files their run data under.
SUB_NODE_KIND = {
    "Memoria": "ai_memory",
    "Chat Model": "ai_languageModel",
    "Mover estagio": "ai_tool",
}


@dataclass
class WorkflowSetup:
    """One organisation's copy of the v2 agent workflow, as the double runs it."""

    id: str  # e.g. "wf-pilot-v2"
    name: str  # e.g. "LagostaCRM Agente v2 — Coronel Picanha (sandbox)"
    webhook_path: str  # e.g. "lagosta-agent-v2-pilot"
    crm_base_url: str  # the CRM double, e.g. http://127.0.0.1:PORT
    crm_api_key: str = field(repr=False)  # that organisation's CRM public API key
    board_key: str  # "atendimento"
    move_keyword: str  # "orçamento": a customer message containing it moves the deal
    move_stage: str  # "Proposta"
    template_path: Path  # fixtures/n8n/agent-v2.json
    # inbox id -> "WHATSAPP"/"INSTAGRAM" for Channel::Api inboxes (the organisation's config)
    api_channel_sources: dict[int, str] = field(default_factory=dict)
    active: bool = True
    tags: tuple[str, ...] = ("v2", "lagosta-agent")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _unb64(cursor: str) -> Any:
    return json.loads(base64.b64decode(cursor.encode(), validate=False))


def _stable_id(*parts: str, length: int = 16) -> str:
    """A 16-character alphanumeric id, like n8n's nanoids, derived from its parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:length]


def _excerpt(data: Any, limit: int = 300) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


class _Reject(Exception):
    """An API request refused with an n8n-shaped `{message}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"message": self.message}, self.status)


class _NodeFailure(Exception):
    """A node of the flow failed: the execution ends with status `error` naming that node."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


# --- state ------------------------------------------------------------------------------------


@dataclass
class _Workflow:
    setup: WorkflowSetup
    template: dict[str, Any]
    fault_nodes: dict[str, list[dict[str, Any]]]  # fault -> the nodes its export changes
    active: bool
    created_at: datetime
    updated_at: datetime
    test_armed: bool = False

    @property
    def webhook_methods(self) -> list[str]:
        for node in self.template.get("nodes", []):
            if node.get("type") == "n8n-nodes-base.webhook":
                return [str(node.get("parameters", {}).get("httpMethod") or "GET").upper()]
        return []


@dataclass
class _Execution:
    id: int
    workflow_id: str
    workflow_version_id: str
    mode: str  # "webhook" (production URL) or "manual" (test URL)
    workflow_data: dict[str, Any]
    custom_data: dict[str, str]
    status: str = "new"
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    run_data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    last_node: str | None = None
    error: dict[str, Any] | None = None

    def public(self, *, include_data: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "finished": self.status == "success",
            "mode": self.mode,
            "retryOf": None,
            "retrySuccessId": None,
            "status": self.status,
            "createdAt": _iso(self.created_at),
            "startedAt": _iso(self.started_at),
            "stoppedAt": _iso(self.stopped_at),
            "workflowId": self.workflow_id,
            "waitTill": None,
            "storedAt": "db",
            "workflowVersionId": self.workflow_version_id,
        }
        if include_data:
            result: dict[str, Any] = {"runData": self.run_data, "lastNodeExecuted": self.last_node}
            if self.error is not None:
                result["error"] = self.error
            body["data"] = {"startData": {}, "resultData": result}
            body["workflowData"] = self.workflow_data
            # Like n8n's public API, customData (execution metadata) only comes with the data.
            body["customData"] = dict(self.custom_data)
        return body


@dataclass
class _Job:
    execution_id: int
    setup: WorkflowSetup
    item: dict[str, Any]  # what the Webhook node hands the workflow
    faults: frozenset[str]  # the faults on when the call arrived


class _Run:
    """Run data in n8n's shape, node by node, in the order the nodes ran."""

    def __init__(self) -> None:
        self.run_data: dict[str, list[dict[str, Any]]] = {}
        self.last_node: str | None = None
        self.error: dict[str, Any] | None = None

    def node(
        self,
        name: str,
        items: list[dict[str, Any]] | None = None,
        *,
        outputs: list[list[dict[str, Any]]] | None = None,
        prev: str | None,
        prev_output: int = 0,
        started: float | None = None,
        input_override: dict[str, Any] | None = None,
    ) -> None:
        began = time.time() if started is None else started
        kind = SUB_NODE_KIND.get(name, "main")
        branches = outputs if outputs is not None else [items or []]
        entry: dict[str, Any] = {
            "startTime": int(began * 1000),
            "executionTime": max(0, int((time.time() - began) * 1000)),
            "executionStatus": "success",
            "source": self._source(prev, prev_output),
            "data": {kind: [[{"json": item} for item in branch] for branch in branches]},
        }
        if input_override is not None:
            entry["inputOverride"] = {kind: [[{"json": input_override}]]}
        self.run_data.setdefault(name, []).append(entry)
        if kind == "main":
            self.last_node = name

    def fail(
        self,
        name: str,
        failure: _NodeFailure,
        *,
        prev: str | None,
        started: float,
        node_type: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        error: dict[str, Any] = {
            "name": "NodeApiError" if failure.status is not None else "NodeOperationError",
            "message": failure.message,
            "node": {"name": name, "type": node_type},
        }
        if failure.status is not None:
            error["httpCode"] = str(failure.status)
        entry: dict[str, Any] = {
            "startTime": int(started * 1000),
            "executionTime": max(0, int((time.time() - started) * 1000)),
            "executionStatus": "error",
            "source": self._source(prev, 0),
            "error": error,
        }
        if extra is not None:
            kind = SUB_NODE_KIND.get(name, "main")
            entry["data"] = {kind: [[{"json": extra}]]}
        self.run_data.setdefault(name, []).append(entry)
        self.last_node = name
        self.error = error

    @staticmethod
    def _source(prev: str | None, prev_output: int) -> list[dict[str, Any]]:
        if prev is None:
            return []
        source: dict[str, Any] = {"previousNode": prev}
        if prev_output:
            source["previousNodeOutput"] = prev_output
        return [source]


# --- the double -------------------------------------------------------------------------------


class N8nDouble:
    """n8n as golive needs it: webhooks, `/api/v1` and the v2 agent flow, deterministic."""

    def __init__(
        self,
        *,
        faults: FaultState,
        api_key: str,
        limited_api_key: str,
        workflows: list[WorkflowSetup],
    ) -> None:
        if not api_key or not limited_api_key or api_key == limited_api_key:
            raise ValueError("the n8n double needs two different, non-empty API keys")
        self._faults = faults
        self._api_key = api_key
        self._limited_key = limited_api_key
        self._lock = threading.Lock()
        self._workflows: dict[str, _Workflow] = {}
        self._by_path: dict[str, _Workflow] = {}
        created = _now()
        for setup in workflows:
            path = setup.webhook_path.strip("/")
            if setup.id in self._workflows:
                raise ValueError(f"two n8n workflows share the id {setup.id!r}")
            if path in self._by_path:
                raise ValueError(f"two n8n workflows share the webhook path {path!r}")
            template = json.loads(setup.template_path.read_text(encoding="utf-8"))
            workflow = _Workflow(
                setup,
                template,
                self._fault_nodes(setup.template_path, template),
                setup.active,
                created,
                created,
            )
            self._workflows[setup.id] = workflow
            self._by_path[path] = workflow
        self._executions: dict[int, _Execution] = {}
        self._ids = itertools.count(1)
        self._memory: dict[str, list[dict[str, str]]] = {}  # chat history per session key
        self._clients: dict[str, httpx.Client] = {}
        self._jobs: JobQueue[_Job] = JobQueue("n8n-double-worker", self._execute, self._execution_crashed)
        self._app = Starlette(routes=self._routes())

    def app(self) -> Starlette:
        return self._app

    def close(self) -> None:
        """Stop the worker (after the executions already queued) and close the CRM clients."""
        self._jobs.close()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # --- routes ----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        api = "/api/v1"
        return [
            Route("/webhook/{path:path}", self._webhook, methods=WEBHOOK_METHODS),
            Route("/webhook-test/{path:path}", self._webhook, methods=WEBHOOK_METHODS),
            Route(f"{api}/workflows", self._list_workflows, methods=["GET"]),
            Route(f"{api}/workflows/{{id}}", self._get_workflow, methods=["GET"]),
            Route(f"{api}/workflows/{{id}}/activate", self._activate, methods=["POST"]),
            Route(f"{api}/workflows/{{id}}/publish", self._activate, methods=["POST"]),
            Route(f"{api}/workflows/{{id}}/deactivate", self._deactivate, methods=["POST"]),
            Route(f"{api}/workflows/{{id}}/unpublish", self._deactivate, methods=["POST"]),
            Route(f"{api}/executions", self._list_executions, methods=["GET"]),
            Route(f"{api}/executions/{{id}}", self._get_execution, methods=["GET"]),
            # Double-only: stands in for clicking "Execute workflow" in the editor.
            Route("/__double/workflows/{id}/listen-test", self._listen_test, methods=["POST"]),
        ]

    # --- webhooks ----------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> JSONResponse:
        test = request.url.path.startswith("/webhook-test/")
        path = str(request.path_params["path"])
        if path.endswith("/"):
            path = path[:-1]
        method = request.method
        with self._lock:
            workflow = self._by_path.get(path)
            registered: list[str] = []
            if workflow is not None and (workflow.test_armed if test else workflow.active):
                registered = workflow.webhook_methods
            if workflow is None or method not in registered:
                return self._not_registered(path, method, registered, test)
            if test:
                workflow.test_armed = False  # a test URL listens for one call
            setup = workflow.setup
            active_faults = self._faults.active
            served = self._workflow_json(workflow, active_faults)
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        base = str(request.base_url).rstrip("/")
        item = {
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "params": {},
            "query": dict(request.query_params),
            "body": body,
            "webhookUrl": f"{base}/{'webhook-test' if test else 'webhook'}/{path}",
            "executionMode": "test" if test else "production",
        }
        # Real n8n lets a workflow tag its execution with customData (the "Execution Data"
        # node); the template's export would do it in its first node. This is how a client
        # finds the execution a Chatwoot delivery started.
        custom: dict[str, str] = {}
        delivery = request.headers.get("x-chatwoot-delivery")
        if delivery:
            custom["chatwoot_delivery"] = delivery
        if isinstance(body, dict) and body.get("id") is not None:
            custom["chatwoot_message_id"] = str(body["id"])
        with self._lock:
            execution = _Execution(
                id=next(self._ids),
                workflow_id=setup.id,
                workflow_version_id=str(served["versionId"]),
                mode="manual" if test else "webhook",
                workflow_data=served,
                custom_data=custom,
            )
            self._executions[execution.id] = execution
        self._jobs.submit(_Job(execution.id, setup, item, active_faults))
        return JSONResponse(WORKFLOW_STARTED)

    @staticmethod
    def _not_registered(path: str, method: str, registered: list[str], test: bool) -> JSONResponse:
        if registered:
            methods = (
                registered[0] if len(registered) == 1 else f"{', '.join(registered[:-1])} or {registered[-1]}"
            )
            message = (
                f"This webhook is not registered for {method} requests. "
                f"Did you mean to make a {methods} request?"
            )
            return JSONResponse({"code": 404, "message": message}, 404)
        return JSONResponse(
            {
                "code": 404,
                "message": f'The requested webhook "{method} {path}" is not registered.',
                "hint": TEST_HINT if test else PRODUCTION_HINT,
            },
            404,
        )

    async def _listen_test(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:execute")
            with self._lock:
                workflow = self._find(str(request.path_params["id"]))
                workflow.test_armed = True
                path = workflow.setup.webhook_path.strip("/")
        except _Reject as reject:
            return reject.response()
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"armed": True, "testUrl": f"{base}/webhook-test/{path}"})

    # --- public API: auth and query parsing -----------------------------------------------

    def _authorise(self, request: Request, scope: str) -> None:
        given = request.headers.get(API_KEY_HEADER, "")
        if not given:
            raise _Reject(401, f"'{API_KEY_HEADER}' header required")
        if hmac.compare_digest(given.encode(), self._api_key.encode()):
            return
        if hmac.compare_digest(given.encode(), self._limited_key.encode()):
            if scope in LIMITED_SCOPES:
                return
            raise _Reject(403, "Forbidden")
        raise _Reject(401, "unauthorized")

    @staticmethod
    def _enum(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        if value not in allowed:
            raise _Reject(
                400,
                f"request/query/{name} must be equal to one of the allowed values: {', '.join(allowed)}",
            )
        return value

    @staticmethod
    def _limit(request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return DEFAULT_PAGE
        if not re.fullmatch(r"-?\d+", raw.strip()):
            raise _Reject(400, "request/query/limit must be number")
        value = int(raw)
        if value > MAX_PAGE:
            raise _Reject(400, f"request/query/limit must be <= {MAX_PAGE}")
        if value < 1:
            raise _Reject(400, "request/query/limit must be >= 1")
        return value

    @staticmethod
    def _cursor(request: Request, key: str) -> dict[str, Any] | None:
        cursor = request.query_params.get("cursor")
        if not cursor:
            return None
        try:
            decoded = _unb64(cursor)
        except ValueError:
            raise _Reject(400, "An invalid cursor was provided") from None
        if not isinstance(decoded, dict) or key not in decoded:
            raise _Reject(400, "An invalid cursor was provided")
        limit = decoded.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
            raise _Reject(400, "An invalid cursor was provided")
        return decoded

    def _find(self, workflow_id: str) -> _Workflow:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            raise _Reject(404, "Not Found")
        return workflow

    # --- public API: workflows ---------------------------------------------------------------

    async def _list_workflows(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:list")
            active = self._enum(request, "active", ("true", "false"))
            limit = self._limit(request)
            cursor = self._cursor(request, "offset")
        except _Reject as reject:
            return reject.response()
        offset = 0
        if cursor is not None:
            offset, limit = cursor["offset"], cursor["limit"]
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
                return _Reject(400, "An invalid cursor was provided").response()
        # `tags`: comma-separated names; a workflow must carry every one of them (n8n's
        # integration test "filtered by tags" expects only the workflows with both tags).
        wanted_tags = {t.strip() for t in request.query_params.get("tags", "").split(",")}
        wanted_tags.discard("")
        name = request.query_params.get("name")
        with self._lock:
            faults = self._faults.active
            matches = [
                workflow
                for workflow in self._workflows.values()
                if (active is None or workflow.active == (active == "true"))
                and wanted_tags <= set(workflow.setup.tags)
                # n8n: `name LIKE %name%` on the trimmed value
                and (name is None or name.strip() in workflow.setup.name)
            ]
            page = [self._workflow_json(w, faults) for w in matches[offset : offset + limit]]
        if request.query_params.get("excludePinnedData") == "true":
            for workflow_json in page:
                workflow_json.pop("pinData", None)
        more = len(matches) > offset + limit
        next_cursor = _b64({"limit": limit, "offset": offset + limit}) if more else None
        return JSONResponse({"data": page, "nextCursor": next_cursor})

    async def _get_workflow(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:read")
            with self._lock:
                workflow = self._find(str(request.path_params["id"]))
                body = self._workflow_json(workflow, self._faults.active)
        except _Reject as reject:
            return reject.response()
        if request.query_params.get("excludePinnedData") == "true":
            body.pop("pinData", None)
        return JSONResponse(body)

    async def _activate(self, request: Request) -> JSONResponse:
        return self._set_active(request, True, "workflow:activate")

    async def _deactivate(self, request: Request) -> JSONResponse:
        return self._set_active(request, False, "workflow:deactivate")

    def _set_active(self, request: Request, active: bool, scope: str) -> JSONResponse:
        try:
            self._authorise(request, scope)
            with self._lock:
                workflow = self._find(str(request.path_params["id"]))
                if workflow.active != active:
                    workflow.active = active
                    workflow.updated_at = _now()
                body = self._workflow_json(workflow, self._faults.active)
        except _Reject as reject:
            return reject.response()
        return JSONResponse(body)

    # --- public API: executions --------------------------------------------------------------

    async def _list_executions(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "execution:list")
            status = self._enum(request, "status", EXECUTION_STATUSES)
            include = self._enum(request, "includeData", ("true", "false")) == "true"
            limit = self._limit(request)
            cursor = self._cursor(request, "lastId")
        except _Reject as reject:
            return reject.response()
        last_id: int | None = None
        if cursor is not None:
            limit = cursor["limit"]
            raw_last = str(cursor["lastId"])
            if not raw_last.isdigit():
                return _Reject(400, "An invalid cursor was provided").response()
            last_id = int(raw_last)
        workflow_id = request.query_params.get("workflowId")
        with self._lock:
            matches = [
                execution
                for execution in sorted(self._executions.values(), key=lambda e: -e.id)
                # like n8n, executions still queued or running are left out of the list
                if execution.status not in ("new", "running")
                and (workflow_id is None or execution.workflow_id == workflow_id)
                and (status is None or execution.status == status)
                and (last_id is None or execution.id < last_id)
            ]
            page = [e.public(include_data=include) for e in matches[:limit]]
        more = len(matches) > limit
        next_cursor = _b64({"lastId": page[-1]["id"], "limit": limit}) if more and page else None
        return JSONResponse({"data": page, "nextCursor": next_cursor})

    async def _get_execution(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "execution:read")
            include = self._enum(request, "includeData", ("true", "false")) == "true"
        except _Reject as reject:
            return reject.response()
        raw_id = str(request.path_params["id"])
        with self._lock:
            execution = self._executions.get(int(raw_id)) if raw_id.isdigit() else None
            body = execution.public(include_data=include) if execution is not None else None
        if body is None:
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse(body)

    # --- the workflow as served ------------------------------------------------------------

    @staticmethod
    def _fault_nodes(template_path: Path, template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """For each workflow fault: the nodes its non-conformant export changes."""
        by_name = {node["name"]: node for node in template.get("nodes", [])}
        changed: dict[str, list[dict[str, Any]]] = {}
        for fault, relative in FAULT_EXPORTS.items():
            export = json.loads((template_path.parent / relative).read_text(encoding="utf-8"))
            changed[fault] = [node for node in export.get("nodes", []) if by_name.get(node["name"]) != node]
        return changed

    def _workflow_json(self, workflow: _Workflow, faults: frozenset[str]) -> dict[str, Any]:
        setup, template = workflow.setup, workflow.template
        nodes: list[dict[str, Any]] = copy.deepcopy(template.get("nodes", []))
        on = sorted(f for f in FAULT_EXPORTS if f in faults)
        for fault in on:
            replacements = {node["name"]: node for node in workflow.fault_nodes[fault]}
            nodes = [copy.deepcopy(replacements.get(node["name"], node)) for node in nodes]
        for node in nodes:
            if node.get("type") == "n8n-nodes-base.webhook":
                node.setdefault("parameters", {})["path"] = setup.webhook_path.strip("/")
        base_version = str(template.get("versionId") or _stable_id(setup.id))
        version_id = (
            str(uuid.UUID(hashlib.md5("|".join([base_version, *on]).encode()).hexdigest()))
            if on
            else base_version
        )
        created, updated = _iso(workflow.created_at), _iso(workflow.updated_at)
        known_tags = {tag["name"]: tag for tag in template.get("tags", []) if "name" in tag}
        tags = [
            {
                "id": str(known_tags.get(name, {}).get("id") or _stable_id("tag", name)),
                "name": name,
                "createdAt": created,
                "updatedAt": created,
            }
            for name in setup.tags
        ]
        connections = copy.deepcopy(template.get("connections", {}))
        active_version = (
            {
                "versionId": version_id,
                "workflowId": setup.id,
                "nodes": copy.deepcopy(nodes),
                "connections": copy.deepcopy(connections),
                "authors": "golive sandbox",
                "createdAt": updated,
                "updatedAt": updated,
            }
            if workflow.active
            else None
        )
        return {
            "id": setup.id,
            "name": setup.name,
            "active": workflow.active,
            "activeVersionId": version_id if workflow.active else None,
            "activeVersion": active_version,
            "isArchived": False,
            "createdAt": created,
            "updatedAt": updated,
            "versionId": version_id,
            "triggerCount": 1 if workflow.active else 0,
            "nodes": nodes,
            "connections": connections,
            "settings": copy.deepcopy(template.get("settings", {})),
            "staticData": None,
            "meta": copy.deepcopy(template.get("meta")),
            "pinData": copy.deepcopy(template.get("pinData", {})),
            "tags": tags,
            "shared": [
                {
                    "role": "workflow:owner",
                    "workflowId": setup.id,
                    "projectId": PROJECT_ID,
                    "createdAt": created,
                    "updatedAt": created,
                }
            ],
        }

    # --- the background worker ---------------------------------------------------------------

    def _execution_crashed(self, job: _Job, exc: Exception) -> None:
        """An execution that raised is recorded as n8n records it: status `crashed`."""
        log.error("n8n double: execution %s crashed: %s: %s", job.execution_id, type(exc).__name__, exc)
        with self._lock:
            execution = self._executions[job.execution_id]
            execution.status = "crashed"
            execution.stopped_at = _now()
            execution.error = {"message": f"{type(exc).__name__}: {exc}"}

    def _execute(self, job: _Job) -> None:
        with self._lock:
            execution = self._executions[job.execution_id]
            execution.status = "running"
            execution.started_at = _now()
        run = _Run()
        self._flow(run, job)
        with self._lock:
            execution.run_data = run.run_data
            execution.last_node = run.last_node
            execution.error = run.error
            execution.status = "error" if run.error is not None else "success"
            execution.stopped_at = _now()

    def _client(self, setup: WorkflowSetup) -> httpx.Client:
        client = self._clients.get(setup.id)
        if client is None:
            client = httpx.Client(
                base_url=setup.crm_base_url.rstrip("/"),
                headers={"X-Api-Key": setup.crm_api_key, "Accept": "application/json"},
                timeout=CRM_TIMEOUT_S,
            )
            self._clients[setup.id] = client
        return client

    @staticmethod
    def _call(
        client: httpx.Client,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        try:
            response = client.request(method, f"{CRM_PATH}{path}", params=params, json=body)
        except httpx.HTTPError as exc:
            raise _NodeFailure(f"The CRM could not be reached: {type(exc).__name__}: {exc}") from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise _NodeFailure(
                f"The CRM answered {response.status_code} to {method} {CRM_PATH}{path}: {_excerpt(data)}",
                status=response.status_code,
                body=data,
            )
        return response.status_code, data

    # --- the v2 agent flow -------------------------------------------------------------------

    def _flow(self, run: _Run, job: _Job) -> None:
        setup, item, faults = job.setup, job.item, job.faults
        run.node("Webhook", [item], prev=None)
        body: dict[str, Any] = item["body"] if isinstance(item["body"], dict) else {}

        if not _passes_filter(body):
            run.node("Filtrar mensagens", [], prev="Webhook")  # nothing kept: the run ends here
            return
        run.node("Filtrar mensagens", [item], prev="Webhook")

        identity = _identity(setup, body, faults)
        run.node("Identidade canonica", [identity], prev="Filtrar mensagens")
        if not identity["valid"]:
            run.node("Identidade valida?", outputs=[[], [identity]], prev="Identidade canonica")
            run.node(
                "Registrar evento invalido",
                [{"reason": identity["invalid_reason"], "source": identity["source"]}],
                prev="Identidade valida?",
                prev_output=1,
            )
            return
        run.node("Identidade valida?", outputs=[[identity], []], prev="Identidade canonica")

        client = self._client(setup)
        started = time.time()
        try:
            contact, lookup = self._find_contact(client, body, identity)
        except _NodeFailure as failure:
            run.fail(
                "Buscar contato",
                failure,
                prev="Identidade valida?",
                started=started,
                node_type="n8n-nodes-base.httpRequest",
            )
            return
        run.node(
            "Buscar contato",
            [{"data": [contact] if contact else [], "lookup": lookup}],
            prev="Identidade valida?",
            started=started,
        )

        session_key = str(identity["session_key"])
        deal_id: str | None = None
        previous = "Buscar contato"
        if contact is not None:
            started = time.time()
            try:
                _, created = self._call(
                    client,
                    "POST",
                    "/deals",
                    body={
                        "title": f"Atendimento {session_key}",
                        "board_key": setup.board_key,
                        "contact_id": contact.get("id"),
                    },
                )
            except _NodeFailure as failure:
                run.fail(
                    "Garantir deal",
                    failure,
                    prev=previous,
                    started=started,
                    node_type="n8n-nodes-base.httpRequest",
                )
                return
            data = dig(created, "data")
            deal_id = str(data["id"]) if isinstance(data, dict) and data.get("id") else None
            run.node(
                "Garantir deal",
                [{"deal_id": deal_id, "action": dig(created, "action"), "data": data}],
                prev=previous,
                started=started,
            )
            previous = "Garantir deal"
        run.node(
            "Contexto_Deal",
            [
                {
                    "deal_id": deal_id,
                    "contact_id": contact.get("id") if contact else None,
                    "session_key": session_key,
                }
            ],
            prev=previous,
        )

        content = body.get("content") if isinstance(body.get("content"), str) else ""
        run.node("Buffer", [{"list": identity["buffer_key"], "pushed": content}], prev="Contexto_Deal")
        self._agent(run, setup, identity, deal_id, str(content), faults, client)

    def _find_contact(
        self, client: httpx.Client, body: dict[str, Any], identity: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        """Buscar contato: by identity, then (WhatsApp) by phone, then create (WhatsApp)."""
        source = str(identity["source"] or "")
        external_id = identity["external_id"]
        if external_id is None:
            # Only under the name fallback fault: the flow looks the customer up by name and
            # carries on without a CRM contact when nobody has that name.
            name = str(identity.get("fallback_name") or "")
            _, found = self._call(client, "GET", "/contacts", params={"q": name})
            hits = dig(found, "data")
            return (hits[0] if isinstance(hits, list) and hits else None), "name"
        _, found = self._call(
            client,
            "GET",
            "/contacts",
            params={"identifier": str(external_id), "channel": source.lower()},
        )
        hits = dig(found, "data")
        if isinstance(hits, list) and hits:
            return hits[0], "identifier"
        if source != "WHATSAPP":
            raise _NodeFailure(f"contact not resolved for {source.lower()}:{external_id}")
        _, found = self._call(client, "GET", "/contacts", params={"phone": str(external_id)})
        hits = dig(found, "data")
        if isinstance(hits, list) and hits:
            return hits[0], "phone"
        name = dig(body, "sender", "name") or dig(body, "conversation", "meta", "sender", "name")
        _, created = self._call(
            client,
            "POST",
            "/contacts",
            body={"name": str(name or f"{source} Contact"), "phone": str(external_id)},
        )
        contact = dig(created, "data")
        if not isinstance(contact, dict):
            raise _NodeFailure(f"contact not resolved for {source.lower()}:{external_id}")
        return contact, "created"

    def _agent(
        self,
        run: _Run,
        setup: WorkflowSetup,
        identity: dict[str, Any],
        deal_id: str | None,
        content: str,
        faults: frozenset[str],
        client: httpx.Client,
    ) -> None:
        """AI Agent with Memoria, Chat Model and the tool "Mover estagio" (no AI: a keyword)."""
        agent_started = time.time()
        session_key = str(identity["session_key"])
        with self._lock:
            history = list(self._memory.get(session_key, []))
        run.node(
            "Memoria",
            [
                {
                    "action": "loadMemoryVariables",
                    "sessionKey": session_key,
                    "history_length": len(history),
                }
            ],
            prev="AI Agent",
        )
        wants_move = setup.move_keyword.casefold() in content.casefold()
        reply = (
            f"Perfeito! Vou encaminhar o seu pedido de {setup.move_keyword}."
            if wants_move
            else "Obrigado pela mensagem! Em instantes seguimos com o seu atendimento."
        )
        run.node("Chat Model", [{"response": {"generations": [[{"text": reply}]]}}], prev="AI Agent")
        tool_calls: list[dict[str, Any]] = []
        if wants_move:
            summary = f"Cliente pediu {setup.move_keyword}: {content.strip()[:120]}"
            request_body: dict[str, Any]
            if "n8n-move-by-phone" in faults:
                path = "/deals/move-stage-by-identity"
                request_body = {
                    "board_key_or_id": setup.board_key,
                    "phone": identity["external_id"],
                    "to_stage_label": setup.move_stage,
                    "ai_summary": summary,
                }
            elif deal_id is not None:
                path = f"/deals/{deal_id}/move-stage"
                request_body = {"to_stage_label": setup.move_stage, "ai_summary": summary}
            else:
                path = ""  # no deal in context: the tool has nothing to move
                request_body = {}
            if path:
                call = {"method": "POST", "url_path": f"{CRM_PATH}{path}", "body": request_body}
                started = time.time()
                try:
                    status, answer = self._call(client, "POST", path, body=request_body)
                except _NodeFailure as failure:
                    record = {
                        "request": call,
                        "response": {"status": failure.status, "body": failure.body},
                    }
                    run.fail(
                        "Mover estagio",
                        failure,
                        prev="AI Agent",
                        started=started,
                        node_type="n8n-nodes-base.httpRequestTool",
                        extra=record,
                    )
                    return
                record = {"request": call, "response": {"status": status, "body": answer}}
                run.node(
                    "Mover estagio",
                    [record],
                    prev="AI Agent",
                    started=started,
                    input_override={"query": request_body},
                )
                tool_calls.append({"tool": "Mover estagio", **record})
        with self._lock:
            stored = self._memory.setdefault(session_key, [])
            stored.append({"type": "human", "content": content})
            stored.append({"type": "ai", "content": reply})
        run.node(
            "AI Agent",
            [{"output": reply, "tool_calls": tool_calls}],
            prev="Buffer",
            started=agent_started,
        )


# --- the flow's pure parts -------------------------------------------------------------------


def _passes_filter(body: dict[str, Any]) -> bool:
    """Filtrar mensagens: incoming `message_created`, not private, no hand-off label."""
    labels = dig(body, "conversation", "labels")
    return (
        body.get("event") == "message_created"
        and body.get("message_type") == "incoming"
        and body.get("private") is not True
        and HANDOFF_LABEL not in (labels if isinstance(labels, list) else [])
    )


def _identity(setup: WorkflowSetup, body: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """Identidade canonica: source from the channel, external id from the payload, no fallback
    (except under the `n8n-name-memory-key` fault, which models the R4 name fallback)."""
    conversation = body.get("conversation") if isinstance(body.get("conversation"), dict) else {}
    assert isinstance(conversation, dict)
    channel = conversation.get("channel")
    source: str | None = None
    if isinstance(channel, str) and channel in CHANNEL_TO_SOURCE:
        source = CHANNEL_TO_SOURCE[channel]
    elif channel == "Channel::Api":
        inbox = conversation.get("inbox_id")
        if inbox is None:
            inbox = dig(body, "inbox", "id")
        if isinstance(inbox, int) and not isinstance(inbox, bool):
            configured = setup.api_channel_sources.get(inbox)
            source = configured if configured in ("INSTAGRAM", "WHATSAPP") else None
    external_id: str | None = None
    reason: str | None = None
    if source == "INSTAGRAM":
        raw = dig(conversation, "contact_inbox", "source_id")
        if raw is None:  # the template's `??`: identifier only when source_id is absent
            raw = dig(body, "sender", "identifier")
        igsid = str(raw if raw is not None else "").strip()
        if IGSID_RE.fullmatch(igsid):
            external_id = igsid
        else:
            reason = "invalid_igsid"
    elif source == "WHATSAPP":
        external_id = normalise_phone(dig(body, "sender", "phone_number"))
        if external_id is None:
            reason = "invalid_phone"
    else:
        reason = "unsupported_channel"
    valid = external_id is not None
    session_key: str | None = None
    fallback_name: str | None = None
    if valid and source is not None:
        prefix = "" if "key-without-prefix" in faults else f"{source.lower()}:"
        session_key = f"{prefix}{external_id}"
    elif "n8n-name-memory-key" in faults:
        fallback_name = str(
            dig(conversation, "meta", "sender", "name") or dig(body, "sender", "name") or "unknown"
        )
        session_key = f"{(source or 'INSTAGRAM').lower()}:{fallback_name}"
        valid, reason = True, None
    identity: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "session_key": session_key,
        "buffer_key": f"buffer:{session_key}" if session_key is not None else None,
        "valid": valid,
        "invalid_reason": reason,
    }
    if fallback_name is not None:
        identity["fallback_name"] = fallback_name
    return identity
