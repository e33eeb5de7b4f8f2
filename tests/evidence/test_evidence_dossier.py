"""The Go/No-Go rules of the dossier (pure: dicts in, Dossier out)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from evidence_fakes import (
    EXAMPLE_ATTESTATIONS,
    NOW,
    ORG,
    OTHER_ORG,
    clean_fingerprint,
    clean_scenarios,
    clean_sql,
    scenario,
    summary,
)

from golive.evidence import checklist
from golive.evidence.attestations import AttestationFile, attestable, load_attestations
from golive.evidence.dossier import GO, NO_GO, Dossier, sanitise_fingerprint, sql_from_json
from golive.evidence.dossier_render import render_markdown, to_json
from golive.evidence.dossier_rules import build_dossier
from golive.evidence.summary import RunSummary


def dossier(
    *,
    scenarios: list[dict[str, Any]] | None = None,
    sql: dict[str, Any] | str | None = "clean",
    attestations: AttestationFile | str | None = "example",
    org: str = ORG,
    signed_off_by: str | None = "Ana Souza",
) -> Dossier:
    sql_data = clean_sql() if sql == "clean" else sql
    assert not isinstance(sql_data, str)
    att = load_attestations(EXAMPLE_ATTESTATIONS) if attestations == "example" else attestations
    assert not isinstance(att, str)
    return build_dossier(
        RunSummary.from_dict(summary(org, scenarios)),
        sql=sql_from_json(sql_data),
        fingerprint=clean_fingerprint(org),
        attestations=att,
        generated_at=NOW,
        signed_off_by=signed_off_by,
    )


def codes(result: Dossier) -> set[str]:
    return {r.code for r in result.reasons}


def attestation_file(tmp_path: Path, body: str) -> AttestationFile:
    path = tmp_path / "attest.toml"
    path.write_text(body, encoding="utf-8")
    return load_attestations(path)


def with_outcome(index: int, outcome: str, message: str = "") -> list[dict[str, Any]]:
    scenarios = clean_scenarios()
    scenarios[index] = {**scenarios[index], "outcome": outcome, "message": message}
    return scenarios


# --------------------------------------------------------------------------- GO


def test_a_clean_run_with_the_example_attestations_is_go() -> None:
    result = dossier()

    assert result.verdict == GO, [r.message for r in result.reasons]
    assert result.reasons == ()
    assert result.counts() == {"passed": 9, "failed": 0, "skipped": 0, "total": 9}
    assert result.mandatory_counts()["total"] == 5  # neither the UI nor the RLS scenario decides
    assert result.signed_off_by == "Ana Souza" and result.signed_at == NOW
    statuses = {i.item.id: i.status for i in result.items}
    assert statuses["6.2"] == "automated"
    assert statuses["6.1"] == "attested"
    assert statuses["7.2"] == "attested"  # auto+attest: no pre-activation scenario in this run
    assert statuses["7.3"] == "automated"  # the @smoke scenarios prove "smoke run per org"
    assert statuses["5.1"] == "open"
    sql_state = {i.item.id: i.sql for i in result.items}
    assert sql_state["2.2"] == "consistent" and sql_state["6.2"] is None


def test_the_example_file_attests_every_manual_item_for_both_sandbox_organisations(
    example_attestations: AttestationFile,
) -> None:
    manual = {i.id for i in checklist.ITEMS if "attest" in i.evidence.split("+")}
    for org in (ORG, OTHER_ORG):
        answered = example_attestations.for_organisation(org)
        assert manual <= set(answered), manual - set(answered)
        assert all(a.answered for a in answered.values())
    assert example_attestations.for_organisation("coronel") == {}  # never a real organisation


def test_a_failed_scenario_that_is_not_mandatory_does_not_decide_but_is_listed() -> None:
    result = dossier(scenarios=with_outcome(5, "failed", "500 on a malformed body"))

    assert result.verdict == GO
    assert [s.scenario for s in result.other_failures] == ["A malformed delivery is refused"]
    assert "not mandatory" in render_markdown(result)


# --------------------------------------------------------------------------- NO-GO, one reason each


def _duplicate_link_rows() -> dict[str, Any]:
    sql = clean_sql()
    sql["consistency_problems"] = {
        "duplicate conversation links": [{"chatwoot_conversation_id": 101, "n": 2}]
    }
    return sql


def _duplicate_identity_rows() -> dict[str, Any]:
    sql = clean_sql()
    sql["consistency_problems"] = {
        "duplicate identities": [{"source": "instagram", "external_id": "1784001", "contacts": 2}]
    }
    return sql


def _duplicate_link_in_query_1() -> dict[str, Any]:
    sql = clean_sql()
    rows = sql["verification_queries"]["1_conversation_links"]
    rows.append({**rows[0], "contact_id": "c-9"})
    return sql


def _duplicate_identity_in_query_2() -> dict[str, Any]:
    sql = clean_sql()
    rows = sql["verification_queries"]["2_contact_identities"]
    rows.append({**rows[0], "contact_id": "c-7"})
    return sql


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        (
            "mandatory scenario failed",
            {"scenarios": with_outcome(1, "failed", "no contact")},
            {"scenario_failed"},
        ),
        (
            "mandatory scenario skipped",
            {"scenarios": with_outcome(2, "skipped", "no database")},
            {"scenario_not_run"},
        ),
        (
            "known gap of the real CRM",
            {"scenarios": with_outcome(3, "failed", "known gap: 404")},
            {"known_gap"},
        ),
        ("SQL duplicate links", {"sql": _duplicate_link_rows()}, {"sql_duplicate_links"}),
        (
            "SQL duplicate links in query 1",
            {"sql": _duplicate_link_in_query_1()},
            {"sql_duplicate_links"},
        ),
        (
            "SQL duplicate identities",
            {"sql": _duplicate_identity_rows()},
            {"sql_duplicate_identities"},
        ),
        (
            "SQL duplicate identities in query 2",
            {"sql": _duplicate_identity_in_query_2()},
            {"sql_duplicate_identities"},
        ),
        ("SQL not run", {"sql": None}, {"sql_not_run"}),
        (
            "WhatsApp skipped",
            {"scenarios": with_outcome(0, "skipped", "no database")},
            {"scenario_not_run", "whatsapp_not_proven"},
        ),
        ("no attestation file", {"attestations": None}, {"no_attestation_file"}),
        (
            "mandatory item without a scenario",
            {"scenarios": [s for s in clean_scenarios() if "checklist-4.3" not in s["tags"]]},
            {"item_not_proven"},
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_no_go_reason(case: str, kwargs: dict[str, Any], expected: set[str]) -> None:
    result = dossier(**copy.deepcopy(kwargs))

    assert result.verdict == NO_GO, case
    assert codes(result) == expected
    markdown = render_markdown(result)
    assert "**Verdict: ❌ NO-GO**" in markdown
    for reason in result.reasons:
        assert reason.code in markdown


def test_a_whatsapp_regression_is_its_own_reason() -> None:
    result = dossier(scenarios=with_outcome(0, "failed", "fallback_phone expected, got created"))

    assert codes(result) == {"scenario_failed", "whatsapp_regression"}
    regression = next(r for r in result.reasons if r.code == "whatsapp_regression")
    assert "A WhatsApp customer keeps the legacy flow" in regression.message
    assert regression.items == ("6.2", "3.4")


def test_a_failed_known_gap_is_named_as_such() -> None:
    result = dossier(scenarios=with_outcome(3, "failed", "known gap: the real CRM answers 404"))

    (reason,) = result.reasons
    assert reason.message.startswith("known gap of the real CRM: stage_moves: The agent moves")
    assert "the real CRM answers 404" in reason.message
    assert reason.items == ("3.2", "6.5")


def test_sql_not_run_names_the_items_it_leaves_unproven() -> None:
    result = dossier(sql=None)

    (reason,) = result.reasons
    assert reason.message.startswith("SQL checks not run")
    assert {i.item.id: i.sql for i in result.items if i.sql} == {
        "2.2": "not run",
        "3.1": "not run",
        "3.2": "not run",
        "3.3": "not run",
        "3.4": "not run",
    }


def test_a_missing_mandatory_attestation_is_no_go(tmp_path: Path) -> None:
    att = attestation_file(
        tmp_path,
        """
