"""The sandbox's n8n side without starting an n8n: which n8n runs and why, how an export becomes
one organisation's workflow, and faults switched for one organisation through the control API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from golive.errors import SandboxError
from golive.sandbox import workflows
from golive.sandbox.control import control_app
from golive.sandbox.faults import FaultState
from golive.sandbox.n8n_real.install import HOME_ENV
from golive.sandbox.n8n_side import MODE_ENV, choose
from golive.sandbox.servers import serve

TOKEN = "control-token"


def test_the_mode_is_explicit_or_falls_back_to_the_double_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert choose("double") == ("double", f"{MODE_ENV}=double")
    with pytest.raises(SandboxError, match="expected one of auto, real, double"):
        choose("sometimes")
    monkeypatch.setenv(HOME_ENV, str(tmp_path))  # an empty folder: no n8n there
    kind, why = choose("auto")
    assert kind == "double" and str(tmp_path) in why and "make tools" in why
    with pytest.raises(SandboxError, match=f"{MODE_ENV}=real but no n8n install"):
        choose("real")


def test_an_export_becomes_one_organisations_workflow_without_touching_the_export() -> None:
    export = workflows.load(workflows.TEMPLATE)
    before = json.dumps(export, sort_keys=True)
    org = workflows.OrgWorkflow(
        "LagostaCRM Agente v2 — Acme",
        "/lagosta-agent-v2-acme/",
        {"CRM-Host": "http://127.0.0.1:1", "CW-Account": "7"},
        {"LagostaCRM API key (staging)": ("cred-9", "acme CRM API key")},
    )
    mine = workflows.for_organisation(export, org)
    assert json.dumps(export, sort_keys=True) == before
    nodes = {n["name"]: n for n in mine["nodes"]}
    assert mine["name"] == org.name
    assert nodes["Webhook"]["parameters"]["path"] == "lagosta-agent-v2-acme"
    assert nodes["Webhook"]["webhookId"] != {n["name"]: n for n in export["nodes"]}["Webhook"]["webhookId"]
    values = {
        a["name"]: a["value"] for a in nodes["Fluxo_Variaveis"]["parameters"]["assignments"]["assignments"]
    }
    assert values["CRM-Host"] == "http://127.0.0.1:1" and values["CW-Account"] == "7"
    assert values["CW-Host"] == "<Chatwoot base URL>"  # not given: left as exported
    assert nodes["Buscar contato"]["credentials"]["httpHeaderAuth"] == {
        "id": "cred-9",
        "name": "acme CRM API key",
    }
    assert nodes["Buffer"]["credentials"]["redis"]["name"] == "Redis agente"
    assert workflows.credential_names(export) == {
        "LagostaCRM API key (staging)": "httpHeaderAuth",
        "Chatwoot API (agente)": "httpHeaderAuth",
        "Redis agente": "redis",
        "OpenAI LagostaCRM": "openAiApi",
    }


def test_every_workflow_fault_has_a_variant_of_the_template() -> None:
    template = {n["name"] for n in workflows.load(workflows.TEMPLATE)["nodes"]}
    for fault in workflows.VARIANTS:
        variant = workflows.load(workflows.variant_of(fault))
        assert {n["name"] for n in variant["nodes"]} == template, fault
        assert variant["active"] is False


@pytest.fixture
def control() -> Iterator[tuple[httpx.Client, FaultState, list[frozenset[str]]]]:
    faults = FaultState()
    changes: list[frozenset[str]] = []
    app = control_app(
        faults,
        TOKEN,
        lambda before, after: changes.append(after),
        lambda: None,
        organisations=frozenset({"sandbox-pilot", "sandbox-second"}),
    )
    server = serve("control", app)
    client = httpx.Client(base_url=server.url, headers={"X-Golive-Control-Token": TOKEN}, timeout=10)
    try:
        yield client, faults, changes
    finally:
        client.close()
        server.stop()


def test_an_organisations_own_n8n_faults_switch_for_it_alone(
    control: tuple[httpx.Client, FaultState, list[frozenset[str]]],
) -> None:
    client, faults, changes = control
    answer = client.put("/faults", json={"active": ["n8n-move-by-phone"], "organisation": "sandbox-pilot"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"active": [], "by_organisation": {"sandbox-pilot": ["n8n-move-by-phone"]}}
    assert faults.on("n8n-move-by-phone", "sandbox-pilot") and not faults.on(
        "n8n-move-by-phone", "sandbox-second"
    )
    assert changes  # the stack imports the variant on each change
    assert client.get("/faults").json()["by_organisation"] == {"sandbox-pilot": ["n8n-move-by-phone"]}
    client.post("/reset").raise_for_status()
    assert faults.for_organisation("sandbox-pilot") == frozenset()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"active": ["crm-outage"], "organisation": "sandbox-pilot"},
            "only be switched for the whole sandbox",
        ),
        ({"active": ["n8n-move-by-phone"], "organisation": "nobody"}, "unknown organisation"),
        ({"active": ["n8n-move-by-phone"], "organisation": 7}, "expected"),
    ],
)
def test_a_fault_that_cannot_be_scoped_is_refused(
    control: tuple[httpx.Client, FaultState, list[frozenset[str]]], body: dict[str, object], error: str
) -> None:
    client, faults, _ = control
    answer = client.put("/faults", json=body)
    assert answer.status_code == 400 and error in answer.json()["error"]
    assert faults.scoped == {} and faults.active == frozenset()
