"""The local stage's clock: real time that ``/_local/tick`` moves forward, so every service agrees on "now".

Deployed stages use the real clock (``chalicelib.bootstrap.utc_now``); the
local stage installs a container with this one (``devstack.local_routes.install``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class TravelClock:
    """Real time plus an offset that only grows: ``advance_to`` never moves the clock back."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            gap = moment - datetime.now(UTC)
            if gap > self._offset:  # time only moves forward
                self._offset = gap
