"""The n8n double's records: a workflow as set up and as it lives, and an execution with the
body the public API shows for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    template_path: Path  # fixtures/n8n/agent-v2.json; its variants sit next to it
    # inbox id -> "WHATSAPP"/"INSTAGRAM" for Channel::Api inboxes (the organisation's config)
    api_channel_sources: dict[int, str] = field(default_factory=dict)
    active: bool = True
    tags: tuple[str, ...] = ("v2", "lagosta-agent")
    organisation: str = ""  # the organisation slug its per-organisation faults are keyed by
    # where the flow answers the customer (Chatwoot's Application API); None: nowhere to answer
    chatwoot_base_url: str | None = None
    chatwoot_token: str = field(default="", repr=False)
    chatwoot_account_id: int = 0


@dataclass
class Workflow:
    setup: WorkflowSetup
    exports: dict[str | None, dict[str, Any]]  # workflow fault (None: none) -> the export served
    active: bool
    created_at: datetime
    updated_at: datetime
    test_armed: bool = False

    @property
    def template(self) -> dict[str, Any]:
        return self.exports[None]

    @property
    def webhook_methods(self) -> list[str]:
        for node in self.template.get("nodes", []):
            if node.get("type") == "n8n-nodes-base.webhook":
                return [str(node.get("parameters", {}).get("httpMethod") or "GET").upper()]
        return []


@dataclass
class Execution:
    id: int
    workflow_id: str
    workflow_version_id: str
    mode: str  # "webhook" (production URL) or "manual" (test URL)
    workflow_data: dict[str, Any]
    custom_data: dict[str, str]
    status: str = "new"
    created_at: datetime = field(default_factory=now)
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
            "createdAt": iso(self.created_at),
            "startedAt": iso(self.started_at),
            "stoppedAt": iso(self.stopped_at),
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
class Job:
    """One queued run of the flow."""

    execution_id: int
    setup: WorkflowSetup
    item: dict[str, Any]  # what the Webhook node hands the workflow
    faults: frozenset[str]  # the faults on when the call arrived
