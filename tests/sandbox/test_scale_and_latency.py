"""The sandbox at scale and under real-world latency: N organisations each with their own
inboxes, keys and identities; latency per system, from a flag or the control API, that the
requests really wait for (and concurrent requests wait for side by side)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from golive.sandbox.control import control_app
from golive.sandbox.faults import FaultState
from golive.sandbox.latency import Delay, Latency, delayed, parse_delay, parse_spec
from golive.sandbox.proxy import proxy_app
from golive.sandbox.seed import MAX_ORGS, SEED_ORGS, sandbox_orgs
from golive.sandbox.servers import RunningServer, serve

TOKEN = "control-token-for-tests"

# --- N organisations -------------------------------------------------------------------------


def test_the_default_is_the_two_seed_organisations() -> None:
    assert sandbox_orgs() == SEED_ORGS
    assert sandbox_orgs(2) == SEED_ORGS


def test_every_organisation_has_its_own_meta_ids_up_to_the_maximum() -> None:
    orgs = sandbox_orgs(MAX_ORGS)  # Meta's events find an inbox by these: a shared one misfiles
    for attribute in ("instagram_account_id", "whatsapp_phone_number", "whatsapp_phone_number_id"):
        values = [getattr(o, attribute) for o in orgs if getattr(o, attribute)]
        assert len(set(values)) == len(values), attribute
    assert len({o.instagram_account_id for o in orgs}) == MAX_ORGS
    assert all(o.instagram_account_id != o.test_igsid for o in orgs)


def test_fifty_organisations_have_their_own_inboxes_identities_and_names() -> None:
    orgs = sandbox_orgs(50)
    assert len(orgs) == 50
    assert orgs[:2] == SEED_ORGS
    assert [o.slug for o in orgs[2:4]] == ["sandbox-03", "sandbox-04"]
    for attribute in ("slug", "name", "legacy_name", "legacy_phone_e164", "test_igsid"):
        values = [getattr(o, attribute) for o in orgs]
        assert len(set(values)) == 50, attribute
    inboxes = [i for o in orgs for i in (o.whatsapp_inbox, o.instagram_inbox)]
    assert len(set(inboxes)) == 100
    # both ways a tenant's flow is started and its WhatsApp reached are exercised at any scale
    assert {o.n8n_trigger for o in orgs[2:]} == {"account_webhook", "automation_rule"}
    assert {o.whatsapp_channel for o in orgs[2:]} == {"Channel::Whatsapp", "Channel::Api"}
    for org in orgs:  # the stored phone is the pre-v2 form of the E.164 one
        digits = "".join(c for c in org.legacy_phone_stored if c.isdigit())
        assert org.legacy_phone_e164.endswith(digits)
        assert org.legacy_phone_stored != org.legacy_phone_e164
        assert len(org.test_igsid) == 17 and org.test_igsid.isdigit()
        assert org.api_key == "" and org.organization_id == ""  # made at seeding time


@pytest.mark.parametrize("count", [0, 1, MAX_ORGS + 1])
def test_a_count_out_of_range_is_refused_naming_the_setting(count: int) -> None:
    with pytest.raises(ValueError, match="--orgs"):
        sandbox_orgs(count)


# --- latency specs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("150ms", 0.15, 0.15),
        ("2s", 2.0, 2.0),
        ("2-5s", 2.0, 5.0),
        ("100-300ms", 0.1, 0.3),
        ("1.5s", 1.5, 1.5),
        ("150ms+50ms", 0.15, 0.2),
        ("0", 0.0, 0.0),
    ],
)
def test_a_delay_is_fixed_a_range_or_fixed_plus_jitter(text: str, low: float, high: float) -> None:
    assert parse_delay(text) == Delay(pytest.approx(low), pytest.approx(high))  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["fast", "5-2s", "-1s", "999s", ""])
def test_a_bad_delay_is_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        parse_delay(text)


def test_a_spec_names_systems() -> None:
    assert parse_spec("crm=150ms, model=2-5s") == {"crm": Delay(0.15, 0.15), "model": Delay(2.0, 5.0)}
    assert parse_spec("") == {}
    with pytest.raises(ValueError, match="crm, chatwoot, n8n, model"):
        parse_spec("database=10ms")


def test_samples_stay_within_the_range_and_vary() -> None:
    latency = Latency({"model": Delay(2.0, 5.0)})
    samples = [latency.seconds("model") for _ in range(200)]
    assert all(2.0 <= s <= 5.0 for s in samples)
    assert max(samples) - min(samples) > 1.0  # jitter, not one value
    assert latency.seconds("crm") == 0.0


# --- latency on the wire -----------------------------------------------------------------------


async def _hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


@pytest.fixture
def served() -> Iterator[tuple[Latency, RunningServer, RunningServer]]:
    latency = Latency()
    app = Starlette(routes=[Route("/hello", _hello)])
    crm = serve("crm-test", delayed(app, latency, "crm"))
    control = serve(
        "control-test", control_app(FaultState(), TOKEN, lambda *_: None, lambda: None, latency=latency)
    )
    yield latency, crm, control
    crm.stop()
    control.stop()


def _timed(url: str) -> float:
    began = time.monotonic()
    assert httpx.get(url, timeout=10).text == "hello"
    return time.monotonic() - began


def test_the_control_api_sets_latency_that_requests_wait_for_side_by_side(
    served: tuple[Latency, RunningServer, RunningServer],
) -> None:
    _, crm, control = served
    assert _timed(f"{crm.url}/hello") < 0.2
    answer = httpx.put(
        f"{control.url}/latency", json={"crm": "300ms"}, headers={"X-Golive-Control-Token": TOKEN}
    )
    assert answer.status_code == 200
    assert answer.json() == {"latency": {"crm": "300ms"}}
    assert httpx.get(f"{control.url}/latency").json() == {"latency": {"crm": "300ms"}}
    assert _timed(f"{crm.url}/hello") >= 0.3
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: _timed(f"{crm.url}/hello"), range(6)))
    assert time.monotonic() - began < 1.2  # six requests of 300 ms waited together, not one by one
    httpx.put(f"{control.url}/latency", json={}, headers={"X-Golive-Control-Token": TOKEN})
    assert _timed(f"{crm.url}/hello") < 0.2


def test_the_control_api_refuses_a_bad_latency_or_token(
    served: tuple[Latency, RunningServer, RunningServer],
) -> None:
    latency, _, control = served
    auth = {"X-Golive-Control-Token": TOKEN}
    assert httpx.put(f"{control.url}/latency", json={"crm": "300ms"}).status_code == 401
    bad = httpx.put(f"{control.url}/latency", json={"crm": "soon"}, headers=auth)
    assert bad.status_code == 400 and "expected" in bad.json()["error"]
    unknown = httpx.put(f"{control.url}/latency", json={"db": "1s"}, headers=auth)
    assert unknown.status_code == 400 and "unknown system" in unknown.json()["error"]
    assert httpx.put(f"{control.url}/latency", content=b"[1]", headers=auth).status_code == 400
    assert latency.describe() == {}


def test_the_proxy_in_front_of_a_real_server_forwards_everything_and_adds_its_latency() -> None:
    async def echo(request: object) -> PlainTextResponse:
        from starlette.requests import Request

        assert isinstance(request, Request)
        body = await request.body()
        return PlainTextResponse(
            f"{request.method} {request.url.path}?{request.url.query} {body.decode()}",
            status_code=201,
            headers={"x-upstream": "yes"},
        )

    upstream = serve(
        "upstream-test", Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
    )
    latency = Latency({"n8n": Delay(0.3, 0.3)})
    proxy = serve("proxy-test", delayed(proxy_app(upstream.url), latency, "n8n"))
    try:
        began = time.monotonic()
        answer = httpx.post(f"{proxy.url}/webhook/flow?a=1", content=b"payload", timeout=10)
        assert time.monotonic() - began >= 0.3
        assert answer.status_code == 201
        assert answer.text == "POST /webhook/flow?a=1 payload"
        assert answer.headers["x-upstream"] == "yes"
    finally:
        proxy.stop()
        upstream.stop()
