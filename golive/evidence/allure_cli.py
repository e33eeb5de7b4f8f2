"""The Allure 3 CLI: install it, find it, and generate an offline single-file HTML report.

* **Tooling.** The CLI (npm package ``allure``) lives in a project-local, git-ignored
  folder, ``.golive/tools/allure/``. :func:`install_allure` installs a pinned version
  there with npm (no lockfile is written, second call is a no-op); :func:`find_allure_cli`
  only looks, so a test run never touches the network.
  ``python -m golive.evidence.allure_cli install`` is the Makefile entry point.
* **Generation.** :func:`generate_report` runs ``allure generate`` with a config
  file written to a temporary folder (awesome plugin, ``singleFile: true``,
  per-organisation ``historyPath`` JSONL), strips trackers and remote resources
  (:mod:`golive.evidence.offline_html`) and copies the single ``index.html`` into the
  caller's folder. It never raises for a missing tool or a failed generation: the
  outcome carries a warning and the raw results stay where they are.

Everything here is standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from golive.evidence.offline_html import (
    embedded_external_references,
    find_external_references,
    strip_external_resources,
)

__all__ = [
    "ALLURE_VERSION",
    "DEFAULT_TOOLS_DIR",
    "GENERATE_TIMEOUT_S",
    "REPORT_HTML_NAME",
    "AllureInstallError",
    "ReportOutcome",
    "allure_cli_path",
    "find_allure_cli",
    "generate_report",
    "install_allure",
    "installed_allure_version",
    "main",
]

#: The Allure 3 release this project is verified against (npm package ``allure``).
ALLURE_VERSION = "3.18.0"
#: Where the CLI is installed, relative to the project root (git-ignored ``.golive/``).
DEFAULT_TOOLS_DIR = Path(".golive") / "tools" / "allure"
#: Upper bound for one ``allure generate`` (a small report takes about 1-2 s).
GENERATE_TIMEOUT_S = 120.0
#: Upper bound for one ``npm install`` of the CLI (about 10 s with a cold npm cache).
INSTALL_TIMEOUT_S = 600.0
#: File name of the report inside ``output_dir``.
REPORT_HTML_NAME = "index.html"


# --------------------------------------------------------------------------- tooling


class AllureInstallError(RuntimeError):
    """``npm install`` of the Allure CLI failed (registry unreachable, bad version…)."""


def allure_cli_path(tools_dir: Path) -> Path:
    """Path of the CLI entry point npm creates under ``tools_dir``."""
    return tools_dir / "node_modules" / ".bin" / "allure"


def installed_allure_version(tools_dir: Path) -> str | None:
    """Version of the ``allure`` package installed under ``tools_dir``, or None."""
    manifest = tools_dir / "node_modules" / "allure" / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def find_allure_cli(tools_dir: Path, *, version: str | None = ALLURE_VERSION) -> Path | None:
    """The installed CLI, or None; never installs. ``version=None`` accepts any version."""
    cli = allure_cli_path(tools_dir)
    installed = installed_allure_version(tools_dir)
    if installed is None or not cli.exists():
        return None
    if version is not None and installed != version:
        return None
    return cli


def _remove_lockfiles(tools_dir: Path) -> None:
    # npm still writes its "hidden lockfile" under node_modules even with
    # --no-package-lock; like any lockfile it records download addresses.
    for lockfile in (
        tools_dir / "package-lock.json",
        tools_dir / "node_modules" / ".package-lock.json",
    ):
        lockfile.unlink(missing_ok=True)


def install_allure(
    tools_dir: Path,
    *,
    version: str = ALLURE_VERSION,
    timeout_s: float = INSTALL_TIMEOUT_S,
) -> Path | None:
    """Install ``allure@version`` under ``tools_dir`` with npm; return the CLI path.

    Returns None when ``node`` or ``npm`` is not on PATH (the caller warns).
    Idempotent: when that exact version is already installed, nothing runs.
    No ``package.json`` and no lockfile are written (``--no-save``,
    ``--no-package-lock``; npm's hidden ``node_modules/.package-lock.json`` is
    deleted afterwards).

    Raises:
        AllureInstallError: npm ran but failed, timed out, or installed another version.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    cli = find_allure_cli(tools_dir, version=version)
    if cli is not None:
        return cli
    tools_dir.mkdir(parents=True, exist_ok=True)
    command = [
        npm,
        "install",
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--prefix",
        str(tools_dir),
        f"allure@{version}",
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AllureInstallError(f"npm install allure@{version} timed out after {timeout_s:.0f} s") from exc
    finally:
        _remove_lockfiles(tools_dir)
    if proc.returncode != 0:
        raise AllureInstallError(
            f"npm install allure@{version} failed (exit {proc.returncode}): "
            f"{_tail(proc.stderr or proc.stdout)}"
        )
    cli = find_allure_cli(tools_dir, version=version)
    if cli is None:
        found = installed_allure_version(tools_dir)
        raise AllureInstallError(
            f"npm install allure@{version} finished but {allure_cli_path(tools_dir)} "
            f"is missing or reports version {found!r}"
        )
    return cli


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class ReportOutcome:
    """What :func:`generate_report` produced.

    ``html`` is the sanitised single-file report, or None when none could be made
    (the raw Allure results are then the evidence). ``warnings`` are meant for the
    run's console/log; ``stripped`` lists what was removed from Allure's output.
    """

    html: Path | None
    warnings: list[str] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)


