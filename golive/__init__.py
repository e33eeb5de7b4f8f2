"""golive: go-live verification for the LagostaCRM Instagram DM v2 rollout."""

from __future__ import annotations

__version__ = "0.1.0"
