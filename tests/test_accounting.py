"""Money adds up: GRID and HYPERRSI on paper spot and swap markets of many contract sizes and real venues' rules.

After a replayed session that ends with stop-and-close, for every bot and account:
- the position is the sum of its signed fills (checked mid-run too), and flat at the end;
- the account's balance change equals the sum of realised PnL minus the sum of fees, to the cent;
- the bot's Position row holds the sums of its fills' realised PnL and fees;
- every amount above the exchange is in the base currency: the venue's trades (contracts) times the contract size.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from db.enums import BotKind, BotStatus, MarketType, PositionSide
from db.models import ExchangeAccount, Fill, Notification, Position, StrategyBot, User
from engine.candles import load_csv
from engine.exchange.paper import DEFAULT_MARKETS, PaperExchange
from engine.exchange.protocol import Market
from engine.exchange.units import BaseUnits
from engine.market.clock import ManualClock
from engine.runtime.engine import Engine
from tests.runtime_kit import day_start

D = Decimal
MINUTES = 360
DOGE_SCALE = 1 / 25_000  # DOGE candles: the ETH 1m day scaled to DOGE's price range
BALANCE = D("100000")
HRSI = {"timeframe": "1m", "rsi_entry_option": "threshold", "rsi_oversold": 35, "rsi_overbought": 65,
        "entry_option": "rsi_only", "investment": 100, "leverage": 10, "use_sl": True, "sl_value": 1.0,
        "tp1_value": 0.15, "tp2_value": 0.3, "tp3_value": 0.45, "trailing_stop_active": False}


def swap(symbol: str, cs: str, lot: str, min_amount: str, tick: str, min_cost: str | None = None, *,
         maker: str = "0.0002", taker: str = "0.0005") -> Market:
    base = symbol.split("/")[0]
    return Market(symbol, base, "USDT", MarketType.SWAP, D(tick), D(lot), D(min_amount),
                  D(min_cost) if min_cost else None, D(cs), 125, maker_fee=D(maker), taker_fee=D(taker),
                  amount_unit="contract")


def synthetic(cs: str) -> Market:
    """A BTC swap of contract size `cs` whose lot is 0.001 BTC whatever the contract size."""
    lot = str(D("0.001") / D(cs))
    return swap("BTC/USDT:USDT", cs, lot, lot, "0.1", "5")


# Real venues' BTC and DOGE linear swaps as ccxt describes them (contractSize, precision.amount = lot,
# limits.amount.min, precision.price = tick, limits.cost.min).
RULE_SETS = {
    **{f"cs{cs}": synthetic(cs) for cs in ("0.001", "0.01", "0.1", "1", "10")},
    "okx-btc": swap("BTC/USDT:USDT", "0.01", "0.1", "0.1", "0.1"),
    "okx-doge": swap("DOGE/USDT:USDT", "1000", "1", "1", "0.00001"),
    "binance-btc": swap("BTC/USDT:USDT", "1", "0.001", "0.001", "0.1", "100"),
    "binance-doge": swap("DOGE/USDT:USDT", "1", "1", "1", "0.00001", "5"),
    "bybit-btc": swap("BTC/USDT:USDT", "1", "0.001", "0.001", "0.1", "5", taker="0.00055"),
    "bybit-doge": swap("DOGE/USDT:USDT", "1", "1", "1", "0.00001", "5", taker="0.00055"),
    "spot": DEFAULT_MARKETS["BTC/USDT"],
}


@pytest.fixture(scope="module")
def replay_dir(shared_data, tmp_path_factory) -> Path:
    """BTC and ETH 1m candles from the shared data (linked, not copied) and DOGE made from ETH's."""
    folder = tmp_path_factory.mktemp("replay")
    (folder / "BTC_USDT-1m.csv").symlink_to(shared_data / "BTC_USDT-1m.csv")
    eth = load_csv(shared_data / "ETH_USDT-1m.csv")
    rows = np.column_stack([eth.ts, eth.open * DOGE_SCALE, eth.high * DOGE_SCALE, eth.low * DOGE_SCALE,
                            eth.close * DOGE_SCALE, eth.volume])
    with open(folder / "DOGE_USDT-1m.csv", "w") as f:
        f.write("timestamp_ms,open,high,low,close,volume\n")
        for r in rows:
            f.write(f"{int(r[0])},{r[1]:.6f},{r[2]:.6f},{r[3]:.6f},{r[4]:.6f},{r[5]}\n")
    return folder


def _range(folder: Path, symbol: str, start: int) -> tuple[float, float]:
    c = load_csv(folder / f"{symbol.split(':')[0].replace('/', '_')}-1m.csv")
    i = int(np.searchsorted(c.ts, start))
    return float(c.low[i:i + MINUTES].min()), float(c.high[i:i + MINUTES].max())


