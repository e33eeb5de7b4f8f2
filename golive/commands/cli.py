"""The `golive` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from golive.errors import ConfigError, GoliveError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Go-live verification for the LagostaCRM Instagram DM v2 rollout.",
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _root() -> Path:
    """The project root: the nearest folder above the cwd with an orgs/ folder and features/."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "orgs").is_dir() and (folder / "features").is_dir():
            return folder
    return here


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def _fail(exc: GoliveError, code: int = 2) -> typer.Exit:
    err.print(f"golive: {exc}", markup=False, highlight=False)
    return typer.Exit(code)


@app.command()
def sandbox(
    state_dir: Annotated[Path, typer.Option(help="where profiles and secrets.env are written")] = Path(
        ".golive/sandbox"
    ),
    fault: Annotated[list[str] | None, typer.Option(help="fault profile to switch on (repeatable)")] = None,
) -> None:
    """Run the embedded staging stack in the foreground (Ctrl-C stops it)."""
    from golive.sandbox.__main__ import main as sandbox_main

    argv = ["--state-dir", str(state_dir)]
    for name in fault or []:
        argv += ["--fault", name]
    raise typer.Exit(sandbox_main(argv))


@app.command(context_settings={"allow_extra_args": True})
def smoke(
    ctx: typer.Context,
    org: Annotated[list[str] | None, typer.Option(help="organisation (repeatable); default: sandbox")] = None,
    parallel: Annotated[int | None, typer.Option(help="organisations at once")] = None,
    attest: Annotated[Path | None, typer.Option(help="attestation file for the dossier")] = None,
    signed_off_by: Annotated[str | None, typer.Option(help="who signs the Go/No-Go")] = None,
    evidence: Annotated[bool, typer.Option(help="build the dossier and bundle.zip")] = True,
    suite: Annotated[
        str | None, typer.Option(help="smoke (@smoke) or regression (@smoke or @regression)")
    ] = None,
    marker: Annotated[str | None, typer.Option("-m", help="pytest marker expression")] = None,
    keyword: Annotated[str | None, typer.Option("-k", help="pytest keyword expression")] = None,
    keep: Annotated[
        int | None,
        typer.Option(help="runs kept under reports/ afterwards (default $GOLIVE_KEEP_RUNS or 20; 0: all)"),
    ] = None,
) -> None:
    """Run the suite against every organisation in parallel, print a per-organisation summary,
    then build each organisation's Go/No-Go dossier and evidence bundle.

    Arguments after `--` go to pytest as they are (e.g. `golive smoke -- --maxfail=1`).
    """
    from golive.commands.exit_codes import smoke_exit
    from golive.commands.prune import keep_default, prune_after_run
    from golive.commands.selection import selection
    from golive.commands.smoke import EvidenceRequest, run_smoke

    request = EvidenceRequest(attest, signed_off_by) if evidence else None
    say = _say
    try:
        chosen = selection(suite=suite, marker=marker, keyword=keyword, extra=ctx.args)
        keep_runs = keep_default() if keep is None else keep
        say(f"selection: {chosen.describe()}")
        run, results, built = run_smoke(
            root=_root(),
            orgs=org or [],
            pytest_args=chosen.pytest_args(),
            parallel=parallel,
            evidence=request,
            say=say,
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    prune_after_run(_root() / "reports", keep=keep_runs, say=say)
    table = Table(title=f"golive smoke — run {run.run_id}")
    for column in ("organisation", "passed", "failed", "skipped", "wall s", "HTTP ms", "exit"):
        table.add_column(column)
    for result in results:
        counts = result.counts()
        http = result.summary.http_ms_total if result.summary else ""
        table.add_row(
            result.slug,
            str(counts["passed"]),
            str(counts["failed"]),
            str(counts["skipped"]),
            f"{result.seconds:.1f}",
            str(http),
            str(result.exit_code),
        )
    console.print(table)
    if built is not None:
        for evidence_result in built.results:
            console.print(
                f"{evidence_result.verdict:5} {evidence_result.organisation}  "
                f"bundle: {evidence_result.bundle}",
                markup=False,
                highlight=False,
            )
    if run.root.is_dir():  # a run that finished no scenario leaves no folder
        console.print(f"evidence: {run.root}")
    raise typer.Exit(smoke_exit([r.exit_code for r in results], built.exit_code if built else None))


@app.command()
def evidence(
    org: Annotated[
        list[str] | None, typer.Option(help="organisation (repeatable); default: all of the run")
    ] = None,
    run: Annotated[str | None, typer.Option(help="run id under reports/ (default: the newest)")] = None,
    signed_off_by: Annotated[str | None, typer.Option(help="who signs the Go/No-Go")] = None,
    attest: Annotated[Path | None, typer.Option(help="attestation file (TOML)")] = None,
) -> None:
    """Go/No-Go dossier, offline report and bundle.zip per organisation; exit 0 only for GO."""
    from golive.commands.smoke import EvidenceRequest, build_evidence_for, register_secrets
    from golive.evidence.build import find_run, run_organisations
    from golive.evidence.run import RunDir

    root = _root()
    try:
        run_dir = find_run(root / "reports", run)
        slugs = org or run_organisations(run_dir)
        register_secrets(root, slugs, os.environ)
        built = build_evidence_for(
            root,
            RunDir(run_dir),
            slugs,
            EvidenceRequest(attest, signed_off_by),
            say=lambda line: console.print(line, markup=False, highlight=False),
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    console.print(built.ci_summary.read_text(encoding="utf-8"), markup=False)
    raise typer.Exit(built.exit_code)


@app.command("n8n-lint")
def n8n_lint(
    files: Annotated[list[Path], typer.Argument(help="exported n8n workflow JSON (files or folders)")],
    json_output: Annotated[bool, typer.Option("--json", help="findings as JSON")] = False,
    failures_only: Annotated[
        bool, typer.Option("--failures-only", help="show only broken rules (text and JSON)")
    ] = False,
) -> None:
    """Check exported n8n workflows against the template v2 rules (exit 1 when one is broken).

    Each workflow is classified first: R2–R6 apply to the inbound Chatwoot agent flow only,
    R1 (stage moves by deal_id) to every flow that moves stages.
    """
    from golive.n8n_lint import run

    raise typer.Exit(run(files, as_json=json_output, failures_only=failures_only, out=sys.stdout))


@app.command("kill-matrix")
def kill_matrix(
    fault: Annotated[list[str] | None, typer.Option(help="only these faults (default: all)")] = None,
) -> None:
    """Prove the suite catches regressions: a clean run, then one run per fault profile."""
    from golive.commands.kill_matrix import run_matrix

    try:
        matrix, out = run_matrix(
            root=_root(),
            faults=fault or None,
            say=lambda line: console.print(line, markup=False, highlight=False),
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    console.print((out / "kill-matrix.md").read_text(encoding="utf-8"), markup=False)
    console.print(f"matrix: {out / 'kill-matrix.md'} and kill-matrix.json")
    raise typer.Exit(0 if matrix.ok else 1)


@app.command()
def prune(
    keep: Annotated[int, typer.Option(help="newest runs to keep (0: keep every run, remove strays only)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would be deleted")] = False,
) -> None:
    """Delete old runs under reports/, keeping the newest KEEP, and stray folders of aborted runs.

    Only golive's run folders are touched (named like a run id, holding only what golive
    writes); runs in progress and reports/.history are never deleted.
    """
    from golive.commands import prune as retention

    if keep < 0:
        raise _fail(GoliveError("--keep must be 0 or more"))
    reports = _root() / "reports"
    plan = retention.prune(reports, keep=keep, dry_run=dry_run)
    for line in retention.describe(plan, dry_run=dry_run, relative_to=_root()):
        console.print(line, markup=False, highlight=False)


@app.command("ci-matrix")
def ci_matrix(
    fmt: Annotated[
        str, typer.Option("--format", help="github | gitlab-matrix | gitlab-child | list")
    ] = "github",
    environment: Annotated[
        list[str] | None,
        typer.Option(help="only profiles of this environment (repeatable; default: all but production)"),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="leave out slugs matching this glob (repeatable)")
    ] = None,
    org: Annotated[
        list[str] | None, typer.Option(help="only these organisations (repeatable, or space-separated)")
    ] = None,
    suite: Annotated[str, typer.Option(help="suite the gitlab-child jobs run")] = "smoke",
    templates: Annotated[Path, typer.Option(help="job templates the gitlab-child pipeline embeds")] = Path(
        "ci/gitlab/golive-jobs.yml"
    ),
) -> None:
    """Print the organisations of orgs/*.toml as a CI matrix (one job per organisation)."""
    from golive.commands import ci_matrix as matrix
    from golive.commands.selection import selection

    try:
        if fmt not in matrix.FORMATS:
            choices = ", ".join(matrix.FORMATS)
            raise ConfigError(f"unknown format {fmt!r}: choose one of {choices}", setting="--format")
        selection(suite=suite)
        orgs = matrix.organisations(
            _root() / "orgs",
            environments=environment or (),
            exclude=exclude or (),
            only=[slug for value in org or [] for slug in value.replace(",", " ").split()],
        )
        text = ""
        if fmt == "gitlab-child":
            path = templates if templates.is_absolute() else _root() / templates
            if not path.is_file():
                raise ConfigError(f"no GitLab job templates at {path}", setting="--templates")
            text = path.read_text(encoding="utf-8")
    except GoliveError as exc:
        raise _fail(exc) from None
    sys.stdout.write(matrix.render(orgs, fmt, suite=suite, templates=text).rstrip("\n") + "\n")


@app.command()
def merge(
    inputs: Annotated[
        list[Path], typer.Argument(help="folders (or bundle.zip files) holding downloaded run artifacts")
    ],
    out: Annotated[Path, typer.Option(help="where the overview is written")] = Path("reports/overview"),
    history: Annotated[
        Path | None,
        typer.Option(help="trend file kept across merges (default reports/.history/_overview.jsonl)"),
    ] = None,
    expect: Annotated[
        list[str] | None,
        typer.Option(help="organisations that must be there (repeatable, or space-separated)"),
    ] = None,
    title: Annotated[str, typer.Option(help="the overview's title")] = "golive overview",
) -> None:
    """Merge per-organisation runs (from any number of machines) into one overview: index.html with
    every organisation's verdict, failing scenarios and trend, linking its report and dossier.

    Exit 0 only when every organisation is GO; 1 otherwise (a missing organisation included).
    """
    from golive.commands.merge import HISTORY_FILE
    from golive.commands.merge import merge as merge_runs

    root = _root()
    expected = [slug for value in expect or [] for slug in value.replace(",", " ").split()]
    say = _say
    try:
        overview = merge_runs(
            inputs,
            out=out,
            history_file=history or root / "reports" / ".history" / HISTORY_FILE,
            expect=expected,
            title=title,
            warn=lambda line: err.print(f"golive: {line}", markup=False, highlight=False),
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    for row in overview.rows:
        failed = row.counts.get("failed", 0) if row.counts else 0
        say(f"{row.status:10} {row.organisation}  run {row.run_id}  ({failed} failed)")
    say(f"{overview.runs_found} run(s) merged; overview: {overview.index}")
    raise typer.Exit(overview.exit_code)


@app.command("ci-secrets")
def ci_secrets(
    org: Annotated[str, typer.Option(help="organisation whose secrets the job needs")],
) -> None:
    """Print, for $GITHUB_ENV, the secrets the organisation's profile names, taken from the JSON in
    $GOLIVE_CI_SECRETS (e.g. `${{ toJSON(secrets) }}`); exit 2 naming any that is missing."""
    from golive.commands.ci_secrets import github_env_lines

    try:
        sys.stdout.write(github_env_lines(_root() / "orgs" / f"{org}.toml", os.environ))
    except GoliveError as exc:
        raise _fail(exc) from None


@app.command()
def cleanup(
    org: Annotated[str, typer.Option(help="organisation whose test data to tidy")],
    run: Annotated[list[str] | None, typer.Option(help="run id (repeatable)")] = None,
    older_than: Annotated[
        float | None, typer.Option(help="every run of the organisation older than DAYS (0: all)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would be done")] = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="allow a profile marked production")
    ] = False,
) -> None:
    """Tidy up the test data of runs through the public APIs, touching only what their ledgers
    (reports/<run-id>/ledger/<org>.jsonl) list: deals closed as lost, contacts noted as test data,
    Chatwoot conversations resolved. Says what it could not remove; exit 1 if something failed."""
    from golive.commands import cleanup as tidy

    root = _root()
    try:
        ledgers = tidy.find_ledgers(root / "reports", org, runs=run or (), older_than_days=older_than)
        if not ledgers:
            _say(f"{org}: no ledger to tidy under {root / 'reports'}")
            raise typer.Exit(0)
        crm, chatwoot = tidy.clients_for(root, org, allow_production=allow_production)
        report = tidy.cleanup(org, ledgers, crm=crm, chatwoot=chatwoot, dry_run=dry_run)
    except GoliveError as exc:
        raise _fail(exc) from None
    for outcome in report.outcomes:
        _say(f"{outcome.run_id}  {outcome.line()}")
    _say(
        f"{org}: {len(report.runs)} run(s); {report.count('closed')} deal(s) closed as lost, "
        f"{report.count('resolved')} conversation(s) resolved, {report.count('already')} already tidied, "
        f"{report.count('gone')} gone; not removed: {len(report.not_removed)} "
        f"({report.count('marked')} marked, {report.count('kept')} kept, "
        f"{report.count('left alone')} left alone, {report.count('failed')} failed)"
        + (" — dry run, nothing changed" if dry_run else "")
    )
    raise typer.Exit(1 if report.failed else 0)


@app.command("check-config")
def check_config(
    org: Annotated[list[str], typer.Option(help="organisation profile (repeatable)")],
) -> None:
    """Load profiles and report the first missing or invalid setting (exit 2)."""
    from golive.config import load_organisation

    for slug in org:
        try:
            loaded = load_organisation(slug, orgs_dir=_root() / "orgs")
        except GoliveError as exc:
            raise _fail(exc) from None
        missing = {k: v for k, v in loaded.capabilities().items() if v}
        console.print(f"{slug}: ok ({loaded.environment}, {loaded.crm_base_url})", markup=False)
        for capability, reason in missing.items():
            console.print(f"  without {capability}: {reason}", markup=False)


def main() -> None:
    try:
        app()
    except GoliveError as exc:
        err.print(f"golive: {exc}", markup=False, highlight=False)
        sys.exit(2)
