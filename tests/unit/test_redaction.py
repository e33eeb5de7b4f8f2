"""No secret value may reach the evidence. Planted canary secrets must never come out.

Every canary here is a made-up value with a recognisable prefix; the tests look for it (and for
its encoded forms) in everything golive would write.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from golive.clients.http import Exchange, ExchangeLog, build_client, recording
from golive.evidence.scrub import Leak, scrub_tree
from golive.runtime.evidence_hooks import exchanges_json
from golive.secrets import MIN_SECRET_LENGTH, Redactor, Secret, secret_forms
from tests.secret_encodings import ENCODINGS, SHAPES, planted_text

BASE = "https://crm-staging.example.com"

# Secret shapes met in practice: API tokens, base64 secrets, passwords with punctuation.
CANARY_SHAPES = {
    "token": "ncrm_CANARYtok3n_{suffix}",
    "base64": "CANARY+b64/{suffix}==",
    "passphrase": "CANARY p@ss:w/rd&x={suffix}",
}


def encoded_forms(value: str) -> set[str]:
    """The forms a value takes in a URL, a form body or a JSON string."""
    return {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
    }


def assert_no_canary(text: str, value: str) -> None:
    for form in encoded_forms(value):
        assert form not in text, f"the canary leaked as {form!r}"


@pytest.fixture(params=sorted(CANARY_SHAPES))
def planted(request: pytest.FixtureRequest, redactor: Redactor, canary: Any) -> Secret:
    """A canary secret of each shape, registered with the (fresh) process-wide redactor."""
    value = CANARY_SHAPES[request.param].format(suffix=canary("x").removeprefix("x-"))
    secret = Secret("CORONEL_CRM_API_KEY", value)
    redactor.register(secret)
    return secret


# --- Secret ----------------------------------------------------------------------------------


def test_a_secret_never_prints_its_value(canary: Any) -> None:
    value = canary()
    secret = Secret("CORONEL_CRM_API_KEY", value)

    renderings = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % secret,  # noqa: UP031
        format(secret),
        repr([secret]),
        repr({"key": secret}),
        str((secret,)),
    ]
    for text in renderings:
        assert value not in text
        assert "CORONEL_CRM_API_KEY" in text


def test_a_secret_reveals_its_value_only_when_asked(canary: Any) -> None:
    value = canary()
    secret = Secret("X_TOKEN", value)

    assert secret.reveal() == value
    assert bool(secret) is True
    assert bool(Secret("X_TOKEN", "")) is False


def test_a_secret_in_an_error_message_stays_redacted(canary: Any) -> None:
    value = canary()

    with pytest.raises(RuntimeError) as caught:
        raise RuntimeError(f"login failed with {Secret('X_TOKEN', value)}")

    assert value not in str(caught.value)


# --- Redactor ----------------------------------------------------------------------------------


def test_redact_replaces_a_known_value_with_a_marker_naming_it(canary: Any) -> None:
    value = canary()
    redactor = Redactor()
    redactor.register(Secret("CORONEL_CRM_API_KEY", value))

    redacted = redactor.redact(f"X-Api-Key: {value}; again {value}")

    assert value not in redacted
    assert redacted == ("X-Api-Key: «redacted:CORONEL_CRM_API_KEY»; again «redacted:CORONEL_CRM_API_KEY»")


@pytest.mark.parametrize("shape", sorted(CANARY_SHAPES))
@pytest.mark.parametrize("form", ["raw", "quote", "quote_plus"])
def test_redact_catches_the_value_and_its_url_encoded_forms(shape: str, form: str) -> None:
    value = CANARY_SHAPES[shape].format(suffix="0123456789")
    encoder: dict[str, Callable[[str], str]] = {
        "raw": str,
        "quote": lambda v: urllib.parse.quote(v, safe=""),
        "quote_plus": lambda v: urllib.parse.quote_plus(v, safe=""),
    }
    redactor = Redactor()
    redactor.register(Secret("DB_PASSWORD", value))
    text = f"https://x.example/cb?token={encoder[form](value)}&next=1"

    redacted = redactor.redact(text)

    assert_no_canary(redacted, value)
    assert "«redacted:DB_PASSWORD»" in redacted
    assert redacted.endswith("&next=1")


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_form_of_a_secret_is_found_and_redacted(shape: str, encoding: str) -> None:
    """URL-encoded, JSON/HTML-escaped, base64 at any alignment: the forms the leak scan knows."""
    value = SHAPES[shape].format(suffix="0123456789")
    redactor = Redactor()
    redactor.register(Secret("DB_PASSWORD", value))
    text = planted_text(value, encoding)
    assert redactor.find_leaks(text) == ["DB_PASSWORD"]

    redacted = redactor.redact(text)

    assert ENCODINGS[encoding](value) not in redacted
    assert redactor.find_leaks(redacted) == []
    assert "«redacted:DB_PASSWORD»" in redacted
    assert redacted.startswith("GET /cb?next=1 -> ") and redacted.endswith(" <- end\n")


def test_secret_forms_are_all_long_enough_to_be_secrets() -> None:
    """A base64 fragment shorter than a secret would redact ordinary words."""
    value = "z" * MIN_SECRET_LENGTH
    forms = secret_forms(value)

    assert value in forms
    assert min(len(f) for f in forms) >= MIN_SECRET_LENGTH


def test_redact_prefers_the_longest_of_overlapping_secrets() -> None:
    redactor = Redactor()
    redactor.register(Secret("SHORT", "canary123"))
    redactor.register(Secret("LONG", "canary123456789"))

    redacted = redactor.redact("a=canary123456789 b=canary123")

    assert redacted == "a=«redacted:LONG» b=«redacted:SHORT»"


def test_redact_leaves_no_whole_secret_when_two_secrets_overlap() -> None:
    redactor = Redactor()
    redactor.register(Secret("FIRST", "AAAABBBB-canary"))
    redactor.register(Secret("SECOND", "BBBB-canaryCCCC"))

    redacted = redactor.redact("xxAAAABBBB-canaryCCCCxx")

    assert "AAAABBBB-canary" not in redacted
    assert "BBBB-canaryCCCC" not in redacted
    assert redactor.find_leaks(redacted) == []


def test_values_too_short_to_be_secrets_are_refused() -> None:
    redactor = Redactor()
    short = "a" * (MIN_SECRET_LENGTH - 1)
    redactor.register(Secret("TINY", short))
    redactor.register(Secret("EMPTY", ""))

    assert redactor.known() == {}
    assert redactor.redact(f"value {short} stays") == f"value {short} stays"


def test_a_value_of_the_minimum_length_is_a_secret() -> None:
    redactor = Redactor()
    value = "z" * MIN_SECRET_LENGTH
    redactor.register(Secret("SIX", value))

    assert redactor.known() == {value: "SIX"}
    assert redactor.redact(f"[{value}]") == "[«redacted:SIX»]"


def test_find_leaks_names_every_secret_present(canary: Any) -> None:
    redactor = Redactor()
    a, b, c = canary("a"), canary("b"), canary("c")
    redactor.register_all([Secret("A_KEY", a), Secret("B_KEY", b), Secret("C_KEY", c)])

    assert redactor.find_leaks(f"{b} and {a}") == ["A_KEY", "B_KEY"]
    assert redactor.find_leaks("nothing here") == []


def test_find_leaks_sees_a_url_encoded_secret() -> None:
    value = CANARY_SHAPES["base64"].format(suffix="0123456789")
    redactor = Redactor()
    redactor.register(Secret("N8N_KEY", value))

    assert redactor.find_leaks(f"GET /api?key={urllib.parse.quote(value, safe='')}") == ["N8N_KEY"]


# --- exchanges as evidence --------------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as router:
        yield router


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One recorded client for the module (building an httpx.Client is slow)."""
    with build_client("crm", base_url=BASE, timeout=5.0) as client:
        yield client


