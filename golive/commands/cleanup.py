"""`golive cleanup`: tidy up the test data runs left on an organisation's target, through what its
public APIs allow, touching only what a run's ledger lists.

The CRM's public API has no DELETE, so for each run (`reports/<run-id>/ledger/<org>.jsonl`):

* deals the run created, and the deals of its contacts, are closed as lost with the reason
  "golive test data, run <id>" (`POST /deals/{id}/mark-lost`);
* contacts the run created get a note saying so (`POST /activities`, type `note`, metadata
  `golive_run`), once; they stay, and the report says so;
* an identity a delivery made the CRM resolve is looked up (`GET /contacts?identifier=`), and its
  contact is tidied only when its name carries the run's tag (`[golive <run-id>]`): a contact
  that existed before (the profile's legacy customer) is left alone and reported;
* Chatwoot conversations are resolved and labelled `golive-test-data`; Chatwoot contacts and
  messages are reported as kept.

Running it again changes nothing more (closed deals stay closed, a contact is noted once).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Literal

from golive.clients.chatwoot import ChatwootClient
from golive.clients.crm import CrmClient, Deal
from golive.clients.http import build_client
from golive.clients.ledger import Entry, read_ledger, run_tag
from golive.errors import ApiError, ConfigError
from golive.evidence.run_shape import RUN_NAME_RE
from golive.runtime.registry import Targets
from golive.runtime.sandbox_process import STATE_ENV

Action = Literal["closed", "marked", "resolved", "already", "gone", "kept", "left alone", "failed"]
NOT_REMOVED: tuple[Action, ...] = ("marked", "kept", "left alone", "failed")
LABEL = "golive-test-data"
NOT_FOUND = 404


@dataclass(frozen=True)
class Outcome:
    run_id: str
    record: str  # "crm deal <id>", "chatwoot conversation <id>", …
    action: Action
    detail: str = ""

    def line(self) -> str:
        return f"{self.action:10} {self.record}" + (f" — {self.detail}" if self.detail else "")


@dataclass
class CleanupReport:
    organisation: str
    runs: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def not_removed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action in NOT_REMOVED]

    @property
    def failed(self) -> bool:
        return any(o.action == "failed" for o in self.outcomes)

    def to_json(self) -> str:
        return json.dumps(
            {
                "organisation": self.organisation,
                "runs": self.runs,
                "outcomes": [o.__dict__ for o in self.outcomes],
            },
            indent=2,
            ensure_ascii=False,
        )


# --------------------------------------------------------------------------- which ledgers


def run_started(run_id: str) -> datetime | None:
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def find_ledgers(
    reports: Path,
    organisation: str,
    *,
    runs: Sequence[str] = (),
    older_than_days: float | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """The organisation's ledgers of the named runs, or of every run older than the age given."""
    if not runs and older_than_days is None:
        raise ConfigError(
            "say which runs to tidy: --run RUN_ID (repeatable) or --older-than DAYS", setting="--run"
        )
    if runs:
        missing = [r for r in runs if not (reports / r / "ledger" / f"{organisation}.jsonl").is_file()]
        if missing:
            raise ConfigError(
                f"no ledger of '{organisation}' for run(s) {', '.join(missing)} in {reports} "
                f"(reports/<run-id>/ledger/{organisation}.jsonl)",
                setting="--run",
            )
        return [reports / r / "ledger" / f"{organisation}.jsonl" for r in runs]
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days or 0)
    found = []
    for folder in sorted(reports.iterdir()) if reports.is_dir() else []:
        started = run_started(folder.name)
        ledger = folder / "ledger" / f"{organisation}.jsonl"
        if RUN_NAME_RE.match(folder.name) and started and started <= cutoff and ledger.is_file():
            found.append(ledger)
    return found


# --------------------------------------------------------------------------- tidying one run


