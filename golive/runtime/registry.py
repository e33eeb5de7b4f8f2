"""The organisations of a run and the clients that reach them, built once per session."""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from golive.clients.channels import ChannelWebhooks
from golive.clients.chatwoot import ChatwootClient
from golive.clients.control import ControlClient
from golive.clients.crm import CrmClient, Me
from golive.clients.http import build_client
from golive.clients.ledger import Ledger
from golive.clients.n8n import N8nClient
from golive.clients.redis import RedisReader
from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookEmitter
from golive.config import load_organisation, load_profile_file
from golive.errors import ApiError, ConfigError
from golive.organisation import Organisation
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle, attach_or_start
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations
from golive.scenario.provider import Provider
from golive.scenario.webhooks import settled
from golive.secrets import REDACTOR, Secret


def profile_environment(path: Path) -> str:
    """The `environment` a profile file declares (without loading the rest)."""
    try:
        return str(tomllib.loads(path.read_text(encoding="utf-8")).get("environment", "staging"))
    except (OSError, tomllib.TOMLDecodeError):
        return "staging"


def sandbox_slugs(orgs_dir: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The sandbox organisations: the profiles marked `sandbox` in `orgs_dir`, and every profile
    the running sandbox wrote (`GOLIVE_SANDBOX_STATE`; `golive sandbox --orgs N` seeds more)."""
    found = {p.stem for p in orgs_dir.glob("*.toml") if profile_environment(p) == "sandbox"}
    state = (os.environ if env is None else env).get(STATE_ENV)
    if state:
        found |= {p.stem for p in (Path(state) / "orgs").glob("*.toml")}
    return sorted(found)


@dataclass
class Clients:
    """Everything a scenario needs to drive and observe one organisation."""

    organisation: Organisation
    crm: CrmClient
    crm_webhook: WebhookEmitter
    sql: SqlVerifier | None
    conversations: Conversations
    control: ControlClient | None
    n8n: N8nClient | None
    chatwoot: ChatwootClient | None
    redis: RedisReader | None = None


class Targets:
    def __init__(
        self,
        *,
        orgs_dir: Path,
        run_id: str,
        env: Mapping[str, str] | None = None,
        ledger_dir: Path | None = None,  # reports/<run-id>/ledger: what the run creates on its targets
    ) -> None:
        self.orgs_dir = orgs_dir
        self.run_id = run_id
        self.ledger_dir = ledger_dir
        self.env = env if env is not None else os.environ
        worker = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")  # gw0, gw1, …
        self.data = DataFactory(run_id, first_number=(int(worker) + 1) * 100_000 if worker.isdigit() else 0)
        self.sandbox: SandboxHandle | None = None
        self._orgs: dict[str, Organisation] = {}
        self._clients: dict[str, Clients] = {}
        self._unreachable: dict[str, str] = {}
        self.identities: dict[str, Me] = {}  # slug -> the CRM organisation `/me` named (preflight)
        self._lock = threading.RLock()
        self._http: list[httpx.Client] = []

    # --- organisations ---------------------------------------------------------------------

    def is_sandbox(self, slug: str) -> bool:
        path = self.orgs_dir / f"{slug}.toml"
        if path.is_file():
            return profile_environment(path) == "sandbox"
        state = self.env.get(STATE_ENV)
        return bool(state) and (Path(str(state)) / "orgs" / f"{slug}.toml").is_file()

    def ensure_sandbox(self) -> SandboxHandle:
        with self._lock:
            if self.sandbox is None:
                self.sandbox = attach_or_start(self.env)
                REDACTOR.register_all(Secret(k, v) for k, v in self.sandbox.secrets.items())
            return self.sandbox

    def organisation(self, slug: str) -> Organisation:
        with self._lock:
            if slug not in self._orgs:
                if self.is_sandbox(slug):
                    sandbox = self.ensure_sandbox()
                    env = {**self.env, **sandbox.secrets}
                    path = sandbox.profiles_dir / f"{slug}.toml"
                    if not path.is_file():
                        raise ConfigError(
                            f"the sandbox wrote no profile for '{slug}' ({path})",
                            setting="--org",
                            where=str(self.orgs_dir),
                        )
                    self._orgs[slug] = load_profile_file(path, env)
                else:
                    self._orgs[slug] = load_organisation(slug, orgs_dir=self.orgs_dir, env=self.env)
            return self._orgs[slug]

    # --- clients ---------------------------------------------------------------------------

    def clients(self, slug: str) -> Clients:
        with self._lock:
            if slug not in self._clients:
                self._clients[slug] = self._build(self.organisation(slug))
            return self._clients[slug]

    def _build(self, org: Organisation) -> Clients:
        ledger = None
        if self.ledger_dir is not None:
            ledger = Ledger(self.ledger_dir / f"{org.slug}.jsonl", organisation=org.slug, run_id=self.run_id)
        headers = {"X-Api-Key": org.api_key.reveal()} if org.api_key else {}
        crm_http = build_client("crm", base_url=org.crm_base_url, headers=headers, timeout=org.timeout_s)
        hook_http = build_client("crm-webhook", base_url=org.crm_base_url, timeout=org.timeout_s)
        self._http += [crm_http, hook_http]
        webhook = WebhookEmitter(
            http=hook_http,
            organisation=org.slug,
            path="/api/chatwoot/webhook",
            secret=org.webhook_secret,
            signature_mode=org.signature_mode,
        )
        crm = CrmClient(http=crm_http, organisation=org.slug, ledger=ledger)
        sql = None
        if org.database_dsn:
            org_id = org.organization_id or self.identity(org.slug, crm).organization_id
            sql = SqlVerifier(dsn=org.database_dsn, organization_id=org_id, timeout_s=org.timeout_s)
        n8n = n8n_webhook = None
        if org.n8n.base_url and org.n8n.api_key and org.n8n.webhook_path:
            n8n_http = build_client(
                "n8n",
                base_url=org.n8n.base_url,
                timeout=org.timeout_s,
                headers={"X-N8N-API-KEY": org.n8n.api_key.reveal()},
            )
            n8n_hook_http = build_client("n8n-webhook", base_url=org.n8n.base_url, timeout=org.timeout_s)
            self._http += [n8n_http, n8n_hook_http]
            n8n = N8nClient(http=n8n_http, organisation=org.slug)
            n8n_webhook = WebhookEmitter(
                http=n8n_hook_http,
                organisation=org.slug,
                path=f"/webhook/{org.n8n.webhook_path}",
                secret=None,
            )
        chatwoot = None
        if org.chatwoot_base_url and org.chatwoot_token:
            chatwoot_http = build_client(
                "chatwoot",
                base_url=org.chatwoot_base_url,
                timeout=org.timeout_s,
                headers={"api_access_token": org.chatwoot_token.reveal()},
            )
            self._http.append(chatwoot_http)
            chatwoot = ChatwootClient(
                http=chatwoot_http, organisation=org.slug, account_id=org.account_id, ledger=ledger
            )
        conversations = Conversations(
            organisation=org,
            crm_webhook=webhook,
            data=self.data,
            n8n_webhook=n8n_webhook,
            chatwoot_api=chatwoot,
            ledger=ledger,
            linked=(lambda conversation_id: bool(sql.links(conversation_id))) if sql is not None else None,
            provider=self._provider(org, chatwoot),
            settle=(lambda sent: settled(sent, sql)) if sql is not None else None,
        )
        control = None
        if org.control_url:
            token = {"X-Golive-Control-Token": org.control_token.reveal()} if org.control_token else {}
            control_http = build_client(
                "sandbox-control", base_url=org.control_url, headers=token, timeout=org.timeout_s
            )
            self._http.append(control_http)
            control = ControlClient(http=control_http, organisation=org.slug)
        redis = None
        if org.redis_url:  # the agent flows' Redis, read only (@needs_redis)
            redis = RedisReader(url=org.redis_url.reveal(), organisation=org.slug, timeout_s=org.timeout_s)
        return Clients(org, crm, webhook, sql, conversations, control, n8n, chatwoot, redis)

    def _provider(self, org: Organisation, chatwoot: ChatwootClient | None) -> Provider | None:
        """Meta's side of Chatwoot's channel webhooks, for inboxes injected through `provider`."""
        if chatwoot is None or not org.chatwoot_base_url:
            return None
        if not any(inbox.injection == "provider" for inbox in org.inboxes.values()):
            return None
        channel_http = build_client("chatwoot-channel", base_url=org.chatwoot_base_url, timeout=org.timeout_s)
        self._http.append(channel_http)
        channels = ChannelWebhooks(
            http=channel_http,
            organisation=org.slug,
            whatsapp_phone_number=org.meta.whatsapp_phone_number,
            app_secrets={
                "instagram": org.meta.instagram_app_secret,
                "whatsapp": org.meta.whatsapp_app_secret,
            },
        )
        return Provider(organisation=org, channels=channels, chatwoot_api=chatwoot, run_id=self.run_id)

    def identity(self, slug: str, crm: CrmClient | None = None) -> Me:
        """The CRM organisation the profile's API key belongs to (`/me`), asked once."""
        with self._lock:
            if slug not in self.identities:
                self.identities[slug] = (crm or self.clients(slug).crm).me()
            return self.identities[slug]

    def other_organisation(self, slug: str, selected: list[str]) -> str | None:
        """Another organisation of the same kind, for the tenant-isolation scenarios."""
        candidates = list(selected)
        if self.is_sandbox(slug):
            candidates += sandbox_slugs(self.orgs_dir, self.env)
        return next(
            (c for c in candidates if c != slug and self.is_sandbox(c) == self.is_sandbox(slug)),
            None,
        )

    def unreachable(self, slug: str) -> str:
        """'' when the organisation's CRM answers; else why not (checked once, then cached)."""
        with self._lock:
            if slug not in self._unreachable:
                try:
                    self.clients(slug).crm.webhook_status()
                    self._unreachable[slug] = ""
                except ApiError as exc:
                    self._unreachable[slug] = str(exc)
            return self._unreachable[slug]

    def close(self) -> None:
        for clients in self._clients.values():
            if clients.sql is not None:
                clients.sql.close()
            if clients.redis is not None:
                clients.redis.close()
        for http in self._http:
            http.close()
        if self.sandbox is not None:
            self.sandbox.stop()
