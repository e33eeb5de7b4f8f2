"""The `provider` path on the suite's side: Meta's event shapes and signature, the client that
posts them to Chatwoot's channel webhooks, and how `Conversations` injects a message through
them and reads back what Chatwoot made of it (respx stands in for Chatwoot)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
import respx

from golive.clients.channels import ChannelWebhooks
from golive.clients.chatwoot import ChatwootClient
from golive.clients.http import build_client
from golive.clients.webhook import WebhookEmitter
from golive.errors import ConfigError
from golive.organisation import Organisation
from golive.payloads import meta
from golive.scenario.data import DataFactory, Person
from golive.scenario.injection import Conversations
from golive.scenario.provider import Provider
from golive.secrets import Secret

CHATWOOT = "http://chatwoot.test"
CRM = "http://crm.test"
IG_ACCOUNT = "17841499000000031"
IG_SECRET, WA_SECRET = "ig-app-secret-1", "wa-app-secret-2"
IGSID = "17841400000000777"
CONVERSATIONS = f"{CHATWOOT}/api/v1/accounts/7/conversations"

PROVIDER_SETTINGS = {
    "inject_instagram": "provider",
    "inject_whatsapp": "provider",
    "base_url": CHATWOOT,
    "api_token_env": "CW_TOKEN",
    "instagram_account_id": IG_ACCOUNT,
    "whatsapp_phone_number": "+5511300000030",
    "whatsapp_phone_number_id": "110000000000030",
    "instagram_app_secret_env": "IG_SECRET",
    "whatsapp_app_secret_env": "WA_SECRET",
    "allow_provider_injection": True,
}
ENV = {"CW_TOKEN": "cw-token", "IG_SECRET": IG_SECRET, "WA_SECRET": WA_SECRET, "HOOK": "hook-secret"}


# --- Meta's events -------------------------------------------------------------------------------


def test_an_instagram_dm_is_shaped_as_meta_sends_it() -> None:
    event = meta.instagram_message(
        account_id=IG_ACCOUNT, igsid=IGSID, mid="m1", text="Olá, ação!", timestamp_ms=5
    )

    assert event.payload == {
        "object": "instagram",
        "entry": [
            {
                "time": 5,
                "id": IG_ACCOUNT,
                "messaging": [
                    {
                        "sender": {"id": IGSID},
                        "recipient": {"id": IG_ACCOUNT},
                        "timestamp": 5,
                        "message": {"mid": "m1", "text": "Olá, ação!"},
                    }
                ],
            }
        ],
    }
    assert b"\\u00e7\\u00e3o" in event.body  # Meta escapes non-ASCII
    assert event.body.isascii()


def test_an_echo_swaps_sender_and_recipient_and_a_read_or_unsend_names_the_mid() -> None:
    echo = meta.instagram_echo(account_id=IG_ACCOUNT, igsid=IGSID, mid="m2", text="Oi", timestamp_ms=1)
    read = meta.instagram_read(account_id=IG_ACCOUNT, igsid=IGSID, mid="m2", timestamp_ms=2)
    unsent = meta.instagram_deleted(account_id=IG_ACCOUNT, igsid=IGSID, mid="m3", timestamp_ms=3)

    messaging = echo.payload["entry"][0]["messaging"][0]
    assert (messaging["sender"]["id"], messaging["recipient"]["id"]) == (IG_ACCOUNT, IGSID)
    assert messaging["message"]["is_echo"] is True
    assert read.payload["entry"][0]["messaging"][0]["read"] == {"mid": "m2"}
    assert unsent.payload["entry"][0]["messaging"][0]["message"] == {"mid": "m3", "is_deleted": True}


def test_a_whatsapp_cloud_message_names_the_number_without_plus_and_times_as_strings() -> None:
    event = meta.whatsapp_text(
        phone_number="+5511300000030",
        phone_number_id="110",
        wa_id="5511912345678",
        name="Carlos",
        wamid="wamid.X",
        text="Boa tarde",
        timestamp_s=1781092980,
    )

    change = event.payload["entry"][0]["changes"][0]
    assert event.payload["object"] == "whatsapp_business_account"
    assert change["field"] == "messages"
    assert change["value"]["metadata"] == {"display_phone_number": "5511300000030", "phone_number_id": "110"}
    assert change["value"]["contacts"] == [{"profile": {"name": "Carlos"}, "wa_id": "5511912345678"}]
    assert change["value"]["messages"][0]["timestamp"] == "1781092980"
    failed = meta.whatsapp_status(
        phone_number="+5511300000030",
        phone_number_id="110",
        wa_id="5511912345678",
        wamid="wamid.Y",
        status="failed",
        timestamp_s=1,
        error=(131047, "Re-engagement message"),
    )
    assert failed.payload["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] == [
        {"code": 131047, "title": "Re-engagement message"}
    ]


def test_the_signature_is_the_hmac_of_the_exact_bytes() -> None:
    body = b'{"object":"instagram"}'

    signed = meta.headers(body, "app-secret")

    expected = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert signed[meta.SIGNATURE_HEADER] == f"sha256={expected}"
    assert meta.SIGNATURE_HEADER not in meta.headers(body, None)


# --- the client ----------------------------------------------------------------------------------


def _channels(secrets: dict[meta.MetaChannel, Secret | None]) -> ChannelWebhooks:
    http = build_client("chatwoot-channel", base_url=CHATWOOT, timeout=2)
    return ChannelWebhooks(
        http=http, organisation="coronel", whatsapp_phone_number="+5511300000030", app_secrets=secrets
    )


def test_the_client_posts_each_channel_to_its_webhook_signed_with_its_app(
    respx_mock: respx.MockRouter,
) -> None:
    instagram = respx_mock.post(f"{CHATWOOT}/webhooks/instagram").mock(
        return_value=httpx.Response(200, json="ok")
    )
    whatsapp = respx_mock.post(f"{CHATWOOT}/webhooks/whatsapp/%2B5511300000030").mock(
        return_value=httpx.Response(200)
    )
    channels = _channels({"instagram": Secret("IG", IG_SECRET), "whatsapp": None})
    dm = meta.instagram_message(account_id=IG_ACCOUNT, igsid=IGSID, mid="m", text="t", timestamp_ms=1)
    text = meta.whatsapp_text(
        phone_number="+5511300000030",
        phone_number_id="1",
        wa_id="5511",
        name="n",
        wamid="w",
        text="t",
        timestamp_s=1,
    )

    assert channels.post(dm).accepted and channels.post(text).accepted
    unsigned = channels.post(dm, signed=False)

    sent = instagram.calls[0].request
    assert sent.content == dm.body
    assert sent.headers[meta.SIGNATURE_HEADER] == meta.hub_signature(IG_SECRET, dm.body)
    assert meta.SIGNATURE_HEADER not in whatsapp.calls[0].request.headers
    assert unsigned.accepted and meta.SIGNATURE_HEADER not in instagram.calls[1].request.headers


# --- injection through Chatwoot's channel webhook ------------------------------------------------


def _conversations(org: Organisation) -> tuple[Conversations, httpx.Client]:
    cw = build_client("chatwoot", base_url=CHATWOOT, timeout=2, headers={"api_access_token": "cw-token"})
    hook = build_client("crm-webhook", base_url=CRM, timeout=2)
    emitter = WebhookEmitter(
        http=hook, organisation=org.slug, path="/api/chatwoot/webhook", secret=org.webhook_secret
    )
    api = ChatwootClient(http=cw, organisation=org.slug, account_id=org.account_id)
    channels = ChannelWebhooks(
        http=build_client("chatwoot-channel", base_url=CHATWOOT, timeout=2),
        organisation=org.slug,
        whatsapp_phone_number=org.meta.whatsapp_phone_number,
        app_secrets={"instagram": org.meta.instagram_app_secret, "whatsapp": org.meta.whatsapp_app_secret},
    )
    provider = Provider(organisation=org, channels=channels, chatwoot_api=api, run_id="r1")
    data = DataFactory("r1", seed=1)
    return Conversations(
        organisation=org, crm_webhook=emitter, data=data, chatwoot_api=api, provider=provider
    ), hook


def _org(make_org: Any, *, environment: str = "sandbox", timeout_ms: int = 2000) -> Organisation:
    org: Organisation = make_org(
        dict(ENV),
        chatwoot=dict(PROVIDER_SETTINGS),
        crm={"webhook_secret_env": "HOOK", "timeout_ms": timeout_ms},
    )
    return org if environment == "staging" else _with_environment(org, environment)


def _with_environment(org: Organisation, environment: str) -> Organisation:
    from dataclasses import replace

    return replace(org, environment=environment)


def _chatwoot_holds(
    respx_mock: respx.MockRouter,
    posted: respx.Route,
    *,
    same_mid: bool = True,
    link: str = IGSID,
    name: str = "Unknown",
) -> None:
    """Chatwoot as it is after taking the event in: conversation 5001 of contact 3001 holds the
    posted message (or, `same_mid=False`, only another one)."""
    conversation = {
        "id": 5001,
        "inbox_id": 31,
        "status": "open",
        "labels": [],
        "created_at": 1781092800,
        "unread_count": 1,
        "meta": {"sender": {"id": 3001, "name": name, "phone_number": None, "additional_attributes": {}}},
    }
    respx_mock.get(CONVERSATIONS).mock(
        return_value=httpx.Response(200, json={"data": {"meta": {}, "payload": [conversation]}})
    )

    def messages(_: httpx.Request) -> httpx.Response:
        event = json.loads(posted.calls[-1].request.content)
        mid = event["entry"][0]["messaging"][0]["message"]["mid"] if same_mid else "another-mid"
        message = {"id": 90001, "content": "Oi!", "source_id": mid, "created_at": 1781092800}
        return httpx.Response(200, json={"meta": {}, "payload": [message]})

    respx_mock.get(f"{CONVERSATIONS}/5001/messages").mock(side_effect=messages)
    contact = {"id": 3001, "name": name, "contact_inboxes": [{"source_id": link, "inbox": {"id": 31}}]}
    respx_mock.get(f"{CHATWOOT}/api/v1/accounts/7/contacts/3001").mock(
        return_value=httpx.Response(200, json={"payload": contact})
    )


def test_a_first_dm_goes_through_chatwoots_channel_webhook_and_chatwoots_record_is_the_oracle(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    org = _org(make_org)
    conversations, _ = _conversations(org)
    posted = respx_mock.post(f"{CHATWOOT}/webhooks/instagram").mock(
        return_value=httpx.Response(200, json="ok")
    )
    _chatwoot_holds(respx_mock, posted, name=f"Unknown (IG: {IGSID})")
    crm = respx_mock.post(f"{CRM}/api/chatwoot/webhook")

    sent = conversations.first_message(
        "instagram", Person("Ana [golive r1]", igsid=IGSID), "Oi! Vocês abrem no domingo?"
    )

    event = json.loads(posted.calls[0].request.content)
    messaging = event["entry"][0]["messaging"][0]
    assert (messaging["sender"]["id"], messaging["recipient"]["id"]) == (IGSID, IG_ACCOUNT)
    assert posted.calls[0].request.headers[meta.SIGNATURE_HEADER].startswith("sha256=")
    assert sent.via == "provider" and sent.delivered_by_chatwoot
    assert (sent.conversation_id, sent.message.id, sent.conversation.contact.id) == (5001, 90001, 3001)
    assert sent.conversation.source_id == IGSID
    assert sent.person.name == f"Unknown (IG: {IGSID})"  # as Chatwoot named the contact
    assert [d.event for d in sent.deliveries] == ["conversation_created", "message_created"]
    assert sent.answers == () and not crm.called  # Chatwoot delivers, not the suite


def test_a_refused_signature_names_the_app_secret_setting(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    conversations, _ = _conversations(_org(make_org))
    respx_mock.post(f"{CHATWOOT}/webhooks/instagram").mock(return_value=httpx.Response(401))

    with pytest.raises(
        AssertionError, match=r"401.*X-Hub-Signature-256.*IG_SECRET \(chatwoot\.instagram_app_secret_env"
    ):
        conversations.first_message("instagram", Person("Ana", igsid=IGSID), "Oi")


def test_an_event_chatwoot_never_files_says_why_chatwoot_drops_events(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    conversations, _ = _conversations(_org(make_org, timeout_ms=50))
    posted = respx_mock.post(f"{CHATWOOT}/webhooks/instagram").mock(
        return_value=httpx.Response(200, json="ok")
    )
    _chatwoot_holds(respx_mock, posted, same_mid=False)

    with pytest.raises(AssertionError, match=r"filed no message.*profile Chatwoot could not fetch"):
        conversations.first_message("instagram", Person("Ana", igsid=IGSID), "Oi")


def test_a_message_filed_under_another_customers_inbox_link_is_named(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    conversations, _ = _conversations(_org(make_org))
    posted = respx_mock.post(f"{CHATWOOT}/webhooks/instagram").mock(
        return_value=httpx.Response(200, json="ok")
    )
    _chatwoot_holds(respx_mock, posted, link="17841400000000031")

    with pytest.raises(AssertionError, match="another customer's contact inbox"):
        conversations.first_message("instagram", Person("Ana", igsid=IGSID), "Oi")


def test_on_a_staging_meta_events_name_only_the_profiles_test_accounts(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    conversations, _ = _conversations(_org(make_org, environment="staging"))
    posted = respx_mock.post(f"{CHATWOOT}/webhooks/instagram")

    with pytest.raises(ConfigError, match=r"test\.provider_senders"):
        conversations.first_message("instagram", Person("Ana", igsid=IGSID), "Oi")
    assert not posted.called


def test_a_shape_no_channel_would_send_is_delivered_by_the_suite(
    make_org: Any, respx_mock: respx.MockRouter
) -> None:
    conversations, _ = _conversations(_org(make_org))
    channel = respx_mock.post(f"{CHATWOOT}/webhooks/whatsapp/%2B5511300000030")
    crm = respx_mock.post(f"{CRM}/api/chatwoot/webhook").mock(
        return_value=httpx.Response(200, json={"success": True})
    )
    person = Person("Carlos", phone="+5511912345678")
    no_phone = conversations.conversation("whatsapp", person).with_sender_ids(
        source_id="5511912345678", phone_number=None
    )

    sent = conversations.first_message("whatsapp", person, "Boa tarde", conversation=no_phone)

    assert sent.via == "delivery" and crm.call_count == 2 and not channel.called
