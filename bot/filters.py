"""Router filters. They are coroutines on purpose: aiogram runs plain-function filters in a worker thread.

Ownership lives here: `OwnBot` and `OwnAccount` turn the id in a button's callback data into the caller's own row,
injected into the handler as `strategy_bot` / `account`. Someone else's id, a deleted row or a forged one does not
match, so the press falls through to the one not-found answer at the end (bot/routers/fallback.py)."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter

from bot.services import accounts, bots
from bot.services.users import User


async def accepted(event: Any, db_user: User | None = None) -> bool:
    """Only users who accepted the risk notice reach the trading features."""
    return db_user is not None and db_user.risk_accepted_at is not None


async def not_command(message: Any) -> bool:
    """Dialog steps read text, not commands: /stopall, /status, /cancel… keep working in the middle of a dialog."""
    return not (getattr(message, "text", None) or "").startswith("/")


class OwnBot(Filter):
    """The caller's bot named by `callback_data.bot_id`, as `strategy_bot`."""

    async def __call__(self, event: Any, callback_data: Any = None, db_user: User | None = None
                       ) -> bool | dict[str, Any]:
        if db_user is None or callback_data is None:
            return False
        b = await bots.own(db_user, callback_data.bot_id)
        return False if b is None else {"strategy_bot": b}


class OwnAccount(Filter):
    """The caller's account (not deleted) named by `callback_data.account_id`, as `account`."""

    async def __call__(self, event: Any, callback_data: Any = None, db_user: User | None = None
                       ) -> bool | dict[str, Any]:
        if db_user is None or callback_data is None:
            return False
        acc = await accounts.own(db_user, callback_data.account_id)
        return False if acc is None else {"account": acc}
