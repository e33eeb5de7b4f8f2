"""The agent flows' Redis, read only: which keys exist and how long their lists are.

The profile's `[redis] url_env` holds a read-only user's URL; golive never writes a key.
"""

from __future__ import annotations

from typing import cast

import redis

from golive.errors import ApiError, TargetUnreachable


class RedisReader:
    def __init__(self, *, url: str, organisation: str, timeout_s: float) -> None:
        self._org = organisation
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
        )

    def _fail(self, what: str, exc: redis.RedisError) -> ApiError:
        kind = TargetUnreachable if isinstance(exc, redis.ConnectionError) else ApiError
        return kind(f"Redis could not {what}: {type(exc).__name__}: {exc}", organisation=self._org)

    def exists(self, key: str) -> bool:
        try:
            return bool(cast(int, self._client.exists(key)))
        except redis.RedisError as exc:
            raise self._fail(f"tell whether {key!r} exists", exc) from exc

    def length(self, key: str) -> int:
        """Entries of a list key (0 when it does not exist)."""
        try:
            return int(cast(int, self._client.llen(key)))
        except redis.RedisError as exc:
            raise self._fail(f"read the length of {key!r}", exc) from exc

    def keys(self, pattern: str, *, limit: int = 50) -> list[str]:
        """Keys matching a glob pattern (SCAN, never KEYS), at most `limit`."""
        found: list[str] = []
        try:
            for key in self._client.scan_iter(match=pattern, count=200):
                found.append(str(key))
                if len(found) >= limit:
                    break
        except redis.RedisError as exc:
            raise self._fail(f"list keys matching {pattern!r}", exc) from exc
        return sorted(found)

    def close(self) -> None:
        self._client.close()
