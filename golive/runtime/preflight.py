"""Preflight: every configured integration of an organisation checked live, before any scenario.

A wrong key, secret, token or password, an unreachable host or a half-configured integration
would otherwise surface as dozens of scenarios failing with bare 401s. Preflight says it once,
up front, one line per problem naming the setting and the fix:

* the CRM: reachable, and its API key accepted (`/me` names the organisation: its id and name
  go into the evidence);
* the CRM webhook: a signed probe tells "signature scheme is not Chatwoot's" from "wrong
  secret" without writing anything (golive.scenario.signatures);
* Chatwoot: the API token, the account and the profile's inboxes;
* Chatwoot's Meta channel webhooks, for inboxes injected through `provider`: a signed probe
  event Chatwoot accepts and acts on nothing for tells a wrong Meta app secret (401) up front;
* n8n: the API key, and a workflow listening on the profile's webhook path;
* the database: a connection with the read-only role that can read the CRM's tables;
* the sandbox's control API, when the profile has one.

Problems are configuration, never product defects; what the scenarios prove (a webhook that
answers 503, an inactive workflow) is noted and left to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from golive.clients.channels import ChannelWebhooks
from golive.clients.chatwoot import ChatwootClient
from golive.clients.control import ControlClient
from golive.clients.crm import CrmClient, Me
from golive.clients.http import Exchange, ExchangeLog, build_client, recording, send
from golive.clients.n8n import N8nClient
from golive.clients.sql import SqlVerifier
from golive.clients.webhook import Signing, WebhookEmitter
from golive.errors import ApiError, ConfigError, GoliveError, TargetUnreachable
from golive.organisation import Organisation
from golive.payloads import meta
from golive.scenario.signatures import diagnose, legacy_accepted, probe_payload
from golive.secrets import REDACTOR

PREFLIGHT_TIMEOUT_S = 10.0
READ_PROBE = "SELECT count(*) AS n FROM messaging_conversation_links WHERE organization_id = %(org)s"


@dataclass(frozen=True)
class Problem:
    """A configuration problem: the setting it is about, and one line saying what to do."""

    setting: str
    message: str


@dataclass
class Report:
    """Preflight of one organisation."""

    organisation: str
    checks: dict[str, str] = field(default_factory=dict)  # integration -> what was found
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    identity: Me | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per problem, each complete on its own."""
        return [REDACTOR.redact(f"{self.organisation}: {p.message}") for p in self.problems]

    def as_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "ok": self.ok,
            "crm_organisation": (
                {"id": self.identity.organization_id, "name": self.identity.organization_name}
                if self.identity
                else None
            ),
            "checks": dict(self.checks),
            "problems": [{"setting": p.setting, "message": p.message} for p in self.problems],
            "notes": list(self.notes),
            "exchanges": [e.as_dict() for e in self.exchanges],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_dict(), indent=2, ensure_ascii=False, default=str)
        path.write_text(REDACTOR.redact(text), encoding="utf-8")


def _reason(exc: ApiError) -> str:
    return exc.body_excerpt[:160] if exc.body_excerpt else str(exc)


def _unreachable(what: str, url: str, exc: TargetUnreachable, setting: str) -> Problem:
    return Problem(setting, f"cannot reach {what} at {url} ({exc.cause or 'no answer'}); check {setting}")


