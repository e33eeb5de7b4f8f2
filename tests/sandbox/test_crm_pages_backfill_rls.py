"""Contract tests of what issue 13 added to the CRM double: its web pages (login, the channel
configuration), the WhatsApp identity backfill on command, row-level security of the v2 tables
and the live traffic of the after-run fault. One real stack (PostgreSQL included) for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from golive.sandbox.crm.users import SESSION_COOKIE, qa_email
from golive.sandbox.stack import Stack, start_stack
from golive.waiting import eventually

PILOT = "sandbox-pilot"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("sandbox"))
    yield running
    running.stop()


@pytest.fixture
def control(stack: Stack) -> Iterator[httpx.Client]:
    token = stack.secret_values["GOLIVE_SANDBOX_CONTROL_TOKEN"]
    with httpx.Client(base_url=stack.urls["control"], headers={"X-Golive-Control-Token": token}) as client:
        client.post("/reset").raise_for_status()
        yield client
        client.post("/reset").raise_for_status()


def faults(control: httpx.Client, *names: str) -> None:
    control.put("/faults", json={"active": list(names)}).raise_for_status()


def browser(stack: Stack, *, logged_in: bool = True) -> httpx.Client:
    client = httpx.Client(base_url=stack.urls["crm"])
    if logged_in:
        answer = client.post(
            "/login",
            data={"email": qa_email(PILOT), "password": stack.secret_values["GOLIVE_SANDBOX_QA_PASSWORD"]},
        )
        assert answer.status_code == 303 and SESSION_COOKIE in client.cookies
    return client


def org_ids(stack: Stack) -> dict[str, str]:
    return {org.slug: org.organization_id for org in stack.orgs}


def reader(stack: Stack) -> psycopg.Connection[Any]:
    return psycopg.connect(stack.secret_values["GOLIVE_SANDBOX_DB_READER_DSN"], autocommit=True)


# --- pages --------------------------------------------------------------------------------------


def test_pages_send_anyone_not_logged_in_to_the_login_and_back(stack: Stack, control: httpx.Client) -> None:
    anonymous = browser(stack, logged_in=False)

    answer = anonymous.get("/settings/integracoes")

    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fsettings%2Fintegracoes"
    page = anonymous.get("/login").text
    assert "Bem-vindo de volta" in page and 'for="email-address">Email' in page and ">Entrar</button>" in page


def test_a_wrong_password_is_refused_with_an_alert_and_next_cannot_leave_the_site(
    stack: Stack, control: httpx.Client
) -> None:
    client = browser(stack, logged_in=False)

    refused = client.post("/login", data={"email": qa_email(PILOT), "password": "not-the-password"})
    tricked = client.post(
        "/login",
        data={
            "email": qa_email(PILOT),
            "password": stack.secret_values["GOLIVE_SANDBOX_QA_PASSWORD"],
            "next": "//evil.example/x",
        },
    )

    assert (
        refused.status_code == 400
        and 'role="alert"' in refused.text
        and "Invalid login credentials" in refused.text
    )
    assert tricked.status_code == 303 and tricked.headers["location"] == "/dashboard"


def test_the_channel_table_lists_the_organisations_inboxes_and_never_their_token(
    stack: Stack, control: httpx.Client
) -> None:
    token = stack.secret_values["GOLIVE_SANDBOX_CHATWOOT_TOKEN"]
    page = browser(stack).get("/settings/integracoes").text

    assert 'aria-label="Canais do Chatwoot"' in page and "<td>30</td>" in page and "<td>31</td>" in page
    assert "<td>40</td>" not in page  # the other organisation's inbox
    assert token not in page and "configurado" in page

    faults(control, "ui-token-rendered")
    assert token in browser(stack).get("/settings/integracoes").text


# --- the backfill -------------------------------------------------------------------------------


def test_the_backfill_migrates_records_conflicts_and_a_rerun_does_nothing(
    stack: Stack, control: httpx.Client
) -> None:
    first = control.post("/backfill").json()["organisations"]
    again = control.post("/backfill").json()["organisations"]

    pilot = org_ids(stack)[PILOT]
    assert first[pilot] == {
        "variant": "intended",
        "identities_created": 3,  # Ana, Bruno, Carla
        "conflicts_recorded": 3,  # the Doras, the Hugos, Gil (identity held by another contact)
        "invalid_recorded": 1,  # Eva
        "identifiers_written": 3,
    }
    assert {k: v for k, v in again[pilot].items() if k != "variant"} == dict.fromkeys(
        ("identities_created", "conflicts_recorded", "invalid_recorded", "identifiers_written"), 0
    )
    with reader(stack) as db:
        identity = db.execute(
            "SELECT i.external_id FROM messaging_contact_identities i JOIN contacts c ON c.id = i.contact_id "
            "WHERE c.name = 'Ana Lima (legado)' AND i.organization_id = %s",
            (pilot,),
        ).fetchall()
    assert identity == [("+5511912345001",)]


def test_under_the_fault_the_backfill_is_the_real_migration(stack: Stack, control: httpx.Client) -> None:
    faults(control, "backfill-drops-conflicts")

    done = control.post("/backfill").json()["organisations"][org_ids(stack)[PILOT]]

    assert done["variant"] == "real-migration" and done["identities_created"] == 0
    with reader(stack) as db:
        raw = db.execute(
            "SELECT identifier FROM contact_identifiers WHERE organization_id = %s "
            "AND identifier = '11912345008'",
            (org_ids(stack)[PILOT],),
        ).fetchall()
    assert raw == [("11912345008",)]


# --- row-level security --------------------------------------------------------------------------


def identities_seen_as_pilot_user(stack: Stack) -> dict[str, int]:
    ids = org_ids(stack)
    with reader(stack) as db:
        (user,) = db.execute(
            "SELECT id::text FROM profiles WHERE email = %s", (qa_email(PILOT),)
        ).fetchone() or ("",)
        with db.transaction():
            db.execute("SET LOCAL ROLE authenticated")
            db.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": user}),))
            rows = db.execute(
                "SELECT organization_id::text, count(*) FROM messaging_contact_identities GROUP BY 1"
            ).fetchall()
    seen = dict(rows)
    return {slug: seen.get(org, 0) for slug, org in ids.items()}


def test_a_user_reads_only_their_organisations_rows_unless_the_policies_are_lagostacrms(
    stack: Stack, control: httpx.Client
) -> None:
    intended = identities_seen_as_pilot_user(stack)
    faults(control, "rls-open-policies")
    opened = identities_seen_as_pilot_user(stack)
    faults(control)
    restored = identities_seen_as_pilot_user(stack)

    assert intended["sandbox-pilot"] > 0 and intended["sandbox-second"] == 0
    assert opened["sandbox-second"] > 0
    assert restored == intended


# --- errors after the run -------------------------------------------------------------------------


def test_the_after_run_fault_brings_live_traffic_that_fails_and_leaves_with_it(
    stack: Stack, control: httpx.Client
) -> None:
    pilot = org_ids(stack)[PILOT]

    def errors() -> int:
        with reader(stack) as db:
            row = db.execute(
                "SELECT count(*) FROM messaging_identity_resolution_log WHERE organization_id = %s "
                "AND action = 'error' AND metadata->>'reason' = 'resolution_failed'",
                (pilot,),
            ).fetchone()
        return int(row[0]) if row else 0

    faults(control, "errors-after-run")
    eventually(errors, lambda n: n >= 2, timeout=15, what="failed resolutions from the live traffic")
    faults(control)

    assert stack.traffic is not None and not stack.traffic.running


def test_the_profile_names_the_qa_user_and_the_window_never_the_password(stack: Stack) -> None:
    profile = Path(stack.state_dir / "orgs" / f"{PILOT}.toml").read_text(encoding="utf-8")

    assert (
        f'user = "{qa_email(PILOT)}"' in profile and 'password_env = "GOLIVE_SANDBOX_QA_PASSWORD"' in profile
    )
    assert 'window = "10s"' in profile
    assert stack.secret_values["GOLIVE_SANDBOX_QA_PASSWORD"] not in profile
