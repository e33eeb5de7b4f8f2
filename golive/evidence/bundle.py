"""The evidence bundle of one organisation: collect, fingerprint, zip, verify, leak-scan.

:func:`build_evidence` turns a run's ``reports/<run-id>/`` into
``reports/<run-id>/evidence/<org>/``::

    report/index.html          Allure 3 single-file report of this organisation only (offline)
    allure-results/            this organisation's raw Allure results (+ attachments)
    dossier.md, dossier.json   checklist status, verdict and reasons (golive.evidence.dossier)
    sql/<query>.json           the runbook's three verification queries; consistency_problems.json
    channel-configs.json       the active channel configuration per inbox
    fingerprint.json           target URLs (no credentials), versions, workflows, hashes
    run.log                    the full run log
    summary.json               the run summary of this organisation
    attestations.toml          the attestation file the dossier read
    junit-<org>.xml            JUnit for CI, with the Go/No-Go verdict as a test case
    MANIFEST.sha256            sha256 of every file above (``sha256sum -c`` format)
    bundle.zip                 all of the above

After the zip is written every file (zip members and the HTML report's embedded files
included) is scanned for every secret value the profile loaded, also base64- and
URL-encoded; a hit deletes the organisation's evidence folder and raises
:class:`SecretLeakError` naming the file and the secret (never its value).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import json
import re
import shutil
import urllib.parse
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from golive import __version__
from golive.errors import EvidenceError
from golive.evidence import html_report
from golive.evidence.attestations import AttestationFile, load_attestations
from golive.evidence.ci_summary import CiRow, junit_xml, render_ci_summary, write_ci_summary
from golive.evidence.dossier import (
    VERIFICATION_QUERIES,
    Dossier,
    Scenario,
    build_dossier,
    render_markdown,
    sanitise_fingerprint,
    scenarios_from_summary,
    sql_from_json,
    to_json,
)
from golive.evidence.run import git_commit
from golive.evidence.summary import RunSummary
from golive.secrets import MIN_SECRET_LENGTH, Secret

MANIFEST_NAME = "MANIFEST.sha256"
BUNDLE_NAME = "bundle.zip"
EVIDENCE_DIR = "evidence"
_NOT_IN_MANIFEST = frozenset({MANIFEST_NAME, BUNDLE_NAME})
_MAX_ZIP_DEPTH = 3
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SecretLeakError(EvidenceError):
    """A secret value was found in the evidence; the evidence was deleted."""

    def __init__(self, message: str, hits: Sequence[tuple[str, str]]) -> None:
        self.hits = list(hits)
        super().__init__(message)


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
    def verdict(self) -> str:
        return self.dossier.verdict

    @property
    def exit_code(self) -> int:
        """0 only for GO."""
        return 0 if self.dossier.go else 1


# --------------------------------------------------------------------------- manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_files(root: Path) -> list[Path]:
    """Every file under root except the manifest and the zip, sorted by relative path."""
    return sorted(
        (
            p
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).as_posix() not in _NOT_IN_MANIFEST
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def write_manifest(root: Path) -> Path:
    """``MANIFEST.sha256`` in ``sha256sum`` format: ``<hex>  <relative path>`` per file."""
    lines = [f"{sha256_file(p)}  {p.relative_to(root).as_posix()}" for p in _bundle_files(root)]
    manifest = root / MANIFEST_NAME
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def parse_manifest(text: str) -> dict[str, str]:
    """relative path -> sha256; raises EvidenceError on a malformed line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if match is None:
            raise EvidenceError(f"{MANIFEST_NAME}:{number}: not '<sha256>  <path>'")
        entries[match.group(2)] = match.group(1)
    return entries


