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
    # True: the fault breaks things after the suite ran, so it is switched on after a clean run
    # and caught by the monitoring window (`golive monitor`), not by a scenario.
    after_run: bool = False

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
        (
            "instagram_first_contact: An Instagram user with no history writes for the first time",
            "instagram_first_contact: The IGSID is read from the conversation's contact inbox",
        ),
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
    # --- crm-contract §7: the real CRM's verified divergences ---------------------------------
    Fault(
        "webhook-reads-nested-shape",
        "the webhook looks for `conversation` / `message` wrappers and an inbox in `inbox.id` or "
        "`conversation.inbox_id`, which real Chatwoot events do not have: conversation events are "
        "ignored for lack of an inbox, message events are acknowledged 200 and write nothing",
        "known defect of the real CRM (crm-contract §7 #3)",
        ("chatwoot_traffic: A conversation Chatwoot opens is recorded as Chatwoot sends it",),
    ),
    Fault(
        "org-id-header-trusted",
        "an X-Organization-Id header is taken as the organisation, skipping account and inbox resolution",
        "known defect of the real CRM (crm-contract §7 #7): one header writes into another tenant",
        (
            "channel_isolation: A delivery that names another organisation in a header is filed "
            "under its inbox's organisation",
        ),
    ),
    Fault(
        "move-refuses-ai-summary",
        "a move by deal_id refuses a body with `ai_summary` (strict schema: to_stage_id, "
        "to_stage_label, mark only) with 422 Invalid payload",
        "known defect of the real CRM (crm-contract §7 #8)",
        ("stage_moves: A move with an AI summary stores the summary",),
    ),
    Fault(
        "contact-upsert-nulls-unsent",
        "POST /contacts on a known contact writes every field it was not sent as NULL (email, phone, "
        "source, avatar, status, stage, notes, role, company)",
        "known defect of the real CRM (crm-contract §7 #9)",
        ("api_records: Updating a known contact with only its phone keeps everything else",),
    ),
    Fault(
        "contact-phone-exact-match",
        "GET /contacts?phone= compares the stored text with the E.164 number, so a phone stored as "
        "'(11) 9xxxx-xxxx' is not found",
        "known defect of the real CRM (crm-contract §7 #10): phone lookups create duplicates",
        ("api_records: A customer whose phone is stored in a legacy format is found by the E.164 number",),
    ),
    Fault(
        "deal-create-unchecked",
        "POST /deals uses the contact id as sent (an unknown one fails the foreign key with 500, "
        "another organisation's one gets a deal across tenants) and answers 500 when the contact "
        "already has two open deals on the board",
        "known defect of the real CRM (crm-contract §7 #11)",
        (
            "api_records: A new deal for a customer with two open deals on the board returns one of them",
            "api_records: A deal for a contact that does not exist is refused",
            "api_records: A deal for another organisation's contact is refused",
        ),
    ),
    Fault(
        "identity-race",
        "identity resolution runs step by step without a lock (each step committed at once): "
        "concurrent first events each create a contact and the loser's identity insert fails, "
        "leaving an orphan contact; an identity a fallback claims is upserted to the last writer",
        "known defect of the real CRM (crm-contract §7 #12)",
        (
            "dm_reentry: The same delivery arrives many times at once",
            "dm_reentry: First messages that arrive at once and point at different known contacts "
            "leave one owner",
        ),
    ),
    Fault(
        "stage-move-duplicate-500",
        "a move into a stage where the deal's contact already has another open deal fails the "
        "duplicate trigger and is answered 500 DB_ERROR",
        "known defect of the real CRM (crm-contract §7 #13)",
        (
            "stage_moves: A move into a stage where the customer has another open deal is answered "
            "without a server error",
        ),
    ),
    Fault(
        "replay-reenables-ai",
        "a replayed conversation_created overwrites the link with the event's values, the AI flag "
        "(from the labels) included",
        "known defect of the real CRM (crm-contract §7 #14): a replay undoes a human hand-off",
        ("handoff: A replayed conversation event does not turn the AI back on",),
    ),
    Fault(
        "iso-created-at-500",
        "message_created reads created_at as epoch seconds; the ISO string Chatwoot sends makes an "
        "invalid date and a 500",
        "known defect of the real CRM (crm-contract §7 #15)",
        ("chatwoot_traffic: A customer's next message is cached with Chatwoot's ISO timestamp",),
    ),
    Fault(
        "placeholder-identity-accepted",
        "the identity check accepts any letters/digits as an Instagram id and any text of eight "
        "characters or more as a WhatsApp id, so `unknown` or a name becomes an identity",
        "known defect of the real CRM (crm-contract §7 #16)",
        ("identity_keys: A message whose sender id is a placeholder is not processed",),
    ),
    # --- behaviours beyond §7 -----------------------------------------------------------------
    Fault(
        "wa-id-from-phone-only",
        "the WhatsApp id is read only from meta.sender.phone_number, never from the wa_id in "
        "contact_inbox.source_id",
        "WhatsApp senders without a phone number are never resolved (as the real CRM reads them)",
        ("whatsapp_regression: A WhatsApp customer whose phone Chatwoot leaves out is recognised",),
    ),
    Fault(
        "message-replay-duplicated",
        "a replayed message_created caches the message again (no unique key) and counts it unread twice",
        "message cache not idempotent: duplicated messages in the CRM inbox",
        ("dm_reentry: A message delivered twice is stored once",),
    ),
    Fault(
        "missing-labels-reenable-ai",
        "a conversation_updated without a `labels` key is read as 'no labels' and turns the AI back on",
        "a partial update ends a human hand-off",
        ("handoff: A status change that carries no labels leaves the hand-off in place",),
    ),
    Fault(
        "whatsapp-event-dropped",
        "WhatsApp conversation and message events are answered 200 and nothing is written",
        "a WhatsApp regression that an acknowledgement hides",
        ("whatsapp_regression: A known customer writes on WhatsApp",),
    ),
    Fault(
        "new-contact-fields-wrong",
        "a contact auto-created for a WhatsApp customer stores the phone as Chatwoot's wa_id digits "
        "(no +) and the source as CHATWOOT",
        "rows written with wrong field values",
        ("channel_isolation: One person writing on WhatsApp and on Instagram gets two identities",),
    ),
    # --- Chatwoot's real traffic ----------------------------------------------------------------
    Fault(
        "assignee-not-recorded",
        "the link's assignee is read from a `conversation.assignee` key; Chatwoot sends "
        "`meta.assignee`, so an auto-assigned conversation is recorded unassigned",
        "auto-assigned conversations lose their agent (as the real CRM reads them)",
        ("chatwoot_traffic: A first message in a conversation Chatwoot already assigned keeps its agent",),
    ),
    Fault(
        "sender-type-by-email-key",
        "a message's sender is a 'user' when it has an `email` key, else a 'contact': customers "
        "become users and the agent bot a contact",
        "messages attributed to the wrong sender (as the real CRM caches them)",
        ("chatwoot_traffic: A reply from the agent bot is recorded as the bot's",),
    ),
    Fault(
        "attachments-dropped",
        "a message's attachments are cached as an empty list",
        "images and voice messages lost from the CRM inbox",
        ("chatwoot_traffic: A customer's media message is recorded with its attachment",),
    ),
    Fault(
        "early-message-dropped",
        "a message for a conversation the CRM has not linked yet is dropped",
        "messages lost when Chatwoot delivers message_created before conversation_created",
        ("chatwoot_traffic: A message that arrives before its conversation is not lost",),
    ),
    Fault(
        "org-from-top-level-account-only",
        "the account is read only from the top-level `account`, which older Chatwoot builds leave "
        "out of conversation events: their conversations are ignored as no_matching_tenant",
        "conversations lost with older Chatwoot builds (as the real CRM reads the account)",
        ("chatwoot_traffic: A first message reaches the organisation whatever the Chatwoot build",),
    ),
    Fault(
        "api-unvalidated-input",
        "the public API passes NUL bytes, lone surrogates, oversized bodies and non-uuid ids to the "
        "database, which fails with 500",
        "public API 5xx on hostile input",
        ("api_security: A hostile call to the public API is refused without a server error",),
    ),
    Fault(
        "crm-signature-scheme-legacy",
        "the webhook checks the real CRM's signature scheme: it accepts a delivery without a "
        "signature, or whose X-Chatwoot-Signature is the secret itself or 'Bearer <secret>', and "
        "answers 401 to Chatwoot's sha256= HMAC",
        "known defect of the real CRM (crm-contract §7 #6): every genuine Chatwoot delivery refused",
        ("webhook_security: A delivery signed the way Chatwoot signs is accepted",),
    ),
    Fault(
        "crm-outage",
        "the CRM webhook answers 503 to every delivery",
        "webhook outage: Chatwoot does not retry, events are lost",
        ("webhook_recovery: A delivery lost during an outage is replayed once the CRM is back",),
    ),
    Fault(
        "ui-deal-wrong-stage",
        "the board page puts every deal in its board's first stage (a broken stage lookup), so the "
        "moves the agent makes never show",
        "the CRM's screens contradict its data: the evidence screenshot would show a wrong stage",
        ("ui_evidence: A deal moved by the agent is shown in its new stage",),
    ),
    Fault(
        "ui-token-rendered",
        "Configurações → Integrações shows each channel's Chatwoot API token in clear",
        "a credential on screen, and in every screenshot taken of it",
        ("ui_evidence: The channel configuration of the organisation's inboxes is on screen",),
    ),
    Fault(
        "rls-open-policies",
        "the v2 tables get LagostaCRM's policies: 'Enable all access for authenticated users', "
        "USING (true), so any logged-in user reads every organisation's rows",
        "known defect of the real CRM (crm-contract §7 #17)",
        (
            "rls: Row-level security restricts the v2 tables by organisation",
            "rls: A user of one organisation reads none of another organisation's rows",
        ),
    ),
    Fault(
        "backfill-drops-conflicts",
        "the backfill command runs LagostaCRM's migration instead: raw phones into contact_identifiers, "
        "ON CONFLICT DO NOTHING, no WhatsApp identity and no record of the conflicts",
        "known defect of the real CRM (crm-contract §7 #18)",
        (
            "backfill: Every existing WhatsApp contact gets its identity in E.164",
            "backfill: Identity conflicts are recorded for manual review",
        ),
    ),
    Fault(
        "errors-after-run",
        "from the moment it is switched on, live traffic (one new conversation per inbox every second, "
        "sent by the sandbox) meets a failing identity resolution: each logs 'error' and its "
        "conversation is left without a contact",
        "a breakage after a green smoke (a deploy, a rotated credential): the runbook's GO needs "
        "30 min after the run without critical error",
        ("monitor: No critical error in the window after the run",),
        after_run=True,
    ),
    # --- Chatwoot's channel webhooks (the provider injection path) -----------------------------
    Fault(
        "meta-event-old-contact-inbox",
        "a conversation the Chatwoot double opens from a Meta event (Instagram, WhatsApp Cloud) is "
        "filed under the channel's previous contact inbox: its conversation_created and "
        "message_created carry another customer's source_id (IGSID / wa_id) while meta.sender is "
        "the customer who wrote",
        "Chatwoot's own processing of a channel message gone wrong: the CRM files the customer "
        "under someone else's identity, which only a message injected as Meta sends it can show",
        ("instagram_first_contact: An Instagram user with no history writes for the first time",),
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
    """The active faults — for the whole sandbox, and per organisation — and the outages
    scenarios switch on. Thread-safe.

    Whole-sandbox faults are switched by the kill matrix or `golive sandbox --fault`, never by a
    scenario. Faults of an organisation's own n8n flow and model (`PER_ORGANISATION`) may be
    switched for that organisation alone. Outages are switched by scenarios, and organisations
    under test at once share the sandbox: each owner (an organisation) holds its own outage, for
    its own inboxes, and ending it ends only that one — one organisation's outage never starts,
    hides or lifts another's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: frozenset[str] = frozenset()
        self._scoped: dict[str, frozenset[str]] = {}  # organisation slug -> its own faults
        self._outages: dict[str, frozenset[int]] = {}  # owner -> the inboxes it took down

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
        """No fault anywhere, and no outage: the previous global set is returned."""
        with self._lock:
            previous = self._active
            self._active = frozenset()
            self._scoped.clear()
            self._outages.clear()
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
        """Every delivery fails: the `crm-outage` fault."""
        return "crm-outage" in self._active

    def start_outage(self, owner: str, inboxes: frozenset[int]) -> None:
        with self._lock:
            self._outages[owner] = inboxes

    def end_outage(self, owner: str) -> None:
        with self._lock:
            self._outages.pop(owner, None)

    def outages(self) -> dict[str, frozenset[int]]:
        with self._lock:
            return dict(self._outages)

    def outage_for(self, inbox_id: object) -> bool:
        """Is the CRM webhook down for a delivery of this inbox?"""
        if self.outage:
            return True
        if not isinstance(inbox_id, int):
            return False
        with self._lock:
            return any(inbox_id in inboxes for inboxes in self._outages.values())

    @property
    def partial_outage(self) -> bool:
        with self._lock:
            return bool(self._outages)
