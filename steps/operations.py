"""The target's availability: outages and recovery (needs a target that can switch them)."""

from __future__ import annotations

from pytest_bdd import given, when

from golive.scenario import Conversations, Outage, Sent, SqlVerifier, webhooks


@given("the CRM webhook is unavailable")
def _(crm_outage: Outage) -> None:
    crm_outage.begin()


@when("the CRM webhook is back")
def _(crm_outage: Outage) -> None:
    crm_outage.end()


@when("the lost deliveries are replayed", target_fixture="replayed")
def _(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> webhooks.Replayed:
    return webhooks.replay(conversations, sql, sent)
