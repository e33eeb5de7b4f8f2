"""The `golive` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from golive.errors import GoliveError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Go-live verification for the LagostaCRM Instagram DM v2 rollout.")
console = Console()
err = Console(stderr=True)


def _root() -> Path:
    """The project root: the nearest folder above the cwd with an orgs/ folder and features/."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "orgs").is_dir() and (folder / "features").is_dir():
            return folder
    return here


def _fail(exc: GoliveError, code: int = 2) -> typer.Exit:
    err.print(f"golive: {exc}", markup=False, highlight=False)
    return typer.Exit(code)


@app.command()
def sandbox(
    state_dir: Annotated[Path, typer.Option(help="where profiles and secrets.env are written")] =
    Path(".golive/sandbox"),
    fault: Annotated[list[str] | None, typer.Option(help="fault profile to switch on (repeatable)")]
    = None,
) -> None:
    """Run the embedded staging stack in the foreground (Ctrl-C stops it)."""
    from golive.sandbox.__main__ import main as sandbox_main

    argv = ["--state-dir", str(state_dir)]
    for name in fault or []:
        argv += ["--fault", name]
    raise typer.Exit(sandbox_main(argv))


@app.command()
def smoke(
    org: Annotated[list[str] | None, typer.Option(help="organisation (repeatable); default: sandbox")]
    = None,
    parallel: Annotated[int | None, typer.Option(help="organisations at once")] = None,
) -> None:
    """Run the suite against every organisation in parallel and print a per-organisation summary."""
    from golive.smoke import run_smoke

    try:
        run, results = run_smoke(root=_root(), orgs=org or [], parallel=parallel,
                                 say=lambda line: console.print(line, markup=False, highlight=False))
    except GoliveError as exc:
        raise _fail(exc) from None
    table = Table(title=f"golive smoke — run {run.run_id}")
    for column in ("organisation", "passed", "failed", "skipped", "wall s", "HTTP ms", "exit"):
        table.add_column(column)
    for result in results:
        counts = result.counts()
        http = (result.summary or {}).get("http_ms_total", "")
        table.add_row(result.slug, str(counts["passed"]), str(counts["failed"]),
                      str(counts["skipped"]), f"{result.seconds:.1f}", str(http), str(result.exit_code))
    console.print(table)
    console.print(f"evidence: {run.root}")
    config_errors = [r for r in results if r.exit_code == 2]
    raise typer.Exit(2 if config_errors else max((r.exit_code for r in results), default=0))


@app.command("n8n-lint")
def n8n_lint(
    files: Annotated[list[Path], typer.Argument(help="exported n8n workflow JSON (files or folders)")],
    json_output: Annotated[bool, typer.Option("--json", help="findings as JSON")] = False,
) -> None:
    """Check exported n8n workflows against the template v2 rules (exit 1 when one is broken)."""
    from golive.n8n_lint import run

    raise typer.Exit(run(files, as_json=json_output, out=sys.stdout))


@app.command("kill-matrix")
def kill_matrix(
    fault: Annotated[list[str] | None, typer.Option(help="only these faults (default: all)")] = None,
) -> None:
    """Prove the suite catches regressions: a clean run, then one run per fault profile."""
    from golive.kill_matrix import run_matrix

    try:
        matrix, out = run_matrix(root=_root(), faults=fault or None,
                                 say=lambda line: console.print(line, markup=False, highlight=False))
    except GoliveError as exc:
        raise _fail(exc) from None
    console.print((out / "kill-matrix.md").read_text(encoding="utf-8"), markup=False)
    console.print(f"matrix: {out / 'kill-matrix.md'} and kill-matrix.json")
    raise typer.Exit(0 if matrix.ok else 1)


@app.command("check-config")
def check_config(org: Annotated[list[str], typer.Option(help="organisation profile (repeatable)")]) -> None:
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