[[item]]
id = "6.1"
mandatory = true
organisations = ["*"]
""",
    )
    result = dossier(attestations=att)

    assert codes(result) == {"attestation_missing"}
    assert "6.1" in result.reasons[0].message and "[[item]] #1" in result.reasons[0].message


def test_a_mandatory_attestation_answered_no_is_no_go(tmp_path: Path) -> None:
    att = attestation_file(
        tmp_path,
        """
[[item]]
id = "9.1"
answer = "no"
by = "Bruno Lima"
at = 2026-11-28T10:00:00-03:00
seen = "alert rules not yet created in the monitoring tool"
mandatory = true
organisations = ["sandbox-pilot"]
""",
    )
    result = dossier(attestations=att)

    assert codes(result) == {"attestation_negative"}
    assert "answered 'no' by Bruno Lima" in result.reasons[0].message
    assert dossier(attestations=att, org=OTHER_ORG).verdict == GO  # not its organisation


def test_a_non_mandatory_no_and_n_a_do_not_block(tmp_path: Path) -> None:
    att = attestation_file(
        tmp_path,
        """
[[item]]
id = "7.4"
answer = "no"
by = "Bruno Lima"
at = "2026-11-28T10:00:00Z"
seen = "monitoring window not started"
organisations = ["*"]

