"""The vocabulary of an organisation profile: the channels, injection paths, environments and
triggers a profile may name, and the table of every setting (its place in the TOML file, its
runbook env var, whether it is required or secret). `golive.config` loads profiles by it; the
table is kept apart so the loader reads as a loader and the table as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Channel = Literal["whatsapp", "instagram"]
# How the suite makes a customer's message reach the target: it posts Chatwoot's events itself
# (`delivery`), creates the message with Chatwoot's API (`chatwoot`, API-channel inboxes), or
# posts Meta's event to Chatwoot's channel webhook and lets Chatwoot do the rest (`provider`).
Injection = Literal["delivery", "chatwoot", "provider"]
Environment = Literal["sandbox", "staging", "production"]
SignatureMode = Literal["hmac", "legacy"]  # Chatwoot's HMAC, or the legacy shared-secret header
# How Chatwoot starts the organisation's n8n flow: the account webhook (`message_created`, the
# message at the top) or an automation rule ("send webhook": `automation_event.message_created`,
# the conversation at the top).
Trigger = Literal["account_webhook", "automation_rule"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
INJECTIONS: tuple[Injection, ...] = get_args(Injection)
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)
SIGNATURE_MODES: tuple[SignatureMode, ...] = get_args(SignatureMode)
RUNBOOK_SLUG = "runbook"
NEWEST_CHATWOOT = "4.15.0"  # what a profile that names no Chatwoot version is taken to run
# Chatwoot checks Meta's X-Hub-Signature-256 on its Instagram and WhatsApp webhooks from this
# build on (PR #14280, merged 2026-04-27 after 4.13.0: taken as first released in 4.14.0).
META_SIGNATURE_FROM = "4.14.0"
DOTENV_FILE = ".env.smoke.local"


@dataclass(frozen=True)
class Setting:
    """One profile setting: its place in the TOML file and its runbook env var."""

    key: str  # "<section>.<name>"
    runbook_env: str
    required: bool = False
    secret: bool = False  # the file holds `<name>_env`, the value comes from that env var
    kind: type = str
    default: Any = None
    help: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("crm.base_url", "SMOKE_BASE_URL", required=True, help="CRM base URL"),
    Setting("crm.api_key", "SMOKE_CRM_API_KEY", secret=True, help="CRM public API key"),
    Setting("crm.webhook_secret", "SMOKE_CHATWOOT_WEBHOOK_SECRET", secret=True),
    Setting("crm.signature_mode", "SMOKE_SIGNATURE_MODE", default="hmac"),
    Setting("crm.organization_id", "SMOKE_ORGANIZATION_ID"),
    Setting("crm.timeout_ms", "SMOKE_TIMEOUT_MS", kind=int, default=15000),
    Setting("chatwoot.account_id", "SMOKE_CHATWOOT_ACCOUNT_ID", required=True, kind=int),
    Setting("chatwoot.inbox_whatsapp_id", "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID", True, kind=int),
    Setting("chatwoot.inbox_instagram_id", "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID", True, kind=int),
    Setting("chatwoot.inject_whatsapp", "SMOKE_CHATWOOT_INJECT_WHATSAPP", default="delivery"),
    Setting("chatwoot.inject_instagram", "SMOKE_CHATWOOT_INJECT_INSTAGRAM", default="delivery"),
    Setting("chatwoot.base_url", "SMOKE_CHATWOOT_BASE_URL"),
    Setting(
        "chatwoot.version",
        "SMOKE_CHATWOOT_VERSION",
        default=NEWEST_CHATWOOT,
        help="the Chatwoot version the organisation runs: payload shapes and signing follow it",
    ),
    Setting("chatwoot.api_token", "SMOKE_CHATWOOT_API_TOKEN", secret=True),
    # The `provider` path: what Meta's events name, and the Meta app secrets Chatwoot checks.
    Setting(
        "chatwoot.instagram_account_id",
        "SMOKE_CHATWOOT_INSTAGRAM_ACCOUNT_ID",
        help="the Instagram business account id of the Instagram inbox (Meta's recipient.id)",
    ),
    Setting(
        "chatwoot.whatsapp_phone_number",
        "SMOKE_CHATWOOT_WHATSAPP_PHONE_NUMBER",
        help="the WhatsApp Cloud inbox's phone number in E.164",
    ),
    Setting(
        "chatwoot.whatsapp_phone_number_id",
        "SMOKE_CHATWOOT_WHATSAPP_PHONE_NUMBER_ID",
        help="the WhatsApp Cloud inbox's phone number id (Meta's metadata.phone_number_id)",
    ),
    Setting("chatwoot.instagram_app_secret", "SMOKE_INSTAGRAM_APP_SECRET", secret=True),
    Setting("chatwoot.whatsapp_app_secret", "SMOKE_WHATSAPP_APP_SECRET", secret=True),
    Setting(
        "chatwoot.allow_provider_injection",
        "SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION",
        kind=bool,
        default=False,
        help="true: a staging may be injected through `provider` (Chatwoot sends the replies to Meta)",
    ),
    Setting("test.instagram_igsid", "SMOKE_INSTAGRAM_IGSID", required=True),
    Setting("test.whatsapp_phone", "SMOKE_WHATSAPP_PHONE", required=True),
    Setting(
        "test.provider_senders",
        "SMOKE_PROVIDER_TEST_SENDERS",
        kind=list,
        default=[],
        help="on a staging, the only IGSIDs / E.164 phones `provider` may post Meta events from",
    ),
    Setting("board.key", "SMOKE_BOARD_KEY"),
    Setting("board.secondary_key", "SMOKE_SECONDARY_BOARD_KEY"),
    Setting("board.target_stage", "SMOKE_TARGET_STAGE"),
    Setting("n8n.base_url", "SMOKE_N8N_BASE_URL"),
    Setting("n8n.api_key", "SMOKE_N8N_API_KEY", secret=True),
    Setting("n8n.webhook_path", "SMOKE_N8N_WEBHOOK_PATH"),
    Setting("n8n.workflow_tag", "SMOKE_N8N_WORKFLOW_TAG", default="v2"),
    Setting("n8n.workflow_exports", "SMOKE_N8N_WORKFLOW_EXPORTS", kind=list, default=[]),
    Setting("n8n.move_keyword", "SMOKE_N8N_MOVE_KEYWORD"),
    Setting("n8n.move_stage", "SMOKE_N8N_MOVE_STAGE"),
    Setting(
        "n8n.trigger",
        "SMOKE_N8N_TRIGGER",
        default="account_webhook",
        help="account_webhook or automation_rule",
    ),
    # The agent flow's parts are found by what they do; a profile may name them instead.
    Setting("n8n.trigger_node", "SMOKE_N8N_TRIGGER_NODE"),
    Setting("n8n.agent_node", "SMOKE_N8N_AGENT_NODE"),
    Setting("n8n.memory_node", "SMOKE_N8N_MEMORY_NODE"),
    Setting("n8n.deal_node", "SMOKE_N8N_DEAL_NODE"),
    Setting("n8n.reply_node", "SMOKE_N8N_REPLY_NODE"),
    Setting("n8n.stage_tools", "SMOKE_N8N_STAGE_TOOLS", kind=list, default=[]),
    Setting("redis.url", "SMOKE_REDIS_URL", secret=True, help="read-only Redis of the agent flows"),
    Setting("database.dsn", "SMOKE_DATABASE_URL", secret=True, help="read-only DSN"),
    Setting("control.url", "SMOKE_CONTROL_URL"),
    Setting("control.token", "SMOKE_CONTROL_TOKEN", secret=True),
    Setting("ui.base_url", "SMOKE_UI_BASE_URL", help="the CRM's web app (default: crm.base_url)"),
    Setting("ui.user", "SMOKE_UI_USER", help="QA user (email) that logs into the CRM's web app"),
    Setting("ui.password", "SMOKE_UI_PASSWORD", secret=True),
    Setting("monitor.window", "SMOKE_MONITOR_WINDOW", help="monitoring window after a run, e.g. 30m"),
)
TOP_LEVEL_KEYS = {"name", "environment", "description"}
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}
# Settings that only work together: an integration with some of them set and others not is a
# mistake (a forgotten variable), never "this target has no n8n".
INTEGRATIONS: dict[str, tuple[str, ...]] = {
    "n8n": ("n8n.base_url", "n8n.api_key", "n8n.webhook_path"),
    "Chatwoot API": ("chatwoot.base_url", "chatwoot.api_token"),
    "board": ("board.key", "board.target_stage"),
}
