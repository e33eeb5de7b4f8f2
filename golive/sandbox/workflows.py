"""The organisations' n8n workflows: the v2 template export, its broken variants, and the
rewrite that makes an export one organisation's workflow.

An export names its hosts and ids in a Set node (`Fluxo_Variaveis`, as real LagostaCRM flows
do; n8n Variables need a licence) and its credentials as `{id, name}` references. For each
organisation the sandbox rewrites the Set node's assignments (CRM and Chatwoot hosts, board,
account, API-channel inboxes), the Webhook path and id, and the credential references, and
imports the result. A workflow fault swaps in a variant: a copy of the template with one thing
broken (the lint fixtures under `nonconformant/`, or `faults/` for what no lint rule covers).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "n8n"
TEMPLATE = FIXTURES / "agent-v2.json"
# workflow fault -> the export that replaces the template while it is on
VARIANTS: dict[str, str] = {
    "n8n-move-by-phone": "nonconformant/r1-move-by-identity.json",
    "n8n-name-memory-key": "nonconformant/r4-name-fallback.json",
    "key-without-prefix": "nonconformant/r3-key-without-prefix.json",
    "n8n-memory-by-conversation": "nonconformant/r3-conversation-session-key.json",
    "n8n-reply-wrong-conversation": "faults/reply-to-body-id.json",
}
WEBHOOK_TYPE = "n8n-nodes-base.webhook"
SET_TYPE = "n8n-nodes-base.set"


@dataclass(frozen=True)
class OrgWorkflow:
    """What one organisation's copy of an export is rewritten with."""

    name: str
    webhook_path: str
    variables: Mapping[str, str]  # Set-node assignment name -> value (hosts, ids)
    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # export name -> (id, name)
    webhook_id: str = ""


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def variant_of(fault: str | None) -> Path:
    return FIXTURES / VARIANTS[fault] if fault else TEMPLATE


def for_organisation(export: Mapping[str, Any], org: OrgWorkflow) -> dict[str, Any]:
    """A deep copy of `export` as `org`'s workflow."""
    workflow = copy.deepcopy(dict(export))
    workflow["name"] = org.name
    for node in workflow.get("nodes", []):
        params = node.setdefault("parameters", {})
        if node.get("type") == WEBHOOK_TYPE:
            params["path"] = org.webhook_path.strip("/")
            node["webhookId"] = org.webhook_id or str(uuid.uuid5(uuid.NAMESPACE_URL, org.webhook_path))
        if node.get("type") == SET_TYPE:
            for assignment in (params.get("assignments") or {}).get("assignments") or []:
                if assignment.get("name") in org.variables:
                    assignment["value"] = org.variables[assignment["name"]]
        for kind, reference in (node.get("credentials") or {}).items():
            mapped = org.credentials.get(str(reference.get("name")))
            if mapped is not None:
                node["credentials"][kind] = {"id": mapped[0], "name": mapped[1]}
    return workflow


def credential_names(export: Mapping[str, Any]) -> dict[str, str]:
    """Credential name -> type, for every credential an export references."""
    found: dict[str, str] = {}
    for node in export.get("nodes", []):
        for kind, reference in (node.get("credentials") or {}).items():
            found[str(reference.get("name"))] = str(kind)
    return found
