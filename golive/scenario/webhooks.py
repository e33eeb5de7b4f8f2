"""What the CRM webhook answered, and what a delivery wrote or must not have written.

Protocol details (status codes, `ignored` reasons) live here, behind names in the rollout's
language; a failing check says what was expected, what the CRM did, and the answers that
prove it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookAnswer
from golive.errors import WaitTimeout
from golive.scenario.injection import Conversations, Sent
from golive.waiting import eventually

_VOLATILE = {"updated_at", "last_used_at"}
# The conversation's latest message moves on whenever someone writes — the organisation's agent
# answers through Chatwoot at its own pace — so a replay is judged on it separately: it may not
# move it back nor rewrite it.
_LATEST = ("last_message_at", "last_message_sender", "last_message_preview")
INVALID_SIGNATURE = 401


ACK_GRACE_S = 1.0  # how long a write may take to show after its 2xx (a lagging read replica)
# Fields real Chatwoot sends in a shape an older handler misreads: named when an event gets a 5xx.
SUSPECTS = {
    "message_created": (
        "created_at (an ISO-8601 string, not epoch seconds)",
        "message_type (a string: incoming/outgoing/template)",
        "sender (a contact without a `type` key, or a user/agent_bot)",
        "attachments (present only with files)",
    ),
    "conversation_created": (
        "the conversation at the top level (no `conversation` wrapper)",
        "account (absent from conversation events before Chatwoot 4.15)",
        "contact_inbox.source_id (the IGSID / wa_id)",
        "meta.assignee (set when Chatwoot auto-assigns)",
    ),
}


def _shown(answers: Sequence[WebhookAnswer]) -> str:
    return "; ".join(f"{a.status} {a.body}" for a in answers[:3])


def server_error(answer: WebhookAnswer, conversation_id: int | None = None) -> str:
    """Why a 5xx matters, for the failure message: the event, the fields to suspect, and the
    sandbox's log line when there is one (the response itself is attached as evidence)."""
    about = f" for conversation {conversation_id}" if conversation_id is not None else ""
    suspects = SUSPECTS.get(answer.event, ())
    hint = f"; fields real Chatwoot sends that handlers misread: {', '.join(suspects)}" if suspects else ""
    log = f"; the sandbox logged: {answer.log_line}" if answer.log_line else ""
    return (
        f"the CRM webhook crashed on {answer.event or 'a delivery'}{about}: "
        f"{answer.status} {answer.body} (a 5xx loses the event: Chatwoot does not retry){log}{hint}"
    )


# --- acknowledged, and written ----------------------------------------------------------------


def processed(answers: Sequence[WebhookAnswer], conversation_id: int | None = None) -> None:
    crashed = [a for a in answers if a.status >= 500]
    if crashed:
        raise AssertionError(server_error(crashed[0], conversation_id))
    ignored = [a for a in answers if 200 <= a.status < 300 and a.ignored]
    if ignored:
        first = ignored[0]
        about = f" for conversation {conversation_id}" if conversation_id is not None else ""
        raise AssertionError(
            f"acknowledged but wrote nothing: the CRM answered {first.status} {first.body} to "
            f"{first.event or 'a delivery'}{about}, ignoring it as '{first.ignored}' "
            f"({len(ignored)} of {len(answers)} deliveries)"
        )
    bad = [a for a in answers if a.status != 200 or a.body.get("success") is not True]
    if bad:
        raise AssertionError(
            f"the CRM webhook did not process the event ({len(bad)} of {len(answers)} "
            f"deliveries): {_shown(bad)}"
        )


def _written(sql: SqlVerifier, sent: Sent, event: str) -> tuple[str, bool]:
    """What `event` must have written for `sent`, and whether it is there."""
    if event == "conversation_created":
        return (
            f"no messaging_conversation_links row for conversation {sent.conversation_id}",
            bool(sql.links(sent.conversation_id)),
        )
    if event == "message_created":
        return (
            f"no messaging_messages_cache row for message {sent.message.id}",
            bool(sql.cached_messages(sent.message.id)),
        )
    return "", True


def written(sent: Sent, sql: SqlVerifier, answers: Sequence[WebhookAnswer] | None = None) -> None:
    """Accepted means written: every event answered 2xx left its row, checked at once (with a
    short grace for a read replica) — not when a later check times out. Events Chatwoot
    delivered itself are judged by their rows, waited for."""
    if answers is None and sent.delivered_by_chatwoot:
        for event in dict.fromkeys(d.event for d in sent.deliveries) or ("conversation_created",):
            delivered_written(sent, sql, event)
        return
    given = answers if answers is not None else sent.answers
    processed(given, sent.conversation_id)
    for event in dict.fromkeys(a.event for a in given):
        missing, present = _written(sql, sent, event)
        if present:
            continue
        try:
            eventually(
                partial(_written, sql, sent, event),
                lambda found: found[1],
                timeout=min(ACK_GRACE_S, sql.timeout_s),
                what=missing,
            )
        except WaitTimeout:
            answer = next(a for a in given if a.event == event)
            raise AssertionError(
                f"acknowledged but wrote nothing: the CRM answered {answer.status} {answer.body} to "
                f"{event} for conversation {sent.conversation_id}, but there is {missing}"
            ) from None


