"""Organisation profiles: one typed object per organisation.

Precedence for every setting: environment > profile file > default.

* File profiles live in `orgs/<slug>.toml`; any setting `<section>.<key>` can be
  overridden by the env var `GOLIVE_<SLUG>_<SECTION>_<KEY>` (upper case, `-` → `_`).
* The runbook profile (`--org runbook`) is built from the runbook's `SMOKE_*`
  variables alone, read from the environment and then from `.env.smoke.local`.
* Sandbox profiles (`sandbox-*`) are written by the embedded stack when it starts.

Secrets are never written in a profile: a profile names the env var that holds
each one (`api_key_env = "CORONEL_CRM_API_KEY"`), and the loaded value is a
`Secret`, registered for redaction the moment it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from golive.errors import ConfigError
from golive.secrets import REDACTOR, Secret

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


@dataclass(frozen=True)
class Inbox:
    channel: Channel
    id: int
    injection: Injection


@dataclass(frozen=True)
class MetaChannels:
    """What the `provider` path needs to post Meta's events to Chatwoot's channel webhooks."""

    instagram_account_id: str | None = None  # the channel's instagram_id: Meta's recipient.id
    whatsapp_phone_number: str | None = None  # E.164, as Chatwoot stores the channel's number
    whatsapp_phone_number_id: str | None = None  # Meta's metadata.phone_number_id
    instagram_app_secret: Secret | None = None  # X-Hub-Signature-256 key of the Instagram app
    whatsapp_app_secret: Secret | None = None  # … of the WhatsApp app
    allowed_off_sandbox: bool = False  # [chatwoot] allow_provider_injection
    test_senders: tuple[str, ...] = ()  # on a staging: the only senders Meta events may name

    def app_secret(self, channel: Channel) -> Secret | None:
        return self.instagram_app_secret if channel == "instagram" else self.whatsapp_app_secret


@dataclass(frozen=True)
class FlowRoles:
    """Node names a profile gives for the agent flow's parts (None: found by what they do)."""

    trigger: str | None = None
    agent: str | None = None
    memory: str | None = None
    deal: str | None = None  # the node that exposes deal_id to the tools
    reply: str | None = None  # the node that answers the customer in Chatwoot
    stage_tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class N8n:
    base_url: str | None
    api_key: Secret | None
    webhook_path: str | None
    workflow_tag: str
    workflow_exports: tuple[Path, ...]
    move_keyword: str | None
    move_stage: str | None
    trigger: Trigger = "account_webhook"
    roles: FlowRoles = field(default_factory=FlowRoles)


