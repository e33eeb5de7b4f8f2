"""A tiny connection pool for the doubles (psycopg 3, sync; endpoints run in a threadpool)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[dict[str, object]]


class Pool:
    def __init__(self, dsn: str, size: int = 8) -> None:
        self._dsn = dsn
        self._idle: queue.LifoQueue[Conn] = queue.LifoQueue()
        self._size = size

    def _open(self) -> Conn:
        return psycopg.connect(self._dsn, row_factory=dict_row, autocommit=False)

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            with conn.transaction():
                yield conn
        finally:
            if conn.closed or conn.broken:
                conn.close()
            elif self._idle.qsize() < self._size:
                self._idle.put(conn)
            else:
                conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
