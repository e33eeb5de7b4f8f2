"""MANIFEST.sha256 and bundle.zip: written, verified, and tampering detected."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

from golive.evidence.manifest import (
    BUNDLE_NAME,
    MANIFEST_NAME,
    parse_manifest,
    verify_bundle,
    verify_manifest,
    write_bundle,
    write_manifest,
)


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
