"""Run data in n8n's shape: what each node of an execution received and returned, in the order
the nodes ran, and how a node failure is recorded."""

from __future__ import annotations

import time
from typing import Any

# The sub-nodes wired into the agent, and the connection type n8n files their run data under.
SUB_NODE_KIND = {
    "Memoria": "ai_memory",
    "Chat Model": "ai_languageModel",
    "Mover estagio": "ai_tool",
}


class NodeFailure(Exception):
    """A node of the flow failed: the execution ends with status `error` naming that node."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class Run:
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
        failure: NodeFailure,
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