def delivered_written(sent: Sent, sql: SqlVerifier, event: str) -> None:
    """What Chatwoot's own delivery of `event` must have written, waited for. When it does not
    show, the suite re-delivers the same event itself to see why — the CRM's answer names the
    problem (a crash, an event ignored or acknowledged and dropped), or, if the CRM takes the
    re-delivery, Chatwoot never delivered it."""
    missing, present = _written(sql, sent, event)
    if present:
        return
    try:
        eventually(
            partial(_written, sql, sent, event),
            lambda found: found[1],
            timeout=sql.timeout_s,
            what=missing,
        )
        return
    except WaitTimeout:
        pass
    delivery = next((d for d in sent.deliveries if d.event == event), None)
    waited = f"{sql.timeout_s:.0f}s after Chatwoot took the message in ({sent.via})"
    if sent.resend is None or delivery is None:
        raise AssertionError(
            f"the CRM wrote nothing for Chatwoot's {event} of conversation {sent.conversation_id}: "
            f"{waited} there is {missing}"
        )
    answer = sent.resend(delivery)
    processed([answer], sent.conversation_id)
    if not _written(sql, sent, event)[1]:
        raise AssertionError(
            f"acknowledged but wrote nothing: {waited} there is {missing}; the same {event}, "
            f"re-delivered by the suite, was answered {answer.status} {answer.body} and still "
            "wrote nothing"
        )
    raise AssertionError(
        f"Chatwoot's {event} for conversation {sent.conversation_id} never reached the CRM: {waited} "
        f"there was {missing}, and the same event re-delivered by the suite was accepted and "
        "written — Chatwoot did not deliver it (check the account webhook's URL, its "
        "subscriptions and Chatwoot's delivery log)"
    )


def accepted(sent: Sent, sql: SqlVerifier) -> None:
    """The CRM took the conversation: each delivery answered 2xx and wrote its row when the suite
    delivered it; the rows themselves when Chatwoot did (its answers are not observable)."""
    if not sent.delivered_by_chatwoot:
        written(sent, sql)
        return
    delivered_written(sent, sql, "conversation_created")


def recorded(sent: Sent, sql: SqlVerifier) -> None:
    """The conversation and its message are both in the CRM (link and cache row)."""
    accepted(sent, sql)
    if sent.delivered_by_chatwoot:
        delivered_written(sent, sql, "message_created")
    missing = [
        what
        for what, present in (
            (f"the link of conversation {sent.conversation_id}", bool(sql.links(sent.conversation_id))),
            (f"the cache row of message {sent.message.id}", bool(sql.cached_messages(sent.message.id))),
        )
        if not present
    ]
    if missing:
        raise AssertionError(
            f"acknowledged but wrote nothing: after {len(sent.answers)} accepted deliveries the CRM "
            f"holds no {' and no '.join(missing)}"
        )


def settled(sent: Sent, sql: SqlVerifier) -> None:
    """Before reading what the CRM made of a message Chatwoot delivered itself: wait until the
    CRM holds its conversation and message (a delivery the suite made was already answered)."""
    if sent.delivered_by_chatwoot:
        recorded(sent, sql)


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
    if answer.status in (401, 403):
        raise AssertionError(
            f"the CRM webhook refused {what} as unauthorised ({answer.status} {answer.body}), but the "
            "delivery was correctly signed: the body is what is wrong (crm-contract §3.1: 400)"
        )
    allowed = _REFUSALS.get(what)
    if allowed and answer.status not in allowed:
        raise AssertionError(
            f"the CRM webhook refused {what} with {answer.status} {answer.body}; expected one of "
            f"{sorted(allowed)} (crm-contract §3.1)"
        )
    if what == _NOT_JSON and answer.body.get("error") != "Invalid JSON payload":
        raise AssertionError(
            f"the CRM webhook refused {what} with {answer.body}, expected "
            '{"error": "Invalid JSON payload"} (crm-contract §3.1 step 3)'
        )


# The defects whose refusal the contract (or HTTP) pins down: a body that is not JSON is a 400
# (§3.1 step 3); a body too large or not JSON at all may also say so (413, 415).
_NOT_JSON = "a body that is not JSON"
_REFUSALS: dict[str, frozenset[int]] = {
    _NOT_JSON: frozenset({400}),
    "an oversized body": frozenset({400, 413}),
    "a form-encoded body instead of JSON": frozenset({400, 415}),
}


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


def nothing_written_in(other: SqlVerifier, conversation_id: int) -> None:
    """Another organisation holds nothing for this conversation."""
    count = other.written_for_conversation(conversation_id)
    if count:
        raise AssertionError(
            f"tenant leak: {count} row(s) for conversation {conversation_id} were written in "
            "another organisation, the one an X-Organization-Id header named (the header was "
            "trusted over the account and inbox)"
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
    settled(sent, sql)
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


# --- one message delivered twice ------------------------------------------------------------------


@dataclass(frozen=True)
class Twice:
    """The customer's next message, then the very same delivery again."""

    sent: Sent
    unread_after_first: int
    again: tuple[WebhookAnswer, ...]


def next_message_twice(conversations: Conversations, sql: SqlVerifier, previous: Sent) -> Twice:
    sent = conversations.next_message(previous, "Posso levar meu cachorro?")
    written(sent, sql)
    links = sql.links(sent.conversation_id)
    unread = links[0].unread_count if links else -1
    return Twice(sent, unread, conversations.replay(sent))


def stored_once(sql: SqlVerifier, twice: Twice) -> None:
    processed(twice.again, twice.sent.conversation_id)
    rows = sql.cached_messages(twice.sent.message.id)
    if len(rows) != 1:
        raise AssertionError(
            f"message {twice.sent.message.id}, delivered twice, has {len(rows)} rows in "
            "messaging_messages_cache; expected one (a replayed message_created must store nothing)"
        )
    links = sql.links(twice.sent.conversation_id)
    unread = links[0].unread_count if links else None
    if unread != twice.unread_after_first:
        raise AssertionError(
            f"the replayed message changed the conversation's unread count from "
            f"{twice.unread_after_first} to {unread}: a message delivered twice was counted twice"
        )
