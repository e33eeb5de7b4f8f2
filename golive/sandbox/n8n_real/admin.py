"""Setting up a fresh real n8n without its UI: the owner, API keys, credentials, tags and
workflows, through n8n's own REST (`/rest`, the owner's session cookie) and public API
(`/api/v1`, `X-N8N-API-KEY`) — n8n-and-tooling.md §1.4."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from golive.errors import SandboxError
from golive.waiting import eventually

OWNER_EMAIL = "owner@golive.sandbox"
# What the suite's key may do; the limited key may only list workflows (its 403s are checked).
FULL_SCOPES = (
    "workflow:create",
    "workflow:read",
    "workflow:update",
    "workflow:delete",
    "workflow:list",
    "workflow:activate",
    "workflow:deactivate",
    "execution:read",
    "execution:list",
    "tag:create",
    "tag:read",
    "tag:list",
    "tag:update",
    "workflowTags:update",
    "workflowTags:list",
)
LIMITED_SCOPES = ("workflow:list",)
WORKFLOW_FIELDS = ("name", "nodes", "connections", "settings")


def _check(response: httpx.Response, what: str, *ok: int) -> Any:
    if response.status_code not in (ok or (200,)):
        raise SandboxError(f"n8n refused to {what}: {response.status_code} {response.text[:400]}")
    return response.json() if response.content else None


@dataclass
class N8nAdmin:
    """One n8n instance, as its owner."""

    url: str
    rest: httpx.Client = field(init=False, repr=False)
    api: httpx.Client | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.rest = httpx.Client(base_url=f"{self.url}/rest", timeout=30)

    def close(self) -> None:
        self.rest.close()
        if self.api is not None:
            self.api.close()

    def setup_owner(self) -> None:
        password = "Gl-" + secrets.token_urlsafe(18) + "9a"  # n8n wants a digit and an upper case
        body = {"email": OWNER_EMAIL, "password": password, "firstName": "golive", "lastName": "sandbox"}
        _check(self.rest.post("/owner/setup", json=body), "set up its owner")  # sets the auth cookie

    def api_key(self, label: str, scopes: tuple[str, ...]) -> str:
        available = set(_check(self.rest.get("/api-keys/scopes"), "list API key scopes")["data"])
        wanted = [s for s in scopes if s in available]
        body = {"label": label, "scopes": wanted, "expiresAt": None}

        def create() -> Any:
            # A key is a JWT of (user, issue second): a second key in the same second collides
            # with the first ("already an entry"); the next second it does not.
            response = self.rest.post("/api-keys", json=body)
            return None if "already an entry" in response.text else _check(response, "create an API key")

        created = eventually(create, lambda c: c is not None, timeout=5, what="n8n to create an API key")
        key = str(created["data"]["rawApiKey"])
        if self.api is None:
            self.api = httpx.Client(base_url=f"{self.url}/api/v1", headers={"X-N8N-API-KEY": key}, timeout=30)
        return key

    def credential(self, name: str, kind: str, data: dict[str, Any]) -> str:
        body = {"name": name, "type": kind, "data": data}
        created = _check(self.rest.post("/credentials", json=body), f"create the {kind} credential {name!r}")
        return str(created["data"]["id"])

    def _public(self) -> httpx.Client:
        if self.api is None:
            raise SandboxError("no n8n API key yet")
        return self.api

    def tag(self, name: str) -> str:
        created = _check(
            self._public().post("/tags", json={"name": name}), f"create the tag {name!r}", 200, 201
        )
        return str(created["id"])

    def create_workflow(self, workflow: dict[str, Any]) -> str:
        body = {k: workflow[k] for k in WORKFLOW_FIELDS if k in workflow}
        created = _check(self._public().post("/workflows", json=body), f"import {workflow.get('name')!r}")
        return str(created["id"])

    def replace_workflow(self, workflow_id: str, workflow: dict[str, Any]) -> None:
        """A new version of the same workflow (same id): an active one stays active."""
        body = {k: workflow[k] for k in WORKFLOW_FIELDS if k in workflow}
        _check(self._public().put(f"/workflows/{workflow_id}", json=body), f"update workflow {workflow_id}")

    def set_tags(self, workflow_id: str, tag_ids: list[str]) -> None:
        body = [{"id": t} for t in tag_ids]
        _check(self._public().put(f"/workflows/{workflow_id}/tags", json=body), "tag a workflow")

    def activate(self, workflow_id: str) -> None:
        _check(self._public().post(f"/workflows/{workflow_id}/activate"), f"activate workflow {workflow_id}")

    def version(self) -> str:
        settings = _check(self.rest.get("/settings"), "report its settings")
        return str((settings.get("data") or {}).get("versionCli") or "")
