"""`golive verify bundle.zip`: is this the bundle that was signed, by the key it should be?

Offline, from the zip alone: every member against MANIFEST.sha256 (a changed, missing or extra
file is a problem), the Ed25519 signature over the manifest (golive.evidence.signing), the
dossier's signer against the signing key, and — given a trusted public key — the signing key
against it. An unsigned bundle does not verify: its manifest proves nothing about who made it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from golive.evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, verify_bundle
from golive.evidence.signing import SignatureError, fingerprint, verify

DOSSIER_NAME = "dossier.json"


@dataclass
class BundleCheck:
    bundle: Path
    problems: list[str] = field(default_factory=list)
    signer: str | None = None  # who the dossier says signed (from the key)
    fingerprint: str | None = None  # the key that signed
    verdict: str | None = None  # the dossier's GO / NO-GO
    organisation: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            return [
                f"{self.bundle}: verified — {self.verdict or '?'} for {self.organisation or '?'}, signed by "
                f"{self.signer} with Ed25519 key {self.fingerprint}; every file matches MANIFEST.sha256"
            ]
        return [f"{self.bundle}: does NOT verify: {problem}" for problem in self.problems]


def _read(bundle: Path, name: str) -> bytes | None:
    try:
        with zipfile.ZipFile(bundle) as zf:
            return zf.read(name) if name in zf.namelist() else None
    except (OSError, zipfile.BadZipFile):
        return None


def bundle_signature_problems(bundle: Path, trusted: Ed25519PublicKey | None = None) -> list[str]:
    return check_bundle(bundle, trusted).problems


def check_bundle(bundle: Path, trusted: Ed25519PublicKey | None = None) -> BundleCheck:
    check = BundleCheck(bundle)
    if not bundle.is_file():
        check.problems.append("no such file")
        return check
    check.problems += verify_bundle(bundle)
    dossier = _dossier(bundle)
    raw_signed_off = dossier.get("signed_off")
    signed_off: dict[str, object] = raw_signed_off if isinstance(raw_signed_off, dict) else {}
    check.verdict = str(dossier.get("verdict") or "") or None
    check.organisation = str(dossier.get("organisation") or "") or None
    manifest, armored = _read(bundle, MANIFEST_NAME), _read(bundle, SIGNATURE_NAME)
    if armored is None:
        check.problems.append(
            f"not signed (no {SIGNATURE_NAME}; build it with golive evidence --sign-key KEY)"
        )
        return check
    if manifest is None:
        return check  # verify_bundle already said the manifest is missing
    try:
        verified = verify(manifest, armored.decode("utf-8", errors="replace"))
    except SignatureError as exc:
        check.problems.append(str(exc))
        return check
    check.fingerprint = verified.fingerprint
    check.signer = str(signed_off.get("by") or verified.fingerprint)
    named = signed_off.get("key")
    if named != verified.fingerprint:
        check.problems.append(
            f"the dossier names the signing key {named or '(none)'} but the bundle was signed with "
            f"{verified.fingerprint}"
        )
    if trusted is not None and fingerprint(trusted) != verified.fingerprint:
        check.problems.append(
            f"signed with key {verified.fingerprint}, not with the trusted key {fingerprint(trusted)}"
        )
    return check


def _dossier(bundle: Path) -> dict[str, object]:
    raw = _read(bundle, DOSSIER_NAME)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
