"""`make_exchange` from stored accounts (paper and live, on SQLite and PostgreSQL) and `check_api_key`."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from cryptography.fernet import Fernet

from db.models import ExchangeAccount, User
from db.vault import Vault
from engine.candles import load_csv
from engine.exchange.ccxt_gateway import CcxtGateway
from engine.exchange.factory import check_api_key, make_exchange
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import Exchange, ExchangeUnavailable, MarketType
from engine.exchange.units import BaseUnits
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource
from tests.fakes.gateways import KEY, PASSPHRASE, SECRET, venue


@pytest.fixture
def vault() -> Vault:
    return Vault([Fernet.generate_key().decode()])


async def _account(vault: Vault, **kw) -> ExchangeAccount:
    user = await User.create(telegram_id=5550001)
    return await ExchangeAccount.create(user=user, label="a", **kw)


async def test_paper_account_gets_its_balances_and_replayed_candles(db, vault, shared_data):
    acc = await _account(vault, exchange="paper", market_type=MarketType.SWAP, is_paper=True,
                         paper_balances={"USDT": "2500.5"})
    rows = load_csv(shared_data / "BTC_USDT-1m.csv").rows()
    replay = ReplaySource(shared_data, ManualClock(int(rows[500][0])))
    ex = make_exchange(acc, vault, replay_source=replay)
    assert isinstance(ex, BaseUnits) and isinstance(ex.inner, PaperExchange) and isinstance(ex, Exchange)
    assert ex.market_type == MarketType.SWAP and ex.balances == {"USDT": D("2500.5")}
    got = await ex.fetch_ohlcv("BTC/USDT:USDT", "1m", limit=3)
    assert got == [list(r) for r in rows[497:500]]  # the candles closed by the replay clock, as in the CSV


async def test_paper_account_without_replay_trades_on_public_data_of_a_real_exchange(db, vault, shared_data):
    acc = await _account(vault, exchange="paper", market_type=MarketType.SPOT, is_paper=True, paper_balances=None)
    rows = load_csv(shared_data / "BTC_USDT-1m.csv").rows()
    async with venue("okx", shared_data) as fake:
        ex = make_exchange(acc, vault, urls_override=fake.url)
        try:
            got = await ex.fetch_ohlcv("BTC/USDT", "1m", since=int(rows[10][0]), limit=5)
        finally:
            await ex.close()  # closes the public-data gateway it owns
    assert isinstance(ex.inner, PaperExchange) and isinstance(ex.source, CcxtGateway)
    assert ex.balances == {"USDT": D(10000)} and got == [list(r) for r in rows[10:15]]
    assert fake.count("balance") == 0  # public data only: no key, no private call


async def test_paper_accounts_share_one_public_data_gateway_per_venue(db, vault, shared_data):
    user = await User.create(telegram_id=5550002)
    accs = [await ExchangeAccount.create(user=user, label=f"p{i}", exchange="paper", is_paper=True,
                                         market_type=MarketType.SWAP if i < 3 else MarketType.SPOT)
            for i in range(4)]
    shared: dict = {}
    async with venue("okx", shared_data) as fake:
        exs = [make_exchange(a, vault, urls_override=fake.url, public_sources=shared) for a in accs]
        assert len(shared) == 2 and exs[0].source is exs[1].source is exs[2].source is not exs[3].source
        await exs[0].close()  # an account going away leaves the shared gateway to the others
        assert await exs[1].fetch_ohlcv("BTC/USDT:USDT", "1m", limit=2)
        for g in shared.values():
            await g.close()


@pytest.mark.parametrize("v", ["okx", "binance"])
async def test_live_account_gets_a_gateway_with_its_decrypted_key(db, vault, v):
    acc = await _account(vault, exchange=v, market_type=MarketType.SPOT, api_key_enc=vault.encrypt(KEY),
                         secret_enc=vault.encrypt(SECRET),
                         passphrase_enc=vault.encrypt(PASSPHRASE) if v == "okx" else None)
    async with venue(v) as fake:
        ex = make_exchange(acc, vault, urls_override={v: fake.url})
        try:
            bal = await ex.fetch_balance()
        finally:
            await ex.close()
    assert isinstance(ex.inner, CcxtGateway) and ex.exchange_id == v and bal["USDT"].total == D(100000)
    assert KEY not in repr(ex) and SECRET not in repr(ex)


async def test_live_account_without_a_key_is_refused(db, vault):
    acc = await _account(vault, exchange="okx", market_type=MarketType.SPOT)
    with pytest.raises(ValueError, match="no stored API key"):
        make_exchange(acc, vault)


@pytest.mark.parametrize("v", ["okx", "binance"])
async def test_check_api_key(v):
    async with venue(v, can_withdraw=True) as fake:
        fake.add_account("clean-key-000001", "clean-secret-000001", "clean-pass", {"USDT": "1"})
        withdraw = await check_api_key(v, "spot", KEY, SECRET, PASSPHRASE, urls_override=fake.url)
        clean = await check_api_key(v, MarketType.SPOT, "clean-key-000001", "clean-secret-000001", "clean-pass",
                                    urls_override=fake.url)
        wrong = await check_api_key(v, MarketType.SPOT, KEY, "wrong-secret-0000", PASSPHRASE, urls_override=fake.url)
        fake.fail_next("server_error", op="balance", times=10)
        with pytest.raises(ExchangeUnavailable):  # trouble on the exchange never calls a key invalid
            await check_api_key(v, MarketType.SPOT, KEY, SECRET, PASSPHRASE, urls_override=fake.url)
    assert (withdraw.valid, withdraw.can_trade, withdraw.can_withdraw) == (True, True, True)
    assert (clean.valid, clean.can_trade, clean.can_withdraw) == (True, True, False)
    assert not wrong.valid


async def test_check_api_key_needs_the_passphrase_where_the_exchange_does():
    check = await check_api_key("okx", MarketType.SPOT, KEY, SECRET, None)
    assert not check.valid and "passphrase" in check.detail
    assert not (await check_api_key("kraken", MarketType.SPOT, KEY, SECRET, None)).valid


async def test_a_deleted_account_leaves_no_gateway_holding_its_key(db, vault):
    """Seen: deleting an account wiped its secrets in the database, but the engine kept the gateway holding the
    decrypted key until a restart."""
    from engine.runtime.engine import Engine

    acc = await _account(vault, exchange="okx", market_type=MarketType.SPOT, api_key_enc=vault.encrypt(KEY),
                         secret_enc=vault.encrypt(SECRET), passphrase_enc=vault.encrypt(PASSPHRASE))
    async with venue("okx") as fake:
        engine = Engine(vault=vault, clock=ManualClock(1_800_000_000_000), urls_override={"okx": fake.url})
        ex = await engine.exchange_for(acc)
        await ex.fetch_balance()
        closed: list[bool] = []
        real_close = ex.inner.close
        ex.inner.close = lambda: closed.append(True) or real_close()
        await engine.forget_account(acc.id)
    assert acc.id not in engine.exchanges and closed == [True]


@pytest.mark.parametrize("demo", [True, False])
async def test_a_demo_account_gets_a_gateway_in_the_venues_demo_environment(db, vault, demo):
    """A demo account trades in the venue's demo environment (OKX: the demo header, which the fake checks against
    the key's environment), a live account outside it."""
    acc = await _account(vault, exchange="okx", market_type=MarketType.SWAP, api_key_enc=vault.encrypt(KEY),
                         secret_enc=vault.encrypt(SECRET), passphrase_enc=vault.encrypt(PASSPHRASE), is_demo=demo)
    async with venue("okx", demo=demo) as fake:
        ex = make_exchange(acc, vault, urls_override={"okx": fake.url})
        try:
            bal = await ex.fetch_balance()
        finally:
            await ex.close()
    assert isinstance(ex.inner, CcxtGateway) and ex.inner.sandbox is demo and bal["USDT"].total == D(100000)
    assert KEY not in repr(ex) and SECRET not in repr(ex)


async def test_check_api_key_in_the_demo_environment():
    """A demo key passes only in the demo environment and a live key only outside it; a venue without a demo
    environment is refused before any request."""
    async with venue("okx", demo=True) as fake:
        fake.add_account("live-key-000001", "live-secret-000001", "live-pass", {"USDT": "1"})
        demo = await check_api_key("okx", MarketType.SWAP, KEY, SECRET, PASSPHRASE, urls_override=fake.url,
                                   sandbox=True)
        demo_as_live = await check_api_key("okx", MarketType.SWAP, KEY, SECRET, PASSPHRASE, urls_override=fake.url)
        live_as_demo = await check_api_key("okx", MarketType.SWAP, "live-key-000001", "live-secret-000001",
                                           "live-pass", urls_override=fake.url, sandbox=True)
        requests = fake.count("balance")
        upbit = await check_api_key("upbit", MarketType.SPOT, KEY, SECRET, None, urls_override=fake.url, sandbox=True)
        assert fake.count("balance") == requests
    assert (demo.valid, demo.can_trade, demo.can_withdraw) == (True, True, False)
    assert not demo_as_live.valid and not live_as_demo.valid
    assert not upbit.valid and "no demo environment" in upbit.detail
