"""`golive merge`: per-organisation artifacts, from any number of machines, into one overview.

Each CI job leaves its `reports/<run-id>/` (or only its evidence, or only its bundle.zip); the
merge job downloads them all into one folder and points `golive merge` at it. Whatever the
nesting, golive finds:

* evidence folders — a folder holding `dossier.json` (`reports/<run>/evidence/<org>/`, or an
  unpacked bundle);
* run summaries — `summary/<org>.json` of runs built without evidence;
* bundles — a `bundle.zip` with no unpacked folder beside it is unpacked first.

They are joined by (organisation, run id). The newest run of each organisation becomes its row;
every run found, and the history file of earlier merges, make its trend. The output folder gets
`index.html`, `overview.json`, `ci-summary.md` (appended to `$GITHUB_STEP_SUMMARY` when set) and,
per organisation, its offline report, dossier and bundle under `orgs/<org>/<run-id>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from golive.errors import ConfigError, EvidenceError
from golive.evidence.build import SLUG_RE
from golive.evidence.ci_summary import write_ci_summary
from golive.evidence.overview import Failure, HistoryEntry, OverviewRow, Status, ci_summary, render_index
from golive.evidence.run import new_run_id
from golive.evidence.summary import RunSummary

HISTORY_FILE = "_overview.jsonl"  # in reports/.history; a slug cannot start with "_"
_OUR_FILES = ("index.html", "overview.json", "ci-summary.md")


@dataclass
class FoundRun:
    organisation: str
    run_id: str
    source: Path
    summary: RunSummary | None = None
    evidence_dir: Path | None = None
    dossier: dict[str, Any] | None = None

    @property
    def status(self) -> Status:
        if self.dossier is not None:
            return "GO" if self.dossier.get("verdict") == "GO" else "NO-GO"
        return "NO DOSSIER"

    def counts(self) -> dict[str, int]:
        if self.dossier is not None and isinstance(self.dossier.get("counts"), dict):
            return {k: int(v) for k, v in self.dossier["counts"].items() if k != "total"}
        if self.summary is not None:
            return {str(k): v for k, v in self.summary.counts().items()}
        return {}

    def failures(self) -> tuple[Failure, ...]:
        if self.dossier is not None:
            scenarios = self.dossier.get("scenarios") or []
            return tuple(
                Failure(str(s.get("label") or s.get("scenario")), str(s.get("message") or ""))
                for s in scenarios
                if isinstance(s, dict) and s.get("outcome") == "failed"
            )
        if self.summary is not None:
            return tuple(Failure(s.key, s.message) for s in self.summary.scenarios if s.outcome == "failed")
        return ()

    def reasons(self) -> tuple[str, ...]:
        raw = (self.dossier or {}).get("reasons") or []
        return tuple(str(r.get("message")) for r in raw if isinstance(r, dict) and r.get("message"))


# --------------------------------------------------------------------------- finding runs


def _walk(root: Path, skip: Path) -> Iterator[Path]:
    """Every folder under `root` (not following symlinks), leaving out `skip`."""
    for here, dirs, _files in os.walk(root, followlinks=False):
        path = Path(here)
        if path == skip or skip in path.parents:
            dirs[:] = []
            continue
        dirs.sort()
        yield path


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _unpack(bundle: Path, into: Path) -> Path:
    """A bundle's members into a fresh folder; refuses members that would land outside it."""
    into.mkdir(parents=True)
    with zipfile.ZipFile(bundle) as archive:
        for member in archive.namelist():
            target = (into / member).resolve()
            if member.startswith("/") or into.resolve() not in target.parents:
                raise EvidenceError(f"{bundle}: member {member!r} would be written outside the bundle")
        archive.extractall(into)
    return into


def collect(
    inputs: Sequence[Path], *, skip: Path, unpack_dir: Path, warn: Callable[[str], None]
) -> dict[tuple[str, str], FoundRun]:
    """Every (organisation, run id) found under `inputs`."""
    found: dict[tuple[str, str], FoundRun] = {}

    def run_of(org: str, run_id: str, source: Path) -> FoundRun:
        return found.setdefault((org, run_id), FoundRun(org, run_id, source))

    def evidence_folder(folder: Path) -> None:
        dossier = _read_json(folder / "dossier.json")
        org = str((dossier or {}).get("organisation") or "")
        if dossier is None or not SLUG_RE.fullmatch(org):
            warn(f"{folder / 'dossier.json'}: not a golive dossier, ignored")
            return
        run = run_of(org, str(dossier.get("run_id") or ""), folder)
        run.evidence_dir, run.dossier = folder, dossier
        if run.summary is None and (folder / "summary.json").is_file():
            run.summary = _summary(folder / "summary.json", warn)

    unpacked = 0
    for root in inputs:
        if not root.exists():
            raise ConfigError(f"{root} does not exist", setting="INPUTS")
        if root.is_file() and root.suffix == ".zip":
            unpacked += 1
            evidence_folder(_unpack(root, unpack_dir / str(unpacked)))
            continue
        for folder in _walk(root, skip):
            if (folder / "dossier.json").is_file():
                evidence_folder(folder)
            elif (folder / "bundle.zip").is_file():
                unpacked += 1
                try:
                    evidence_folder(_unpack(folder / "bundle.zip", unpack_dir / str(unpacked)))
                except (zipfile.BadZipFile, EvidenceError) as exc:
                    warn(f"{folder / 'bundle.zip'}: not unpacked ({exc})")
            if folder.name == "summary":
                for path in sorted(folder.glob("*.json")):
                    summary = _summary(path, warn)
                    if summary is not None and SLUG_RE.fullmatch(summary.organisation):
                        run = run_of(summary.organisation, summary.run_id, folder.parent)
                        run.summary = run.summary or summary
    return found


