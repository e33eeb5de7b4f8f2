"""`golive` subcommands for CI and upkeep: ci-matrix and ci-secrets (a job per organisation),
merge (one overview of many runs), prune (report retention), cleanup (test data on a target)
and bench (figures: scale with organisations, speed under latency)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from golive.commands.cli_common import app, err
from golive.commands.cli_common import fail as _fail
from golive.commands.cli_common import project_root as _root
from golive.commands.cli_common import say as _say
from golive.errors import ConfigError, GoliveError


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
    orgs_dir: Annotated[
        Path, typer.Option(help="the profile folder (e.g. a running sandbox's <state>/orgs)")
    ] = Path("orgs"),
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
            orgs_dir if orgs_dir.is_absolute() else _root() / orgs_dir,
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


@app.command("ci-secrets")
def ci_secrets(
    org: Annotated[str, typer.Option(help="organisation whose secrets the job needs")],
) -> None:
    """Print, for $GITHUB_ENV, only the secrets the organisation's profile names.

    They are taken from the JSON in $GOLIVE_CI_SECRETS (e.g. `${{ toJSON(secrets) }}`); a missing
    one stops the job (exit 2) naming it.
    """
    from golive.commands.ci_secrets import github_env_lines

    try:
        sys.stdout.write(github_env_lines(_root() / "orgs" / f"{org}.toml", os.environ))
    except GoliveError as exc:
        raise _fail(exc) from None


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
    """Merge per-organisation runs from any number of machines into one overview.

    index.html shows every organisation's verdict, failing scenarios and trend, and links its
    offline report and dossier.

    Exit 0 only when every organisation is GO; 1 otherwise (a missing organisation included).
    """
    from golive.commands.merge import HISTORY_FILE
    from golive.commands.merge import merge as merge_runs

    root = _root()
    expected = [slug for value in expect or [] for slug in value.replace(",", " ").split()]
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
        if row.status == "MISSING":
            _say(f"{row.status:10} {row.organisation}  no artifact found")
            continue
        failed = row.counts.get("failed", 0) if row.counts else 0
        _say(f"{row.status:10} {row.organisation}  run {row.run_id}  ({failed} failed)")
    _say(f"{overview.runs_found} run(s) merged; overview: {overview.index}")
    raise typer.Exit(overview.exit_code)


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
        _say(line)


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
    """Tidy up the test data runs left on a target, touching only what their ledgers list.

    Ledgers: reports/<run-id>/ledger/<org>.jsonl. Deals are closed as lost, contacts noted as test
    data, Chatwoot conversations resolved; it says what it could not remove (exit 1 if something
    failed).
    """
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


bench_app = typer.Typer(
    help="Benchmarks (figures, not tests): scale with organisations, speed under latency."
)
app.add_typer(bench_app, name="bench")


@bench_app.command("scale")
def bench_scale(
    orgs: Annotated[str, typer.Option(help="organisation counts, comma-separated")] = "1,8,50",
    parallel: Annotated[int | None, typer.Option(help="golive smoke --parallel (default: its own)")] = None,
    scenarios_at_once: Annotated[
        int | None, typer.Option(help="golive smoke --scenarios-at-once (default: its own)")
    ] = None,
) -> None:
    """The suite for 1, 8 and 50 organisations: wall time, CPU and peak memory per organisation."""
    from golive.commands.bench import bench_scale as run

    try:
        counts = [int(n) for n in orgs.split(",") if n.strip()]
    except ValueError:
        raise _fail(
            ConfigError(f"--orgs {orgs!r}: expected numbers, e.g. 1,8,50", setting="--orgs")
        ) from None
    try:
        run(_root(), counts, say=_say, parallel=parallel, scenarios_at_once=scenarios_at_once)
    except GoliveError as exc:
        raise _fail(exc) from None


@bench_app.command("latency")
def bench_latency(
    latency: Annotated[str, typer.Option(help="the sandbox's latency")] = "crm=150ms,model=2-5s",
    workers: Annotated[int, typer.Option(help="scenarios at once in the side-by-side run")] = 8,
    before_ref: Annotated[
        str | None, typer.Option(help="also run the suite of this git commit, one scenario at a time")
    ] = None,
) -> None:
    """One organisation under real-world latency: one scenario at a time, then side by side."""
    from golive.commands.bench import bench_latency as run

    try:
        run(_root(), say=_say, latency=latency, workers=workers, before_ref=before_ref)
    except GoliveError as exc:
        raise _fail(exc) from None
