"""The organisation a scenario runs against, as one typed object: its CRM, Chatwoot inboxes,
n8n flow, database, Redis, control API and web app, with the secrets as `Secret`s. It says which
capabilities a profile has (and what to set for the missing ones) and names each setting the way
the person who wrote the profile knows it. `golive.config` builds it from a profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.secrets import Secret
from golive.settings import (
    CHANNELS,
    INTEGRATIONS,
    NEWEST_CHATWOOT,
    RUNBOOK_SLUG,
    SETTINGS_BY_KEY,
    Channel,
    Environment,
    Injection,
    SignatureMode,
    Trigger,
)


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


def version_at_least(version: str, minimum: str) -> bool:
    """MAJOR.MINOR.PATCH comparison (a leading `v` allowed); both must be valid versions."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(n) for n in text.strip().lstrip("v").split("."))

    return parts(version) >= parts(minimum)
