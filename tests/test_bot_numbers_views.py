"""Numbers the chat shows outside notifications and /status: typed paper balances and settings, bounded in decimals."""

from __future__ import annotations

from decimal import Decimal

from bot.settings_editor import fmt_number
from db.models import ExchangeAccount

U = 1301


async def test_a_typed_paper_balance_is_kept_and_shown_to_the_cent(telegram):
    api = telegram.api
    await telegram.accept_user(U)
    await api.send_command(U, "/accounts")
    accounts = await api.next_call("sendMessage", chat_id=U)
    await telegram.paper_balance_prompt(U, accounts, "Perpetual swap")
    await api.send_message(U, "1,234.56789")
    added = await api.next_call("sendMessage", chat_id=U)
    assert "1234.56 USDT" in added.text, added.text
    acc = await ExchangeAccount.get(user__telegram_id=U)
    assert Decimal(acc.paper_balances["USDT"]) == Decimal("1234.56")
    await api.send_command(U, "/accounts")
    listing = await api.next_call("sendMessage", chat_id=U)
    assert "balance 1234.56 USDT" in listing.text, listing.text


def test_settings_values_are_bounded_in_decimals():
    assert fmt_number(0.1 + 0.2) == "0.3"
    assert fmt_number(1e-12) == "0"
    assert fmt_number(1_000_000) == "1,000,000" and fmt_number(2.5) == "2.5" and fmt_number(True) == "True"


async def test_a_market_the_exchange_cannot_describe_falls_back_to_the_symbols_currencies(db):
    from bot.market_numbers import for_bot
    from bot.markets import ExchangeReader
    from db.enums import MarketType
    from db.models import User
    from tests.fakes.telegram_fixtures import FakeEngine

    user = await User.create(telegram_id=U)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "1000"})
    engine = ExchangeReader(FakeEngine(), vault=None)
    known = await for_bot(acc, "BTC/USDT:USDT", engine)  # the paper swap: 0.01 contracts of 0.01 BTC
    assert (known.price_step, known.amount_step, known.base) == (Decimal("0.1"), Decimal("0.0001"), "BTC")
    unknown = await for_bot(acc, "DOGE/USDT:USDT", engine)  # not listed by the paper exchange
    assert (unknown.base, unknown.quote, unknown.price_step, unknown.amount_step) == ("DOGE", "USDT", None, None)
    assert unknown.amount(0.1 + 0.2) == "0.3 DOGE" and unknown.money(-0.004) == "0.00 USDT"
