"""`python -m engine.backtest` through a subprocess on a slice of the shared candles: JSON, summary, chart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.candles import Candles, load_csv, write_csv

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["strategy", "symbol", "timeframe", "candles", "start", "end", "initial_equity", "final_equity",
        "total_return_pct", "max_drawdown_pct", "trades", "win_rate", "profit_factor", "sharpe", "fees_paid", "fills",
        "equity_curve", "realized_pnl", "unrealized_pnl", "end_position", "notes"]


@pytest.fixture(scope="module")
def slice_csv(shared_data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("candles") / "BTC_USDT-1m.csv"
    write_csv(path, load_csv(shared_data / "BTC_USDT-1m.csv")[:6_000])
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.backtest", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_json_keys_and_types(slice_csv):
    p = run("--strategy", "hyperrsi", "--data", str(slice_csv), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert list(out) == KEYS
    assert (out["strategy"], out["symbol"], out["timeframe"], out["candles"]) == ("hyperrsi", "BTC/USDT", "1m", 6000)
    candles = load_csv(slice_csv)
    assert isinstance(out["start"], int) and isinstance(out["end"], int) and out["end"] == int(candles.ts[-1])
    assert out["start"] >= int(candles.ts[0])
    for k in ("initial_equity", "final_equity", "total_return_pct", "max_drawdown_pct", "win_rate", "sharpe",
              "fees_paid"):
        assert isinstance(out[k], float), k
    assert isinstance(out["trades"], int) and out["trades"] > 0
    assert out["profit_factor"] is None or isinstance(out["profit_factor"], float)
    assert out["fills"], "the slice should trade"
    for f in out["fills"]:
        assert list(f) == ["ts", "side", "price", "amount", "fee", "reason"]
        assert isinstance(f["ts"], int) and f["side"] in ("buy", "sell") and isinstance(f["reason"], str)
        assert all(isinstance(f[k], float) for k in ("price", "amount", "fee"))
        assert f["ts"] in set(candles.ts.tolist())
    curve = out["equity_curve"]
    assert 2 <= len(curve) <= 1001 and curve[-1][0] == out["end"] and curve[-1][1] == out["final_equity"]
    assert all(isinstance(t, int) and isinstance(e, float) for t, e in curve)
    assert out["fees_paid"] == pytest.approx(sum(f["fee"] for f in out["fills"]))
    end = out["end_position"]
    assert list(end) == ["amount", "entry", "mark", "unrealized_pnl"] and end["mark"] == float(candles.close[-1])
    assert out["unrealized_pnl"] == end["unrealized_pnl"] == pytest.approx(end["amount"] * (end["mark"] - end["entry"]))
    assert out["initial_equity"] + out["realized_pnl"] + out["unrealized_pnl"] == pytest.approx(out["final_equity"])
    assert out["notes"] == []
    assert run("--strategy", "hyperrsi", "--data", str(slice_csv), "--json").stdout == p.stdout  # deterministic


def test_summary_plot_config_and_overrides(slice_csv, tmp_path):
    cfg = tmp_path / "grid.json"
    cfg.write_text(json.dumps({"lower_price": 64_000, "upper_price": 69_000, "levels": 15, "direction": "neutral",
                               "leverage": 2}))
    png = tmp_path / "chart.png"
    p = run("--strategy", "grid", "--config", str(cfg), "--data", str(slice_csv), "--symbol", "BTC/USDT:USDT",
            "--plot", str(png))
    assert p.returncode == 0, p.stderr
    assert "GRID BTC/USDT:USDT 1m (swap), 6,000 candles" in p.stdout
    for word in ("equity", "max drawdown", "trades", "sharpe", "fees paid", "fills", "realised"):
        assert word in p.stdout
    # a neutral grid: its exits are not reduce-only, so none is refused against the netted position
    assert "open at end  long 0.0100256 @ 66,146.685, last 65,988.53: unrealised -1.59" in p.stdout, p.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_bad_settings_are_explained(slice_csv, tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"rsi_oversold": 80, "rsi_overbought": 70}))
    p = run("--strategy", "hyperrsi", "--config", str(cfg), "--data", str(slice_csv))
    assert p.returncode == 2 and "rsi_oversold must be below rsi_overbought" in p.stderr and p.stdout == ""
    p = run("--strategy", "hyperrsi", "--data", str(tmp_path / "nothing.csv"), "--timeframe", "1m",
            "--symbol", "X/Y")
    assert p.returncode == 2 and "error:" in p.stderr
    empty = tmp_path / "ETH_USDT-5m.csv"
    empty.write_text("timestamp_ms,open,high,low,close,volume\n")
    p = run("--strategy", "grid", "--data", str(empty), "--json")
    assert p.returncode == 2 and "no candles" in p.stderr and p.stdout == ""


def test_plot_into_memory_from_threads(shared_data, tmp_path):
    """The chat renders charts in worker threads: no shared pyplot state, PNG bytes out."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from engine.backtest.plot import plot
    from engine.backtest.runner import run_backtest

    c = load_csv(shared_data / "BTC_USDT-15m.csv")[:2_000]
    results = [run_backtest("hyperrsi", {}, c, timeframe="15m"),
               run_backtest("grid", {"mode": "adaptive", "recenter_candles": 8}, c, timeframe="15m")]

    def render(r):
        buf = io.BytesIO()
        assert plot(r, c, buf) is buf
        return buf.getvalue()

    with ThreadPoolExecutor(2) as pool:
        pngs = list(pool.map(render, results * 2))
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" and len(p) > 20_000 for p in pngs)
    assert pngs[0] == pngs[2] and pngs[1] == pngs[3]
    path = tmp_path / "chart.png"
    assert plot(results[0], c, str(path)) == path and path.read_bytes() == pngs[0]


