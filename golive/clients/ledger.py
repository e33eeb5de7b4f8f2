"""The test-data ledger: every record the suite makes a target create, one JSON line each, in
`reports/<run-id>/ledger/<org>.jsonl`, so that `golive cleanup` can tidy a real staging up and
touch nothing else.

Written by the clients (what the CRM or Chatwoot API created, once it answered with the id) and
by the scenario language (the identity a delivery makes the CRM resolve, before it is sent), never
by steps. Each entry is appended with one `write` on a file opened for appending: entries from
threads or processes sharing the file never interleave, and whatever was written before a crash
is on disk; a torn last line is skipped when the ledger is read.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

System = Literal["crm", "chatwoot"]
# contact, deal: created through the API, with the id the API answered.
# identity: "<channel>:<external id>" a delivery of the run makes the CRM resolve; the CRM decides
#   what to create, so cleanup resolves it and touches only a contact named for the run.
# conversation, message: Chatwoot records created through its API.
Kind = Literal["contact", "deal", "identity", "conversation", "message"]
KINDS: tuple[Kind, ...] = get_args(Kind)


def run_tag(run_id: str) -> str:
    """What every person a run invents carries in its name (golive.scenario.data)."""
    return f"[golive {run_id}]"


@dataclass(frozen=True)
class Entry:
    system: System
    kind: Kind
    id: str
    organisation: str
    run_id: str
    at: str  # ISO 8601, UTC
    detail: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        system, kind = data["system"], data["kind"]
        if system not in get_args(System) or kind not in KINDS:
            raise ValueError(f"unknown ledger entry {system}/{kind}")
        return cls(
            system=system,
            kind=kind,
            id=str(data["id"]),
            organisation=str(data["organisation"]),
            run_id=str(data["run_id"]),
            at=str(data.get("at", "")),
            detail={str(k): str(v) for k, v in (data.get("detail") or {}).items()},
        )


class Ledger:
    """One organisation's ledger for one run."""

    def __init__(self, path: Path, *, organisation: str, run_id: str) -> None:
        self.path = path
        self.organisation = organisation
        self.run_id = run_id
        self._lock = threading.Lock()

    def record(self, system: System, kind: Kind, record_id: str | int, **detail: str | int | None) -> Entry:
        entry = Entry(
            system=system,
            kind=kind,
            id=str(record_id),
            organisation=self.organisation,
            run_id=self.run_id,
            at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            detail={k: str(v) for k, v in detail.items() if v is not None},
        )
        line = (json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        return entry


def read_ledger(path: Path) -> list[Entry]:
    """The entries of a ledger file, in the order they were written (a torn line is skipped)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(Entry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return entries
