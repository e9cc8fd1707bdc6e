"""Exchanges from stored accounts: paper accounts get a PaperExchange, live ones the ccxt gateway; key checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from db.models import ExchangeAccount
from db.secret_value import Secret
from engine.exchange.ccxt_gateway import CcxtGateway
from engine.exchange.ccxt_venues import VENUES
from engine.exchange.paper import PaperExchange
from engine.exchange.paper_store import PaperStore
from engine.exchange.protocol import Exchange, KeyCheck, MarketType
from engine.exchange.retry import RetryPolicy
from engine.exchange.units import BaseUnits

PAPER_DEFAULT_BALANCES = {"USDT": "10000"}
PAPER_DATA_EXCHANGE = "okx"  # whose public candles a paper account trades on when nothing is replayed
KEY_CHECK_POLICY = RetryPolicy(attempts=2, base=0.3)  # someone is waiting in the chat: one quick retry


def _urls_for(exchange_id: str, urls_override: str | dict | None) -> str | dict | None:
    """`urls_override` may be one base URL for every exchange, {exchange id: base URL or api-urls dict}, or a
    ccxt `urls['api']` dict for this exchange."""
    if isinstance(urls_override, dict) and any(k in VENUES for k in urls_override):
        return urls_override.get(exchange_id)
    return urls_override


def make_exchange(account: ExchangeAccount, vault: Any, *, replay_source: Any = None,
                  urls_override: str | dict | None = None, public_sources: dict | None = None) -> Exchange:
    """The Exchange of `account`, its amounts in base currency (engine/exchange/units.py)."""
    return BaseUnits(_venue_exchange(account, vault, replay_source=replay_source, urls_override=urls_override,
                                     public_sources=public_sources))


def _venue_exchange(account: ExchangeAccount, vault: Any, *, replay_source: Any = None,
                    urls_override: str | dict | None = None, public_sources: dict | None = None) -> Exchange:
    """The venue's own Exchange of `account` (contracts on contract markets). Paper: a simulated venue stored in
    the database (engine/exchange/paper_persist.py: balances, positions, orders, trades and id sequences survive a
    restart), starting from `account.paper_balances`; candles from `replay_source` when given, else the public data
    of a real exchange: one keyless gateway per (exchange, market type) kept in `public_sources` and shared by every
    paper account (its owner closes them), or one of its own when no such dict is given. Live: the ccxt gateway with
    the account's decrypted key (kept only inside the gateway), in the venue's demo environment for a demo account."""
    market_type = MarketType(account.market_type)
    if account.is_paper:
        balances = {k: Decimal(str(v)) for k, v in (account.paper_balances or PAPER_DEFAULT_BALANCES).items()}
        store = PaperStore(account.id)
        if replay_source is not None:
            return PaperExchange(market_type, balances, source=replay_source, owns_source=False, store=store)
        data_id = account.exchange if account.exchange in VENUES else PAPER_DATA_EXCHANGE
        if public_sources is None:
            source = CcxtGateway(data_id, market_type, urls_override=_urls_for(data_id, urls_override))
            return PaperExchange(market_type, balances, source=source, store=store)
        source = public_sources.get((data_id, market_type))
        if source is None:  # about 150 kB a ccxt instance, before its markets: one per venue, not per account
            source = public_sources[(data_id, market_type)] = CcxtGateway(
                data_id, market_type, urls_override=_urls_for(data_id, urls_override))
        return PaperExchange(market_type, balances, source=source, owns_source=False, store=store)
    if not account.api_key_enc or not account.secret_enc:
        raise ValueError(f"account {account.id} has no stored API key")
    return CcxtGateway(
        account.exchange, market_type,
        api_key=vault.decrypt(account.api_key_enc), secret=vault.decrypt(account.secret_enc),
        passphrase=vault.decrypt(account.passphrase_enc) if account.passphrase_enc else None,
        urls_override=_urls_for(account.exchange, urls_override), sandbox=bool(account.is_demo),
    )


async def check_api_key(exchange_id: str, market_type: MarketType | str, api_key: str | Secret, secret: str | Secret,
                        passphrase: str | Secret | None, *, urls_override: str | dict | None = None,
                        sandbox: bool = False) -> KeyCheck:
    """Registration check: valid, trading allowed, withdrawal allowed (such keys are to be refused by the caller).
    With `sandbox`, in the venue's demo environment: a demo key is valid there only, a live key only outside it.

    Network trouble raises ExchangeUnavailable rather than calling the key invalid.
    """
    venue = VENUES.get(exchange_id)
    if venue is None:
        return KeyCheck(False, False, None, f"unsupported exchange {exchange_id}")
    if sandbox and not venue.demo:
        return KeyCheck(False, False, None, f"{exchange_id} has no demo environment")
    if venue.needs_passphrase and not passphrase:
        return KeyCheck(False, False, None, f"{exchange_id} keys need the passphrase chosen when creating the key")
    gw = CcxtGateway(exchange_id, MarketType(market_type), api_key=api_key, secret=secret, passphrase=passphrase,
                     urls_override=_urls_for(exchange_id, urls_override), policy=KEY_CHECK_POLICY, sandbox=sandbox)
    try:
        return await gw.check_key()
    finally:
        await gw.close()