[[item]]
id = "10.3"
answer = "n/a"
by = "Bruno Lima"
at = "2026-11-28T10:00:00Z"
seen = "no pilot incident"
mandatory = true
organisations = ["*"]
""",
    )
    result = dossier(attestations=att)

    assert result.verdict == GO
    assert {i.item.id: i.status for i in result.items}["7.4"] == "attested"


def test_a_specific_answer_overrides_the_wildcard_and_keeps_it_mandatory(tmp_path: Path) -> None:
    att = attestation_file(
        tmp_path,
        """
[[item]]
id = "10.4"
mandatory = true
organisations = ["*"]

[[item]]
id = "10.4"
answer = "yes"
by = "Carla Dias (CTO)"
at = 2026-11-28T18:00:00-03:00
seen = "dossier of sandbox-pilot read, approved for full expansion"
organisations = ["sandbox-pilot"]
""",
    )
    pilot, second = dossier(attestations=att), dossier(attestations=att, org=OTHER_ORG)

    assert pilot.verdict == GO
    item = next(i for i in pilot.items if i.item.id == "10.4")
    assert item.mandatory and item.attestation is not None
    assert item.attestation.by == "Carla Dias (CTO)"
    assert codes(second) == {"attestation_missing"}


def test_several_reasons_add_up() -> None:
    result = dossier(scenarios=with_outcome(1, "failed", "boom"), sql=None, attestations=None)

    assert codes(result) == {"scenario_failed", "sql_not_run", "no_attestation_file"}


def test_an_empty_run_is_no_go() -> None:
    result = dossier(scenarios=[])

    assert "no_scenarios" in codes(result) and "whatsapp_not_proven" in codes(result)


# --------------------------------------------------------------------------- open items


def test_open_manual_items_are_listed(tmp_path: Path) -> None:
    att = attestation_file(
        tmp_path,
        """