@dataclass(frozen=True)
class Organisation:
    """Everything the suite knows about one organisation's target. Secrets print redacted."""

    slug: str
    name: str
    environment: Environment
    origin: str  # where the profile came from, for messages
    crm_base_url: str
    api_key: Secret | None
    webhook_secret: Secret | None
    signature_mode: SignatureMode
    organization_id: str | None
    timeout_s: float
    account_id: int
    inboxes: Mapping[Channel, Inbox]
    chatwoot_base_url: str | None
    chatwoot_token: Secret | None
    test_igsid: str
    test_whatsapp_phone: str
    board_key: str | None
    secondary_board_key: str | None
    target_stage: str | None
    n8n: N8n
    database_dsn: Secret | None
    control_url: str | None
    control_token: Secret | None
    chatwoot_version: str = NEWEST_CHATWOOT
    redis_url: Secret | None = None
    fingerprint: str = field(default="", compare=False)
    ui_base_url: str | None = None  # the CRM's web app; None = crm_base_url
    ui_user: str | None = None  # the QA user the @ui scenarios log in as
    ui_password: Secret | None = None
    monitor_window: str | None = None  # how long `golive smoke` watches after the run (e.g. "30m")
    meta: MetaChannels = field(default_factory=MetaChannels)

    @property
    def webhook_url(self) -> str:
        return f"{self.crm_base_url}/api/chatwoot/webhook"

    @property
    def runbook(self) -> bool:
        return self.slug == RUNBOOK_SLUG

    def _value(self, key: str) -> Any:
        return {
            "crm.base_url": self.crm_base_url,
            "crm.api_key": self.api_key,
            "crm.webhook_secret": self.webhook_secret,
            "crm.organization_id": self.organization_id,
            "chatwoot.base_url": self.chatwoot_base_url,
            "chatwoot.api_token": self.chatwoot_token,
            "board.key": self.board_key,
            "board.target_stage": self.target_stage,
            "n8n.base_url": self.n8n.base_url,
            "n8n.api_key": self.n8n.api_key,
            "n8n.webhook_path": self.n8n.webhook_path,
            "n8n.workflow_exports": self.n8n.workflow_exports,
            "database.dsn": self.database_dsn,
            "control.url": self.control_url,
            "control.token": self.control_token,
            "chatwoot.instagram_app_secret": self.meta.instagram_app_secret,
            "chatwoot.whatsapp_app_secret": self.meta.whatsapp_app_secret,
        }.get(key)

    def setting(self, key: str) -> str:
        """How a person names setting `key` of this profile: the runbook's variable, or the
        profile key (and, for a secret, the env var that holds it)."""
        setting = SETTINGS_BY_KEY[key]
        if self.runbook:
            return setting.runbook_env
        section, name = key.split(".")
        value = self._value(key)
        if setting.secret and isinstance(value, Secret):
            return f"{value.name} ({section}.{name}_env in {self.origin})"
        return f"{section}.{name}{'_env' if setting.secret else ''} in {self.origin}"

    def settings(self, *keys: str) -> str:
        return ", ".join(self.setting(k) for k in keys)

    def incomplete(self) -> list[str]:
        """One line per integration that is half configured (some settings set, some not)."""
        problems = []
        for integration, keys in INTEGRATIONS.items():
            given = [k for k in keys if self._value(k)]
            missing = [k for k in keys if not self._value(k)]
            if given and missing:
                problems.append(
                    f"{integration} is half configured: {self.settings(*given)} "
                    f"{'is' if len(given) == 1 else 'are'} set but {self.settings(*missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not; set "
                    f"{'it' if len(missing) == 1 else 'them'}, or unset the others to run "
                    f"without {integration}"
                )
        return problems

    def capabilities(self) -> dict[str, str]:
        """capability -> reason it is missing ('' when present), naming what to set."""
        n8n_ok = self.n8n.base_url and self.n8n.api_key and self.n8n.webhook_path
        return {
            "api": "" if self.api_key else f"no CRM API key (set {self.setting('crm.api_key')})",
            "db": ""
            if self.database_dsn
            else f"no read-only database DSN (set {self.setting('database.dsn')})",
            "n8n": ""
            if n8n_ok
            else "no n8n base URL, API key and webhook path (set "
            f"{self.settings('n8n.base_url', 'n8n.api_key', 'n8n.webhook_path')})",
            "chatwoot": ""
            if self.chatwoot_base_url and self.chatwoot_token
            else "no Chatwoot API URL and token (set "
            f"{self.settings('chatwoot.base_url', 'chatwoot.api_token')})",
            "control": "" if self.control_url else "the target offers no fault/outage control",
            "board": ""
            if self.board_key and self.target_stage
            else f"no board key and target stage (set {self.settings('board.key', 'board.target_stage')})",
            "exports": ""
            if self.n8n.workflow_exports
            else f"no exported n8n workflows (set {self.setting('n8n.workflow_exports')})",
            "secret": ""
            if self.webhook_secret
            else f"no webhook secret (set {self.setting('crm.webhook_secret')})",
            "ui": ""
            if self.ui_user and self.ui_password
            else "no QA user for the CRM's web app ([ui] user and password_env)",
            "redis": "" if self.redis_url else "no read-only Redis of the agent flows ([redis] url_env)",
            **{
                f"provider_{channel}": ""
                if self.inboxes[channel].injection == "provider"
                else f"the {channel.capitalize()} inbox is not injected through Chatwoot's channel "
                f"webhook (set {self.setting(f'chatwoot.inject_{channel}')} to provider)"
                for channel in CHANNELS
            },
        }

    def secrets(self) -> list[Secret]:
        found = [
            self.api_key,
            self.webhook_secret,
            self.chatwoot_token,
            self.n8n.api_key,
            self.database_dsn,
            self.control_token,
            self.ui_password,
            self.redis_url,
            self.meta.instagram_app_secret,
            self.meta.whatsapp_app_secret,
        ]
        return [s for s in found if s is not None]