def _summary(path: Path, warn: Callable[[str], None]) -> RunSummary | None:
    try:
        return RunSummary.read(path)
    except EvidenceError as exc:
        warn(f"{exc}; ignored")
        return None


# --------------------------------------------------------------------------- history


def read_history(path: Path) -> list[HistoryEntry]:
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(HistoryEntry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line of an interrupted merge
    return entries


def merge_history(old: Sequence[HistoryEntry], new: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """One entry per (organisation, run id), the newer merge winning, in run order."""
    merged = {(e.organisation, e.run_id): e for e in [*old, *new]}
    return sorted(merged.values(), key=lambda e: (e.organisation, e.run_id))


# --------------------------------------------------------------------------- the overview


def _copy_evidence(run: FoundRun, out: Path) -> dict[str, str]:
    """The newest run's report, dossier and bundle, under orgs/<org>/<run-id>/; their links."""
    if run.evidence_dir is None:
        return {}
    rel = Path("orgs") / run.organisation / (run.run_id or "run")
    dest = out / rel
    dest.mkdir(parents=True, exist_ok=True)
    links: dict[str, str] = {}
    source = run.evidence_dir
    for label, name, target in (
        ("report", "report/index.html", "report.html"),
        ("dossier.md", "dossier.md", "dossier.md"),
        ("dossier.json", "dossier.json", "dossier.json"),
        ("bundle", "bundle.zip", "bundle.zip"),
    ):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / target)
            links[label] = (rel / target).as_posix()
    if (dest / "dossier.md").is_file():
        text = (dest / "dossier.md").read_text(encoding="utf-8")
        (dest / "dossier.html").write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>dossier {escape(run.organisation)} {escape(run.run_id)}</title></head>"
            '<body><pre style="white-space:pre-wrap;font:13px/1.4 monospace">'
            f"{escape(text)}</pre></body></html>\n",
            encoding="utf-8",
        )
        links = {"dossier": (rel / "dossier.html").as_posix(), **links}
    return links


def _prepare_out(out: Path) -> None:
    """An empty or missing folder, or one a previous merge wrote; never someone else's."""
    if out.exists() and any(out.iterdir()) and not (out / "overview.json").is_file():
        raise ConfigError(
            f"{out} holds files that are not a golive overview; choose another --out",
            setting="--out",
        )
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "orgs", ignore_errors=True)
    for name in _OUR_FILES:
        (out / name).unlink(missing_ok=True)


@dataclass(frozen=True)
class Overview:
    rows: tuple[OverviewRow, ...]
    index: Path
    ci_summary: Path
    runs_found: int

    @property
    def exit_code(self) -> int:
        """0 only when every organisation is GO."""
        return 0 if self.rows and all(r.go for r in self.rows) else 1


def merge(
    inputs: Sequence[Path],
    *,
    out: Path,
    history_file: Path,
    expect: Sequence[str] = (),
    title: str = "golive overview",
    warn: Callable[[str], None] = print,
    now: datetime | None = None,
) -> Overview:
    _prepare_out(out)
    with tempfile.TemporaryDirectory(prefix="golive-merge-") as unpack_dir:
        found = collect(inputs, skip=out.resolve(), unpack_dir=Path(unpack_dir), warn=warn)
        if not found and not expect:
            raise ConfigError(
                f"no golive run found under {', '.join(map(str, inputs))}: expected "
                "reports/<run-id>/summary/<org>.json, evidence/<org>/dossier.json or bundle.zip",
                setting="INPUTS",
            )
        by_org: dict[str, list[FoundRun]] = defaultdict(list)
        for run in found.values():
            by_org[run.organisation].append(run)
        rows: list[OverviewRow] = []
        for org in sorted(set(by_org) | set(expect)):
            runs = sorted(by_org.get(org, []), key=lambda r: r.run_id)
            if not runs:
                rows.append(OverviewRow(org, org, "unknown", new_run_id(), "MISSING"))
                continue
            newest = runs[-1]
            summary = newest.summary
            dossier = newest.dossier or {}
            rows.append(
                OverviewRow(
                    organisation=org,
                    name=str(dossier.get("name") or (summary.name if summary else org)),
                    environment=str(dossier.get("environment") or (summary.environment if summary else "")),
                    run_id=newest.run_id,
                    status=newest.status,
                    counts=newest.counts(),
                    failures=newest.failures(),
                    reasons=newest.reasons(),
                    links=_copy_evidence(newest, out),
                    source=str(newest.source),
                )
            )
    new_entries = [r.history_entry() for r in rows]
    new_entries += [
        HistoryEntry(r.organisation, r.run_id, r.status, **_counts(r.counts())) for r in found.values()
    ]
    history = merge_history(read_history(history_file), new_entries)
    history_file.parent.mkdir(parents=True, exist_ok=True)
    history_file.write_text("".join(e.to_json() + "\n" for e in history), encoding="utf-8")
    per_org: dict[str, list[HistoryEntry]] = defaultdict(list)
    for entry in history:
        per_org[entry.organisation].append(entry)
    generated = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    index = out / "index.html"
    index.write_text(render_index(rows, per_org, title=title, generated_at=generated), encoding="utf-8")
    (out / "overview.json").write_text(
        json.dumps(
            {"title": title, "generated_at": generated, "rows": [_row_json(r) for r in rows]},
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    summary_path = write_ci_summary(out / "ci-summary.md", ci_summary(rows, title=title))
    return Overview(tuple(rows), index, summary_path, len(found))


def _counts(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in ("passed", "failed", "skipped")}


def _row_json(row: OverviewRow) -> dict[str, Any]:
    data = asdict(row)
    data["failures"] = [asdict(f) for f in row.failures]
    return data
