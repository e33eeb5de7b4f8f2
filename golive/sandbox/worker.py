"""One background thread working jobs in order, as Chatwoot's webhook jobs and n8n's
executions run apart from the request that caused them."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

J = TypeVar("J")


class JobQueue(Generic[J]):
    def __init__(self, name: str, run: Callable[[J], None], crashed: Callable[[J, Exception], None]) -> None:
        self._run = run
        self._crashed = crashed
        self._jobs: queue.Queue[J | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        with self._idle:
            return self._pending

    def submit(self, job: J) -> bool:
        """Queue a job; False once closed."""
        if self._closed:
            return False
        with self._idle:
            self._pending += 1
        self._jobs.put(job)
        return True

    def drop_pending(self) -> None:
        """Forget the jobs not started yet (a reset)."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:  # close() raced us: keep the stop signal
                self._jobs.put(None)
                return
            self._done()

    def wait_idle(self, timeout: float) -> bool:
        """True once every queued job has run; False if some are still pending at `timeout`."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as exc:  # the worker survives whatever one job does
                self._crashed(job, exc)
            finally:
                self._done()
