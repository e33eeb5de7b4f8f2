"""The leak scan: a planted canary is found in every file, zip member and form it can take."""

from __future__ import annotations

import base64
import json
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from evidence_fakes import CANARY, CANARY_NAME

from golive.evidence.leak_scan import leak_scan, secret_values
from golive.evidence.manifest import BUNDLE_NAME, write_bundle, write_manifest
from golive.evidence.scrub import scrub_tree
from golive.secrets import Redactor, Secret
from tests.secret_encodings import ENCODINGS, SHAPES, planted_text

SECRETS = {CANARY: CANARY_NAME, "other-secret-value-42": "OTHER_TOKEN"}


def scan(root: Path) -> list[tuple[str, str]]:
    return leak_scan(sorted(p for p in root.rglob("*") if p.is_file()), SECRETS, root=root)


def test_a_clean_folder_has_no_hit(folder: Path) -> None:
    write_manifest(folder)
    write_bundle(folder)

    assert scan(folder) == []


def test_a_canary_in_a_text_file(folder: Path) -> None:
    (folder / "run.log").write_text(f"GET /x?api_key={CANARY} 200\n", encoding="utf-8")

    assert scan(folder) == [("run.log", CANARY_NAME)]


def test_a_canary_in_a_binary_file(folder: Path) -> None:
    (folder / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff" + CANARY.encode() + b"\x00")

    assert scan(folder) == [("shot.png", CANARY_NAME)]


def test_a_canary_inside_a_zip_member(folder: Path) -> None:
    inner = folder / "attachments.zip"
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deep/trace.txt", ("padding " * 200 + CANARY) * 3)
    assert CANARY.encode() not in inner.read_bytes()  # compressed: only the member scan sees it

    assert scan(folder) == [("attachments.zip:deep/trace.txt", CANARY_NAME)]


def test_the_bundle_members_are_scanned(folder: Path) -> None:
    (folder / "run.log").write_text("Authorization: Bearer " + CANARY * 4, encoding="utf-8")
    write_manifest(folder)
    write_bundle(folder)

    assert scan(folder) == [(f"{BUNDLE_NAME}:run.log", CANARY_NAME), ("run.log", CANARY_NAME)]


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc", b'{"k": "'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["standard", "urlsafe"])
def test_a_base64_encoded_canary_at_any_offset(folder: Path, prefix: bytes, encode: object) -> None:
    assert callable(encode)
    encoded: bytes = encode(prefix + CANARY.encode() + b'","more":1}')
    (folder / "attachment.json").write_bytes(b'{"body": "' + encoded + b'"}')

    assert scan(folder) == [("attachment.json", CANARY_NAME)]


def test_basic_auth_header_is_found(folder: Path) -> None:
    header = base64.b64encode(f"robot:{CANARY}".encode()).decode()
    (folder / "exchanges.json").write_text(json.dumps({"Authorization": f"Basic {header}"}), encoding="utf-8")

    assert scan(folder) == [
        ("exchanges.json", CANARY_NAME),
        ("exchanges.json", "unredacted field Authorization"),  # found by name as well
    ]


def test_a_url_encoded_canary(folder: Path) -> None:
    value = "p@ss/w0rd+with space&more"
    (folder / "url.txt").write_text("dsn=" + urllib.parse.quote(value, safe=""), encoding="utf-8")
    (folder / "form.txt").write_text("x=" + urllib.parse.quote_plus(value), encoding="utf-8")

    hits = leak_scan(sorted(folder.glob("*.txt")), {value: "DB_PASSWORD"}, root=folder)

    assert hits == [("form.txt", "DB_PASSWORD"), ("url.txt", "DB_PASSWORD")]


def test_a_canary_in_a_file_embedded_in_an_allure_single_file_report(folder: Path) -> None:
    payload = base64.b64encode(json.dumps({"headers": {"X-Api-Key": CANARY}}).encode()).decode()
    (folder / "report").mkdir()
    (folder / "report" / "index.html").write_text(
        f'<script>d("data/attachments/abc.json","{payload}")</script>', encoding="utf-8"
    )

    hits = scan(folder)

    assert ("report/index.html:data/attachments/abc.json", CANARY_NAME) in hits
    assert ("report/index.html", CANARY_NAME) in hits


def test_hits_name_the_secret_never_its_value(folder: Path) -> None:
    (folder / "run.log").write_text(CANARY + " other-secret-value-42", encoding="utf-8")

    hits = scan(folder)

    assert hits == [("run.log", "OTHER_TOKEN"), ("run.log", CANARY_NAME)]
    assert CANARY not in repr(hits)


def test_short_values_are_not_scanned_for(folder: Path) -> None:
    (folder / "run.log").write_text("abc passed", encoding="utf-8")

    assert leak_scan([folder / "run.log"], {"abc": "SHORT"}) == []


def test_secret_values_maps_loaded_secrets() -> None:
    assert secret_values([Secret("A_KEY", CANARY), Secret("EMPTY", "")]) == {CANARY: "A_KEY"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_whatever_form_the_leak_scan_finds_redaction_removes(folder: Path, shape: str, encoding: str) -> None:
    value = SHAPES[shape].format(suffix="Zq8vT3xK9p")
    log = folder / "run.log"
    log.write_text(planted_text(value, encoding), encoding="utf-8")
    secrets = {value: "DB_PASSWORD"}
    assert leak_scan([log], secrets, root=folder) == [("run.log", "DB_PASSWORD")]
    redactor = Redactor()
    redactor.register(Secret("DB_PASSWORD", value))

    leaks = scrub_tree(folder, redactor)

    assert [(leak.path, leak.fixed) for leak in leaks] == [(log, True)]
    assert leak_scan([log], secrets, root=folder) == []
    assert "«redacted:DB_PASSWORD»" in log.read_text(encoding="utf-8")


# --- by name: a secret nobody registered -------------------------------------------------------


def test_an_unregistered_secret_in_a_json_field_is_found_by_its_name(folder: Path) -> None:
    hooks = {"payload": {"webhooks": [{"id": 2, "url": "https://n8n/x", "secret": "never-registered-123"}]}}
    (folder / "attachment.json").write_text(json.dumps(hooks), encoding="utf-8")

    assert scan(folder) == [("attachment.json", "unredacted field payload.webhooks[0].secret")]


def test_a_redacted_field_is_not_a_leak(folder: Path) -> None:
    exchange = {
        "headers": {
            "x-api-key": "«redacted:SANDBOX_PILOT_CRM_API_KEY»",
            "x-chatwoot-signature": "sha256=«redacted:x»",
        },
        "body": {"secretConfigured": True, "api_key_prefix": "ncrm_1234567", "token_type": "bearer"},
    }
    (folder / "attachment.json").write_text(json.dumps(exchange), encoding="utf-8")

    assert scan(folder) == []


def test_a_field_leak_inside_the_zip_is_found_too(folder: Path) -> None:
    (folder / "attachment.json").write_text('{"hmac_token": "never-registered-456"}', encoding="utf-8")
    write_manifest(folder)
    write_bundle(folder)

    assert ("bundle.zip:attachment.json", "unredacted field hmac_token") in scan(folder)
