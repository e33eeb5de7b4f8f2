"""Redaction by name: secrets golive never loaded (a webhook's signing secret in Chatwoot's
answer, an echoed token) are replaced where they stand, discovered, and redacted by value
from then on. Every value here is a made-up canary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from golive.clients.http import Exchange, ExchangeLog, build_client, recording
from golive.runtime.evidence_hooks import exchanges_json
from golive.secrets import (
    Redactor,
    Secret,
    redact_body,
    redact_fields,
    redact_headers,
    redact_url,
    sensitive_name,
    unredacted_fields,
)

CHATWOOT = "https://chatwoot-staging.example.com"


@pytest.mark.parametrize(
    "name",
    [
        "secret",
        "webhook_secret",
        "token",
        "hmac_token",
        "pubsub_token",
        "api_access_token",
        "password",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "X-N8N-API-KEY",
        "private_key",
        "Authorization",
        "Proxy-Authorization",
        "X-Chatwoot-Signature",
        "set-cookie",
        "dsn",
        "database_dsn",
        "clientSecret",
    ],
)
def test_names_that_hold_secrets(name: str) -> None:
    assert sensitive_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "secretConfigured",
        "token_type",
        "api_key_prefix",
        "key",
        "board_key",
        "signature_mode",
        "X-Chatwoot-Timestamp",
        "X-Chatwoot-Delivery",
        "name",
        "nextCursor",
        "public_key",
    ],
)
def test_names_that_do_not(name: str) -> None:
    assert not sensitive_name(name)


def test_a_sensitive_field_is_replaced_and_its_value_discovered(redactor: Redactor, canary: Any) -> None:
    value = canary("whsec")
    data = {"payload": {"webhooks": [{"id": 2, "url": "https://n8n.example.com/webhook/x", "secret": value}]}}

    redacted = redact_fields(data, "chatwoot")

    hook = redacted["payload"]["webhooks"][0]
    assert hook["secret"] == "«redacted:chatwoot:secret»" and hook["id"] == 2
    assert data["payload"]["webhooks"][0]["secret"] == value  # the input is not changed
    assert redactor.known() == {value: "chatwoot:secret"}
    # from now on the value is redacted wherever it is echoed, by value
    assert value not in redactor.redact(f"an error message quoting {value}")


def test_a_known_secret_keeps_its_name(redactor: Redactor, canary: Any) -> None:
    value = canary()
    redactor.register(Secret("GOLIVE_SANDBOX_WEBHOOK_SECRET", value))

    assert redact_fields({"secret": value}) == {"secret": "«redacted:GOLIVE_SANDBOX_WEBHOOK_SECRET»"}


def test_an_n8n_header_parameter_pair_is_redacted_by_its_name(redactor: Redactor, canary: Any) -> None:
    value = canary("ncrm")
    node = {"parameters": {"headerParameters": {"parameters": [{"name": "X-Api-Key", "value": value}]}}}

    redacted = redact_fields(node, "n8n")

    pair = redacted["parameters"]["headerParameters"]["parameters"][0]
    assert pair == {"name": "X-Api-Key", "value": "«redacted:n8n:X-Api-Key»"}


def test_an_n8n_expression_is_a_reference_not_a_secret(redactor: Redactor) -> None:
    node = {"name": "X-Api-Key", "value": "={{ $env.CRM_API_KEY }}"}

    assert redact_fields(node) == node
    assert redactor.known() == {}
    assert unredacted_fields(node) == []


def test_headers_keep_the_scheme_but_not_the_credential(redactor: Redactor, canary: Any) -> None:
    token, hmac = canary("bearer"), "a" * 64

    headers = redact_headers(
        {"Authorization": f"Bearer {token}", "X-Chatwoot-Signature": f"sha256={hmac}", "Accept": "*/*"}
    )

    assert headers["Authorization"] == "Bearer «redacted:Authorization»"
    assert headers["X-Chatwoot-Signature"] == "sha256=«redacted:X-Chatwoot-Signature»"
    assert headers["Accept"] == "*/*"
    assert token in redactor.known() and hmac not in redactor.known()  # an HMAC is derived, per request


def test_a_url_loses_its_password_and_its_token_parameters(redactor: Redactor, canary: Any) -> None:
    password, token = canary("pw"), canary("tok")

    url = redact_url(f"postgresql://reader:{password}@db.example.com:5432/crm?sslmode=require&token={token}")

    assert password not in url and token not in url
    assert url.startswith(
        "postgresql://reader:«redacted:url password»@db.example.com:5432/crm?sslmode=require"
    )
    assert url.endswith("&token=«redacted:token»")


def test_a_url_inside_a_json_value_is_redacted_too(redactor: Redactor, canary: Any) -> None:
    token = canary("tok")

    redacted = redact_fields({"url": f"https://n8n.example.com/webhook/x?token={token}"})

    assert redacted == {"url": "https://n8n.example.com/webhook/x?token=«redacted:token»"}


def test_a_body_with_nothing_sensitive_is_kept_byte_for_byte() -> None:
    body = '{"event":"message_created","content":"Oi \\u003c3","id":1}'

    assert redact_body(body, "application/json") == body


def test_a_form_body_is_redacted_by_field_name(redactor: Redactor, canary: Any) -> None:
    password = canary("pw")

    body = redact_body(f"user=ana&password={password}", "application/x-www-form-urlencoded")

    assert body == "user=ana&password=«redacted:password»"


def test_unredacted_fields_names_what_the_leak_scan_reports() -> None:
    document = {
        "request": {"headers": {"x-api-key": "«redacted:KEY»", "authorization": "Basic cm9ib3Q6cHc="}},
        "response": {"body": {"payload": [{"secret": "plain-secret-value", "secretConfigured": True}]}},
    }

    assert unredacted_fields(document) == [
        "request.headers.authorization",
        "response.body.payload[0].secret",
    ]


# --- recorded exchanges: what reaches the evidence ------------------------------------------------


@pytest.fixture
def chatwoot() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=CHATWOOT, assert_all_called=True) as router:
        yield router


@pytest.fixture
def record() -> Iterator[Callable[[Callable[[httpx.Client], Any]], ExchangeLog]]:
    with build_client("chatwoot", base_url=CHATWOOT, timeout=5.0) as client:

        def run(send: Callable[[httpx.Client], Any]) -> ExchangeLog:
            with recording(ExchangeLog()) as log:
                send(client)
            return log

        yield run


def test_webhook_secrets_in_chatwoots_answer_never_reach_the_evidence(
    redactor: Redactor, canary: Any, chatwoot: respx.MockRouter, record: Any
) -> None:
    secrets = [canary("whsec") for _ in range(2)]
    webhooks = [
        {"id": n, "url": f"https://crm-{n}.example.com/api/chatwoot/webhook", "secret": s}
        for n, s in enumerate(secrets)
    ]
    chatwoot.get("/api/v1/accounts/7/webhooks").respond(200, json={"payload": {"webhooks": webhooks}})

    log = record(lambda c: c.get("/api/v1/accounts/7/webhooks"))
    written = exchanges_json(log.exchanges)

    assert all(s not in written for s in secrets)
    assert set(secrets) <= set(redactor.known())  # discovered: the leak scan looks for them too
    body = json.loads(written)[0]["response"]["body"]  # pretty-printed JSON, not an escaped string
    assert body["payload"]["webhooks"][1]["url"] == "https://crm-1.example.com/api/chatwoot/webhook"


def test_a_secret_echoed_outside_its_field_is_redacted_by_value(
    redactor: Redactor, canary: Any, chatwoot: respx.MockRouter, record: Any
) -> None:
    secret = canary("whsec")
    hook = {"id": 9, "name": f"canary echoing {secret}", "secret": secret}
    chatwoot.get("/api/v1/accounts/7/webhooks").respond(200, json={"payload": {"webhooks": [hook]}})

    log = record(lambda c: c.get("/api/v1/accounts/7/webhooks"))

    assert secret not in exchanges_json(log.exchanges)
    assert "canary echoing «redacted:chatwoot:secret»" in exchanges_json(log.exchanges)


def test_a_huge_body_is_redacted_by_name_before_it_is_cut(
    redactor: Redactor, canary: Any, chatwoot: respx.MockRouter, record: Any
) -> None:
    secret = canary("whsec")
    body = {"secret": secret, "padding": "x" * 50_000}  # the evidence keeps the first 20 000 characters
    chatwoot.get("/api/v1/accounts/7/webhooks").respond(200, json=body)

    log = record(lambda c: c.get("/api/v1/accounts/7/webhooks"))

    kept = log.exchanges[0].response_body
    assert secret not in kept and kept.startswith('{"secret": "«redacted:chatwoot:secret»"')
    assert secret in redactor.known()


def hostile_exchange(body: str) -> Exchange:
    return Exchange(
        "crm-webhook", "POST", "http://crm.test/api/chatwoot/webhook", {}, body, 400, {}, "{}", 1.0
    )


def test_json_nested_beyond_the_parser_is_redacted_as_text_and_attached(
    redactor: Redactor, canary: Any
) -> None:
    """Hostile scenarios send JSON 50,000 levels deep: the evidence keeps it as text."""
    secret = canary("deep")
    redactor.register(Secret("DEEP", secret))
    deep = "[" * 50_000 + f'"{secret}"' + "]" * 50_000

    assert redact_body(deep) == deep  # too deep to parse by name: left for redaction by value
    attached = exchanges_json([hostile_exchange(deep)])

    assert secret not in attached and json.loads(attached)[0]["request"]["body"].startswith("[[[")


def test_a_lone_surrogate_in_a_body_is_attached_as_its_escape() -> None:
    attached = exchanges_json([hostile_exchange('{"content": "oi \\ud800"}')])

    attached.encode("utf-8")  # what the evidence file must hold
    assert "\\ud800" in attached
