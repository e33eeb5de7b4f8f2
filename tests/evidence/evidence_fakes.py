"""Fake run folders (reports/<run-id>/) for the evidence tests: a clean run by default,
and knobs to break exactly one thing per test. Imported by the tests and conftest.py."""

from __future__ import annotations

import json
import stat
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ORG = "sandbox-pilot"
OTHER_ORG = "sandbox-second"
RUN_ID = "20261129T120000Z-abcd"
NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
EXAMPLE_ATTESTATIONS = Path(__file__).resolve().parents[2] / "fixtures/attestations/example.toml"
CANARY = "canary-Zq8vT3xK9pL2wR7m"
CANARY_NAME = "SANDBOX_PILOT_CRM_API_KEY"


def scenario(
    name: str,
    feature: str,
    tags: list[str],
    outcome: str = "passed",
    *,
    example: str = "",
    message: str = "",
    org: str = ORG,
) -> dict[str, Any]:
    slug = name.lower().replace(" ", "_").replace(",", "")
    params = f"{org}-{example}" if example else org
    return {
        "nodeid": f"features/test_rollout.py::test_{slug}[{params}]",
        "scenario": name,
        "feature": feature,
        "tags": sorted(tags),
        "outcome": outcome,
        "duration_s": 0.125,
        "message": message,
    }


def clean_scenarios(org: str = ORG) -> list[dict[str, Any]]:
    """One scenario per mandatory item, the WhatsApp regression, two non-mandatory ones, then the
    RLS check (2.4) and a UI scenario with its screenshot."""
    return [
        scenario(
            "A WhatsApp customer keeps the legacy flow",
            "whatsapp_regression",
            ["smoke", "checklist-6.2", "checklist-3.4", "checklist-3.1", "needs_db"],
            org=org,
        ),
        scenario(
            "A first Instagram DM creates a contact",
            "instagram_first_contact",
            ["smoke", "checklist-6.3", "checklist-3.1", "checklist-3.3", "needs_db"],
            org=org,
        ),
        scenario(
            "A DM re-entry creates no duplicate",
            "dm_reentry",
            ["smoke", "checklist-6.4", "checklist-2.2", "needs_db"],
            org=org,
        ),
        scenario(
            "The agent moves the deal by deal_id",
            "stage_moves",
            ["smoke", "checklist-6.5", "checklist-3.2", "known_gap", "needs_api"],
            org=org,
        ),
        scenario(
            "The n8n flow moves the stage by deal_id",
            "n8n_agent_flow",
            ["smoke", "checklist-4.2", "checklist-4.3", "needs_n8n"],
            org=org,
        ),
        scenario(
            "A malformed delivery is refused",
            "bad_input",
            ["regression", "needs_db"],
            example="a body that is not JSON",
            org=org,
        ),
        scenario(
            "A malformed delivery is refused",
            "bad_input",
            ["regression", "needs_db"],
            example="no event name",
            org=org,
        ),
        scenario(
            "Row-level security restricts the v2 tables by organisation",
            "rls",
            ["readonly", "known_gap", "checklist-2.4", "needs_db"],
            org=org,
        ),
        scenario(
            "The channel configuration of the organisation's inboxes is on screen",
            "ui_evidence",
            ["ui", "readonly", "known_gap", "checklist-2.3", "checklist-8.3", "needs_ui"],
            org=org,
        ),
    ]


def clean_sql(org_id: str = "06e67a01-2894-41ce-94da-429f80d1bf09") -> dict[str, Any]:
    return {
        "verification_queries": {
            "1_conversation_links": [
                {
                    "organization_id": org_id,
                    "chatwoot_conversation_id": 101,
                    "contact_id": "c-1",
                    "status": "open",
                    "updated_at": "2026-11-29 12:00:02",
                },
                {
                    "organization_id": org_id,
                    "chatwoot_conversation_id": 102,
                    "contact_id": "c-2",
                    "status": "open",
                    "updated_at": "2026-11-29 12:00:01",
                },
            ],
            "2_contact_identities": [
                {
                    "organization_id": org_id,
                    "source": "instagram",
                    "external_id": "1784001",
                    "contact_id": "c-2",
                    "updated_at": "2026-11-29 12:00:01",
                },
                {
                    "organization_id": org_id,
                    "source": "whatsapp",
                    "external_id": "+5511999990000",
                    "contact_id": "c-1",
                    "updated_at": "2026-11-29 12:00:00",
                },
            ],
            "3_identity_resolution_log": [
                {
                    "organization_id": org_id,
                    "source": "instagram",
                    "external_id": "1784001",
                    "action": "created",
                    "contact_id": "c-2",
                    "identity_id": "i-2",
                    "created_at": "2026-11-29 12:00:01",
                },
            ],
        },
        "consistency_problems": {},
    }


