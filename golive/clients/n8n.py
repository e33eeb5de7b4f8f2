"""n8n: the public API (`/api/v1`, `X-N8N-API-KEY`) and the executions a delivery started."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from golive.clients.http import expect, send
from golive.waiting import eventually

UNFINISHED = {"new", "running", "waiting", "unknown"}


@dataclass(frozen=True)
class Workflow:
    id: str
    name: str
    active: bool
    tags: tuple[str, ...]
    version_id: str | None
    raw: dict[str, Any]

    def webhook_paths(self) -> list[str]:
        return [
            str(n.get("parameters", {}).get("path", ""))
            for n in self.raw.get("nodes", [])
            if n.get("type") == "n8n-nodes-base.webhook"
        ]


@dataclass(frozen=True)
class Execution:
    id: str
    workflow_id: str
    status: str
    raw: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    def run_data(self) -> dict[str, Any]:
        data = self.raw.get("data") or {}
        result: dict[str, Any] = (data.get("resultData") or {}).get("runData") or {}
        return result

    def nodes_run(self) -> list[str]:
        return list(self.run_data())

    def output(self, node: str) -> dict[str, Any] | None:
        """The first item a node produced (main, or an AI connection for tool/memory nodes)."""
        runs = self.run_data().get(node) or []
        if not runs:
            return None
        for connection in (runs[-1].get("data") or {}).values():
            for branch in connection or []:
                for item in branch or []:
                    if isinstance(item, dict) and isinstance(item.get("json"), dict):
                        return dict(item["json"])
        return {}

    def error(self) -> str:
        error = ((self.raw.get("data") or {}).get("resultData") or {}).get("error") or {}
        node = (error.get("node") or {}).get("name", "")
        return f"{error.get('message', '')}{f' (node {node})' if node else ''}"

    def webhook_body(self) -> dict[str, Any]:
        first = self.output("Webhook") or {}
        body = first.get("body")
        return body if isinstance(body, dict) else {}


class N8nClient:
    def __init__(self, *, http: httpx.Client, organisation: str) -> None:
        self._http = http
        self._org = organisation

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            body = expect(send(self._http, self._org, "GET", path, params=query), self._org, 200)
            yield from body.get("data", [])
            cursor = body.get("nextCursor")
            if not cursor:
                return

    def workflows(self, *, active: bool | None = None, tags: str | None = None) -> list[Workflow]:
        params: dict[str, Any] = {"limit": 100}
        if active is not None:
            params["active"] = "true" if active else "false"
        if tags:
            params["tags"] = tags
        return [_workflow(w) for w in self._pages("/api/v1/workflows", params)]

    def workflow(self, workflow_id: str) -> Workflow:
        return _workflow(
            expect(
                send(self._http, self._org, "GET", f"/api/v1/workflows/{workflow_id}"),
                self._org,
                200,
            )
        )

    def set_active(self, workflow_id: str, active: bool) -> None:
        action = "activate" if active else "deactivate"
        expect(
            send(self._http, self._org, "POST", f"/api/v1/workflows/{workflow_id}/{action}"),
            self._org,
            200,
        )

    def version(self) -> str | None:
        """n8n's version where the instance exposes it (`/rest/settings`, which its editor reads
        before login: `data.versionCli`); None when it does not."""
        response = send(self._http, self._org, "GET", "/rest/settings")
        if response.status_code != 200:
            return None
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            return None
        version = data.get("versionCli") if isinstance(data, dict) else None
        return str(version) if version else None

    def workflow_for_path(self, path: str) -> Workflow | None:
        """The workflow whose Webhook node listens on `path` (active or not)."""
        return next((w for w in self.workflows() if path in w.webhook_paths()), None)

    def executions(self, workflow_id: str, *, limit: int = 20, include_data: bool = True) -> list[Execution]:
        params = {
            "workflowId": workflow_id,
            "limit": limit,
            "includeData": "true" if include_data else "false",
        }
        body = expect(send(self._http, self._org, "GET", "/api/v1/executions", params=params), self._org, 200)
        return [_execution(e) for e in body.get("data", [])]

    def executions_started(self, workflow_id: str, *, since: datetime) -> Iterator[Execution]:
        """The workflow's executions with their data, newest first, down to those started at `since`
        (n8n lists executions newest first, so paging stops there)."""
        params = {"workflowId": workflow_id, "limit": 100, "includeData": "true"}
        for raw in self._pages("/api/v1/executions", params):
            execution = _execution(raw)
            started = str(raw.get("startedAt") or "")
            try:
                if started and datetime.fromisoformat(started.replace("Z", "+00:00")) < since:
                    return
            except ValueError:
                pass
            yield execution

    def execution(self, execution_id: str) -> Execution:
        return _execution(
            expect(
                send(
                    self._http,
                    self._org,
                    "GET",
                    f"/api/v1/executions/{execution_id}",
                    params={"includeData": "true"},
                ),
                self._org,
                200,
            )
        )

    def execution_for_message(self, workflow_id: str, message_id: int, *, timeout: float) -> Execution:
        """The finished execution that the delivery of Chatwoot message `message_id` started."""

        def probe() -> Execution | None:
            for execution in self.executions(workflow_id):
                if execution.webhook_body().get("id") == message_id:
                    return execution if execution.finished else None
            return None

        found = eventually(
            probe,
            lambda e: e is not None,
            timeout=timeout,
            what=f"the n8n execution for Chatwoot message {message_id}",
        )
        assert found is not None
        return found


def _workflow(raw: dict[str, Any]) -> Workflow:
    tags = tuple(str(t.get("name")) for t in raw.get("tags") or [])
    return Workflow(
        str(raw["id"]),
        str(raw.get("name", "")),
        bool(raw.get("active")),
        tags,
        raw.get("versionId"),
        raw,
    )


def _execution(raw: dict[str, Any]) -> Execution:
    return Execution(str(raw["id"]), str(raw.get("workflowId", "")), str(raw.get("status", "")), raw)
