"""The checked-in migrations describe the models exactly, and start-up migrates an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from tortoise import Tortoise

from db.database import MIGRATIONS, connect, disconnect, migrate
from db.make_migration import _generate
from db.models import User


async def test_models_have_no_unmigrated_changes(tmp_path):
    made = await _generate(f"sqlite://{tmp_path / 'scratch.sqlite3'}", tmp_path / "work", "check")
    assert made is None, f"models changed without a migration: run `python -m db.make_migration NAME` ({made})"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_startup_migrates_an_empty_database_once(dialect, tmp_path, db_templates):
    from tests.conftest import _PG_BASE, _pg_admin

    if dialect == "sqlite":
        url = f"sqlite://{tmp_path / 'fresh' / 'x.sqlite3'}"  # the folder does not exist yet either
    else:
        name = f"tb_fresh_{tmp_path.name[-20:]}".lower()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = f"{_PG_BASE}/{name}"
    try:
        await connect(url)
        await User.create(telegram_id=1)
        rows = await Tortoise.get_connection(dialect).execute_query_dict("SELECT version FROM aerich")
        shipped = sorted(p.name for p in (Path(MIGRATIONS) / "models").glob("*.py") if p.name[0].isdigit())
        assert [r["version"] for r in rows] == shipped and shipped[0] == "0_20261124000000_init.py"
        await disconnect()
        assert await migrate(url) == []  # a second start applies nothing
    finally:
        await disconnect()
        if dialect == "postgres":
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