def clean_fingerprint(org: str = ORG) -> dict[str, Any]:
    return {
        "organisation": org,
        "environment": "sandbox",
        "crm_base_url": "http://127.0.0.1:38241",
        "chatwoot_base_url": "http://robot:pa55w0rd-in-url@127.0.0.1:9/app?token=abc",
        "n8n_base_url": None,
        "profile_sha256": "5367c40b48a51e89cfc0137597bd4735167268c1216b3248b0f6e22c1120fd71",
        "golive_version": "0.1.0",
        "git_commit": "b6a66d7d0addccddf7482bec95f3941521c89d5d",
        "versions": {"crm": "1.0.0", "chatwoot": None, "n8n": "1.80.0"},
        "workflows": [{"id": "wf-1", "name": "agent v2", "versionId": "v-9", "active": True, "tags": ["v2"]}],
        "channel_configs": [
            {
                "inbox_id": 30,
                "channel_type": "whatsapp",
                "name": "Whatsapp Coronel",
                "status": "active",
                "chatwoot_account_id": 7,
            },
            {
                "inbox_id": 31,
                "channel_type": "instagram",
                "name": "Instagram Coronel",
                "status": "active",
                "chatwoot_account_id": 7,
            },
        ],
    }


def monitor_report(
    org: str = ORG, *, verdict: str = "ok", window: str = "10s", seconds: float = 10.0
) -> dict[str, Any]:
    """What `golive monitor` leaves: a complete window after the run (sandbox: a short one)."""
    critical = verdict == "critical"
    return {
        "organisation": org,
        "environment": "sandbox",
        "run_id": RUN_ID,
        "window_s": seconds,
        "window_label": window,
        "started_at": "2026-11-29T12:05:00+00:00",
        "ended_at": "2026-11-29T12:05:10+00:00",
        "observed_s": seconds,
        "complete": verdict != "incomplete",
        "interrupted": verdict == "incomplete",
        "verdict": verdict,
        "findings": [
            {
                "signal": "identity-resolution failures",
                "value": "12/12 (100.0%)" if critical else "0/3 (0.0%)",
                "threshold": "> 1%",
                "critical": critical,
                "message": "identity errors",
            }
        ],
        "observation": None,
        "notes": ["webhook 5xx rate is not observable from here"],
        "generated_at": "2026-11-29T12:05:10+00:00",
    }


def summary(org: str = ORG, scenarios: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "organisation": org,
        "name": f"{org} (sandbox)",
        "environment": "sandbox",
        "run_id": RUN_ID,
        "wall_s": 5.0,
        "http_ms_total": 1200.5,
        "http_exchanges": 40,
        "scenarios": clean_scenarios(org) if scenarios is None else scenarios,
    }


