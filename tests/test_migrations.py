"""The checked-in migrations describe the models exactly, and start-up migrates an empty database."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise

from db.database import MIGRATIONS, connect, disconnect, migrate
from db.make_migration import _generate
from db.models import User
from tests.conftest import empty_database


async def test_models_have_no_unmigrated_changes(tmp_path):
    made = await _generate(f"sqlite://{tmp_path / 'scratch.sqlite3'}", tmp_path / "work", "check")
    assert made is None, f"models changed without a migration: run `python -m db.make_migration NAME` ({made})"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_startup_migrates_an_empty_database_once(dialect, tmp_path, db_templates):
    async with empty_database(dialect, tmp_path, "fresh") as url:  # a SQLite folder that does not exist yet either
        await connect(url)
        await User.create(telegram_id=1)
        rows = await Tortoise.get_connection(dialect).execute_query_dict("SELECT version FROM aerich ORDER BY id")
        shipped = sorted((p.name for p in (Path(MIGRATIONS) / "models").glob("*.py") if p.name[0].isdigit()),
                         key=lambda name: int(name.split("_", 1)[0]))  # applied by number: 10 after 9
        assert [r["version"] for r in rows] == shipped and shipped[0] == "0_20261124000000_init.py"
        await disconnect()
        assert await migrate(url) == []  # a second start applies nothing


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_upgrading_moves_the_old_markers_into_their_columns(tmp_path, dialect):
    """Migration 1 converts what the string markers said: a "deleted#" account gets deleted_at, a notification held
    as "sending:"/"queued:" in last_error gets its delivery column, and "_parts_sent" leaves the payload."""
    payload = '\'{"a": 1, "_parts_sent": 2}\''
    async with _upgraded_to(tmp_path, dialect, 0,
            "INSERT INTO users (id, telegram_id, language, role, active, blocked, created_at, updated_at) "
            "VALUES (1, 5, 'en', 'user', true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO exchange_accounts (id, user_id, exchange, market_type, label, key_hint, is_paper, "
            "created_at) VALUES (1, 1, 'okx', 'spot', 'deleted#1', '', false, CURRENT_TIMESTAMP), "
            "(2, 1, 'okx', 'spot', 'main', '', false, CURRENT_TIMESTAMP);"
            "INSERT INTO notifications (id, user_id, kind, payload, dedup_key, status, attempts, last_error, "
            f"created_at) VALUES (1, 1, 'fill', {payload}, 'k1', 'pending', 1, 'sending:abc', "
            "CURRENT_TIMESTAMP), (2, 1, 'fill', '{}', 'k2', 'pending', 0, 'queued:abc', CURRENT_TIMESTAMP), "
            "(3, 1, 'fill', '{}', 'k3', 'pending', 0, NULL, CURRENT_TIMESTAMP);") as url:
        assert (await migrate(url))[0].startswith("1_")
        await connect(url, apply_migrations=False)
        from db.models import ExchangeAccount, Notification

        assert [a.deleted_at is not None for a in await ExchangeAccount.all().order_by("id")] == [True, False]
        rows = await Notification.all().order_by("id")
        assert [(r.delivery, r.last_error, r.parts_sent) for r in rows] == [
            ("sending", None, 2), ("queued", None, 0), (None, None, 0)]
        assert rows[0].payload == {"a": 1}


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_upgrading_moves_the_decisions_out_of_the_state(tmp_path, dialect):
    """Migration 8 moves a bot's /why ring from its state to the decisions column; a state without one stays."""
    ring = '[{"ts": 1, "rules": [["no_signal", {}]]}, {"ts": 2, "rules": []}]'
    async with _upgraded_to(tmp_path, dialect, 7,
            "INSERT INTO users (id, telegram_id, language, role, active, blocked, created_at, updated_at) "
            "VALUES (1, 5, 'en', 'user', true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO exchange_accounts (id, user_id, exchange, market_type, label, key_hint, is_paper, "
            "created_at) VALUES (1, 1, 'paper', 'swap', 'p', '', true, CURRENT_TIMESTAMP);"
            "INSERT INTO strategy_bots (id, user_id, account_id, kind, symbol, settings, config_hash, status, "
            "state, created_at, updated_at) VALUES "
            f"(1, 1, 1, 'hyperrsi', 'BTC/USDT', '{{}}', '', 'running', '{{\"candle\": 7, \"decisions\": {ring}}}', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
            "(2, 1, 1, 'hyperrsi', 'BTC/USDT', '{}', '', 'draft', NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
            "(3, 1, 1, 'hyperrsi', 'BTC/USDT', '{}', '', 'running', '{\"candle\": 8}', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP);") as url:
        assert (await migrate(url))[0].startswith("8_")
        await connect(url, apply_migrations=False)
        from db.models import StrategyBot

        rows = await StrategyBot.all().order_by("id")
        assert [(r.state, r.decisions) for r in rows] == [
            ({"candle": 7}, [{"ts": 1, "rules": [["no_signal", {}]]}, {"ts": 2, "rules": []}]), (None, None),
            ({"candle": 8}, None)]


@contextlib.asynccontextmanager
async def _upgraded_to(tmp_path: Path, dialect: str, last: int, sql: str) -> AsyncIterator[str]:
    """An empty database brought by aerich up to migration `last` alone, `sql` run in it: its url."""
    from aerich import Command
    from tortoise.context import TortoiseContext

    from db.database import tortoise_config

    old = tmp_path / f"at_{last}"
    shutil.copytree(MIGRATIONS, old)
    for later in (old / "models").glob("[0-9]*_*.py"):
        if int(later.name.split("_", 1)[0]) > last:
            later.unlink()
    (tmp_path / "upgrade").mkdir()  # aerich's Command, unlike our connect(), makes no folder
    async with empty_database(dialect, tmp_path, "upgrade") as url:
        async with TortoiseContext(), Command(tortoise_config(url), app="models", location=str(old)) as command:
            await command.init()
            assert (await command.upgrade(run_in_transaction=True))[-1].startswith(f"{last}_")
            await Tortoise.get_connection(url.split(":", 1)[0]).execute_script(sql)
        yield url
