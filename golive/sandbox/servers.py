"""Generic plumbing: serve an ASGI app with uvicorn in a thread on 127.0.0.1, random port."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from golive.errors import SandboxError, WaitTimeout
from golive.waiting import eventually


@dataclass
class RunningServer:
    name: str
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(name: str, app: ASGIApp, *, startup_timeout: float = 15.0) -> RunningServer:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()

    def up() -> bool:
        if not thread.is_alive():
            raise SandboxError(f"the {name} double died while starting on 127.0.0.1:{port}")
        return bool(server.started)

    try:
        eventually(up, timeout=startup_timeout, what=f"the {name} double on 127.0.0.1:{port}")
    except WaitTimeout:
        raise SandboxError(f"the {name} double did not start on 127.0.0.1:{port}") from None
    return RunningServer(name, f"http://127.0.0.1:{port}", server, thread)
