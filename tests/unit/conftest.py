"""Shared fixtures of the library unit tests: a valid profile, organisations, a fresh redactor."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import golive.config
import golive.runtime.evidence_hooks
import golive.secrets
from golive.config import build_organisation
from golive.organisation import Organisation
from golive.secrets import Redactor

# A complete, valid file profile (what orgs/<slug>.toml would hold once parsed).
VALID_PROFILE: dict[str, Any] = {
    "name": "Coronel Picanha (staging)",
    "environment": "staging",
    "crm": {
        "base_url": "https://crm-staging.example.com",
        "signature_mode": "hmac",
        "organization_id": "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37",
        "timeout_ms": 15000,
    },
    "chatwoot": {
        "account_id": 7,
        "inbox_whatsapp_id": 30,
        "inbox_instagram_id": 31,
        "inject_whatsapp": "delivery",
        "inject_instagram": "delivery",
    },
    "test": {
        "instagram_igsid": "17841400000000000",
        "whatsapp_phone": "+5511999990000",
    },
    "board": {"key": "atendimento", "secondary_key": "pos-venda", "target_stage": "Proposta"},
}


@pytest.fixture
def profile() -> dict[str, Any]:
    """A fresh deep copy of a valid profile, free to mutate."""
    return copy.deepcopy(VALID_PROFILE)


@pytest.fixture
def redactor(monkeypatch: pytest.MonkeyPatch) -> Redactor:
    """A fresh process-wide redactor: canaries planted by one test never reach another."""
    fresh = Redactor()
    monkeypatch.setattr(golive.secrets, "REDACTOR", fresh)
    monkeypatch.setattr(golive.config, "REDACTOR", fresh)
    monkeypatch.setattr(golive.runtime.evidence_hooks, "REDACTOR", fresh)
    return fresh


@pytest.fixture
def canary() -> Callable[[str], str]:
    """A unique, unmistakable fake secret value (never a real one)."""

    def make(prefix: str = "canary") -> str:
        return f"{prefix}-{secrets.token_hex(12)}"

    return make


@pytest.fixture
def make_org(profile: dict[str, Any], redactor: Redactor) -> Callable[..., Organisation]:
    """Build an Organisation from the valid profile, with optional per-section overrides."""

    def make(
        env: Mapping[str, str] | None = None,
        slug: str = "coronel",
        **sections: dict[str, Any],
    ) -> Organisation:
        values = copy.deepcopy(profile)
        for section, overrides in sections.items():
            values.setdefault(section, {}).update(overrides)
        return build_organisation(slug, values, env or {}, file_label=f"orgs/{slug}.toml")

    return make
