"""n8n: the public API (`/api/v1`, `X-N8N-API-KEY`) and the executions a delivery started.

Run data is read in the shape real n8n records it: a main node's output under `data.main`, each
call of an agent's sub-node (memory, model, tool) as one run with `inputOverride` (what it was
asked) and `data.ai_*` (what it answered); `executionIndex` is the order nodes started in."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from golive.clients.http import expect, send
from golive.waiting import eventually

UNFINISHED = {"new", "running", "waiting", "unknown"}
_UNSEEN = object()
_SENTRY_META = re.compile(r'<meta name="n8n:config:sentry" content="([A-Za-z0-9+/=]+)"')
WEBHOOK_TYPE = "n8n-nodes-base.webhook"
AUTOMATION = "automation_event."


def _first_json(connections: Any) -> dict[str, Any] | None:
    """The first item's json of the first non-empty branch of a `{kind: [[items]]}` map."""
    for branches in (connections or {}).values() if isinstance(connections, dict) else []:
        for branch in branches or []:
            for item in branch or []:
                if isinstance(item, dict) and isinstance(item.get("json"), dict):
                    return dict(item["json"])
    return None


@dataclass(frozen=True)
class SubRun:
    """One call of an agent's sub-node: what it was asked and what it answered."""

    asked: dict[str, Any]
    answered: dict[str, Any]
    status: str


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
        """Nodes in the order they started (`executionIndex`; the object's order without it)."""
        data = self.run_data()
        position = {name: index for index, name in enumerate(data)}

        def started(name: str) -> tuple[int, int]:
            indexes = [r.get("executionIndex") for r in data[name] if isinstance(r, dict)]
            known = [i for i in indexes if isinstance(i, int)]
            return (min(known) if known else position[name], position[name])

        return sorted(data, key=started)

    def ran(self, node: str | None) -> bool:
        return node is not None and bool(self.run_data().get(node))

    def started_before(self, first: str, then: str) -> bool:
        order = self.nodes_run()
        return first in order and then in order and order.index(first) < order.index(then)

    def node_status(self, node: str) -> str | None:
        runs = self.run_data().get(node) or []
        return str(runs[-1].get("executionStatus")) if runs else None

    def node_error(self, node: str) -> str:
        runs = self.run_data().get(node) or []
        error = (runs[-1].get("error") if runs else None) or {}
        detail = error.get("description") or ""
        return f"{error.get('message', '')}{f' ({detail})' if detail else ''}"

    def main_output(self, node: str, branch: int | None = None) -> dict[str, Any] | None:
        """The first item a main node produced (on `branch`, or on its first non-empty one)."""
        runs = self.run_data().get(node) or []
        if not runs:
            return None
        branches = (runs[-1].get("data") or {}).get("main") or []
        if branch is not None:
            items = branches[branch] if branch < len(branches) else []
            return dict(items[0]["json"]) if items and isinstance(items[0].get("json"), dict) else None
        return _first_json({"main": branches})

    def branch_items(self, node: str) -> list[int]:
        """How many items each output branch of a node got (an If: [true, false])."""
        runs = self.run_data().get(node) or []
        branches = ((runs[-1].get("data") or {}).get("main") or []) if runs else []
        return [len(b or []) for b in branches]

    def sub_runs(self, node: str | None) -> list[SubRun]:
        """Each call of a sub-node, in order."""
        calls = []
        for run in self.run_data().get(node or "") or []:
            asked = _first_json(run.get("inputOverride")) or {}
            answered = _first_json(run.get("data")) or {}
            calls.append(SubRun(asked, answered, str(run.get("executionStatus", ""))))
        return calls

    def workflow_data(self) -> dict[str, Any]:
        """The workflow as it ran (`workflowData`: the version active at the time)."""
        data = self.raw.get("workflowData")
        return data if isinstance(data, dict) else {}

    def trigger(self) -> str | None:
        """The Webhook node that started the execution."""
        types = {n.get("name"): n.get("type") for n in self.workflow_data().get("nodes", [])}
        for name in self.nodes_run():
            if types.get(name) == WEBHOOK_TYPE:
                return str(name)
        return None

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
        trigger = self.trigger()
        first = (self.main_output(trigger) if trigger else None) or {}
        body = first.get("body")
        return body if isinstance(body, dict) else {}

    def message_id(self) -> Any:
        """The Chatwoot message the execution handled: the account webhook's `message_created`
        is the message; an automation-rule body is the conversation with it in `messages[0]`."""
        body = self.webhook_body()
        if str(body.get("event") or "").startswith(AUTOMATION):
            messages = body.get("messages")
            first = messages[0] if isinstance(messages, list) and messages else {}
            return first.get("id") if isinstance(first, dict) else None
        return body.get("id")


