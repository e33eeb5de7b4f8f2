"""Secrets: a value type that never prints itself, and redaction by value and by name.

Every secret loaded from the environment is registered with the process-wide
`REDACTOR`; anything golive writes as evidence goes through `REDACTOR.redact`.
Redacting by value catches a token wherever it ends up: a header, a URL, an error
message, a response body echoing it back.

Redacting by name catches the secrets golive never loaded: a field called `secret`,
`token`, `password`, `api_key`, `hmac_token`, `authorization`, `dsn`… in a JSON body, a
header or a query string (e.g. the signing secrets in Chatwoot's webhook list), and the
password of a URL with credentials. Each such value is replaced where it stands and
*discovered*: registered with the redactor, so that it is redacted by value from then on
(an echo elsewhere, a failure message) and joins the evidence leak scan.

`secret_forms` is the one list of the ways a value can be written down; the redactor
removes every one of them and the evidence leak scan looks for every one of them, so
whatever the scan can find, redaction removes.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, AnyStr, Generic

MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words; refuse them as secrets

_URL_SAFE_ALPHABET = str.maketrans("+/", "-_")


@dataclass(frozen=True)
class Secret:
    """A secret value with the name of the env var it came from. `repr`/`str` never show it."""

    name: str
    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Secret({self.name}=«redacted»)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


def _base64_fragments(value: str) -> set[str]:
    """Base64 text present whenever `value` is base64-encoded, whatever bytes precede it.

    The encoding of a value depends on its offset modulo 3 in the encoded data (e.g. after
    "robot:" in a Basic auth header), so each of the 3 alignments gives its own fragment:
    the characters made only of the value's own bits, in the standard and URL-safe alphabets.
    """
    raw = value.encode("utf-8")
    fragments: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = -(-8 * shift // 6)  # first character made of the value's bits only
        end = 8 * (shift + len(raw)) // 6  # last character not touching the padding
        fragment = encoded[start:end]
        fragments |= {fragment, fragment.translate(_URL_SAFE_ALPHABET)}
    return {f for f in fragments if len(f) >= MIN_SECRET_LENGTH}


def secret_forms(value: str) -> frozenset[str]:
    """Every form `value` takes in evidence: as written; URL-encoded (%20, or + in queries and
    forms; "/" encoded or kept as in a path; upper- or lower-case hex); JSON-escaped (ASCII or
    not); HTML-escaped; base64-encoded at any of the 3 alignments (standard and URL-safe)."""
    url_encoded = {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value, safe="/"),
        urllib.parse.quote_plus(value, safe=""),
    }
    forms = {
        value,
        *url_encoded,
        *(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), u) for u in url_encoded),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value, quote=True),
        *_base64_fragments(value),
    }
    return frozenset(f for f in forms if f)


class Needles(Generic[AnyStr]):
    """Which of many strings occur in a text, in time that grows with the text, not with how
    many strings there are: a run with 50 organisations knows hundreds of secret forms, and
    searching each one in every exchange and every evidence file grew with their number.

    Every string at least `SPAN` long is indexed by each of its `GRAM`-long pieces; the text is
    looked up only every `SPAN - GRAM + 1` characters, which is enough: an occurrence of such a
    string covers one of those positions with a whole piece. A hit is then checked in full.
    Shorter strings (rare: secrets are long) are searched one by one."""

    GRAM = 8
    SPAN = 24

    def __init__(self, needles: Iterable[AnyStr]) -> None:
        self.short: list[AnyStr] = []
        self.pieces: dict[AnyStr, list[tuple[int, AnyStr]]] = {}
        for needle in set(needles):
            if len(needle) < self.SPAN:
                self.short.append(needle)
                continue
            for offset in range(len(needle) - self.GRAM + 1):
                self.pieces.setdefault(needle[offset : offset + self.GRAM], []).append((offset, needle))

    def present(self, text: AnyStr) -> set[AnyStr]:
        found = {needle for needle in self.short if needle in text}
        if not self.pieces:
            return found
        gram, pieces = self.GRAM, self.pieces
        for position in range(0, len(text) - gram + 1, self.SPAN - gram + 1):
            hits = pieces.get(text[position : position + gram])
            if hits:
                for offset, needle in hits:
                    start = position - offset
                    if start >= 0 and text.startswith(needle, start):
                        found.add(needle)
        return found


Discovery = Callable[[Secret], None]


class Redactor:
    """Replaces every known secret value, in each of its `secret_forms`, with a marker naming it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        # value -> its forms, longest first (so a form inside a longer one never splits it)
        self._forms: dict[str, tuple[str, ...]] = {}
        self._discovered: set[str] = set()
        self._listeners: dict[str, Discovery] = {}
        self._needles: tuple[Needles[str], dict[str, tuple[int, str]]] | None = None

    def register(self, secret: Secret) -> None:
        if len(secret.value) < MIN_SECRET_LENGTH:
            return
        forms = tuple(sorted(secret_forms(secret.value), key=lambda f: (-len(f), f)))
        with self._lock:
            self._secrets[secret.value] = secret.name
            self._forms[secret.value] = forms
            self._needles = None

    def name_of(self, value: str) -> str | None:
        with self._lock:
            return self._secrets.get(value)

    def discover(self, name: str, value: str) -> str:
        """A secret first seen in the evidence itself (not loaded from a profile): register it
        under `name` unless it is known already, tell the listeners, and return the marker
        that replaces it."""
        known = self.name_of(value)
        if known is not None:
            return f"«redacted:{known}»"
        if len(value) < MIN_SECRET_LENGTH:
            return f"«redacted:{name}»"  # too short to redact by value; replaced where it stands
        secret = Secret(name, value)
        self.register(secret)
        with self._lock:
            self._discovered.add(value)
            listeners = list(self._listeners.values())
        for listener in listeners:
            listener(secret)
        return f"«redacted:{name}»"

    def discovered(self) -> list[Secret]:
        """The secrets `discover` registered (for a later process's redaction and leak scan)."""
        with self._lock:
            return [Secret(self._secrets[v], v) for v in sorted(self._discovered)]

    def on_discovery(self, listener: Discovery, *, key: str = "") -> None:
        """Call `listener` with every secret discovered from now on; a listener registered
        under the same `key` is replaced (a process shares its discoveries with one run)."""
        with self._lock:
            self._listeners[key or str(id(listener))] = listener

    def register_all(self, secrets: Iterable[Secret]) -> None:
        for secret in secrets:
            self.register(secret)

    def known(self) -> dict[str, str]:
        """value -> name of every registered secret (for leak scans)."""
        with self._lock:
            return dict(self._secrets)

    def _index(self) -> tuple[Needles[str], dict[str, tuple[int, str]]]:
        """Every form of every secret, indexed; form -> (its value's length, its name)."""
        with self._lock:
            if self._needles is None:
                owner = {
                    form: (len(value), self._secrets[value])
                    for value, forms in self._forms.items()
                    for form in forms
                }
                self._needles = (Needles(owner), owner)
            return self._needles

    def redact(self, text: str) -> str:
        needles, owner = self._index()
        present = needles.present(text)
        # longest value first, then its longest form: a form inside a longer one never splits it
        for form in sorted(present, key=lambda f: (-owner[f][0], -len(f), f)):
            text = text.replace(form, f"«redacted:{owner[form][1]}»")
        return text

    def find_leaks(self, text: str) -> list[str]:
        """Names of the secrets found in `text` in any of their forms."""
        needles, owner = self._index()
        return sorted({owner[form][1] for form in needles.present(text)})


