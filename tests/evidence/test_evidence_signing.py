"""The tamper-evident sign-off: an Ed25519 signature over the manifest, the signer taken from the
key, and `golive verify` rejecting a modified file, a wrong key and an unsigned bundle."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from evidence_fakes import EXAMPLE_ATTESTATIONS, NOW, ORG, FakeRun

from golive.evidence.build import build_evidence
from golive.evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME
from golive.evidence.signing import (
    NAMESPACE,
    SignatureError,
    fingerprint,
    load_public_key,
    load_signer,
    sign,
    verify,
)
from golive.evidence.verify import check_bundle

ROOT = Path(__file__).resolve().parents[2]
GOLIVE = [sys.executable, "-c", "from golive.commands.cli import main; main()"]


def write_key(folder: Path, name: str, comment: str, *, passphrase: bytes | None = None) -> Path:
    """An Ed25519 private key and the `.pub` beside it: OpenSSH with its comment, or (with a
    passphrase) encrypted PKCS#8 PEM, whose identity only the `.pub` holds."""
    key = Ed25519PrivateKey.generate()
    if passphrase:
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
    else:  # cryptography writes no comment: put it where OpenSSH does
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        private = _with_comment(private, comment)
    path = folder / name
    path.write_bytes(private)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.with_name(name + ".pub").write_text(f"{public.decode()} {comment}\n", encoding="utf-8")
    return path


def _with_comment(private: bytes, comment: str) -> bytes:
    if shutil.which("ssh-keygen") is None:
        return private
    tmp = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip())
    key = tmp / "k"
    key.write_bytes(private)
    key.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-c", "-C", comment, "-f", str(key)], check=True, capture_output=True)
    data = key.read_bytes()
    shutil.rmtree(tmp)
    return data


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    write_key(folder, "ana", "Ana Souza <ana@lagosta.example>")
    write_key(folder, "mallory", "Mallory <m@example.com>")
    return folder


def signed_bundle(run: FakeRun, tmp_path: Path, key: Path) -> Path:
    result = build_evidence(
        run.root,
        ORG,
        signed_off_by=None,
        attest_file=EXAMPLE_ATTESTATIONS,
        secrets={},
        allure_cli=None,
        history_dir=tmp_path / "history",
        now=NOW,
        signer=load_signer(key),
    )
    return result.bundle


def golive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOLIVE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def rewrite(bundle: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    """A copy of the bundle with one member changed (or left out when `change` returns b"")."""
    out = bundle.with_name(f"{bundle.stem}+{name}.zip")
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == name:
                data = change(data)
                if not data:
                    continue
            dst.writestr(item, data)
    return out


# --- keys and signatures -------------------------------------------------------------------------


def test_the_signer_is_the_keys_identity(keys: Path) -> None:
    signer = load_signer(keys / "ana")

    assert signer.identity == "Ana Souza <ana@lagosta.example>"
    assert signer.fingerprint == fingerprint(load_public_key(keys / "ana.pub"))
    assert signer.fingerprint.startswith("SHA256:")


def test_an_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    key = write_key(tmp_path, "locked", "Ana Souza <ana@lagosta.example>", passphrase=b"correct horse")

    with pytest.raises(SignatureError, match="GOLIVE_SIGN_KEY_PASSPHRASE"):
        load_signer(key, passphrase="")
    signer = load_signer(key, passphrase="correct horse")
    assert signer.identity == "Ana Souza <ana@lagosta.example>"  # from the .pub beside it


def test_a_key_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(
        rsa.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    with pytest.raises(SignatureError, match="not Ed25519"):
        load_signer(path)


def test_a_signature_verifies_only_its_own_message(keys: Path) -> None:
    signer = load_signer(keys / "ana")
    armored = sign(b"abc  dossier.json\n", signer)

    assert verify(b"abc  dossier.json\n", armored).fingerprint == signer.fingerprint
    with pytest.raises(SignatureError, match="modified"):
        verify(b"abd  dossier.json\n", armored)


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="OpenSSH's ssh-keygen is not installed")
def test_openssh_verifies_golives_signature_and_golive_verifies_opensshs(keys: Path, tmp_path: Path) -> None:
    signer = load_signer(keys / "ana")
    message = tmp_path / "MANIFEST.sha256"
    message.write_bytes(b"0" * 64 + b"  dossier.json\n")
    (tmp_path / "golive.sig").write_text(sign(message.read_bytes(), signer), encoding="utf-8")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"ana@lagosta {signer.public_line.rsplit(' ', 3)[0]}\n", encoding="utf-8")
    ssh_verify = [
        "ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "ana@lagosta", "-n", NAMESPACE,
    ]  # fmt: skip

    with message.open("rb") as stdin:
        ours = subprocess.run(
            [*ssh_verify, "-s", str(tmp_path / "golive.sig")], stdin=stdin, capture_output=True
        )
    assert ours.returncode == 0, ours.stderr

    (keys / "ana").chmod(0o600)
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(keys / "ana"), "-n", NAMESPACE, str(message)],
        check=True,
        capture_output=True,
    )
    theirs = (tmp_path / "MANIFEST.sha256.sig").read_text(encoding="utf-8")
    assert verify(message.read_bytes(), theirs).fingerprint == signer.fingerprint