# --- loading -------------------------------------------------------------------------------


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments; optional `export`; surrounding quotes stripped."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        if "=" not in line:
            raise ConfigError(
                f"{path}:{number}: expected KEY=VALUE, got {line.split()[0]!r}",
                setting=str(path),
                where=str(path),
            )
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0]  # `KEY=value  # comment`, as shells do
        values[key.strip()] = value
    return values


def _env_name(slug: str, key: str) -> str:
    return "GOLIVE_" + re.sub(r"[^A-Z0-9]", "_", f"{slug}_{key}".upper())


def _coerce(setting: Setting, raw: Any, where: str) -> Any:
    if setting.kind is int:
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ConfigError(
                f"invalid setting {setting.key}: {raw!r} is not an integer ({where})",
                setting=setting.key,
                where=where,
            ) from None
    if setting.kind is bool:
        word = str(raw).strip().lower() if not isinstance(raw, bool) else str(raw).lower()
        if word in ("true", "1", "yes", "on"):
            return True
        if word in ("false", "0", "no", "off", ""):
            return False
        raise ConfigError(
            f"invalid setting {setting.key}: {raw!r} is not true or false ({where})",
            setting=setting.key,
            where=where,
        )
    if setting.kind is list:
        if isinstance(raw, list):
            return [str(item) for item in raw]
        return [part.strip() for part in str(raw).split(",") if part.strip()]
    return str(raw).strip()


class _Source:
    """Answers "what is setting X, and where would a user set it?" for one profile."""

    def __init__(
        self,
        slug: str,
        file_values: Mapping[str, Any],
        env: Mapping[str, str],
        file_label: str,
        runbook: bool,
    ) -> None:
        self.slug = slug
        self.file_values = file_values
        self.env = env
        self.file_label = file_label
        self.runbook = runbook

    def env_var(self, setting: Setting) -> str:
        return setting.runbook_env if self.runbook else _env_name(self.slug, setting.key)

    def where(self, setting: Setting) -> str:
        section, name = setting.key.split(".")
        if self.runbook:
            return f"set {setting.runbook_env} in the environment or in {DOTENV_FILE}"
        file_key = f"{name}_env" if setting.secret else name
        return f"set {file_key} under [{section}] in {self.file_label} or env {self.env_var(setting)}"

    def get(self, setting: Setting) -> Any:
        env_value = self.env.get(self.env_var(setting))
        if env_value not in (None, ""):
            if setting.secret:
                return Secret(self.env_var(setting), str(env_value))
            return _coerce(setting, env_value, self.where(setting))
        section, name = setting.key.split(".")
        if setting.secret:
            var = self.file_values.get(section, {}).get(f"{name}_env")
            if var is None:
                return None
            value = self.env.get(str(var))
            if not value:
                raise ConfigError(
                    f"missing secret {setting.key}: env var {var} (named in {self.file_label}) "
                    "is not set; export it or add it to your CI secrets",
                    setting=str(var),
                    where=self.file_label,
                )
            return Secret(str(var), value)
        raw = self.file_values.get(section, {}).get(name)
        if raw is None or raw == "":
            return setting.default
        return _coerce(setting, raw, self.where(setting))


def _validate_file(data: Mapping[str, Any], label: str) -> None:
    known: dict[str, set[str]] = {s.key.split(".")[0]: set() for s in SETTINGS}
    for s in SETTINGS:
        section, name = s.key.split(".")
        known[section].add(f"{name}_env" if s.secret else name)
    for key, value in data.items():
        if key in TOP_LEVEL_KEYS:
            continue
        if key not in known or not isinstance(value, dict):
            raise ConfigError(f"{label}: unknown setting {key!r}", setting=key, where=label)
        for name in value:
            if name in known[key]:
                continue
            hint = (
                f"; secrets are read from env vars, write {name}_env" if f"{name}_env" in known[key] else ""
            )
            raise ConfigError(
                f"{label}: unknown setting {key}.{name}{hint}", setting=f"{key}.{name}", where=label
            )