def _tail(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]


def _cli_command(node: str, allure_cli: Path) -> list[str]:
    """Run JS entry points through the ``node`` found on PATH, anything else directly."""
    target = allure_cli.resolve()
    if target.suffix in {".js", ".mjs", ".cjs"}:
        return [node, str(target)]
    try:
        with target.open("rb") as fh:
            first_line = fh.readline(200)
    except OSError:
        return [str(allure_cli)]
    if first_line.startswith(b"#!") and b"node" in first_line:
        return [node, str(target)]
    return [str(allure_cli)]


def _run_with_timeout(command: list[str], *, cwd: Path, timeout_s: float) -> tuple[int | None, str]:
    """Run ``command``; return (exit code or None on timeout, combined output)."""
    env = dict(os.environ, NO_COLOR="1", FORCE_COLOR="0")
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            proc.kill()
        out, _ = proc.communicate()
        return None, out or ""
    return proc.returncode, out or ""


def generate_report(
    results_dir: Path,
    output_dir: Path,
    *,
    report_name: str,
    history_file: Path,
    allure_cli: Path | None,
    timeout_s: float = GENERATE_TIMEOUT_S,
    history_limit: int | None = None,
) -> ReportOutcome:
    """Build ``output_dir/index.html`` from ``results_dir`` with Allure 3, then sanitise it.

    ``history_file`` is the organisation's history JSONL; Allure appends one line
    per generation, so the caller keeps that file across runs. Allure writes into
    a temporary staging folder (it may clean its output folder), and only the
    sanitised ``index.html`` plus Allure's small ``summary.json`` are copied into
    ``output_dir``.

    Never raises because of the tool: a missing CLI or ``node``, a non-zero exit,
    a timeout, or tracker code that could not be removed all give
    ``ReportOutcome(html=None, warnings=[…])``.
    """
    kept = f"raw Allure results are kept in {results_dir}"

    def failed(reason: str) -> ReportOutcome:
        return ReportOutcome(html=None, warnings=[f"HTML report not generated: {reason}; {kept}"])

    if allure_cli is None:
        return failed(
            "the Allure 3 CLI is not installed "
            f"(run `python -m golive.evidence.allure_cli install`, it goes to {DEFAULT_TOOLS_DIR})"
        )
    node = shutil.which("node")
    if node is None:
        return failed("`node` is not on PATH (Allure 3 needs Node.js)")
    if not allure_cli.exists():
        return failed(f"the Allure CLI {allure_cli} does not exist")
    if not results_dir.is_dir():
        return failed(f"the results folder {results_dir} does not exist")

    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return failed(f"cannot create the history folder ({exc})")

    with tempfile.TemporaryDirectory(prefix="golive-allure-") as tmp:
        work = Path(tmp)
        staging = work / "report"
        config: dict[str, object] = {
            "name": report_name,
            "output": str(staging),
            "historyPath": str(history_file.resolve()),
            "plugins": {
                "awesome": {"options": {"singleFile": True, "reportLanguage": "en"}},
            },
        }
        if history_limit is not None:
            config["historyLimit"] = history_limit
        config_file = work / "allurerc.json"
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")

        command = [
            *_cli_command(node, allure_cli),
            "generate",
            "--config",
            str(config_file),
            "--output",
            str(staging),
            str(results_dir.resolve()),
        ]
        try:
            code, output = _run_with_timeout(command, cwd=work, timeout_s=timeout_s)
        except OSError as exc:
            return failed(f"cannot start the Allure CLI ({exc})")
        if code is None:
            return failed(f"`allure generate` timed out after {timeout_s:.0f} s")
        if code != 0:
            return failed(f"`allure generate` exited with {code}: {_tail(output)}")

        produced = staging / REPORT_HTML_NAME
        if not produced.is_file():
            return failed(f"`allure generate` wrote no {REPORT_HTML_NAME}: {_tail(output)}")

        try:
            raw = produced.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return failed(f"cannot read Allure's {REPORT_HTML_NAME} ({exc})")
        clean, stripped = strip_external_resources(raw)
        leftovers = find_external_references(clean, include_embedded=False)
        if leftovers:
            return failed(
                "Allure's HTML still references external resources after sanitising "
                f"({'; '.join(leftovers[:5])})"
            )
        warnings: list[str] = []
        in_evidence = embedded_external_references(clean)
        if in_evidence:
            warnings.append(
                "the report embeds test evidence that references external resources "
                f"(they load only if that attachment/description is opened): "
                f"{'; '.join(in_evidence[:5])}"
            )

        target = output_dir / REPORT_HTML_NAME
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            partial = output_dir / f".{REPORT_HTML_NAME}.partial"
            partial.write_text(clean, encoding="utf-8")
            partial.replace(target)
            summary = staging / "summary.json"
            if summary.is_file():
                shutil.copyfile(summary, output_dir / "summary.json")
        except OSError as exc:
            return failed(f"cannot write the report into {output_dir} ({exc})")
    return ReportOutcome(html=target, warnings=warnings, stripped=stripped)


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m golive.evidence.allure_cli {install,generate,check}``."""
    parser = argparse.ArgumentParser(
        prog="python -m golive.evidence.allure_cli",
        description="Allure 3 single-file HTML report: install the CLI, generate, check.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install", help="install the pinned Allure 3 CLI with npm")
    p_install.add_argument("--tools-dir", type=Path, default=DEFAULT_TOOLS_DIR)
    p_install.add_argument("--version", default=ALLURE_VERSION)
    p_gen = sub.add_parser("generate", help="generate a sanitised single-file report")
    p_gen.add_argument("results_dir", type=Path)
    p_gen.add_argument("output_dir", type=Path)
    p_gen.add_argument("--name", default="golive")
    p_gen.add_argument("--history", type=Path, required=True, help="history JSONL file")
    p_gen.add_argument("--tools-dir", type=Path, default=DEFAULT_TOOLS_DIR)
    p_check = sub.add_parser("check", help="list external references of an HTML file")
    p_check.add_argument("html_file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "install":
        tools_dir: Path = args.tools_dir
        version: str = args.version
        if shutil.which("node") is None or shutil.which("npm") is None:
            print(f"allure {version}: node/npm not found; HTML reports will be skipped")
            return 1
        if find_allure_cli(tools_dir, version=version) is not None:
            print(f"allure {version}: already installed in {tools_dir}")
            return 0
        print(f"allure {version}: installing into {tools_dir} …", end="", flush=True)
        started = time.monotonic()
        try:
            install_allure(tools_dir, version=version)
        except AllureInstallError as exc:
            print(f" failed: {exc}")
            return 1
        print(f" done in {time.monotonic() - started:.1f} s")
        return 0

    if args.command == "generate":
        outcome = generate_report(
            args.results_dir,
            args.output_dir,
            report_name=args.name,
            history_file=args.history,
            allure_cli=find_allure_cli(args.tools_dir, version=None),
        )
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for item in outcome.stripped:
            print(f"stripped: {item}")
        if outcome.html is None:
            return 1
        print(outcome.html)
        return 0

    findings = find_external_references(args.html_file.read_text(encoding="utf-8"))
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
