"""Fault profiles: named, documented ways to break the doubles.

Each fault stands for a regression the rollout fears or a defect known in the
real system, and names the scenario(s) that must catch it. The kill matrix
switches them at run time through the control API (`PUT /faults`).

A fault is on for the whole sandbox, or — for the faults of an organisation's own n8n and model
(`PER_ORGANISATION`) — for one organisation only, so organisations tested in parallel on one
sandbox do not break each other. With a real n8n a workflow fault is a broken variant of the
workflow imported over that organisation's copy (`golive.sandbox.workflows.VARIANTS`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str  # what the double does wrong while the fault is on
    stands_for: str  # the rollout risk or known defect it models
    caught_by: tuple[str, ...]  # "<feature file stem>: <scenario name>"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


CATALOGUE: tuple[Fault, ...] = (
    Fault(
        "wa-new-contact",
        "the phone fallback compares stored phones as raw text, so a customer stored as "
        "'(11) 9xxxx-xxxx' is not found and a new contact is created",
        "WhatsApp regression: an existing customer's message creates a duplicate contact",
        ("whatsapp_regression: A known customer writes on WhatsApp",),
    ),
    Fault(
        "wa-raw-phone-identity",
        "the WHATSAPP identity is stored with the phone as Chatwoot sent it (wa_id digits) instead of E.164",
        "non-canonical WhatsApp identities: keys that never match the flow's session key",
        ("whatsapp_regression: A known customer writes on WhatsApp",),
    ),
    Fault(
        "reentry-duplicate-link",
        "a replayed conversation event inserts a second conversation link (no upsert, no unique key)",
        "DM re-entry is not idempotent (checklist 2.2/6.4)",
        (
            "dm_reentry: The same delivery arrives again",
            "dm_reentry: The same delivery arrives many times at once",
        ),
    ),
    Fault(
        "ig-no-identity",
        "a first Instagram DM creates the contact but writes no INSTAGRAM identity",
        "identity resolution half done: every later DM creates yet another contact",
        ("instagram_first_contact: An Instagram user with no history writes for the first time",),
    ),
    Fault(
        "igsid-from-identifier-only",
        "the IGSID is read only from meta.sender.identifier, ignoring contact_inbox.source_id "
        "(where real Chatwoot puts it)",
        "known defect of the real CRM (crm-contract §7 #5)",
        ("instagram_first_contact: An Instagram user with no history writes for the first time",),
    ),
    Fault(
        "key-without-prefix",
        "the n8n flow builds session/memory keys from the bare external id, without the channel "
        "prefix, so WhatsApp and Instagram keys can collide (workflow variant "
        "nonconformant/r3-key-without-prefix.json)",
        "non-canonical session keys (checklist 3.3/4.4)",
        (
            "n8n_agent_flow: An Instagram first DM goes through the agent flow",
            "n8n_agent_flow: A WhatsApp customer goes through the agent flow",
        ),
    ),
    Fault(
        "move-moves-siblings",
        "a move by deal_id also moves the contact's other open deals",
        "stage moves hit the wrong deal (checklist 6.5)",
        ("stage_moves: A move by deal id moves exactly that deal",),
    ),
    Fault(
        "identity-move-picks-newest",
        "a move by identity with several open deals silently moves the most recently updated one",
        "known defect of the real CRM (crm-contract §7 #2)",
        ("stage_moves: A move by identity with two open deals is refused as ambiguous",),
    ),
    Fault(
        "unsigned-webhook-accepted",
        "a webhook without a signature header is accepted although a secret is configured",
        "known defect of the real CRM (crm-contract §7 #1)",
        ("webhook_security: A delivery without a signature is refused",),
    ),
    Fault(
        "foreign-inbox-processed",
        "an event for an inbox that no active config binds is processed for the account's first organisation",
        "tenant leak: conversations land in the wrong organisation",
        ("channel_isolation: An event for an inbox of no organisation creates nothing",),
    ),
    Fault(
        "n8n-move-by-phone",
        "the n8n flow's stage tool posts to move-stage-by-identity with the contact's phone and "
        "email instead of the deal id, as the real exports' crm_* tools do (workflow variant "
        "nonconformant/r1-move-by-identity.json)",
        "known gap of the real exports (crm-contract §7 #4)",
        (
            "n8n_agent_flow: A WhatsApp customer goes through the agent flow",
            "n8n_template: The live v2 workflow follows the template",
        ),
    ),
    Fault(
        "n8n-name-memory-key",
        "when the IGSID is missing the n8n flow stands the contact's name in for it, so the event "
        "passes the identity gate and its keys are built from a name (workflow variant "
        "nonconformant/r4-name-fallback.json)",
        "identity fallbacks to names (crm-contract §4.3; template rule R4)",
        ("n8n_agent_flow: A DM without a usable identifier is not handled by the agent",),
    ),
    Fault(
        "model-never-calls-tool",
        "the organisation's chat model answers every message in plain text and never calls the "
        "stage-move tool, even when the customer asks for the next step",
        "the agent's funnel moves silently lost (a model or prompt change)",
        ("n8n_agent_flow: An Instagram first DM goes through the agent flow",),
    ),
    Fault(
        "n8n-memory-by-conversation",
        "the n8n flow keys the agent's memory by the Chatwoot conversation "
        "(<source>:conversation:<id>), so a customer's next conversation starts with no memory "
        "(workflow variant nonconformant/r3-conversation-session-key.json)",
        "non-canonical memory keys (template rule R3; the real exports' conversation fallback)",
        # with a real n8n the Redis scenario catches it too (it needs a Redis the double has not)
        ("n8n_agent_flow: An Instagram first DM goes through the agent flow",),
    ),
    Fault(
        "n8n-reply-wrong-conversation",
        "the n8n flow posts its answer to conversation `body.id` — the conversation in an "
        "automation-rule body, but the message id in the account webhook's message_created "
        "(workflow variant faults/reply-to-body-id.json)",
        "the customer gets no answer, or another conversation gets it",
        ("n8n_agent_flow: The agent answers each message in the conversation it came from",),
    ),
    Fault(
        "stale-signature-accepted",
        "the webhook checks the HMAC but not the timestamp window, so a captured delivery can be "
        "replayed hours later",
        "replay attacks on the webhook (PR #13573's ±300 s window)",
        ("webhook_security: A delivery that is not genuinely signed is refused",),
    ),
    Fault(
        "malformed-payload-crash",
        "the webhook trusts the payload's shape and answers 500 when a field has the wrong type",
        "webhook 5xx on bad input: an alert threshold (webhook 5xx > 2 %) and lost events",
        ("bad_input: A malformed delivery is refused without a server error",),
    ),
    Fault(
        "api-key-not-required",
        "a public API call without X-Api-Key is served as the oldest organisation",
        "unauthenticated access to the CRM's public API",
        ("api_security: A call without an API key is refused",),
    ),
    Fault(
        "cross-tenant-deal-access",
        "deal lookups by id are not scoped to the key's organisation, so one tenant's key reads "
        "and moves another tenant's deals",
        "tenant leak through the public API (multi-org scope, checklist 1.2)",
        ("api_security: One organisation's key cannot read or move another organisation's deal",),
    ),
    Fault(
        "ai-summary-dropped",
        "a stage move stores the new stage but drops the ai_summary sent with it",
        "the agent's summary of the conversation lost on the deal (checklist 6.5)",
        ("stage_moves: A move with an AI summary stores the summary",),
    ),
    Fault(
        "crm-outage",
        "the CRM webhook answers 503 to every delivery",
        "webhook outage: Chatwoot does not retry, events are lost",
        ("webhook_recovery: A delivery lost during an outage is replayed once the CRM is back",),
    ),
)
BY_NAME = {fault.name: fault for fault in CATALOGUE}
# Faults of an organisation's own n8n workflow or model: they may be switched per organisation.
PER_ORGANISATION = frozenset(
    {
        "key-without-prefix",
        "n8n-move-by-phone",
        "n8n-name-memory-key",
        "n8n-memory-by-conversation",
        "n8n-reply-wrong-conversation",
        "model-never-calls-tool",
    }
)


class FaultState:
    """The active faults (for everyone, and per organisation) plus the outage switch the
    recovery scenario flips. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: frozenset[str] = frozenset()
        self._scoped: dict[str, frozenset[str]] = {}  # organisation slug -> its own faults
        self._outage = False
        self._outage_inboxes: frozenset[int] = frozenset()

    def set(self, names: list[str], organisation: str | None = None) -> frozenset[str]:
        """Replace the faults of the whole sandbox, or of one organisation (only faults in
        `PER_ORGANISATION`); the previous global set is returned."""
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            raise KeyError(", ".join(unknown))
        if organisation is not None:
            global_only = [n for n in names if n not in PER_ORGANISATION]
            if global_only:
                raise ValueError(
                    f"fault(s) {', '.join(global_only)} can only be switched for the whole sandbox"
                )
        with self._lock:
            previous = self._active
            if organisation is None:
                self._active = frozenset(names)
            else:
                self._scoped[organisation] = frozenset(names)
        return previous

    def clear(self) -> frozenset[str]:
        with self._lock:
            previous = self._active
            self._active = frozenset()
            self._scoped.clear()
        return previous

    def on(self, name: str, organisation: str | None = None) -> bool:
        return name in self._active or (
            organisation is not None and name in self._scoped.get(organisation, frozenset())
        )

    def for_organisation(self, organisation: str) -> frozenset[str]:
        return self._active | self._scoped.get(organisation, frozenset())

    @property
    def active(self) -> frozenset[str]:
        return self._active

    @property
    def scoped(self) -> dict[str, list[str]]:
        return {slug: sorted(names) for slug, names in self._scoped.items() if names}

    @property
    def outage(self) -> bool:
        return self._outage or "crm-outage" in self._active

    def set_outage(self, value: bool, inboxes: frozenset[int] = frozenset()) -> None:
        """On for every delivery, or only for those of some inboxes: organisations tested in
        parallel on one sandbox must not take each other down — so an inbox outage is added to
        the others on, and ended for those inboxes only (no inboxes: everything ends)."""
        with self._lock:
            if not inboxes:
                self._outage = value
                if not value:
                    self._outage_inboxes = frozenset()
            elif value:
                self._outage_inboxes |= inboxes
            else:
                self._outage_inboxes -= inboxes

    def outage_for(self, inbox_id: object) -> bool:
        return self.outage or (isinstance(inbox_id, int) and inbox_id in self._outage_inboxes)

    @property
    def partial_outage(self) -> bool:
        return bool(self._outage_inboxes)
