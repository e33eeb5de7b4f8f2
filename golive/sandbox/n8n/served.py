"""The workflow as the n8n double serves it: the organisation's copy of the template export
(hosts, ids and Webhook path rewritten, as the sandbox imports it into a real n8n) and, while a
workflow fault is on for that organisation, the copy of the fault's variant instead (so the
workflow says what the flow does)."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from golive.sandbox import workflows
from golive.sandbox.n8n.records import Workflow, WorkflowSetup, iso

PROJECT_ID = "SbxProject000001"


def stable_id(*parts: str, length: int = 16) -> str:
    """A 16-character alphanumeric id, like n8n's nanoids, derived from its parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:length]


def variables(setup: WorkflowSetup) -> dict[str, str]:
    """The `Fluxo_Variaveis` values of this organisation's copy."""
    return {
        "CRM-Host": setup.crm_base_url,
        "CRM-BoardKey": setup.board_key,
        "CW-Host": setup.chatwoot_base_url or "",
        "CW-Account": str(setup.chatwoot_account_id),
        "CW-CanaisAPI": json.dumps({str(k): v for k, v in setup.api_channel_sources.items()}),
    }


def exports(setup: WorkflowSetup) -> dict[str | None, dict[str, Any]]:
    """The organisation's copy of the template and of each workflow fault's variant."""
    org = workflows.OrgWorkflow(setup.name, setup.webhook_path, variables(setup))
    folder = Path(setup.template_path).parent
    found: dict[str | None, dict[str, Any]] = {
        None: workflows.for_organisation(workflows.load(setup.template_path), org)
    }
    for fault, relative in workflows.VARIANTS.items():
        found[fault] = workflows.for_organisation(workflows.load(folder / relative), org)
    return found


def workflow_fault(faults: frozenset[str]) -> str | None:
    """The workflow fault on (at most one is served: the first by name)."""
    on = sorted(f for f in workflows.VARIANTS if f in faults)
    return on[0] if on else None


def served_json(workflow: Workflow, faults: frozenset[str]) -> dict[str, Any]:
    """The workflow as the public API shows it while `faults` are on."""
    setup, template = workflow.setup, workflow.template
    fault = workflow_fault(faults)
    served = workflow.exports[fault]
    nodes: list[dict[str, Any]] = copy.deepcopy(served.get("nodes", []))
    on = [fault] if fault else []
    base_version = str(template.get("versionId") or stable_id(setup.id))
    version_id = (
        str(uuid.UUID(hashlib.md5("|".join([base_version, *on]).encode()).hexdigest()))
        if on
        else base_version
    )
    created, updated = iso(workflow.created_at), iso(workflow.updated_at)
    known_tags = {tag["name"]: tag for tag in template.get("tags", []) if "name" in tag}
    tags = [
        {
            "id": str(known_tags.get(name, {}).get("id") or stable_id("tag", name)),
            "name": name,
            "createdAt": created,
            "updatedAt": created,
        }
        for name in setup.tags
    ]
    connections = copy.deepcopy(served.get("connections", {}))
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