@dataclass
class FakeRun:
    """A reports/<run-id>/ folder as a run of two organisations leaves it."""

    root: Path
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    result_ids: dict[str, list[str]] = field(default_factory=dict)

    def write_json(self, relative: str, data: object) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return path

    def add_org(
        self,
        org: str,
        *,
        scenarios: list[dict[str, Any]] | None = None,
        sql: dict[str, Any] | None = None,
        fingerprint: bool = True,
        log: str | None = "=== pytest run log ===\n36 passed\n",
        monitor: dict[str, Any] | None = None,
        monitored: bool = True,
    ) -> None:
        data = summary(org, scenarios)
        self.summaries[org] = data
        self.write_json(f"summary/{org}.json", data)
        self.write_json(f"sql/{org}.json", clean_sql() if sql is None else sql)
        if fingerprint:
            self.write_json(f"fingerprint/{org}.json", clean_fingerprint(org))
        if monitored:
            report = monitor or monitor_report(org)
            self.write_json(f"monitor/{org}--{report['window_label']}.json", report)
        if log is not None:
            (self.root / "logs").mkdir(exist_ok=True)
            (self.root / "logs" / f"{org}.log").write_text(log, encoding="utf-8")
        self._allure(org, data["scenarios"])

    def _allure(self, org: str, scenarios: list[dict[str, Any]]) -> None:
        results = self.root / "allure-results"
        results.mkdir(exist_ok=True)
        ids = self.result_ids.setdefault(org, [])
        for entry in scenarios:
            uid = str(uuid.uuid4())
            attachment = f"{uuid.uuid4()}-attachment.json"
            (results / attachment).write_text('[{"request": "POST /api/chatwoot/webhook"}]', encoding="utf-8")
            screens = []
            if "ui" in entry["tags"]:  # a screenshot, as the UI hooks attach them
                screen = f"{uuid.uuid4()}-attachment.png"
                (results / screen).write_bytes(b"\x89PNG\r\n\x1a\nfake screenshot")
                screens.append({"name": "Configurações → Integrações", "source": screen, "type": "image/png"})
            example = entry["nodeid"].split("[", 1)[1].rstrip("]").removeprefix(org)
            parameters = [{"name": "organisation", "value": f"'{org}'"}]
            if example:
                parameters.insert(0, {"name": "defect", "value": example.lstrip("-")})
            status = {"passed": "passed", "failed": "failed", "skipped": "skipped"}
            result = {
                "uuid": uid,
                "historyId": f"h-{uid}",
                "testCaseId": f"t-{entry['scenario']}",
                "name": entry["scenario"],
                "fullName": f"features/{entry['feature']}.feature:{entry['scenario']}",
                "status": status[entry["outcome"]],
                "stage": "finished",
                "start": 1_795_927_663_000,
                "stop": 1_795_927_663_100,
                "labels": [
                    {"name": "organisation", "value": org},
                    {"name": "feature", "value": entry["feature"]},
                ],
                "parameters": parameters,
                "steps": [
                    {
                        "name": "When something happens",
                        "status": "passed",
                        "attachments": [
                            {
                                "name": "HTTP exchanges (1)",
                                "source": attachment,
                                "type": "application/json",
                            },
                            *screens,
                        ],
                    }
                ],
            }
            (results / f"{uid}-result.json").write_text(json.dumps(result), encoding="utf-8")
            ids.append(uid)
        env = results / "environment.properties"
        lines = (
            env.read_text(encoding="utf-8").splitlines()
            if env.is_file()
            else ["golive.version=0.1.0", f"run.id={RUN_ID}", "python=3.11.7"]
        )
        lines += [
            f"{org}.crm=http://127.0.0.1:38241",
            f"{org}.environment=sandbox",
            f"{org}.profile_sha256=5367c40b",
        ]
        env.write_text("\n".join(lines) + "\n", encoding="utf-8")
        (results / "categories.json").write_text("[]", encoding="utf-8")

    def write_junit(self, *, shared: bool = True) -> None:
        cases = []
        for org, data in self.summaries.items():
            for entry in data["scenarios"]:
                name = entry["nodeid"].split("::", 1)[1]
                inner = {
                    "failed": '<failure message="boom">boom</failure>',
                    "skipped": '<skipped message="no db" />',
                }.get(entry["outcome"], "")
                cases.append(
                    f'<testcase classname="features.test_rollout" name="{name}" time="0.1">{inner}</testcase>'
                )
            if not shared:
                self._junit(f"junit-{org}.xml", cases)
                cases = []
        if shared:
            self._junit("junit.xml", cases)

    def _junit(self, name: str, cases: list[str]) -> None:
        (self.root / name).write_text(
            '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
            f'<testsuite name="pytest" tests="{len(cases)}">{"".join(cases)}</testsuite>'
            "</testsuites>",
            encoding="utf-8",
        )


def fake_cli(tmp_path: Path, page: str) -> Path:
    """A stand-in for the Allure CLI: writes ``page`` as index.html into --output."""
    body = (
        'while [ "$#" -gt 0 ]; do\n'
        '  if [ "$1" = "--output" ]; then out="$2"; fi\n'
        "  shift\n"
        "done\n"
        'mkdir -p "$out"\n'
        "cat > \"$out/index.html\" <<'HTML'\n"
        f"{page}\n"
        "HTML\n"
    )
    script = tmp_path / "fake-allure"
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


SECRETS_FOR_TESTS = {CANARY: CANARY_NAME}
