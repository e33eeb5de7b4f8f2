"""Run a real n8n on 127.0.0.1, a random port, in a throwaway user folder.

The first start of an empty user folder runs ~200 database migrations (about 35 s on a loaded
2-core machine). So the migrated folder of one start is kept as a template
(`.golive/tools/n8n-user/<version>/`, made by `make tools` or by the first sandbox start) and
each sandbox copies it: a warm start takes a few seconds. The template holds no owner, no API
key and no credentials (each sandbox sets up its own); only the instance's encryption key.

n8n runs with its defaults otherwise: the "vm" expression engine and Code nodes without task
runners, the configuration under which the template's Code-node pitfall shows (see
fixtures/n8n/README.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from golive.errors import SandboxError, WaitTimeout
from golive.sandbox.n8n_real.install import PROJECT_ROOT, N8nInstall
from golive.waiting import eventually

READY_TIMEOUT_S = 180.0  # a cold start (migrations) on a loaded 2-core machine
STOP_TIMEOUT_S = 20.0
TEMPLATE_ROOT = PROJECT_ROOT / ".golive" / "tools" / "n8n-user"
TEMPLATE_ENV = "GOLIVE_N8N_USER_TEMPLATE"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def n8n_env(install: N8nInstall, user_folder: Path, port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "DB_", "EXECUTIONS_"))}
    return {
        **keep,
        "PATH": install.env_path(),
        "N8N_USER_FOLDER": str(user_folder),
        "N8N_PORT": str(port),
        "N8N_LISTEN_ADDRESS": "127.0.0.1",
        "N8N_HOST": "127.0.0.1",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_PERSONALIZATION_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_TEMPLATES_ENABLED": "false",
        "N8N_LICENSE_AUTO_RENEW_ENABLED": "false",
        "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
        "N8N_PUBLIC_API_SWAGGERUI_DISABLED": "true",
        "N8N_HIRING_BANNER_ENABLED": "false",
        "N8N_SECURE_COOKIE": "false",
        "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "false",
        "N8N_BLOCK_ENV_ACCESS_IN_NODE": "true",
        "N8N_LOG_LEVEL": "warn",
        "N8N_LOG_OUTPUT": "console",
        "GENERIC_TIMEZONE": "America/Sao_Paulo",
    }


@dataclass
class RunningN8n:
    install: N8nInstall
    url: str
    user_folder: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _spawn(install: N8nInstall, user_folder: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    handle: IO[bytes] = open(log, "ab")  # noqa: SIM115 - the child writes to it
    try:
        process = subprocess.Popen(
            [str(install.node), str(install.n8n), "start"],
            env=n8n_env(install, user_folder, port),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends n8n and its children
        )
    finally:
        handle.close()
    return process, f"http://127.0.0.1:{port}"


def _ready(url: str) -> bool:
    """n8n answers in stages: `/healthz` before its migrations, a "starting up" page on every
    path while they run, `/healthz/readiness` once the database is migrated and connected, and
    its REST API a moment after. Ready means the last two: readiness, and settings as JSON."""
    try:
        if httpx.get(f"{url}/healthz/readiness", timeout=2).status_code != 200:
            return False
        settings = httpx.get(f"{url}/rest/settings", timeout=2)
        return settings.status_code == 200 and isinstance(settings.json().get("data"), dict)
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def _wait_ready(running: RunningN8n, timeout: float) -> None:
    def ready() -> bool:
        if running.process.poll() is not None:
            raise SandboxError(
                f"n8n exited with code {running.process.returncode} while starting:\n{running.log_tail()}"
            )
        return _ready(running.url)

    try:
        eventually(ready, timeout=timeout, what=f"n8n at {running.url} to be ready")
    except WaitTimeout:
        running.stop()
        raise SandboxError(
            f"n8n did not become ready within {timeout:.0f} s:\n{running.log_tail()}"
        ) from None


def start(
    install: N8nInstall, user_folder: Path, log: Path, *, timeout: float = READY_TIMEOUT_S
) -> RunningN8n:
    process, url = _spawn(install, user_folder, log)
    running = RunningN8n(install, url, user_folder, process, log)
    try:
        _wait_ready(running, timeout)
    except BaseException:  # Ctrl-C or a stop while it starts: no n8n left behind
        running.stop()
        raise
    return running


def template_dir(install: N8nInstall) -> Path:
    configured = os.environ.get(TEMPLATE_ENV, "").strip()
    root = Path(configured) if configured else TEMPLATE_ROOT
    return root / install.version


def ensure_template(install: N8nInstall, log: Path) -> tuple[Path, bool]:
    """The migrated user folder for this n8n version; (folder, True) when it had to be made now.
    A lock keeps two sandboxes starting at once from migrating twice."""
    target = template_dir(install)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{install.version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".n8n" / "database.sqlite").is_file():
            return target, False
        staging = Path(tempfile.mkdtemp(prefix=f".{install.version}-", dir=target.parent))
        try:
            running = start(install, staging, log)
            running.stop()  # a clean stop: the database file is complete and consistent
            for transient in ("n8nEventLog.log", "binaryData", "git", "ssh", "nodes"):
                path = staging / ".n8n" / transient
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target, True


def fresh_user_folder(template: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="golive-n8n-"))
    shutil.copytree(template / ".n8n", folder / ".n8n")
    return folder
