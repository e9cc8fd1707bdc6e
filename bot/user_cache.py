"""Transitional, empty: rows are no longer cached (every update reads its own); goes with its last callers."""

# Still imported by bot/dispatcher.py (UserCache) and bot/services/users.py (forget_users): this file goes with
# those lines.


class UserCache:
    """Holds nothing: bot/dispatcher.py still builds one for DbUserMiddleware, which ignores it."""

    def __init__(self, size: int = 0, ttl: float = 60.0):
        pass


def forget_users(*telegram_ids: int) -> None:
    """Nothing to forget: there is no cache."""
