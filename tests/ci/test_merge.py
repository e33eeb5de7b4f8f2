"""`golive merge`: per-organisation artifacts from several machines become one overview whose
index page names every organisation's verdict, failing scenarios and trend, and links each
report and dossier; it loads nothing from outside and works for any number of organisations."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from golive.commands.merge import HISTORY_FILE, merge, read_history
from golive.errors import ConfigError
from golive.evidence.build import build_run_evidence
from golive.evidence.offline_html import find_external_references


def scenario(name: str, outcome: str = "passed", message: str = "") -> dict[str, Any]:
    slug = name.lower().replace(" ", "_")
    return {
        "nodeid": f"features/test_rollout.py::test_{slug}",
        "scenario": name,
        "feature": "instagram_first_contact",
        "tags": ["smoke"],
        "outcome": outcome,
        "duration_s": 0.1,
        "message": message,
    }


def run_folder(base: Path, org: str, run_id: str, scenarios: list[dict[str, Any]]) -> Path:
    """reports/<run-id>/ as one organisation's CI job leaves it (summary only)."""
    run = base / run_id
    (run / "summary").mkdir(parents=True)
    summary = {"organisation": org, "name": f"{org} (staging)", "environment": "staging", "run_id": run_id}
    (run / "summary" / f"{org}.json").write_text(json.dumps({**summary, "scenarios": scenarios}))
    return run


def with_evidence(run: Path, org: str) -> Path:
    """The real evidence build (no Allure CLI, no attestations: a NO-GO dossier)."""
    built = build_run_evidence(
        run,
        [org],
        signed_off_by=None,
        attest_file=None,
        secrets={},
        allure_cli=None,
        history_dir=run.parent / ".history",
        env={},
    )
    assert not built.errors, built.errors
    evidence = run / "evidence" / org
    (evidence / "report").mkdir(exist_ok=True)
    (evidence / "report" / "index.html").write_text("<html><body>offline report</body></html>")
    return evidence


def go_evidence(run: Path, org: str) -> Path:
    """A GO dossier, as an organisation with every item proven and attested gets."""
    evidence = run / "evidence" / org
    evidence.mkdir(parents=True)
    summary = json.loads((run / "summary" / f"{org}.json").read_text())
    dossier = {
        "organisation": org,
        "name": summary["name"],
        "environment": "staging",
        "run_id": run.name,
        "verdict": "GO",
        "reasons": [],
        "counts": {"passed": len(summary["scenarios"]), "failed": 0, "skipped": 0, "total": 2},
        "scenarios": summary["scenarios"],
    }
    (evidence / "dossier.json").write_text(json.dumps(dossier))
    (evidence / "dossier.md").write_text(f"# Go/No-Go {org}\n\n**GO**\n")
    (evidence / "summary.json").write_text(json.dumps(summary))
    with zipfile.ZipFile(evidence / "bundle.zip", "w") as bundle:
        bundle.writestr("dossier.json", json.dumps(dossier))
    return evidence


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """Three machines' artifacts downloaded into one folder, as a merge job sees them."""
    root = tmp_path / "artifacts"
    alpha = run_folder(root / "golive-alpha", "alpha", "20261130T020000Z-aaaa", [scenario("A first DM")])
    go_evidence(alpha, "alpha")
    beta = run_folder(
        root / "golive-beta",
        "beta",
        "20261130T020001Z-bbbb",
        [
            scenario("A first DM"),
            scenario("A known customer writes", "failed", "a second contact was created"),
        ],
    )
    with_evidence(beta, "beta")
    run_folder(
        root / "golive-gamma", "gamma", "20261130T020002Z-cccc", [scenario("A first DM", "failed", "500")]
    )
    return root


def test_artifacts_of_several_machines_become_one_overview(downloads: Path, tmp_path: Path) -> None:
    out = tmp_path / "overview"
    overview = merge([downloads], out=out, history_file=tmp_path / HISTORY_FILE, warn=pytest.fail)

    assert [(r.organisation, r.status) for r in overview.rows] == [
        ("alpha", "GO"),
        ("beta", "NO-GO"),
        ("gamma", "NO DOSSIER"),
    ]
    assert overview.exit_code == 1 and overview.runs_found == 3
    page = overview.index.read_text(encoding="utf-8")
    assert find_external_references(page) == [] and "<script" not in page
    for text in ("alpha", "beta", "gamma", "A known customer writes", "a second contact was created", "500"):
        assert text in page
    beta = overview.rows[1]
    for link in ("report", "dossier", "dossier.json", "bundle"):
        assert (out / beta.links[link]).is_file(), link
        assert f'href="{beta.links[link]}"' in page
    assert "offline report" in (out / beta.links["report"]).read_text()
    assert "bundle" in overview.rows[0].links and overview.rows[2].links == {}
    summary = overview.ci_summary.read_text(encoding="utf-8")
    assert "`alpha` | ✅ GO" in summary and "`beta` | ❌ NO-GO" in summary and "1 of 3" in summary
    data = json.loads((out / "overview.json").read_text())
    assert [r["status"] for r in data["rows"]] == ["GO", "NO-GO", "NO DOSSIER"]