class RunCleanup:
    """One run's ledger of one organisation against that organisation's clients."""

    def __init__(
        self,
        run_id: str,
        entries: Iterable[Entry],
        *,
        crm: CrmClient,
        chatwoot: ChatwootClient | None,
        dry_run: bool = False,
    ) -> None:
        self.run_id = run_id
        self.entries = list(entries)
        self.crm = crm
        self.chatwoot = chatwoot
        self.dry_run = dry_run
        self.tag = run_tag(run_id)
        self.outcomes: list[Outcome] = []
        self._deals_seen: set[str] = set()

    def _say(self, record: str, action: Action, detail: str = "") -> None:
        self.outcomes.append(Outcome(self.run_id, record, action, detail))

    def run(self) -> list[Outcome]:
        contacts: dict[str, str] = {}  # id -> name: contacts this run created
        for entry in self.entries:
            try:
                if entry.system == "crm" and entry.kind == "contact":
                    contacts[entry.id] = entry.detail.get("name", "")
                elif entry.system == "crm" and entry.kind == "identity":
                    contacts.update(self._resolve(entry))
            except ApiError as exc:
                self._say(f"crm {entry.kind} {entry.id}", "failed", str(exc))
        for contact_id, name in contacts.items():
            self._guarded(f"crm contact {contact_id}", partial(self._contact, contact_id, name))
        for entry in self.entries:
            if entry.system == "crm" and entry.kind == "deal" and entry.id not in self._deals_seen:
                self._guarded(f"crm deal {entry.id}", partial(self._deal_by_id, entry.id))
            elif entry.system == "chatwoot":
                self._guarded(f"chatwoot {entry.kind} {entry.id}", partial(self._chatwoot, entry))
        return self.outcomes

    def _guarded(self, record: str, action: Callable[[], None]) -> None:
        """One record's failure is reported and the others are still tidied."""
        try:
            action()
        except ApiError as exc:
            self._say(record, "failed", str(exc))

    # --- CRM -------------------------------------------------------------------------------

    def _resolve(self, entry: Entry) -> dict[str, str]:
        channel, _, identifier = entry.id.partition(":")
        found = self.crm.contacts_with_identifier(channel, identifier)
        if not found:
            self._say(f"crm identity {entry.id}", "gone", "no contact has it (the CRM created none)")
        mine = {}
        for contact in found:
            if self.tag in contact.name:
                mine[contact.id] = contact.name
            else:
                self._say(
                    f"crm contact {contact.id}",
                    "left alone",
                    f"{contact.name!r} (identity {entry.id}) is not named for run {self.run_id}: "
                    "it existed before the run",
                )
        return mine

    def _contact(self, contact_id: str, name: str) -> None:
        record = f"crm contact {contact_id}"
        if not self.crm.contact_exists(contact_id):
            self._say(record, "gone", f"{name!r}: the CRM no longer has it")
            return
        for deal in self.crm.contact_deals(contact_id):
            self._close(deal)
        noted = any(
            isinstance(n.get("metadata"), dict) and n["metadata"].get("golive_run") == self.run_id
            for n in self.crm.notes(contact_id)
        )
        why = "the public API cannot delete a contact; delete it in the CRM if it must go"
        if noted:
            self._say(record, "marked", f"{name!r}: noted as test data before; {why}")
            return
        if not self.dry_run:
            answer = self.crm.add_note(
                contact_id,
                title=f"golive test data (run {self.run_id}): created by the go-live suite, safe to archive",
                metadata={"golive_run": self.run_id, "golive": "test-data"},
            )
            if answer.status != 201:
                self._say(record, "failed", f"the note was refused: {answer.describe()}")
                return
        self._say(record, "marked", f"{name!r}: a note says it is test data; {why}")

    def _deal_by_id(self, deal_id: str) -> None:
        answer = self.crm.deal_answer(deal_id)
        if answer.status == NOT_FOUND:
            self._say(f"crm deal {deal_id}", "gone", "the CRM no longer has it")
        elif answer.deal is None:
            self._say(f"crm deal {deal_id}", "failed", answer.describe())
        else:
            self._close(answer.deal)

    def _close(self, deal: Deal) -> None:
        self._deals_seen.add(deal.id)
        record = f"crm deal {deal.id}"
        if deal.is_won or deal.is_lost:
            self._say(record, "already", f"{deal.title!r} is closed ({'won' if deal.is_won else 'lost'})")
            return
        if not self.dry_run:
            answer = self.crm.mark_lost(deal.id, reason=f"golive test data, run {self.run_id}")
            if answer.status != 200:
                self._say(record, "failed", f"mark-lost was refused: {answer.describe()}")
                return
        self._say(record, "closed", f"{deal.title!r} marked lost (golive test data)")

    # --- Chatwoot --------------------------------------------------------------------------

    def _chatwoot(self, entry: Entry) -> None:
        record = f"chatwoot {entry.kind} {entry.id}"
        if entry.kind == "contact":
            self._say(
                record, "kept", f"{entry.detail.get('name', '')!r}: golive does not delete Chatwoot contacts"
            )
        elif entry.kind == "message":
            self._say(
                record,
                "kept",
                f"in conversation {entry.detail.get('conversation_id', '?')}, resolved with it",
            )
        elif self.chatwoot is None:
            self._say(
                record, "failed", "the profile has no Chatwoot API ([chatwoot] base_url, api_token_env)"
            )
        else:
            try:
                labels = self.chatwoot.labels(int(entry.id))
            except ApiError as exc:
                if exc.status == NOT_FOUND:
                    self._say(record, "gone", "Chatwoot no longer has it")
                    return
                raise
            if LABEL in labels:
                self._say(record, "already", f"labelled {LABEL} by an earlier cleanup")
                return
            detail = f"would be resolved and labelled {LABEL}"
            if not self.dry_run:
                status = self.chatwoot.resolve(int(entry.id))
                self.chatwoot.add_label(int(entry.id), LABEL)
                detail = f"status {status}, labelled {LABEL}"
            self._say(record, "resolved", detail)


