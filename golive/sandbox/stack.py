"""The embedded staging stack: PostgreSQL + the CRM double (+ Chatwoot and n8n doubles),
seeded, with a profile per organisation written for the suite."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from golive.sandbox.chatwoot import (
    AccountSetup,
    AutomationRuleSetup,
    ChatwootDouble,
    ContactSetup,
    InboxSetup,
    WebhookSetup,
)
from golive.sandbox.chatwoot.wire import NEWEST_VERSION, Build
from golive.sandbox.control import control_app
from golive.sandbox.crm import rls
from golive.sandbox.crm.app import crm_app, schema_sql
from golive.sandbox.crm.backfill import run_backfill, seed_legacy
from golive.sandbox.crm.users import QaUser, qa_email, seed_qa_users
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState
from golive.sandbox.latency import ENV as LATENCY_ENV
from golive.sandbox.latency import Latency, delayed, parse_spec
from golive.sandbox.n8n_side import N8nSide, OrgFlow, Shared
from golive.sandbox.postgres import Cluster, start_cluster
from golive.sandbox.seed import ACCOUNT_ID, ACCOUNT_NAME, ORGS_ENV, SeedOrg, sandbox_orgs, seed, wipe
from golive.sandbox.servers import RunningServer, serve
from golive.sandbox.traffic import LiveTraffic

DB_NAME = "lagosta"
APP_ROLE = "lagosta_app"
READER_ROLE = "golive_reader"
LINK_UNIQUE_INDEX = "messaging_conversation_links_org_conv_uniq"
MESSAGE_UNIQUE_KEY = "messaging_messages_cache_org_message_uniq"
# The v2 template export shipped in fixtures/ (source checkout): what each organisation's n8n runs.
N8N_TEMPLATE = Path(__file__).resolve().parents[2] / "fixtures" / "n8n" / "agent-v2.json"
BOARD_KEY = "atendimento"
MOVE_KEYWORD = "orçamento"
MOVE_STAGE = "Proposta"
# The sandbox's monitoring window after a run: it cannot watch 30 minutes, so it watches this
# long and the dossier says so (the runbook's 30 min apply to a real staging).
MONITOR_WINDOW = "10s"
CHATWOOT_VERSION_ENV = "GOLIVE_SANDBOX_CHATWOOT_VERSION"


CRM_EVENTS = (
    "conversation_created",
    "conversation_updated",
    "conversation_status_changed",
    "message_created",
    "message_updated",
)


def _short(org: SeedOrg) -> str:
    return org.slug.removeprefix("sandbox-")


def _chatwoot_account(crm_url: str, webhook_secret: str, orgs: tuple[SeedOrg, ...]) -> AccountSetup:
    """One Chatwoot account for every tenant; its CRM webhook is signed with the secret the
    CRM double verifies (in production both sides are set from Chatwoot's UI)."""
    inboxes = [inbox for org in orgs for inbox in _inboxes(org)]
    crm_hook = WebhookSetup(
        1, f"{crm_url}/api/chatwoot/webhook", CRM_EVENTS, webhook_secret, name="LagostaCRM"
    )
    return AccountSetup(ACCOUNT_ID, ACCOUNT_NAME, inboxes, [crm_hook])


def _inboxes(org: SeedOrg) -> tuple[InboxSetup, InboxSetup]:
    """An organisation's two inboxes, with what Meta's events name them by, and one customer
    each already knows (as a live channel has): the test Instagram user, the legacy WhatsApp
    customer."""
    cloud = org.whatsapp_channel == "Channel::Whatsapp"
    whatsapp = InboxSetup(
        org.whatsapp_inbox,
        f"Whatsapp {org.name}",
        org.whatsapp_channel,
        phone_number=org.whatsapp_phone_number or None if cloud else None,
        phone_number_id=org.whatsapp_phone_number_id or None if cloud else None,
        known_contacts=(ContactSetup(org.legacy_name, org.legacy_phone_e164.lstrip("+")),) if cloud else (),
    )
    instagram = InboxSetup(
        org.instagram_inbox,
        f"Instagram {org.name}",
        "Channel::Instagram",
        instagram_id=org.instagram_account_id or None,
        known_contacts=(ContactSetup(f"Instagram test user {_short(org)}", org.test_igsid),),
    )
    return whatsapp, instagram


def _injection(org: SeedOrg, build: Build) -> tuple[str, str]:
    """(WhatsApp, Instagram): how the suite injects each inbox's messages. An API-channel inbox
    through Chatwoot's API; a provider organisation's Meta inboxes as Meta would — Instagram
    only on builds that keep a first message whose sender's profile cannot be fetched (the
    sandbox has no Meta); the rest delivered by the suite."""
    whatsapp = (
        "chatwoot" if org.whatsapp_channel == "Channel::Api" else ("provider" if org.provider else "delivery")
    )
    instagram = "provider" if org.provider and build.keeps_first_dm_without_profile else "delivery"
    return whatsapp, instagram


def _secret() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Stack:
    state_dir: Path
    cluster: Cluster
    pool: Pool
    faults: FaultState
    servers: dict[str, RunningServer]
    orgs: list[SeedOrg]
    secret_values: dict[str, str] = field(repr=False)
    n8n: N8nSide | None = None
    chatwoot: ChatwootDouble | None = None
    chatwoot_build: Build = field(default_factory=Build)
    traffic: LiveTraffic | None = None
    flows: list[OrgFlow] = field(default_factory=list)
    latency: Latency = field(default_factory=Latency)

    @property
    def urls(self) -> dict[str, str]:
        urls = {name: server.url for name, server in self.servers.items()}
        if self.n8n is not None:
            urls["n8n"] = self.n8n.url
            urls |= {name: server.url for name, server in self.n8n.servers.items() if name != "n8n"}
        return urls

    def stop(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        if self.chatwoot is not None:
            self.chatwoot.close()  # first: queued deliveries still reach the CRM
        for server in self.servers.values():
            server.stop()
        if self.n8n is not None:
            self.n8n.stop()
        self.pool.close()
        self.cluster.stop()
        for name in ("ready.json", "secrets.env"):
            (self.state_dir / name).unlink(missing_ok=True)
        for profile in (self.state_dir / "orgs").glob("*.toml"):  # they point at dead ports
            profile.unlink()


def _prepare_database(cluster: Cluster, app_password: str, reader_password: str) -> None:
    with psycopg.connect(cluster.superuser_dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{app_password}'")
        admin.execute(f"CREATE ROLE {READER_ROLE} LOGIN PASSWORD '{reader_password}'")
        rls.prepare_roles(admin, READER_ROLE)
        admin.execute(f"CREATE DATABASE {DB_NAME} OWNER {APP_ROLE}")
    schema = schema_sql()
    with psycopg.connect(cluster.superuser_dsn(DB_NAME), autocommit=True) as admin:
        admin.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        admin.execute(f"SET ROLE {APP_ROLE}")
        admin.execute(schema.replace("CREATE EXTENSION IF NOT EXISTS pgcrypto;", ""))
        rls.grant_and_enable(admin)
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER_ROLE}")
        admin.execute("RESET ROLE")
        admin.execute(f"ALTER ROLE {READER_ROLE} SET default_transaction_read_only = on")


# Faults that need a unique key gone: (fault, table, key columns, how the key comes back).
_UNIQUE_KEYS_DROPPED = (
    (
        "reentry-duplicate-link",
        "messaging_conversation_links",
        "chatwoot_conversation_id",
        f"DROP INDEX IF EXISTS {LINK_UNIQUE_INDEX}",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {LINK_UNIQUE_INDEX} ON "
        "messaging_conversation_links (organization_id, chatwoot_conversation_id)",
    ),
    (
        "message-replay-duplicated",
        "messaging_messages_cache",
        "chatwoot_message_id",
        f"ALTER TABLE messaging_messages_cache DROP CONSTRAINT IF EXISTS {MESSAGE_UNIQUE_KEY}",
        f"ALTER TABLE messaging_messages_cache ADD CONSTRAINT {MESSAGE_UNIQUE_KEY} "
        "UNIQUE (organization_id, chatwoot_message_id)",
    ),
)


def _apply_fault_side_effects(pool: Pool, before: frozenset[str], after: frozenset[str]) -> None:
    """Faults that need the schema changed run without the unique key they break."""
    with pool.transaction() as conn:
        for name, table, column, drop, create in _UNIQUE_KEYS_DROPPED:
            if name in after and name not in before:
                conn.execute(drop)
            elif name in before and name not in after:
                # Clear the fault's own debris so the unique key can come back.
                conn.execute(
                    f"DELETE FROM {table} a USING {table} b WHERE a.organization_id = b.organization_id "
                    f"AND a.{column} = b.{column} AND (a.created_at, a.id) > (b.created_at, b.id)"
                )
                conn.execute(create)


def _switch_issue13_faults(
    pool: Pool, traffic: LiveTraffic, before: frozenset[str], after: frozenset[str]
) -> None:
    """The RLS fault swaps the v2 tables' policies; the after-run fault brings live traffic."""
    name = "rls-open-policies"
    if (name in after) != (name in before):
        with pool.transaction() as conn:
            rls.apply_policies(conn, open_to_all=name in after)
    if "errors-after-run" in after:
        traffic.start()
    else:
        traffic.stop()


def _seed_extras(conn: Conn, orgs: list[SeedOrg], qa_password: str) -> None:
    """The legacy WhatsApp contacts the backfill must migrate, and one QA user per organisation."""
    for org in orgs:
        seed_legacy(conn, org.organization_id)
    seed_qa_users(
        conn, [QaUser(qa_email(o.slug), f"QA {o.name}", o.organization_id) for o in orgs], qa_password
    )


def start_stack(
    state_dir: Path,
    *,
    faults: list[str] | None = None,
    chatwoot_version: str | None = None,
    n8n_mode: str | None = None,
    organisations: int | None = None,
    latency: str | None = None,
) -> Stack:
    """Start everything on loopback and write `<state_dir>/orgs/*.toml`, `secrets.env`, `ready.json`.

    `chatwoot_version` (default: env GOLIVE_SANDBOX_CHATWOOT_VERSION, else the newest build)
    is the build the Chatwoot double plays; one that predates signing gets a CRM without a
    webhook secret, as such a deployment must run. `organisations` (default: env
    GOLIVE_SANDBOX_ORGS, else 2) is how many organisations are seeded (see `sandbox_orgs`)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    templates = sandbox_orgs(organisations or _orgs_from_env())
    # `latency` (default: env GOLIVE_SANDBOX_LATENCY): e.g. "crm=150ms,model=2-5s" (golive.sandbox.latency)
    delays = Latency(parse_spec(latency if latency is not None else os.environ.get(LATENCY_ENV, "")))
    build = Build(chatwoot_version or os.environ.get(CHATWOOT_VERSION_ENV) or NEWEST_VERSION)
    app_password, reader_password = _secret(), _secret()
    webhook_secret, control_token, chatwoot_token = _secret(), _secret(), _secret()
    qa_password = _secret()
    bot_token = _secret()
    meta_secrets = {"instagram": _secret(), "whatsapp": _secret()}  # the Meta apps' secrets
    crm_secret = webhook_secret if build.signs_account_webhooks else None
    # the CRM's pool, and each suite process's (or xdist worker's) connection per organisation
    cluster = start_cluster(max_connections=60 + 8 * len(templates))
    servers: dict[str, RunningServer] = {}
    pool: Pool | None = None
    n8n: N8nSide | None = None
    chatwoot: ChatwootDouble | None = None
    traffic: LiveTraffic | None = None
    try:
        _prepare_database(cluster, app_password, reader_password)
        pool = Pool(cluster.dsn(APP_ROLE, app_password, DB_NAME), size=16)
        state = FaultState()
        servers["crm"] = serve("crm", delayed(crm_app(pool, state, crm_secret), delays, "crm"))
        chatwoot = ChatwootDouble(
            api_token=chatwoot_token,
            accounts=[_chatwoot_account(servers["crm"].url, webhook_secret, templates)],
            version=build.version,
            bot_token=bot_token,
            leak_canaries=True,
            meta_app_secrets=meta_secrets,
            fault_on=state.on,
        )
        servers["chatwoot"] = serve("chatwoot", delayed(chatwoot.app(), delays, "chatwoot"))
        chatwoot_url = servers["chatwoot"].url
        with pool.transaction() as conn:
            orgs = seed(conn, chatwoot_url=chatwoot_url, chatwoot_token=chatwoot_token, templates=templates)
            _seed_extras(conn, orgs, qa_password)
        traffic = LiveTraffic(
            f"{servers['crm'].url}/api/chatwoot/webhook",
            webhook_secret,
            ACCOUNT_ID,
            [inbox for org in orgs for inbox in (org.whatsapp_inbox, org.instagram_inbox)],
        )
        the_traffic = traffic
        the_pool = pool
        flows = [
            OrgFlow(
                org.slug,
                org.name,
                f"lagosta-agent-v2-{_short(org)}",
                org.api_key,
                {org.whatsapp_inbox: "WHATSAPP"} if org.whatsapp_channel == "Channel::Api" else {},
                database,
            )
            for database, org in enumerate(orgs)
        ]
        shared = Shared(
            servers["crm"].url, chatwoot_url, chatwoot_token, ACCOUNT_ID, BOARD_KEY, MOVE_KEYWORD, MOVE_STAGE
        )
        n8n = N8nSide.start(flows, shared, state, state_dir, n8n_mode, delays)
        for number, (org, flow) in enumerate(zip(orgs, flows, strict=True), start=2):
            url = f"{n8n.url}/webhook/{flow.webhook_path}"
            if org.n8n_trigger == "automation_rule":
                # an automation rule "message created, incoming, in these inboxes → send webhook"
                chatwoot.add_automation_rule(
                    ACCOUNT_ID,
                    AutomationRuleSetup(number, url, inbox_ids=(org.whatsapp_inbox, org.instagram_inbox)),
                )
            else:
                # One n8n webhook per tenant inbox, bound to it (an unbound one would hand each
                # tenant's flow the other's customers); Chatwoot wants unique URLs per account,
                # so the Instagram inbox's carries a query string n8n ignores.
                chatwoot.add_webhook(
                    ACCOUNT_ID,
                    WebhookSetup(
                        number,
                        url,
                        ("message_created",),
                        _secret(),
                        inbox_id=org.whatsapp_inbox,
                        name=f"n8n {org.name}",
                    ),
                )
                chatwoot.add_webhook(
                    ACCOUNT_ID,
                    WebhookSetup(
                        number + 100,
                        f"{url}?inbox={org.instagram_inbox}",
                        ("message_created",),
                        _secret(),
                        inbox_id=org.instagram_inbox,
                        name=f"n8n {org.name} (Instagram)",
                    ),
                )
        the_chatwoot = chatwoot
        the_n8n = n8n

        def reset() -> None:
            with the_pool.transaction() as conn:
                wipe(conn)
                seed(conn, chatwoot_url=chatwoot_url, chatwoot_token=chatwoot_token, again=orgs)
                _seed_extras(conn, orgs, qa_password)
            the_chatwoot.reset()
            the_n8n.reset()

        def backfill() -> dict[str, object]:
            with the_pool.transaction() as conn:
                return dict(run_backfill(conn, real_migration=state.on("backfill-drops-conflicts")))

        def on_change(before: frozenset[str], after: frozenset[str]) -> None:
            _apply_fault_side_effects(the_pool, before, after)
            _switch_issue13_faults(the_pool, the_traffic, before, after)
            the_n8n.apply_faults(state)

        servers["control"] = serve(
            "control",
            control_app(
                state,
                control_token,
                on_change,
                reset,
                backfill=backfill,
                organisations=frozenset(org.slug for org in orgs),
                latency=delays,
            ),
        )
        if faults:
            previous = state.set(faults)
            on_change(previous, state.active)
    except BaseException:
        if traffic is not None:
            traffic.stop()
        if chatwoot is not None:
            chatwoot.close()
        for server in servers.values():
            server.stop()
        if n8n is not None:
            n8n.stop()
        if pool is not None:
            pool.close()
        cluster.stop()
        raise
    redis_urls = {_redis_env(flow): n8n.redis_url(flow) for flow in flows}
    secret_values = {
        "GOLIVE_SANDBOX_WEBHOOK_SECRET": webhook_secret,
        "GOLIVE_SANDBOX_CONTROL_TOKEN": control_token,
        "GOLIVE_SANDBOX_DB_READER_DSN": cluster.dsn(READER_ROLE, reader_password, DB_NAME),
        "GOLIVE_SANDBOX_DB_PASSWORD": app_password,
        "GOLIVE_SANDBOX_CHATWOOT_TOKEN": chatwoot_token,
        "GOLIVE_SANDBOX_CHATWOOT_BOT_TOKEN": bot_token,
        "GOLIVE_SANDBOX_N8N_API_KEY": n8n.api_key,
        "GOLIVE_SANDBOX_N8N_LIST_KEY": n8n.list_key,
        "GOLIVE_SANDBOX_QA_PASSWORD": qa_password,
        "GOLIVE_SANDBOX_INSTAGRAM_APP_SECRET": meta_secrets["instagram"],
        "GOLIVE_SANDBOX_WHATSAPP_APP_SECRET": meta_secrets["whatsapp"],
        **{_key_env(org): org.api_key for org in orgs},
        **{name: url for name, url in redis_urls.items() if url is not None},
    }
    stack = Stack(
        state_dir,
        cluster,
        pool,
        state,
        servers,
        orgs,
        secret_values,
        n8n,
        chatwoot,
        build,
        traffic,
        flows,
        delays,
    )
    write_state(stack)
    return stack


def _orgs_from_env() -> int | None:
    raw = os.environ.get(ORGS_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"{ORGS_ENV}={raw!r}: expected a number of organisations")
    return int(raw)


def _timeout_ms(latency: Latency) -> int:
    """The profile's request/poll timeout: 10 s, plus what the latency the sandbox started with
    adds to the longest chain a wait covers (an agent turn: two model answers, a few calls)."""
    others = max(latency.highest(system) for system in ("crm", "chatwoot", "n8n"))
    return int(10_000 + 3_000 * latency.highest("model") + 10_000 * others)


def _key_env(org: SeedOrg) -> str:
    return f"GOLIVE_{org.slug.upper().replace('-', '_')}_API_KEY"


def _redis_env(flow: OrgFlow) -> str:
    return f"GOLIVE_{flow.slug.upper().replace('-', '_')}_REDIS_URL"


def write_state(stack: Stack) -> None:
    orgs_dir = stack.state_dir / "orgs"
    orgs_dir.mkdir(exist_ok=True)
    for old in orgs_dir.glob("*.toml"):
        old.unlink()
    profiles = []
    for org in stack.orgs:
        path = orgs_dir / f"{org.slug}.toml"
        path.write_text(_profile_toml(stack, org), encoding="utf-8")
        profiles.append(str(path))
    secrets_file = stack.state_dir / "secrets.env"
    secrets_file.touch(mode=0o600)
    os.chmod(secrets_file, 0o600)
    secrets_file.write_text(
        "".join(f"{name}={value}\n" for name, value in stack.secret_values.items()),
        encoding="utf-8",
    )
    ready = {
        "pid": os.getpid(),
        "urls": stack.urls,
        "profiles": profiles,
        "secrets_env": str(secrets_file),
        "database": {"host": "127.0.0.1", "port": stack.cluster.port, "dbname": DB_NAME},
        "n8n": stack.n8n.describe() if stack.n8n is not None else None,
        "latency": stack.latency.describe(),
    }
    (stack.state_dir / "ready.json").write_text(json.dumps(ready, indent=2), encoding="utf-8")


def _profile_toml(stack: Stack, org: SeedOrg) -> str:
    urls = stack.urls
    # A Chatwoot that does not sign is paired with a CRM that checks nothing (see start_stack).
    signed = stack.chatwoot_build.signs_account_webhooks
    secret_line = 'webhook_secret_env = "GOLIVE_SANDBOX_WEBHOOK_SECRET"\n' if signed else ""
    flow = next(f for f in stack.flows if f.slug == org.slug)
    inject_whatsapp, inject_instagram = _injection(org, stack.chatwoot_build)
    meta = f'instagram_account_id = "{org.instagram_account_id}"\n' if org.instagram_account_id else ""
    if org.whatsapp_phone_number:
        meta += (
            f'whatsapp_phone_number = "{org.whatsapp_phone_number}"\n'
            f'whatsapp_phone_number_id = "{org.whatsapp_phone_number_id}"\n'
        )
    meta += (
        'instagram_app_secret_env = "GOLIVE_SANDBOX_INSTAGRAM_APP_SECRET"\n'
        'whatsapp_app_secret_env = "GOLIVE_SANDBOX_WHATSAPP_APP_SECRET"\n'
    )
    redis = f'\n[redis]\nurl_env = "{_redis_env(flow)}"\n' if _redis_env(flow) in stack.secret_values else ""
    return f"""# Written by the golive sandbox; valid while it runs. Secrets are in secrets.env.
name = "{org.name}"
environment = "sandbox"

[crm]
base_url = "{urls["crm"]}"
api_key_env = "{_key_env(org)}"
{secret_line}organization_id = "{org.organization_id}"
timeout_ms = {_timeout_ms(stack.latency)}

[chatwoot]
version = "{stack.chatwoot_build.version}"
base_url = "{urls["chatwoot"]}"
api_token_env = "GOLIVE_SANDBOX_CHATWOOT_TOKEN"
inject_whatsapp = "{inject_whatsapp}"
inject_instagram = "{inject_instagram}"
{meta}account_id = {ACCOUNT_ID}
inbox_whatsapp_id = {org.whatsapp_inbox}
inbox_instagram_id = {org.instagram_inbox}

[test]
instagram_igsid = "{org.test_igsid}"
whatsapp_phone = "{org.legacy_phone_e164}"

[board]
key = "{BOARD_KEY}"
secondary_key = "pos-venda"
target_stage = "Proposta"

[n8n]
base_url = "{urls["n8n"]}"
api_key_env = "GOLIVE_SANDBOX_N8N_API_KEY"
webhook_path = "{flow.webhook_path}"
trigger = "{org.n8n_trigger}"
workflow_tag = "v2"
workflow_exports = ["{N8N_TEMPLATE}"]
move_keyword = "{MOVE_KEYWORD}"
move_stage = "{MOVE_STAGE}"

[database]
dsn_env = "GOLIVE_SANDBOX_DB_READER_DSN"

[control]
url = "{urls["control"]}"
token_env = "GOLIVE_SANDBOX_CONTROL_TOKEN"

[ui]
user = "{qa_email(org.slug)}"
password_env = "GOLIVE_SANDBOX_QA_PASSWORD"

[monitor]
window = "{MONITOR_WINDOW}"
{redis}"""