def _synthetic(path: Path, mid: float, n: int = 3_000) -> Path:
    """A slow sine around `mid` (±12 %) with 1 % candles: a grid from mid·0.85 to mid·1.15 trades on it."""
    t = np.arange(n)
    close = mid * (1 + 0.12 * np.sin(t / 150))
    c = Candles(1_700_000_000_000 + t * 60_000, close, close * 1.005, close * 0.995, close, np.ones(n))
    write_csv(path, c)
    return path


def test_geometric_grid_without_a_tick_is_not_refused(tmp_path):
    """The seen case: 0.5 .. 0.68 over 30 geometric levels, no tick; the top level drifted to 0.6800000000000022,
    the plan was refused and the JSON showed 0 trades with no reason."""
    data = _synthetic(tmp_path / "DOGE_USDT-1m.csv", 0.59)
    cfg = tmp_path / "grid.json"
    cfg.write_text(json.dumps({"lower_price": 0.5, "upper_price": 0.68, "levels": 30, "spacing": "geometric"}))
    out = json.loads(run("--strategy", "grid", "--config", str(cfg), "--data", str(data), "--json").stdout)
    assert out["notes"] == [] and out["trades"] > 0


def test_a_refused_plan_says_why_in_json_and_summary(tmp_path):
    data = _synthetic(tmp_path / "DOGE_USDT-1m.csv", 0.59)
    cfg = tmp_path / "grid.json"
    cfg.write_text(json.dumps({"lower_price": 0.5, "upper_price": 0.68, "levels": 30, "investment": 100}))
    args = ("--strategy", "grid", "--config", str(cfg), "--data", str(data), "--min-cost", "5")
    p = run(*args, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["trades"] == 0 and out["fills"] == []
    why = next(n for n in out["notes"] if n["reason"] == "no_trades")
    assert why["cause"] == "plan_refused" and why["refusal"] == "below_minimum"
    assert why["min_cost"] == 5.0 and why["cost"] == pytest.approx(100 / 30, abs=0.01)
    text = run(*args).stdout
    assert "no trades" in text and "refused" in text and "below_minimum" in text and "min_cost=5" in text, text


def test_no_funds_and_an_open_position_are_explained(slice_csv):
    """HYPERRSI's default entry asks 100 USDT of margin: with 100 of equity plus fees it cannot enter."""
    p = run("--strategy", "hyperrsi", "--data", str(slice_csv), "--initial-equity", "100")
    assert "no trades" in p.stdout and "margin" in p.stdout, p.stdout
    out = json.loads(run("--strategy", "hyperrsi", "--data", str(slice_csv), "--initial-equity", "100",
                         "--json").stdout)
    why = next(n for n in out["notes"] if n["reason"] == "no_trades")
    assert why["cause"] == "funds" and why["margin"] == 100.0 and why["equity"] == 100.0 and why["signals"] > 0


def test_chart_title_tells_the_open_position_apart(slice_csv):
    from engine.backtest.metrics import end_position
    from engine.backtest.plot import title
    from engine.backtest.runner import run_backtest

    c = load_csv(slice_csv)
    r = run_backtest("hyperrsi", {}, c, timeframe="1m")
    end = end_position(r.fills, float(c.close[-1]), r.metrics.initial_equity, r.metrics.final_equity)
    assert end.amount < 0  # the slice ends holding a short (see the summary test)
    assert title(r, end.unrealized_pnl).endswith(f"· open at the end: unrealised {end.unrealized_pnl:+,.2f}")
    assert "open at the end" not in title(r, 0.0)
