"""Start-up that explains itself: the database reachable and migrated, Telegram reachable and the token accepted.

Each failure is one sentence for the operator and an exit code, never a traceback or a secret; Telegram being
unreachable is waited out with a backoff (said once per attempt), as a network blip at deploy time is no reason to
die.
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError
from aiogram.types import User as TelegramUser

from db.database import connect
from db.enums import Role
from db.models import User

log = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between attempts to reach Telegram; the last one repeats


class StartupError(Exception):
    """The process cannot go on; `str()` is one sentence without a secret, `code` the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def safe_url(url: str) -> str:
    """A database or API URL as it may be shown: scheme, host, port and path, never the user's password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _reason(e: BaseException, url: str) -> str:
    text = str(e).strip() or type(e).__name__
    password = urlsplit(url).password if "://" in url else None
    if password:
        text = text.replace(password, "***")
    text = re.sub(r"\s+", " ", text)
    return text[:200]


async def connect_database(url: str) -> None:
    """Connect and migrate; a database that is down, refuses us or cannot be migrated is one StartupError."""
    try:
        await connect(url)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # driver errors differ per dialect: every one becomes the same sentence
        raise StartupError(f"The database at {safe_url(url)} cannot be used ({type(e).__name__}: "
                           f"{_reason(e, url)}). Check DATABASE_URL and that the server is running.") from None


async def sync_admins(admin_ids: tuple[int, ...]) -> None:
    """User.role follows ADMIN_IDS: admins get the alerts (engine/runtime/events.alert_admins)."""
    await User.filter(role=Role.ADMIN).exclude(telegram_id__in=list(admin_ids)).update(role=Role.USER)
    if admin_ids:
        await User.filter(telegram_id__in=list(admin_ids)).update(role=Role.ADMIN)


async def reach_telegram(bot: Bot, api_url: str, *, backoff: tuple[float, ...] = BACKOFF) -> TelegramUser:
    """getMe until Telegram answers. A refused token ends the process; an unreachable Telegram is retried."""
    attempt = 0
    while True:
        try:
            return await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError("Telegram refused BOT_TOKEN (401 Unauthorized): the token is wrong or was revoked. "
                               "Get the current one from @BotFather (/token) and put it in .env.", 2) from None
        except (TimeoutError, TelegramNetworkError, TelegramServerError, OSError) as e:
            delay = backoff[min(attempt, len(backoff) - 1)]
            attempt += 1
            log.warning("Telegram is unreachable at %s (%s); trying again in %.0f s", safe_url(api_url),
                        type(e).__name__, delay)
            await asyncio.sleep(delay)