[[item]]
id = "1.1"
answer = "yes"
by = "Ana Souza"
at = 2026-11-28T09:00:00-03:00
seen = "branch feature/instagram-dm-v2"
mandatory = true
organisations = ["*"]
""",
    )
    result = dossier(attestations=att)

    assert result.verdict == GO  # open items that nobody marked mandatory do not block
    manual = {i.id for i in checklist.ITEMS if "attest" in i.evidence.split("+")}
    assert {i.item.id for i in result.open_manual_items} == manual - {"1.1"}
    open_ids = {i.item.id for i in result.open_items}
    assert {"6.1", "9.1", "10.4", "5.1", "8.1"} <= open_ids and "1.1" not in open_ids
    markdown = render_markdown(result)
    section = markdown.split("## Open items", 1)[1].split("##", 1)[0]
    assert "- 6.1 pilot active with reinforced monitoring (attest)" in section
    assert "- 1.1 " not in section
    assert json.loads(to_json(result))["open_items"] == [i.item.id for i in result.open_items]


# --------------------------------------------------------------------------- faces


def test_json_face_holds_everything_the_sign_off_needs() -> None:
    data = json.loads(to_json(dossier()))

    assert data["schema"] == "golive-dossier/1"
    assert data["verdict"] == "GO" and data["reasons"] == []
    assert data["signed_off"] == {"by": "Ana Souza", "at": NOW.isoformat(), "key": None, "signed": False}
    assert [i["id"] for i in data["items"]] == [i.id for i in checklist.ITEMS]
    assert set(data["sql"]["verification_queries"]) == {
        "1_conversation_links",
        "2_contact_identities",
        "3_identity_resolution_log",
    }
    assert len(data["channel_configs"]) == 2
    assert data["fingerprint"]["profile_sha256"].startswith("5367c40b")
    assert data["fingerprint"]["workflows"][0]["versionId"] == "v-9"
    item_61 = next(i for i in data["items"] if i["id"] == "6.1")
    assert item_61["attestation"]["by"] == "golive example (sandbox release manager)"
    assert item_61["attestation"]["at"] == "2026-11-28T09:00:00-03:00"


def test_markdown_face() -> None:
    markdown = render_markdown(dossier())

    assert markdown.startswith(f"# Go/No-Go dossier — {ORG} (sandbox) (`{ORG}`)")
    assert "**Verdict: ✅ GO**" in markdown
    assert "| signed off by | Ana Souza — a name only, NOT signed (sign with --sign-key KEY) |" in markdown
    assert "| 31 | instagram | Instagram Coronel | active | 7 |" in markdown
    assert "| 6.2 | WhatsApp regression validated | auto | yes | automated | 1 passed |" in markdown
    unsigned = render_markdown(dossier(signed_off_by=None))
    assert "not signed (golive evidence --sign-key KEY)" in unsigned


def test_a_pipe_in_a_message_does_not_break_the_tables() -> None:
    markdown = render_markdown(dossier(scenarios=with_outcome(1, "failed", "a | b")))

    assert "a \\| b" in markdown


def test_fingerprint_urls_lose_credentials_and_query() -> None:
    clean = sanitise_fingerprint(clean_fingerprint())

    assert clean["chatwoot_base_url"] == "http://127.0.0.1:9/app"
    assert "pa55w0rd" not in json.dumps(clean)
    assert clean["crm_base_url"] == "http://127.0.0.1:38241"


def test_only_manual_or_static_items_are_attestable() -> None:
    assert attestable(checklist.BY_ID["6.1"]) and attestable(checklist.BY_ID["4.1"])
    assert not attestable(checklist.BY_ID["6.2"]) and not attestable(checklist.BY_ID["4.3"])


def test_an_unknown_checklist_tag_is_a_warning() -> None:
    scenarios = [*clean_scenarios(), scenario("Odd", "odd", ["checklist-99.9"])]
    result = dossier(scenarios=scenarios)

    assert result.verdict == GO
    assert any("checklist-99.9" in w for w in result.warnings)


# --------------------------------------------------------------------------- targets that cannot run it

OUTAGE = "webhook_recovery: A lost delivery is replayed once the CRM is back"
CANNOT_RUN = "the target offers no switch to take the CRM webhook down: … then attest it"


def cannot_run_outage() -> list[dict[str, Any]]:
    return [
        *clean_scenarios(),
        {
            **scenario(
                "A lost delivery is replayed once the CRM is back",
                "webhook_recovery",
                ["smoke", "checklist-6.4", "needs_control", "needs_db"],
                "skipped",
                message=f"{ORG}: {CANNOT_RUN}",
            ),
            "attest": CANNOT_RUN,
        },
    ]


def with_scenario_attestation(tmp_path: Path, answer: str = "yes") -> AttestationFile:
    example = EXAMPLE_ATTESTATIONS.read_text(encoding="utf-8")
    extra = f"""