def test_every_organisation_go_exits_zero_and_a_missing_one_does_not(downloads: Path, tmp_path: Path) -> None:
    only_alpha = downloads / "golive-alpha"
    history = tmp_path / HISTORY_FILE
    assert merge([only_alpha], out=tmp_path / "a", history_file=history).exit_code == 0
    overview = merge([only_alpha], out=tmp_path / "b", history_file=history, expect=["alpha", "delta"])
    assert [(r.organisation, r.status) for r in overview.rows] == [("alpha", "GO"), ("delta", "MISSING")]
    assert overview.exit_code == 1
    assert "no artifact of this organisation" in overview.ci_summary.read_text()


def test_bundles_alone_are_unpacked_and_merged(downloads: Path, tmp_path: Path) -> None:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    source = downloads / "golive-alpha" / "20261130T020000Z-aaaa" / "evidence" / "alpha" / "bundle.zip"
    (bundles / "alpha").mkdir()
    shutil.copy(source, bundles / "alpha" / "bundle.zip")
    evil = bundles / "evil"
    evil.mkdir()
    with zipfile.ZipFile(evil / "bundle.zip", "w") as archive:
        archive.writestr("../../escaped.txt", "outside")
    warnings: list[str] = []
    overview = merge(
        [bundles], out=tmp_path / "out", history_file=tmp_path / HISTORY_FILE, warn=warnings.append
    )
    assert [(r.organisation, r.status) for r in overview.rows] == [("alpha", "GO")]
    assert any("outside the bundle" in w for w in warnings)
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))


def test_the_trend_remembers_earlier_runs(downloads: Path, tmp_path: Path) -> None:
    history = tmp_path / HISTORY_FILE
    merge([downloads], out=tmp_path / "night1", history_file=history)
    night2 = tmp_path / "night2"
    run = run_folder(night2, "gamma", "20261201T020002Z-dddd", [scenario("A first DM")])
    go_evidence(run, "gamma")
    overview = merge([night2], out=tmp_path / "o2", history_file=history, expect=["alpha", "beta", "gamma"])
    merge([night2], out=tmp_path / "o3", history_file=history)  # the same run again: no new entry

    gamma = [e for e in read_history(history) if e.organisation == "gamma"]
    assert [(e.run_id, e.status) for e in gamma] == [
        ("20261130T020002Z-cccc", "NO DOSSIER"),
        ("20261201T020002Z-dddd", "GO"),
    ]
    page = overview.index.read_text(encoding="utf-8")
    assert "20261130T020002Z-cccc: NO DOSSIER" in page and "GO for 1 run(s)" in page
    assert {r.organisation: r.status for r in overview.rows} == {
        "alpha": "MISSING",
        "beta": "MISSING",
        "gamma": "GO",
    }


def test_the_newest_run_of_an_organisation_is_its_row(tmp_path: Path) -> None:
    base = tmp_path / "artifacts"
    run_folder(base, "alpha", "20261129T020000Z-0001", [scenario("A first DM", "failed", "old failure")])
    run_folder(base, "alpha", "20261130T020000Z-0002", [scenario("A first DM")])
    overview = merge([base], out=tmp_path / "out", history_file=tmp_path / HISTORY_FILE)
    (row,) = overview.rows
    assert row.run_id == "20261130T020000Z-0002" and row.failures == ()


def test_any_number_of_organisations(tmp_path: Path) -> None:
    base = tmp_path / "artifacts"
    for n in range(40):
        run = run_folder(base / f"job-{n}", f"org-{n:02d}", f"20261130T02{n:02d}00Z-{n:04x}", [scenario("A")])
        go_evidence(run, f"org-{n:02d}")
    overview = merge([base], out=tmp_path / "out", history_file=tmp_path / HISTORY_FILE)
    assert len(overview.rows) == 40 and overview.exit_code == 0
    assert overview.index.read_text().count('<span class="v go">GO</span>') == 40


def test_merge_refuses_an_output_folder_it_did_not_write_and_empty_input(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(ConfigError, match="not a golive overview"):
        merge([tmp_path], out=mine, history_file=tmp_path / HISTORY_FILE)
    assert (mine / "thesis.docx").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no golive run found"):
        merge([empty], out=tmp_path / "out", history_file=tmp_path / HISTORY_FILE)
