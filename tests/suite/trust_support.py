"""Helpers of the suite tests about trust: the runbook's variables for a sandbox organisation,
every secret the sandbox holds (the leak canaries its Chatwoot answers included), and an
independent scan of a reports folder for them."""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from golive.config import load_profile_file
from golive.organisation import Organisation
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle
from golive.secrets import Secret

ORG = "sandbox-pilot"


def sandbox_org(sandbox: SandboxHandle, slug: str = ORG) -> Organisation:
    return load_profile_file(sandbox.profiles_dir / f"{slug}.toml", {**os.environ, **sandbox.secrets})


def runbook_env(org: Organisation) -> dict[str, str]:
    """The runbook's SMOKE_* variables that make `--org runbook` the organisation `org`: what a
    person sets for a real staging, where there is no control API and no second tenant."""
    assert org.api_key and org.webhook_secret and org.chatwoot_token and org.n8n.api_key and org.database_dsn
    values = {
        "SMOKE_BASE_URL": org.crm_base_url,
        "SMOKE_CRM_API_KEY": org.api_key.reveal(),
        "SMOKE_CHATWOOT_WEBHOOK_SECRET": org.webhook_secret.reveal(),
        "SMOKE_SIGNATURE_MODE": org.signature_mode,
        "SMOKE_ORGANIZATION_ID": org.organization_id or "",
        "SMOKE_TIMEOUT_MS": str(int(org.timeout_s * 1000)),
        "SMOKE_CHATWOOT_ACCOUNT_ID": str(org.account_id),
        "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID": str(org.inboxes["whatsapp"].id),
        "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID": str(org.inboxes["instagram"].id),
        # a staging configured by these variables alone keeps the suite's own delivery for inboxes
        # the sandbox injects through provider (provider there needs test accounts and a yes)
        "SMOKE_CHATWOOT_INJECT_WHATSAPP": _off_sandbox(org.inboxes["whatsapp"].injection),
        "SMOKE_CHATWOOT_INJECT_INSTAGRAM": _off_sandbox(org.inboxes["instagram"].injection),
        "SMOKE_CHATWOOT_BASE_URL": org.chatwoot_base_url or "",
        "SMOKE_CHATWOOT_API_TOKEN": org.chatwoot_token.reveal(),
        "SMOKE_INSTAGRAM_IGSID": org.test_igsid,
        "SMOKE_WHATSAPP_PHONE": org.test_whatsapp_phone,
        "SMOKE_BOARD_KEY": org.board_key or "",
        "SMOKE_SECONDARY_BOARD_KEY": org.secondary_board_key or "",
        "SMOKE_TARGET_STAGE": org.target_stage or "",
        "SMOKE_N8N_BASE_URL": org.n8n.base_url or "",
        "SMOKE_N8N_API_KEY": org.n8n.api_key.reveal(),
        "SMOKE_N8N_WEBHOOK_PATH": org.n8n.webhook_path or "",
        "SMOKE_N8N_WORKFLOW_TAG": org.n8n.workflow_tag,
        "SMOKE_N8N_WORKFLOW_EXPORTS": ",".join(str(p) for p in org.n8n.workflow_exports),
        "SMOKE_N8N_MOVE_KEYWORD": org.n8n.move_keyword or "",
        "SMOKE_N8N_MOVE_STAGE": org.n8n.move_stage or "",
        "SMOKE_DATABASE_URL": org.database_dsn.reveal(),
        "SMOKE_CHATWOOT_VERSION": org.chatwoot_version,
        "SMOKE_N8N_TRIGGER": org.n8n.trigger,
        "SMOKE_REDIS_URL": org.redis_url.reveal() if org.redis_url else "",
        "SMOKE_UI_USER": org.ui_user or "",
        "SMOKE_UI_PASSWORD": org.ui_password.reveal() if org.ui_password else "",
        "SMOKE_MONITOR_WINDOW": org.monitor_window or "",
        "SMOKE_CHATWOOT_INSTAGRAM_ACCOUNT_ID": org.meta.instagram_account_id or "",
        "SMOKE_CHATWOOT_WHATSAPP_PHONE_NUMBER": org.meta.whatsapp_phone_number or "",
        "SMOKE_CHATWOOT_WHATSAPP_PHONE_NUMBER_ID": org.meta.whatsapp_phone_number_id or "",
        "SMOKE_INSTAGRAM_APP_SECRET": _revealed(org.meta.instagram_app_secret),
        "SMOKE_WHATSAPP_APP_SECRET": _revealed(org.meta.whatsapp_app_secret),
        "SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION": "false",
        "SMOKE_PROVIDER_TEST_SENDERS": ",".join((org.test_igsid, org.test_whatsapp_phone)),
    }
    return {name: value for name, value in values.items() if value}


