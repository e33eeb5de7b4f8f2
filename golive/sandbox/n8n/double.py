"""`N8nDouble`: the state, the webhook routes, the public API and the flow's worker in one app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.faults import FaultState
from golive.sandbox.n8n.flow import Flow
from golive.sandbox.n8n.public_api import PublicApi
from golive.sandbox.n8n.records import Job, WorkflowSetup
from golive.sandbox.n8n.state import State
from golive.sandbox.n8n.webhooks import WEBHOOK_METHODS, Webhooks
from golive.sandbox.worker import JobQueue

DOUBLE_VERSION = "golive n8n double"


class N8nDouble:
    """n8n as golive needs it: webhooks, `/api/v1` and the v2 agent flow, deterministic."""

    def __init__(
        self,
        *,
        faults: FaultState,
        api_key: str,
        limited_api_key: str,
        workflows: list[WorkflowSetup],
        why: str = "",
    ) -> None:
        if not api_key or not limited_api_key or api_key == limited_api_key:
            raise ValueError("the n8n double needs two different, non-empty API keys")
        state = State(faults, workflows)
        self._state = state
        self._why = why
        self._flow = Flow(state)
        self._jobs: JobQueue[Job] = JobQueue("n8n-double-worker", self._flow.execute, self._flow.crashed)
        webhooks = Webhooks(state, self._jobs.submit)
        self._app = Starlette(
            routes=[
                Route("/webhook/{path:path}", webhooks.handle, methods=WEBHOOK_METHODS),
                Route("/webhook-test/{path:path}", webhooks.handle, methods=WEBHOOK_METHODS),
                *PublicApi(state, api_key, limited_api_key).routes(),
                Route("/rest/settings", self._settings, methods=["GET"]),
            ]
        )

    def app(self) -> Starlette:
        return self._app

    async def _settings(self, request: Request) -> JSONResponse:
        """Where a real n8n says its version (`versionCli`, no login needed), the double says
        that it is one, and why no real n8n runs."""
        return JSONResponse(
            {"data": {"versionCli": DOUBLE_VERSION, "golive": {"double": True, "why": self._why}}}
        )

    def reset(self) -> None:
        """Forget the agents' chat memory (a real n8n's sits in Redis, flushed on reset) and
        make every workflow active again, as set up."""
        with self._state.lock:
            self._state.memory.clear()
            for workflow in self._state.workflows.values():
                workflow.active = workflow.setup.active

    def close(self) -> None:
        """Stop the worker (after the executions already queued) and close the CRM clients."""
        self._jobs.close()
        self._flow.close()