def build_organisation(
    slug: str,
    file_values: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    file_label: str,
    runbook: bool = False,
    base_dir: Path | None = None,
) -> Organisation:
    """Turn raw settings into an `Organisation`, or raise ConfigError naming the first problem."""
    if not runbook:
        _validate_file(file_values, file_label)
    src = _Source(slug, file_values, env, file_label, runbook)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = src.get(setting)
        if setting.required and value in (None, ""):
            raise ConfigError(
                f"missing setting {setting.runbook_env if runbook else setting.key} "
                f"for organisation '{slug}': {src.where(setting)}",
                setting=setting.runbook_env if runbook else setting.key,
                where=src.where(setting),
            )
        values[setting.key] = value

    def invalid(key: str, problem: str) -> ConfigError:
        setting = next(s for s in SETTINGS if s.key == key)
        name = setting.runbook_env if runbook else key
        return ConfigError(
            f"invalid setting {name} for organisation '{slug}': {problem}; {src.where(setting)}",
            setting=name,
            where=src.where(setting),
        )

    base_url = str(values["crm.base_url"]).rstrip("/")
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", base_url):
        raise invalid("crm.base_url", f"{base_url!r} is not an http(s) URL")
    if values["crm.signature_mode"] not in SIGNATURE_MODES:
        raise invalid("crm.signature_mode", f"expected {' or '.join(SIGNATURE_MODES)}")
    if values["crm.timeout_ms"] <= 0:
        raise invalid("crm.timeout_ms", "must be a positive number of milliseconds")
    org_id = values["crm.organization_id"]
    uuid_pattern = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    if org_id and not re.fullmatch(uuid_pattern, org_id):
        raise invalid("crm.organization_id", f"{org_id!r} is not a uuid")
    for key in ("chatwoot.account_id", "chatwoot.inbox_whatsapp_id", "chatwoot.inbox_instagram_id"):
        if values[key] <= 0:
            raise invalid(key, "Chatwoot ids are positive integers")
    inboxes: dict[Channel, Inbox] = {}
    for channel in CHANNELS:
        injection = values[f"chatwoot.inject_{channel}"]
        if injection not in INJECTIONS:
            raise invalid(f"chatwoot.inject_{channel}", f"expected {' or '.join(INJECTIONS)}")
        inboxes[channel] = Inbox(channel, values[f"chatwoot.inbox_{channel}_id"], cast(Injection, injection))
    if inboxes["whatsapp"].id == inboxes["instagram"].id:
        raise invalid("chatwoot.inbox_instagram_id", "the WhatsApp and Instagram inbox are the same")
    if not re.fullmatch(r"v?[0-9]+\.[0-9]+\.[0-9]+", values["chatwoot.version"]):
        raise invalid("chatwoot.version", "expected MAJOR.MINOR.PATCH, e.g. 4.11.2")
    if not re.fullmatch(r"[0-9]{10,20}", values["test.instagram_igsid"]):
        raise invalid("test.instagram_igsid", "an IGSID is 10 to 20 digits")
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", values["test.whatsapp_phone"]):
        raise invalid("test.whatsapp_phone", "expected E.164, e.g. +5511999990000")
    environment = str(file_values.get("environment", "staging"))
    meta = _meta_channels(values, inboxes, environment, invalid)
    ui_base_url = (values["ui.base_url"] or "").rstrip("/") or None
    if ui_base_url and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", ui_base_url):
        raise invalid("ui.base_url", f"{ui_base_url!r} is not an http(s) URL")
    if values["monitor.window"]:
        try:
            parse_duration(values["monitor.window"])
        except ValueError as exc:
            raise invalid("monitor.window", str(exc)) from None
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"{file_label}: environment must be one of {', '.join(ENVIRONMENTS)}",
            setting="environment",
            where=file_label,
        )
    if values["n8n.trigger"] not in TRIGGERS:
        raise invalid("n8n.trigger", f"expected {' or '.join(TRIGGERS)}")
    redis_url = values["redis.url"]
    if redis_url is not None and not re.fullmatch(r"rediss?://\S+", redis_url.reveal()):
        raise invalid("redis.url", "expected a redis:// or rediss:// URL")
    exports_base = base_dir or Path.cwd()
    n8n = N8n(
        base_url=(values["n8n.base_url"] or "").rstrip("/") or None,
        api_key=values["n8n.api_key"],
        webhook_path=values["n8n.webhook_path"],
        workflow_tag=values["n8n.workflow_tag"],
        workflow_exports=tuple(exports_base / p for p in values["n8n.workflow_exports"]),
        move_keyword=values["n8n.move_keyword"],
        move_stage=values["n8n.move_stage"],
        trigger=cast(Trigger, values["n8n.trigger"]),
        roles=FlowRoles(
            trigger=values["n8n.trigger_node"],
            agent=values["n8n.agent_node"],
            memory=values["n8n.memory_node"],
            deal=values["n8n.deal_node"],
            reply=values["n8n.reply_node"],
            stage_tools=tuple(values["n8n.stage_tools"]),
        ),
    )
    org = Organisation(
        slug=slug,
        name=str(file_values.get("name", slug)),
        environment=environment,
        origin=file_label,
        crm_base_url=base_url,
        api_key=values["crm.api_key"],
        webhook_secret=values["crm.webhook_secret"],
        signature_mode=cast(SignatureMode, values["crm.signature_mode"]),
        organization_id=org_id,
        timeout_s=values["crm.timeout_ms"] / 1000,
        account_id=values["chatwoot.account_id"],
        inboxes=inboxes,
        chatwoot_base_url=(values["chatwoot.base_url"] or "").rstrip("/") or None,
        chatwoot_token=values["chatwoot.api_token"],
        test_igsid=values["test.instagram_igsid"],
        test_whatsapp_phone=values["test.whatsapp_phone"],
        board_key=values["board.key"],
        secondary_board_key=values["board.secondary_key"],
        target_stage=values["board.target_stage"],
        n8n=n8n,
        database_dsn=values["database.dsn"],
        control_url=(values["control.url"] or "").rstrip("/") or None,
        control_token=values["control.token"],
        chatwoot_version=str(values["chatwoot.version"]).lstrip("v"),
        redis_url=redis_url,
        fingerprint=_fingerprint(values),
        ui_base_url=ui_base_url,
        ui_user=values["ui.user"] or None,
        ui_password=values["ui.password"],
        monitor_window=values["monitor.window"] or None,
        meta=meta,
    )
    REDACTOR.register_all(org.secrets())
    return org