@pytest.fixture
def record(http: httpx.Client) -> Callable[[Callable[[httpx.Client], Any]], list[Exchange]]:
    def run(send: Callable[[httpx.Client], Any]) -> list[Exchange]:
        with recording(ExchangeLog()) as log:
            send(http)
        assert log.exchanges, "nothing was recorded"
        return log.exchanges

    return run


def test_a_canary_in_a_header_never_reaches_the_exchanges(
    planted: Secret, mock: respx.MockRouter, record: Any
) -> None:
    mock.get("/api/public/v1/me").respond(200, json={"data": {}})

    exchanges = record(lambda c: c.get("/api/public/v1/me", headers={"X-Api-Key": planted.reveal()}))
    written = exchanges_json(exchanges)

    assert_no_canary(written, planted.reveal())
    assert json.loads(written)[0]["request"]["headers"]["x-api-key"] == ("«redacted:CORONEL_CRM_API_KEY»")


def test_a_canary_in_a_url_query_never_reaches_the_exchanges(
    planted: Secret, mock: respx.MockRouter, record: Any
) -> None:
    mock.get("/api/v1/executions").respond(200, json={"data": []})

    exchanges = record(lambda c: c.get("/api/v1/executions", params={"token": planted.reveal()}))
    written = exchanges_json(exchanges)

    assert_no_canary(written, planted.reveal())
    assert "«redacted:CORONEL_CRM_API_KEY»" in written