[[scenario]]
scenario = "{OUTAGE}"
answer = "{answer}"
by = "Ana Souza (release manager)"
at = 2026-11-28T15:10:00-03:00
seen = "webhook blocked 10 min at the proxy; the lost delivery replayed; one link, one contact"
organisations = ["{ORG}"]
"""
    return attestation_file(tmp_path, example + extra)


def test_a_scenario_the_target_cannot_run_asks_a_person_to_attest_it() -> None:
    result = dossier(scenarios=cannot_run_outage())

    assert result.verdict == NO_GO
    (reason,) = [r for r in result.reasons if r.code == "scenario_attestation_needed"]
    assert OUTAGE in reason.message and f'scenario = "{OUTAGE}"' in reason.message
    assert "no switch to take the CRM webhook down" in reason.message
    markdown = render_markdown(result)
    assert "## Scenarios this target cannot run (attested by a person instead)" in markdown
    assert "**not answered**" in markdown


def test_an_attested_scenario_counts_and_the_dossier_says_who_attested_it(tmp_path: Path) -> None:
    result = dossier(scenarios=cannot_run_outage(), attestations=with_scenario_attestation(tmp_path))

    assert result.verdict == GO, [r.message for r in result.reasons]
    attested = next(s for s in result.scenarios if s.key == OUTAGE)
    assert attested.attested and attested.attestation is not None
    item = next(i for i in result.items if i.item.id == "6.4")
    assert "1 attested" in item.result
    markdown = render_markdown(result)
    assert "attested by Ana Souza (release manager)" in markdown
    assert "1 attested in place" in markdown
    data = json.loads(to_json(result))
    entry = next(s for s in data["scenarios"] if s["label"].startswith(OUTAGE))
    assert entry["attestation"]["seen"].startswith("webhook blocked")


def test_a_no_for_a_scenario_the_target_cannot_run_is_no_go(tmp_path: Path) -> None:
    result = dossier(scenarios=cannot_run_outage(), attestations=with_scenario_attestation(tmp_path, "no"))

    assert "attestation_negative" in codes(result) and result.verdict == NO_GO


def test_a_skip_for_a_missing_setting_cannot_be_attested_away(tmp_path: Path) -> None:
    scenarios = cannot_run_outage()
    scenarios[-1] = {**scenarios[-1], "attest": "", "message": f"{ORG}: no read-only database DSN"}

    result = dossier(scenarios=scenarios, attestations=with_scenario_attestation(tmp_path))

    assert "scenario_not_run" in codes(result) and result.verdict == NO_GO


def test_a_scenario_attestation_must_name_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="field 'scenario'"):
        attestation_file(
            tmp_path,
            '[[scenario]]\nscenario = "no feature here"\nanswer = "yes"\nby = "x"\n'
            'at = 2026-11-28T15:10:00-03:00\nseen = "y"\norganisations = ["*"]\n',
        )


def test_a_failure_caused_by_configuration_is_not_a_product_defect() -> None:
    message = "golive.errors.ConfigError: cannot open the read-only database connection (X_DSN): refused"

    result = dossier(scenarios=with_outcome(0, "failed", message))

    assert "configuration_problem" in codes(result) and "scenario_failed" not in codes(result)
    assert "— configuration problem" in render_markdown(result)


def test_the_dossier_is_titled_by_the_crm_organisation_of_the_api_key() -> None:
    fingerprint = {
        **clean_fingerprint(ORG),
        "crm_organisation": {"id": "6f1c2a9e", "name": "Coronel Picanha"},
    }
    result = build_dossier(
        RunSummary.from_dict(summary(ORG)),
        sql=sql_from_json(clean_sql()),
        fingerprint=fingerprint,
        attestations=load_attestations(EXAMPLE_ATTESTATIONS),
        generated_at=NOW,
    )

    markdown = render_markdown(result)
    assert markdown.startswith(f"# Go/No-Go dossier — Coronel Picanha (`{ORG}`)")
    assert "| CRM organisation | Coronel Picanha (6f1c2a9e), as the CRM's /me names" in markdown
    assert json.loads(to_json(result))["crm_organisation"] == {"id": "6f1c2a9e", "name": "Coronel Picanha"}


def test_a_failing_check_outvotes_a_persons_yes_on_a_mandatory_attested_item() -> None:
    """RLS (2.4) is attested and made mandatory in the example file; when its scenario ran and
    failed, the attestation cannot turn the verdict into GO."""
    scenarios = clean_scenarios()
    for s in scenarios:
        if "checklist-2.4" in s["tags"]:
            s["outcome"], s["message"] = "failed", "row-level security is off on messaging_contact_identities"

    result = dossier(scenarios=scenarios)

    assert result.verdict == NO_GO
    (reason,) = [r for r in result.reasons if r.code == "attestation_contradicted"]
    assert reason.items == ("2.4",) and "row-level security is off" in reason.message
