"""The leak scan: is any secret value, in any of its forms, in a folder of evidence?

Files are scanned as raw bytes (text or binary); zip files are opened and every member
scanned, and so are the files an Allure single-file report embeds. The forms looked for are
:func:`golive.secrets.secret_forms`, the very list the redactor removes.

A secret nobody registered cannot be looked for by value, so JSON documents are also read by
name: a field named like a secret (``secret``, ``token``, ``password``, ``api_key``…) whose value
is not a redaction marker is a leak too (:func:`golive.secrets.unredacted_fields`).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from golive.errors import EvidenceError
from golive.evidence.offline_html import embedded_report_files
from golive.secrets import MIN_SECRET_LENGTH, Needles, Secret, secret_forms, unredacted_fields

_MAX_ZIP_DEPTH = 3


class SecretLeakError(EvidenceError):
    """A secret value was found in the evidence; the evidence was deleted."""

    def __init__(self, message: str, hits: Sequence[tuple[str, str]]) -> None:
        self.hits = list(hits)
        super().__init__(message)


def secret_patterns(value: str) -> set[bytes]:
    """The byte strings that betray ``value``: its :func:`~golive.secrets.secret_forms` in UTF-8."""
    return {form.encode("utf-8") for form in secret_forms(value)}


@dataclass(frozen=True)
class _Patterns:
    """Every form of every secret (indexed: golive.secrets.Needles) and whose it is."""

    needles: Needles[bytes]
    names: Mapping[bytes, frozenset[str]]

    @classmethod
    def of(cls, secrets: Mapping[str, str]) -> _Patterns:
        names: dict[bytes, set[str]] = {}
        for value, name in secrets.items():
            if len(value) >= MIN_SECRET_LENGTH:
                for pattern in secret_patterns(value):
                    names.setdefault(pattern, set()).add(name)
        return cls(Needles(names), {k: frozenset(v) for k, v in names.items()})


Findings = list[tuple[str, str]]  # (where inside the scanned bytes: "" or ":member…", what)


def _scan_bytes(
    data: bytes,
    location: str,
    patterns: _Patterns,
    depth: int,
    seen: dict[tuple[bytes, str], tuple[int, Findings]],
) -> Findings:
    """What `data` (at `location`) holds. The same bytes scanned again — every file is also a
    member of bundle.zip, and the report's embedded files are in both — reuse their findings
    (a scan made less deep looked at least as far)."""
    key = (hashlib.sha256(data).digest(), PurePosixPath(location).suffix.lower())
    if key in seen and seen[key][0] <= depth:
        return seen[key][1]
    found: Findings = []
    for needle in patterns.needles.present(data):
        found += [("", name) for name in patterns.names[needle]]
    found += [("", f"unredacted field {field}") for field in _unredacted_json_fields(data, location)]
    if depth < _MAX_ZIP_DEPTH:
        if data[:4] == b"PK\x03\x04" or location.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    for member in zf.infolist():
                        if not member.is_dir():
                            inner = f":{member.filename}"
                            sub = _scan_bytes(zf.read(member), location + inner, patterns, depth + 1, seen)
                            found += [(inner + where, what) for where, what in sub]
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
                found.append(("", f"(unreadable zip, not scanned: {type(exc).__name__})"))
        elif location.lower().endswith((".html", ".htm")):
            text = data.decode("utf-8", errors="replace")
            for embedded, payload in embedded_report_files(text).items():
                sub = _scan_bytes(payload, f"{location}:{embedded}", patterns, depth + 1, seen)
                found += [(f":{embedded}" + where, what) for where, what in sub]
    seen[key] = (depth, found)
    return found


def _unredacted_json_fields(data: bytes, location: str) -> list[str]:
    if not location.lower().endswith(".json") and data.lstrip()[:1] not in (b"{", b"["):
        return []
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return []
    return unredacted_fields(document)[:5]


def leak_scan(
    paths: Iterable[Path], secrets: Mapping[str, str], *, root: Path | None = None
) -> list[tuple[str, str]]:
    """``(file, secret name)`` for every secret value found in the files.

    ``secrets`` maps value -> name. Files are scanned as raw bytes (text or binary);
    zip files are opened and every member scanned (``"bundle.zip:member"``); the
    files an Allure single-file report embeds are decoded and scanned too. Each value
    is looked for in every one of its :func:`~golive.secrets.secret_forms` (as is,
    URL-encoded, JSON/HTML-escaped, base64 at any alignment). Values shorter than
    MIN_SECRET_LENGTH are ignored, like the redactor does. The result never contains a value.
    """
    patterns = _Patterns.of(secrets)
    hits: set[tuple[str, str]] = set()
    seen: dict[tuple[bytes, str], tuple[int, Findings]] = {}
    for path in paths:
        if not path.is_file():
            continue
        location = path.relative_to(root).as_posix() if root is not None else str(path)
        hits.update(
            (location + where, what)
            for where, what in _scan_bytes(path.read_bytes(), location, patterns, 0, seen)
        )
    return sorted(hits)


def secret_values(secrets: Iterable[Secret]) -> dict[str, str]:
    """value -> name, for :func:`leak_scan`, from loaded Secret objects."""
    return {s.reveal(): s.name for s in secrets if s}
