"""The n8n double's public API v1 subset (`/api/v1`, `X-N8N-API-KEY`): workflows (list, get,
activate/publish, deactivate/unpublish) and executions (list, get), with the bodies n8n and
its request validator answer errors with; and the double-only route that arms a test URL."""

from __future__ import annotations

import base64
import hmac
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.n8n.records import Workflow, now
from golive.sandbox.n8n.served import served_json
from golive.sandbox.n8n.state import State

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
# The limited key of the sandbox: it may list workflows and nothing else.
LIMITED_SCOPES = frozenset({"workflow:list"})


def b64(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def unb64(cursor: str) -> Any:
    return json.loads(base64.b64decode(cursor.encode(), validate=False))


class Reject(Exception):
    """An API request refused with an n8n-shaped `{message}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"message": self.message}, self.status)


class PublicApi:
    def __init__(self, state: State, api_key: str, limited_api_key: str) -> None:
        self._state = state
        self._api_key = api_key
        self._limited_key = limited_api_key

    def routes(self) -> list[Route]:
        api = "/api/v1"
        return [
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

    # --- auth and query parsing ------------------------------------------------------------

    def _authorise(self, request: Request, scope: str) -> None:
        given = request.headers.get(API_KEY_HEADER, "")
        if not given:
            raise Reject(401, f"'{API_KEY_HEADER}' header required")
        if hmac.compare_digest(given.encode(), self._api_key.encode()):
            return
        if hmac.compare_digest(given.encode(), self._limited_key.encode()):
            if scope in LIMITED_SCOPES:
                return
            raise Reject(403, "Forbidden")
        raise Reject(401, "unauthorized")

    @staticmethod
    def _enum(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
        value = request.query_params.get(name)
        if value is None:
            return None
        if value not in allowed:
            raise Reject(
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
            raise Reject(400, "request/query/limit must be number")
        value = int(raw)
        if value > MAX_PAGE:
            raise Reject(400, f"request/query/limit must be <= {MAX_PAGE}")
        if value < 1:
            raise Reject(400, "request/query/limit must be >= 1")
        return value

    @staticmethod
    def _cursor(request: Request, key: str) -> dict[str, Any] | None:
        cursor = request.query_params.get("cursor")
        if not cursor:
            return None
        try:
            decoded = unb64(cursor)
        except ValueError:
            raise Reject(400, "An invalid cursor was provided") from None
        if not isinstance(decoded, dict) or key not in decoded:
            raise Reject(400, "An invalid cursor was provided")
        limit = decoded.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
            raise Reject(400, "An invalid cursor was provided")
        return decoded

    def _find(self, workflow_id: str) -> Workflow:
        workflow = self._state.workflows.get(workflow_id)
        if workflow is None:
            raise Reject(404, "Not Found")
        return workflow

    # --- workflows ---------------------------------------------------------------------------

    async def _list_workflows(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:list")
            active = self._enum(request, "active", ("true", "false"))
            limit = self._limit(request)
            cursor = self._cursor(request, "offset")
        except Reject as reject:
            return reject.response()
        offset = 0
        if cursor is not None:
            offset, limit = cursor["offset"], cursor["limit"]
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
                return Reject(400, "An invalid cursor was provided").response()
        # `tags`: comma-separated names; a workflow must carry every one of them (n8n's
        # integration test "filtered by tags" expects only the workflows with both tags).
        wanted_tags = {t.strip() for t in request.query_params.get("tags", "").split(",")}
        wanted_tags.discard("")
        name = request.query_params.get("name")
        with self._state.lock:
            matches = [
                workflow
                for workflow in self._state.workflows.values()
                if (active is None or workflow.active == (active == "true"))
                and wanted_tags <= set(workflow.setup.tags)
                # n8n: `name LIKE %name%` on the trimmed value
                and (name is None or name.strip() in workflow.setup.name)
            ]
            page = [served_json(w, self._state.faults_of(w.setup)) for w in matches[offset : offset + limit]]
        if request.query_params.get("excludePinnedData") == "true":
            for workflow_json in page:
                workflow_json.pop("pinData", None)
        more = len(matches) > offset + limit
        next_cursor = b64({"limit": limit, "offset": offset + limit}) if more else None
        return JSONResponse({"data": page, "nextCursor": next_cursor})

    async def _get_workflow(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:read")
            with self._state.lock:
                workflow = self._find(str(request.path_params["id"]))
                body = served_json(workflow, self._state.faults_of(workflow.setup))
        except Reject as reject:
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
            with self._state.lock:
                workflow = self._find(str(request.path_params["id"]))
                if workflow.active != active:
                    workflow.active = active
                    workflow.updated_at = now()
                body = served_json(workflow, self._state.faults_of(workflow.setup))
        except Reject as reject:
            return reject.response()
        return JSONResponse(body)

    # --- executions --------------------------------------------------------------------------

    async def _list_executions(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "execution:list")
            status = self._enum(request, "status", EXECUTION_STATUSES)
            include = self._enum(request, "includeData", ("true", "false")) == "true"
            limit = self._limit(request)
            cursor = self._cursor(request, "lastId")
        except Reject as reject:
            return reject.response()
        last_id: int | None = None
        if cursor is not None:
            limit = cursor["limit"]
            raw_last = str(cursor["lastId"])
            if not raw_last.isdigit():
                return Reject(400, "An invalid cursor was provided").response()
            last_id = int(raw_last)
        workflow_id = request.query_params.get("workflowId")
        with self._state.lock:
            matches = [
                execution
                for execution in sorted(self._state.executions.values(), key=lambda e: -e.id)
                # like n8n, executions still queued or running are left out of the list
                if execution.status not in ("new", "running")
                and (workflow_id is None or execution.workflow_id == workflow_id)
                and (status is None or execution.status == status)
                and (last_id is None or execution.id < last_id)
            ]
            page = [e.public(include_data=include) for e in matches[:limit]]
        more = len(matches) > limit
        next_cursor = b64({"lastId": page[-1]["id"], "limit": limit}) if more and page else None
        return JSONResponse({"data": page, "nextCursor": next_cursor})

    async def _get_execution(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "execution:read")
            include = self._enum(request, "includeData", ("true", "false")) == "true"
        except Reject as reject:
            return reject.response()
        raw_id = str(request.path_params["id"])
        with self._state.lock:
            execution = self._state.executions.get(int(raw_id)) if raw_id.isdigit() else None
            body = execution.public(include_data=include) if execution is not None else None
        if body is None:
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse(body)

    # --- double-only -------------------------------------------------------------------------

    async def _listen_test(self, request: Request) -> JSONResponse:
        try:
            self._authorise(request, "workflow:execute")
            with self._state.lock:
                workflow = self._find(str(request.path_params["id"]))
                workflow.test_armed = True
                path = workflow.setup.webhook_path.strip("/")
        except Reject as reject:
            return reject.response()
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"armed": True, "testUrl": f"{base}/webhook-test/{path}"})
