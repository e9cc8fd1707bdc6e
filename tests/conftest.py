"""Shared pytest fixtures: the real candle data and a fresh database per test on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parent.parent
# every paper feed of the tests, in this process and the ones it starts, checks the rule its change is found by
# (engine/exchange/paper_persist.CHECK_FEEDS)
os.environ.setdefault("TB_CHECK_PAPER_FEEDS", "1")
# the Telegram stand-in fixtures (telegram, telegram_factory); a hung test's tasks printed (tests/stuck.py)
pytest_plugins = ["tests.fakes.telegram_fixtures", "tests.stuck"]


def data_dir() -> Path:
    """The folder of real Binance candles; `TB_DATA_DIR` overrides the default `../shared/data`."""
    return Path(os.environ.get("TB_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = data_dir()
    if not (d / "BTC_USDT-1m.csv").exists():
        pytest.fail(f"candle data not found in {d}; set TB_DATA_DIR")
    return d


# ---- databases: every test that asks for `db` runs once on SQLite and once on PostgreSQL ----

PG_ADMIN_URL = os.environ.get("TB_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
_PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0]
_counter = itertools.count()


@dataclass(frozen=True)
class DbUnderTest:
    url: str
    dialect: str  # "sqlite" or "postgres"
    path: Path | None = None  # the SQLite file
    pg_name: str | None = None  # the PostgreSQL database


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def empty_database(dialect: str, tmp_path: Path, tag: str):
    """The URL of a new database with no tables (a SQLite file in a folder not made yet, or a PostgreSQL database);
    disconnects and drops it on leaving."""
    from db.database import disconnect

    name = None
    if dialect == "sqlite":
        url = f"sqlite://{tmp_path / tag / 'x.sqlite3'}"
    else:
        name = f"tb_{tag}_{tmp_path.name[-20:]}".lower()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = f"{_PG_BASE}/{name}"
    try:
        yield url
    finally:
        await disconnect()
        if name:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def migrated_database(dialect: str, db_templates, tmp_path: Path, tag: str):
    """A fresh migrated database (a copy of the session's template) connected for the block, for tests whose child
    processes open it too; yields its URL, then disconnects and drops it."""
    from db.database import connect, disconnect

    name = None
    if dialect == "sqlite":
        path = tmp_path / f"{tag}.sqlite3"
        shutil.copyfile(db_templates["sqlite"], path)
        url = f"sqlite://{path}"
    else:
        name = f"tb_{tag}_{os.getpid()}_{next(_counter)}"
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{db_templates["postgres"]}"')
        url = f"{_PG_BASE}/{name}"
    await connect(url, apply_migrations=False)
    try:
        yield url
    finally:
        await disconnect()
        if name:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory):
    """One migrated SQLite file and one migrated PostgreSQL template database per test session."""
    from db.database import migrate

    sqlite_tpl = tmp_path_factory.mktemp("db") / "template.sqlite3"
    pg_tpl = f"tb_tpl_{os.getpid()}"
    asyncio.run(migrate(f"sqlite://{sqlite_tpl}"))
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_tpl}"'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_tpl}"'))
    asyncio.run(migrate(f"{_PG_BASE}/{pg_tpl}"))
    yield {"sqlite": sqlite_tpl, "postgres": pg_tpl}
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_tpl}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request, db_templates, tmp_path) -> DbUnderTest:
    """A fresh, migrated database for this test alone, connected through Tortoise."""
    from db.database import connect, disconnect

    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(db_templates["sqlite"], path)
        tdb = DbUnderTest(f"sqlite://{path}", "sqlite", path=path)
    else:
        name = f"tb_test_{os.getpid()}_{next(_counter)}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{db_templates["postgres"]}"')
        tdb = DbUnderTest(f"{_PG_BASE}/{name}", "postgres", pg_name=name)
    await connect(tdb.url, apply_migrations=False)
    try:
        yield tdb
    finally:
        await disconnect()
        if tdb.pg_name:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{tdb.pg_name}" WITH (FORCE)')


@pytest.fixture
async def stream_options():
    """A JetStream stream, subject and durable consumer of this test alone (ack_wait 3 s), on the local NATS; the
    stream is deleted afterwards."""
    import uuid

    import nats

    from engine.jobs.broker import BrokerOptions

    tag = uuid.uuid4().hex[:10]
    opts = BrokerOptions(stream=f"tb_test_{tag}", subject=f"tb.test.{tag}", durable=f"tb_test_{tag}", ack_wait_s=3)
    yield opts
    nc = await nats.connect("nats://127.0.0.1:4222")
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_stream(opts.stream)
    await nc.close()


@pytest.fixture
def gateway_closes(monkeypatch) -> list[bool]:
    """One entry per live gateway (CcxtGateway) closed while the test runs."""
    from engine.exchange.ccxt_gateway import CcxtGateway

    out: list[bool] = []
    real_close = CcxtGateway.close

    async def counted_close(self):
        out.append(True)
        await real_close(self)

    monkeypatch.setattr(CcxtGateway, "close", counted_close)
    return out
