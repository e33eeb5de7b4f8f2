"""What the CRM webhook answered, and what a delivery wrote or must not have written.

Protocol details (status codes, `ignored` reasons) live here, behind names in the rollout's
language; a failing check says what was expected, what the CRM did, and the answers that
prove it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookAnswer
from golive.scenario.injection import Conversations, Sent
from golive.waiting import eventually

_VOLATILE = {"updated_at", "last_used_at"}
# The conversation's latest message moves on whenever someone writes — the organisation's agent
# answers through Chatwoot at its own pace — so a replay is judged on it separately: it may not
# move it back nor rewrite it.
_LATEST = ("last_message_at", "last_message_sender", "last_message_preview")
INVALID_SIGNATURE = 401


def _shown(answers: Sequence[WebhookAnswer]) -> str:
    return "; ".join(f"{a.status} {a.body}" for a in answers[:3])


# --- acknowledged ------------------------------------------------------------------------------


def processed(answers: Sequence[WebhookAnswer]) -> None:
    bad = [a for a in answers if a.status != 200 or a.ignored or a.body.get("success") is not True]
    if bad:
        raise AssertionError(
            f"the CRM webhook did not process the event ({len(bad)} of {len(answers)} "
            f"deliveries): {_shown(bad)}"
        )


def accepted(sent: Sent, sql: SqlVerifier) -> None:
    """The CRM took the conversation: from the webhook's answers when the suite delivered it,
    from the CRM's data when Chatwoot did (its delivery answers are not observable)."""
    if sent.via != "chatwoot":
        processed(sent.answers)
        return
    eventually(
        lambda: sql.links(sent.conversation_id),
        bool,
        timeout=sql.timeout_s,
        what=f"the CRM to link conversation {sent.conversation_id}, which Chatwoot delivered",
    )


def all_accepted(sents: Sequence[Sent], sql: SqlVerifier) -> None:
    for sent in sents:
        accepted(sent, sql)


def acknowledged_not_processed(answer: WebhookAnswer) -> None:
    if answer.status != 200 or answer.body.get("success") is not True:
        raise AssertionError(
            f"expected the CRM to acknowledge an unhandled event with 200 success, got "
            f"{answer.status} {answer.body}"
        )


# --- refused or ignored ------------------------------------------------------------------------


def refused_as_not_genuine(sent: Sent) -> None:
    wrong = [a for a in sent.answers if a.status != INVALID_SIGNATURE]
    if wrong:
        raise AssertionError(
            f"expected the CRM webhook to refuse the delivery with {INVALID_SIGNATURE} (invalid "
            f"signature), but it answered: {_shown(wrong)}"
        )


def ignored(answers: Sequence[WebhookAnswer], why: str) -> None:
    wrong = [a for a in answers if a.status != 200 or a.ignored != why]
    if wrong:
        raise AssertionError(
            f"expected the CRM to ignore the event as '{why}', but it answered: {_shown(wrong)}"
        )


def ignored_as_foreign_inbox(sent: Sent) -> None:
    ignored(sent.answers, "foreign_inbox")


def ignored_for_lack_of_inbox(answer: WebhookAnswer) -> None:
    ignored([answer], "no_inbox_context")


def client_error(answer: WebhookAnswer, what: str) -> None:
    if answer.status >= 500:
        raise AssertionError(
            f"the CRM webhook crashed on {what}: {answer.status} {answer.body} (a malformed "
            "delivery must get a 4xx, never a 5xx)"
        )
    if not 400 <= answer.status < 500:
        raise AssertionError(
            f"the CRM webhook accepted {what} with {answer.status} {answer.body}; expected a 4xx refusal"
        )


def secret_configured(status: dict[str, Any]) -> None:
    if status.get("secretConfigured") is not True:
        raise AssertionError(
            f"the CRM webhook endpoint reports no signature secret: {status} (T-2 requires "
            "CHATWOOT_WEBHOOK_SECRET)"
        )


# --- nothing written ---------------------------------------------------------------------------


def nothing_written(sql: SqlVerifier, conversation_id: int) -> None:
    count = sql.rows_for_conversation(conversation_id)
    if count:
        raise AssertionError(
            f"the refused delivery still wrote {count} row(s) for conversation {conversation_id}"
        )


def delivery_failed(sql: SqlVerifier, sent: Sent) -> None:
    ok = [a for a in sent.answers if 200 <= a.status < 300]
    if ok:
        raise AssertionError(
            f"the CRM was meant to be unavailable, but it accepted {len(ok)} delivery(ies): "
            f"{ok[0].status} {ok[0].body}"
        )
    nothing_written(sql, sent.conversation_id)


# --- replays: "nothing recorded before the replay has changed" ---------------------------------


@dataclass(frozen=True)
class Snapshot:
    link: dict[str, Any]
    identities: list[Any]
    contact: dict[str, Any] | None
    messages: int


@dataclass(frozen=True)
class Replayed:
    before: Snapshot
    answers: tuple[WebhookAnswer, ...]


def snapshot(sql: SqlVerifier, sent: Sent, contact_id: str | None) -> Snapshot:
    links = sql.links(sent.conversation_id)
    link = {k: v for k, v in links[0].row.items() if k not in _VOLATILE} if links else {}
    contact = sql.contact(contact_id) if contact_id else None
    if contact:
        contact = {k: v for k, v in contact.items() if k not in _VOLATILE}
    identities = list(sql.identities_of_contact(contact_id)) if contact_id else []
    return Snapshot(link, identities, contact, sql.message_count(sent.message.id))


def replay(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> Replayed:
    links = sql.links(sent.conversation_id)
    before = snapshot(sql, sent, links[0].contact_id if links else None)
    return Replayed(before, conversations.replay(sent))


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _latest_unharmed(before: dict[str, object], after: dict[str, object]) -> None:
    then, now = _moment(before.get("last_message_at")), _moment(after.get("last_message_at"))
    changed = {k: (before.get(k), after.get(k)) for k in _LATEST if before.get(k) != after.get(k)}
    if then is not None and (now is None or now < then or (now == then and changed)):
        raise AssertionError(
            "the replay moved the conversation's latest message back or rewrote it: "
            f"{changed} (before → after)"
        )


def unchanged_by_replay(sql: SqlVerifier, sent: Sent, replayed: Replayed) -> None:
    before = replayed.before
    after = snapshot(sql, sent, before.link.get("contact_id"))
    _latest_unharmed(before.link, after.link)
    kept = {k: v for k, v in before.link.items() if k not in _LATEST}
    now = {k: v for k, v in after.link.items() if k not in _LATEST}
    if kept != now:
        diff = {k: (kept.get(k), now.get(k)) for k in set(kept) | set(now) if kept.get(k) != now.get(k)}
        raise AssertionError(f"the replay changed the conversation link: {diff} (before → after)")
    if before.identities != after.identities:
        raise AssertionError(
            f"the replay changed the contact's identities: {before.identities} → {after.identities}"
        )
    if before.contact != after.contact:
        raise AssertionError("the replay changed the contact")
    if before.messages != after.messages:
        raise AssertionError(
            f"the replay cached the message {after.messages} times, expected {before.messages}"
        )
