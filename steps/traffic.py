"""Chatwoot's real traffic (assigned conversations, bot replies, files, deliveries out of order,
older builds) and the human hand-off."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from golive.scenario import Conversations, DataFactory, Sent, SqlVerifier, customers, handoff, traffic


@when("the user sends another message in the same conversation", target_fixture="reply")
def _(conversations: Conversations, sent: Sent) -> Sent:
    return traffic.sends_another_message(conversations, sent)


@when(parsers.parse("the user's first direct message comes from {build}"), target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer, build: str) -> Sent:
    return traffic.first_dm_from_build(conversations, customer, build)


@when(
    "the user's first direct message opens a conversation Chatwoot assigned to an agent",
    target_fixture="sent",
)
def _(conversations: Conversations, customer: customers.Customer, data: DataFactory) -> Sent:
    return traffic.first_dm_auto_assigned(conversations, customer, data)


@then("the conversation is recorded as assigned to that agent")
def _(sql: SqlVerifier, sent: Sent) -> None:
    traffic.assignee_recorded(sql, sent)


@when("the organisation's agent bot replies in the conversation", target_fixture="reply")
def _(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    return traffic.bot_replies(conversations, sent, data)


@then("the reply is recorded as the agent bot's, not the customer's")
def _(sql: SqlVerifier, reply: Sent) -> None:
    traffic.bot_reply_recorded(sql, reply)


@when(parsers.parse("the user sends {media} without text"), target_fixture="reply")
def _(conversations: Conversations, sent: Sent, data: DataFactory, media: str) -> Sent:
    return traffic.sends_media(conversations, sent, media, data)


@then("the message keeps its attachment")
def _(sql: SqlVerifier, reply: Sent) -> None:
    traffic.attachment_kept(sql, reply)


@when("the user's first direct message is delivered before its conversation", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer) -> Sent:
    return traffic.first_dm_message_first(conversations, customer)


# --- the human hand-off -------------------------------------------------------------------------


@when("an agent takes the conversation over in Chatwoot", target_fixture="takeover")
def _(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    return handoff.takes_over(conversations, sent, data)


@given("an agent took the conversation over in Chatwoot", target_fixture="takeover")
def _(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    return handoff.took_over(conversations, sent, data)


@then("the CRM switches the AI off for the conversation")
def _(sql: SqlVerifier, takeover: Sent) -> None:
    handoff.switched_off(sql, takeover)


@then("the AI stays off for the conversation after the replay")
def _(sql: SqlVerifier, takeover: Sent) -> None:
    handoff.stays_off_after_replay(sql, takeover)


@when("Chatwoot reports a status change without the conversation's labels", target_fixture="update")
def _(conversations: Conversations, takeover: Sent) -> Sent:
    return handoff.status_change_without_labels(conversations, takeover)


@then("the AI stays off for the conversation after the update")
def _(sql: SqlVerifier, update: Sent) -> None:
    handoff.stays_off_after_partial_update(sql, update)
