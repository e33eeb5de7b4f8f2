"""The n8n double: webhook URLs, the public API v1 subset and a deterministic v2 agent flow —
the sandbox's fast path when no real n8n is installed (`golive.sandbox.n8n_side`), held to the
real n8n by tests/sandbox/test_n8n_contract.py.

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
- The workflow it serves is the organisation's copy of the v2 template export (hosts and ids in
  `Fluxo_Variaveis`, Webhook path) with the setup's id/name/active/tags. While a workflow fault
  is on for the organisation, that fault's variant is served instead, so the workflow says what
  the flow does.
- Run data has real n8n's shape: node start order in `executionIndex`, the memory's
  `loadMemoryVariables`/`saveContext` calls with `chatHistory` and no session key, the model's
  and the tool's calls with what they were asked; the answer is posted to Chatwoot's API.

The flow is this package's own reading of the template; its model is the model double's rule
(a keyword makes it call the stage tool). It never imports the suite's identity rules, payload
builders or clients.

Modules: `records` (workflow setup, workflow, execution, job), `served` (the workflow as
served), `state` (everything behind the lock), `webhooks` (webhook URLs and their 404s),
`public_api` (`/api/v1`), `flow` (the agent flow the worker runs), `flow_rules` (its pure
filter and identity nodes), `run_data` (n8n-shaped run data), `double` (`N8nDouble`).
"""

from __future__ import annotations

from golive.sandbox.n8n.double import N8nDouble
from golive.sandbox.n8n.records import WorkflowSetup

__all__ = ["N8nDouble", "WorkflowSetup"]
