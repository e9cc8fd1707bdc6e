"""A bounded in-memory cache of `User` rows by Telegram id, dropped on every write to a user."""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from copy import copy
from typing import Any

from tortoise.signals import post_delete, post_save

from db.models import User

_caches: weakref.WeakSet[UserCache] = weakref.WeakSet()


class UserCache:
    """Least recently used `User` rows, each for at most `ttl` seconds.

    Coherence: `User.save()` and `.delete()` anywhere in the process forget the row (Tortoise signals below); a
    bulk `User.filter(...).update(...)` must call `forget_users()` itself. A row read while a write happened is not
    stored (the epoch check in `put`). `get` returns a private copy, so a handler changing its `db_user` never
    changes what another update sees. Only safe while this process is the only writer of the users table.
    """

    def __init__(self, size: int = 10_000, ttl: float = 60.0):
        self.size = size
        self.ttl = ttl
        self.epoch = 0  # bumped by every forget: a read that started before it must not be stored
        self._rows: OrderedDict[int, tuple[float, User]] = OrderedDict()
        _caches.add(self)

    def get(self, telegram_id: int) -> User | None:
        hit = self._rows.get(telegram_id)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._rows[telegram_id]
            return None
        self._rows.move_to_end(telegram_id)
        return copy_user(hit[1])

    def put(self, user: User, epoch: int) -> None:
        """Store `user`, read from the database when `self.epoch` was `epoch`, unless a write came in between."""
        if self.size <= 0 or epoch != self.epoch:
            return
        self._rows[user.telegram_id] = (time.monotonic() + self.ttl, copy_user(user))
        self._rows.move_to_end(user.telegram_id)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def forget(self, telegram_ids: Any = None) -> None:
        """Drop these users' rows (all rows when None)."""
        self.epoch += 1
        if telegram_ids is None:
            self._rows.clear()
            return
        for t in telegram_ids:
            self._rows.pop(t, None)

    def __len__(self) -> int:
        return len(self._rows)


def copy_user(user: User) -> User:
    """A private copy of a row: a handler changing it leaves the original as it was (a shallow copy, as Tortoise's
    own Model.clone() makes; a row's values are immutable)."""
    return copy(user)


def forget_users(*telegram_ids: int) -> None:
    """Every cache in the process forgets these users: call after writing to them other than by `save()`."""
    for cache in list(_caches):
        cache.forget(telegram_ids)


@post_save(User)
async def _saved(sender: type[User], instance: User, *args: Any) -> None:
    forget_users(instance.telegram_id)


@post_delete(User)
async def _deleted(sender: type[User], instance: User, *args: Any) -> None:
    forget_users(instance.telegram_id)
