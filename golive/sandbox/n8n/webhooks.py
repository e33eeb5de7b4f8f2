"""The n8n double's webhook URLs: `/webhook/<path>` for active workflows, `/webhook-test/<path>`
once after it was armed, and n8n's exact "not registered" 404 bodies for anything else. A
registered call is answered at once (the Webhook node's default `onReceived` mode) and its
execution is queued for the worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from golive.sandbox.n8n.records import Execution, Job
from golive.sandbox.n8n.served import served_json
from golive.sandbox.n8n.state import State

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
WEBHOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class Webhooks:
    """`handle` serves both `/webhook/{path}` and `/webhook-test/{path}`; `submit` queues a run."""

    def __init__(self, state: State, submit: Callable[[Job], bool]) -> None:
        self._state = state
        self._submit = submit

    async def handle(self, request: Request) -> JSONResponse:
        test = request.url.path.startswith("/webhook-test/")
        path = str(request.path_params["path"])
        if path.endswith("/"):
            path = path[:-1]
        method = request.method
        with self._state.lock:
            workflow = self._state.by_path.get(path)
            registered: list[str] = []
            if workflow is not None and (workflow.test_armed if test else workflow.active):
                registered = workflow.webhook_methods
            if workflow is None or method not in registered:
                return self._not_registered(path, method, registered, test)
            if test:
                workflow.test_armed = False  # a test URL listens for one call
            setup = workflow.setup
            active_faults = self._state.faults_of(setup)
            served = served_json(workflow, active_faults)
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
        with self._state.lock:
            execution = Execution(
                id=next(self._state.ids),
                workflow_id=setup.id,
                workflow_version_id=str(served["versionId"]),
                mode="manual" if test else "webhook",
                workflow_data=served,
                custom_data={},  # the template sets no execution metadata
            )
            self._state.executions[execution.id] = execution
        self._submit(Job(execution.id, setup, item, active_faults))
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
