"""The sandbox's simulated Telegram users: one admin (so a broadcast can be watched arriving) and two others."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SandboxUser:
    id: int  # the Telegram user id, also the private chat's id
    first_name: str
    language_code: str  # what the client reports; the bot offers it first at /start
    admin: bool = False


USERS: tuple[SandboxUser, ...] = (
    SandboxUser(1001, "Mina", "ko", admin=True),
    SandboxUser(1002, "Alex", "en"),
    SandboxUser(1003, "Jun", "ko"),
)
ADMIN_IDS: tuple[int, ...] = tuple(u.id for u in USERS if u.admin)


def user(user_id: int) -> SandboxUser:
    """The simulated user with this id (KeyError for any other id: a page cannot speak for a stranger)."""
    for u in USERS:
        if u.id == int(user_id):
            return u
    raise KeyError(user_id)