def test_a_canary_in_a_json_request_body_never_reaches_the_exchanges(
    planted: Secret, mock: respx.MockRouter, record: Any
) -> None:
    mock.post("/api/public/v1/contacts").respond(201, json={"data": {"id": "c1"}})

    exchanges = record(
        lambda c: c.post("/api/public/v1/contacts", json={"name": "Ana", "note": planted.reveal()})
    )
    written = exchanges_json(exchanges)

    assert_no_canary(written, planted.reveal())
    assert "«redacted:CORONEL_CRM_API_KEY»" in written


def test_a_canary_in_a_form_request_body_never_reaches_the_exchanges(
    planted: Secret, mock: respx.MockRouter, record: Any
) -> None:
    mock.post("/oauth/token").respond(200, json={"ok": True})

    exchanges = record(lambda c: c.post("/oauth/token", data={"password": planted.reveal()}))
    written = exchanges_json(exchanges)

    assert_no_canary(written, planted.reveal())


def test_a_response_echoing_a_canary_never_reaches_the_exchanges(
    planted: Secret, mock: respx.MockRouter, record: Any
) -> None:
    mock.get("/api/public/v1/me").respond(
        401, json={"error": f"Invalid API key {planted.reveal()}", "code": "AUTH_INVALID"}
    )

    exchanges = record(lambda c: c.get("/api/public/v1/me"))
    written = exchanges_json(exchanges)

    assert_no_canary(written, planted.reveal())
    assert "AUTH_INVALID" in written  # the rest of the evidence is kept


def test_exchanges_json_is_a_json_list_of_every_exchange(redactor: Redactor, canary: Any) -> None:
    value = canary()
    redactor.register(Secret("CONTROL_TOKEN", value))
    exchange = Exchange(
        system="sandbox-control",
        method="POST",
        url=f"{BASE}/faults?token={value}",
        request_headers={"x-golive-control-token": value},
        request_body=f'{{"t":"{value}"}}',
        status=200,
        response_headers={},
        response_body=value,
        elapsed_ms=1.234,
    )

    written = exchanges_json([exchange, exchange])

    assert value not in written
    parsed = json.loads(written)
    assert len(parsed) == 2
    assert parsed[0]["request"]["url"] == f"{BASE}/faults?token=«redacted:CONTROL_TOKEN»"
    assert parsed[0]["response"]["body"] == "«redacted:CONTROL_TOKEN»"
    assert parsed[0]["elapsed_ms"] == 1.23


def test_secrets_loaded_from_a_profile_are_redacted_from_the_exchanges(
    make_org: Any, mock: respx.MockRouter, record: Any, canary: Any
) -> None:
    key = canary("ncrm")
    org = make_org({"CORONEL_CRM_API_KEY": key}, crm={"api_key_env": "CORONEL_CRM_API_KEY"})
    mock.get("/api/public/v1/me").respond(200, json={"data": {"api_key": key}})

    assert org.api_key is not None
    exchanges = record(lambda c: c.get("/api/public/v1/me", headers={"X-Api-Key": org.api_key.reveal()}))
    written = exchanges_json(exchanges)

    assert_no_canary(written, key)
    assert written.count("«redacted:CORONEL_CRM_API_KEY»") == 2


# --- the last pass over a report folder -------------------------------------------------------