def version_at_least(version: str, minimum: str) -> bool:
    """MAJOR.MINOR.PATCH comparison (a leading `v` allowed); both must be valid versions."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(n) for n in text.strip().lstrip("v").split("."))

    return parts(version) >= parts(minimum)


def _meta_channels(
    values: Mapping[str, Any],
    inboxes: Mapping[Channel, Inbox],
    environment: str,
    invalid: Any,
) -> MetaChannels:
    """The `provider` settings, checked: what each provider-injected inbox needs, the Meta app
    secret where the Chatwoot build checks Meta's signature, and the explicit flag a staging
    needs (a provider-injected message is a real customer message to Chatwoot: it will send
    the agent's answer to Meta)."""
    account_id = values["chatwoot.instagram_account_id"] or None
    phone = values["chatwoot.whatsapp_phone_number"] or None
    phone_id = values["chatwoot.whatsapp_phone_number_id"] or None
    if account_id and not re.fullmatch(r"[0-9]{5,25}", account_id):
        raise invalid("chatwoot.instagram_account_id", "an Instagram account id is digits only")
    if phone and not re.fullmatch(r"\+[1-9][0-9]{7,14}", phone):
        raise invalid("chatwoot.whatsapp_phone_number", "expected E.164, e.g. +5511999990000")
    if phone_id and not re.fullmatch(r"[0-9]{5,25}", phone_id):
        raise invalid("chatwoot.whatsapp_phone_number_id", "a phone number id is digits only")
    senders = tuple(values["test.provider_senders"])
    for sender in senders:
        if not re.fullmatch(r"[0-9]{10,20}|\+[1-9][0-9]{7,14}", sender):
            raise invalid("test.provider_senders", f"{sender!r} is neither an IGSID nor an E.164 phone")
    meta = MetaChannels(
        instagram_account_id=account_id,
        whatsapp_phone_number=phone,
        whatsapp_phone_number_id=phone_id,
        instagram_app_secret=values["chatwoot.instagram_app_secret"],
        whatsapp_app_secret=values["chatwoot.whatsapp_app_secret"],
        allowed_off_sandbox=bool(values["chatwoot.allow_provider_injection"]),
        test_senders=senders,
    )
    providers = [c for c in CHANNELS if inboxes[c].injection == "provider"]
    if not providers:
        return meta
    first = f"chatwoot.inject_{providers[0]}"
    if environment != "sandbox" and not meta.allowed_off_sandbox:
        raise invalid(
            "chatwoot.allow_provider_injection",
            f"{first} is provider on a {environment} target: Chatwoot will process the test "
            "messages as real ones and send the agent's answers to Meta (to the test accounts "
            "of test.provider_senders); set allow_provider_injection = true to accept that",
        )
    if not (values["chatwoot.base_url"] and values["chatwoot.api_token"]):
        raise invalid(
            "chatwoot.base_url",
            f"{first} is provider: the suite posts Meta's events to Chatwoot and reads back what "
            "Chatwoot made of them, so it needs Chatwoot's URL and an API token (api_token_env)",
        )
    needs = {
        "instagram": (("chatwoot.instagram_account_id", account_id),),
        "whatsapp": (
            ("chatwoot.whatsapp_phone_number", phone),
            ("chatwoot.whatsapp_phone_number_id", phone_id),
        ),
    }
    checks_signature = version_at_least(str(values["chatwoot.version"]), META_SIGNATURE_FROM)
    for channel in providers:
        for key, value in needs[channel]:
            if not value:
                raise invalid(key, f"chatwoot.inject_{channel} is provider, which needs it")
        if checks_signature and meta.app_secret(channel) is None:
            raise invalid(
                f"chatwoot.{channel}_app_secret",
                f"Chatwoot {values['chatwoot.version']} refuses Meta events without a valid "
                f"X-Hub-Signature-256 (from {META_SIGNATURE_FROM}); name the env var holding the "
                f"{channel.capitalize()} Meta app's secret",
            )
    return meta


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30m", "72h", "10s" or "1h30m"; ValueError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", compact)
    if not compact or not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration (e.g. 30m, 72h, 10s, 1h30m)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def _fingerprint(values: Mapping[str, Any]) -> str:
    """sha256 of the profile's settings with secrets reduced to the env var they came from."""
    canonical = {k: (v.name if isinstance(v, Secret) else v) for k, v in sorted(values.items())}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def load_profile_file(path: Path, env: Mapping[str, str]) -> Organisation:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"profile not found: {path}", setting=str(path), where=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})", setting=str(path), where=str(path)) from None
    return build_organisation(path.stem, data, env, file_label=str(path), base_dir=path.parent.parent)


