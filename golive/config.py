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
from pathlib import Path
from typing import Any, cast

from golive.errors import ConfigError
from golive.organisation import FlowRoles, Inbox, MetaChannels, N8n, Organisation, version_at_least
from golive.secrets import REDACTOR, Secret
from golive.settings import (
    CHANNELS,
    DOTENV_FILE,
    ENVIRONMENTS,
    INJECTIONS,
    META_SIGNATURE_FROM,
    RUNBOOK_SLUG,
    SETTINGS,
    SIGNATURE_MODES,
    TOP_LEVEL_KEYS,
    TRIGGERS,
    Channel,
    Injection,
    Setting,
    SignatureMode,
    Trigger,
)

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
