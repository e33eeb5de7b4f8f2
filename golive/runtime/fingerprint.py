"""The environment fingerprint of a run: what was tested, where, with which versions.

Target URLs only (never credentials); the CRM organisation the API key belongs to (`/me`: id
and name); the live n8n workflows (ids, versions); Chatwoot's and n8n's versions and the CRM's
deployment identity where their APIs expose them; the profile's hash; golive's version, git
commit and branch. Anything a target does not expose is recorded as null, never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from golive import __version__
from golive.clients.crm import Me
from golive.errors import GoliveError
from golive.evidence.run import git_branch, git_commit
from golive.runtime.registry import Clients
from golive.secrets import REDACTOR, redact_fields

CHANNEL_CONFIGS = (
    "SELECT chatwoot_inbox_id AS inbox_id, channel_type, name, status, chatwoot_account_id, "
    "chatwoot_base_url FROM messaging_channel_configs WHERE organization_id = %(org)s "
    "ORDER BY chatwoot_inbox_id"
)


def _safe(probe: Any) -> Any:
    try:
        return probe()
    except (GoliveError, KeyError, ValueError, TypeError, AttributeError):
        return None


def _workflows(clients: Clients) -> list[dict[str, Any]]:
    """The organisation's live flow(s) as n8n's API lists them: id, name, versionId, active.
    Only those listening on the profile's webhook path: one n8n may serve other clients, whose
    workflows are none of this organisation's evidence."""
    n8n = clients.n8n
    own = clients.organisation.n8n.webhook_path
    if n8n is None or not own:
        return []
    found = _safe(n8n.workflows) or []
    return [
        {
            "id": w.id,
            "name": w.name,
            "versionId": w.version_id,
            "active": w.active,
            "updatedAt": w.raw.get("updatedAt"),
            "tags": list(w.tags),
            "organisation_flow": True,
        }
        for w in found
        if own in w.webhook_paths()
    ]


def fingerprint(clients: Clients, root: Path, identity: Me | None = None) -> dict[str, Any]:
    org = clients.organisation
    sql = clients.sql
    channel_configs: list[dict[str, Any]] = []
    if sql is not None:  # the active channel configuration per inbox (no API token column)
        channel_configs = _safe(lambda: sql.query(CHANNEL_CONFIGS)) or []
    if identity is None and org.api_key is not None:
        identity = _safe(clients.crm.me)
    chatwoot, n8n = clients.chatwoot, clients.n8n
    return {
        "organisation": org.slug,
        "name": org.name,
        "environment": org.environment,
        "crm_organisation": (
            {"id": identity.organization_id, "name": identity.organization_name} if identity else None
        ),
        "organization_id": org.organization_id,
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
        "git_branch": git_branch(root),
        "versions": {
            "crm": _safe(clients.crm.api_version),
            "chatwoot": _safe(chatwoot.version) if chatwoot is not None else None,
            # a real n8n's version, or the sandbox's n8n double saying so (and why)
            "n8n": _safe(n8n.version) if n8n is not None else None,
        },
        "crm_deployment": _safe(clients.crm.deployment) or {},
        "workflows": _workflows(clients),
        "channel_configs": channel_configs,
    }


def write_fingerprint(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(redact_fields(data, "fingerprint"), indent=2, default=str)
    path.write_text(REDACTOR.redact(text), encoding="utf-8")