REDACTOR = Redactor()


# --- redaction by name ------------------------------------------------------------------------

# A field, header or parameter is sensitive when its last word is one of these (`webhook_secret`,
# `hmac_token`, `X-Chatwoot-Signature`, `set-cookie`), or it is a qualified key (`api_key`,
# `X-N8N-API-KEY`, `private_key`). `secretConfigured`, `token_type`, `api_key_prefix` are not.
SENSITIVE_WORDS = frozenset(
    {
        "secret",
        "token",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "hmac",
        "authorization",
        "dsn",
        "signature",
        "cookie",
        "credential",
        "credentials",
        "apikey",
        "jwt",
    }
)
_KEY_QUALIFIERS = frozenset({"api", "private", "secret", "signing", "access", "encryption", "client"})
_SCHEMES = ("sha256=", "Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token ")
# The scheme is bounded and must start a word, so a long body without "://" costs linear time.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/?#@\"']{0,256}:)"
    r"(?P<password>[^\s/?#@\"']{1,512})(?=@)"
)
_DERIVED_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://\S*")


@functools.lru_cache(maxsize=8192)  # the same few field names, over and over (the leak scan walks every JSON)
def sensitive_name(name: str) -> bool:
    """Whether a field, header or query parameter called `name` holds a secret."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = re.findall(r"[a-z0-9]+", snake)
    if not words:
        return False
    if words[-1] in SENSITIVE_WORDS:
        return True
    return words[-1] == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


def _redactor() -> Redactor:
    return REDACTOR  # read at call time: tests swap the process-wide redactor


def redact_value(field_name: str, value: str, origin: str) -> str:
    """The marker for a sensitive field's value; the value is discovered on the way. An auth
    scheme in front of it (`Bearer `, `sha256=`) is kept: it says which kind of secret it was.
    An HMAC signature is derived from a secret, so it is replaced but not hunted for later."""
    if not value or value.startswith("«redacted") or (value.startswith("=") and "{{" in value):
        return value  # empty, already replaced, or an n8n expression (a reference, not a value)
    scheme = next((s for s in _SCHEMES if value.startswith(s) and len(value) > len(s)), "")
    rest = value[len(scheme) :]
    name = f"{origin}:{field_name}" if origin else field_name
    if scheme == "sha256=" and _DERIVED_SIGNATURE.fullmatch(rest):
        return f"{scheme}«redacted:{field_name}»"
    return scheme + _redactor().discover(name, rest)


def redact_url_credentials(text: str, origin: str = "") -> str:
    """`scheme://user:password@host` → the password replaced (and discovered)."""
    if "://" not in text:
        return text
    return _URL_CREDENTIALS.sub(
        lambda m: m.group("head") + redact_value("url password", m.group("password"), origin), text
    )


def redact_fields(data: Any, origin: str = "") -> Any:
    """A copy of a JSON-like structure with every sensitive field's value replaced: keys named
    like a secret, and `{"name": "X-Api-Key", "value": …}` pairs (n8n's header parameters)."""
    if isinstance(data, Mapping):
        pair_name = data.get("name", data.get("key"))
        pair = isinstance(pair_name, str) and sensitive_name(pair_name)
        result: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and (sensitive_name(str(key)) or (pair and key == "value")):
                label = str(pair_name) if pair and key == "value" else str(key)
                result[key] = redact_value(label, value, origin)
            else:
                result[key] = redact_fields(value, origin)
        return result
    if isinstance(data, list | tuple):
        return [redact_fields(item, origin) for item in data]
    if isinstance(data, str) and "://" in data:
        return redact_url(data, origin) if _URL.fullmatch(data) else redact_url_credentials(data, origin)
    return data


def redact_headers(headers: Mapping[str, str], origin: str = "") -> dict[str, str]:
    return {
        name: redact_value(name, value, origin) if sensitive_name(name) else redact_url_credentials(value)
        for name, value in headers.items()
    }


def redact_url(url: str, origin: str = "") -> str:
    """A URL with its credentials and its sensitive query parameters' values replaced."""
    url = redact_url_credentials(url, origin)
    base, sep, query = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = query.partition("#")
    parts = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and sensitive_name(urllib.parse.unquote_plus(key)):
            # the marker is written as it is: this URL is evidence, never requested again
            value = redact_value(urllib.parse.unquote_plus(key), urllib.parse.unquote_plus(value), origin)
        parts.append(f"{key}{eq}{value}")
    return f"{base}?{'&'.join(parts)}{hash_sep}{fragment}"


def redact_body(text: str, content_type: str = "", origin: str = "") -> str:
    """A JSON or form body with its sensitive fields replaced; other text unchanged but for URL
    credentials. A body with nothing to replace is returned as it was, byte for byte."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past what a parser follows
            return redact_url_credentials(text, origin)
        redacted = redact_fields(data, origin)
        return text if redacted == data else json.dumps(redacted, ensure_ascii=False)
    if "application/x-www-form-urlencoded" in content_type.lower():
        return redact_url("?" + text, origin)[1:]
    return redact_url_credentials(text, origin)


def unredacted_fields(data: Any, path: str = "") -> list[str]:
    """Paths of the sensitive fields in a JSON-like structure whose value is still there (what
    the leak scan reports for a secret nobody registered). An n8n expression is a reference."""
    found: list[str] = []
    if isinstance(data, Mapping):
        pair_name = data.get("name", data.get("key"))
        pair = isinstance(pair_name, str) and sensitive_name(pair_name)
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            sensitive = sensitive_name(str(key)) or (pair and key == "value")
            if sensitive and isinstance(value, str) and _looks_unredacted(value):
                found.append(here)
            elif not isinstance(value, str):
                found += unredacted_fields(value, here)
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            found += unredacted_fields(item, f"{path}[{index}]")
    return found


def _looks_unredacted(value: str) -> bool:
    if len(value) < MIN_SECRET_LENGTH or "«redacted" in value:
        return False
    return not (value.startswith("=") and "{{" in value)
