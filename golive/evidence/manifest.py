"""The fingerprint of an evidence folder: ``MANIFEST.sha256`` and ``bundle.zip``.

The manifest is in ``sha256sum`` format (``sha256sum -c MANIFEST.sha256`` checks the folder);
the zip holds every file of the manifest plus the manifest, so a bundle verifies on its own.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

from golive.errors import EvidenceError

MANIFEST_NAME = "MANIFEST.sha256"
BUNDLE_NAME = "bundle.zip"
SIGNATURE_NAME = "MANIFEST.sha256.sig"  # golive.evidence.signing: signs the manifest, so not in it
_NOT_IN_MANIFEST = frozenset({MANIFEST_NAME, BUNDLE_NAME, SIGNATURE_NAME})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_files(root: Path) -> list[Path]:
    """Every file under root except the manifest and the zip, sorted by relative path."""
    return sorted(
        (
            p
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).as_posix() not in _NOT_IN_MANIFEST
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def write_manifest(root: Path) -> Path:
    """``MANIFEST.sha256`` in ``sha256sum`` format: ``<hex>  <relative path>`` per file."""
    lines = [f"{sha256_file(p)}  {p.relative_to(root).as_posix()}" for p in _bundle_files(root)]
    manifest = root / MANIFEST_NAME
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def parse_manifest(text: str) -> dict[str, str]:
    """relative path -> sha256; raises EvidenceError on a malformed line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if match is None:
            raise EvidenceError(f"{MANIFEST_NAME}:{number}: not '<sha256>  <path>'")
        entries[match.group(2)] = match.group(1)
    return entries


def _compare(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    problems = [f"changed: {p}" for p in sorted(expected) if p in actual and actual[p] != expected[p]]
    problems += [f"missing: {p}" for p in sorted(expected) if p not in actual]
    problems += [f"not in the manifest: {p}" for p in sorted(actual) if p not in expected]
    return problems


def verify_manifest(root: Path) -> list[str]:
    """Problems of the folder against its MANIFEST.sha256 (``[]`` = every file verifies)."""
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return [f"missing: {MANIFEST_NAME}"]
    expected = parse_manifest(manifest.read_text(encoding="utf-8"))
    actual = {p.relative_to(root).as_posix(): sha256_file(p) for p in _bundle_files(root)}
    return _compare(expected, actual)


def verify_bundle(bundle: Path) -> list[str]:
    """Problems of a bundle.zip against the MANIFEST.sha256 it contains."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if MANIFEST_NAME not in names:
                return [f"missing: {MANIFEST_NAME}"]
            expected = parse_manifest(zf.read(MANIFEST_NAME).decode("utf-8"))
            actual = {
                n: hashlib.sha256(zf.read(n)).hexdigest()
                for n in names
                if n not in (MANIFEST_NAME, SIGNATURE_NAME)
            }
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"unreadable: {bundle.name} ({exc})"]
    return _compare(expected, actual)


def write_bundle(root: Path) -> Path:
    """``bundle.zip``: every file of the manifest plus the manifest, paths relative to root."""
    bundle = root / BUNDLE_NAME
    partial = root / f".{BUNDLE_NAME}.partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in _bundle_files(root):
            if path == partial:
                continue
            zf.write(path, path.relative_to(root).as_posix())
        zf.write(root / MANIFEST_NAME, MANIFEST_NAME)
        if (root / SIGNATURE_NAME).is_file():
            zf.write(root / SIGNATURE_NAME, SIGNATURE_NAME)
    partial.replace(bundle)
    return bundle
