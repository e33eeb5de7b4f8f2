"""A real Redis for the agent flows' buffer and chat memory: Debian's `redis-server` on
127.0.0.1, a random port, no persistence, in a temporary folder removed on stop.

Two users: `default` (what n8n's Redis credential uses) and a read-only one for the suite's
`@needs_redis` checks, which may read keys and never write them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from golive.errors import SandboxError, WaitTimeout
from golive.waiting import eventually

REDIS_SERVER = "redis-server"
READER = "golive_reader"
START_TIMEOUT_S = 15.0


def find_redis_server() -> str | None:
    return shutil.which(REDIS_SERVER) or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
    )


def install_redis() -> str:
    """Install Debian's redis-server when missing (as root only); its path, or a reason it is not."""
    found = find_redis_server()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SandboxError(
            "redis-server is not installed and golive is not running as root with apt-get; "
            "install it (Debian: `apt-get install redis-server`)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            raise SandboxError(f"{' '.join(argv)} failed: {' '.join(proc.stderr.split())[-400:]}")
    # Debian starts the service it installs; the sandbox runs its own servers, not that one.
    subprocess.run(["service", "redis-server", "stop"], capture_output=True, check=False, timeout=60)
    found = find_redis_server()
    if not found:
        raise SandboxError("apt-get installed redis-server but it is not on PATH")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningRedis:
    port: int
    password: str = field(repr=False)
    reader_password: str = field(repr=False)
    folder: Path
    process: subprocess.Popen[bytes]

    host = "127.0.0.1"

    def url(self, database: int = 0) -> str:
        """The read-only user's URL (what a profile's `redis.url_env` holds)."""
        return f"redis://{READER}:{self.reader_password}@{self.host}:{self.port}/{database}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    return False


def start_redis(server: str | None = None, *, databases: int = 16) -> RunningRedis:
    binary = server or find_redis_server()
    if binary is None:
        raise SandboxError(
            "redis-server is not installed (run `make tools`, or apt-get install redis-server)"
        )
    folder = Path(tempfile.mkdtemp(prefix="golive-redis-"))
    password, reader_password = secrets.token_hex(16), secrets.token_hex(16)
    port = _free_port()
    config = "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            f"dir {folder}",
            'save ""',
            "appendonly no",
            "daemonize no",
            "loglevel warning",
            f"logfile {folder / 'redis.log'}",
            f"databases {max(16, databases)}",  # one per organisation
            f"user default on >{password} ~* &* +@all",
            f"user {READER} on >{reader_password} ~* resetchannels -@all +@read +@connection",
            "",
        ]
    )
    (folder / "redis.conf").write_text(config, encoding="utf-8")
    os.chmod(folder / "redis.conf", 0o600)
    process = subprocess.Popen(
        [binary, str(folder / "redis.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    running = RunningRedis(port, password, reader_password, folder, process)

    def up() -> bool:
        if process.poll() is not None:
            log = (
                (folder / "redis.log").read_text(errors="replace")[-800:]
                if (folder / "redis.log").exists()
                else ""
            )
            raise SandboxError(f"redis-server exited with code {process.returncode}: {log}")
        return _answers(port)

    try:
        eventually(up, timeout=START_TIMEOUT_S, what=f"redis-server on 127.0.0.1:{port}")
    except (WaitTimeout, SandboxError):
        running.stop()
        raise
    return running


def _command(*parts: str) -> bytes:
    """One Redis command in RESP."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def flush_all(redis: RunningRedis) -> None:
    """Forget every key (a sandbox reset), as the default user."""
    with socket.create_connection((redis.host, redis.port), timeout=5) as sock:
        sock.sendall(_command("AUTH", redis.password) + _command("FLUSHALL"))
        answers = b""
        while answers.count(b"\r\n") < 2:
            chunk = sock.recv(256)
            if not chunk:
                break
            answers += chunk
    if not answers.startswith(b"+OK\r\n+OK"):
        raise SandboxError(f"redis FLUSHALL failed: {answers[:200]!r}")
