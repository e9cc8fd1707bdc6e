"""`python -m bot` explains its start-up failures: one line, an exit code, no traceback, no secret.

Each case runs the real entry point in a subprocess against the Bot API stand-in (or a closed port) and a fresh
SQLite file or an unreachable PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from bot.sandbox.bot_api import BotAPIStandIn

ROOT = Path(__file__).resolve().parents[1]
KEY = Fernet.generate_key().decode()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _start(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "MASTER_"))}
    base.update({"MASTER_KEY": KEY, "DATABASE_URL": f"sqlite://{tmp_path}/bot.sqlite3", "REDIS_URL": "",
                 "ENV": "development", "HEALTH_PORT": "0", **env})
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=base,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> tuple[int, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, (out + err).decode()


def _clean(text: str, *secrets: str) -> None:
    assert "Traceback" not in text, text
    for s in secrets:
        assert s not in text, "a secret reached the output"


async def test_sigterms_repeated_while_it_starts_stop_it_with_everything_closed(tmp_path):
    """make forwards the SIGTERM it got, an operator presses again: every SIGTERM after the first must leave the
    clean-up alone. Cut short, an open SQLite connection's thread kept the process alive for good (aiosqlite's
    thread is not a daemon) and the Bot's HTTP session was left open."""
    api = await BotAPIStandIn(token="42:TEST").start()
    try:
        for storm_s in ("0.05", "0.3", "1.0"):
            (tmp_path / "bot.sqlite3").unlink(missing_ok=True)
            base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
            base.update({"MASTER_KEY": KEY, "DATABASE_URL": f"sqlite://{tmp_path}/bot.sqlite3", "REDIS_URL": "",
                         "ENV": "development", "HEALTH_PORT": "0", "BOT_TOKEN": "42:TEST",
                         "TELEGRAM_API_URL": api.base_url, "STORM_S": storm_s, "PYTHONPATH": str(ROOT)})
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "tests" / "sigterm_storm_child.py"), cwd=tmp_path, env=base,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                code, text = await _finish(proc, timeout=30)
            finally:
                if proc.returncode is None:
                    proc.kill()
            assert code in (0, -signal.SIGTERM), text  # -SIGTERM: a late one after the loop had closed
            assert "Tortoise-ORM shutdown" in text.split("TradingBoost starting")[-1], text  # the database closed
            assert "Unclosed client session" not in text, text
            _clean(text, KEY)
    finally:
        await api.stop()


async def test_a_revoked_or_wrong_token_is_one_sentence_and_exit_2(tmp_path):
    api = await BotAPIStandIn(token="42:RIGHT").start()
    try:
        proc = await _start(tmp_path, BOT_TOKEN="42:WRONGtoken", TELEGRAM_API_URL=api.base_url)
        code, text = await _finish(proc)
    finally:
        await api.stop()
    assert code == 2, text
    assert "Telegram refused BOT_TOKEN (401 Unauthorized)" in text
    _clean(text, "42:WRONGtoken", KEY)


async def test_a_token_with_stray_spaces_and_quotes_works_and_is_said(tmp_path):
    api = await BotAPIStandIn(token="42:TEST").start()
    proc = await _start(tmp_path, BOT_TOKEN='  "42:TEST" ', TELEGRAM_API_URL=api.base_url)
    try:
        await api.next_call("getMe", timeout=60)  # reached Telegram with the cleaned token
        await api.next_call("getMe", timeout=60)  # polling started
    finally:
        proc.send_signal(signal.SIGTERM)
        code, text = await _finish(proc)
        await api.stop()
    assert code == 0, text
    assert "BOT_TOKEN had spaces or quotes around it" in text
    _clean(text, KEY)


async def test_a_token_that_is_not_token_shaped_is_refused_before_anything_starts(tmp_path):
    code, text = await _finish(await _start(tmp_path, BOT_TOKEN="not a token"))
    assert code == 2 and "BOT_TOKEN does not look like a token from @BotFather" in text
    _clean(text, "not a token")


async def test_telegram_unreachable_is_waited_out_and_said(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = await _start(tmp_path, BOT_TOKEN="42:TEST", TELEGRAM_API_URL=url)
    seen = b""
    try:
        while b"trying again" not in seen:
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, "the process ended instead of retrying"
            seen += line
        assert proc.returncode is None  # still running, retrying
    finally:
        proc.send_signal(signal.SIGTERM)
        code, text = await _finish(proc)
    text = seen.decode() + text
    assert "Telegram is unreachable at http://127.0.0.1" in text
    assert code == 0, text
    _clean(text, KEY)


async def test_an_unreachable_database_is_one_sentence_without_its_password(tmp_path):
    api = await BotAPIStandIn(token="42:TEST").start()
    try:
        url = f"postgres://postgres:s3cretPass@127.0.0.1:{_closed_port()}/tradingboost"
        code, text = await _finish(await _start(tmp_path, BOT_TOKEN="42:TEST", TELEGRAM_API_URL=api.base_url,
                                                DATABASE_URL=url))
    finally:
        await api.stop()
    assert code == 1, text
    assert "The database at postgres://127.0.0.1:" in text and "cannot be used" in text
    _clean(text, "s3cretPass", KEY)


async def test_a_wrong_master_key_is_one_sentence(tmp_path):
    api = await BotAPIStandIn(token="42:TEST").start()
    try:  # a first run stores a secret under one key; the second run has another key
        proc = await _start(tmp_path, BOT_TOKEN="42:TEST", TELEGRAM_API_URL=api.base_url)
        await api.next_call("getMe", timeout=60)
        await api.next_call("getMe", timeout=60)  # polling started: the database is created and migrated
        proc.send_signal(signal.SIGTERM)
        await _finish(proc)
        from db.database import connect, disconnect
        from db.models import ExchangeAccount, User
        from db.vault import Vault

        await connect(f"sqlite://{tmp_path}/bot.sqlite3")
        try:
            user = await User.create(telegram_id=9)
            await ExchangeAccount.create(user=user, exchange="okx", market_type="swap", label="k",
                                         api_key_enc=Vault([KEY]).encrypt("apikey-123"), secret_enc="x")
        finally:
            await disconnect()
        other = Fernet.generate_key().decode()
        code, text = await _finish(await _start(tmp_path, BOT_TOKEN="42:TEST", TELEGRAM_API_URL=api.base_url,
                                                MASTER_KEY=other))
    finally:
        await api.stop()
    assert code == 1, text
    assert "MASTER_KEY" in text
    _clean(text, other, KEY, "apikey-123")
