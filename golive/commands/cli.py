"""The `golive` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from golive.commands.cli_common import app, console, err
from golive.commands.cli_common import fail as _fail
from golive.commands.cli_common import project_root as _root
from golive.commands.cli_common import say as _say
from golive.errors import GoliveError


@app.command()
def sandbox(
    state_dir: Annotated[Path, typer.Option(help="where profiles and secrets.env are written")] = Path(
        ".golive/sandbox"
    ),
    fault: Annotated[list[str] | None, typer.Option(help="fault profile to switch on (repeatable)")] = None,
    orgs: Annotated[
        int | None,
        typer.Option(help="organisations to seed (default 2; more are sandbox-03, sandbox-04, …)"),
    ] = None,
    latency: Annotated[
        str | None,
        typer.Option(
            help="latency added per system, fixed or a range: e.g. crm=150ms,model=2-5s "
            "(systems: crm, chatwoot, n8n, model; also PUT /latency on the control API)"
        ),
    ] = None,
) -> None:
    """Run the embedded staging stack in the foreground (Ctrl-C stops it)."""
    from golive.sandbox.__main__ import main as sandbox_main

    argv = ["--state-dir", str(state_dir)]
    for name in fault or []:
        argv += ["--fault", name]
    if orgs is not None:
        argv += ["--orgs", str(orgs)]
    if latency:
        argv += ["--latency", latency]
    raise typer.Exit(sandbox_main(argv))


@app.command(context_settings={"allow_extra_args": True})
def smoke(
    ctx: typer.Context,
    org: Annotated[list[str] | None, typer.Option(help="organisation (repeatable); default: sandbox")] = None,
    parallel: Annotated[int | None, typer.Option(help="organisations at once")] = None,
    attest: Annotated[Path | None, typer.Option(help="attestation file for the dossier")] = None,
    signed_off_by: Annotated[
        str | None, typer.Option(help="a name for an unsigned dossier (use --sign-key to sign)")
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 private key (OpenSSH or PEM) that signs each bundle's manifest; the "
            "signer is the key's identity (its comment), passphrase in GOLIVE_SIGN_KEY_PASSPHRASE"
        ),
    ] = None,
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
    monitor_window: Annotated[
        str | None,
        typer.Option(
            help="watch this long after the run (default: the profile's [monitor] window; off = skip)"
        ),
    ] = None,
    api_check: Annotated[
        bool, typer.Option(help="Schemathesis on the sandbox organisations' CRM API (golive api-check)")
    ] = True,
    sandbox_orgs: Annotated[
        int | None, typer.Option(help="when smoke starts the sandbox: how many organisations it seeds")
    ] = None,
    scenarios_at_once: Annotated[
        int | None,
        typer.Option(
            help="scenarios of one organisation run at once (pytest-xdist, one run); default: 8 "
            "shared by the organisations in parallel, none on a sandbox without latency; 0: none"
        ),
    ] = None,
    sandbox_latency: Annotated[
        str | None,
        typer.Option(help="when smoke starts the sandbox: the latency it adds (e.g. crm=150ms,model=2-5s)"),
    ] = None,
) -> None:
    """Run the suite for every organisation in parallel, then build each one's Go/No-Go evidence.

    Prints a per-organisation summary, then each organisation's dossier and bundle.zip.
    Arguments after `--` go to pytest as they are (e.g. `golive smoke -- --maxfail=1`).
    """
    from golive.commands.exit_codes import NOTHING_COLLECTED, smoke_exit
    from golive.commands.prune import keep_default, prune_after_run
    from golive.commands.selection import selection
    from golive.commands.smoke import EvidenceRequest, SandboxOptions, run_smoke

    request = EvidenceRequest(attest, signed_off_by, sign_key) if evidence else None
    try:
        chosen = selection(suite=suite, marker=marker, keyword=keyword, extra=ctx.args)
        keep_runs = keep_default() if keep is None else keep
        _say(f"selection: {chosen.describe()}")
        run, results, built = run_smoke(
            root=_root(),
            orgs=org or [],
            pytest_args=chosen.pytest_args(),
            parallel=parallel,
            evidence=request,
            say=_say,
            monitor_window=monitor_window,
            api_check=api_check,
            sandbox=SandboxOptions(sandbox_orgs, sandbox_latency),
            scenarios_at_once=scenarios_at_once,
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    prune_after_run(_root() / "reports", keep=keep_runs, say=_say)
    if results and all(r.exit_code == NOTHING_COLLECTED for r in results):
        _say(f"no scenario matched the selection ({chosen.describe()})")
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
    signed_off_by: Annotated[
        str | None, typer.Option(help="a name for an unsigned dossier (use --sign-key to sign)")
    ] = None,
    attest: Annotated[Path | None, typer.Option(help="attestation file (TOML)")] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 private key (OpenSSH or PEM) that signs each bundle's manifest; the "
            "signer is the key's identity (its comment), passphrase in GOLIVE_SIGN_KEY_PASSPHRASE"
        ),
    ] = None,
) -> None:
    """Go/No-Go dossier, offline report and bundle.zip per organisation; exit 0 only for GO."""
    from golive.commands.preflight import unique
    from golive.commands.smoke import EvidenceRequest, build_evidence_for, register_secrets
    from golive.evidence.build import find_run, run_organisations
    from golive.evidence.run import RunDir

    root = _root()
    try:
        run_dir = find_run(root / "reports", run)
        slugs = unique(org or []) or run_organisations(run_dir)
        request = EvidenceRequest(attest, signed_off_by, sign_key)
        signer = request.signer()
        register_secrets(root, slugs, os.environ, run_dir)
        built = build_evidence_for(
            root,
            RunDir(run_dir),
            slugs,
            request,
            say=lambda line: console.print(line, markup=False, highlight=False),
            signer=signer,
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    console.print(built.ci_summary.read_text(encoding="utf-8"), markup=False)
    raise typer.Exit(built.exit_code)


@app.command()
def monitor(
    org: Annotated[list[str], typer.Option(help="organisation (repeatable)")],
    window: Annotated[
        str, typer.Option(help="how long after the run: 30m for GO, 72h for the pilot")
    ] = "30m",
    run: Annotated[str | None, typer.Option(help="run id under reports/ (default: the newest)")] = None,
    interval: Annotated[
        str | None, typer.Option(help="time between two looks (default window/10, 1s–60s)")
    ] = None,
) -> None:
    """Watch the window after a run (crm-contract §6.2 thresholds) and leave the report the
    dossier's GO rule reads; exit 0 when no critical error, 1 on one, 130 when interrupted."""
    from golive.commands.monitor import watch_organisations

    try:
        code = watch_organisations(
            root=_root(),
            organisations=org,
            window=window,
            run=run,
            interval=interval,
            say=lambda line: console.print(line, markup=False, highlight=False),
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


@app.command()
def verify(
    bundles: Annotated[list[Path], typer.Argument(help="bundle.zip file(s) to check")],
    key: Annotated[
        Path | None,
        typer.Option(help="the signer's trusted public key (ssh-ed25519 … line, allowed_signers or PEM)"),
    ] = None,
) -> None:
    """Check a bundle offline: every file against MANIFEST.sha256 and the manifest's Ed25519
    signature (and, with --key, that the trusted key signed it). Exit 0 only if all verify."""
    from golive.evidence.signing import load_public_key
    from golive.evidence.verify import check_bundle

    try:
        trusted = load_public_key(key) if key is not None else None
    except GoliveError as exc:
        raise _fail(exc) from None
    failed = False
    for bundle in bundles:
        check = check_bundle(bundle, trusted)
        failed = failed or not check.ok
        for line in check.lines():
            (console if check.ok else err).print(line, markup=False, highlight=False)
        if check.ok and trusted is None:
            console.print(
                "  the signing key was not compared with a trusted one: pass --key with the "
                "signer's public key, or compare the fingerprint above",
                markup=False,
            )
    raise typer.Exit(1 if failed else 0)


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


@app.command("check-config")
def check_config(
    org: Annotated[list[str], typer.Option(help="organisation profile (repeatable)")],
) -> None:
    """Load profiles offline and report the first missing or invalid setting (exit 2); `golive
    preflight` checks the keys, secrets and hosts live."""
    from golive.commands.preflight import unique
    from golive.config import load_organisation

    for slug in unique(org):
        try:
            loaded = load_organisation(slug, orgs_dir=_root() / "orgs")
        except GoliveError as exc:
            raise _fail(exc) from None
        half = loaded.incomplete()
        if half:
            err.print(f"golive: {slug}: {half[0]}", markup=False, highlight=False)
            raise typer.Exit(2)
        missing = {k: v for k, v in loaded.capabilities().items() if v}
        console.print(
            f"{slug}: settings ok ({loaded.environment}, {loaded.crm_base_url}); "
            f"not checked live: run `golive preflight --org {slug}`",
            markup=False,
        )
        for capability, reason in missing.items():
            console.print(f"  without {capability}: {reason}", markup=False)


@app.command()
def preflight(
    org: Annotated[list[str] | None, typer.Option(help="organisation (repeatable); default: sandbox")] = None,
) -> None:
    """Check every configured integration of each organisation live (CRM key and organisation,
    webhook signature scheme and secret, Chatwoot token, n8n key and workflow, read-only
    database); each problem is one line naming the setting and the fix (exit 2)."""
    from golive.commands.preflight import run_preflight_command

    try:
        result = run_preflight_command(
            root=_root(),
            slugs=org or [],
            env=os.environ,
            say=lambda line: console.print(line, markup=False, highlight=False),
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    for line in result.lines():
        err.print(f"golive: {line}", markup=False, highlight=False)
    raise typer.Exit(0 if result.ok else 2)


# The CI, retention and test-data commands, and api-check and mutation, join the app.
from golive.commands import cli_ops, cli_quality  # noqa: E402, F401


def main() -> None:
    try:
        app()
    except GoliveError as exc:
        err.print(f"golive: {exc}", markup=False, highlight=False)
        sys.exit(2)
