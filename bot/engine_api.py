"""What the chat needs from the engine's control interface (the brief: `Engine.control`, raising NotYours)."""

from __future__ import annotations

from engine.runtime.control import NotYours

__all__ = ["NotYours"]
