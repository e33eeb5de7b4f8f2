"""Secrets: a value type that never prints itself, and redaction by value.

Every secret loaded from the environment is registered with the process-wide
`REDACTOR`; anything golive writes as evidence goes through `REDACTOR.redact`.
Redacting by value (not by field name) catches a token wherever it ends up:
a header, a URL, an error message, a response body echoing it back.

`secret_forms` is the one list of the ways a value can be written down; the redactor
removes every one of them and the evidence leak scan looks for every one of them, so
whatever the scan can find, redaction removes.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field

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


class Redactor:
    """Replaces every known secret value, in each of its `secret_forms`, with a marker naming it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        # value -> its forms, longest first (so a form inside a longer one never splits it)
        self._forms: dict[str, tuple[str, ...]] = {}

    def register(self, secret: Secret) -> None:
        if len(secret.value) < MIN_SECRET_LENGTH:
            return
        forms = tuple(sorted(secret_forms(secret.value), key=lambda f: (-len(f), f)))
        with self._lock:
            self._secrets[secret.value] = secret.name
            self._forms[secret.value] = forms

    def register_all(self, secrets: Iterable[Secret]) -> None:
        for secret in secrets:
            self.register(secret)

    def known(self) -> dict[str, str]:
        """value -> name of every registered secret (for leak scans)."""
        with self._lock:
            return dict(self._secrets)

    def _items(self) -> list[tuple[str, tuple[str, ...]]]:
        """(name, forms) of every secret, longest value first."""
        with self._lock:
            values = sorted(self._secrets, key=lambda v: -len(v))
            return [(self._secrets[v], self._forms[v]) for v in values]

    def redact(self, text: str) -> str:
        for name, forms in self._items():
            marker = f"«redacted:{name}»"
            for form in forms:
                text = text.replace(form, marker)
        return text

    def find_leaks(self, text: str) -> list[str]:
        """Names of the secrets found in `text` in any of their forms."""
        return sorted({name for name, forms in self._items() if any(f in text for f in forms)})


REDACTOR = Redactor()