def cleanup(
    organisation: str,
    ledgers: Sequence[Path],
    *,
    crm: CrmClient,
    chatwoot: ChatwootClient | None,
    dry_run: bool = False,
) -> CleanupReport:
    report = CleanupReport(organisation)
    for path in ledgers:
        run_id = path.parent.parent.name
        entries = [e for e in read_ledger(path) if e.organisation == organisation and e.run_id == run_id]
        report.runs.append(run_id)
        report.outcomes += RunCleanup(run_id, entries, crm=crm, chatwoot=chatwoot, dry_run=dry_run).run()
        if not dry_run:
            (path.parent / f"{organisation}.cleanup.json").write_text(
                CleanupReport(
                    organisation, [run_id], [o for o in report.outcomes if o.run_id == run_id]
                ).to_json()
                + "\n",
                encoding="utf-8",
            )
    return report


def clients_for(root: Path, slug: str, *, allow_production: bool) -> tuple[CrmClient, ChatwootClient | None]:
    """The organisation's CRM and Chatwoot clients, without ledgers (cleanup creates nothing)."""
    targets = Targets(orgs_dir=root / "orgs", run_id="cleanup")
    if targets.is_sandbox(slug) and STATE_ENV not in os.environ:
        raise ConfigError(
            f"'{slug}' is a sandbox organisation: its records live only while its sandbox runs; "
            f"set {STATE_ENV} to the running sandbox's state folder",
            setting=STATE_ENV,
        )
    org = targets.organisation(slug)
    if org.environment == "production" and not allow_production:
        raise ConfigError(
            f"'{slug}' is marked production ({org.origin}); pass --allow-production to tidy it",
            setting="environment",
            where=org.origin,
        )
    if org.api_key is None:
        raise ConfigError(
            f"'{slug}' has no CRM API key: cleanup needs the public API (crm.api_key_env)",
            setting="crm.api_key",
            where=org.origin,
        )
    headers = {"X-Api-Key": org.api_key.reveal()}
    crm = CrmClient(
        http=build_client("crm", base_url=org.crm_base_url, headers=headers, timeout=org.timeout_s),
        organisation=slug,
    )
    chatwoot = None
    if org.chatwoot_base_url and org.chatwoot_token:
        http = build_client(
            "chatwoot",
            base_url=org.chatwoot_base_url,
            timeout=org.timeout_s,
            headers={"api_access_token": org.chatwoot_token.reveal()},
        )
        chatwoot = ChatwootClient(http=http, organisation=slug, account_id=org.account_id)
    return crm, chatwoot