# Settings a sandbox profile leaves unset: the agent flow's parts are found by role, and the
# CRM's web app is at its base URL.
UNSET_ON_THE_SANDBOX = {
    "SMOKE_N8N_TRIGGER_NODE",
    "SMOKE_N8N_AGENT_NODE",
    "SMOKE_N8N_MEMORY_NODE",
    "SMOKE_N8N_DEAL_NODE",
    "SMOKE_N8N_REPLY_NODE",
    "SMOKE_N8N_STAGE_TOOLS",
    "SMOKE_UI_BASE_URL",
}


def _revealed(secret: Secret | None) -> str:
    return secret.reveal() if secret is not None else ""


def _off_sandbox(injection: str) -> str:
    return "delivery" if injection == "provider" else injection


def clean_env(**smoke: str) -> dict[str, str]:
    """The process environment without any runbook variable or sandbox pointer, plus `smoke`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SMOKE_") and k != STATE_ENV}
    return {**base, **smoke}


def planted_secrets(sandbox: SandboxHandle) -> dict[str, str]:
    """name -> value of every secret of the sandbox: the ones it gives the suite (secrets.env,
    the database passwords inside the DSNs) and the ones the suite only meets in Chatwoot's
    answers (webhook signing secrets, the leak canary's secret and URL token, API-inbox secrets)."""
    found = {name: value for name, value in sandbox.secrets.items() if len(value) >= 6}
    for name, value in list(found.items()):
        if "password=" in value:
            found[f"{name}.password"] = value.split("password=")[1].split()[0]
    headers = {"api_access_token": sandbox.secrets["GOLIVE_SANDBOX_CHATWOOT_TOKEN"]}
    base = f"{sandbox.urls['chatwoot']}/api/v1/accounts/7"
    with httpx.Client(headers=headers, timeout=10) as client:  # not a golive client: nothing recorded
        hooks = client.get(f"{base}/webhooks").json()["payload"]["webhooks"]
        inboxes = client.get(f"{base}/inboxes").json()["payload"]
    for hook in hooks:
        found[f"chatwoot webhook {hook['id']} secret"] = hook["secret"]
        for key, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(hook["url"]).query):
            found[f"chatwoot webhook {hook['id']} url {key}"] = value
    for inbox in inboxes:
        for field in ("secret", "hmac_token"):
            if inbox.get(field):
                found[f"chatwoot inbox {inbox['id']} {field}"] = inbox[field]
    return {name: value for name, value in found.items() if value and len(value) >= 6}


def _forms(value: str) -> set[bytes]:
    """The value as written, URL-encoded, JSON-escaped, and base64-encoded at each alignment
    (the characters made of the value's own bits only)."""
    raw = value.encode()
    forms = {raw, urllib.parse.quote(value, safe="").encode(), json.dumps(value)[1:-1].encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start, end = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
        forms.add(encoded[start:end])
    return {f for f in forms if len(f) >= 6}


def _contents(path: Path) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    yield str(path), data
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                yield f"{path}:{member}", zf.read(member)


def leaks(folder: Path, secrets: Mapping[str, str]) -> list[str]:
    """`<file>: <secret name>` for every secret found in any file (and zip member) under folder."""
    patterns = {name: _forms(value) for name, value in secrets.items()}
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for where, data in _contents(path):
            found += [f"{where}: {name}" for name, forms in patterns.items() if any(f in data for f in forms)]
    return found