class N8nClient:
    def __init__(self, *, http: httpx.Client, organisation: str) -> None:
        self._http = http
        self._org = organisation
        # finished execution id -> the Chatwoot message it handled (a finished one never changes)
        self._handled: dict[str, Any] = {}
        self._lock = threading.Lock()

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
        """n8n's version where the instance exposes it. `/rest/settings` names it (`versionCli`)
        only to a logged-in user; to anyone else a real n8n says it in its editor page, whose
        Sentry config carries the release (`n8n@1.123.81`). The sandbox's n8n double says that
        it is one, and why. None when neither says."""
        response = send(self._http, self._org, "GET", "/rest/settings")
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return self._release()
        golive: dict[str, Any] = data["golive"] if isinstance(data.get("golive"), dict) else {}
        version = str(data.get("versionCli") or "") or None
        if golive.get("double"):
            return f"{version} (no real n8n: {golive.get('why') or 'not installed'})"
        return version or self._release()

    def _release(self) -> str | None:
        page = send(self._http, self._org, "GET", "/")
        found = _SENTRY_META.search(page.text) if page.status_code == 200 else None
        if found is None:
            return None
        try:
            config = json.loads(base64.b64decode(found.group(1)))
        except ValueError:
            return None
        release = str(config.get("release") or "") if isinstance(config, dict) else ""
        return release.removeprefix("n8n@") or None

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
        asked_at = datetime.now(UTC)

        def probe() -> Execution | None:
            # The list without run data (cheap), then the finished executions not seen before,
            # those started nearest to when we asked first: ours started when the message was
            # delivered, just before. Other scenarios (or customers) may start dozens of executions
            # of the same workflow meanwhile, and each fetch carries a whole run's data. The
            # newest 100; one still running is looked at by a later probe, and a probe fetches a
            # few at most (while ours still runs, the others would all be fetched in one go).
            listed = self.executions(workflow_id, limit=EXECUTIONS_WINDOW, include_data=False)
            fetched = 0
            for candidate in sorted(listed, key=lambda e: _distance(e, asked_at)):
                with self._lock:
                    known = self._handled.get(candidate.id, _UNSEEN)
                if (known is not _UNSEEN and known != message_id) or not candidate.finished:
                    continue
                if fetched == FETCHES_PER_PROBE:
                    return None
                fetched += 1
                execution = self.execution(candidate.id)
                if execution.finished:
                    with self._lock:
                        self._handled[execution.id] = execution.message_id()
                if execution.message_id() == message_id:
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


EXECUTIONS_WINDOW = 100
FETCHES_PER_PROBE = 4


def _distance(execution: Execution, moment: datetime) -> float:
    """Seconds between an execution's start and `moment` (unknown: last)."""
    started = str(execution.raw.get("startedAt") or "")
    try:
        return abs((datetime.fromisoformat(started.replace("Z", "+00:00")) - moment).total_seconds())
    except (ValueError, TypeError):  # no date, or one without a zone
        return float("inf")


def _execution(raw: dict[str, Any]) -> Execution:
    return Execution(str(raw["id"]), str(raw.get("workflowId", "")), str(raw.get("status", "")), raw)