def _compare(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    problems = [f"changed: {p}" for p in sorted(expected) if p in actual and actual[p] != expected[p]]
    problems += [f"missing: {p}" for p in sorted(expected) if p not in actual]
    problems += [f"not in the manifest: {p}" for p in sorted(actual) if p not in expected]
    return problems


def verify_manifest(root: Path) -> list[str]:
    """Problems of the folder against its MANIFEST.sha256 (``[]`` = every file verifies)."""
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return [f"missing: {MANIFEST_NAME}"]
    expected = parse_manifest(manifest.read_text(encoding="utf-8"))
    actual = {p.relative_to(root).as_posix(): sha256_file(p) for p in _bundle_files(root)}
    return _compare(expected, actual)


def verify_bundle(bundle: Path) -> list[str]:
    """Problems of a bundle.zip against the MANIFEST.sha256 it contains."""
    try:
        with zipfile.ZipFile(bundle) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if MANIFEST_NAME not in names:
                return [f"missing: {MANIFEST_NAME}"]
            expected = parse_manifest(zf.read(MANIFEST_NAME).decode("utf-8"))
            actual = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in names if n != MANIFEST_NAME}
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"unreadable: {bundle.name} ({exc})"]
    return _compare(expected, actual)


def write_bundle(root: Path) -> Path:
    """``bundle.zip``: every file of the manifest plus the manifest, paths relative to root."""
    bundle = root / BUNDLE_NAME
    partial = root / f".{BUNDLE_NAME}.partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in _bundle_files(root):
            if path == partial:
                continue
            zf.write(path, path.relative_to(root).as_posix())
        zf.write(root / MANIFEST_NAME, MANIFEST_NAME)
    partial.replace(bundle)
    return bundle


# --------------------------------------------------------------------------- leak scan


def _base64_fragments(raw: bytes) -> set[bytes]:
    """Base64 text that appears whenever ``raw`` is encoded, whatever its offset (0-2 bytes)."""
    fragments: set[bytes] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = -(-8 * shift // 6)  # first character made of the value's bits only
        end = 8 * (shift + len(raw)) // 6  # last character not touching the padding
        fragment = encoded[start:end]
        fragments.add(fragment)
        fragments.add(fragment.translate(bytes.maketrans(b"+/", b"-_")))  # URL-safe alphabet
    return {f for f in fragments if len(f) >= MIN_SECRET_LENGTH}


def secret_patterns(value: str) -> set[bytes]:
    """The byte strings that betray ``value``: raw, URL-, JSON-, HTML-escaped and base64."""
    raw = value.encode("utf-8")
    texts = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value, quote=True),
    }
    texts.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(value, safe="")))
    patterns = {t.encode("utf-8") for t in texts}
    patterns |= _base64_fragments(raw)
    return {p for p in patterns if p}