def _grid(lo: float, hi: float, spot: bool) -> dict:
    pad = (hi - lo) * 0.05
    return {"mode": "fixed", "direction": "long" if spot else "neutral", "lower_price": lo + pad,
            "upper_price": hi - pad, "levels": 12, "investment": 3000, "leverage": 1 if spot else 2,
            "tp_min_pct": 0.25, "timeframe": "1m", "adx_gate": False}


def _signed(side: str, amount: Decimal) -> Decimal:
    return amount if side == "buy" else -amount


async def _bot_fills(bot_id: int) -> list[Fill]:
    return await Fill.filter(order__bot_id=bot_id).prefetch_related("order").order_by("ts", "id")


async def _check_position_is_sum_of_fills(bot_id: int, lot: Decimal) -> None:
    held = sum((_signed(f.order.side.value, f.amount) for f in await _bot_fills(bot_id)), D(0))
    pos = await Position.get(bot_id=bot_id)
    shown = pos.size if pos.side == PositionSide.LONG else -pos.size
    assert abs(shown - held) < lot / 2, (bot_id, shown, held)


@pytest.mark.parametrize("rules", list(RULE_SETS))
async def test_money_adds_up(db, shared_data, replay_dir, rules):
    market = RULE_SETS[rules]
    spot = market.type == MarketType.SPOT
    symbol = market.symbol
    start = day_start(shared_data)
    clock = ManualClock(start + 2_000)
    venues: dict[int, PaperExchange] = {}

    def factory(account: ExchangeAccount):
        paper = PaperExchange(MarketType(account.market_type), {"USDT": BALANCE}, markets={symbol: market},
                              source=engine.replay, owns_source=False)
        venues[account.id] = paper
        return BaseUnits(paper)

    engine = Engine(clock=clock, replay_dir=replay_dir, exchange_factory=factory)
    user = await User.create(telegram_id=77)
    lo, hi = _range(replay_dir, symbol, start)
    bots = []
    for kind, settings in ((BotKind.GRID, _grid(lo, hi, spot)),
                           (BotKind.HYPERRSI, {**HRSI, **({"direction": "long", "leverage": 1} if spot else {})})):
        acc = await ExchangeAccount.create(user=user, exchange="paper", label=kind.value, is_paper=True,
                                           market_type=market.type, paper_balances={"USDT": str(BALANCE)})
        bots.append(await StrategyBot.create(user=user, account=acc, kind=kind, symbol=symbol, settings=settings,
                                             status=BotStatus.DRAFT))
    await engine.start(schedule=False)
    for b in bots:
        await engine.control.start_bot(user.id, b.id)
    lot = D(str(float(market.amount_step * market.contract_size)))
    for k in range(MINUTES + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()
        if k == MINUTES // 2:
            for b in bots:
                await _check_position_is_sum_of_fills(b.id, lot)
    for b in bots:
        await engine.control.stop_bot(user.id, b.id, close_position=True)
    for k in range(MINUTES + 1, MINUTES + 4):  # the closing market orders fill on the next candle
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()

    for b in bots:
        fills = await _bot_fills(b.id)
        assert len(fills) >= 2, (b.kind, len(fills))
        row = await StrategyBot.get(id=b.id)
        assert row.status == BotStatus.STOPPED, (b.kind, row.status)
        pos = await Position.get(bot_id=b.id)
        assert (pos.side, pos.size) == (PositionSide.FLAT, 0), (b.kind, pos.side, pos.size)
        await _check_position_is_sum_of_fills(b.id, lot)
        pnl = sum((f.realized_pnl for f in fills), D(0))
        fees = sum((f.fee for f in fills), D(0))
        assert abs(pos.realized_pnl - pnl) < D("0.000001") and abs(pos.fees - fees) < D("0.000001")
        paper = venues[row.account_id]
        total = sum((bal.total for cur, bal in (await paper.fetch_balance()).items() if cur == "USDT"), D(0))
        left = sum((bal.total for cur, bal in (await paper.fetch_balance()).items() if cur != "USDT"), D(0))
        assert left == 0, (b.kind, left)  # spot: no base currency left behind
        assert abs((total - BALANCE) - (pnl - fees)) < D("0.01"), (b.kind, total - BALANCE, pnl, fees)
        # amounts above the exchange are base currency: the venue's own trades count contracts
        trades = {t.id: t for t in (await paper.fetch_my_trades(symbol)).trades}
        for f in fills:
            assert f.amount == trades[f.trade_id].amount * market.contract_size, (f.amount, trades[f.trade_id])
        told = {D(n["amount"]) for n in await Notification.filter(kind__in=["fill", "entry", "take_profit",
                                                                         "stop_loss"]).values_list("payload",
                                                                                                   flat=True)
                if n.get("bot_id") == b.id}
        assert told == {f.amount for f in fills}
