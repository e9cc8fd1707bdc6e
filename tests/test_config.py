"""Configuration: the table's names and defaults, parsing, production refusals, `make run` without a token (the
sandbox) and a malformed one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from db.config import AppConfig, ConfigError

ROOT = Path(__file__).resolve().parent.parent
VARS = ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "REDIS_URL", "MASTER_KEY", "ADMIN_IDS",
        "DEFAULT_LANGUAGE", "MARKET_REPLAY_DIR", "MARKET_REPLAY_SPEED", "ENV", "HEALTH_HOST", "HEALTH_PORT",
        "LOG_FORMAT", "SANDBOX_HOST", "SANDBOX_PORT", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_HOST", "WEBHOOK_PORT",
        "BROKER_URL")


@pytest.fixture
def clean_env(monkeypatch):
    for v in VARS:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def test_exactly_the_design_table(clean_env):
    assert set(AppConfig.model_fields) == set(VARS)
    c = AppConfig(_env_file=None)
    assert c.BOT_TOKEN is None
    assert c.TELEGRAM_API_URL == "https://api.telegram.org"
    assert c.DATABASE_URL == "sqlite://data/tradingboost.sqlite3"
    assert c.REDIS_URL is None and c.MASTER_KEY is None and c.MARKET_REPLAY_DIR is None
    assert c.ADMIN_IDS == ()
    assert (c.DEFAULT_LANGUAGE, c.MARKET_REPLAY_SPEED, c.ENV) == ("en", 60.0, "development")
    assert (c.SANDBOX_HOST, c.SANDBOX_PORT) == ("127.0.0.1", 8080)
    assert c.WEBHOOK_URL is None and c.WEBHOOK_SECRET is None and c.BROKER_URL is None
    c.check_production()  # development: nothing to refuse


def test_parsing(clean_env):
    clean_env.setenv("ADMIN_IDS", " 12345, 7999999999999 ")
    clean_env.setenv("DEFAULT_LANGUAGE", "ko")
    clean_env.setenv("MARKET_REPLAY_DIR", "/tmp/candles")
    clean_env.setenv("MARKET_REPLAY_SPEED", "600")
    clean_env.setenv("REDIS_URL", "")
    c = AppConfig(_env_file=None)
    assert c.ADMIN_IDS == (12345, 7999999999999)
    assert (c.DEFAULT_LANGUAGE, str(c.MARKET_REPLAY_DIR), c.MARKET_REPLAY_SPEED, c.REDIS_URL) == (
        "ko", "/tmp/candles", 600.0, None)


@pytest.mark.parametrize(("var", "value"), [("ADMIN_IDS", "12,abc"), ("DEFAULT_LANGUAGE", "fr"),
                                            ("MARKET_REPLAY_SPEED", "0"), ("ENV", "prod")])
def test_bad_values_are_refused(clean_env, var, value):
    clean_env.setenv(var, value)
    with pytest.raises(ValidationError):
        AppConfig(_env_file=None)


def test_production_refusals(clean_env):
    clean_env.setenv("ENV", "production")
    with pytest.raises(ConfigError, match="MASTER_KEY"):
        AppConfig(_env_file=None).check_production()
    clean_env.setenv("MASTER_KEY", Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="PostgreSQL"):
        AppConfig(_env_file=None).check_production()
    clean_env.setenv("DATABASE_URL", "postgres://u@db:5432/tb")
    AppConfig(_env_file=None).check_production()


def test_secrets_are_masked_in_the_config_repr(clean_env):
    clean_env.setenv("BOT_TOKEN", "123456:SECRET-TOKEN-VALUE")
    clean_env.setenv("MASTER_KEY", "K" * 44)
    text = repr(AppConfig(_env_file=None))
    assert "SECRET-TOKEN-VALUE" not in text and "K" * 44 not in text


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env["BOT_TOKEN"] = ""  # wins over any .env a developer keeps
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_make_run_without_token_starts_the_sandbox_and_says_where(tmp_path):
    port = _free_port()
    env = _env(DATABASE_URL=f"sqlite://{tmp_path}/run.sqlite3", MASTER_KEY=Fernet.generate_key().decode(),
               HEALTH_PORT="0", SANDBOX_PORT=str(port), REDIS_URL="")
    proc = await asyncio.create_subprocess_exec("make", "-s", "run", cwd=ROOT, env=env, start_new_session=True,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out = b""
    try:
        while b"BOT_TOKEN" not in out:
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            assert line, (await proc.stderr.read()).decode()
            out += line
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the bot it started: the group this test made
        rest, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert f"open http://127.0.0.1:{port} in your browser" in text
    assert "To run it as a real Telegram bot instead, put BOT_TOKEN=<token from @BotFather> in .env" in text
    assert "Traceback" not in (out + rest + err).decode()


def test_a_malformed_token_is_still_one_sentence():
    r = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=_env(BOT_TOKEN="not a token"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr  # one sentence, no traceback
    assert r.stderr.startswith("BOT_TOKEN does not look like a token from @BotFather")
    assert "not a token" not in r.stderr
