"""Run data in the shape real n8n 1.123 records it (checked against a real execution of the
template, see tests/sandbox/test_n8n_contract.py):

* a main node: `{startTime, executionIndex, source: [{previousNode}], hints, executionTime,
  executionStatus, data: {main: [[{json, pairedItem: {item: 0}}], …]}}`;
* a sub-node of the agent (memory, model, tool), once per call: `{startTime, executionTime,
  executionIndex, executionStatus, source: [{previousNode: <agent>, previousNodeRun: 0}],
  inputOverride: {ai_<kind>: [[{json: <what it was asked>}]]}, data: {ai_<kind>: [[{json: <what
  it answered>}]]}}` — e.g. the memory's `{action: "loadMemoryVariables", values}` →
  `{action, chatHistory}`, with no session key;
* a failed node: `executionStatus: "error"` and `error`, and the execution's `resultData.error`.

`executionIndex` is the order nodes started in; the entries are added when a node finishes, so
the agent's sub-nodes come before the agent in the object."""

from __future__ import annotations

import time
from typing import Any

# NodeApiError's message for an HTTP status (n8n-workflow's STATUS_CODE_MESSAGES)
STATUS_MESSAGES = {
    400: "Bad request - please check your parameters",
    401: "Authorization failed - please check your credentials",
    403: "Forbidden - perhaps check your credentials?",
    404: "The resource you are requesting could not be found",
    405: "Method not allowed - please check you are using the right HTTP method",
    409: "Conflict - the request could not be completed due to a conflict",
    422: "Your request is invalid or could not be processed by the service",
    429: "The service is receiving too many requests from you",
    500: "The service was not able to process your request",
    502: "Bad gateway - the service failed to handle your request",
    503: (
        "Service unavailable - try again later or consider setting this node to retry "
        "automatically (in the node settings)"
    ),
    504: "Gateway timed out - perhaps try again later?",
}


class NodeFailure(Exception):
    """A node of the flow failed: the execution ends with status `error` naming that node."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


def _ms(moment: float) -> int:
    return int(moment * 1000)


class Run:
    """Run data in n8n's shape, node by node."""

    def __init__(self) -> None:
        self.run_data: dict[str, list[dict[str, Any]]] = {}
        self.last_node: str | None = None
        self.error: dict[str, Any] | None = None
        self._index = 0

    def start(self) -> tuple[float, int]:
        """A node starts: its start time and execution index."""
        index = self._index
        self._index += 1
        return time.time(), index

    def node(
        self,
        name: str,
        outputs: list[list[dict[str, Any]]],
        *,
        prev: str | None,
        begun: tuple[float, int] | None = None,
    ) -> None:
        """A main node that ran: one list of output items per output branch."""
        began, index = begun or self.start()
        self.run_data.setdefault(name, []).append(
            {
                "startTime": _ms(began),
                "executionIndex": index,
                "source": [{"previousNode": prev}] if prev else [],
                "hints": [],
                "executionTime": max(0, _ms(time.time()) - _ms(began)),
                "executionStatus": "success",
                "data": {
                    "main": [
                        [{"json": item, "pairedItem": {"item": 0}} for item in branch] for branch in outputs
                    ]
                },
            }
        )
        self.last_node = name

    def sub_node(
        self,
        name: str,
        kind: str,
        asked: dict[str, Any],
        answered: dict[str, Any],
        *,
        agent: str,
        begun: tuple[float, int],
        sub_run: bool = False,
    ) -> None:
        """One call of a sub-node (kind: ai_memory, ai_languageModel, ai_tool)."""
        began, index = begun
        entry: dict[str, Any] = {
            "startTime": _ms(began),
            "executionTime": max(0, _ms(time.time()) - _ms(began)),
            "executionIndex": index,
            "executionStatus": "success",
            "source": [{"previousNode": agent, "previousNodeRun": 0}],
            "inputOverride": {kind: [[{"json": asked}]]},
            "data": {kind: [[{"json": answered}]]},
        }
        if sub_run:  # a tool: n8n notes which run of the tool node this call was
            entry["metadata"] = {"subRun": [{"node": name, "runIndex": len(self.run_data.get(name, []))}]}
        self.run_data.setdefault(name, []).append(entry)

    def tool_failed(
        self, name: str, asked: dict[str, Any], failure: NodeFailure, *, agent: str, begun: tuple[float, int]
    ) -> None:
        """A tool call the service refused: n8n records the error on the tool's run (its data is
        what it was asked) and hands the error to the model; the execution goes on."""
        began, index = begun
        detail = failure.body.get("error") if isinstance(failure.body, dict) else failure.body
        self.run_data.setdefault(name, []).append(
            {
                "startTime": _ms(began),
                "executionTime": max(0, _ms(time.time()) - _ms(began)),
                "executionIndex": index,
                "executionStatus": "error",
                "source": [{"previousNode": agent, "previousNodeRun": 0}],
                "data": {"ai_tool": [[{"json": asked}]]},
                "inputOverride": {"ai_tool": [[{"json": asked}]]},
                "metadata": {"subRun": [{"node": name, "runIndex": len(self.run_data.get(name, []))}]},
                "error": {
                    "message": f"{failure.message}\n\nDetails: {detail}" if detail else failure.message,
                    "name": "NodeOperationError",
                    "description": str(detail) if detail is not None else None,
                },
            }
        )

    def fail(
        self, name: str, failure: NodeFailure, *, prev: str | None, begun: tuple[float, int], node_type: str
    ) -> None:
        began, index = begun
        error: dict[str, Any] = {
            "name": "NodeApiError" if failure.status is not None else "NodeOperationError",
            "message": failure.message,
            "node": {"name": name, "type": node_type},
        }
        if failure.status is not None:
            error["httpCode"] = str(failure.status)
            error["description"] = str(failure.body)[:300] if failure.body is not None else None
        self.run_data.setdefault(name, []).append(
            {
                "startTime": _ms(began),
                "executionIndex": index,
                "source": [{"previousNode": prev}] if prev else [],
                "hints": [],
                "executionTime": max(0, _ms(time.time()) - _ms(began)),
                "executionStatus": "error",
                "error": error,
            }
        )
        self.last_node = name
        self.error = error
