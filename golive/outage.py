"""An outage of the CRM webhook, switched through the target's control API and always ended."""

from __future__ import annotations

from golive.clients.control import ControlClient


class Outage:
    def __init__(self, control: ControlClient) -> None:
        self._control = control
        self.active = False

    def begin(self) -> None:
        self._control.set_outage(True)
        self.active = True

    def end(self) -> None:
        self._control.set_outage(False)
        self.active = False