# --- bundles ---------------------------------------------------------------------------------------


def test_a_signed_bundle_verifies_and_names_its_signer(
    fake_run: Callable[..., FakeRun], tmp_path: Path, keys: Path
) -> None:
    bundle = signed_bundle(fake_run(), tmp_path, keys / "ana")

    check = check_bundle(bundle, load_public_key(keys / "ana.pub"))

    assert check.ok, check.problems
    assert check.signer == "Ana Souza <ana@lagosta.example>" and check.verdict == "GO"
    with zipfile.ZipFile(bundle) as zf:
        assert {MANIFEST_NAME, SIGNATURE_NAME} <= set(zf.namelist())
        dossier = zf.read("dossier.md").decode()
    assert f"Ana Souza <ana@lagosta.example> (Ed25519 key {check.fingerprint})" in dossier


def test_verify_rejects_a_tampered_file(fake_run: Callable[..., FakeRun], tmp_path: Path, keys: Path) -> None:
    bundle = signed_bundle(fake_run(), tmp_path, keys / "ana")
    tampered = rewrite(bundle, "dossier.json", lambda data: data.replace(b'"GO"', b'"NO-GO"', 1))

    check = check_bundle(tampered)

    assert not check.ok and "changed: dossier.json" in check.problems


def test_verify_rejects_a_manifest_rewritten_to_match(
    fake_run: Callable[..., FakeRun], tmp_path: Path, keys: Path
) -> None:
    """Changing a file and its manifest line is caught by the signature over the manifest."""
    bundle = signed_bundle(fake_run(), tmp_path, keys / "ana")
    with zipfile.ZipFile(bundle) as zf:
        old = zf.read("summary.json")
    new = old.replace(b'"passed"', b'"failed"', 1)
    first = rewrite(bundle, "summary.json", lambda _: new)
    second = rewrite(
        first,
        MANIFEST_NAME,
        lambda data: data.replace(
            hashlib.sha256(old).hexdigest().encode(), hashlib.sha256(new).hexdigest().encode()
        ),
    )

    check = check_bundle(second)

    assert not check.ok and any("signature does not match" in p for p in check.problems)


def test_verify_rejects_a_wrong_key(fake_run: Callable[..., FakeRun], tmp_path: Path, keys: Path) -> None:
    bundle = signed_bundle(fake_run(), tmp_path, keys / "mallory")

    check = check_bundle(bundle, load_public_key(keys / "ana.pub"))

    assert not check.ok
    assert any("not with the trusted key" in p for p in check.problems)


def test_verify_rejects_an_unsigned_bundle(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    run = fake_run()
    result = build_evidence(
        run.root,
        ORG,
        signed_off_by="Ana Souza",
        attest_file=EXAMPLE_ATTESTATIONS,
        secrets={},
        allure_cli=None,
        history_dir=tmp_path / "history",
        now=NOW,
    )

    check = check_bundle(result.bundle)

    assert not check.ok and any(p.startswith("not signed") for p in check.problems)


def test_the_verify_command_exit_codes(fake_run: Callable[..., FakeRun], tmp_path: Path, keys: Path) -> None:
    bundle = signed_bundle(fake_run(), tmp_path, keys / "ana")
    tampered = rewrite(bundle, "run.log", lambda data: data + b"one more line\n")

    good = golive("verify", str(bundle), "--key", str(keys / "ana.pub"))
    wrong_key = golive("verify", str(bundle), "--key", str(keys / "mallory.pub"))
    modified = golive("verify", str(tampered))

    assert good.returncode == 0 and "verified — GO" in good.stdout, good.stderr
    assert wrong_key.returncode == 1 and "not with the trusted key" in wrong_key.stderr
    assert modified.returncode == 1 and "changed: run.log" in modified.stderr
    assert "Traceback" not in good.stderr + wrong_key.stderr + modified.stderr
