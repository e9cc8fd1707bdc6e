"""The vault: secrets never stored in plain text, rotation, wrong keys fail clearly, masking everywhere."""

from __future__ import annotations

import logging
import stat

import asyncpg
import pytest
from cryptography.fernet import Fernet

from db.config import AppConfig, ConfigError
from db.enums import MarketType
from db.models import ExchangeAccount, User
from db.secret_value import Secret, mask
from db.vault import Vault, VaultError, check_readable, load_master_keys, rotate_all

PLAIN_KEY = "okx-api-key-6f1c2a9e-PLAINTEXT"
PLAIN_SECRET = "S3CR3T-0123456789ABCDEF-PLAINTEXT"
PLAIN_PASS = "passphrase-PLAINTEXT-42"


async def _store(vault: Vault) -> ExchangeAccount:
    user = await User.create(telegram_id=42)
    return await ExchangeAccount.create(
        user=user, exchange="okx", market_type=MarketType.SWAP, label="main",
        api_key_enc=vault.encrypt(PLAIN_KEY), secret_enc=vault.encrypt(Secret(PLAIN_SECRET)),
        passphrase_enc=vault.encrypt(PLAIN_PASS), key_hint=mask(PLAIN_KEY),
    )


async def _raw_dump(db) -> str:
    """Everything the database holds, read around the ORM."""
    if db.dialect == "sqlite":  # the file and its write-ahead log, byte for byte
        files = [db.path, *db.path.parent.glob(db.path.name + "-*")]
        return "".join(f.read_bytes().decode("latin-1") for f in files)
    conn = await asyncpg.connect(db.url)
    try:
        rows = await conn.fetch("SELECT * FROM exchange_accounts")
        return repr([dict(r) for r in rows])
    finally:
        await conn.close()


async def test_plaintext_never_reaches_the_database(db):
    vault = Vault([Fernet.generate_key().decode()])
    acc = await _store(vault)
    raw = await _raw_dump(db)
    assert "okx" in raw  # the dump does see the row
    for plain in (PLAIN_KEY, PLAIN_SECRET, PLAIN_PASS):
        assert plain not in raw
        assert plain[:20] not in raw
    assert acc.key_hint == "okx-…TEXT"
    loaded = await ExchangeAccount.get(id=acc.id)
    assert vault.decrypt(loaded.secret_enc).reveal() == PLAIN_SECRET
    assert vault.decrypt(loaded.passphrase_enc).reveal() == PLAIN_PASS


async def test_rotation_reencrypts_everything_and_the_retired_key_alone_then_fails(db):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    acc = await _store(Vault([old]))
    both = Vault([new, old])
    assert await rotate_all(both) == 3
    loaded = await ExchangeAccount.get(id=acc.id)
    for col, plain in (("api_key_enc", PLAIN_KEY), ("secret_enc", PLAIN_SECRET), ("passphrase_enc", PLAIN_PASS)):
        token = getattr(loaded, col)
        assert both.is_newest(token)
        assert Vault([new]).decrypt(token).reveal() == plain
        with pytest.raises(VaultError, match="MASTER_KEY does not match"):
            Vault([old]).decrypt(token)
    await check_readable(Vault([new]))
    with pytest.raises(VaultError):
        await check_readable(Vault([old]))


async def test_wrong_master_key_gives_the_clear_error_not_garbage(db):
    await _store(Vault([Fernet.generate_key().decode()]))
    wrong = Vault([Fernet.generate_key().decode()])
    with pytest.raises(VaultError) as err:
        await check_readable(wrong)
    assert "MASTER_KEY does not match" in str(err.value)
    assert PLAIN_KEY not in str(err.value)


def test_secret_values_are_masked_wherever_they_are_shown(caplog):
    s = Secret(PLAIN_SECRET)
    shown = [repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, repr([s]), repr({"secret": s})]  # noqa: UP031
    for text in shown:
        assert PLAIN_SECRET not in text
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("secret is %s", s)
    assert PLAIN_SECRET not in caplog.text
    assert s.reveal() == PLAIN_SECRET
    assert repr(Vault([Fernet.generate_key().decode()])) == "Vault(<keys hidden>)"


def test_mask_shows_first_and_last_four():
    assert mask("ABCDEFGHIJKLMNOP") == "ABCD…MNOP"
    assert mask("short") == "………"


def test_invalid_master_key_is_refused_without_echoing_it():
    with pytest.raises(VaultError, match="not a valid Fernet key") as err:
        Vault(["not-a-key-but-a-secret-value"])
    assert "not-a-key-but-a-secret-value" not in str(err.value)
    with pytest.raises(VaultError):
        Vault([])


def test_dev_key_is_generated_once_with_mode_0600(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("MASTER_KEY", raising=False)
    key_file = tmp_path / "data" / "master.key"
    config = AppConfig(_env_file=None)
    with caplog.at_level(logging.WARNING):
        first = load_master_keys(config, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated a development key" in caplog.text
    assert first[0] not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert load_master_keys(config, key_file) == first
    assert caplog.text == ""  # warned once, not at every start
    Vault(first)  # and it is a usable key


def test_master_key_list_newest_first(monkeypatch):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("MASTER_KEY", f"{new}, {old}")
    keys = load_master_keys(AppConfig(_env_file=None))
    assert keys == [new, old]
    token = Vault([old]).encrypt("x")
    assert Vault(keys).decrypt(token).reveal() == "x"
    assert Vault(keys).is_newest(Vault(keys).encrypt("y"))


def test_production_without_master_key_refuses(monkeypatch, tmp_path):
    monkeypatch.delenv("MASTER_KEY", raising=False)
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ConfigError, match="MASTER_KEY"):
        load_master_keys(AppConfig(_env_file=None), tmp_path / "k")
    assert not (tmp_path / "k").exists()
