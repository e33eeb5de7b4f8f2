"""The workflow as the n8n double serves it: the template export with the setup's id, name,
tags and Webhook path, and, while a workflow fault is on, the nodes of the matching
non-conformant export (so the workflow says what the flow does)."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from golive.sandbox.n8n.records import Workflow, iso

PROJECT_ID = "SbxProject000001"
# Fault -> the non-conformant export whose changed nodes are served (and run) while it is on.
FAULT_EXPORTS = {
    "n8n-move-by-phone": "nonconformant/r1-move-by-identity.json",
    "n8n-name-memory-key": "nonconformant/r4-name-fallback.json",
}


def stable_id(*parts: str, length: int = 16) -> str:
    """A 16-character alphanumeric id, like n8n's nanoids, derived from its parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:length]


def fault_nodes(template_path: Path, template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each workflow fault: the nodes its non-conformant export changes."""
    by_name = {node["name"]: node for node in template.get("nodes", [])}
    changed: dict[str, list[dict[str, Any]]] = {}
    for fault, relative in FAULT_EXPORTS.items():
        export = json.loads((template_path.parent / relative).read_text(encoding="utf-8"))
        changed[fault] = [node for node in export.get("nodes", []) if by_name.get(node["name"]) != node]
    return changed


def served_json(workflow: Workflow, faults: frozenset[str]) -> dict[str, Any]:
    """The workflow as the public API shows it while `faults` are on."""
    setup, template = workflow.setup, workflow.template
    nodes: list[dict[str, Any]] = copy.deepcopy(template.get("nodes", []))
    on = sorted(f for f in FAULT_EXPORTS if f in faults)
    for fault in on:
        replacements = {node["name"]: node for node in workflow.fault_nodes[fault]}
        nodes = [copy.deepcopy(replacements.get(node["name"], node)) for node in nodes]
    for node in nodes:
        if node.get("type") == "n8n-nodes-base.webhook":
            node.setdefault("parameters", {})["path"] = setup.webhook_path.strip("/")
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
    connections = copy.deepcopy(template.get("connections", {}))
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
