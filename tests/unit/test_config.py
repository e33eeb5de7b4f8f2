"""Organisation profiles: file profiles, env overrides, the runbook's SMOKE_* variables, secrets.

Precedence: environment > profile file > defaults. Every failure is a ConfigError that names the
setting and says where to set it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from golive.config import build_organisation, load_organisation, load_profile_file, read_dotenv
from golive.errors import ConfigError
from golive.organisation import Organisation
from golive.secrets import Redactor, Secret

pytestmark = pytest.mark.usefixtures("redactor")

LABEL = "orgs/coronel.toml"

# (section, key, env override name for slug "coronel")
REQUIRED_FILE_SETTINGS = [
    ("crm", "base_url", "GOLIVE_CORONEL_CRM_BASE_URL"),
    ("chatwoot", "account_id", "GOLIVE_CORONEL_CHATWOOT_ACCOUNT_ID"),
    ("chatwoot", "inbox_whatsapp_id", "GOLIVE_CORONEL_CHATWOOT_INBOX_WHATSAPP_ID"),
    ("chatwoot", "inbox_instagram_id", "GOLIVE_CORONEL_CHATWOOT_INBOX_INSTAGRAM_ID"),
    ("test", "instagram_igsid", "GOLIVE_CORONEL_TEST_INSTAGRAM_IGSID"),
    ("test", "whatsapp_phone", "GOLIVE_CORONEL_TEST_WHATSAPP_PHONE"),
]

# crm-contract §6.8: the runbook's required variables.
RUNBOOK_ENV: dict[str, str] = {
    "SMOKE_BASE_URL": "https://crm-staging.example.com",
    "SMOKE_CHATWOOT_ACCOUNT_ID": "7",
    "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID": "31",
    "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID": "30",
    "SMOKE_INSTAGRAM_IGSID": "17841400000000000",
    "SMOKE_WHATSAPP_PHONE": "+5511999990000",
}

# Every secret a profile can reference: (section, key) -> the `<key>_env` name a file must use.
SECRET_SETTINGS = [
    ("crm", "api_key"),
    ("crm", "webhook_secret"),
    ("chatwoot", "api_token"),
    ("n8n", "api_key"),
    ("database", "dsn"),
    ("control", "token"),
    ("ui", "password"),
    ("redis", "url"),
    ("chatwoot", "instagram_app_secret"),
    ("chatwoot", "whatsapp_app_secret"),
]
REDIS_VAR = "CORONEL_REDIS_URL_VAR"


def build(values: dict[str, Any], env: dict[str, str] | None = None, slug: str = "coronel"):
    return build_organisation(slug, values, env or {}, file_label=f"orgs/{slug}.toml")


def runbook(tmp_path: Path, env: dict[str, str], dotenv_text: str | None = None) -> Organisation:
    dotenv = tmp_path / ".env.smoke.local"
    if dotenv_text is not None:
        dotenv.write_text(dotenv_text, encoding="utf-8")
    orgs = tmp_path / "orgs"
    orgs.mkdir(exist_ok=True)
    return load_organisation("runbook", orgs_dir=orgs, env=env, dotenv=dotenv)


# --- a valid file profile --------------------------------------------------------------------


def test_a_valid_file_profile_becomes_a_typed_organisation(profile: dict[str, Any]) -> None:
    org = build(profile)

    assert org.slug == "coronel"
    assert org.name == "Coronel Picanha (staging)"
    assert org.environment == "staging"
    assert org.origin == LABEL
    assert org.crm_base_url == "https://crm-staging.example.com"
    assert org.webhook_url == "https://crm-staging.example.com/api/chatwoot/webhook"
    assert org.account_id == 7
    assert org.inboxes["whatsapp"].id == 30
    assert org.inboxes["instagram"].id == 31
    assert org.inboxes["instagram"].injection == "delivery"
    assert org.timeout_s == 15.0
    assert org.signature_mode == "hmac"
    assert org.organization_id == "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37"
    assert org.test_igsid == "17841400000000000"
    assert org.test_whatsapp_phone == "+5511999990000"
    assert (org.board_key, org.secondary_board_key, org.target_stage) == (
        "atendimento",
        "pos-venda",
        "Proposta",
    )
    assert org.api_key is None and org.webhook_secret is None and org.database_dsn is None


def test_integers_written_as_strings_in_the_file_are_read_as_integers(
    profile: dict[str, Any],
) -> None:
    profile["chatwoot"]["account_id"] = "7"
    profile["crm"]["timeout_ms"] = "2500"

    org = build(profile)

    assert org.account_id == 7
    assert org.timeout_s == 2.5


def test_a_trailing_slash_on_the_crm_url_does_not_double_in_derived_urls(
    profile: dict[str, Any],
) -> None:
    profile["crm"]["base_url"] = "https://crm-staging.example.com/"

    org = build(profile)

    assert org.webhook_url == "https://crm-staging.example.com/api/chatwoot/webhook"


def test_optional_settings_fall_back_to_their_defaults(profile: dict[str, Any]) -> None:
    for key in ("signature_mode", "organization_id", "timeout_ms"):
        del profile["crm"][key]
    del profile["chatwoot"]["inject_whatsapp"]
    del profile["environment"]
    del profile["name"]

    org = build(profile)

    assert org.signature_mode == "hmac"
    assert org.timeout_s == 15.0
    assert org.organization_id is None
    assert org.inboxes["whatsapp"].injection == "delivery"
    assert org.environment == "staging"
    assert org.name == "coronel"
    assert org.n8n.workflow_tag == "v2"
    assert org.n8n.workflow_exports == ()


# --- missing and invalid settings --------------------------------------------------------------


@pytest.mark.parametrize(("section", "key", "env_var"), REQUIRED_FILE_SETTINGS)
def test_a_missing_required_setting_is_named_with_where_to_set_it(
    profile: dict[str, Any], section: str, key: str, env_var: str
) -> None:
    del profile[section][key]

    with pytest.raises(ConfigError) as caught:
        build(profile)

    message = str(caught.value)
    assert f"{section}.{key}" in message
    assert "missing" in message
    assert f"[{section}]" in message and LABEL in message
    assert env_var in message
    assert caught.value.setting == f"{section}.{key}"
    assert LABEL in caught.value.where


@pytest.mark.parametrize(("section", "key", "env_var"), REQUIRED_FILE_SETTINGS)
def test_an_empty_required_setting_counts_as_missing(
    profile: dict[str, Any], section: str, key: str, env_var: str
) -> None:
    profile[section][key] = ""

    with pytest.raises(ConfigError, match="missing") as caught:
        build(profile)

    assert caught.value.setting == f"{section}.{key}"


INVALID_VALUES = [
    pytest.param("crm", "base_url", "crm-staging.example.com", id="url-without-scheme"),
    pytest.param("crm", "base_url", "ftp://crm-staging.example.com", id="url-not-http"),
    pytest.param("crm", "base_url", "https://", id="url-without-host"),
    pytest.param("crm", "base_url", "https://crm staging.example.com", id="url-with-space"),
    pytest.param("chatwoot", "account_id", "seven", id="account-not-int"),
    pytest.param("chatwoot", "account_id", 7.5, id="account-float"),
    pytest.param("chatwoot", "account_id", True, id="account-bool"),
    pytest.param("chatwoot", "account_id", 0, id="account-zero"),
    pytest.param("chatwoot", "account_id", -7, id="account-negative"),
    pytest.param("chatwoot", "inbox_whatsapp_id", "thirty", id="inbox-not-int"),
    pytest.param("chatwoot", "inbox_instagram_id", 0, id="inbox-zero"),
    pytest.param("crm", "timeout_ms", "fast", id="timeout-not-int"),
    pytest.param("crm", "timeout_ms", 0, id="timeout-zero"),
    pytest.param("crm", "timeout_ms", -100, id="timeout-negative"),
    pytest.param("crm", "signature_mode", "HMAC-SHA256", id="signature-mode-unknown"),
    pytest.param("crm", "signature_mode", "none", id="signature-mode-none"),
    pytest.param("chatwoot", "inject_instagram", "api", id="injection-unknown"),
    pytest.param("test", "instagram_igsid", "ig-unknown", id="igsid-placeholder"),
    pytest.param("test", "instagram_igsid", "ana.bea.teste", id="igsid-username"),
    pytest.param("test", "instagram_igsid", "123456789", id="igsid-9-digits"),
    pytest.param("test", "instagram_igsid", "1" * 21, id="igsid-21-digits"),
    pytest.param("test", "instagram_igsid", "1784140000000000a", id="igsid-letter"),
    pytest.param("test", "whatsapp_phone", "11999990000", id="phone-national"),
    pytest.param("test", "whatsapp_phone", "5511999990000", id="phone-no-plus"),
    pytest.param("test", "whatsapp_phone", "+55 11 99999-0000", id="phone-formatted"),
    pytest.param("test", "whatsapp_phone", "+0511999990000", id="phone-leading-zero"),
    pytest.param("test", "whatsapp_phone", "whatsapp:+5511999990000", id="phone-canonical-key"),
    pytest.param("crm", "organization_id", "not-a-uuid", id="uuid-word"),
    pytest.param("crm", "organization_id", "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a3", id="uuid-short"),
    pytest.param("crm", "organization_id", "6f1c2a9e3b7d4c1e9a2f0d4b8e6c1a37", id="uuid-no-dash"),
    pytest.param("crm", "organization_id", "0123456789abcdef0123456789abcdef0123", id="uuid-36-hex"),
    pytest.param("crm", "organization_id", "-" * 36, id="uuid-36-dashes"),
]


@pytest.mark.parametrize(("section", "key", "value"), INVALID_VALUES)
def test_an_invalid_value_is_refused_naming_the_setting_and_where_to_fix_it(
    profile: dict[str, Any], section: str, key: str, value: Any
) -> None:
    profile[section][key] = value

    with pytest.raises(ConfigError) as caught:
        build(profile)

    message = str(caught.value)
    assert f"{section}.{key}" in message
    assert "invalid" in message
    assert LABEL in message
    assert f"GOLIVE_CORONEL_{section.upper()}_{key.upper()}" in message
    assert caught.value.setting == f"{section}.{key}"


def test_the_same_inbox_for_whatsapp_and_instagram_is_refused(profile: dict[str, Any]) -> None:
    profile["chatwoot"]["inbox_instagram_id"] = profile["chatwoot"]["inbox_whatsapp_id"]

    with pytest.raises(ConfigError, match="inbox") as caught:
        build(profile)

    assert caught.value.setting.startswith("chatwoot.inbox_")
    assert LABEL in str(caught.value)


@pytest.mark.parametrize("environment", ["prod", "Staging", "dev", ""])
def test_an_unknown_environment_is_refused_listing_the_valid_ones(
    profile: dict[str, Any], environment: str
) -> None:
    profile["environment"] = environment

    with pytest.raises(ConfigError) as caught:
        build(profile)

    message = str(caught.value)
    assert caught.value.setting == "environment"
    assert LABEL in message
    for valid in ("sandbox", "staging", "production"):
        assert valid in message


@pytest.mark.parametrize("environment", ["sandbox", "staging", "production"])
def test_each_documented_environment_is_accepted(profile: dict[str, Any], environment: str) -> None:
    profile["environment"] = environment

    assert build(profile).environment == environment


def test_a_legacy_signature_mode_is_accepted(profile: dict[str, Any]) -> None:
    profile["crm"]["signature_mode"] = "legacy"

    assert build(profile).signature_mode == "legacy"


# --- unknown keys and sections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        pytest.param(lambda p: p["crm"].update(base_ur="https://x.example"), "crm.base_ur", id="key"),
        pytest.param(lambda p: p.update(crmm={"base_url": "https://x"}), "crmm", id="section"),
        pytest.param(lambda p: p.update(nme="Coronel"), "nme", id="top-level"),
        pytest.param(lambda p: p.update(crm="https://x.example"), "crm", id="section-not-table"),
        pytest.param(lambda p: p["test"].update(igsid="17841400000000000"), "test.igsid", id="alias"),
    ],
)
def test_unknown_keys_and_sections_are_refused(profile: dict[str, Any], mutate: Any, named: str) -> None:
    mutate(profile)

    with pytest.raises(ConfigError, match="unknown setting") as caught:
        build(profile)

    assert named in str(caught.value)
    assert LABEL in str(caught.value)


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "key"), SECRET_SETTINGS)
def test_a_literal_secret_in_the_file_is_refused_with_a_hint_and_not_echoed(
    profile: dict[str, Any], section: str, key: str, canary: Any
) -> None:
    value = canary("literal")
    profile.setdefault(section, {})[key] = value

    with pytest.raises(ConfigError) as caught:
        build(profile)

    message = str(caught.value)
    assert f"{section}.{key}" in message
    assert f"{key}_env" in message  # the hint: name the env var instead
    assert value not in message
    assert value not in repr(caught.value)


def test_a_secret_is_read_from_the_env_var_the_file_names(profile: dict[str, Any], canary: Any) -> None:
    value = canary("ncrm")
    profile["crm"]["api_key_env"] = "CORONEL_CRM_API_KEY"

    org = build(profile, {"CORONEL_CRM_API_KEY": value})

    assert isinstance(org.api_key, Secret)
    assert org.api_key.name == "CORONEL_CRM_API_KEY"
    assert org.api_key.reveal() == value


@pytest.mark.parametrize("unset_value", [None, ""], ids=["absent", "empty"])
def test_an_env_name_pointing_to_an_unset_variable_is_refused(
    profile: dict[str, Any], unset_value: str | None
) -> None:
    profile["crm"]["webhook_secret_env"] = "CORONEL_CHATWOOT_WEBHOOK_SECRET"
    env = {} if unset_value is None else {"CORONEL_CHATWOOT_WEBHOOK_SECRET": unset_value}

    with pytest.raises(ConfigError) as caught:
        build(profile, env)

    message = str(caught.value)
    assert "CORONEL_CHATWOOT_WEBHOOK_SECRET" in message
    assert "crm.webhook_secret" in message
    assert LABEL in message
    assert "not set" in message


def test_loaded_secrets_are_registered_for_redaction(
    profile: dict[str, Any], redactor: Redactor, canary: Any
) -> None:
    api_key, hook = canary("ncrm"), canary("whsec")
    profile["crm"]["api_key_env"] = "CORONEL_CRM_API_KEY"
    profile["crm"]["webhook_secret_env"] = "CORONEL_CHATWOOT_WEBHOOK_SECRET"

    build(profile, {"CORONEL_CRM_API_KEY": api_key, "CORONEL_CHATWOOT_WEBHOOK_SECRET": hook})

    assert redactor.known() == {
        api_key: "CORONEL_CRM_API_KEY",
        hook: "CORONEL_CHATWOOT_WEBHOOK_SECRET",
    }


def _profile_with_every_secret(profile: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    names = []
    for section, key in SECRET_SETTINGS:
        name = f"CORONEL_{section.upper()}_{key.upper()}_VAR"
        profile.setdefault(section, {})[f"{key}_env"] = name
        names.append(name)
    profile["chatwoot"]["base_url"] = "https://chatwoot-staging.example.com"
    profile["n8n"].update(
        base_url="https://n8n.example.com",
        webhook_path="lagosta-agent-v2",
        workflow_exports=["fixtures/n8n/agent-v2.json"],
    )
    profile["control"]["url"] = "https://control.example.com"
    profile.setdefault("ui", {})["user"] = "qa@coronel.example.com"
    profile["chatwoot"].update(PROVIDER)
    return profile, names


# Both inboxes injected as Meta would, on a staging that accepts it.
PROVIDER = {
    "inject_instagram": "provider",
    "inject_whatsapp": "provider",
    "instagram_account_id": "17841499000000031",
    "whatsapp_phone_number": "+5511300000030",
    "whatsapp_phone_number_id": "110000000000030",
    "allow_provider_injection": True,
}


def test_the_repr_of_an_organisation_never_contains_a_secret_value(
    profile: dict[str, Any], canary: Any
) -> None:
    profile, names = _profile_with_every_secret(profile)
    env = {name: canary(name.lower()) for name in names}
    env["CORONEL_DATABASE_DSN_VAR"] = "postgresql://golive_ro:" + canary("pw") + "@db.example/crm"
    env[REDIS_VAR] = "redis://golive_reader:" + canary("redis") + "@redis.example:6379/0"

    org = build(profile, env)

    assert len(org.secrets()) == len(SECRET_SETTINGS)
    rendered = [repr(org), str(org), f"{org}", repr(org.n8n), repr(org.secrets())]
    for text in rendered:
        for value in env.values():
            assert value not in text
    for name in names:
        assert name in repr(org)  # redacted, but one can still tell which secret it is


def test_the_fingerprint_ignores_secret_values_but_not_settings(profile: dict[str, Any], canary: Any) -> None:
    profile["crm"]["api_key_env"] = "CORONEL_CRM_API_KEY"
    first = build(copy.deepcopy(profile), {"CORONEL_CRM_API_KEY": canary()})
    rotated = build(copy.deepcopy(profile), {"CORONEL_CRM_API_KEY": canary()})
    profile["chatwoot"]["inbox_instagram_id"] = 32
    changed = build(profile, {"CORONEL_CRM_API_KEY": canary()})

    assert len(first.fingerprint) == 64
    assert first.fingerprint == rotated.fingerprint
    assert first.fingerprint != changed.fingerprint
    assert first.api_key.reveal() not in first.fingerprint  # type: ignore[union-attr]


# --- environment overrides ---------------------------------------------------------------------


def test_an_env_override_beats_the_file(profile: dict[str, Any]) -> None:
    env = {
        "GOLIVE_CORONEL_CRM_BASE_URL": "https://crm-override.example.com",
        "GOLIVE_CORONEL_CHATWOOT_ACCOUNT_ID": "8",
        "GOLIVE_CORONEL_BOARD_TARGET_STAGE": "Fechamento",
    }

    org = build(profile, env)

    assert org.crm_base_url == "https://crm-override.example.com"
    assert org.account_id == 8
    assert org.target_stage == "Fechamento"
    assert org.inboxes["whatsapp"].id == 30  # not overridden: the file's value


def test_an_env_override_can_supply_a_setting_the_file_lacks(profile: dict[str, Any]) -> None:
    del profile["crm"]["base_url"]

    org = build(profile, {"GOLIVE_CORONEL_CRM_BASE_URL": "https://crm-from-env.example.com"})

    assert org.crm_base_url == "https://crm-from-env.example.com"


def test_an_empty_env_override_does_not_mask_the_file(profile: dict[str, Any]) -> None:
    org = build(profile, {"GOLIVE_CORONEL_CRM_BASE_URL": ""})

    assert org.crm_base_url == "https://crm-staging.example.com"


def test_the_override_name_uses_the_slug_upper_cased_with_dashes_as_underscores(
    profile: dict[str, Any],
) -> None:
    env = {"GOLIVE_CORONEL_STAGING_CHATWOOT_INBOX_INSTAGRAM_ID": "41"}

    org = build(profile, env, slug="coronel-staging")

    assert org.inboxes["instagram"].id == 41


def test_an_invalid_env_override_names_the_env_var(profile: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        build(profile, {"GOLIVE_CORONEL_CHATWOOT_ACCOUNT_ID": "seven"})

    assert "GOLIVE_CORONEL_CHATWOOT_ACCOUNT_ID" in str(caught.value)
    assert "chatwoot.account_id" in str(caught.value)


def test_a_secret_env_override_beats_the_env_var_the_file_names(profile: dict[str, Any], canary: Any) -> None:
    value = canary("ncrm")
    profile["crm"]["api_key_env"] = "CORONEL_CRM_API_KEY"  # deliberately not set

    org = build(profile, {"GOLIVE_CORONEL_CRM_API_KEY": value})

    assert org.api_key is not None
    assert org.api_key.reveal() == value
    assert org.api_key.name == "GOLIVE_CORONEL_CRM_API_KEY"


def test_a_list_override_is_split_on_commas(profile: dict[str, Any], tmp_path: Path) -> None:
    org = build_organisation(
        "coronel",
        profile,
        {"GOLIVE_CORONEL_N8N_WORKFLOW_EXPORTS": "n8n/a.json, n8n/b.json ,"},
        file_label=LABEL,
        base_dir=tmp_path,
    )

    assert org.n8n.workflow_exports == (tmp_path / "n8n/a.json", tmp_path / "n8n/b.json")


# --- profile files on disk ---------------------------------------------------------------------

PROFILE_TOML = """\
# a profile as an engineer writes it
name = "Coronel Picanha (staging)"
environment = "staging"

