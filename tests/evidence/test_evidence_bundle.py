"""MANIFEST.sha256, bundle.zip verification and the leak scan."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from evidence_fakes import CANARY, CANARY_NAME

from golive.evidence.bundle import (
    BUNDLE_NAME,
    MANIFEST_NAME,
    leak_scan,
    parse_manifest,
    secret_values,
    verify_bundle,
    verify_manifest,
    write_bundle,
    write_manifest,
)
from golive.secrets import Secret

SECRETS = {CANARY: CANARY_NAME, "other-secret-value-42": "OTHER_TOKEN"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "evidence" / "org"
    (root / "sql").mkdir(parents=True)
    (root / "dossier.md").write_text("# dossier\n", encoding="utf-8")
    (root / "sql" / "1_conversation_links.json").write_text("[]\n", encoding="utf-8")
    (root / "blob.bin").write_bytes(bytes(range(256)))
    return root


# --------------------------------------------------------------------------- manifest


def test_the_manifest_lists_every_file_in_sha256sum_format(folder: Path) -> None:
    manifest = write_manifest(folder)

    entries = parse_manifest(manifest.read_text(encoding="utf-8"))
    assert sorted(entries) == ["blob.bin", "dossier.md", "sql/1_conversation_links.json"]
    assert entries["blob.bin"] == hashlib.sha256(bytes(range(256))).hexdigest()
    assert verify_manifest(folder) == []
    check = subprocess.run(
        ["sha256sum", "--check", "--quiet", MANIFEST_NAME],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_manifest_detects_a_changed_a_missing_and_an_extra_file(folder: Path) -> None:
    write_manifest(folder)
    (folder / "dossier.md").write_text("# dossier, edited after the fact\n", encoding="utf-8")
    (folder / "blob.bin").unlink()
    (folder / "smuggled.txt").write_text("x", encoding="utf-8")

    assert verify_manifest(folder) == [
        "changed: dossier.md",
        "missing: blob.bin",
        "not in the manifest: smuggled.txt",
    ]


def test_a_folder_without_manifest_does_not_verify(folder: Path) -> None:
    assert verify_manifest(folder) == [f"missing: {MANIFEST_NAME}"]


def test_the_bundle_holds_every_file_and_verifies(folder: Path) -> None:
    write_manifest(folder)
    bundle = write_bundle(folder)

    with zipfile.ZipFile(bundle) as zf:
        assert sorted(zf.namelist()) == [
            MANIFEST_NAME,
            "blob.bin",
            "dossier.md",
            "sql/1_conversation_links.json",
        ]
    assert verify_bundle(bundle) == []
    assert verify_manifest(folder) == []  # the zip itself is not part of the manifest


def test_a_tampered_bundle_does_not_verify(folder: Path, tmp_path: Path) -> None:
    write_manifest(folder)
    bundle = write_bundle(folder)
    tampered = tmp_path / BUNDLE_NAME
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, b"# verdict: GO\n" if name == "dossier.md" else data)

    assert verify_bundle(tampered) == ["changed: dossier.md"]


# --------------------------------------------------------------------------- leak scan


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

    assert scan(folder) == [("exchanges.json", CANARY_NAME)]


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
