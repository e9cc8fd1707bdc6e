"""Ids from people and buttons, checked before they reach the database: in range, ASCII digits only."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

ROW_ID_MAX = 2**31 - 1  # our rows' primary keys are 32-bit integers
TELEGRAM_ID_MAX = 2**63 - 1  # the users table stores Telegram ids as BIGINT

# An id inside callback data: a forged one out of range fails to parse, so the button counts as stale.
RowId = Annotated[int, Field(ge=0, le=ROW_ID_MAX)]

_TELEGRAM_ID = re.compile(r"-?[0-9]{1,19}")  # not str.isdigit(): it accepts "²", which int() refuses


def telegram_id(text: str) -> int | None:
    """A Telegram user id typed by an admin, or None when it is not one (letters, Unicode digits, too large)."""
    text = text.strip()
    if not _TELEGRAM_ID.fullmatch(text):
        return None
    value = int(text)
    return value if -TELEGRAM_ID_MAX <= value <= TELEGRAM_ID_MAX else None
