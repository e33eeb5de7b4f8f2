"""The environment fingerprint of a run: what was tested, where, with which versions.
Target URLs only (never credentials), the profile's hash, golive's version and git commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from golive import __version__
from golive.errors import GoliveError
from golive.evidence.run import git_commit
from golive.runtime.registry import Clients
from golive.secrets import REDACTOR

CHANNEL_CONFIGS = (
    "SELECT chatwoot_inbox_id AS inbox_id, channel_type, name, status, chatwoot_account_id, "
    "chatwoot_base_url FROM messaging_channel_configs WHERE organization_id = %(org)s "
    "ORDER BY chatwoot_inbox_id"
)


def _safe(probe: Any) -> Any:
    try:
        return probe()
    except (GoliveError, KeyError, ValueError, TypeError):
        return None


def fingerprint(clients: Clients, root: Path) -> dict[str, Any]:
    org = clients.organisation
    sql = clients.sql
    channel_configs: list[dict[str, Any]] = []
    if sql is not None:  # the active channel configuration per inbox (no API token column)
        channel_configs = _safe(lambda: sql.query(CHANNEL_CONFIGS)) or []
    return {
        "organisation": org.slug,
        "name": org.name,
        "environment": org.environment,
        "crm_base_url": org.crm_base_url,
        "chatwoot_base_url": org.chatwoot_base_url,
        "n8n_base_url": org.n8n.base_url,
        "chatwoot_account_id": org.account_id,
        "inboxes": {
            channel: {"id": inbox.id, "injection": inbox.injection} for channel, inbox in org.inboxes.items()
        },
        "profile_sha256": org.fingerprint,
        "profile_origin": org.origin,
        "golive_version": __version__,
        "git_commit": git_commit(root),
        "versions": {
            "crm": _safe(clients.crm.api_version),
            # a real n8n's version, or the sandbox's n8n double saying so (and why)
            "n8n": _safe(clients.n8n.version) if clients.n8n is not None else None,
        },
        "workflows": _workflows(clients),
        "channel_configs": channel_configs,
    }


def _workflows(clients: Clients) -> list[dict[str, Any]]:
    """The organisation's v2 workflow as n8n reports it (id, name, active, version)."""
    n8n, path = clients.n8n, clients.organisation.n8n.webhook_path
    if n8n is None or not path:
        return []
    workflow = _safe(lambda: n8n.workflow_for_path(path))
    if workflow is None:
        return []
    return [
        {
            "id": workflow.id,
            "name": workflow.name,
            "active": workflow.active,
            "versionId": workflow.version_id,
        }
    ]


def write_fingerprint(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REDACTOR.redact(json.dumps(data, indent=2, default=str)), encoding="utf-8")
