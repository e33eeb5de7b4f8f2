"""Secrets: a value type that never prints itself, and redaction by value.

Every secret loaded from the environment is registered with the process-wide
`REDACTOR`; anything golive writes as evidence goes through `REDACTOR.redact`.
Redacting by value (not by field name) catches a token wherever it ends up:
a header, a URL, an error message, a response body echoing it back.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field

MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words; refuse them as secrets


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


class Redactor:
    """Replaces every known secret value (and its URL-encoded form) with a marker naming it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}

    def register(self, secret: Secret) -> None:
        if len(secret.value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets[secret.value] = secret.name

    def register_all(self, secrets: Iterable[Secret]) -> None:
        for secret in secrets:
            self.register(secret)

    def known(self) -> dict[str, str]:
        """value -> name of every registered secret (for leak scans)."""
        with self._lock:
            return dict(self._secrets)

    @staticmethod
    def _forms(value: str) -> set[str]:
        """The value as written, and as URL-encoded in paths (%20) and queries/forms (+)."""
        return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}

    def redact(self, text: str) -> str:
        with self._lock:
            items = sorted(self._secrets.items(), key=lambda kv: -len(kv[0]))
        for value, name in items:
            marker = f"«redacted:{name}»"
            for form in sorted(self._forms(value), key=len, reverse=True):
                text = text.replace(form, marker)
        return text

    def find_leaks(self, text: str) -> list[str]:
        """Names of the secrets whose value (or its URL-encoded form) appears in `text`."""
        with self._lock:
            items = list(self._secrets.items())
        return sorted({name for value, name in items if any(f in text for f in self._forms(value))})


REDACTOR = Redactor()
