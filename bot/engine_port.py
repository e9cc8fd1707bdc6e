"""What the chat needs from the engine, as Protocols: the control commands, the attached bots, an account's exchange
and forgetting a deleted account. Routers and services are typed against `EnginePort`, never the Engine class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from db.enums import BotStatus
from db.models import ExchangeAccount
from engine.exchange.protocol import Exchange
from engine.runtime.control import LiveEditRefused, NotYours

__all__ = ["AttachedBot", "ControlPort", "EnginePort", "LiveEditRefused", "NotYours"]


@runtime_checkable
class ControlPort(Protocol):
    """The engine's control commands. Each checks ownership (NotYours), writes its own audit row, and may raise
    pydantic's ValidationError (settings) or a domain error carrying a `reason` (a refused plan, the exchange)."""

    async def start_bot(self, user_id: int, bot_id: int) -> None: ...

    async def stop_bot(self, user_id: int, bot_id: int, close_position: bool, *,
                       card: list[int] | None = None) -> BotStatus: ...

    async def pause_bot(self, user_id: int, bot_id: int) -> None: ...

    async def resume_bot(self, user_id: int, bot_id: int) -> None: ...

    async def stop_all(self, user_id: int, close_positions: bool) -> int: ...

    async def update_settings(self, user_id: int, bot_id: int, changes: Mapping[str, Any], *,
                              action: str = "bot.setting", extra: Mapping[str, Any] | None = None
                              ) -> dict[str, list]:
        """The bot's settings merged with `changes`, recorded with who, when and the diff, which is returned. A
        running or paused bot takes live-safe ones from its next candle (LiveEditRefused, `reason` "needs_stop" with
        `fields`, or "stopping", for the others; ValidationError for settings that do not hold together)."""
        ...


class AttachedBot(Protocol):
    """A bot the engine is running (its handle): which account it trades on, and its market once loaded."""

    @property
    def account_id(self) -> int: ...

    @property
    def symbol(self) -> str: ...

    @property
    def market(self) -> Any: ...


@runtime_checkable
class EnginePort(Protocol):
    @property
    def control(self) -> ControlPort: ...

    @property
    def handles(self) -> Mapping[int, AttachedBot]:
        """The attached bots by id."""
        ...

    async def exchange_for(self, account: ExchangeAccount) -> Exchange:
        """The engine's own exchange of `account`, made and kept on first use (shared with its bots: never close)."""
        ...

    async def forget_account(self, account_id: int) -> None:
        """A deleted account: its bots leave the engine; its exchange, holding the decrypted key, is closed."""
        ...


def attached(engine: EnginePort, account_id: int) -> bool:
    """True when a bot of the account is attached to the engine (its exchange is then open anyway)."""
    return any(h.account_id == account_id for h in engine.handles.values())
