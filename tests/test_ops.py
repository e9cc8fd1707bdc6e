"""The operations surface: readiness follows a real PostgreSQL server going down and coming back; /metrics parses
with prometheus_client's own parser and moves when an update is handled and when a notification waits."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops import OpsServer
from db.database import connect, disconnect
from db.models import Notification, User
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
REDIS_URL = os.environ.get("TB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> None:
    pre = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*pre, *cmd], check=True, capture_output=True, timeout=60)


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, callable, callable]]:
    """A PostgreSQL server of its own (initdb in a temporary folder), so stopping it disturbs no other test."""
    if not PG_BIN:
        pytest.fail("PostgreSQL's server binaries are not installed (.ci/services installs them)")
    bin_dir = PG_BIN[-1]
    folder = Path(tempfile.mkdtemp(prefix="tb-pg-"))  # not under pytest's root-only folder: postgres runs it
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    _as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    port = _free_port()
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start() -> None:
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-o", opts, "-w", "-l", str(folder / "log"), "start")

    def stop() -> None:
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")

    start()
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres", start, stop
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.text()


def _metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_readiness_follows_the_database_and_metrics_parse(private_postgres):
    url, start_pg, stop_pg = private_postgres
    await connect(url)
    engine = Engine(clock=ManualClock(1_700_000_000_000))
    await engine.start()
    port = _free_port()
    ops = OpsServer(engine, host="127.0.0.1", port=port, redis_url=REDIS_URL)
    await ops.start()
    base = f"http://127.0.0.1:{port}"
    try:
        assert await _get(f"{base}/health/live") == (200, '{"status": "ok"}')
        status, body = await _get(f"{base}/health/ready")
        assert status == 200, body
        user = await User.create(telegram_id=5)
        await Notification.create(user=user, kind="note", payload={"reason": "x"}, dedup_key="ops-1")
        status, text = await _get(f"{base}/metrics")
        m = _metrics(text)
        assert status == 200 and m["tb_notification_backlog"] == 1 and m["tb_bots{status=running}"] == 0

        await asyncio.to_thread(stop_pg)
        status, body = await _get(f"{base}/health/ready")
        assert status == 503 and '"database": {"ok": false' in body, body
        await asyncio.to_thread(start_pg)
        for _ in range(20):  # the pool replaces its dead connections on the next use
            status, body = await _get(f"{base}/health/ready")
            if status == 200:
                break
            await asyncio.sleep(0.5)
        assert status == 200, body
    finally:
        await ops.stop()
        await engine.shutdown()
        await disconnect()


async def test_metrics_move_when_an_update_is_handled(telegram_factory):
    tg = await telegram_factory()
    port = _free_port()
    ops = OpsServer(tg.engine, host="127.0.0.1", port=port)
    await ops.start()
    try:
        before = _metrics((await _get(f"http://127.0.0.1:{port}/metrics"))[1])
        await tg.accept_user(42)
        after = _metrics((await _get(f"http://127.0.0.1:{port}/metrics"))[1])
    finally:
        await ops.stop()
    key = "tb_updates_total{outcome=ok,type=message}"
    assert after[key] >= before.get(key, 0) + 1
    assert after["tb_update_seconds_count"] > before.get("tb_update_seconds_count", 0)


async def test_a_busy_health_port_is_one_sentence(db):
    from bot.startup import StartupError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=f"127.0.0.1:{port} cannot be opened .*HEALTH_PORT"):
            await OpsServer(engine=None, host="127.0.0.1", port=port).start()


async def test_readiness_says_which_exchange_answers(db):
    """A venue that cannot be reached after every retry shows as not ok (readiness and metrics) without making the
    process unready; a refusal is the venue answering; the next answer makes it ok again."""
    from decimal import Decimal

    from engine.exchange.protocol import ExchangeUnavailable, InsufficientFunds, OrderRequest, OrderType, Side
    from engine.exchange.reachability import REACH
    from tests.fakes.gateways import gateway, venue

    REACH.clear()
    engine = Engine(clock=ManualClock(1_700_000_000_000))
    await engine.start()
    port = _free_port()
    ops = OpsServer(engine, host="127.0.0.1", port=port)
    await ops.start()
    base = f"http://127.0.0.1:{port}"

    async def venues() -> tuple[int, dict, dict]:
        status, body = await _get(f"{base}/health/ready")
        return status, json.loads(body)["checks"]["exchanges"]["venues"], _metrics((await _get(f"{base}/metrics"))[1])

    try:
        async with venue("okx") as fake:
            gw = gateway(fake)
            try:
                await gw.fetch_ticker("BTC/USDT")
                status, seen, m = await venues()
                assert status == 200 and seen["okx"]["ok"] and m["tb_exchange_reachable{venue=okx}"] == 1

                fake.fail_next("server_error", times=4)
                with pytest.raises(ExchangeUnavailable):
                    await gw.fetch_ticker("BTC/USDT")
                status, seen, m = await venues()
                assert status == 200, "one venue down leaves the process ready"
                assert seen["okx"]["ok"] is False and seen["okx"]["error"] == "ExchangeNotAvailable", seen
                assert m["tb_exchange_reachable{venue=okx}"] == 0

                fake.fail_next("insufficient", op="create")
                with pytest.raises(InsufficientFunds):
                    await gw.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"),
                                                       "tbreach1", price=Decimal(10_000)))
                status, seen, m = await venues()
                assert seen["okx"]["ok"] and seen["okx"]["answered_s_ago"] < 5
                assert m["tb_exchange_reachable{venue=okx}"] == 1
            finally:
                await gw.close()
    finally:
        await ops.stop()
        await engine.shutdown()
        REACH.clear()
