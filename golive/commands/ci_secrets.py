"""`golive ci-secrets`: hand one organisation's secrets to a CI job, and no other organisation's.

A matrix job cannot name its secrets in YAML (the organisation is only known at run time), so
the job passes the CI's secrets as JSON (GitHub: `${{ toJSON(secrets) }}`) in one env var and
this command writes, in the `$GITHUB_ENV` format, only the env vars the organisation's profile
names (`*_env` keys). A named secret that is missing stops the job before any test, naming it.
"""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path

from golive.errors import ConfigError

SECRETS_ENV = "GOLIVE_CI_SECRETS"


def secret_names(profile: Path) -> list[str]:
    """The env var names a profile reads its secrets from."""
    try:
        values = tomllib.loads(profile.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no profile {profile}", setting="--org", where=str(profile.parent)) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{profile}: not a readable TOML profile ({exc})", setting="--org") from None
    return secret_names_in(values)


def secret_names_in(values: Mapping[str, object]) -> list[str]:
    """The `*_env` values of a parsed profile: the names of the env vars holding its secrets."""
    names = {
        str(value)
        for section in values.values()
        if isinstance(section, dict)
        for key, value in section.items()
        if key.endswith("_env") and isinstance(value, str)
    }
    return sorted(names)


def github_env_lines(profile: Path, env: Mapping[str, str]) -> str:
    """`NAME<<DELIMITER` blocks for `$GITHUB_ENV`, one per secret the profile names."""
    names = secret_names(profile)
    if not names:
        return ""  # e.g. a sandbox organisation: its secrets exist only while its sandbox runs
    raw = env.get(SECRETS_ENV)
    if raw is None:
        raise ConfigError(
            f"{SECRETS_ENV} is not set: pass the CI's secrets as JSON, e.g. "
            f"`{SECRETS_ENV}: ${{{{ toJSON(secrets) }}}}`",
            setting=SECRETS_ENV,
        )
    try:
        available = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{SECRETS_ENV} is not JSON", setting=SECRETS_ENV) from None
    if not isinstance(available, dict):
        raise ConfigError(f"{SECRETS_ENV} is not a JSON object", setting=SECRETS_ENV)
    missing = [name for name in names if not available.get(name)]
    if missing:
        raise ConfigError(
            f"{profile.stem}: the CI has no secret {', '.join(missing)} (named in {profile}); "
            "add it to the repository's or environment's secrets",
            setting=missing[0],
        )
    blocks = []
    for name in names:
        value = str(available[name])
        delimiter = f"GOLIVE_{secrets.token_hex(8)}"
        while delimiter in value:
            delimiter = f"GOLIVE_{secrets.token_hex(8)}"
        blocks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(blocks)
