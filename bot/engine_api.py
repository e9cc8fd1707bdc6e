"""What the chat needs from the engine's control interface (DESIGN/brief: `Engine.control`)."""

from __future__ import annotations

try:
    from engine.runtime.control import NotYours
except ImportError:  # the runtime's control module has not landed in this checkout yet

    class NotYours(Exception):  # type: ignore[no-redef]
        """The bot or account does not belong to the acting user."""


__all__ = ["NotYours"]