[crm]
base_url = "https://crm-staging.example.com"
api_key_env = "CORONEL_CRM_API_KEY"
timeout_ms = 15000

[chatwoot]
account_id = 7
inbox_whatsapp_id = 30
inbox_instagram_id = 31

[test]
instagram_igsid = "17841400000000000"
whatsapp_phone = "+5511999990000"

[n8n]
workflow_exports = ["fixtures/n8n/agent-v2.json"]
"""


def _write_profile(root: Path, slug: str = "coronel", text: str = PROFILE_TOML) -> Path:
    orgs = root / "orgs"
    orgs.mkdir(parents=True, exist_ok=True)
    path = orgs / f"{slug}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_profile_file_reads_toml_and_names_the_org_after_the_file(tmp_path: Path, canary: Any) -> None:
    path = _write_profile(tmp_path)

    org = load_profile_file(path, {"CORONEL_CRM_API_KEY": canary()})

    assert org.slug == "coronel"
    assert org.origin == str(path)
    assert org.inboxes["instagram"].id == 31
    # workflow exports are relative to the project root (the folder holding orgs/)
    assert org.n8n.workflow_exports == (tmp_path / "fixtures/n8n/agent-v2.json",)


def test_load_profile_file_reports_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "orgs" / "nobody.toml"

    with pytest.raises(ConfigError, match="profile not found") as caught:
        load_profile_file(missing, {})

    assert str(missing) in str(caught.value)


def test_load_profile_file_reports_invalid_toml_with_its_path(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, text='[crm]\nbase_url = "https://unterminated\n')

    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_profile_file(path, {})

    assert str(path) in str(caught.value)


def test_a_literal_secret_in_a_toml_file_is_refused(tmp_path: Path, canary: Any) -> None:
    value = canary("ncrm")
    text = PROFILE_TOML.replace('api_key_env = "CORONEL_CRM_API_KEY"', f'api_key = "{value}"')
    path = _write_profile(tmp_path, text=text)

    with pytest.raises(ConfigError, match="api_key_env") as caught:
        load_profile_file(path, {})

    assert value not in str(caught.value)


def test_a_missing_setting_in_a_toml_file_names_the_file(tmp_path: Path, canary: Any) -> None:
    path = _write_profile(tmp_path, text=PROFILE_TOML.replace("account_id = 7\n", ""))

    with pytest.raises(ConfigError) as caught:
        load_profile_file(path, {"CORONEL_CRM_API_KEY": canary()})

    message = str(caught.value)
    assert "chatwoot.account_id" in message
    assert str(path) in message
    assert "GOLIVE_CORONEL_CHATWOOT_ACCOUNT_ID" in message


def test_load_organisation_finds_the_profile_in_orgs_dir(tmp_path: Path, canary: Any) -> None:
    _write_profile(tmp_path)

    org = load_organisation("coronel", orgs_dir=tmp_path / "orgs", env={"CORONEL_CRM_API_KEY": canary()})

    assert org.slug == "coronel"


def test_load_organisation_also_looks_in_extra_dirs(tmp_path: Path, canary: Any) -> None:
    extra = tmp_path / "sandbox"
    _write_profile(extra, slug="sandbox-pilot")
    (tmp_path / "orgs").mkdir()

    org = load_organisation(
        "sandbox-pilot",
        orgs_dir=tmp_path / "orgs",
        env={"CORONEL_CRM_API_KEY": canary()},
        extra_dirs=(extra / "orgs",),
    )

    assert org.slug == "sandbox-pilot"


def test_an_unknown_organisation_lists_the_known_profiles(tmp_path: Path) -> None:
    _write_profile(tmp_path, slug="coronel")
    _write_profile(tmp_path, slug="emporio")

    with pytest.raises(ConfigError) as caught:
        load_organisation("coronell", orgs_dir=tmp_path / "orgs", env={})

    message = str(caught.value)
    assert "coronell" in message
    assert "coronel" in message and "emporio" in message and "runbook" in message
    assert caught.value.setting == "--org"


# --- the runbook profile (SMOKE_* and .env.smoke.local) ----------------------------------------


def test_the_runbook_profile_is_built_from_smoke_variables_alone(tmp_path: Path) -> None:
    org = runbook(tmp_path, dict(RUNBOOK_ENV))

    assert org.slug == "runbook"
    assert org.crm_base_url == "https://crm-staging.example.com"
    assert org.account_id == 7
    assert org.inboxes["instagram"].id == 31
    assert org.inboxes["whatsapp"].id == 30
    assert org.test_igsid == "17841400000000000"
    assert org.test_whatsapp_phone == "+5511999990000"
    assert org.webhook_secret is None
    assert org.timeout_s == 15.0  # the suggested default when SMOKE_TIMEOUT_MS is absent


def test_the_runbook_reads_its_optional_variables(tmp_path: Path, canary: Any) -> None:
    secret = canary("whsec")
    env = dict(
        RUNBOOK_ENV,
        SMOKE_CHATWOOT_WEBHOOK_SECRET=secret,
        SMOKE_ORGANIZATION_ID="6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37",
        SMOKE_TIMEOUT_MS="20000",
        SMOKE_SIGNATURE_MODE="legacy",
    )

    org = runbook(tmp_path, env)

    assert org.webhook_secret is not None
    assert org.webhook_secret.name == "SMOKE_CHATWOOT_WEBHOOK_SECRET"
    assert org.webhook_secret.reveal() == secret
    assert secret not in repr(org)
    assert org.organization_id == "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37"
    assert org.timeout_s == 20.0
    assert org.signature_mode == "legacy"


def test_the_runbook_ignores_unrelated_environment_variables(tmp_path: Path) -> None:
    env = dict(RUNBOOK_ENV, PATH="/usr/bin", HOME="/root", GOLIVE_RUNBOOK_CRM_BASE_URL="https://x")

    org = runbook(tmp_path, env)

    assert org.crm_base_url == "https://crm-staging.example.com"


@pytest.mark.parametrize("variable", sorted(RUNBOOK_ENV))
def test_a_missing_runbook_variable_is_named_with_where_to_set_it(tmp_path: Path, variable: str) -> None:
    env = {k: v for k, v in RUNBOOK_ENV.items() if k != variable}

    with pytest.raises(ConfigError) as caught:
        runbook(tmp_path, env)

    message = str(caught.value)
    assert variable in message
    assert ".env.smoke.local" in message
    assert caught.value.setting == variable


def test_an_invalid_runbook_variable_is_named_by_its_smoke_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        runbook(tmp_path, dict(RUNBOOK_ENV, SMOKE_WHATSAPP_PHONE="(11) 99999-0000"))

    assert "SMOKE_WHATSAPP_PHONE" in str(caught.value)
    assert ".env.smoke.local" in str(caught.value)


DOTENV_TEXT = """\
# .env.smoke.local, as the runbook's users keep it
SMOKE_BASE_URL=https://crm-staging.example.com

