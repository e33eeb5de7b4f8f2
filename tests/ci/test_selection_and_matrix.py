"""What `golive smoke` selects and how it exits, and the matrix `golive ci-matrix` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from golive.commands.ci_matrix import organisations, render
from golive.commands.exit_codes import smoke_exit
from golive.commands.selection import selection
from golive.errors import ConfigError

# --------------------------------------------------------------------------- selection


def test_a_suite_is_a_marker_expression_combined_with_m_and_k() -> None:
    assert selection(suite="smoke").pytest_args() == ["-m", "smoke"]
    assert selection(suite="regression").pytest_args() == ["-m", "smoke or regression"]
    chosen = selection(suite="smoke", marker="not needs_n8n", keyword="instagram", extra=["--maxfail=1"])
    assert chosen.pytest_args() == ["-m", "(smoke) and (not needs_n8n)", "-k", "instagram", "--maxfail=1"]
    assert selection().pytest_args() == [] and selection().describe() == "all scenarios"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"suite": "nightly"}, "--suite"),
        ({"extra": ["--org=other"]}, "--org"),
        ({"extra": ["--run-id", "x"]}, "--run-id"),
        ({"extra": ["--junitxml=out.xml"]}, "--junitxml"),
        ({"marker": "  "}, "-m"),
    ],
)
def test_a_bad_selection_is_a_configuration_error_naming_the_option(kwargs: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        selection(**kwargs)
    assert caught.value.setting == named


def test_the_selection_reaches_every_organisations_sub_run() -> None:
    from golive.commands.subrun import SubRun

    args = selection(suite="smoke", keyword="whatsapp").pytest_args()
    argv = SubRun(Path("."), ["sandbox-pilot"], "run", pytest_args=args).argv()
    assert argv[-4:] == ["-m", "smoke", "-k", "whatsapp"]


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("tests", "evidence", "expected"),
    [
        ([0, 0], 0, 0),  # GO
        ([0, 0], 1, 1),  # NO-GO without a failed scenario (e.g. an open manual item)
        ([1, 0], 0, 1),  # a failed non-mandatory scenario: the nightly must fail
        ([0, 0], None, 0),  # --no-evidence: the scenarios decide
        ([0, 2], 0, 2),  # a sub-run could not start (configuration) or was interrupted
        ([5, 5], 1, 2),  # nothing selected
        ([0, 4], None, 2),  # a pytest usage error (e.g. a bad argument after --)
        ([1, 0], 2, 2),  # the evidence could not be built
        ([1, 1], 3, 3),  # a secret leaked: that says more than anything else
    ],
)
def test_smoke_exits_with_the_verdict(tests: list[int], evidence: int | None, expected: int) -> None:
    assert smoke_exit(tests, evidence) == expected


# --------------------------------------------------------------------------- ci-matrix


def profiles(tmp_path: Path) -> Path:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    for slug, env in [("alpha", "staging"), ("beta", "staging"), ("prod", "production"), ("box", "sandbox")]:
        (orgs / f"{slug}.toml").write_text(
            f'name = "{slug.title()}"\nenvironment = "{env}"\n'
            f'[crm]\napi_key_env = "{slug.upper()}_KEY"\nbase_url = "https://x"\n'
            f'[database]\ndsn_env = "{slug.upper()}_DSN"\n',
            encoding="utf-8",
        )
    (orgs / "example-staging.toml").write_text('environment = "staging"\n', encoding="utf-8")
    return orgs


def test_the_matrix_is_every_profile_but_production_unless_asked(tmp_path: Path) -> None:
    orgs = profiles(tmp_path)
    assert [o.slug for o in organisations(orgs)] == ["alpha", "beta", "box", "example-staging"]
    assert [o.slug for o in organisations(orgs, exclude=["example-*"], environments=["staging"])] == [
        "alpha",
        "beta",
    ]
    assert [o.slug for o in organisations(orgs, environments=["production"])] == ["prod"]
    assert [o.slug for o in organisations(orgs, only=["beta"])] == ["beta"]
    with pytest.raises(ConfigError, match="no profile nope"):
        organisations(orgs, only=["nope"])
    with pytest.raises(ConfigError, match="no organisation"):
        organisations(orgs, environments=["qa"])


def test_each_format_lists_the_organisations(tmp_path: Path) -> None:
    orgs = organisations(profiles(tmp_path), environments=["staging"], exclude=["example-*"])
    github = json.loads(render(orgs, "github"))
    assert github == {
        "include": [
            {"org": "alpha", "name": "Alpha", "environment": "staging", "secrets": "ALPHA_DSN ALPHA_KEY"},
            {"org": "beta", "name": "Beta", "environment": "staging", "secrets": "BETA_DSN BETA_KEY"},
        ]
    }
    assert yaml.safe_load(render(orgs, "gitlab-matrix")) == {
        "parallel": {"matrix": [{"GOLIVE_ORG": ["alpha", "beta"]}]}
    }
    assert render(orgs, "list").split() == ["alpha", "beta"]
    child = yaml.safe_load(render(orgs, "gitlab-child", suite="regression", templates=".golive-org: {}\n"))
    assert child["golive:beta"]["variables"] == {"GOLIVE_ORG": "beta", "GOLIVE_SUITE": "regression"}
    assert [n["job"] for n in child["golive:merge"]["needs"]] == ["golive:alpha", "golive:beta"]


def test_the_matrix_grows_with_the_profiles(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    for n in range(50):
        (orgs / f"org-{n:02d}.toml").write_text('environment = "staging"\n', encoding="utf-8")
    found = organisations(orgs)
    assert len(json.loads(render(found, "github"))["include"]) == 50
    assert len(yaml.safe_load(render(found, "gitlab-child"))["golive:merge"]["needs"]) == 50