@pytest.fixture
def report_tree(tmp_path: Path) -> Path:
    root = tmp_path / "reports" / "20260610T120000Z-ab12"
    (root / "allure-results").mkdir(parents=True)
    (root / "exchanges").mkdir()
    (root / "logs" / "deep").mkdir(parents=True)
    return root


def test_scrub_tree_rewrites_text_files_and_reports_binary_ones(
    report_tree: Path, redactor: Redactor, canary: Any
) -> None:
    value = canary("whsec")
    redactor.register(Secret("CORONEL_CHATWOOT_WEBHOOK_SECRET", value))
    result = report_tree / "allure-results" / "1-result.json"
    result.write_text(json.dumps({"statusDetails": {"message": f"sig {value}"}}), encoding="utf-8")
    log = report_tree / "logs" / "deep" / "stdout"  # no suffix: treated as text
    log.write_text(f"line 1\nsecret={value}\n", encoding="utf-8")
    junit = report_tree / "junit.xml"
    junit.write_text(f"<failure message='{value}'/>", encoding="utf-8")
    clean = report_tree / "exchanges" / "clean.json"
    clean.write_text('{"nothing": "to see"}', encoding="utf-8")
    image = report_tree / "allure-results" / "shot.png"
    image_bytes = b"\x89PNG\r\n\x1a\n\x00\xff" + value.encode() + b"\x00\x01"
    image.write_bytes(image_bytes)

    leaks = scrub_tree(report_tree, redactor)

    by_path = {leak.path: leak for leak in leaks}
    assert set(by_path) == {result, log, junit, image}
    for path in (result, log, junit):
        assert by_path[path] == Leak(path, ("CORONEL_CHATWOOT_WEBHOOK_SECRET",), True)
        text = path.read_text(encoding="utf-8")
        assert value not in text
        assert "«redacted:CORONEL_CHATWOOT_WEBHOOK_SECRET»" in text
    assert json.loads(result.read_text(encoding="utf-8"))["statusDetails"]["message"] == (
        "sig «redacted:CORONEL_CHATWOOT_WEBHOOK_SECRET»"
    )
    assert log.read_text(encoding="utf-8").startswith("line 1\n")
    assert by_path[image].fixed is False
    assert image.read_bytes() == image_bytes  # a binary file is never patched
    assert clean.read_text(encoding="utf-8") == '{"nothing": "to see"}'


def test_scrub_tree_names_every_secret_found_in_a_file(
    report_tree: Path, redactor: Redactor, canary: Any
) -> None:
    a, b = canary("a"), canary("b")
    redactor.register_all([Secret("B_TOKEN", b), Secret("A_TOKEN", a)])
    path = report_tree / "summary.json"
    path.write_text(f'["{b}", "{a}"]', encoding="utf-8")

    (leak,) = scrub_tree(report_tree, redactor)

    assert leak.secret_names == ("A_TOKEN", "B_TOKEN")
    assert json.loads(path.read_text(encoding="utf-8")) == [
        "«redacted:B_TOKEN»",
        "«redacted:A_TOKEN»",
    ]


def test_scrub_tree_redacts_a_url_encoded_secret_in_a_text_file(
    report_tree: Path, redactor: Redactor
) -> None:
    value = CANARY_SHAPES["base64"].format(suffix="0123456789")
    redactor.register(Secret("N8N_API_KEY", value))
    path = report_tree / "exchanges" / "n8n.json"
    path.write_text(
        json.dumps({"url": "https://n8n/api?key=" + urllib.parse.quote(value, safe="")}),
        encoding="utf-8",
    )

    leaks = scrub_tree(report_tree, redactor)

    assert_no_canary(path.read_text(encoding="utf-8"), value)
    assert [leak.path for leak in leaks] == [path]


def test_scrub_tree_with_no_known_secret_does_nothing(report_tree: Path) -> None:
    path = report_tree / "junit.xml"
    path.write_text("<ok/>", encoding="utf-8")

    assert scrub_tree(report_tree, Redactor()) == []
    assert path.read_text(encoding="utf-8") == "<ok/>"


def test_scrub_tree_of_a_missing_folder_reports_nothing(tmp_path: Path, canary: Any) -> None:
    redactor = Redactor()
    redactor.register(Secret("X_TOKEN", canary()))

    assert scrub_tree(tmp_path / "absent", redactor) == []