export SMOKE_CHATWOOT_ACCOUNT_ID=7
SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID="31"
SMOKE_CHATWOOT_INBOX_WHATSAPP_ID='30'
   # an indented comment
SMOKE_INSTAGRAM_IGSID = 17841400000000000
export SMOKE_WHATSAPP_PHONE="+5511999990000"
SMOKE_CHATWOOT_WEBHOOK_SECRET="{secret}"
"""


def test_the_runbook_profile_is_built_from_the_dotenv_file_alone(tmp_path: Path, canary: Any) -> None:
    secret = canary("whsec")

    org = runbook(tmp_path, {}, DOTENV_TEXT.format(secret=secret))

    assert org.crm_base_url == "https://crm-staging.example.com"
    assert org.account_id == 7
    assert org.inboxes["instagram"].id == 31
    assert org.inboxes["whatsapp"].id == 30
    assert org.test_igsid == "17841400000000000"
    assert org.test_whatsapp_phone == "+5511999990000"
    assert org.webhook_secret is not None and org.webhook_secret.reveal() == secret


def test_the_environment_beats_the_dotenv_file(tmp_path: Path, canary: Any) -> None:
    env = {
        "SMOKE_BASE_URL": "https://crm-from-env.example.com",
        "SMOKE_CHATWOOT_ACCOUNT_ID": "9",
        "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID": "",  # empty: the file's value stands
    }

    org = runbook(tmp_path, env, DOTENV_TEXT.format(secret=canary()))

    assert org.crm_base_url == "https://crm-from-env.example.com"
    assert org.account_id == 9
    assert org.inboxes["whatsapp"].id == 30
    assert org.inboxes["instagram"].id == 31


def test_read_dotenv_strips_export_quotes_and_comments(tmp_path: Path) -> None:
    path = tmp_path / ".env.smoke.local"
    path.write_text(
        "# comment\n"
        "\n"
        "export A=1\n"
        'B="two words"\n'
        "C='single'\n"
        'D="has # inside quotes"\n'
        "E=postgresql://u:p@h:5432/db?sslmode=require\n"
        "F=\n"
        "  G = spaced  \n",
        encoding="utf-8",
    )

    assert read_dotenv(path) == {
        "A": "1",
        "B": "two words",
        "C": "single",
        "D": "has # inside quotes",
        "E": "postgresql://u:p@h:5432/db?sslmode=require",
        "F": "",
        "G": "spaced",
    }


def test_read_dotenv_drops_an_inline_comment_after_an_unquoted_value(tmp_path: Path) -> None:
    # bash `source`, node's --env-file and the dotenv packages all treat ` # …` as a comment
    path = tmp_path / ".env.smoke.local"
    path.write_text("SMOKE_TIMEOUT_MS=20000  # ms, the runbook suggests 15000\n", encoding="utf-8")

    assert read_dotenv(path) == {"SMOKE_TIMEOUT_MS": "20000"}


def test_read_dotenv_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / "absent.env") == {}


def test_read_dotenv_names_the_file_and_line_of_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / ".env.smoke.local"
    path.write_text(
        "# header\nSMOKE_BASE_URL=https://crm.example.com\nSMOKE_CHATWOOT_ACCOUNT_ID 7\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        read_dotenv(path)

    message = str(caught.value)
    assert f"{path}:3:" in message
    assert "KEY=VALUE" in message
    assert "SMOKE_CHATWOOT_ACCOUNT_ID" in message


def test_a_malformed_dotenv_line_fails_the_runbook_profile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        runbook(tmp_path, dict(RUNBOOK_ENV), "this is not a setting\n")


# --- capabilities ------------------------------------------------------------------------------


def test_a_minimal_profile_states_why_each_capability_is_missing(
    profile: dict[str, Any],
) -> None:
    del profile["board"]

    capabilities = build(profile).capabilities()

    assert set(capabilities) >= {"api", "db", "n8n", "chatwoot", "control", "board", "exports"}
    for name, reason in capabilities.items():
        assert reason, f"capability {name} is missing but gives no reason"
    assert "api_key" in capabilities["api"]
    assert "dsn" in capabilities["db"]
    assert "n8n" in capabilities["n8n"]
    assert "Chatwoot" in capabilities["chatwoot"]
    assert "board" in capabilities["board"]
    assert "workflow_exports" in capabilities["exports"]
    assert "webhook_secret_env" in capabilities["secret"]
    assert "[ui] user and password_env" in capabilities["ui"]


def test_a_complete_profile_has_every_capability(profile: dict[str, Any], canary: Any) -> None:
    profile, names = _profile_with_every_secret(profile)

    env = {name: canary() for name in names}
    env[REDIS_VAR] = "redis://golive_reader:" + canary("redis") + "@redis.example:6379/0"
    org = build(profile, env)

    capabilities = org.capabilities()
    assert set(capabilities) >= {"api", "db", "n8n", "chatwoot", "control", "board", "exports", "redis"}
    assert {name: reason for name, reason in capabilities.items() if reason} == {}


def test_the_n8n_trigger_shape_is_one_of_the_two_chatwoot_sends(profile: dict[str, Any]) -> None:
    assert build(profile).n8n.trigger == "account_webhook"
    profile["n8n"] = {"trigger": "automation_rule"}
    assert build(profile).n8n.trigger == "automation_rule"
    profile["n8n"]["trigger"] = "conversation_created"
    with pytest.raises(ConfigError, match=r"n8n\.trigger.*account_webhook or automation_rule"):
        build(profile)


def test_a_redis_url_that_is_not_one_is_refused_without_echoing_it(
    profile: dict[str, Any], canary: Any
) -> None:
    profile["redis"] = {"url_env": REDIS_VAR}
    value = canary("not-a-url")
    with pytest.raises(ConfigError, match=r"redis\.url") as caught:
        build(profile, {REDIS_VAR: value})
    assert value not in str(caught.value)


def test_a_profile_may_name_the_agent_flows_parts(profile: dict[str, Any]) -> None:
    profile["n8n"] = {
        "agent_node": "Agente de IA",
        "memory_node": "Memoria_Redis",
        "stage_tools": ["crm_a", "crm_b"],
    }
    roles = build(profile).n8n.roles
    assert (roles.agent, roles.memory, roles.stage_tools) == (
        "Agente de IA",
        "Memoria_Redis",
        ("crm_a", "crm_b"),
    )
    assert roles.trigger is None and roles.deal is None and roles.reply is None


def test_n8n_needs_url_key_and_webhook_path_together(profile: dict[str, Any], canary: Any) -> None:
    profile["n8n"] = {"base_url": "https://n8n.example.com", "api_key_env": "N8N_KEY"}

    org = build(profile, {"N8N_KEY": canary()})

    assert org.capabilities()["n8n"] != ""


def test_a_board_without_a_target_stage_is_not_a_board_capability(
    profile: dict[str, Any],
) -> None:
    del profile["board"]["target_stage"]

    assert "target_stage" in build(profile).capabilities()["board"]


def test_a_monitoring_window_that_is_not_a_duration_names_the_setting(profile: dict[str, Any]) -> None:
    profile["monitor"] = {"window": "half an hour"}

    with pytest.raises(ConfigError, match=r"monitor\.window.*not a duration"):
        build(profile)


def test_the_ui_defaults_to_the_crm_and_keeps_its_password_secret(
    profile: dict[str, Any], canary: Any
) -> None:
    profile["ui"] = {"user": "qa@coronel.example.com", "password_env": "CORONEL_QA_PASSWORD"}
    password = canary("qa")

    org = build(profile, {"CORONEL_QA_PASSWORD": password})

    assert org.ui_base_url is None and org.ui_user == "qa@coronel.example.com"
    assert org.ui_password is not None and org.ui_password.reveal() == password
    assert password not in repr(org) and org.capabilities()["ui"] == ""


def test_a_ui_url_that_is_not_http_is_refused(profile: dict[str, Any]) -> None:
    profile["ui"] = {"base_url": "crm.example.com"}

    with pytest.raises(ConfigError, match=r"ui\.base_url"):
        build(profile)


def test_the_chatwoot_version_defaults_to_the_newest_build(profile: dict[str, Any]) -> None:
    org = build_organisation("coronel", profile, {}, file_label="orgs/coronel.toml")

    assert org.chatwoot_version == "4.15.0"


@pytest.mark.parametrize(("written", "read"), [("4.11.1", "4.11.1"), ("v4.13.0", "4.13.0")])
def test_the_chatwoot_version_is_read_from_the_profile(
    profile: dict[str, Any], written: str, read: str
) -> None:
    profile["chatwoot"]["version"] = written

    assert build_organisation("coronel", profile, {}, file_label="orgs/coronel.toml").chatwoot_version == read


def test_a_chatwoot_version_that_is_not_a_version_is_refused(profile: dict[str, Any]) -> None:
    profile["chatwoot"]["version"] = "latest"

    with pytest.raises(ConfigError, match=r"chatwoot\.version.*MAJOR\.MINOR\.PATCH"):
        build_organisation("coronel", profile, {}, file_label="orgs/coronel.toml")


# --- the provider injection path -----------------------------------------------------------------


def _provider_profile(profile: dict[str, Any], **changes: Any) -> dict[str, Any]:
    profile["chatwoot"].update(
        base_url="https://chatwoot-staging.example.com",
        api_token_env="CORONEL_CW_TOKEN",
        instagram_app_secret_env="CORONEL_IG_APP_SECRET",
        whatsapp_app_secret_env="CORONEL_WA_APP_SECRET",
        **PROVIDER,
    )
    for key, value in changes.items():
        if value is None:
            profile["chatwoot"].pop(key, None)
        else:
            profile["chatwoot"][key] = value
    return profile


PROVIDER_ENV = {"CORONEL_CW_TOKEN": "t", "CORONEL_IG_APP_SECRET": "ig", "CORONEL_WA_APP_SECRET": "wa"}


def test_provider_injection_carries_what_meta_events_name(profile: dict[str, Any]) -> None:
    org = build(_provider_profile(profile), dict(PROVIDER_ENV))

    assert {i.injection for i in org.inboxes.values()} == {"provider"}
    assert org.meta.instagram_account_id == "17841499000000031"
    assert org.meta.whatsapp_phone_number == "+5511300000030"
    assert org.meta.whatsapp_phone_number_id == "110000000000030"
    assert org.meta.app_secret("instagram") == Secret("CORONEL_IG_APP_SECRET", "ig")
    assert org.capabilities()["provider_instagram"] == ""


def test_provider_on_a_staging_needs_the_explicit_flag(profile: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        build(_provider_profile(profile, allow_provider_injection=None), dict(PROVIDER_ENV))

    assert "chatwoot.allow_provider_injection" in str(caught.value)
    assert "send the agent's answers to Meta" in str(caught.value)


def test_provider_on_the_sandbox_needs_no_flag(profile: dict[str, Any]) -> None:
    profile["environment"] = "sandbox"
    org = build(_provider_profile(profile, allow_provider_injection=None), dict(PROVIDER_ENV))

    assert org.meta.allowed_off_sandbox is False
    assert org.inboxes["instagram"].injection == "provider"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("instagram_account_id", "chatwoot.instagram_account_id"),
        ("whatsapp_phone_number", "chatwoot.whatsapp_phone_number"),
        ("whatsapp_phone_number_id", "chatwoot.whatsapp_phone_number_id"),
        ("instagram_app_secret_env", "chatwoot.instagram_app_secret"),
        ("whatsapp_app_secret_env", "chatwoot.whatsapp_app_secret"),
        ("base_url", "chatwoot.base_url"),
    ],
)
def test_provider_names_each_setting_it_lacks(profile: dict[str, Any], missing: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(_provider_profile(profile, **{missing: None}), dict(PROVIDER_ENV))

    assert f"invalid setting {named} " in str(caught.value)


def test_a_build_that_predates_meta_signatures_needs_no_app_secret(profile: dict[str, Any]) -> None:
    changed = _provider_profile(profile, instagram_app_secret_env=None, whatsapp_app_secret_env=None)
    changed["chatwoot"]["version"] = "4.13.0"

    org = build(changed, dict(PROVIDER_ENV))

    assert org.meta.app_secret("whatsapp") is None


def test_a_delivery_profile_needs_none_of_the_provider_settings(profile: dict[str, Any]) -> None:
    org = build(profile)

    assert org.meta.instagram_account_id is None
    assert "inject_instagram" in org.capabilities()["provider_instagram"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("instagram_account_id", "ig-account"),
        ("whatsapp_phone_number", "5511300000030"),
        ("whatsapp_phone_number_id", "12ab"),
        ("allow_provider_injection", "perhaps"),
    ],
)
def test_malformed_provider_settings_are_refused(profile: dict[str, Any], key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(_provider_profile(profile, **{key: value}), dict(PROVIDER_ENV))

    assert key in str(caught.value)


def test_the_runbook_takes_provider_settings_from_smoke_variables(tmp_path: Path) -> None:
    env = {
        **RUNBOOK_ENV,
        "SMOKE_CHATWOOT_INJECT_INSTAGRAM": "provider",
        "SMOKE_CHATWOOT_INSTAGRAM_ACCOUNT_ID": "17841499000000031",
        "SMOKE_CHATWOOT_BASE_URL": "https://chatwoot.example.com",
        "SMOKE_CHATWOOT_API_TOKEN": "t",
        "SMOKE_INSTAGRAM_APP_SECRET": "s",
        "SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION": "true",
        "SMOKE_PROVIDER_TEST_SENDERS": "17841400000000001, +5511988887777",
    }
    org = runbook(tmp_path, env)

    assert org.inboxes["instagram"].injection == "provider"
    assert org.meta.allowed_off_sandbox is True
    assert org.meta.test_senders == ("17841400000000001", "+5511988887777")
    del env["SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION"]
    with pytest.raises(ConfigError) as caught:
        runbook(tmp_path, env)
    assert "SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION" in str(caught.value)