class _Preflight:
    def __init__(self, org: Organisation, report: Report) -> None:
        self.org = org
        self.report = report
        self.timeout = min(org.timeout_s, PREFLIGHT_TIMEOUT_S)
        self._http: list[httpx.Client] = []

    def client(self, system: str, base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
        http = build_client(system, base_url=base_url, headers=headers, timeout=self.timeout)
        self._http.append(http)
        return http

    def close(self) -> None:
        for http in self._http:
            http.close()

    def problem(self, key: str, message: str) -> None:
        self.report.problems.append(Problem(self.org.setting(key), message))

    # --- the checks -----------------------------------------------------------------------------

    def completeness(self) -> None:
        for line in self.org.incomplete():
            self.report.problems.append(Problem("", line))
        for path in self.org.n8n.workflow_exports:
            if not Path(path).is_file():
                self.problem(
                    "n8n.workflow_exports",
                    f"the exported n8n workflow {path} does not exist; fix "
                    f"{self.org.setting('n8n.workflow_exports')} (paths are relative to the project root)",
                )

    def crm(self) -> bool:
        """Reachable, and a CRM webhook there. False: nothing else of the CRM can be checked."""
        org = self.org
        http = self.client("crm", org.crm_base_url)
        base = org.setting("crm.base_url")
        try:
            response = send(http, org.slug, "GET", "/api/chatwoot/webhook")
        except TargetUnreachable as exc:
            self.report.problems.append(_unreachable("the CRM", org.crm_base_url, exc, base))
            return False
        if response.status_code != 200:
            self.problem(
                "crm.base_url",
                f"{org.webhook_url} answered {response.status_code}, not the CRM's webhook status; "
                f"check that {base} is the CRM's base URL (not Chatwoot's or n8n's)",
            )
            return False
        try:
            status = response.json()
        except ValueError:
            status = {}
        configured = status.get("secretConfigured") if isinstance(status, dict) else None
        self.report.checks["crm"] = f"reachable; webhook secretConfigured={configured}"
        return True

    def api_key(self) -> None:
        org = self.org
        if org.api_key is None:
            return
        http = self.client("crm", org.crm_base_url, {"X-Api-Key": org.api_key.reveal()})
        crm = CrmClient(http=http, organisation=org.slug)
        setting = org.setting("crm.api_key")
        try:
            me = crm.me()
        except TargetUnreachable as exc:
            self.report.problems.append(_unreachable("the CRM API", org.crm_base_url, exc, setting))
            return
        except ApiError as exc:
            if exc.status in (401, 403):
                self.problem(
                    "crm.api_key",
                    f"the CRM refuses the API key in {setting} ({exc.status} {_reason(exc)}); set it to "
                    "a live API key of the organisation (CRM settings → API keys)",
                )
            else:
                self.problem(
                    "crm.api_key",
                    f"the CRM's /me answered {exc.status} {_reason(exc)} to the key in {setting}",
                )
            return
        except (KeyError, TypeError):
            self.problem(
                "crm.base_url", f"the CRM's /me answer has no organisation; is {org.crm_base_url} the CRM?"
            )
            return
        self.report.identity = me
        self.report.checks["crm api"] = f"accepted for {me.organization_name} ({me.organization_id})"
        if org.organization_id and org.organization_id != me.organization_id:
            self.problem(
                "crm.organization_id",
                f"the API key in {setting} belongs to {me.organization_name} ({me.organization_id}), not to "
                f"{org.setting('crm.organization_id')}={org.organization_id}; use that organisation's key "
                "or fix the organisation id",
            )

    def webhook(self) -> None:
        org = self.org
        if org.environment == "production":
            self.report.notes.append("webhook signature not probed: the target is production (read-only)")
            return
        http = self.client("crm-webhook", org.crm_base_url)
        emitter = WebhookEmitter(
            http=http,
            organisation=org.slug,
            path="/api/chatwoot/webhook",
            secret=org.webhook_secret,
            signature_mode=org.signature_mode,
        )
        setting = org.setting("crm.webhook_secret")
        try:
            if org.webhook_secret is None:
                self._unsigned(emitter, setting)
            elif org.signature_mode == "legacy":
                self._legacy(emitter, setting)
            else:
                self._hmac(emitter, setting)
        except TargetUnreachable as exc:
            self.report.problems.append(_unreachable("the CRM webhook", org.webhook_url, exc, setting))

    def _hmac(self, emitter: WebhookEmitter, setting: str) -> None:
        probe = diagnose(emitter)
        verdict = probe.verdict
        if verdict == "chatwoot":
            self.report.checks["crm webhook"] = "accepts deliveries signed as Chatwoot signs them"
        elif verdict == "unverifiable":
            self.report.notes.append(probe.explain(setting))
        else:
            self.problem("crm.webhook_secret", probe.explain(setting))

    def _legacy(self, emitter: WebhookEmitter, setting: str) -> None:
        mode = self.org.setting("crm.signature_mode")
        answer = legacy_accepted(emitter)
        if 200 <= answer.status < 300:
            self.report.checks["crm webhook"] = "accepts the legacy signature (the secret itself)"
            return
        probe = diagnose(emitter)
        if probe.verdict == "chatwoot":
            self.problem(
                "crm.signature_mode",
                "the CRM webhook refuses the legacy signature but accepts Chatwoot's sha256= HMAC: "
                f"set {mode}=hmac",
            )
        elif answer.status == 401:
            self.problem("crm.webhook_secret", probe.explain(setting))
        else:
            self.report.notes.append(probe.explain(setting))

    def _unsigned(self, emitter: WebhookEmitter, setting: str) -> None:
        answer = emitter.deliver(probe_payload(), signing=Signing.NONE)
        if answer.status == 401:
            self.problem(
                "crm.webhook_secret",
                f"the CRM webhook requires signed deliveries (401 to an unsigned one) but no secret is "
                f"set: set {setting} to the CRM's CHATWOOT_WEBHOOK_SECRET",
            )
        else:
            self.report.checks["crm webhook"] = (
                f"answers {answer.status} to an unsigned delivery (no secret set)"
            )

    def chatwoot(self) -> None:
        org = self.org
        if not (org.chatwoot_base_url and org.chatwoot_token):
            return
        http = self.client(
            "chatwoot", org.chatwoot_base_url, {"api_access_token": org.chatwoot_token.reveal()}
        )
        chatwoot = ChatwootClient(http=http, organisation=org.slug, account_id=org.account_id)
        token, account = org.setting("chatwoot.api_token"), org.setting("chatwoot.account_id")
        try:
            inboxes = chatwoot.inboxes()
        except TargetUnreachable as exc:
            url = org.chatwoot_base_url
            self.report.problems.append(_unreachable("Chatwoot", url, exc, org.setting("chatwoot.base_url")))
            return
        except ApiError as exc:
            if exc.status == 401:
                self.problem(
                    "chatwoot.api_token",
                    f"Chatwoot refuses the API token in {token} (401); set it to the access token of "
                    f"a user of account {org.account_id} (Chatwoot → Profile settings → Access token)",
                )
            elif exc.status in (403, 404):
                self.problem(
                    "chatwoot.account_id",
                    f"Chatwoot answers {exc.status} for account {org.account_id} with the token in {token}: "
                    f"check {account}, and that the token's user belongs to that account",
                )
            else:
                self.problem(
                    "chatwoot.base_url", f"Chatwoot's inbox list answered {exc.status}: {_reason(exc)}"
                )
            return
        except (KeyError, TypeError, ValueError):
            self.problem(
                "chatwoot.base_url",
                f"{org.chatwoot_base_url} does not answer like Chatwoot's Application API; check "
                f"{org.setting('chatwoot.base_url')}",
            )
            return
        ids = {inbox.id for inbox in inboxes}
        kinds = {inbox.id: inbox.channel_type for inbox in inboxes}
        for channel, inbox in org.inboxes.items():
            if inbox.id not in ids:
                self.problem(
                    f"chatwoot.inbox_{channel}_id",
                    f"Chatwoot account {org.account_id} has no inbox {inbox.id}: check "
                    f"{org.setting(f'chatwoot.inbox_{channel}_id')} (inboxes: {sorted(ids)})",
                )
            elif inbox.injection == "provider" and kinds[inbox.id] not in META_CHANNEL_TYPES[channel]:
                self.problem(
                    f"chatwoot.inject_{channel}",
                    f"{org.setting(f'chatwoot.inject_{channel}')} is provider, but inbox {inbox.id} is a "
                    f"{kinds[inbox.id]} inbox, which Meta does not feed: inject it through "
                    f"{'chatwoot' if kinds[inbox.id] == 'Channel::Api' else 'delivery'}",
                )
        self.report.checks["chatwoot"] = f"token accepted; account {org.account_id} has {len(ids)} inbox(es)"

    def meta_channels(self) -> None:
        """A probe Meta event to each provider inbox's channel webhook: signed like the suite's
        events, naming no channel Chatwoot knows (Instagram: no entries; WhatsApp: not a
        business-account payload, so the URL's number, with nothing in it), so nothing is made."""
        org = self.org
        providers = [c for c, inbox in org.inboxes.items() if inbox.injection == "provider"]
        if not providers or not org.chatwoot_base_url:
            return
        channels = ChannelWebhooks(
            http=self.client("chatwoot-channel", org.chatwoot_base_url),
            organisation=org.slug,
            whatsapp_phone_number=org.meta.whatsapp_phone_number,
            app_secrets={
                "instagram": org.meta.instagram_app_secret,
                "whatsapp": org.meta.whatsapp_app_secret,
            },
        )
        for channel in providers:
            probe = meta.MetaEvent(channel, "probe", PROBES[channel], "")
            try:
                answer = channels.post(probe)
            except TargetUnreachable as exc:
                url = org.chatwoot_base_url
                self.report.problems.append(
                    _unreachable("Chatwoot's channel webhook", url, exc, org.setting("chatwoot.base_url"))
                )
                return
            secret = org.setting(f"chatwoot.{channel}_app_secret")
            server_side = (
                "WHATSAPP_APP_SECRET" if channel == "whatsapp" else "INSTAGRAM_APP_SECRET or FB_APP_SECRET"
            )
            if answer.status == 401:
                self.problem(
                    f"chatwoot.{channel}_app_secret",
                    f"Chatwoot refuses a Meta event signed with the secret in {secret} (401 on "
                    f"{answer.path}): set it to the Meta app secret Chatwoot verifies with "
                    f"({server_side} on the Chatwoot server)",
                )
            elif not answer.accepted:
                self.problem(
                    "chatwoot.base_url",
                    f"Chatwoot's {channel} channel webhook {answer.path} answered {answer.status} "
                    f"{answer.body!r} to a probe event; check {org.setting('chatwoot.base_url')}",
                )
            else:
                self.report.checks[f"{channel} channel webhook"] = (
                    f"{answer.path} accepts a {'signed ' if org.meta.app_secret(channel) else ''}Meta event"
                )

    def n8n(self) -> None:
        org = self.org
        if not (org.n8n.base_url and org.n8n.api_key and org.n8n.webhook_path):
            return
        http = self.client("n8n", org.n8n.base_url, {"X-N8N-API-KEY": org.n8n.api_key.reveal()})
        n8n = N8nClient(http=http, organisation=org.slug)
        key = org.setting("n8n.api_key")
        try:
            workflow = n8n.workflow_for_path(org.n8n.webhook_path)
        except TargetUnreachable as exc:
            self.report.problems.append(
                _unreachable("n8n", org.n8n.base_url, exc, org.setting("n8n.base_url"))
            )
            return
        except ApiError as exc:
            if exc.status in (401, 403):
                self.problem(
                    "n8n.api_key",
                    f"n8n refuses the API key in {key} ({exc.status}); set it to an n8n API key "
                    "(n8n → Settings → n8n API) that may read workflows",
                )
            else:
                self.problem("n8n.base_url", f"n8n's workflow list answered {exc.status}: {_reason(exc)}")
            return
        if workflow is None:
            self.problem(
                "n8n.webhook_path",
                f"no n8n workflow listens on the webhook path {org.n8n.webhook_path!r}: import the v2 "
                f"workflow, or fix {org.setting('n8n.webhook_path')}",
            )
            return
        state = "active" if workflow.active else "INACTIVE (the scenarios will show it)"
        self.report.checks["n8n"] = f"key accepted; workflow {workflow.id} {workflow.name!r} is {state}"
        if not workflow.active:
            self.report.notes.append(
                f"the n8n workflow {workflow.id} on {org.n8n.webhook_path!r} is inactive"
            )

    def database(self) -> None:
        org = self.org
        if org.database_dsn is None:
            return
        setting = org.setting("database.dsn")
        org_id = org.organization_id or (
            self.report.identity.organization_id if self.report.identity else None
        )
        if org_id is None:
            self.problem(
                "crm.organization_id",
                f"{setting} is set but the organisation id is unknown, so SQL cannot be scoped: set "
                f"{org.setting('crm.organization_id')} or {org.setting('crm.api_key')}",
            )
            return
        sql = SqlVerifier(dsn=org.database_dsn, organization_id=org_id, timeout_s=self.timeout)
        try:
            rows = sql.query(READ_PROBE)
            writable = sql.query("SELECT has_table_privilege(current_user, 'contacts', 'INSERT') AS w")
        except ConfigError as exc:
            self.problem("database.dsn", f"{exc}; set {setting} to the read-only role's DSN")
            return
        except psycopg.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.problem(
                "database.dsn",
                f"the database role in {setting} cannot read the CRM's tables ({first}); grant it "
                "SELECT on the messaging_* tables, contacts, deals and boards",
            )
            return
        finally:
            sql.close()
        self.report.checks["database"] = f"connected read-only; {rows[0]['n']} link(s) of the organisation"
        if writable and writable[0]["w"]:
            self.report.notes.append(
                f"the database role in {setting} may write (golive's session is read-only anyway); "
                "the runbook asks for a read-only role"
            )

    def control(self) -> None:
        org = self.org
        if not org.control_url:
            return
        token = {"X-Golive-Control-Token": org.control_token.reveal()} if org.control_token else {}
        control = ControlClient(
            http=self.client("sandbox-control", org.control_url, token), organisation=org.slug
        )
        try:
            active = control.active()
            self.report.checks["control"] = f"token accepted; active faults: {', '.join(active) or 'none'}"
        except TargetUnreachable as exc:
            self.report.problems.append(
                _unreachable("the control API", org.control_url, exc, org.setting("control.url"))
            )
        except ApiError as exc:
            self.problem(
                "control.token",
                f"the control API refuses the token in {org.setting('control.token')} ({exc.status})",
            )


META_CHANNEL_TYPES = {
    "instagram": ("Channel::Instagram", "Channel::FacebookPage"),
    "whatsapp": ("Channel::Whatsapp",),
}
# Meta events Chatwoot accepts and makes nothing of (see `_Preflight.meta_channels`).
PROBES: dict[meta.MetaChannel, dict[str, Any]] = {
    "instagram": {"object": "instagram", "entry": []},
    "whatsapp": {"object": "golive_preflight", "entry": []},
}


def run_preflight(org: Organisation) -> Report:
    """Check every configured integration of `org`; never raises for what it finds."""
    report = Report(org.slug)
    check = _Preflight(org, report)
    log = ExchangeLog()
    try:
        with recording(log):
            check.completeness()
            steps: list[Callable[[], None]] = []
            if check.crm():  # an unreachable CRM is one line, not one per CRM check
                steps += [check.api_key, check.webhook]
            steps += [check.chatwoot, check.meta_channels, check.n8n, check.database, check.control]
            for step in steps:
                try:
                    step()
                except GoliveError as exc:  # anything a check did not foresee: still one line
                    report.problems.append(Problem("", REDACTOR.redact(str(exc).splitlines()[0])))
    finally:
        check.close()
    report.exchanges = log.drain()
    return report
