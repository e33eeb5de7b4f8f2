"""Live traffic for the `errors-after-run` fault: while it is on, a new Instagram conversation
reaches every seeded inbox pair once a second, signed as Chatwoot signs, posted to the CRM
webhook over HTTP. The fault's failing identity resolution then leaves what a breakage after
the smoke leaves in production: `error` rows and conversations without a contact.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger("golive.sandbox.traffic")

INTERVAL_S = 1.0
_FIRST_ID = 900_000_000  # far above the ids the suite and the Chatwoot double use


class LiveTraffic:
    def __init__(self, webhook_url: str, secret: str, account_id: int, inboxes: list[int]) -> None:
        self._url = webhook_url
        self._secret = secret
        self._account = account_id
        self._inboxes = inboxes
        self._ids = itertools.count(_FIRST_ID)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sandbox-live-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            for inbox in self._inboxes:
                self._post(inbox)
            self._stop.wait(INTERVAL_S)

    def _post(self, inbox: int) -> None:
        number = next(self._ids)
        body = json.dumps(
            {
                "event": "conversation_created",
                "id": number,
                "inbox_id": inbox,
                "channel": "Channel::Instagram",
                "status": "open",
                "unread_count": 1,
                "labels": [],
                "messages": [],
                "contact_inbox": {"source_id": f"17841{number:012d}"},
                "meta": {"sender": {"id": number, "name": f"Cliente ao vivo {number}", "type": "contact"}},
                "account": {"id": self._account, "name": "Lagosta Sandbox"},
                "created_at": int(time.time()),
            }
        ).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(self._secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Chatwoot-Timestamp": stamp,
                "X-Chatwoot-Signature": f"sha256={signature}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            log.warning("live traffic: delivery to %s failed: %s", self._url, exc)
