"""Transitional, empty: nothing opens a second SQLite connection any more; goes with db/database.py's call to it."""


async def close_readers() -> None:
    """Nothing to close: kept only until db/database.py stops importing and calling it."""
