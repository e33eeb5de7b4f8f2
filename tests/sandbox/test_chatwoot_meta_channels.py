"""Contract tests of the Chatwoot double's Meta channel webhooks (`POST /webhooks/instagram`,
`POST /webhooks/whatsapp/{phone_number}`): what Chatwoot makes of Meta's events — the channel,
the contact and its inbox link, the conversation, the message — and the webhooks it delivers.

The Meta payloads are written out here by hand (not with the suite's builders): the double and
the suite are two implementations of one contract.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.chatwoot import AccountSetup, ChatwootDouble, ContactSetup, InboxSetup, WebhookSetup
from golive.sandbox.servers import RunningServer, serve
from golive.waiting import eventually

TOKEN = "cw-meta-" + secrets.token_hex(8)
ACCOUNT, WA, IG = 7, 30, 31
IG_ACCOUNT = "17841499000000031"
WA_NUMBER, WA_NUMBER_ID = "+5511300000030", "110000000000030"
KNOWN_IGSID, KNOWN_WA = "17841400000000031", "5511987654321"
EVENTS = (
    "conversation_created",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
)


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.server: RunningServer | None = None

    async def _handle(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        with self._lock:
            self.events.append(body)
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{rest:path}", self._handle, methods=["POST"])])

    def named(self, event: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") == event]

    def wait(self, event: str, count: int) -> list[dict[str, Any]]:
        return eventually(
            lambda: self.named(event), lambda got: len(got) >= count, timeout=10, what=f"{count} {event}"
        )


@dataclass
class Meta:
    double: ChatwootDouble
    url: str
    receiver: Receiver
    api: httpx.Client
    secrets: dict[str, str]
    faults: set[str]

    def post(
        self, path: str, payload: Any, *, secret: str | None = "", raw: bytes | None = None
    ) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()
        channel = "instagram" if path.endswith("instagram") else "whatsapp"
        key = self.secrets[channel] if secret == "" else secret
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            )
        with httpx.Client(base_url=self.url, timeout=10) as client:
            return client.post(path, content=body, headers=headers)

    def idle(self) -> None:
        self.double.wait_idle(10)

    def conversations(self) -> list[dict[str, Any]]:
        answer = self.api.get("/conversations", params={"status": "all", "assignee_type": "all"})
        payload = answer.json()["data"]["payload"]
        assert isinstance(payload, list)
        return payload

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        payload = self.api.get(f"/conversations/{conversation_id}/messages").json()["payload"]
        assert isinstance(payload, list)
        return payload


@pytest.fixture
def make_meta() -> Iterator[Callable[..., Meta]]:
    made: list[tuple[Meta, RunningServer]] = []

    def make(*, version: str = "4.15.0") -> Meta:
        receiver = Receiver()
        receiver.server = serve("receiver", receiver.app())
        keys = {"instagram": secrets.token_urlsafe(18), "whatsapp": secrets.token_urlsafe(18)}
        faults: set[str] = set()
        account = AccountSetup(
            ACCOUNT,
            "Coronel Staging",
            inboxes=[
                InboxSetup(
                    WA,
                    "WhatsApp Coronel",
                    "Channel::Whatsapp",
                    phone_number=WA_NUMBER,
                    phone_number_id=WA_NUMBER_ID,
                    known_contacts=(ContactSetup("Maria Legado", KNOWN_WA),),
                ),
                InboxSetup(
                    IG,
                    "Instagram Coronel",
                    "Channel::Instagram",
                    instagram_id=IG_ACCOUNT,
                    known_contacts=(ContactSetup("Test account", KNOWN_IGSID),),
                ),
            ],
            webhooks=[WebhookSetup(1, f"{receiver.server.url}/crm", EVENTS, secrets.token_urlsafe(18))],
        )
        double = ChatwootDouble(
            api_token=TOKEN,
            accounts=[account],
            version=version,
            meta_app_secrets=keys,
            fault_on=faults.__contains__,
        )
        server = serve("chatwoot", double.app())
        api = httpx.Client(
            base_url=f"{server.url}/api/v1/accounts/{ACCOUNT}",
            headers={"api_access_token": TOKEN},
            timeout=10,
        )
        meta = Meta(double, server.url, receiver, api, keys, faults)
        made.append((meta, server))
        return meta

    yield make
    for meta, server in made:
        meta.api.close()
        meta.double.close()
        server.stop()
        assert meta.receiver.server is not None
        meta.receiver.server.stop()


def ig(messaging: dict[str, Any], account: str = IG_ACCOUNT) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"id": account, "time": 1781092800000, "messaging": [messaging]}],
    }


def ig_dm(igsid: str, mid: str, text: str = "Oi!") -> dict[str, Any]:
    return ig(
        {
            "sender": {"id": igsid},
            "recipient": {"id": IG_ACCOUNT},
            "timestamp": 1781092800000,
            "message": {"mid": mid, "text": text},
        }
    )


def wa(value: dict[str, Any], number: str = WA_NUMBER, number_id: str = WA_NUMBER_ID) -> dict[str, Any]:
    metadata = {"display_phone_number": number.lstrip("+"), "phone_number_id": number_id}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def wa_text(wa_id: str, wamid: str, name: str = "Carlos Souza", text: str = "Boa tarde") -> dict[str, Any]:
    return wa(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [
                {
                    "from": wa_id,
                    "id": wamid,
                    "timestamp": "1781092980",
                    "text": {"body": text},
                    "type": "text",
                }
            ],
        }
    )


WA_PATH = "/webhooks/whatsapp/%2B5511300000030"


# --- Instagram -----------------------------------------------------------------------------------


def test_a_first_instagram_dm_makes_the_contact_conversation_and_message(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()

    answer = meta.post("/webhooks/instagram", ig_dm("17845550000000001", "mid-1"))

    assert (answer.status_code, answer.json()) == (200, "ok")
    created = meta.receiver.wait("conversation_created", 1)[0]
    message = meta.receiver.wait("message_created", 1)[0]
    assert created["channel"] == "Channel::Instagram"
    assert created["contact_inbox"]["source_id"] == "17845550000000001"
    assert created["meta"]["sender"]["name"] == "Unknown (IG: 17845550000000001)"
    assert created["meta"]["sender"]["identifier"] is None
    assert (message["message_type"], message["source_id"], message["content"]) == ("incoming", "mid-1", "Oi!")
    assert message["conversation"]["id"] == created["id"]
    assert message["sender"]["id"] == created["meta"]["sender"]["id"]
    assert meta.receiver.wait("contact_created", 1)[0]["name"] == "Unknown (IG: 17845550000000001)"


def test_a_build_before_the_unknown_contact_fallback_drops_a_first_dm_it_cannot_profile(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta(version="4.13.0")

    dropped = meta.post("/webhooks/instagram", ig_dm("17845550000000002", "mid-2"), secret=None)
    known = meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-3"), secret=None)

    assert (dropped.status_code, known.status_code) == (200, 200)
    meta.receiver.wait("message_created", 1)
    meta.idle()
    assert [m["source_id"] for m in meta.receiver.named("message_created")] == ["mid-3"]
    assert meta.receiver.named("message_created")[0]["sender"]["name"] == "Test account"


def test_the_same_mid_twice_is_one_message_and_a_next_one_joins_the_open_conversation(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()
    igsid = "17845550000000003"

    for _ in range(2):
        assert meta.post("/webhooks/instagram", ig_dm(igsid, "mid-4")).status_code == 200
    meta.post("/webhooks/instagram", ig_dm(igsid, "mid-5", "E amanhã?"))

    meta.receiver.wait("message_created", 2)
    meta.idle()
    assert [m["source_id"] for m in meta.receiver.named("message_created")] == ["mid-4", "mid-5"]
    assert len(meta.receiver.named("conversation_created")) == 1
    first, second = meta.receiver.named("message_created")
    assert first["conversation"]["id"] == second["conversation"]["id"]


def test_a_resolved_conversation_is_not_reused(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-6"))
    first = meta.receiver.wait("conversation_created", 1)[0]["id"]
    meta.api.post(f"/conversations/{first}/toggle_status", json={"status": "resolved"})

    meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-7"))

    second = meta.receiver.wait("conversation_created", 2)[1]
    assert second["id"] != first
    assert second["meta"]["sender"]["name"] == "Test account"


def test_an_echo_is_an_outgoing_message_without_a_sender(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-8"))
    echo = {
        "sender": {"id": IG_ACCOUNT},
        "recipient": {"id": KNOWN_IGSID},
        "timestamp": 1781092900000,
        "message": {"mid": "mid-9", "text": "Abrimos sim!", "is_echo": True},
    }

    meta.post("/webhooks/instagram", ig(echo))

    incoming, outgoing = meta.receiver.wait("message_created", 2)
    assert (outgoing["message_type"], outgoing["sender"], outgoing["source_id"]) == (
        "outgoing",
        None,
        "mid-9",
    )
    assert outgoing["conversation"]["id"] == incoming["conversation"]["id"]


def test_a_read_receipt_marks_what_the_business_sent_as_read(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-10"))
    conversation = meta.receiver.wait("conversation_created", 1)[0]["id"]
    meta.api.post(f"/conversations/{conversation}/messages", json={"content": "Oi, tudo bem?"})
    echo = {"sender": {"id": IG_ACCOUNT}, "recipient": {"id": KNOWN_IGSID}, "timestamp": 1, "message": {}}
    echo["message"] = {"mid": "mid-11", "text": "Mais alguma coisa?", "is_echo": True}
    meta.post("/webhooks/instagram", ig(echo))

    read = {
        "sender": {"id": KNOWN_IGSID},
        "recipient": {"id": IG_ACCOUNT},
        "timestamp": 2,
        "read": {"mid": "mid-11"},
    }
    meta.post("/webhooks/instagram", ig(read))

    updated = meta.receiver.wait("message_updated", 2)
    assert {u["content"] for u in updated} == {"Oi, tudo bem?", "Mais alguma coisa?"}
    statuses = {m["content"]: m["status"] for m in meta.messages(conversation) if m["message_type"] == 1}
    assert statuses == {"Oi, tudo bem?": "read", "Mais alguma coisa?": "read"}


def test_an_unsent_message_is_kept_as_deleted(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-12", "Meu CPF é 123"))
    unsent = {"sender": {"id": KNOWN_IGSID}, "recipient": {"id": IG_ACCOUNT}, "timestamp": 3, "message": {}}
    unsent["message"] = {"mid": "mid-12", "is_deleted": True}

    meta.post("/webhooks/instagram", ig(unsent))

    updated = meta.receiver.wait("message_updated", 1)[0]
    assert (updated["content"], updated["content_attributes"]["deleted"]) == (
        "This message was deleted",
        True,
    )


def test_events_for_an_account_chatwoot_does_not_know_create_nothing(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    payload = ig_dm("17845550000000004", "mid-14")
    payload["entry"][0]["messaging"][0]["recipient"]["id"] = "99999999999"

    answer = meta.post("/webhooks/instagram", payload)

    assert answer.status_code == 200
    meta.idle()
    assert meta.conversations() == [] and meta.receiver.events == []


@pytest.mark.parametrize(
    ("secret", "status"),
    [(None, 401), ("another-secret", 401), ("", 200)],
)
def test_a_newer_build_checks_metas_signature(
    make_meta: Callable[..., Meta], secret: str | None, status: int
) -> None:
    meta = make_meta()

    answer = meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-15"), secret=secret)
    wa_answer = meta.post(WA_PATH, wa_text(KNOWN_WA, "wamid.A"), secret=secret)

    assert (answer.status_code, wa_answer.status_code) == (status, status)
    if status == 401:
        assert answer.content == b"" and meta.conversations() == []


def test_a_build_before_4_14_checks_no_signature(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta(version="4.13.0")

    assert meta.post("/webhooks/instagram", ig_dm(KNOWN_IGSID, "mid-16"), secret="wrong").status_code == 200


def test_malformed_instagram_posts_get_railss_answers(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()

    assert meta.post("/webhooks/instagram", {"object": "page", "entry": []}).status_code == 422
    assert meta.post("/webhooks/instagram", {"entry": []}).status_code == 500  # nil.casecmp
    assert meta.post("/webhooks/instagram", None, raw=b"{not json").status_code == 400


# --- WhatsApp Cloud ------------------------------------------------------------------------------


def test_a_whatsapp_message_makes_a_contact_named_by_the_profile_with_the_wa_id_as_phone(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()

    answer = meta.post(WA_PATH, wa_text("5511912345678", "wamid.B"))

    assert (answer.status_code, answer.content) == (200, b"")
    created = meta.receiver.wait("conversation_created", 1)[0]
    message = meta.receiver.wait("message_created", 1)[0]
    assert created["channel"] == "Channel::Whatsapp"
    assert created["contact_inbox"]["source_id"] == "5511912345678"
    assert (created["meta"]["sender"]["name"], created["meta"]["sender"]["phone_number"]) == (
        "Carlos Souza",
        "+5511912345678",
    )
    assert (message["source_id"], message["content"]) == ("wamid.B", "Boa tarde")


def test_a_known_customer_keeps_their_contact_and_a_wamid_twice_is_one_message(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()

    for _ in range(2):
        meta.post(WA_PATH, wa_text(KNOWN_WA, "wamid.C", name="Maria L."))

    message = meta.receiver.wait("message_created", 1)[0]
    meta.idle()
    assert len(meta.receiver.named("message_created")) == 1
    assert (message["sender"]["name"], message["conversation"]["contact_inbox"]["source_id"]) == (
        "Maria Legado",
        KNOWN_WA,
    )


def test_a_brazilian_wa_id_without_the_mobile_nine_finds_the_13_digit_link(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()

    meta.post(WA_PATH, wa_text("551187654321", "wamid.D"))

    message = meta.receiver.wait("message_created", 1)[0]
    assert message["conversation"]["contact_inbox"]["source_id"] == KNOWN_WA


def test_the_channel_must_match_number_and_number_id(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()

    value = wa_text(KNOWN_WA, "wamid.E")["entry"][0]["changes"][0]["value"]
    meta.post(WA_PATH, wa({k: v for k, v in value.items() if k != "metadata"}, number_id="1"))
    by_url = wa_text(KNOWN_WA, "wamid.F")
    del by_url["object"]  # not a business-account payload: the URL's number names the channel
    meta.post(WA_PATH, by_url)

    message = meta.receiver.wait("message_created", 1)[0]
    meta.idle()
    assert [m["source_id"] for m in meta.receiver.named("message_created")] == ["wamid.F"]
    assert message["inbox"]["id"] == WA


def test_statuses_move_forward_only_and_a_failure_keeps_metas_error(make_meta: Callable[..., Meta]) -> None:
    meta = make_meta()
    meta.post(WA_PATH, wa_text(KNOWN_WA, "wamid.G"))
    conversation = meta.receiver.wait("conversation_created", 1)[0]["id"]
    sent = meta.api.post(
        f"/conversations/{conversation}/messages", json={"content": "Pedido recebido"}
    ).json()

    def status(value: str, **extra: Any) -> dict[str, Any]:
        return wa(
            {
                "statuses": [
                    {"id": "wamid.G", "status": value, "timestamp": "1", "recipient_id": KNOWN_WA, **extra}
                ]
            }
        )

    meta.post(WA_PATH, status("read"))  # wamid.G is the customer's message: a receipt names any message
    meta.post(WA_PATH, status("delivered"))
    meta.post(WA_PATH, status("failed", errors=[{"code": 131047, "title": "Re-engagement message"}]))
    meta.post(WA_PATH, wa({"messages": [{"from": KNOWN_WA, "id": "wamid.H", "type": "reaction"}]}))

    updates = meta.receiver.wait("message_updated", 2)
    meta.idle()
    assert [
        u["content_attributes"].get("external_error") for u in meta.receiver.named("message_updated")
    ] == [
        None,
        "131047: Re-engagement message",
    ]
    assert sent["id"] not in [u["id"] for u in updates]
    assert len(meta.receiver.named("message_created")) == 2  # the customer's and the agent's; no reaction


def test_the_old_contact_inbox_fault_files_a_new_customer_under_another(
    make_meta: Callable[..., Meta],
) -> None:
    meta = make_meta()
    meta.faults.add("meta-event-old-contact-inbox")

    meta.post("/webhooks/instagram", ig_dm("17845550000000005", "mid-17"))

    created = meta.receiver.wait("conversation_created", 1)[0]
    assert created["contact_inbox"]["source_id"] == KNOWN_IGSID
    assert created["meta"]["sender"]["name"] == "Unknown (IG: 17845550000000005)"
