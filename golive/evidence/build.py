"""The evidence of one organisation, and of every organisation of a run.

:func:`build_evidence` turns a run's ``reports/<run-id>/`` into
``reports/<run-id>/evidence/<org>/``::

    report/index.html          Allure 3 single-file report of this organisation only (offline)
    allure-results/            this organisation's raw Allure results (+ attachments)
    dossier.md, dossier.json   checklist status, verdict and reasons (golive.evidence.dossier)
    sql/<query>.json           the runbook's three verification queries; consistency_problems.json
    channel-configs.json       the active channel configuration per inbox
    monitor/<org>--<w>.json    the monitoring window(s) after the run (golive monitor)
    api-check/                 Schemathesis on the CRM's public API (golive api-check), if run
    fingerprint.json           target URLs (no credentials), versions, workflows, hashes
    run.log                    the full run log
    summary.json               the run summary of this organisation
    attestations.toml          the attestation file the dossier read
    junit-<org>.xml            JUnit for CI, with the Go/No-Go verdict as a test case
    MANIFEST.sha256            sha256 of every file above (``sha256sum -c`` format)
    bundle.zip                 all of the above

After the zip is written every file (zip members and the HTML report's embedded files
included) is leak-scanned (golive.evidence.leak_scan) for every secret value the profile
loaded, in every form redaction knows; a hit deletes the organisation's evidence folder and
raises :class:`SecretLeakError` naming the file and the secret (never its value).
:func:`build_run_evidence` does it for every organisation of a run and writes the CI summary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from golive import __version__
from golive.errors import EvidenceError
from golive.evidence import api_conformance
from golive.evidence.allure_cli import generate_report
from golive.evidence.allure_split import match_evidence, split_allure_results
from golive.evidence.attestations import AttestationFile, load_attestations
from golive.evidence.ci_summary import CiRow, junit_xml, render_ci_summary, write_ci_summary
from golive.evidence.dossier import (
    VERIFICATION_QUERIES,
    Dossier,
    Verdict,
    sanitise_fingerprint,
    scenarios_from_summary,
    sql_from_json,
)
from golive.evidence.dossier_render import render_markdown, to_json
from golive.evidence.dossier_rules import build_dossier
from golive.evidence.leak_scan import SecretLeakError, leak_scan
from golive.evidence.manifest import SIGNATURE_NAME, verify_bundle, write_bundle, write_manifest
from golive.evidence.monitoring import MONITOR_DIR, read_reports
from golive.evidence.offline_html import find_external_references
from golive.evidence.run import git_commit
from golive.evidence.signing import Signer, sign
from golive.evidence.summary import RunSummary
from golive.evidence.verify import bundle_signature_problems

EVIDENCE_DIR = "evidence"
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# --------------------------------------------------------------------------- one organisation


@dataclass(frozen=True)
class EvidenceResult:
    organisation: str
    dossier: Dossier
    evidence_dir: Path
    bundle: Path
    junit: Path
    report_html: Path | None
    warnings: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return self.dossier.verdict

    @property
    def exit_code(self) -> int:
        """0 only for GO."""
        return 0 if self.dossier.go else 1


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{path}: {what} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise EvidenceError(f"{path}: {what} is not a JSON object")
    return data


def _fallback_fingerprint(run_dir: Path, org: str, summary: RunSummary) -> dict[str, Any]:
    """What can be recovered when the run wrote no fingerprint/<org>.json."""
    props: dict[str, str] = {}
    env_file = run_dir / "allure-results" / "environment.properties"
    if env_file.is_file():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
    return {
        "organisation": org,
        "environment": summary.environment,
        "crm_base_url": props.get(f"{org}.crm"),
        "chatwoot_base_url": None,
        "n8n_base_url": None,
        "profile_sha256": props.get(f"{org}.profile_sha256"),
        "golive_version": props.get("golive.version") or __version__,
        "git_commit": git_commit(run_dir),
        "git_commit_source": "read when the evidence was built, not during the run",
        "versions": {},
        "workflows": [],
        "channel_configs": [],
    }


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _known_organisations(run_dir: Path) -> set[str]:
    return {p.stem for p in (run_dir / "summary").glob("*.json")}


def build_evidence(
    run_dir: Path,
    org: str,
    *,
    signed_off_by: str | None,
    attest_file: Path | None,
    secrets: Mapping[str, str],
    allure_cli: Path | None,
    history_dir: Path,
    now: datetime | None = None,
    signer: Signer | None = None,
) -> EvidenceResult:
    """Build ``run_dir/evidence/<org>/`` (dossier, report, bundle.zip) and leak-scan it.

    ``secrets`` maps every secret value the profile loaded to its name (e.g.
    ``REDACTOR.known()``). Raises EvidenceError when the run has no summary for the
    organisation or an input is unreadable, AttestationError for a bad attestation
    file, SecretLeakError (after deleting the evidence folder) when a value leaked.
    A missing Allure CLI or Node.js is a warning (raw results are kept), never an error.
    """
    if not SLUG_RE.fullmatch(org) or ".." in org:
        raise EvidenceError(f"{org!r} is not an organisation slug (letters, digits, '-', '_', '.')")
    generated_at = (now or datetime.now(UTC)).astimezone()
    summary_path = run_dir / "summary" / f"{org}.json"
    if not summary_path.is_file():
        raise EvidenceError(
            f"no run summary for '{org}' in {run_dir} ({summary_path} is missing): was the "
            f"organisation part of this run (--org {org})?"
        )
    summary = RunSummary.read(summary_path)
    scenarios = scenarios_from_summary(summary)
    attestations: AttestationFile | None = load_attestations(attest_file) if attest_file is not None else None
    sql_data = _read_json(run_dir / "sql" / f"{org}.json", "the SQL evidence")
    sql = sql_from_json(sql_data, source=str(run_dir / "sql" / f"{org}.json"))

    out = run_dir / EVIDENCE_DIR / org
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files: dict[str, str | None] = {}
    warnings: list[str] = []

    fingerprint = _read_json(run_dir / "fingerprint" / f"{org}.json", "the fingerprint")
    if fingerprint is None:
        warnings.append(
            f"the run wrote no fingerprint/{org}.json: the environment fingerprint "
            "is partly reconstructed (no versions, workflows or channel configs)"
        )
        fingerprint = _fallback_fingerprint(run_dir, org, summary)
    fingerprint = sanitise_fingerprint(fingerprint)
    _write_json(out / "fingerprint.json", fingerprint)
    files["environment fingerprint"] = "fingerprint.json"

    # Allure: this organisation's results only, then the offline single-file report.
    results = split_allure_results(
        run_dir / "allure-results", out / "allure-results", org, _known_organisations(run_dir)
    )
    if not results:
        warnings.append(f"no Allure result labelled organisation={org} in {run_dir / 'allure-results'}")
    files["Allure results (raw)"] = "allure-results/"
    history_file = history_dir / history_name(org, fingerprint)
    report_html = _html_report(out, org, summary, allure_cli, history_file, warnings)
    files["HTML report (single file, offline)"] = (
        report_html.relative_to(out).as_posix() if report_html else None
    )
    preflight = _read_json(run_dir / "preflight" / f"{org}.json", "the preflight report")
    if preflight is not None:
        _write_json(out / "preflight.json", preflight)
        files["preflight (every integration checked live before the scenarios)"] = "preflight.json"

    # The runbook's evidence items.
    if sql.ran:
        for name in VERIFICATION_QUERIES:
            rows = sql.verification_queries.get(name)
            if rows is not None:
                _write_json(out / "sql" / f"{name}.json", list(rows))
                files[f"sql:{name}"] = f"sql/{name}.json"
        _write_json(
            out / "sql" / "consistency_problems.json",
            {k: list(v) for k, v in sql.consistency_problems.items()},
        )
        files["SQL verification queries"] = "sql/"
    else:
        files["SQL verification queries"] = None
    configs = fingerprint.get("channel_configs") if isinstance(fingerprint, dict) else None
    if configs:
        _write_json(out / "channel-configs.json", configs)
        files["active channel configuration per inbox"] = "channel-configs.json"
    else:
        files["active channel configuration per inbox"] = None
        warnings.append("the active channel configuration per inbox was not recorded by the run")
    monitoring = read_reports(run_dir, org)
    for report in monitoring:
        name = f"{org}--{report.window_label}.json"
        (out / MONITOR_DIR).mkdir(exist_ok=True)
        shutil.copyfile(run_dir / MONITOR_DIR / name, out / MONITOR_DIR / name)
        files[f"monitor:{report.window_label}"] = f"{MONITOR_DIR}/{name}"
    files["monitoring window after the run"] = f"{MONITOR_DIR}/" if monitoring else None
    api_check = api_conformance.read_summary(run_dir, org)
    if api_check is not None:
        shutil.copytree(run_dir / api_conformance.API_CHECK_DIR / org, out / api_conformance.API_CHECK_DIR)
    files["API conformance (Schemathesis)"] = f"{api_conformance.API_CHECK_DIR}/" if api_check else None
    log = run_dir / "logs" / f"{org}.log"
    if log.is_file():
        shutil.copyfile(log, out / "run.log")
        files["full run log"] = "run.log"
    else:
        files["full run log"] = None
        warnings.append(f"no run log ({log} is missing; `golive smoke` writes it)")
    shutil.copyfile(summary_path, out / "summary.json")
    files["run summary"] = "summary.json"
    if attestations is not None and attest_file is not None:
        shutil.copyfile(attest_file, out / "attestations.toml")
        files["attestation file"] = "attestations.toml"
    files["JUnit"] = f"junit-{org}.xml"
    if not secrets:
        warnings.append("no secret value was loaded: the leak scan had nothing to look for")

    dossier = build_dossier(
        summary,
        sql=sql,
        fingerprint=fingerprint,
        attestations=attestations,
        generated_at=generated_at,
        signed_off_by=signer.identity if signer is not None else signed_off_by,
        signer_key=signer.fingerprint if signer is not None else None,
        evidence=_report_links(match_evidence(scenarios, results), report_html, out),
        files=files,
        warnings=warnings,
        leak_scan_secrets=set(secrets.values()),
        organisation=org,
        monitoring=monitoring,
    )
    dossier = dataclasses.replace(dossier, api_conformance=api_check)
    (out / "dossier.md").write_text(render_markdown(dossier), encoding="utf-8")
    (out / "dossier.json").write_text(to_json(dossier), encoding="utf-8")

    junit = out / f"junit-{org}.xml"
    junit.write_bytes(junit_xml(run_dir, dossier))

    manifest = write_manifest(out)
    if signer is not None:
        (out / SIGNATURE_NAME).write_text(sign(manifest.read_bytes(), signer), encoding="utf-8")
    bundle = write_bundle(out)
    hits = leak_scan(sorted(p for p in out.rglob("*") if p.is_file()), secrets, root=out)
    if hits:
        shutil.rmtree(out, ignore_errors=True)
        listed = "; ".join(f"{where}: {name}" for where, name in hits)
        raise SecretLeakError(
            f"secret leak in the evidence of '{org}': {listed} (evidence folder {out} deleted)",
            hits,
        )
    problems = verify_bundle(bundle) + (bundle_signature_problems(bundle) if signer is not None else [])
    if problems:
        raise EvidenceError(f"{bundle}: does not verify against its manifest: {'; '.join(problems[:5])}")
    return EvidenceResult(org, dossier, out, bundle, junit, report_html, tuple(dossier.warnings))


def history_name(org: str, fingerprint: Mapping[str, Any]) -> str:
    """The Allure history file of one target: its CRM base URL and CRM organisation id, so that
    two tenants — or two stagings behind one profile name — never share a trend. The sandbox
    (new ports and ids at every start) is one target per organisation."""
    if fingerprint.get("environment") == "sandbox":
        return f"{org}-sandbox.jsonl"
    crm_org = fingerprint.get("crm_organisation")
    org_id = crm_org.get("id") if isinstance(crm_org, Mapping) else fingerprint.get("organization_id")
    target = f"{fingerprint.get('crm_base_url') or ''}|{org_id or ''}"
    return f"{org}-{hashlib.sha256(target.encode()).hexdigest()[:12]}.jsonl"


def _report_links(
    links: Mapping[str, Sequence[str]], report_html: Path | None, out: Path
) -> dict[str, list[str]]:
    """Each scenario's evidence, its page in the offline report first: Allure 3 opens a test
    result at `index.html#<md5 of the result's uuid>`."""
    if report_html is None:
        return {nodeid: list(files) for nodeid, files in links.items()}
    page = report_html.relative_to(out).as_posix()
    found: dict[str, list[str]] = {}
    for nodeid, files in links.items():
        uuids = [Path(f).name.removesuffix("-result.json") for f in files if f.endswith("-result.json")]
        pages = [f"{page}#{hashlib.md5(u.encode(), usedforsecurity=False).hexdigest()}" for u in uuids]
        found[nodeid] = [*pages, *files]
    return found


def _html_report(
    out: Path,
    org: str,
    summary: RunSummary,
    allure_cli: Path | None,
    history_file: Path,
    warnings: list[str],
) -> Path | None:
    name = f"golive {summary.name} ({org}) — run {summary.run_id}"
    outcome = generate_report(
        out / "allure-results",
        out / "report",
        report_name=name.strip(),
        history_file=history_file,
        allure_cli=allure_cli,
    )
    warnings.extend(outcome.warnings)
    if outcome.html is None:
        with contextlib.suppress(OSError):
            shutil.rmtree(out / "report")
        return None
    try:
        text = outcome.html.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"HTML report unreadable, left out ({exc})")
        shutil.rmtree(out / "report", ignore_errors=True)
        return None
    loads = find_external_references(text, include_embedded=False)
    if loads:
        shutil.rmtree(out / "report", ignore_errors=True)
        warnings.append(
            "HTML report left out: it is not offline "
            f"({'; '.join(loads[:3])}); the raw Allure results are in the bundle"
        )
        return None
    return outcome.html


# --------------------------------------------------------------------------- a whole run

RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
EXIT_GO, EXIT_NO_GO, EXIT_ERROR, EXIT_LEAK = 0, 1, 2, 3


def find_run(reports_dir: Path, run_id: str | None = None) -> Path:
    """``reports/<run_id>``, or the newest run folder that has per-organisation summaries."""
    if run_id:
        run = reports_dir / run_id
        if not (run / "summary").is_dir():
            raise EvidenceError(f"no run {run_id!r} with summaries in {reports_dir}")
        return run
    candidates = list(reports_dir.iterdir()) if reports_dir.is_dir() else []
    runs = sorted(p.name for p in candidates if RUN_ID_RE.match(p.name) and (p / "summary").is_dir())
    if not runs:
        raise EvidenceError(f"no run in {reports_dir}: run `golive smoke` first")
    return reports_dir / runs[-1]


def run_organisations(run_dir: Path) -> list[str]:
    """The organisations a run wrote a summary for."""
    return sorted(_known_organisations(run_dir))


@dataclass(frozen=True)
class RunEvidence:
    """The evidence of every selected organisation of one run, and the CI job summary."""

    run_dir: Path
    results: tuple[EvidenceResult, ...]
    errors: Mapping[str, str]  # organisation -> one-line error (nothing was bundled)
    leaks: frozenset[str]  # organisations whose evidence leaked a secret (and was deleted)
    ci_summary: Path

    @property
    def exit_code(self) -> int:
        """0 only when every organisation is GO; 3 on a leak, 2 on another error, else 1."""
        if self.leaks:
            return EXIT_LEAK
        if self.errors or not self.results:
            return EXIT_ERROR
        return EXIT_GO if all(r.dossier.go for r in self.results) else EXIT_NO_GO


def build_run_evidence(
    run_dir: Path,
    organisations: Sequence[str] = (),
    *,
    signed_off_by: str | None,
    attest_file: Path | None,
    secrets: Mapping[str, str],
    allure_cli: Path | None,
    history_dir: Path,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    signer: Signer | None = None,
    workers: int | None = None,
) -> RunEvidence:
    """:func:`build_evidence` for each organisation (default: all of the run; `workers` at once,
    default one per core), then
    ``evidence/ci-summary.md`` (appended to ``$GITHUB_STEP_SUMMARY`` when set).
    An organisation's error never stops the others."""
    slugs = list(dict.fromkeys(organisations)) or run_organisations(run_dir)
    if not slugs:
        raise EvidenceError(
            f"run {run_dir.name} has no organisation to give evidence for ({run_dir / 'summary'} "
            "is empty): did the run stop before its scenarios, e.g. at the preflight?"
        )
    results: list[EvidenceResult] = []
    errors: dict[str, str] = {}
    leaks: set[str] = set()
    rows: list[CiRow] = []

    def one(org: str) -> EvidenceResult | EvidenceError:
        try:
            return build_evidence(
                run_dir,
                org,
                signed_off_by=signed_off_by,
                attest_file=attest_file,
                secrets=secrets,
                allure_cli=allure_cli,
                history_dir=history_dir,
                now=now,
                signer=signer,
            )
        except EvidenceError as exc:
            return exc

    # Organisations side by side: each one's Allure report is a Node process of its own, which
    # runs while another organisation's dossier and leak scan take the Python side.
    with ThreadPoolExecutor(max_workers=max(1, min(len(slugs), workers or (os.cpu_count() or 2)))) as pool:
        built = list(pool.map(one, slugs))
    for org, outcome in zip(slugs, built, strict=True):
        if isinstance(outcome, EvidenceError):
            errors[org] = str(outcome)
            if isinstance(outcome, SecretLeakError):
                leaks.add(org)
            rows.append(CiRow.from_error(org, str(outcome)))
            continue
        results.append(outcome)
        rows.append(CiRow.from_result(outcome, relative_to=run_dir.parent.parent))
    text = render_ci_summary(rows, run_id=run_dir.name)
    summary = write_ci_summary(run_dir / EVIDENCE_DIR / "ci-summary.md", text, env=env)
    return RunEvidence(run_dir, tuple(results), errors, frozenset(leaks), summary)