def load_runbook(env: Mapping[str, str], dotenv: Path) -> Organisation:
    merged = {**read_dotenv(dotenv), **{k: v for k, v in env.items() if v != ""}}
    return build_organisation(
        RUNBOOK_SLUG, {}, merged, file_label=f"the SMOKE_* variables / {dotenv.name}", runbook=True
    )


def available_profiles(orgs_dir: Path) -> list[str]:
    return sorted(p.stem for p in orgs_dir.glob("*.toml"))


def load_organisation(
    slug: str,
    *,
    orgs_dir: Path,
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = None,
    extra_dirs: tuple[Path, ...] = (),
) -> Organisation:
    """Find and load the profile `slug`: orgs/<slug>.toml, a sandbox profile, or the runbook."""
    env = os.environ if env is None else env
    if slug == RUNBOOK_SLUG:
        return load_runbook(env, dotenv or Path.cwd() / DOTENV_FILE)
    for directory in (orgs_dir, *extra_dirs):
        candidate = directory / f"{slug}.toml"
        if candidate.is_file():
            return load_profile_file(candidate, env)
    known = [*available_profiles(orgs_dir), RUNBOOK_SLUG]
    raise ConfigError(
        f"unknown organisation '{slug}': no {orgs_dir / (slug + '.toml')}; "
        f"known: {', '.join(known)} (sandbox-* profiles exist while the sandbox runs)",
        setting="--org",
        where=str(orgs_dir),
    )
