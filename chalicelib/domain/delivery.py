"""How a send fails: the one error a channel raises, shared by the channel adapters and the services."""

from __future__ import annotations


class SendError(Exception):
    """A channel could not send: ``transient`` (retry later) or permanent (fall back to the next channel)."""

    def __init__(self, code: str, transient: bool) -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient
