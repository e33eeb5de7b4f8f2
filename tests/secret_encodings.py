"""The ways a secret value gets written into evidence, built here with the standard library
alone (not with golive.secrets.secret_forms, so the tests do not check the code against itself).

Shared by the redaction tests (tests/unit) and the leak-scan tests (tests/evidence): every
encoding here must be both removed by the redactor and found by the leak scan.
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from collections.abc import Callable


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _base64(prefix: str, *, urlsafe: bool = False) -> Callable[[str], str]:
    """The value base64-encoded after `prefix` (its length decides the alignment)."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode

    def apply(value: str) -> str:
        return encode((prefix + value + '","more":1}').encode("utf-8")).decode("ascii")

    return apply


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": str,
    "url %20": lambda v: urllib.parse.quote(v, safe=""),
    "url path keeping /": lambda v: urllib.parse.quote(v, safe="/"),
    "url + for spaces": lambda v: urllib.parse.quote_plus(v, safe=""),
    "url lower-case hex": lambda v: _lower_hex(urllib.parse.quote(v, safe="")),
    "json ascii": lambda v: json.dumps(v)[1:-1],
    "json unicode": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "html": lambda v: html.escape(v, quote=True),
    "base64 offset 0": _base64(""),
    "base64 offset 1": _base64("a"),
    "base64 offset 2": _base64("ab"),
    "base64 offset 0 url-safe": _base64("abc", urlsafe=True),
    "base64 offset 1 url-safe": _base64("abcd", urlsafe=True),
    "base64 offset 2 url-safe": _base64("abcde", urlsafe=True),
    "basic auth": lambda v: "Basic " + base64.b64encode(f"robot:{v}".encode()).decode("ascii"),
}

# Secret shapes met in practice; the last one has every character some encoding changes.
SHAPES: dict[str, str] = {
    "token": "ncrm_CANARYtok3n_{suffix}",
    "base64 secret": "CANARY+b64/{suffix}==",
    "passphrase": "CANARY p@ss:w/rd&x={suffix}",
    "every special": "CANARY \"q\" <a&b> 'c' \\ é/ü+{suffix}",
}


def planted_text(value: str, encoding: str) -> str:
    """A line of evidence holding `value` in the given encoding."""
    return f"GET /cb?next=1 -> {ENCODINGS[encoding](value)} <- end\n"