def _scan_bytes(
    data: bytes,
    location: str,
    patterns: Mapping[str, set[bytes]],
    hits: set[tuple[str, str]],
    depth: int,
) -> None:
    for name, needles in patterns.items():
        if any(needle in data for needle in needles):
            hits.add((location, name))
    if depth >= _MAX_ZIP_DEPTH:
        return
    if data[:4] == b"PK\x03\x04" or location.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.infolist():
                    if member.is_dir():
                        continue
                    _scan_bytes(zf.read(member), f"{location}:{member.filename}", patterns, hits, depth + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            hits.add((location, f"(unreadable zip, not scanned: {type(exc).__name__})"))
    elif location.lower().endswith((".html", ".htm")):
        text = data.decode("utf-8", errors="replace")
        for embedded, payload in html_report.embedded_report_files(text).items():
            _scan_bytes(payload, f"{location}:{embedded}", patterns, hits, depth + 1)


def leak_scan(
    paths: Iterable[Path], secrets: Mapping[str, str], *, root: Path | None = None
) -> list[tuple[str, str]]:
    """``(file, secret name)`` for every secret value found in the files.

    ``secrets`` maps value -> name. Files are scanned as raw bytes (text or binary);
    zip files are opened and every member scanned (``"bundle.zip:member"``); the
    files an Allure single-file report embeds are decoded and scanned too. Each value
    is looked for as is, URL-encoded, JSON/HTML-escaped and base64-encoded (standard
    and URL-safe alphabets, any alignment). Values shorter than MIN_SECRET_LENGTH are
    ignored, like the redactor does. The result never contains a value.
    """
    patterns: dict[str, set[bytes]] = {}
    for value, name in secrets.items():
        if len(value) >= MIN_SECRET_LENGTH:
            patterns.setdefault(name, set()).update(secret_patterns(value))
    hits: set[tuple[str, str]] = set()
    if not patterns:
        return []
    for path in paths:
        if not path.is_file():
            continue
        location = path.relative_to(root).as_posix() if root is not None else str(path)
        _scan_bytes(path.read_bytes(), location, patterns, hits, 0)
    return sorted(hits)


def secret_values(secrets: Iterable[Secret]) -> dict[str, str]:
    """value -> name, for :func:`leak_scan`, from loaded Secret objects."""
    return {s.reveal(): s.name for s in secrets if s}


# --------------------------------------------------------------------------- Allure split


@dataclass(frozen=True)
class AllureResult:
    uuid: str
    name: str
    feature: str  # feature file stem, from fullName
    parameters: tuple[str, ...]  # example values (organisation excluded)
    files: tuple[str, ...]  # result file first, then its attachments


def _attachment_sources(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for attachment in node.get("attachments") or []:
            if isinstance(attachment, dict) and isinstance(attachment.get("source"), str):
                found.add(attachment["source"])
        for value in node.values():
            if isinstance(value, dict | list):
                found |= _attachment_sources(value)
    elif isinstance(node, list):
        for value in node:
            found |= _attachment_sources(value)
    return found


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _label(data: Mapping[str, Any], name: str) -> str | None:
    for label in data.get("labels") or []:
        if isinstance(label, dict) and label.get("name") == name:
            return str(label.get("value"))
    return None


def split_allure_results(
    source: Path, dest: Path, organisation: str, other_organisations: Collection[str] = ()
) -> list[AllureResult]:
    """Copy this organisation's results, containers and attachments from ``source``.

    A result belongs to the organisation by its ``organisation`` label; a container
    when one of its children does. ``environment.properties`` keeps the run-wide keys
    and this organisation's, never another organisation's.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return []
    results: list[AllureResult] = []
    uuids: set[str] = set()
    to_copy: set[str] = set()
    for path in sorted(source.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or _label(data, "organisation") != organisation:
            continue
        attachments = sorted(a for a in _attachment_sources(data) if _safe_name(a))
        to_copy.add(path.name)
        to_copy.update(attachments)
        uuids.add(str(data.get("uuid")))
        feature = str(data.get("fullName") or "").split(":", 1)[0]
        parameters = tuple(
            str(p.get("value", "")).strip("'\"")
            for p in data.get("parameters") or []
            if isinstance(p, dict) and p.get("name") != "organisation"
        )
        results.append(
            AllureResult(
                str(data.get("uuid")),
                str(data.get("name") or ""),
                Path(feature).stem,
                parameters,
                (path.name, *attachments),
            )
        )
    for path in sorted(source.glob("*-container.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and uuids & {str(c) for c in data.get("children") or []}:
            to_copy.add(path.name)
            to_copy.update(a for a in _attachment_sources(data) if _safe_name(a))
    for name in sorted(to_copy):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    for name in ("categories.json", "executor.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    env_file = source / "environment.properties"
    if env_file.is_file():
        others = {o for o in other_organisations if o != organisation}
        kept = [
            line
            for line in env_file.read_text(encoding="utf-8").splitlines()
            if line.split("=", 1)[0].split(".", 1)[0] not in others
        ]
        (dest / "environment.properties").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return results


def match_evidence(
    scenarios: Sequence[Scenario], results: Sequence[AllureResult], prefix: str = "allure-results"
) -> dict[str, list[str]]:
    """nodeid -> bundle paths of the Allure result (and attachments) of that scenario."""
    by_name: dict[str, list[AllureResult]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    links: dict[str, list[str]] = {}
    for scenario in scenarios:
        candidates = by_name.get(scenario.scenario, [])
        same_feature = [r for r in candidates if r.feature == scenario.feature]
        candidates = same_feature or candidates
        if len(candidates) > 1:
            example = scenario.example
            narrowed = [r for r in candidates if all(p in example for p in r.parameters)]
            candidates = narrowed or candidates
        links[scenario.nodeid] = [f"{prefix}/{f}" for r in candidates for f in r.files]
    return links


# --------------------------------------------------------------------------- build


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
    report_html = _html_report(out, org, summary, allure_cli, history_dir, warnings)
    files["HTML report (single file, offline)"] = (
        report_html.relative_to(out).as_posix() if report_html else None
    )

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
        signed_off_by=signed_off_by,
        evidence=match_evidence(scenarios, results),
        files=files,
        warnings=warnings,
        leak_scan_secrets=set(secrets.values()),
        organisation=org,
    )
    (out / "dossier.md").write_text(render_markdown(dossier), encoding="utf-8")
    (out / "dossier.json").write_text(to_json(dossier), encoding="utf-8")

    junit = out / f"junit-{org}.xml"
    junit.write_bytes(junit_xml(run_dir, dossier))

    write_manifest(out)
    bundle = write_bundle(out)
    hits = leak_scan(sorted(p for p in out.rglob("*") if p.is_file()), secrets, root=out)
    if hits:
        shutil.rmtree(out, ignore_errors=True)
        listed = "; ".join(f"{where}: {name}" for where, name in hits)
        raise SecretLeakError(
            f"secret leak in the evidence of '{org}': {listed} (evidence folder {out} deleted)",
            hits,
        )
    problems = verify_bundle(bundle)
    if problems:
        raise EvidenceError(f"{bundle}: does not verify against its manifest: {'; '.join(problems[:5])}")
    return EvidenceResult(org, dossier, out, bundle, junit, report_html, tuple(dossier.warnings))


def _html_report(
    out: Path,
    org: str,
    summary: RunSummary,
    allure_cli: Path | None,
    history_dir: Path,
    warnings: list[str],
) -> Path | None:
    name = f"golive {summary.name} ({org}) — run {summary.run_id}"
    outcome = html_report.generate_report(
        out / "allure-results",
        out / "report",
        report_name=name.strip(),
        history_file=history_dir / f"{org}.jsonl",
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
    loads = html_report.find_external_references(text, include_embedded=False)
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
        if self.errors:
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
) -> RunEvidence:
    """:func:`build_evidence` for each organisation (default: all of the run), then
    ``evidence/ci-summary.md`` (appended to ``$GITHUB_STEP_SUMMARY`` when set).
    An organisation's error never stops the others."""
    slugs = list(dict.fromkeys(organisations)) or run_organisations(run_dir)
    results: list[EvidenceResult] = []
    errors: dict[str, str] = {}
    leaks: set[str] = set()
    rows: list[CiRow] = []
    for org in slugs:
        try:
            result = build_evidence(
                run_dir,
                org,
                signed_off_by=signed_off_by,
                attest_file=attest_file,
                secrets=secrets,
                allure_cli=allure_cli,
                history_dir=history_dir,
                now=now,
            )
        except EvidenceError as exc:
            errors[org] = str(exc)
            if isinstance(exc, SecretLeakError):
                leaks.add(org)
            rows.append(CiRow.from_error(org, str(exc)))
            continue
        results.append(result)
        rows.append(CiRow.from_result(result, relative_to=run_dir.parent.parent))
    text = render_ci_summary(rows, run_id=run_dir.name)
    summary = write_ci_summary(run_dir / EVIDENCE_DIR / "ci-summary.md", text, env=env)
    return RunEvidence(run_dir, tuple(results), errors, frozenset(leaks), summary)
