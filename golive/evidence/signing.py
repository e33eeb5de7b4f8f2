"""The sign-off: an Ed25519 signature over an evidence folder's MANIFEST.sha256.

The manifest holds the sha256 of every file of the bundle (the dossier included), so one
signature over it covers everything. The signature is written as an SSH signature
(``MANIFEST.sha256.sig``, PROTOCOL.sshsig, namespace ``golive-evidence``): golive verifies it,
and so can anyone with OpenSSH alone::

    echo "ana@lagosta ssh-ed25519 AAAA…" > allowed_signers
    ssh-keygen -Y verify -f allowed_signers -I ana@lagosta -n golive-evidence \\
        -s MANIFEST.sha256.sig < MANIFEST.sha256

Who signed comes from the key, never from free text: the OpenSSH key's comment (``ssh-keygen
-C "Ana Souza <ana@lagosta>"``), else its fingerprint; the fingerprint (``SHA256:…``, as
``ssh-keygen -l`` prints it) is recorded either way.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from golive.errors import EvidenceError

NAMESPACE = "golive-evidence"
PASSPHRASE_ENV = "GOLIVE_SIGN_KEY_PASSPHRASE"
_MAGIC = b"SSHSIG"
_KEY_TYPE = b"ssh-ed25519"
_HASH = "sha512"
_ARMOR = ("-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----")


class SignatureError(EvidenceError):
    """A key cannot sign, or a signature does not verify."""


# --- the SSH wire format ------------------------------------------------------------------------


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise SignatureError("the signature is truncated")
    (length,) = struct.unpack(">I", data[offset : offset + 4])
    end = offset + 4 + length
    if end > len(data):
        raise SignatureError("the signature is truncated")
    return data[offset + 4 : end], end


def _public_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(_KEY_TYPE) + _string(raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """`SHA256:…`, as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(_public_blob(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def openssh_public_line(key: Ed25519PublicKey, comment: str = "") -> str:
    blob = base64.b64encode(_public_blob(key)).decode()
    return f"ssh-ed25519 {blob}" + (f" {comment}" if comment else "")


def _signed_data(message: bytes) -> bytes:
    digest = hashlib.sha512(message).digest()
    return _MAGIC + _string(NAMESPACE.encode()) + _string(b"") + _string(_HASH.encode()) + _string(digest)


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey
    identity: str  # the key's comment, else its fingerprint
    fingerprint: str

    @property
    def public_line(self) -> str:
        return openssh_public_line(self.key.public_key(), self.identity)


def _openssh_comment(text: str) -> str:
    """The comment of an unencrypted OpenSSH private key (openssh-key-v1), '' if unreadable."""
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        data = base64.b64decode(body)
    except ValueError:
        return ""
    prefix = b"openssh-key-v1\0"
    if not data.startswith(prefix):
        return ""
    try:
        cipher, offset = _read_string(data, len(prefix))
        if cipher != b"none":
            return ""
        _, offset = _read_string(data, offset)  # kdf name
        _, offset = _read_string(data, offset)  # kdf options
        offset += 4  # number of keys (one)
        _, offset = _read_string(data, offset)  # public key
        private, _ = _read_string(data, offset)
        cursor = 8  # two check integers
        _, cursor = _read_string(private, cursor)  # key type
        _, cursor = _read_string(private, cursor)  # public part
        _, cursor = _read_string(private, cursor)  # private part
        comment, _ = _read_string(private, cursor)
    except SignatureError:
        return ""
    return comment.decode("utf-8", errors="replace").strip()


def _pub_comment(path: Path) -> str:
    """The comment of the `<key>.pub` beside an (encrypted) private key, '' if none."""
    pub = path.with_name(path.name + ".pub")
    try:
        parts = pub.read_text(encoding="utf-8").split(maxsplit=2)
    except OSError:
        return ""
    return parts[2].strip() if len(parts) == 3 else ""


def load_signer(path: Path, passphrase: str | None = None) -> Signer:
    """The Ed25519 private key in `path` (OpenSSH or PEM/PKCS#8; an encrypted one needs its
    passphrase, default from the env var GOLIVE_SIGN_KEY_PASSPHRASE)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read the signing key {path} ({exc.strerror})") from None
    secret = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
    password = secret.encode() if secret else None
    key: object
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password)
        else:
            key = serialization.load_pem_private_key(data, password)
    except TypeError:
        raise SignatureError(
            f"the signing key {path} is encrypted: set {PASSPHRASE_ENV} to its passphrase"
        ) from None
    except UnsupportedAlgorithm:
        raise SignatureError(
            f"the signing key {path} is an encrypted OpenSSH key, which needs the bcrypt package; "
            "install it, or export the key as PEM (ssh-keygen -p -m PKCS8 -f KEY)"
        ) from None
    except ValueError as exc:
        raise SignatureError(f"{path} is not a readable private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(
            f"the key in {path} is {type(key).__name__.removesuffix('PrivateKey') or 'not Ed25519'}, "
            "not Ed25519: create one with ssh-keygen -t ed25519 -C 'Your Name <you@example.com>'"
        )
    key_print = fingerprint(key.public_key())
    comment = _openssh_comment(data.decode("utf-8", errors="replace")) or _pub_comment(path)
    return Signer(key, comment or key_print, key_print)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A trusted public key: an OpenSSH `.pub` line, an allowed_signers line, or PEM."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SignatureError(f"cannot read the public key {path} ({exc.strerror})") from None
    key: object
    for line in text.splitlines():
        words = line.split()
        if "ssh-ed25519" in words:
            index = words.index("ssh-ed25519")
            if index + 1 < len(words):
                key = serialization.load_ssh_public_key(f"ssh-ed25519 {words[index + 1]}".encode())
                if isinstance(key, Ed25519PublicKey):
                    return key
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError:
        raise SignatureError(f"{path} holds no Ed25519 public key (ssh-ed25519 … or PEM)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


# --- sign and verify ----------------------------------------------------------------------------


def sign(message: bytes, signer: Signer) -> str:
    """The armored SSH signature of `message`."""
    raw = signer.key.sign(_signed_data(message))
    blob = (
        _MAGIC
        + struct.pack(">I", 1)
        + _string(_public_blob(signer.key.public_key()))
        + _string(NAMESPACE.encode())
        + _string(b"")
        + _string(_HASH.encode())
        + _string(_string(_KEY_TYPE) + _string(raw))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return "\n".join([_ARMOR[0], *lines, _ARMOR[1]]) + "\n"


@dataclass(frozen=True)
class Verified:
    public_key: Ed25519PublicKey
    fingerprint: str


def verify(message: bytes, armored: str) -> Verified:
    """Check an armored SSH signature of `message` with the key it names; the key."""
    body = "".join(
        line.strip() for line in armored.strip().splitlines() if line.strip() and line.strip() not in _ARMOR
    )
    try:
        blob = base64.b64decode(body, validate=True)
    except ValueError:
        raise SignatureError("the signature is not base64 between SSH SIGNATURE markers") from None
    if not blob.startswith(_MAGIC) or len(blob) < 10 or struct.unpack(">I", blob[6:10])[0] != 1:
        raise SignatureError("not an SSH signature (version 1)")
    public, offset = _read_string(blob, 10)
    namespace, offset = _read_string(blob, offset)
    _, offset = _read_string(blob, offset)  # reserved
    hash_name, offset = _read_string(blob, offset)
    signature, _ = _read_string(blob, offset)
    if namespace != NAMESPACE.encode():
        raise SignatureError(f"signed for {namespace.decode(errors='replace')!r}, not {NAMESPACE!r}")
    if hash_name != _HASH.encode():
        raise SignatureError(f"hash {hash_name.decode(errors='replace')!r} is not {_HASH}")
    key_type, cursor = _read_string(public, 0)
    raw_key, _ = _read_string(public, cursor)
    sig_type, cursor = _read_string(signature, 0)
    raw_sig, _ = _read_string(signature, cursor)
    if key_type != _KEY_TYPE or sig_type != _KEY_TYPE:
        raise SignatureError("the signature is not Ed25519")
    try:
        key = Ed25519PublicKey.from_public_bytes(raw_key)
        key.verify(raw_sig, _signed_data(message))
    except (InvalidSignature, ValueError):
        raise SignatureError("the signature does not match the manifest: the bundle was modified") from None
    return Verified(key, fingerprint(key))
