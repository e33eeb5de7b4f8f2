"""Which signature scheme the CRM webhook verifies, told apart without writing anything.

Chatwoot signs a delivery with `X-Chatwoot-Signature: sha256=<hex HMAC(secret, "<ts>.<body>")>`
(crm-contract §3.1). The real CRM checks another scheme (§7 #6): it accepts a missing header,
the secret itself or `Bearer <secret>`, and answers 401 to Chatwoot's HMAC. A 401 to a delivery
signed as Chatwoot signs therefore means one of two things, and the fix differs:

* the secret is wrong — no form of it is accepted;
* the scheme is not Chatwoot's — the secret itself, or no signature at all, is accepted.

The probes are deliveries of an event no CRM processes: it names no Chatwoot account, so the
CRM ignores it (`no_matching_tenant`) whatever signature it carries. Further probes are sent
only when the first is refused, so a healthy webhook sees exactly one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

from golive.clients.webhook import Signing, WebhookAnswer, WebhookEmitter
from golive.scenario.data import Person
from golive.scenario.injection import Conversations, Sent
from golive.scenario.webhooks import processed

PROBE_EVENT = "golive_signature_probe"
REFUSED = 401
SCHEME_NOT_CHATWOOTS = "signature scheme not Chatwoot's"

Verdict = Literal["chatwoot", "legacy", "scheme_not_chatwoot", "wrong_secret", "unverifiable"]


def probe_payload() -> dict[str, Any]:
    """An event without an account: every CRM acknowledges it and writes nothing."""
    return {"event": PROBE_EVENT, "id": secrets.randbelow(10**9), "golive": "signature probe, ignored"}


@dataclass(frozen=True)
class SchemeProbe:
    """What the webhook answered to the same probe signed each way (None: not sent)."""

    chatwoot_hmac: WebhookAnswer
    secret_itself: WebhookAnswer | None = None
    unsigned: WebhookAnswer | None = None

    @property
    def verdict(self) -> Verdict:
        if _ok(self.chatwoot_hmac):
            return "chatwoot"
        if self.chatwoot_hmac.status != REFUSED:
            return "unverifiable"
        if _ok(self.secret_itself) or _ok(self.unsigned):
            return "scheme_not_chatwoot"
        return "wrong_secret"

    def accepts(self) -> str:
        """What the CRM accepts instead of Chatwoot's signature, in words."""
        forms = []
        if _ok(self.secret_itself):
            forms.append("the secret itself as the signature")
        if _ok(self.unsigned):
            forms.append("a delivery without any signature")
        return " and ".join(forms)

    def explain(self, secret_setting: str) -> str:
        """One line: what the probes showed and what to do."""
        verdict = self.verdict
        if verdict == "scheme_not_chatwoot":
            wrong_too = (
                f" (and refuses the secret in {secret_setting} itself, so it is not the CRM's secret either)"
                if self.secret_itself is not None and not _ok(self.secret_itself)
                else ""
            )
            return (
                f"{SCHEME_NOT_CHATWOOTS}: the CRM webhook answers {REFUSED} to Chatwoot's sha256= HMAC "
                f"signature but accepts {self.accepts()}{wrong_too} (crm-contract §7 #6); every "
                "delivery from a real Chatwoot would be refused — fix the CRM's signature check "
                "(lib/chatwoot/webhooks.ts validateWebhookSignature) before go-live"
            )
        if verdict == "wrong_secret":
            return (
                f"the CRM webhook refuses the secret in {secret_setting} in every form (Chatwoot's "
                f"sha256= HMAC, the secret itself): wrong secret; set {secret_setting} to the CRM's "
                "CHATWOOT_WEBHOOK_SECRET (the secret of the Chatwoot webhook that points at the CRM)"
            )
        if verdict == "unverifiable":
            answer = self.chatwoot_hmac
            return (
                f"the CRM webhook answered {answer.status} {answer.body} to a signed probe, so the "
                "signature could not be checked"
            )
        return "the CRM webhook accepts deliveries signed as Chatwoot signs them"


def _ok(answer: WebhookAnswer | None) -> bool:
    return answer is not None and 200 <= answer.status < 300


def diagnose(webhook: WebhookEmitter) -> SchemeProbe:
    """Probe the webhook with Chatwoot's HMAC; only if that is refused, with the other forms."""
    payload = probe_payload()
    hmac = webhook.deliver(payload, signing=Signing.CHATWOOT_HMAC)
    if hmac.status != REFUSED:
        return SchemeProbe(hmac)
    itself = webhook.deliver(payload, signing=Signing.SECRET_ITSELF)
    unsigned = None if _ok(itself) else webhook.deliver(payload, signing=Signing.NONE)
    return SchemeProbe(hmac, itself, unsigned)


def legacy_accepted(webhook: WebhookEmitter) -> WebhookAnswer:
    """The probe signed in the legacy form (the secret itself), for legacy-mode profiles."""
    return webhook.deliver(probe_payload(), signing=Signing.SECRET_ITSELF)


# --- the scenario of crm-contract §7 #6 ---------------------------------------------------------


def first_dm_signed_as_chatwoot(conversations: Conversations, person: Person) -> Sent:
    """A first Instagram DM whose deliveries carry Chatwoot's own signature (sha256= HMAC over
    "<ts>.<body>"), whatever signature mode the profile declares."""
    return conversations.first_message("instagram", person, "Oi!", signing=Signing.CHATWOOT_HMAC)


def accepted_as_chatwoot_signs(sent: Sent, webhook: WebhookEmitter) -> None:
    """Every delivery signed exactly as Chatwoot signs was processed; a refusal says which
    scheme the CRM checks instead (or that the secret is wrong)."""
    refused = [a for a in sent.answers if a.status == REFUSED]
    if refused:
        probe = diagnose(webhook)
        why = probe.explain("the profile's webhook secret")
        raise AssertionError(
            f"the CRM refused {len(refused)} of {len(sent.answers)} deliveries signed as Chatwoot "
            f"signs them ({REFUSED} {refused[0].body}): {why}"
        )
    processed(sent.answers)
