"""The last line of defence: redact known secret values in every text file of a folder.

A value is looked for in every form the evidence leak scan knows (golive.secrets.secret_forms).

Evidence is redacted when written; this pass also catches what third-party code wrote
(allure's captured stdout/log attachments, JUnit failure text). Binary files cannot be
rewritten safely, so a secret found in one is reported, not patched.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from golive.secrets import Redactor

_TEXT_SUFFIXES = {".json", ".xml", ".txt", ".properties", ".md", ".log", ".csv", ".html", ".jsonl"}


@dataclass(frozen=True)
class Leak:
    path: Path
    secret_names: tuple[str, ...]
    fixed: bool


def scrub_tree(root: Path, redactor: Redactor, *, skip: Collection[str] = ()) -> list[Leak]:
    """`skip`: top-level folders another process is still writing (e.g. logs/)."""
    leaks: list[Leak] = []
    if not redactor.known() or not root.exists():
        return leaks
    files = (p for p in root.rglob("*") if p.is_file())
    for path in sorted(p for p in files if p.relative_to(root).parts[0] not in skip):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        names = redactor.find_leaks(text)
        if not names:
            continue
        fixable = path.suffix in _TEXT_SUFFIXES or "." not in path.name
        if fixable:
            path.write_text(redactor.redact(text), encoding="utf-8")
        leaks.append(Leak(path, tuple(names), fixable))
    return leaks
