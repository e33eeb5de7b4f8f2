"""Start the embedded staging stack in a child process and attach to it, or attach to one
that is already running (`GOLIVE_SANDBOX_STATE`). The suite knows the sandbox only through
what it writes: profiles, a secrets file and ready.json — as it would know a real staging."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.config import read_dotenv
from golive.errors import SandboxError
from golive.waiting import eventually

STATE_ENV = "GOLIVE_SANDBOX_STATE"
STARTUP_TIMEOUT_S = 300.0  # a first start with a real n8n migrates its database (~1 min)


@dataclass
class SandboxHandle:
    state_dir: Path
    ready: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)
    process: subprocess.Popen[bytes] | None = None
    owns_dir: bool = False

    @property
    def profiles_dir(self) -> Path:
        return self.state_dir / "orgs"

    @property
    def urls(self) -> dict[str, str]:
        return dict(self.ready.get("urls", {}))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.owns_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def _read_ready(state_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((state_dir / "ready.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def attach(state_dir: Path) -> SandboxHandle:
    ready = _read_ready(state_dir)
    if ready is None:
        raise SandboxError(
            f"{STATE_ENV}={state_dir} but no running sandbox is there (no ready.json); "
            "start one with `golive sandbox` or unset the variable"
        )
    secrets = read_dotenv(Path(ready["secrets_env"]))
    return SandboxHandle(state_dir, ready, secrets)


def start(
    *,
    faults: list[str] | None = None,
    log_path: Path | None = None,
    organisations: int | None = None,
    latency: str | None = None,
) -> SandboxHandle:
    """Start `python -m golive.sandbox` in the background and wait until it is ready
    (`organisations`: how many it seeds; `latency`: what it adds per system, see its --latency)."""
    state_dir = Path(tempfile.mkdtemp(prefix="golive-sandbox-"))
    argv = [sys.executable, "-m", "golive.sandbox", "--state-dir", str(state_dir), "--quiet"]
    for fault in faults or []:
        argv += ["--fault", fault]
    if organisations is not None:
        argv += ["--orgs", str(organisations)]
    if latency:
        argv += ["--latency", latency]
    log = open(log_path or state_dir / "sandbox.log", "ab")  # noqa: SIM115 - lives with the child
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    log.close()

    def probe() -> dict[str, Any] | None:
        if process.poll() is not None:
            tail = (log_path or state_dir / "sandbox.log").read_text(errors="replace")[-1500:]
            raise SandboxError(f"the sandbox exited with code {process.returncode}:\n{tail}")
        return _read_ready(state_dir)

    try:
        ready = eventually(
            probe,
            lambda r: r is not None,
            timeout=STARTUP_TIMEOUT_S,
            what="the sandbox to write ready.json",
        )
    except BaseException:
        SandboxHandle(state_dir, {}, {}, process, owns_dir=True).stop()
        raise
    assert ready is not None
    n8n = ready.get("n8n") or {}
    if n8n.get("kind") == "double":  # the one warning a user sees: no real n8n runs the flows
        sys.stderr.write(
            f"golive: WARNING: the sandbox runs the n8n double, not a real n8n: {n8n.get('why')}\n"
        )
    secrets = read_dotenv(Path(ready["secrets_env"]))
    return SandboxHandle(state_dir, ready, secrets, process, owns_dir=True)


def attach_or_start(env: Mapping[str, str] | None = None) -> SandboxHandle:
    """The sandbox `env` (default: the process's) points at, else a new one."""
    state = (os.environ if env is None else env).get(STATE_ENV)
    return attach(Path(state)) if state else start()
